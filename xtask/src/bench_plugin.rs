//! Plugin figures for `cargo xtask bench`: the CPU cost of `process()` (the same `Realtime` object
//! the plugin runs) at 48 kHz in 64-sample blocks while a worker labels the hits, the latency the
//! plugin reports, the classifier's time per hit, and the editor's CPU time per frame; and, with
//! `--soak`, hours of audio through `process()` with a stalling labeller.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use drumsort_core::classifier::Classifier;
use drumsort_core::hits::{HitConfig, HitDetector, HitWindow};
use drumsort_core::onset::OnsetConfig;
use drumsort_core::synth::Demo;
use drumsort_plugin::testing::{
    bench_frames, bench_frames_of, bench_layout, BlockControl, DrumsortParams, HitNote, Realtime,
};

const RATE: u32 = 48_000;
const BLOCK: usize = 64;
/// Audio run through `process()`.
const SECONDS: usize = 60;

/// A 16th-note groove at 120 bpm (kick, hats, snare, ghost notes), `seconds` long, stereo as two
/// equal channels.
fn groove(seconds: usize) -> Vec<f32> {
    let step = RATE as usize / 8;
    let sounds: Vec<Vec<f32>> =
        [Demo::Kick, Demo::ClosedHat, Demo::Snare, Demo::OpenHat].iter().map(|d| d.render(RATE, 1)).collect();
    let pattern = [0usize, 1, 1, 1, 2, 1, 0, 1, 0, 1, 1, 3, 2, 1, 1, 1];
    let mut out = vec![0.0f32; RATE as usize * seconds];
    for (i, start) in (0..out.len()).step_by(step).enumerate() {
        let sound = &sounds[pattern[i % pattern.len()]];
        let gain = if i % 2 == 1 { 0.35 } else { 0.8 };
        for (o, s) in out[start..].iter_mut().zip(sound) {
            *o += s * gain;
        }
    }
    out
}

pub fn run(model: &Path) -> Result<()> {
    let classifier = Classifier::from_dir(model)?;
    let params = DrumsortParams::default();
    let cfg = HitConfig::default();
    let (mut rt, mut labeler, ends) = Realtime::new(RATE, BLOCK, &cfg);
    let latency_ms = f64::from(rt.latency()) * 1000.0 / f64::from(RATE);
    let (rt_512, _, _) = Realtime::new(RATE, 512, &cfg);

    // The worker: labels windows as they come and sends the notes back, as the plugin's does.
    let stop = Arc::new(AtomicBool::new(false));
    let mut notes = ends.notes;
    let worker = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut times = Vec::new();
            let mut windows: Vec<HitWindow> = Vec::new();
            // As the plugin's worker does when it gets its labeller.
            let t = Instant::now();
            let _ = labeler.warm_up(&classifier);
            let warm_up = t.elapsed();
            while !stop.load(Ordering::Acquire) {
                windows.clear();
                labeler.pop_all(&mut windows);
                if windows.is_empty() {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
                let t = Instant::now();
                if let Ok(hits) = labeler.label(&classifier, &windows) {
                    times.push(t.elapsed().as_secs_f64() / windows.len() as f64);
                    for h in hits {
                        for (class, _) in h.classes {
                            let _ = notes.push(HitNote { sample: h.sample, class, velocity: h.velocity });
                        }
                    }
                }
            }
            (times, warm_up)
        })
    };

    let audio = groove(SECONDS);
    let ctl = BlockControl {
        onset: OnsetConfig::default(),
        passthrough: true,
        audition_gain: 0.5,
        notes: params.note_settings(rt.latency(), RATE as f32),
    };
    let mut left = vec![0.0f32; BLOCK];
    let mut right = vec![0.0f32; BLOCK];
    let mut busy = Duration::ZERO;
    let mut note_ons = 0usize;
    let wall = Instant::now();
    for (b, chunk) in audio.chunks(BLOCK).enumerate() {
        left[..chunk.len()].copy_from_slice(chunk);
        right[..chunk.len()].copy_from_slice(chunk);
        let mut channels = [&mut left[..chunk.len()], &mut right[..chunk.len()]];
        let t = Instant::now();
        rt.process(&mut channels, &ctl, |n| note_ons += usize::from(n.velocity > 0));
        busy += t.elapsed();
        // Real time: the next block arrives when the previous one has played.
        let due = Duration::from_secs_f64((b + 1) as f64 * BLOCK as f64 / f64::from(RATE));
        if let Some(wait) = due.checked_sub(wall.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    stop.store(true, Ordering::Release);
    let (mut per_hit, warm_up) = worker.join().unwrap_or_default();
    let hot = back_to_back(&audio, &cfg, &ctl);
    per_hit.sort_by(f64::total_cmp);
    let audio_s = audio.len() as f64 / f64::from(RATE);
    let blocks = audio.len().div_ceil(BLOCK);
    println!("plugin, {SECONDS} s of a 16th-note groove at 48 kHz in {BLOCK}-sample blocks, worker labelling live:");
    println!(
        "  process() CPU, paced      {:>8.3} % of one core  ({:.2} µs per block, woken for every block as a host does)",
        busy.as_secs_f64() / audio_s * 100.0,
        busy.as_secs_f64() * 1e6 / blocks as f64
    );
    println!(
        "  process() back to back     {:>8.3} % of one core  ({:.2} µs per block: the compute alone, caches warm)",
        hot.as_secs_f64() / audio_s * 100.0,
        hot.as_secs_f64() * 1e6 / blocks as f64
    );
    println!(
        "  hit-to-note latency       {latency_ms:>8.1} ms at 64-sample blocks, {:.1} ms at 512 (lookahead 50 ms)",
        f64::from(rt_512.latency()) * 1000.0 / f64::from(RATE)
    );
    if !per_hit.is_empty() {
        let mean = per_hit.iter().sum::<f64>() / per_hit.len() as f64;
        let p95 = per_hit[(per_hit.len() * 95 / 100).min(per_hit.len() - 1)];
        println!(
            "  classifier per hit        {:>8.2} ms mean, {:.2} ms p95 (its first run, on a silent window before any hit: {:.1} ms)",
            mean * 1e3,
            p95 * 1e3,
            warm_up.as_secs_f64() * 1e3
        );
    }
    println!(
        "  notes                     {note_ons:>8} note-ons, {} late, {} hits dropped",
        rt.late_notes(),
        rt.dropped_hits()
    );

    let layout_ms = bench_layout(10_000);
    let frames = bench_frames(10_000, 300);
    println!("editor, 10,000 samples:");
    println!("  layout (worker thread)    {layout_ms:>8.1} ms");
    println!(
        "  frame CPU, pan + zoom     {:>8.2} ms mean, {:.2} ms p99, {:.2} ms max ({} frames)",
        frames.mean_ms, frames.p99_ms, frames.max_ms, frames.frames
    );
    Ok(())
}

/// Samples in the library of the load figure (the "10,000 samples").
const LOAD_SAMPLES: usize = 10_000;

/// Plugin load with a library of 10,000 samples: scans the first 10,000 files of the generated
/// scale library into a fresh index, then measures, in a fresh child process pointed at that
/// index (its own memory figures), what a host pays when it instantiates the plugin, activates it
/// and opens the editor: worker threads start, the index is read, the layout computed, the graph
/// published, and 60 editor frames drawn.
pub fn library_load(model: &Path) -> Result<()> {
    use crate::bench_scan::{generate, remove_index, LEAVES, PER_LEAF, SCALE_LIB};
    use drumsort_core::index::{Index, ScanModel, ScanOptions};
    let lib = std::path::PathBuf::from(SCALE_LIB);
    generate(&lib, LOAD_SAMPLES)?;
    let roots: Vec<_> = (0..LOAD_SAMPLES / (PER_LEAF * LEAVES)).map(|k| lib.join(format!("d{k:03}"))).collect();
    let db = std::env::temp_dir().join(format!("drumsort-bench-load-{}.sqlite", std::process::id()));
    remove_index(&db);
    let classifier = Classifier::from_dir(model)?;
    let scanned =
        Index::open(&db)?.scan(&roots, &mut ScanModel::loaded(&classifier), &ScanOptions::default(), |_| {})?;
    anyhow::ensure!(scanned.files == LOAD_SAMPLES && scanned.errors == 0, "scan of the load library: {scanned:?}");
    let out = std::process::Command::new(std::env::current_exe()?)
        .args(["bench-plugin-load", "--samples", &LOAD_SAMPLES.to_string()])
        .env("DRUMSORT_DB", &db)
        .output()?;
    remove_index(&db);
    anyhow::ensure!(out.status.success(), "bench-plugin-load failed: {}", String::from_utf8_lossy(&out.stderr));
    print!("{}", String::from_utf8_lossy(&out.stdout));
    Ok(())
}

/// Child of [`library_load`]: `DRUMSORT_DB` names an index of `samples` sounds.
pub fn load_child(samples: usize) -> Result<()> {
    use drumsort_core::hits::HitConfig;
    use drumsort_plugin::testing::{Activation, Command, Shared, Worker};
    let rss_mb = || crate::bench_scan::status_mb("VmRSS:").unwrap_or(f64::NAN);
    let before = rss_mb();
    let start = Instant::now();
    // What the plugin does on the host's first activate() and on opening the editor.
    let (shared, commands) = Shared::new();
    let params = Arc::new(DrumsortParams::default());
    let worker = Worker::start(Arc::clone(&shared), commands, Arc::clone(&params))?;
    let (_rt, labeler, ends) = Realtime::new(48_000, 512, &HitConfig::default());
    worker.activate(Activation { sample_rate: 48_000, labeler, ends });
    shared.send(Command::Reload);
    while shared.library().samples.len() < samples {
        anyhow::ensure!(start.elapsed() < Duration::from_secs(300), "the graph never reached {samples} samples");
        std::thread::sleep(Duration::from_millis(5));
    }
    let ready = start.elapsed();
    let frames = bench_frames_of(Arc::clone(&shared), 60);
    println!("plugin load, library of {samples} samples (worker start, index read, layout, editor):");
    println!(
        "  graph ready after         {:>8.0} ms (activate + editor open to a full bubble graph)",
        ready.as_secs_f64() * 1e3
    );
    println!(
        "  editor frames             {:>8.2} ms mean, {:.2} ms p99 over this library",
        frames.mean_ms, frames.p99_ms
    );
    println!(
        "  memory                    {:>8.0} MB resident ({:.0} MB before loading, {:.0} MB peak)",
        rss_mb(),
        before,
        crate::bench_scan::peak_rss_mb().unwrap_or(f64::NAN)
    );
    drop(worker);
    Ok(())
}

/// `process()` time over `audio` with the blocks fed back to back (no waiting for real time, no
/// worker): what the audio thread computes, without the cache and frequency cost of waking up for
/// every block that the paced run above pays.
fn back_to_back(audio: &[f32], cfg: &HitConfig, ctl: &BlockControl) -> Duration {
    let (mut rt, _labeler, _ends) = Realtime::new(RATE, BLOCK, cfg);
    let (mut left, mut right) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    let t = Instant::now();
    for (b, chunk) in audio.chunks(BLOCK).enumerate() {
        left[..chunk.len()].copy_from_slice(chunk);
        right[..chunk.len()].copy_from_slice(chunk);
        let mut channels = [&mut left[..chunk.len()], &mut right[..chunk.len()]];
        // On a real-time device clock: on the wall clock these blocks would look like a fast
        // render, and process() would wait for the (absent) labeller.
        rt.process_at(device_clock(t, b * BLOCK), &mut channels, ctl, |_| {});
    }
    t.elapsed()
}

/// The simulated clock of a real-time audio device started at `start`: when the block starting at
/// sample `position` arrives. Lets `process()` run back to back as a real-time host's.
fn device_clock(start: Instant, position: usize) -> Instant {
    start + Duration::from_secs_f64(position as f64 / f64::from(RATE))
}

/// Block size of the soak (a common host buffer).
const SOAK_BLOCK: usize = 512;
/// How long the soak's slowed hit labeller sleeps per batch of windows, so that the ring to it
/// overflows again and again.
const SOAK_STALL: Duration = Duration::from_millis(250);

/// `cargo xtask bench --soak`: `hours` of drum audio (the 16th-note groove, looped with a new
/// gain every loop) through `process()` as fast as the machine goes, the blocks arriving on a
/// simulated real-time device clock (real-time mode: `process()` must never wait), while the hit
/// labeller sleeps [`SOAK_STALL`] per batch. Prints the speed, the slowest block, resident memory
/// and the hit accounting against the same detector drained at once; asserts nothing (the
/// behaviour is checked by plugin/tests/load.rs without timing).
pub fn soak(hours: f64, model: &Path) -> Result<()> {
    let classifier = Classifier::from_dir(model)?;
    let params = DrumsortParams::default();
    let cfg = HitConfig::default();
    let groove = groove(8);
    let total_blocks = (hours * 3600.0 * f64::from(RATE)) as usize / SOAK_BLOCK;
    let fill = |block: &mut [f32], position: usize| {
        let gain = 0.5 + 0.5 * ((position / groove.len() * 2_654_435_761) % 1000) as f32 / 1000.0;
        for (i, b) in block.iter_mut().enumerate() {
            *b = gain * groove[(position + i) % groove.len()];
        }
    };
    let rss_mb = || crate::bench_scan::status_mb("VmRSS:").unwrap_or(f64::NAN);

    // The reference, before the timed run: the same detector over the same blocks, never full.
    let found = {
        let (mut detector, mut labeler) = HitDetector::new(RATE, &cfg);
        let (mut block, mut windows) = (vec![0.0f32; SOAK_BLOCK], Vec::<HitWindow>::new());
        let mut found = 0u64;
        for b in 0..total_blocks {
            fill(&mut block, b * SOAK_BLOCK);
            detector.process(&block);
            windows.clear();
            labeler.pop_all(&mut windows);
            found += windows.len() as u64;
        }
        found
    };

    let (mut rt, mut labeler, ends) = Realtime::new(RATE, SOAK_BLOCK, &cfg);
    let done = Arc::new(AtomicBool::new(false));
    let worker = {
        let done = Arc::clone(&done);
        let (mut notes, handled) = (ends.notes, ends.handled);
        std::thread::spawn(move || {
            let mut windows: Vec<HitWindow> = Vec::new();
            let (mut delivered, mut labelled) = (0u64, 0u64);
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
                std::thread::sleep(SOAK_STALL);
                if let Ok(hits) = labeler.label(&classifier, &windows) {
                    labelled += windows.len() as u64;
                    for h in hits {
                        for (class, _) in h.classes {
                            let _ = notes.push(HitNote { sample: h.sample, class, velocity: h.velocity });
                        }
                    }
                }
                handled.fetch_add(windows.len() as u64, Ordering::Release);
            }
            (delivered, labelled)
        })
    };

    let ctl = BlockControl {
        onset: OnsetConfig::default(),
        passthrough: true,
        audition_gain: 1.0,
        notes: params.note_settings(rt.latency(), RATE as f32),
    };
    let (mut left, mut right) = (vec![0.0f32; SOAK_BLOCK], vec![0.0f32; SOAK_BLOCK]);
    let (mut slowest, mut busy, mut note_ons) = (Duration::ZERO, Duration::ZERO, 0u64);
    let (rss_start_at, mut rss_start) = (total_blocks / 10, f64::NAN);
    let wall = Instant::now();
    for b in 0..total_blocks {
        fill(&mut left, b * SOAK_BLOCK);
        right.copy_from_slice(&left);
        let now = device_clock(wall, b * SOAK_BLOCK);
        let t = Instant::now();
        rt.process_at(now, &mut [&mut left[..], &mut right[..]], &ctl, |n| note_ons += u64::from(n.velocity > 0));
        let took = t.elapsed();
        busy += took;
        slowest = slowest.max(took);
        if b == rss_start_at {
            rss_start = rss_mb();
        }
    }
    let wall = wall.elapsed();
    let rss_end = rss_mb();
    done.store(true, Ordering::Release);
    let (delivered, labelled) = worker.join().unwrap_or_default();
    let dropped = rt.dropped_hits();

    let audio_s = total_blocks as f64 * SOAK_BLOCK as f64 / f64::from(RATE);
    let accounting = if delivered + dropped == found {
        "delivered + dropped = found".to_string()
    } else {
        format!("MISMATCH: delivered + dropped = {}", delivered + dropped)
    };
    println!(
        "plugin soak, {:.2} h of a 16th-note groove at 48 kHz in {SOAK_BLOCK}-sample blocks on a real-time device clock, \
         labeller stalling {} ms per batch:",
        audio_s / 3600.0,
        SOAK_STALL.as_millis()
    );
    println!(
        "  run                       {:>8.1} s wall, {:.0}x real time",
        wall.as_secs_f64(),
        audio_s / wall.as_secs_f64()
    );
    println!(
        "  process() per block       {:>8.2} µs mean, slowest {:.3} ms (a block is {:.1} ms)",
        busy.as_secs_f64() * 1e6 / total_blocks.max(1) as f64,
        slowest.as_secs_f64() * 1e3,
        SOAK_BLOCK as f64 * 1e3 / f64::from(RATE)
    );
    println!("  hits                      {found:>8} found, {delivered} delivered, {dropped} dropped ({accounting}), {labelled} labelled");
    println!(
        "  notes                     {note_ons:>8} note-ons, {} late; {} paced waits, {} offline timeouts",
        rt.late_notes(),
        rt.paced_waits(),
        rt.offline_timeouts()
    );
    println!("  memory                    {rss_start:>8.1} MB resident at 10 % -> {rss_end:.1} MB at the end");
    Ok(())
}
