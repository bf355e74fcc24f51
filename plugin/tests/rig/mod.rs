//! The plugin's worker threads driven the way the plugin drives them, without a host: the
//! editor's commands go in through `Shared`, audio goes through the same `Realtime` object
//! `process()` uses. Shared by `worker.rs` and `faults.rs`.
//!
//! Every test binary gets its own temporary library index (`DRUMSORT_DB` is per process) and each
//! test its own folder of synthesized one-shots, so the user's library is never touched.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use drumsort_core::hits::HitConfig;
use drumsort_core::onset::OnsetConfig;
use drumsort_plugin::testing::{Activation, BlockControl, DrumsortParams, NoteOut, Realtime, Shared, Worker};

pub const RATE: u32 = 44_100;
pub const BLOCK: usize = 256;

/// This process's scratch folder; its `library.sqlite` is the index every worker here uses.
pub fn scratch_root() -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let exe = std::env::current_exe().ok();
        let binary = exe.as_ref().and_then(|p| p.file_stem()).map(|s| s.to_string_lossy().into_owned());
        let root =
            std::env::temp_dir().join(format!("drumsort-plugin-{}-{}", binary.unwrap_or_default(), std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        // SAFETY: set once, before any worker thread of this process reads it.
        unsafe { std::env::set_var("DRUMSORT_DB", root.join("library.sqlite")) };
        root
    })
    .clone()
}

/// A fresh, empty folder `name` under this process's scratch folder.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = scratch_root().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn write_wav(path: &Path, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

/// A running worker with activated rings, as after the host's first `activate()`, and the audio
/// thread's object.
pub struct Rig {
    pub shared: Arc<Shared>,
    pub rt: Realtime,
    pub params: Arc<DrumsortParams>,
    pub worker: Worker,
    /// The host's audio clock: `Some`, a real-time device's (one block duration per block, so
    /// blocks fed back to back still look like a real-time host and `process()` never waits);
    /// `None`, the wall clock (blocks back to back look like a fast offline render).
    pub device_clock: Option<Instant>,
}

impl Rig {
    pub fn new() -> Self {
        scratch_root();
        let (shared, commands) = Shared::new();
        let params = Arc::new(DrumsortParams::default());
        let worker = Worker::start(Arc::clone(&shared), commands, Arc::clone(&params)).unwrap();
        let (rt, labeler, ends) = Realtime::new(RATE, BLOCK, &HitConfig::default());
        worker.activate(Activation { sample_rate: RATE, labeler, ends });
        Rig { shared, rt, params, worker, device_clock: Some(Instant::now()) }
    }

    /// The block settings `process()` would read from the default parameters.
    pub fn control(&self) -> BlockControl {
        BlockControl {
            onset: OnsetConfig::default(),
            passthrough: true,
            audition_gain: 1.0,
            notes: self.params.note_settings(self.rt.latency(), RATE as f32),
        }
    }

    /// One host block, in place: `left`/`right` hold the input and receive the output.
    pub fn process(&mut self, left: &mut [f32], right: &mut [f32], notes: &mut Vec<NoteOut>) {
        let ctl = self.control();
        let frames = left.len();
        match &mut self.device_clock {
            Some(clock) => {
                let now = *clock;
                *clock += Duration::from_secs_f64(frames as f64 / f64::from(RATE));
                self.rt.process_at(now, &mut [left, right], &ctl, |n| notes.push(n));
            }
            None => self.rt.process(&mut [left, right], &ctl, |n| notes.push(n)),
        }
    }

    /// One block of silence in; the output (the audition, if any) out.
    pub fn silent_block(&mut self) -> (Vec<f32>, Vec<f32>) {
        let (mut l, mut r) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
        self.process(&mut l, &mut r, &mut Vec::new());
        (l, r)
    }

    /// Runs silent blocks until the output is not silent (the audition started) and returns that
    /// first sounding block, or `None` after `timeout` (a bound for a hang, not a speed figure).
    pub fn wait_for_sound(&mut self, timeout: Duration) -> Option<(Vec<f32>, Vec<f32>)> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            let (l, r) = self.silent_block();
            if l.iter().any(|&x| x != 0.0) {
                return Some((l, r));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        None
    }
}

pub fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}
