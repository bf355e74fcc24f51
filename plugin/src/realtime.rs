//! Everything `process()` does, in one object the plugin, the tests and the benchmark share:
//! mix the input to mono, find hits and ship their windows to the worker, mix in the auditioned
//! sample, and send the notes of labelled hits at `hit + latency`.

use drumsort_core::hits::{HitConfig, HitDetector, HitLabeler};
use drumsort_core::onset::OnsetConfig;

use crate::audio::{self, AuditionPlayer, NoteOut, NoteScheduler, NoteSettings, WorkerEnds};

/// Time the hit labeller gets to classify a window, on top of one host block: part of the
/// reported latency, so notes are on time whenever the worker keeps up.
pub const CLASSIFY_MARGIN_S: f32 = 0.010;

/// What one block needs from the parameters, read by the plugin at the top of `process()`.
#[derive(Clone, Copy, Debug)]
pub struct BlockControl {
    pub onset: OnsetConfig,
    /// Whether the input reaches the output.
    pub passthrough: bool,
    /// Linear gain of the auditioned sample.
    pub audition_gain: f32,
    pub notes: NoteSettings,
}

/// The audio thread's state, allocated in [`Realtime::new`] (on `activate()`); [`Realtime::process`]
/// never allocates, frees, locks or waits.
#[derive(Debug)]
pub struct Realtime {
    detector: HitDetector,
    player: AuditionPlayer,
    scheduler: NoteScheduler,
    /// Mono mix of the input, `max_block` long.
    mono: Vec<f32>,
    /// The latency reported to the host, samples.
    latency: u32,
    /// The onset settings last given to the detector, so changes are applied only on change.
    onset: OnsetConfig,
}

impl Realtime {
    /// Builds the audio-thread state for `sample_rate` and blocks of at most `max_block` samples,
    /// and the worker's ends of its rings. Allocates.
    pub fn new(sample_rate: u32, max_block: usize, cfg: &HitConfig) -> (Self, HitLabeler, WorkerEnds) {
        let (detector, labeler) = HitDetector::new(sample_rate, cfg);
        let (player, scheduler, ends) = audio::rings();
        let margin = (CLASSIFY_MARGIN_S * sample_rate as f32) as usize;
        let latency = (detector.latency_samples() + max_block + margin) as u32;
        let rt = Self { detector, player, scheduler, mono: vec![0.0; max_block.max(1)], latency, onset: cfg.onset };
        (rt, labeler, ends)
    }

    /// Samples from a hit to its note: the lookahead (or the onset detector's delay), one host
    /// block and the classification margin.
    pub fn latency(&self) -> u32 {
        self.latency
    }

    /// Forgets audio, pending onsets and scheduled notes (transport jumps). Never allocates.
    pub fn reset(&mut self) {
        self.detector.reset();
        self.scheduler.clear();
    }

    /// Processes one block in place: `channels` are the host's output buffers holding the input.
    /// Blocks longer than `max_block` are processed in pieces. Note events go to `emit` with
    /// timings inside this block.
    pub fn process(&mut self, channels: &mut [&mut [f32]], ctl: &BlockControl, mut emit: impl FnMut(NoteOut)) {
        if ctl.onset != self.onset {
            self.detector.set_onset_config(&ctl.onset);
            self.onset = ctl.onset;
        }
        let len = channels.first().map_or(0, |c| c.len());
        let block_start = self.detector.position();
        let scale = 1.0 / channels.len().max(1) as f32;
        let mut done = 0;
        while done < len {
            let n = (len - done).min(self.mono.len());
            let mono = &mut self.mono[..n];
            for (i, m) in mono.iter_mut().enumerate() {
                *m = channels.iter().map(|c| c[done + i]).sum::<f32>() * scale;
            }
            self.detector.process(mono);
            done += n;
        }
        if !ctl.passthrough {
            for c in channels.iter_mut() {
                c.fill(0.0);
            }
        }
        if let [left, right, ..] = channels {
            self.player.process(left, right, ctl.audition_gain);
        }
        self.scheduler.process(block_start, len, &ctl.notes, &mut emit);
    }

    /// Note-ons that went out late because the worker answered after their time.
    pub fn late_notes(&self) -> u64 {
        self.scheduler.late()
    }

    /// Hits dropped because the ring to the worker was full.
    pub fn dropped_hits(&self) -> u64 {
        self.detector.dropped()
    }
}
