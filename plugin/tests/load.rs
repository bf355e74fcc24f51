//! Sustained load (issue 7): two hours of generated drum audio through the real-time path in
//! accelerated offline time, with the hit labeller artificially slowed so the ring to it overflows
//! again and again. Proves that `process()` never waits for the worker (its slowest block stays far
//! below the worker's stall), that memory stays flat, and that the dropped-hit count is exact:
//! every hit the detector finds is either delivered to the worker or counted as dropped.
//!
//! Its own test binary, so the resident-memory figures are this test's alone.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use drumsort_core::classifier::Classifier;
use drumsort_core::hits::{HitConfig, HitDetector, HitWindow};
use drumsort_core::onset::OnsetConfig;
use drumsort_core::synth::Demo;
use drumsort_plugin::audio::HitNote;
use drumsort_plugin::params::DrumsortParams;
use drumsort_plugin::realtime::{BlockControl, Realtime};

const RATE: u32 = 48_000;
const BLOCK: usize = 512;
const HOURS: f64 = 2.0;
/// How long the slowed worker sleeps per batch of windows. A `process()` that waited for the
/// worker would take at least this long for some block.
const WORKER_STALL: Duration = Duration::from_millis(250);

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

/// Fills `block` with the audio at `position` of the endless groove.
fn fill(block: &mut [f32], groove: &[f32], position: usize) {
    let loop_no = position / groove.len();
    let gain = 0.5 + 0.5 * ((loop_no * 2_654_435_761) % 1000) as f32 / 1000.0;
    for (i, b) in block.iter_mut().enumerate() {
        *b = gain * groove[(position + i) % groove.len()];
    }
}

#[test]
fn hours_of_drums_with_a_slow_worker_keep_process_fast_memory_flat_and_drops_exact() {
    let groove = groove();
    let total_blocks = (HOURS * 3600.0 * f64::from(RATE)) as usize / BLOCK;
    let cfg = HitConfig::default();

    // The reference: the same detector over the same blocks, drained at once, never full.
    let reference = {
        let groove = groove.clone();
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

    // The plugin's path, with a worker that labels with the shipped hit model but stalls per batch.
    let (mut rt, mut labeler, ends) = Realtime::new(RATE, BLOCK, &cfg);
    let stop = Arc::new(AtomicBool::new(false));
    let delivered = Arc::new(AtomicU64::new(0));
    let worker = {
        let (stop, delivered) = (Arc::clone(&stop), Arc::clone(&delivered));
        let mut notes = ends.notes;
        std::thread::spawn(move || {
            let classifier = Classifier::shipped_hits().unwrap();
            let mut windows: Vec<HitWindow> = Vec::new();
            let mut labelled = 0u64;
            loop {
                windows.clear();
                labeler.pop_all(&mut windows);
                if windows.is_empty() {
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
                delivered.fetch_add(windows.len() as u64, Ordering::Relaxed);
                std::thread::sleep(WORKER_STALL);
                for hit in labeler.label(&classifier, &windows).unwrap() {
                    labelled += 1;
                    for (class, _) in hit.classes {
                        let _ = notes.push(HitNote { sample: hit.sample, class, velocity: hit.velocity });
                    }
                }
            }
            labelled
        })
    };

    let params = DrumsortParams::default();
    let ctl = BlockControl {
        onset: OnsetConfig::default(),
        passthrough: true,
        audition_gain: 1.0,
        notes: params.note_settings(rt.latency(), RATE as f32),
    };
    let (mut left, mut right) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    let mut slowest = Duration::ZERO;
    let mut note_ons = 0u64;
    let rss_start_at = total_blocks / 10;
    let mut rss_start = 0;
    let wall = Instant::now();
    for b in 0..total_blocks {
        fill(&mut left, &groove, b * BLOCK);
        right.copy_from_slice(&left);
        let t = Instant::now();
        rt.process(&mut [&mut left[..], &mut right[..]], &ctl, |n| note_ons += u64::from(n.velocity > 0));
        slowest = slowest.max(t.elapsed());
        if b == rss_start_at {
            rss_start = rss_bytes();
        }
    }
    let rss_end = rss_bytes();
    let wall = wall.elapsed();
    // Let the worker take what is still in the ring, then stop it.
    std::thread::sleep(WORKER_STALL * 2);
    stop.store(true, Ordering::Release);
    let labelled = worker.join().unwrap();
    let found = reference.join().unwrap();
    let (delivered, dropped) = (delivered.load(Ordering::Relaxed), rt.dropped_hits());

    let audio_s = total_blocks as f64 * BLOCK as f64 / f64::from(RATE);
    println!(
        "{:.1} h of audio in {:.1} s ({:.0}x real time): {found} hits found, {delivered} delivered, {dropped} dropped, \
         {labelled} labelled, {note_ons} note-ons ({} late); slowest process() {:.3} ms (block {:.1} ms, worker stall \
         {} ms); RSS {:.1} MB at 10 % -> {:.1} MB at the end",
        audio_s / 3600.0,
        wall.as_secs_f64(),
        audio_s / wall.as_secs_f64(),
        rt.late_notes(),
        slowest.as_secs_f64() * 1e3,
        BLOCK as f64 * 1e3 / f64::from(RATE),
        WORKER_STALL.as_millis(),
        rss_start as f64 / 1e6,
        rss_end as f64 / 1e6,
    );
    // Hours of 16th notes: tens of thousands of hits, most of them dropped by the slowed worker.
    assert!(found as f64 > audio_s * 7.0, "the detector found only {found} hits");
    assert!(dropped > found / 2, "the slowed worker should have overflowed the ring ({dropped} dropped)");
    assert_eq!(delivered + dropped, found, "every hit is delivered or counted as dropped, exactly once");
    assert_eq!(labelled, delivered, "every delivered window was labelled");
    assert!(slowest < WORKER_STALL / 2, "a block took {slowest:?}: process() waited");
    assert!(rss_end <= rss_start + 4 * 1024 * 1024, "memory grew from {rss_start} to {rss_end} bytes over the run");
}
