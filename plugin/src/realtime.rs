//! Everything `process()` does, in one object the plugin, the tests and the benchmark share:
//! mix the input to mono, find hits and ship their windows to the worker, delay the pass-through
//! by the reported latency, mix in the auditioned sample, and send the notes of labelled hits at
//! `hit + latency`.
//!
//! Two timing modes, chosen per activation ([`Realtime::set_offline`]):
//! - real time (the default): `process()` never waits. A note whose hit the worker labels after
//!   the note was due goes out late, at the next block, and is counted.
//! - offline (the host renders faster than real time: a bounce, a freewheel export): after
//!   detecting, `process()` waits until the worker has labelled every window sent so far, so every
//!   note lands exactly at `hit + latency` and two bounces give the same MIDI.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use drumsort_core::hits::{HitConfig, HitDetector, HitLabeler};
use drumsort_core::onset::OnsetConfig;

use crate::audio::{self, AuditionPlayer, NoteOut, NoteScheduler, NoteSettings, WorkerEnds};
use crate::delay::DelayLine;

/// Time the hit labeller gets to classify a window, on top of one host block: part of the
/// reported latency, so notes are on time whenever the worker keeps up.
pub const CLASSIFY_MARGIN_S: f32 = 0.010;

/// Audio channels the pass-through delay covers: the plugin's only layout is stereo.
pub const CHANNELS: usize = 2;

/// How long an offline `process()` waits for the worker before it gives up on exact timing for
/// the rest of the activation (a worker that died or never started must not hang a bounce).
/// Labelling one block's windows takes milliseconds.
pub const OFFLINE_WAIT_LIMIT: Duration = Duration::from_secs(5);
/// How long an offline `process()` sleeps between looks at the worker's progress.
const OFFLINE_POLL: Duration = Duration::from_micros(100);

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
    /// One delay of `latency` samples per output channel, so the pass-through comes out as late
    /// as the notes and the host's delay compensation lines it up with the other tracks.
    delays: [DelayLine; CHANNELS],
    /// Windows the worker has finished with (labelled, or lost to an error), shared with it
    /// through [`WorkerEnds::handled`]; offline, `process()` waits for it to reach the
    /// detector's [`HitDetector::sent`].
    handled: Arc<AtomicU64>,
    /// Whether the host renders offline (set on activation from its process mode).
    offline: bool,
    /// Offline blocks that stopped waiting at [`OFFLINE_WAIT_LIMIT`]; after the first, the
    /// activation runs with real-time timing.
    offline_timeouts: u64,
}

impl Realtime {
    /// Builds the audio-thread state for `sample_rate` and blocks of at most `max_block` samples,
    /// and the worker's ends of its rings. Allocates.
    pub fn new(sample_rate: u32, max_block: usize, cfg: &HitConfig) -> (Self, HitLabeler, WorkerEnds) {
        let (detector, labeler) = HitDetector::new(sample_rate, cfg);
        let (player, scheduler, ends) = audio::rings();
        let margin = (CLASSIFY_MARGIN_S * sample_rate as f32) as usize;
        let latency = detector.latency_samples() + max_block + margin;
        let handled = Arc::clone(&ends.handled);
        let rt = Self {
            detector,
            player,
            scheduler,
            mono: vec![0.0; max_block.max(1)],
            latency: latency as u32,
            onset: cfg.onset,
            delays: std::array::from_fn(|_| DelayLine::new(latency)),
            handled,
            offline: false,
            offline_timeouts: 0,
        };
        (rt, labeler, ends)
    }

    /// Samples from a hit to its note, and from the input to the output: the lookahead (or the
    /// onset detector's delay), one host block and the classification margin.
    pub fn latency(&self) -> u32 {
        self.latency
    }

    /// Offline rendering (`true`): `process()` waits for the worker so every note is exact.
    /// Call on activation, from the host's process mode.
    pub fn set_offline(&mut self, offline: bool) {
        self.offline = offline;
    }

    /// Whether `process()` waits for the worker (offline rendering that has not timed out).
    pub fn is_offline(&self) -> bool {
        self.offline && self.offline_timeouts == 0
    }

    /// Offline blocks that gave up waiting for the worker (see [`OFFLINE_WAIT_LIMIT`]).
    pub fn offline_timeouts(&self) -> u64 {
        self.offline_timeouts
    }

    /// Forgets audio, pending onsets, the delayed pass-through and scheduled notes (transport
    /// jumps). Never allocates.
    pub fn reset(&mut self) {
        self.detector.reset();
        self.scheduler.clear();
        for delay in &mut self.delays {
            delay.clear();
        }
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
        if self.is_offline() {
            self.wait_for_labels();
        }
        // The delay runs with pass-through off too, so turning it back on plays no stale audio.
        for (i, c) in channels.iter_mut().enumerate() {
            match self.delays.get_mut(i) {
                Some(delay) if ctl.passthrough => delay.process(c),
                Some(delay) => {
                    delay.process(c);
                    c.fill(0.0);
                }
                None => c.fill(0.0),
            }
        }
        // Auditions are live: the user clicked now and hears it now, undelayed; they are not part
        // of the track, so the host's delay compensation has nothing to line them up with.
        if let [left, right, ..] = channels {
            self.player.process(left, right, ctl.audition_gain);
        }
        self.scheduler.process(block_start, len, &ctl.notes, &mut emit);
    }

    /// Offline only: waits until the worker has handled every window the detector sent, so their
    /// notes are in the scheduler's inbox before any of them is due. Sleeps; never allocates.
    fn wait_for_labels(&mut self) {
        let sent = self.detector.sent();
        if self.handled.load(Ordering::Acquire) >= sent {
            return;
        }
        let start = Instant::now();
        while self.handled.load(Ordering::Acquire) < sent {
            if start.elapsed() > OFFLINE_WAIT_LIMIT {
                self.offline_timeouts += 1;
                return;
            }
            std::thread::sleep(OFFLINE_POLL);
        }
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
