//! Everything `process()` does, in one object the plugin, the tests and the benchmark share:
//! mix the input to mono, find hits and ship their windows to the worker, delay the pass-through
//! by the reported latency, mix in the auditioned sample, and send the notes of labelled hits at
//! `hit + latency`.
//!
//! Two timing modes:
//! - real time (the default): `process()` never waits. A note whose hit the worker labels after
//!   the note was due goes out late, at the next block, and is counted.
//! - offline (a bounce, a freewheel export): after detecting, `process()` waits until the worker
//!   has labelled every window sent so far, so every note lands exactly at `hit + latency` and two
//!   bounces give the same MIDI. Offline is what the host announces on activation
//!   ([`Realtime::set_offline`]: CLAP's render mode, VST3's `setupProcessing`), or what the blocks'
//!   pace shows: some hosts announce an export only inside each VST3 `process()` call, which
//!   nice-plug does not pass on (Ardour 7 does so), so a host that delivers audio more than
//!   [`AHEAD_S`] plus two blocks ahead of the wall clock is rendering faster than real time, and
//!   `process()` then waits too, never longer than it is ahead. A real-time host cannot get that
//!   far ahead (its device clock paces it), so it never waits.

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
/// How far ahead of the wall clock (on top of two host blocks) a host must deliver audio before
/// `process()` treats it as rendering offline. Real-time hosts stay within about a block of the
/// clock; anticipative processing (Reaper) runs up to ~200 ms ahead, where a short wait only
/// spends part of that lead.
pub const AHEAD_S: f64 = 0.1;
/// Time constant with which the measured lead decays, seconds: an audio device's clock drifts from
/// the system's by tens of ppm, which must not add up to a lead over an hours-long session.
const AHEAD_LEAK_S: f64 = 10.0;

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
    /// How far ahead of the wall clock the host delivers audio, from the blocks' pace.
    pace: Pace,
    /// Blocks in which `process()` waited because the host ran ahead of real time.
    paced_waits: u64,
    /// The lead over the wall clock past which the host counts as rendering offline, seconds:
    /// [`AHEAD_S`] plus two maximum blocks.
    ahead_threshold: f64,
}

/// Measures how far ahead of the wall clock the host delivers audio: each block adds its
/// duration, each wall-clock interval between calls takes its length off, floored at zero and
/// leaking with [`AHEAD_LEAK_S`]. In real time it stays within about a block; in a freewheel
/// render it grows by nearly a block per call.
#[derive(Debug)]
struct Pace {
    sample_rate: f64,
    /// Lead over the wall clock, seconds.
    ahead_s: f64,
    /// When the previous block arrived (`None` before the first, or after a reset).
    last: Option<Instant>,
}

impl Pace {
    /// Accounts a block of `frames` arriving at `now`; returns the lead in seconds.
    fn block(&mut self, frames: usize, now: Instant) -> f64 {
        if let Some(last) = self.last {
            let wall = now.saturating_duration_since(last).as_secs_f64();
            self.ahead_s = (self.ahead_s * (1.0 - wall / AHEAD_LEAK_S).max(0.0) - wall).max(0.0);
        }
        self.ahead_s += frames as f64 / self.sample_rate;
        self.last = Some(now);
        self.ahead_s
    }
}

impl Realtime {
    /// Builds the audio-thread state for `sample_rate` and blocks of at most `max_block` samples,
    /// and the worker's ends of its rings. Allocates.
    pub fn new(sample_rate: u32, max_block: usize, cfg: &HitConfig) -> (Self, HitLabeler, WorkerEnds) {
        let (detector, labeler) = HitDetector::new(sample_rate, cfg);
        let (player, scheduler, ends) = audio::rings();
        let ahead_threshold = AHEAD_S + 2.0 * max_block as f64 / f64::from(sample_rate.max(1));
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
            pace: Pace { sample_rate: f64::from(sample_rate.max(1)), ahead_s: 0.0, last: None },
            paced_waits: 0,
            ahead_threshold,
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
    #[cfg(feature = "testing")]
    pub fn offline_timeouts(&self) -> u64 {
        self.offline_timeouts
    }

    /// Blocks in which `process()` waited for the worker because the host delivered audio far
    /// ahead of the wall clock (an offline render it did not announce); 0 in real time.
    #[cfg(feature = "testing")]
    pub fn paced_waits(&self) -> u64 {
        self.paced_waits
    }

    /// Forgets audio, pending onsets, the delayed pass-through and scheduled notes (transport
    /// jumps). Never allocates.
    pub fn reset(&mut self) {
        self.detector.reset();
        self.scheduler.clear();
        self.pace.last = None;
        self.pace.ahead_s = 0.0;
        for delay in &mut self.delays {
            delay.clear();
        }
    }

    /// Processes one block in place: `channels` are the host's output buffers holding the input.
    /// Blocks longer than `max_block` are processed in pieces. Note events go to `emit` with
    /// timings inside this block.
    pub fn process(&mut self, channels: &mut [&mut [f32]], ctl: &BlockControl, emit: impl FnMut(NoteOut)) {
        self.process_at(Instant::now(), channels, ctl, emit);
    }

    /// [`Self::process`] for a block that arrives at `now` on the host's clock rather than the
    /// wall clock: the pace that tells a real-time host from a fast render is read from `now`.
    /// Tests and benchmarks feed blocks far faster than real time and play a real-time host by
    /// passing a simulated device clock (one block duration per block), so they check what the
    /// real-time mode does without depending on the machine's speed.
    pub fn process_at(
        &mut self,
        now: Instant,
        channels: &mut [&mut [f32]],
        ctl: &BlockControl,
        mut emit: impl FnMut(NoteOut),
    ) {
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
        let ahead = self.pace.block(len, now);
        if self.is_offline() {
            self.wait_for_labels(OFFLINE_WAIT_LIMIT);
        } else if ahead > self.ahead_threshold && self.offline_timeouts == 0 {
            // Never longer than the host is ahead beyond the threshold: the lead is audio it has
            // buffered, so this cannot make it late.
            let budget = Duration::from_secs_f64(ahead - self.ahead_threshold);
            if self.wait_for_labels(budget) {
                self.paced_waits += 1;
            }
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

    /// Waits, for at most `limit`, until the worker has handled every window the detector sent,
    /// so their notes are in the scheduler's inbox before any of them is due. Returns whether it
    /// had to wait. At [`OFFLINE_WAIT_LIMIT`] the worker is taken for dead: no more waiting in
    /// this activation. Sleeps; never allocates.
    fn wait_for_labels(&mut self, limit: Duration) -> bool {
        let sent = self.detector.sent();
        if self.handled.load(Ordering::Acquire) >= sent {
            return false;
        }
        let start = Instant::now();
        while self.handled.load(Ordering::Acquire) < sent {
            let waited = start.elapsed();
            if waited >= limit {
                if waited >= OFFLINE_WAIT_LIMIT {
                    self.offline_timeouts += 1;
                }
                break;
            }
            std::thread::sleep(OFFLINE_POLL);
        }
        true
    }

    /// Note-ons that went out late because the worker answered after their time.
    pub fn late_notes(&self) -> u64 {
        self.scheduler.late()
    }

    /// Hits dropped because the ring to the worker was full.
    #[cfg(feature = "testing")]
    pub fn dropped_hits(&self) -> u64 {
        self.detector.dropped()
    }
}
