//! Timing against the host's timeline (issue 17): the pass-through comes out exactly as late as
//! the latency the plugin reports, and an offline render (a bounce) puts every note at its hit
//! plus that latency, the same every time, however fast the blocks come. Driven through the same
//! `Realtime` object and worker threads as the plugin (`rig/mod.rs`); tests/tests/plugin_host.rs
//! checks the same through the built plugin in a CLAP host.

mod rig;

use drumsort_core::synth::{white_noise, Demo};
use drumsort_core::DrumClass;
use rig::{Rig, BLOCK, RATE};

#[test]
fn pass_through_is_the_input_delayed_by_exactly_the_reported_latency() {
    let mut rig = Rig::new();
    let latency = rig.rt.latency() as usize;
    let total = latency + 10 * BLOCK + 77;
    let (left, right) = (white_noise(total, -10.0, 11), white_noise(total, -10.0, 29));
    let (mut out_l, mut out_r) = (Vec::new(), Vec::new());
    // Uneven blocks, as hosts send them.
    let mut at = 0;
    for len in [BLOCK, 1, 100, BLOCK, 37].iter().cycle() {
        if at >= total {
            break;
        }
        let end = (at + len).min(total);
        let (mut l, mut r) = (left[at..end].to_vec(), right[at..end].to_vec());
        rig.process(&mut l, &mut r, &mut Vec::new());
        out_l.extend(l);
        out_r.extend(r);
        at = end;
    }
    for (out, input) in [(&out_l, &left), (&out_r, &right)] {
        assert!(out[..latency].iter().all(|&x| x == 0.0), "silence until the latency has passed");
        assert_eq!(&out[latency..], &input[..total - latency], "out[n] == in[n - latency], bit for bit");
    }

    // A reset (transport jump) forgets what the delay held: nothing from before it comes out.
    rig.rt.reset();
    let (mut l, mut r) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    rig.process(&mut l, &mut r, &mut Vec::new());
    assert!(l.iter().chain(&r).all(|&x| x == 0.0), "audio from before the reset came out after it");
}

#[test]
fn pass_through_off_is_silent_and_turning_it_back_on_plays_no_stale_audio() {
    let mut rig = Rig::new();
    let latency = rig.rt.latency() as usize;
    let mut ctl = rig.control();
    ctl.passthrough = false;
    let loud = vec![0.5f32; BLOCK];
    let blocks = latency.div_ceil(BLOCK) + 2;
    for _ in 0..blocks {
        let (mut l, mut r) = (loud.clone(), loud.clone());
        rig.rt.process(&mut [&mut l[..], &mut r[..]], &ctl, |_| {});
        assert!(l.iter().chain(&r).all(|&x| x == 0.0), "pass-through off lets audio out");
    }
    // Back on, with silence going in: what comes out is the delayed input, which was the loud
    // block until `latency` samples ago, then silence. The delay kept running while it was off,
    // so the output is the timeline's audio, not audio frozen when it was switched off.
    ctl.passthrough = true;
    let mut out = Vec::new();
    for _ in 0..blocks {
        let (mut l, mut r) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
        rig.rt.process(&mut [&mut l[..], &mut r[..]], &ctl, |_| {});
        out.extend(l);
    }
    assert!(out[..latency].iter().all(|&x| x == 0.5), "the delayed loud input plays first");
    assert!(out[latency..].iter().all(|&x| x == 0.0), "then the silence that went in");
}

/// A groove of the demo sounds: `(hit sample, class)` and the audio, mono at the rig's rate.
fn groove() -> (Vec<(u64, DrumClass)>, Vec<f32>) {
    groove_from(RATE as usize / 12)
}

/// [`groove`] with its first hit at sample `first`.
fn groove_from(first: usize) -> (Vec<(u64, DrumClass)>, Vec<f32>) {
    let pattern = [Demo::Kick, Demo::ClosedHat, Demo::Snare, Demo::ClosedHat, Demo::Kick, Demo::Kick, Demo::Snare];
    let step = RATE as usize / 4;
    let mut audio = vec![0.0f32; first + step * (pattern.len() + 4)];
    let mut hits = Vec::new();
    for (i, demo) in pattern.iter().enumerate() {
        let sound = demo.render(RATE, i as u64);
        let attack = sound.iter().position(|x| x.abs() > 1e-3).unwrap_or(0);
        let at = first + i * step;
        for (o, x) in audio[at..].iter_mut().zip(&sound[attack..]).take(step) {
            *o += 0.8 * x;
        }
        hits.push((at as u64, demo.class()));
    }
    (hits, audio)
}

/// Note events the rig emitted: `(absolute sample, key, velocity)`.
type NoteEvents = Vec<(u64, u8, u8)>;

/// Runs `audio` through a fresh rig in offline mode, blocks back to back with no pause: the note
/// events `(absolute sample, key, velocity)`, the hit samples the labeller reported, the latency
/// and the late-note count.
fn offline_render(audio: &[f32]) -> (NoteEvents, Vec<u64>, u64, u64) {
    let (events, hits, latency, late, _) = render(audio, true);
    (events, hits, latency, late)
}

/// [`offline_render`] with the offline mode announced (`announced`) or not (the host only renders
/// fast, as Ardour's VST3 export does); also returns the blocks that waited because of the pace.
fn render(audio: &[f32], announced: bool) -> (NoteEvents, Vec<u64>, u64, u64, u64) {
    let mut rig = Rig::new();
    // Blocks back to back on the wall clock: a render faster than real time.
    rig.device_clock = None;
    rig.rt.set_offline(announced);
    assert_eq!(rig.rt.is_offline(), announced);
    let latency = u64::from(rig.rt.latency());
    let tail = vec![0.0f32; latency as usize + 2 * BLOCK];
    let all: Vec<f32> = audio.iter().chain(&tail).copied().collect();
    let mut events = Vec::new();
    for (b, chunk) in all.chunks(BLOCK).enumerate() {
        let (mut l, mut r) = (chunk.to_vec(), chunk.to_vec());
        let mut notes = Vec::new();
        rig.process(&mut l, &mut r, &mut notes);
        let start = (b * BLOCK) as u64;
        events.extend(notes.iter().map(|n| (start + u64::from(n.timing), n.key, n.velocity)));
    }
    let hits = rig.shared.with_hits(|log| {
        let mut samples: Vec<u64> = log.recent.iter().map(|h| (h.time_s * f64::from(RATE)).round() as u64).collect();
        samples.dedup();
        samples
    });
    assert_eq!(rig.rt.offline_timeouts(), 0, "the worker answered every offline block");
    (events, hits, latency, rig.rt.late_notes(), rig.rt.paced_waits())
}

#[test]
fn offline_render_puts_every_note_exactly_at_its_hit_plus_the_latency_every_time() {
    let (truth, audio) = groove();
    let (events, hits, latency, late) = offline_render(&audio);
    assert_eq!(late, 0, "offline, no note may come late");
    assert_eq!(hits.len(), truth.len(), "one labelled hit per drum: {hits:?}");
    let note_ons: Vec<u64> = events.iter().filter(|e| e.2 > 0).map(|e| e.0).collect();
    let mut expected: Vec<u64> = hits.iter().map(|h| h + latency).collect();
    expected.sort_unstable();
    let mut distinct = note_ons.clone();
    distinct.dedup();
    assert_eq!(distinct, expected, "every note-on at its hit + {latency} samples, to the sample");
    // The hits are the drums, within the onset detector's few milliseconds.
    for (&(at, class), &hit) in truth.iter().zip(&hits) {
        assert!(hit.abs_diff(at) <= u64::from(RATE) / 200, "the {class:?} at {at} was found at {hit}");
    }
    let (again, _, _, _) = offline_render(&audio);
    assert_eq!(again, events, "a second render gave different notes");
}

#[test]
fn an_unannounced_fast_render_is_recognised_by_its_pace_and_its_notes_are_exact() {
    // Ardour renders a VST3 export in freewheel but says so only inside each process() call,
    // which nice-plug does not pass on: blocks simply come far faster than real time.
    let (truth, audio) = groove_from(RATE as usize / 2);
    let (events, hits, latency, late, paced) = render(&audio, false);
    assert!(paced > 0, "process() never waited although the blocks came far ahead of the clock");
    assert_eq!(late, 0, "a note came late in a render that ran ahead of real time");
    assert_eq!(hits.len(), truth.len(), "one labelled hit per drum: {hits:?}");
    let mut note_ons: Vec<u64> = events.iter().filter(|e| e.2 > 0).map(|e| e.0).collect();
    note_ons.dedup();
    let expected: Vec<u64> = hits.iter().map(|h| h + latency).collect();
    assert_eq!(note_ons, expected, "every note-on at its hit + {latency} samples");
}

#[test]
fn blocks_at_the_pace_of_real_time_never_wait() {
    let (_, audio) = groove_from(RATE as usize / 10);
    let mut rig = Rig::new();
    rig.device_clock = None;
    let block_time = std::time::Duration::from_secs_f64(BLOCK as f64 / f64::from(RATE));
    for chunk in audio[..RATE as usize * 3 / 2].chunks(BLOCK) {
        let (mut l, mut r) = (chunk.to_vec(), chunk.to_vec());
        rig.process(&mut l, &mut r, &mut Vec::new());
        // A real-time host's device clock: never sooner than the block's duration (a busy machine
        // only makes it later, which keeps the host further from running ahead).
        std::thread::sleep(block_time);
    }
    assert_eq!(rig.rt.paced_waits(), 0, "process() waited in real time");
}
