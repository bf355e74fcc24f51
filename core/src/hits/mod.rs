//! Labelling the hits of a drum track as it plays: the audio-thread side ([`HitDetector`]) finds
//! onsets and ships a fixed-length window of audio per hit through a lock-free ring; the worker
//! side ([`HitLabeler`]) runs the classifier on those windows and turns them into [`Hit`]s
//! (classes, confidences, velocity).
//!
//! ```text
//! audio thread: HitDetector::process(block) --rtrb rings, fixed capacity--> worker: HitLabeler
//! ```
//!
//! A window starts [`PRE_ROLL_S`] before the onset (the decoder keeps the same pre-roll on the
//! one-shots the model learnt from) and runs `lookahead` past it, with [`CONTEXT_S`] of the audio
//! before it travelling along (the labeller takes what was already ringing out of the hit before
//! the model hears it). A lookahead shorter than the onset detector's own worst-case delay
//! ([`OnsetDetector::max_delay`], about 45-49 ms) would not bring any note earlier, since the
//! latency is the longer of the two, so the window then runs to that delay instead (unless
//! [`HitConfig::exact_lookahead`]). It can only be sent once the lookahead has been heard: a plugin reports
//! [`HitDetector::latency_samples`] to the host and places the note at the hit's own sample
//! ([`Hit::sample`]) plus that latency.
//!
//! [`label_track`] runs exactly this path over a whole file in host-sized blocks (the CLI's
//! `drumsort hits` and `cargo xtask eval-hits`).

mod labeler;
mod track;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub use labeler::{drum_classes, HitLabeler};
pub use track::{label_track, score_track, ScoredHit};

use crate::class::DrumClass;
use crate::dsp::peak;
use crate::onset::{OnsetConfig, OnsetDetector};

/// Shortest lookahead: 20 ms is the shortest crop the model was trained on, with some margin.
pub const MIN_LOOKAHEAD_S: f32 = 0.02;
/// Longest lookahead: beyond 100 ms the next hit is often inside the window.
pub const MAX_LOOKAHEAD_S: f32 = 0.1;
/// Audio kept before the onset in each window, seconds (the decoder's default pre-roll).
pub const PRE_ROLL_S: f32 = 0.005;
/// Audio before each window's pre-roll that travels with it, seconds: what was ringing when the
/// hit was struck, which [`prepare_hit_features`](crate::classifier::prepare_hit_features) takes out of the hit. At least one FFT frame of
/// the model's analysis at any rate.
pub const CONTEXT_S: f32 = 0.03;
/// Hits that can wait in the ring for the worker by default: over a second of the densest
/// playing at 50 ms between hits.
pub const DEFAULT_CAPACITY: usize = 32;
/// Onsets found but still waiting for their lookahead. Onsets are at least a few ms apart and the
/// lookahead is at most 100 ms.
const MAX_PENDING: usize = 32;

/// Settings of the hit path. Changing `lookahead_s` changes the latency, so it needs a new
/// [`HitDetector`] (in a plugin: on `activate()`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HitConfig {
    /// Audio after the onset the classifier hears, seconds, clamped to
    /// [`MIN_LOOKAHEAD_S`]..=[`MAX_LOOKAHEAD_S`]. Longer is more accurate and later.
    pub lookahead_s: f32,
    /// Onset detector settings (sensitivity, minimum interval).
    pub onset: OnsetConfig,
    /// Windows the ring holds before hits are dropped.
    pub capacity: usize,
    /// Cut every window to exactly `lookahead_s`, even below the onset detector's worst-case
    /// delay, where a longer window costs no latency: for measuring the model on short windows
    /// (`eval-hits --exact-lookahead`), never what a user wants.
    pub exact_lookahead: bool,
}

impl Default for HitConfig {
    fn default() -> Self {
        Self { lookahead_s: 0.05, onset: OnsetConfig::default(), capacity: DEFAULT_CAPACITY, exact_lookahead: false }
    }
}

/// What travels through the header ring; the window's samples travel through the audio ring.
#[derive(Clone, Copy, Debug, Default)]
struct Header {
    sample: u64,
    peak: f32,
    strength: f32,
}

/// Audio-thread side: onset detection, a ring of recent audio and the producer ends of the rings.
/// Everything is allocated in [`HitDetector::new`]; [`HitDetector::process`] never allocates,
/// locks or blocks.
#[derive(Debug)]
pub struct HitDetector {
    onset: OnsetDetector,
    /// Window length (context, pre-roll and lookahead) and the part of it before the onset,
    /// samples.
    window_len: usize,
    before_onset: usize,
    lookahead: usize,
    /// Recent input, indexed by absolute sample modulo its power-of-two length: long enough to
    /// hold a window whose onset was reported [`OnsetDetector::max_delay`] late.
    audio: Vec<f32>,
    /// Samples consumed so far.
    written: u64,
    /// Onsets `(sample, strength)` waiting for their lookahead, oldest first: a ring of
    /// [`MAX_PENDING`] slots starting at `pending_head`.
    pending: [(u64, f32); MAX_PENDING],
    pending_head: usize,
    pending_len: usize,
    /// A window being assembled (the audio ring may wrap inside it).
    staging: Vec<f32>,
    headers: rtrb::Producer<Header>,
    samples_out: rtrb::Producer<f32>,
    /// Hits lost because the ring was full (or, never in practice, too many onsets waited at
    /// once). Shared with the labeler and anyone who displays it.
    dropped: Arc<AtomicU64>,
    /// Windows pushed to the labeler since construction (never reset): an offline renderer
    /// waits until the labeler has handled this many.
    sent: u64,
}

impl HitDetector {
    /// Builds the detector for `sample_rate` and the labeler that consumes its windows, with
    /// rings for `cfg.capacity` windows. Allocates: call it off the audio thread.
    ///
    /// # Panics
    /// If `sample_rate` is below 8 kHz (see [`OnsetDetector::new`]).
    pub fn new(sample_rate: u32, cfg: &HitConfig) -> (Self, HitLabeler) {
        let onset = OnsetDetector::new(sample_rate, &cfg.onset);
        let secs = |s: f32| (s * sample_rate as f32).round() as usize;
        let asked = secs(cfg.lookahead_s.clamp(MIN_LOOKAHEAD_S, MAX_LOOKAHEAD_S));
        // The latency is the longer of the lookahead and the detector's delay (see
        // `latency_samples`): up to that delay, more audio makes no note later.
        let lookahead = if cfg.exact_lookahead { asked } else { asked.max(onset.max_delay()) };
        let pre_roll = secs(PRE_ROLL_S);
        let context = secs(CONTEXT_S);
        let window_len = context + pre_roll + lookahead;
        let capacity = cfg.capacity.max(1);
        let history = (window_len + onset.max_delay() + onset.hop() + 64).next_power_of_two();
        let (headers, headers_in) = rtrb::RingBuffer::new(capacity);
        let (samples_out, samples_in) = rtrb::RingBuffer::new(capacity * window_len);
        let dropped = Arc::new(AtomicU64::new(0));
        let detector = Self {
            onset,
            window_len,
            before_onset: context + pre_roll,
            lookahead,
            audio: vec![0.0; history],
            written: 0,
            pending: [(0, 0.0); MAX_PENDING],
            pending_head: 0,
            pending_len: 0,
            staging: vec![0.0; window_len],
            headers,
            samples_out,
            dropped: Arc::clone(&dropped),
            sent: 0,
        };
        let labeler = HitLabeler {
            headers: headers_in,
            samples_in,
            sample_rate,
            window_len,
            pre_roll,
            context,
            dropped,
            velocity: VelocityCurve::default(),
        };
        (detector, labeler)
    }

    /// Feeds one host block (any length). Onsets are found, and each hit's window is sent once
    /// its lookahead is in; if the ring is full the hit is counted in [`Self::dropped`] instead.
    /// Never allocates, locks or blocks.
    pub fn process(&mut self, block: &[f32]) {
        let hop = self.onset.hop();
        for chunk in block.chunks(hop) {
            let mask = self.audio.len() - 1;
            for (i, &x) in chunk.iter().enumerate() {
                self.audio[(self.written as usize + i) & mask] = if x.is_finite() { x } else { 0.0 };
            }
            self.written += chunk.len() as u64;
            let (pending, head, len, dropped) =
                (&mut self.pending, self.pending_head, &mut self.pending_len, &self.dropped);
            self.onset.process(chunk, |sample, strength| {
                if *len < MAX_PENDING {
                    pending[(head + *len) % MAX_PENDING] = (sample, strength);
                    *len += 1;
                } else {
                    dropped.fetch_add(1, Ordering::Relaxed);
                }
            });
            while self.pending_len > 0 {
                let (sample, strength) = self.pending[self.pending_head];
                if sample + self.lookahead as u64 > self.written {
                    break;
                }
                self.pending_head = (self.pending_head + 1) % MAX_PENDING;
                self.pending_len -= 1;
                self.send(sample, strength);
            }
        }
    }

    /// Copies the window of the onset at `sample` out of the audio ring and pushes it.
    fn send(&mut self, sample: u64, strength: f32) {
        let before = self.before_onset as i64;
        let start = sample as i64 - before;
        let oldest = self.written.saturating_sub(self.audio.len() as u64) as i64;
        if start + before < oldest || self.headers.slots() == 0 || self.samples_out.slots() < self.window_len {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mask = self.audio.len() - 1;
        for (i, s) in self.staging.iter_mut().enumerate() {
            let at = start + i as i64;
            // Before the first sample (or already overwritten): silence.
            *s = if at < oldest.max(0) { 0.0 } else { self.audio[at as usize & mask] };
        }
        let peak = peak(&self.staging[self.before_onset..]);
        // Samples first, header second: a header the worker sees always has its audio in place.
        if self.samples_out.push_entire_slice(&self.staging).is_err()
            || self.headers.push(Header { sample, peak, strength }).is_err()
        {
            // Unreachable after the slot checks above (this is the only producer).
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.sent += 1;
    }

    /// Windows sent to the labeler so far (dropped hits not included); [`Self::reset`] keeps it.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Hits lost so far because the worker fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Samples consumed so far (the absolute index of the next input sample).
    pub fn position(&self) -> u64 {
        self.written
    }

    /// The lookahead in samples: a window is complete this long after its onset.
    pub fn lookahead_samples(&self) -> usize {
        self.lookahead
    }

    /// The latency a plugin reports so that notes placed at `hit.sample + latency` line up with
    /// the delay-compensated audio: the lookahead, or the onset detector's worst-case delay if
    /// that is longer. Classification time on the worker comes on top; a plugin adds a margin
    /// for it.
    pub fn latency_samples(&self) -> usize {
        self.lookahead.max(self.onset.max_delay())
    }

    /// Changes sensitivity and minimum interval (parameter changes) without allocating.
    pub fn set_onset_config(&mut self, cfg: &OnsetConfig) {
        self.onset.set_config(cfg);
    }

    /// Forgets all audio and waiting onsets and restarts sample counting at 0 (transport jump,
    /// plugin reset). Windows already in the ring stay there. Never allocates.
    pub fn reset(&mut self) {
        self.onset.reset();
        self.audio.fill(0.0);
        self.written = 0;
        self.pending_head = 0;
        self.pending_len = 0;
    }
}

/// How a hit's peak level (linear, 1.0 = full scale) maps to MIDI velocity 1..=127.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VelocityCurve {
    /// Peak level (dBFS) that maps to velocity 1; 0 dBFS maps to 127.
    pub floor_db: f32,
    /// Shape between them: 1 is linear in dB, above 1 favours soft velocities, below 1 loud ones.
    pub exponent: f32,
}

impl Default for VelocityCurve {
    fn default() -> Self {
        Self { floor_db: -40.0, exponent: 1.0 }
    }
}

impl VelocityCurve {
    /// The velocity of a hit whose window peaked at `peak`.
    pub fn velocity(&self, peak: f32) -> u8 {
        let db = 20.0 * peak.max(1e-9).log10();
        let x = ((db - self.floor_db) / -self.floor_db.min(-1.0)).clamp(0.0, 1.0);
        (1.0 + 126.0 * x.powf(self.exponent.max(0.01))).round() as u8
    }
}

/// One hit's audio as the worker receives it.
#[derive(Clone, Debug, PartialEq)]
pub struct HitWindow {
    /// Absolute sample of the onset (same count as [`HitDetector::position`]).
    pub sample: u64,
    /// Peak |x| of the audio after the onset (in the lookahead).
    pub peak: f32,
    /// The onset detector's strength of the onset.
    pub strength: f32,
    /// [`CONTEXT_S`], then [`PRE_ROLL_S`] before the onset, then the lookahead, at the
    /// detector's sample rate.
    pub samples: Vec<f32>,
}

/// A labelled hit.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Hit {
    /// Absolute sample of the hit itself (not delayed by the latency).
    pub sample: u64,
    /// The drum classes heard, best first, with their scores: several for simultaneous hits
    /// (kick + hat), at least one, never `Other`.
    pub classes: Vec<(DrumClass, f32)>,
    /// MIDI velocity from the hit's peak level.
    pub velocity: u8,
}

impl Hit {
    /// The hit's time in seconds at `sample_rate`.
    pub fn seconds(&self, sample_rate: u32) -> f64 {
        self.sample as f64 / f64::from(sample_rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::{Classifier, Prediction, Thresholds};
    use crate::onset::alloc_counter;
    use crate::onset::tests::{track, SR};
    use crate::synth::Demo;

    /// A randomly initialised network: these tests check the path, not the labels (the model in
    /// `assets/model/` may be a placeholder).
    fn classifier() -> Classifier {
        crate::classifier::untrained("hits-test")
    }

    fn pattern() -> (Vec<f32>, Vec<u64>) {
        let mut ev = Vec::new();
        for i in 0..16 {
            let t = 0.1 + i as f32 * 0.25;
            ev.push((t, Demo::ClosedHat, if i % 2 == 0 { 0.6 } else { 0.3 }));
            match i % 4 {
                0 => ev.push((t, Demo::Kick, 0.9)),
                2 => ev.push((t, Demo::Snare, 0.8)),
                _ => {}
            }
        }
        track(&ev, 4.5)
    }

    #[test]
    fn offline_driver_finds_every_hit_at_its_own_time() {
        let (x, truth) = pattern();
        let c = classifier();
        for (block, lookahead_s) in [(64, 0.02), (512, 0.05), (4096, 0.1)] {
            let hits = label_track(&c, &x, SR, block, &HitConfig { lookahead_s, ..HitConfig::default() }).unwrap();
            assert_eq!(hits.len(), truth.len(), "block {block}");
            for (h, &t) in hits.iter().zip(&truth) {
                let err_ms = (h.sample as f64 - t as f64).abs() * 1000.0 / f64::from(SR);
                assert!(err_ms < 5.0, "block {block}: hit at {} vs {t}", h.sample);
                assert!(!h.classes.is_empty() && h.classes.iter().all(|(c, s)| c.is_drum() && (0.0..=1.0).contains(s)));
                assert!((1..=127).contains(&h.velocity));
            }
            // Loud downbeats (kick or snare with the hat) are louder than the soft off-beat hats.
            assert!(hits[0].velocity > hits[1].velocity, "{} vs {}", hits[0].velocity, hits[1].velocity);
        }
    }

    #[test]
    fn a_track_cut_off_under_a_cymbal_does_not_end_with_a_hit() {
        let (x, _) = track(&[(0.1, Demo::Crash, 0.9)], 1.0);
        let hits = label_track(&classifier(), &x, SR, 512, &HitConfig::default()).unwrap();
        assert_eq!(hits.iter().map(|h| h.sample).collect::<Vec<_>>(), vec![4410]);
    }

    #[test]
    fn windows_hold_the_audio_from_just_before_the_onset() {
        let (x, truth) = pattern();
        let (mut det, mut lab) = HitDetector::new(SR, &HitConfig { capacity: 64, ..HitConfig::default() });
        for b in x.chunks(100) {
            det.process(b);
        }
        let mut windows = Vec::new();
        lab.pop_all(&mut windows);
        assert_eq!(windows.len(), truth.len());
        for w in &windows {
            assert_eq!(w.samples.len(), lab.context() + lab.pre_roll() + det.lookahead_samples());
            let start = w.sample as usize - lab.pre_roll() - lab.context();
            assert_eq!(&w.samples[..], &x[start..start + w.samples.len()]);
            assert_eq!(w.peak, peak(&x[w.sample as usize..start + w.samples.len()]));
        }
    }

    #[test]
    fn a_full_ring_counts_drops_and_never_blocks() {
        let (x, truth) = pattern();
        let (mut det, mut lab) = HitDetector::new(SR, &HitConfig { capacity: 3, ..HitConfig::default() });
        // Nobody reads: the first three hits fit, the rest are dropped, and process keeps going.
        for b in x.chunks(256) {
            det.process(b);
        }
        assert_eq!(det.dropped() as usize, truth.len() - 3);
        let mut windows = Vec::new();
        lab.pop_all(&mut windows);
        assert_eq!(windows.len(), 3);
        assert_eq!(lab.dropped(), det.dropped());
        // Once drained, new hits get through again.
        det.reset();
        for b in x[..SR as usize].chunks(256) {
            det.process(b);
        }
        lab.pop_all(&mut windows);
        assert!(windows.len() > 3);
    }

    #[test]
    fn process_never_allocates_over_thousands_of_blocks() {
        let (x, truth) = pattern();
        let (mut det, mut lab) = HitDetector::new(SR, &HitConfig::default());
        let ((), allocs) = alloc_counter::count(|| {
            // 64-sample blocks, as small as hosts use: 2800 blocks per pass.
            for _ in 0..2 {
                det.reset();
                for b in x.chunks(64) {
                    det.process(b);
                }
            }
        });
        assert_eq!(allocs, 0);
        let mut windows = Vec::new();
        lab.pop_all(&mut windows);
        assert_eq!(windows.len() + det.dropped() as usize, 2 * truth.len(), "the counted run must send real hits");
    }

    #[test]
    fn other_sample_rates_are_resampled_for_the_model() {
        let sr = 48_000;
        let mut x = vec![0.0f32; sr as usize];
        for (t, d) in [(0.1, Demo::Kick), (0.5, Demo::Snare)] {
            let at = (t * sr as f32) as usize;
            for (o, v) in x.iter_mut().skip(at).zip(d.render(sr, 3)) {
                *o += v;
            }
        }
        let hits = label_track(&classifier(), &x, sr, 480, &HitConfig::default()).unwrap();
        assert_eq!(hits.len(), 2);
        assert!((hits[1].seconds(sr) - 0.5).abs() < 0.005, "{}", hits[1].seconds(sr));
    }

    #[test]
    fn velocity_curve_maps_levels_to_midi_range() {
        let v = VelocityCurve::default();
        assert_eq!(v.velocity(1.0), 127);
        assert_eq!(v.velocity(2.0), 127);
        assert_eq!(v.velocity(0.01), 1); // -40 dBFS
        assert_eq!(v.velocity(0.0), 1);
        assert_eq!(v.velocity(0.1), 64); // -20 dBFS, halfway
        let soft = VelocityCurve { exponent: 2.0, ..v };
        assert!(soft.velocity(0.1) < v.velocity(0.1));
    }

    #[test]
    fn fallback_is_the_best_drum_never_other() {
        let mut scores = [0.01; DrumClass::COUNT];
        scores[DrumClass::Other.index()] = 0.9;
        scores[DrumClass::Tom.index()] = 0.2;
        let p = Prediction { class: DrumClass::Other, confidence: 0.9, scores, embedding: vec![] };
        let flat = Thresholds::new(0.3, 0.5);
        assert_eq!(drum_classes(&p, &flat), vec![(DrumClass::Tom, 0.2)]);
        scores[DrumClass::Kick.index()] = 0.8;
        scores[DrumClass::ClosedHat.index()] = 0.6;
        let p = Prediction { scores, ..p };
        assert_eq!(drum_classes(&p, &flat), vec![(DrumClass::Kick, 0.8), (DrumClass::ClosedHat, 0.6)]);
        // Per-class hit thresholds: a lower snare threshold names the snare under the kick, a
        // higher hat threshold drops the hat.
        scores[DrumClass::Snare.index()] = 0.3;
        let p = Prediction { scores, ..p };
        let tuned = Thresholds {
            hits: [(DrumClass::Snare, 0.25), (DrumClass::ClosedHat, 0.7)].into_iter().collect(),
            ..flat.clone()
        };
        assert_eq!(drum_classes(&p, &tuned), vec![(DrumClass::Kick, 0.8), (DrumClass::Snare, 0.3)]);
        assert_eq!(tuned.hit(DrumClass::Kick), 0.5, "an unlisted class uses multi_label");
        let json = serde_json::to_string(&tuned).unwrap();
        assert!(json.contains(r#""hits":{"snare":0.25,"closed_hat":0.7}"#), "{json}");
        assert_eq!(serde_json::from_str::<Thresholds>(&json).unwrap(), tuned);
        assert_eq!(serde_json::from_str::<Thresholds>(r#"{"reject_other":0.3,"multi_label":0.5}"#).unwrap(), flat);
        // The floor: a best drum under it means the onset was not a hit.
        let quiet = Prediction { scores: [0.01; DrumClass::COUNT], ..p.clone() };
        let mut scores = quiet.scores;
        scores[DrumClass::Tom.index()] = 0.2;
        let quiet = Prediction { scores, ..quiet };
        let floored = Thresholds { hit_floor: 0.25, ..flat.clone() };
        assert_eq!(drum_classes(&quiet, &floored), vec![]);
        assert_eq!(drum_classes(&quiet, &Thresholds { hit_floor: 0.2, ..flat.clone() }), vec![(DrumClass::Tom, 0.2)]);
        assert_eq!(drum_classes(&p, &floored), drum_classes(&p, &flat), "a best drum above the floor: as before");
        // The floor holds even for a class named by a threshold below it.
        let low_tom = Thresholds { hits: [(DrumClass::Tom, 0.1)].into_iter().collect(), ..floored.clone() };
        assert_eq!(drum_classes(&quiet, &low_tom), vec![]);
        assert!(!serde_json::to_string(&flat).unwrap().contains("hit_floor"), "0 is not written");
    }

    #[test]
    fn a_class_with_a_high_threshold_needs_strong_evidence_even_as_the_fallback() {
        let mut scores = [0.01; DrumClass::COUNT];
        scores[DrumClass::Shaker.index()] = 0.4;
        scores[DrumClass::ClosedHat.index()] = 0.35;
        let p = Prediction { class: DrumClass::Shaker, confidence: 0.4, scores, embedding: vec![] };
        let flat = Thresholds::new(0.3, 0.5);
        assert_eq!(drum_classes(&p, &flat), vec![(DrumClass::Shaker, 0.4)], "equal thresholds: the higher score");
        let strict = Thresholds { hits: [(DrumClass::Shaker, 0.7)].into_iter().collect(), ..flat.clone() };
        assert_eq!(drum_classes(&p, &strict), vec![(DrumClass::ClosedHat, 0.35)], "0.3 short of the shaker's 0.7");
        scores[DrumClass::Shaker.index()] = 0.75;
        let sure = Prediction { scores, ..p };
        assert_eq!(drum_classes(&sure, &strict), vec![(DrumClass::Shaker, 0.75)]);
    }

    #[test]
    fn warming_up_runs_the_model_on_a_window_of_the_labellers_length() {
        let c = classifier();
        for lookahead_s in [0.02, 0.1] {
            let (_, labeler) = HitDetector::new(SR, &HitConfig { lookahead_s, ..HitConfig::default() });
            labeler.warm_up(&c).unwrap();
        }
    }

    #[test]
    fn onsets_under_the_floor_are_left_out_of_the_hits() {
        let (audio, _) = pattern();
        let cfg = HitConfig::default();
        let mut c = classifier();
        let all = label_track(&c, &audio, SR, 256, &cfg).unwrap();
        assert!(!all.is_empty());
        // Every score is under 1 (a sigmoid): a floor of 1 leaves no hit, one of 0 keeps them all.
        let flat = c.meta().thresholds.clone();
        c.set_thresholds(Thresholds { hit_floor: 1.0, ..flat.clone() });
        assert!(label_track(&c, &audio, SR, 256, &cfg).unwrap().is_empty());
        c.set_thresholds(Thresholds { hit_floor: 0.0, ..flat });
        assert_eq!(label_track(&c, &audio, SR, 256, &cfg).unwrap(), all);
    }
}
