//! Sustained load (issue 7): ten minutes of generated drum audio through the real-time path in
//! accelerated time, while the hit labeller holds its first batch of windows and does not come
//! back until the whole run of `process()` calls has returned. The blocks arrive on a simulated
//! device clock, one block duration apart ([`Realtime::process_at`]), as a real-time host delivers
//! them (fed on the wall clock, they would look like a fast offline render, for which `process()`
//! does wait). Proves, without measuring time (issue 21):
//! - `process()` never waits for the worker: a `process()` that did would wait for ever, since
//!   the worker is released only after the run; the run is on its own thread and a hang detector
//!   minutes long fails the test instead of hanging it;
//! - the dropped-hit count is exact: every hit the detector finds is either delivered to the
//!   worker or counted as dropped, once;
//! - every delivered window is labelled once the worker is released, and the notes of those
//!   labels reach the host, late and counted as late;
//! - resident memory stays flat while the ring to the worker overflows again and again.
//!
//! The hours-long soak with its timing figures (x real time, slowest block) is
//! `cargo xtask bench --soak`.
//!
//! Its own test binary, so the resident-memory figures are this test's alone.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use drumsort_core::classifier::Classifier;
use drumsort_core::hits::{HitConfig, HitDetector, HitWindow};
use drumsort_core::onset::OnsetConfig;
use drumsort_core::synth::Demo;
use drumsort_plugin::testing::{BlockControl, DrumsortParams, HitNote, Realtime};

const RATE: u32 = 48_000;
const BLOCK: usize = 512;
/// Audio run through `process()`: thousands of hits and ~56,000 blocks, seconds of work.
const MINUTES: f64 = 10.0;
/// Hang detector, not a speed limit: the run takes seconds even in a debug build on a busy
/// machine; only a `process()` that waits for the (blocked) worker never finishes.
const HANG: Duration = Duration::from_secs(300);

/// Eight seconds of groove (kick, snare, hats, toms, crash, ghost notes at varied velocities),
/// looped with a different gain every loop.
fn groove() -> Vec<f32> {
    let kit: Vec<Vec<f32>> = [Demo::Kick, Demo::Snare, Demo::ClosedHat, Demo::OpenHat, Demo::Tom, Demo::Crash]
        .iter()
        .enumerate()
        .map(|(i, d)| d.render(RATE, i as u64))
        .collect();
    let sixteenth = RATE as usize * 60 / 120 / 4;
    let mut out = vec![0.0f32; sixteenth * 64];
    let mut seed = 12345u32;
    for step in 0..64 {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let sounds: &[usize] = match step % 16 {
            0 if step == 0 => &[0, 5],
            0 | 8 => &[0, 2],
            4 | 12 => &[1, 2],
            14 if step >= 48 => &[4],
            6 => &[3],
            _ => &[2],
        };
        let gain = 0.3 + 0.6 * (seed >> 8) as f32 / (1u32 << 24) as f32;
        let len = out.len();
        for &s in sounds {
            let start = step * sixteenth;
            out[start..len].iter_mut().zip(&kit[s]).for_each(|(o, x)| *o += gain * x);
        }
    }
    out
}

/// Resident set size of this process, bytes.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

/// The simulated device clock of a real-time host: when the block starting at sample `position`
/// arrives, counted from `start`.
fn device_clock(start: Instant, position: usize) -> Instant {
    start + Duration::from_secs_f64(position as f64 / f64::from(RATE))
}

/// Fills `block` with the audio at `position` of the endless groove.
fn fill(block: &mut [f32], groove: &[f32], position: usize) {
    let loop_no = position / groove.len();
    let gain = 0.5 + 0.5 * ((loop_no * 2_654_435_761) % 1000) as f32 / 1000.0;
    for (i, b) in block.iter_mut().enumerate() {
        *b = gain * groove[(position + i) % groove.len()];
    }
}

/// What the run of `process()` calls hands back to the test.
struct Run {
    rt: Realtime,
    /// Where the simulated device clock started.
    clock: Instant,
    note_ons: u64,
    /// Windows the worker had finished with when the run ended.
    handled_during_run: u64,
    rss_start: u64,
    rss_end: u64,
}

#[test]
fn process_never_waits_for_a_blocked_worker_and_drops_are_exact_with_flat_memory() {
    let groove = Arc::new(groove());
    let total_blocks = (MINUTES * 60.0 * f64::from(RATE)) as usize / BLOCK;
    let cfg = HitConfig::default();

    // The reference: the same detector over the same blocks, drained at once, never full.
    let reference = {
        let groove = Arc::clone(&groove);
        std::thread::spawn(move || {
            let (mut detector, mut labeler) = HitDetector::new(RATE, &cfg);
            let (mut block, mut windows) = (vec![0.0f32; BLOCK], Vec::<HitWindow>::new());
            let mut found = 0u64;
            for b in 0..total_blocks {
                fill(&mut block, &groove, b * BLOCK);
                detector.process(&block);
                windows.clear();
                labeler.pop_all(&mut windows);
                found += windows.len() as u64;
            }
            assert_eq!(detector.dropped(), 0);
            found
        })
    };

    // The plugin's path, in real-time mode (the default), with a worker that labels with the
    // shipped hit model but takes its first batch and then holds it until released.
    let (rt, mut labeler, ends) = Realtime::new(RATE, BLOCK, &cfg);
    assert!(!rt.is_offline(), "the load test runs the real-time mode");
    let handled = Arc::clone(&ends.handled);
    let done = Arc::new(AtomicBool::new(false));
    let (held_tx, held_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let worker = {
        let done = Arc::clone(&done);
        let (mut notes, handled) = (ends.notes, Arc::clone(&ends.handled));
        std::thread::spawn(move || {
            let classifier = Classifier::shipped_hits().unwrap();
            let mut windows: Vec<HitWindow> = Vec::new();
            let (mut delivered, mut labelled) = (0u64, 0u64);
            let mut release = Some(release_rx);
            loop {
                windows.clear();
                labeler.pop_all(&mut windows);
                if windows.is_empty() {
                    if done.load(Ordering::Acquire) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
                delivered += windows.len() as u64;
                if let Some(release) = release.take() {
                    // Stuck on the first batch until every process() call of the run returned.
                    held_tx.send(()).unwrap();
                    release.recv().unwrap();
                }
                for hit in labeler.label(&classifier, &windows).unwrap() {
                    for (class, _) in hit.classes {
                        let _ = notes.push(HitNote { sample: hit.sample, class, velocity: hit.velocity });
                    }
                }
                labelled += windows.len() as u64;
                handled.fetch_add(windows.len() as u64, Ordering::Release);
            }
            (delivered, labelled)
        })
    };

    let params = DrumsortParams::default();
    let ctl = BlockControl {
        onset: OnsetConfig::default(),
        passthrough: true,
        audition_gain: 1.0,
        notes: params.note_settings(rt.latency(), RATE as f32),
    };

    // The run, on its own thread so that a process() waiting for the worker shows as a hang.
    let (run_tx, run_rx) = mpsc::channel::<Run>();
    {
        let groove = Arc::clone(&groove);
        let mut rt = rt;
        std::thread::spawn(move || {
            let (mut left, mut right) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
            let mut note_ons = 0u64;
            let rss_start_at = total_blocks / 10;
            let mut rss_start = 0;
            let clock = Instant::now();
            for b in 0..total_blocks {
                fill(&mut left, &groove, b * BLOCK);
                right.copy_from_slice(&left);
                let now = device_clock(clock, b * BLOCK);
                let channels = &mut [&mut left[..], &mut right[..]];
                rt.process_at(now, channels, &ctl, |n| note_ons += u64::from(n.velocity > 0));
                if b == total_blocks / 20 {
                    // The harness (not process()) makes sure the worker holds its batch from here
                    // on: windows have been in the ring for seconds of audio by now.
                    held_rx.recv().expect("the worker died before taking a window");
                }
                if b == rss_start_at {
                    rss_start = rss_bytes();
                }
            }
            let rss_end = rss_bytes();
            let handled_during_run = handled.load(Ordering::Acquire);
            let _ = run_tx.send(Run { rt, clock, note_ons, handled_during_run, rss_start, rss_end });
        });
    }
    let run = match run_rx.recv_timeout(HANG) {
        Ok(run) => run,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!(
            "process() waited for the worker: {total_blocks} blocks with the worker blocked did not return within \
             {} s",
            HANG.as_secs()
        ),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the process() thread panicked (see above)"),
    };
    let Run { mut rt, clock, note_ons, handled_during_run, rss_start, rss_end } = run;

    // Release the worker: it labels what it holds, then what is still in the ring, then stops.
    done.store(true, Ordering::Release);
    release_tx.send(()).unwrap();
    let (delivered, labelled) = worker.join().unwrap();
    let found = reference.join().unwrap();
    let dropped = rt.dropped_hits();

    // The labels reach the host at the next block: late (their hits are minutes old) and counted.
    let mut late_note_ons = 0u64;
    let (mut left, mut right) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    let now = device_clock(clock, total_blocks * BLOCK);
    rt.process_at(now, &mut [&mut left[..], &mut right[..]], &ctl, |n| late_note_ons += u64::from(n.velocity > 0));

    let audio_s = total_blocks as f64 * BLOCK as f64 / f64::from(RATE);
    println!(
        "{:.0} min of audio, worker blocked for the whole run: {found} hits found, {delivered} delivered, {dropped} \
         dropped, {labelled} labelled; {note_ons} note-ons during the run, {late_note_ons} after the release ({} \
         late); RSS {:.1} MB at 10 % -> {:.1} MB at the end",
        audio_s / 60.0,
        rt.late_notes(),
        rss_start as f64 / 1e6,
        rss_end as f64 / 1e6,
    );
    // Minutes of 16th notes: thousands of hits, nearly all of them dropped by the blocked worker.
    assert!(found as f64 > audio_s * 7.0, "the detector found only {found} hits");
    assert_eq!(handled_during_run, 0, "the worker handled windows while it was meant to be blocked");
    assert_eq!(note_ons, 0, "notes went out while the worker was blocked");
    assert_eq!(rt.offline_timeouts(), 0, "process() took the offline path");
    assert_eq!(rt.paced_waits(), 0, "process() took the blocks of a real-time host for a fast render");
    assert!(dropped > found / 2, "the blocked worker should have overflowed the ring ({dropped} dropped)");
    assert!(delivered > 0, "the worker got no window");
    assert_eq!(delivered + dropped, found, "every hit is delivered or counted as dropped, exactly once");
    assert_eq!(labelled, delivered, "every delivered window was labelled");
    assert_eq!(rt.late_notes(), late_note_ons, "the released labels' notes are late and counted");
    assert!(late_note_ons > 0, "no note came out of {labelled} labelled windows");
    assert!(rss_end <= rss_start + 4 * 1024 * 1024, "memory grew from {rss_start} to {rss_end} bytes over the run");
}
