//! Drum-hit onset detection that runs on the audio thread: a log-mel spectral-flux detection
//! function, an adaptive threshold, a minimum inter-onset time and sample-accurate refinement.
//!
//! How it works, and why:
//! - Flux: [`MelStream`] gives log energies in `N_BANDS` mel bands every [`OnsetDetector::hop`]
//!   samples (about 3 ms, 23 ms frames). The detection function is the mean over bands of each
//!   band's rise above the maximum of its neighbours in the frames `LAG` and `LAG + 1` hops
//!   earlier (SuperFlux), less a small tolerance and capped per band. Log energies make a rise a
//!   level ratio, so a ghost note counts as much as a loud hit; the maximum over neighbours and
//!   frames keeps the flicker of a cymbal wash or a noisy tail from looking like a new hit; the
//!   cap means a hit must raise many bands, not two leaking ones. Summing all bands makes a kick
//!   and a hat struck together one peak.
//! - Threshold: a frame is a candidate when its flux is the largest from `PRE_FRAMES` before to
//!   `POST_FRAMES` after it and exceeds the median of the previous `MEDIAN_FRAMES` frames
//!   (silence before the stream) plus a margin set by the sensitivity.
//! - Timing: a frame is far coarser than a hit. Inside the span the candidate frame allows, the
//!   onset is the sample where the power after it rises most over the power before it: the full
//!   signal over 10 ms windows (not fooled by the phase of a kick's low tone) plus its first
//!   difference over 2.5 ms windows (sharp in time, and it sees a hat over a kick's tail), taking
//!   the earliest rise nearly as strong as the strongest (a clap's first burst, not its loudest).
//!   On the development set the median error is under a millisecond.
//! - A minimum inter-onset time drops the second peak one hit can make.
//!
//! The constants were tuned on `cargo xtask make-performances --seed 7` (not the seed the figures
//! are reported on). [`OnsetDetector::new`] allocates everything; [`OnsetDetector::process`]
//! never allocates, locks or blocks.

use std::sync::Arc;

use crate::mel::{MelConfig, MelSpectrogram, MelStream};

/// Mel bands of the flux: enough to separate a kick's lows from a hat's highs, few enough that
/// each band averages many FFT bins (steadier log energies in noise).
const N_BANDS: usize = 32;
/// Hops back to the reference frames (about 17 ms): a rise is measured against the sound before
/// the hit, not against frames that already overlap it.
const LAG: usize = 6;
/// Reference frames (from `LAG` back) whose maximum a band must rise above.
const REF_FRAMES: usize = 2;
/// Neighbouring bands on each side in the reference maximum.
const BAND_SPREAD: usize = 1;
/// Rise per band ignored as flicker, nepers.
const TOLERANCE: f32 = 0.05;
/// Largest rise one band may add, nepers: a few bands flickering by a lot (leakage of a low
/// tone, filtered noise) do not make a hit; a hit raises many bands.
const RISE_CAP: f32 = 1.0;
/// A candidate must be the flux maximum over this many frames before it...
const PRE_FRAMES: usize = 3;
/// ...and this many after it (each adds one hop of detection delay).
const POST_FRAMES: usize = 2;
/// Frames in the running median of the adaptive threshold (about 90 ms).
const MEDIAN_FRAMES: usize = 32;
/// Length of the short (first-difference) energy windows of the refinement, seconds.
const JUMP_S: f32 = 0.0025;
/// A rise this fraction of the largest one (in log ratio) in the refinement region wins if it
/// comes first.
const EARLIEST_FRACTION: f64 = 0.7;
/// The full-band energy windows of the refinement are this many times `JUMP_S` long (10 ms):
/// about half a period of a kick's fundamental.
const WIDE: usize = 4;
/// Default of [`OnsetConfig::gate_dbfs`]: converter noise and dither in silence never trigger.
/// It is also the lowest gate that does anything: the bands' log energies are floored at
/// `FLOOR_DB`, so nothing quieter makes an onset anyway.
pub const GATE_DBFS: f32 = -60.0;
/// Range of [`OnsetConfig::gate_dbfs`], dBFS: from the detector's own floor up.
pub const GATE_RANGE_DBFS: (f32, f32) = (GATE_DBFS, -12.0);

/// A gate typed on a command line, in dBFS, checked against [`GATE_RANGE_DBFS`].
pub fn parse_gate_dbfs(s: &str) -> Result<f32, String> {
    let v: f32 = s.parse().map_err(|e| format!("{e}"))?;
    let (lo, hi) = GATE_RANGE_DBFS;
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(format!("must be between {lo} and {hi} dBFS"))
    }
}
/// Log-energy floor of each band relative to a full-scale sine, dB: quieter detail is ignored.
const FLOOR_DB: f32 = -60.0;
/// Frames of flux kept: the median window plus the peak-picking span, rounded up to a power of 2.
const HISTORY: usize = 64;

/// What the user can set. All can change while running ([`OnsetDetector::set_config`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OnsetConfig {
    /// 0..=1: higher finds softer hits (and more false ones). 0.5 is tuned for drum mixes.
    pub sensitivity: f32,
    /// Shortest time between two reported onsets, seconds. 50 ms is a 32nd note at 150 bpm, and
    /// long enough that the bursts of a clap (spread over 30 to 45 ms) are one hit.
    pub min_interval_s: f32,
    /// Quietest hit, dBFS: the RMS over the 2.5 ms after an onset must reach it. The flux
    /// compares log energies, so it hears how a sound changes, not how loud it is; steady noise
    /// (hiss, hum, a noisy room mic) louder than about -50 dBFS flickers into false onsets, and
    /// a gate above the noise and below the softest hit removes them. Clamped to
    /// [`GATE_RANGE_DBFS`].
    pub gate_dbfs: f32,
}

impl Default for OnsetConfig {
    fn default() -> Self {
        Self { sensitivity: 0.5, min_interval_s: 0.05, gate_dbfs: GATE_DBFS }
    }
}

impl OnsetConfig {
    /// The threshold margin (mean log-energy rise per band, in nepers) for the sensitivity:
    /// 0.6 at 0, 0.12 at 0.5, 0.024 at 1.
    fn delta(&self) -> f32 {
        0.6 * 25f32.powf(-self.sensitivity.clamp(0.0, 1.0))
    }
}

/// Streaming onset detector for one mono channel at a fixed sample rate.
///
/// Owned by the audio thread (or the offline driver); all buffers are allocated in
/// [`OnsetDetector::new`].
#[derive(Debug)]
pub struct OnsetDetector {
    sample_rate: u32,
    cfg: OnsetConfig,
    /// Threshold margin derived from `cfg.sensitivity`.
    delta: f32,
    /// Minimum inter-onset time in samples.
    min_interval: u64,
    /// FFT size and hop of the flux frames.
    n_fft: usize,
    hop: usize,
    /// Length of each energy window of the refinement, samples.
    jump: usize,
    /// Mean power per sample of the gate.
    gate_power: f64,
    /// Log energy of a silent band: what the band history starts with.
    silence: f32,
    /// Frames the log-mel analysis; frame `k` is centred on sample `k * hop`.
    mel: MelStream,
    /// The frame `mel` just produced, copied out of its callback.
    frame: Vec<f32>,
    /// Set by the `mel` callback when `frame` holds a new frame.
    frame_ready: bool,
    /// Log-mel frames `k - LAG ..= k`, ring indexed by frame number modulo `LAG + 1`.
    bands: Vec<f32>,
    /// Flux per frame, ring indexed by frame number modulo [`HISTORY`].
    flux: Vec<f32>,
    /// Scratch for the running median (a copy of the last `MEDIAN_FRAMES` flux values).
    median_scratch: Vec<f32>,
    /// Recent input, ring indexed by absolute sample modulo its (power-of-two) length: the
    /// refinement looks back about one frame plus the detection delay.
    audio: Vec<f32>,
    /// Two halves: prefix sums of squares of the signal and of its first difference over the
    /// refinement region (f64: differences of large sums must stay exact enough).
    prefix: Vec<f64>,
    /// Samples consumed so far: the absolute index of the next input sample.
    samples: u64,
    /// Frames produced so far: the number of the next frame.
    frames: u64,
    /// Absolute sample of the last reported onset.
    last_onset: Option<u64>,
}

impl OnsetDetector {
    /// Plans the analysis for `sample_rate` and allocates every buffer. Call it off the audio
    /// thread (e.g. in the plugin's `activate()`).
    ///
    /// # Panics
    /// If `sample_rate` is below 8 kHz: no drum recording is made at such a rate, so it is a
    /// programming error.
    pub fn new(sample_rate: u32, cfg: &OnsetConfig) -> Self {
        assert!(sample_rate >= 8_000, "onset detection needs at least 8 kHz, got {sample_rate}");
        // 23 ms frames at 44.1 and 48 kHz, and about as long at higher rates.
        let n_fft = 1024 * (sample_rate as usize / 60_000 + 1).next_power_of_two();
        let hop = n_fft / 8;
        // Power of a full-scale sine in one bin of a Hann-windowed frame: (N/4)^2.
        let reference = (n_fft as f32 / 4.0).powi(2);
        let mel_cfg = MelConfig {
            sample_rate,
            n_fft,
            hop,
            n_mels: N_BANDS,
            fmin: 40.0,
            fmax: (sample_rate as f32 * 0.45).min(16_000.0),
            log_offset: reference * 10f32.powf(FLOOR_DB / 10.0),
        };
        let silence = mel_cfg.log_floor();
        let mel = MelStream::new(Arc::new(MelSpectrogram::new(&mel_cfg)));
        let jump = ((JUMP_S * sample_rate as f32).round() as usize).max(4);
        // The refinement reads from one frame plus LAG hops before a candidate frame's centre to
        // the newest sample, which is at most POST_FRAMES + 1 hops after that frame's end.
        let lookback = n_fft + (LAG + POST_FRAMES + 2) * hop + 2 * WIDE * jump;
        let mut s = Self {
            sample_rate,
            cfg: *cfg,
            delta: cfg.delta(),
            min_interval: 0,
            n_fft,
            hop,
            jump,
            gate_power: 0.0,
            silence,
            mel,
            frame: vec![0.0; N_BANDS],
            frame_ready: false,
            bands: vec![0.0; (LAG + REF_FRAMES) * N_BANDS],
            flux: vec![0.0; HISTORY],
            median_scratch: vec![0.0; MEDIAN_FRAMES],
            audio: vec![0.0; lookback.next_power_of_two()],
            prefix: vec![0.0; 2 * (lookback + 1)],
            samples: 0,
            frames: 0,
            last_onset: None,
        };
        s.set_config(cfg);
        s.reset();
        s
    }

    /// Changes sensitivity, minimum interval and gate without allocating (parameter changes on
    /// the audio thread).
    pub fn set_config(&mut self, cfg: &OnsetConfig) {
        self.cfg = *cfg;
        self.delta = cfg.delta();
        let gate = if cfg.gate_dbfs.is_nan() { GATE_DBFS } else { cfg.gate_dbfs };
        self.gate_power = f64::from(10f32.powf(gate.clamp(GATE_RANGE_DBFS.0, GATE_RANGE_DBFS.1) / 10.0));
        self.min_interval = (cfg.min_interval_s.max(0.0) * self.sample_rate as f32).round() as u64;
    }

    /// The current settings.
    pub fn config(&self) -> &OnsetConfig {
        &self.cfg
    }

    /// Back to the state of a fresh detector at sample 0, without allocating (transport jumps,
    /// plugin reset).
    pub fn reset(&mut self) {
        self.mel.reset();
        self.frame_ready = false;
        self.bands.fill(self.silence);
        self.flux.fill(0.0);
        self.audio.fill(0.0);
        self.samples = 0;
        self.frames = 0;
        self.last_onset = None;
    }

    /// Sample rate this detector was planned for, Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Samples between two flux frames.
    pub fn hop(&self) -> usize {
        self.hop
    }

    /// Samples consumed so far (the absolute index of the next sample).
    pub fn position(&self) -> u64 {
        self.samples
    }

    /// The longest time, in samples, between an onset and the end of the [`Self::process`] call
    /// that reports it. Used to size audio history and to compute a plugin's latency.
    pub fn max_delay(&self) -> usize {
        // The onset can lie up to half a frame plus LAG hops before its peak frame's centre; the
        // peak is confirmed POST_FRAMES hops after that frame completes half a frame later, plus
        // one hop of internal chunking.
        self.n_fft + (LAG + POST_FRAMES + 1) * self.hop
    }

    /// Feeds a block of any length; calls `on_onset(sample, strength)` for each onset found,
    /// in increasing sample order, with `sample` the absolute index (counted from the first
    /// sample after construction or [`Self::reset`]) and `strength` the peak flux. Onsets are
    /// reported up to [`Self::max_delay`] samples after they happen.
    ///
    /// Never allocates, locks or blocks.
    pub fn process(&mut self, block: &[f32], mut on_onset: impl FnMut(u64, f32)) {
        // Chunks of at most one hop yield at most one frame each, and the audio ring always
        // holds the samples up to the frame being examined.
        for chunk in block.chunks(self.hop) {
            let mask = self.audio.len() - 1;
            for (i, &x) in chunk.iter().enumerate() {
                let x = if x.is_finite() { x } else { 0.0 };
                self.audio[(self.samples as usize + i) & mask] = x;
            }
            self.samples += chunk.len() as u64;
            let (frame, ready) = (&mut self.frame, &mut self.frame_ready);
            self.mel.push(chunk, |f| {
                frame.copy_from_slice(f);
                *ready = true;
            });
            if std::mem::take(&mut self.frame_ready) {
                if let Some((sample, strength)) = self.on_frame() {
                    on_onset(sample, strength);
                }
            }
        }
    }

    /// Takes the frame in `self.frame` (number `self.frames`): computes its flux and checks the
    /// frame `POST_FRAMES` earlier for a peak.
    fn on_frame(&mut self) -> Option<(u64, f32)> {
        let k = self.frames;
        self.frames += 1;
        let slots = self.bands.len() / N_BANDS;
        let slot = |f: u64| (f % slots as u64) as usize * N_BANDS;
        let cur = slot(k);
        self.bands[cur..cur + N_BANDS].copy_from_slice(&self.frame);
        let mut rise = 0.0;
        for b in 0..N_BANDS {
            let lo = b.saturating_sub(BAND_SPREAD);
            let hi = (b + BAND_SPREAD).min(N_BANDS - 1);
            let mut reference = f32::MIN;
            for back in LAG..LAG + REF_FRAMES {
                let r = slot(k + slots as u64 - back as u64);
                reference = self.bands[r + lo..=r + hi].iter().fold(reference, |m, &v| m.max(v));
            }
            rise += (self.frame[b] - reference - TOLERANCE).clamp(0.0, RISE_CAP);
        }
        self.flux[(k % HISTORY as u64) as usize] = rise / N_BANDS as f32;

        let j = k.checked_sub(POST_FRAMES as u64)?;
        let at = |f: u64| self.flux[(f % HISTORY as u64) as usize];
        let d = at(j);
        // Before the first frame there is silence (flux 0), so a hit at sample 0 is found too.
        if (j.saturating_sub(PRE_FRAMES as u64)..=k).any(|f| f != j && at(f) > d) {
            return None;
        }
        // Frames before the stream's start count as silence (flux 0), so the first hit of a
        // track is not measured against its own rising edge.
        for (i, m) in self.median_scratch.iter_mut().enumerate() {
            *m = (j.checked_sub(1 + i as u64)).map_or(0.0, at);
        }
        let mid = MEDIAN_FRAMES / 2;
        let median = *self.median_scratch.select_nth_unstable_by(mid, f32::total_cmp).1;
        if d <= median + self.delta {
            return None;
        }
        let sample = self.refine(j)?;
        self.last_onset = Some(sample);
        Some((sample, d))
    }

    /// The sample of the onset whose flux peaks in frame `j`: where the energy over the next
    /// `jump` samples rises most above the energy over the previous `jump`. `None` if the region
    /// is inside the minimum interval after the last onset or the hit is below the gate.
    fn refine(&mut self, j: u64) -> Option<u64> {
        let (l, wide) = (self.jump, WIDE * self.jump);
        let centre = j * self.hop as u64;
        let half = self.n_fft as u64 / 2;
        let oldest = self.samples.saturating_sub(self.audio.len() as u64 - 1);
        // A rise in frame j over frame j - LAG: the hit is inside frame j's window and not much
        // of it is in the reference frames.
        let mut lo = centre.saturating_sub(half + (LAG * self.hop) as u64);
        if let Some(last) = self.last_onset {
            // Not the previous onset's own rise again; whether a later rise is far enough from it
            // is checked below, so that a hit's second burst is rejected rather than moved.
            lo = lo.max(last + l as u64);
        }
        let hi = centre + half;
        // Audio the energy windows read, clipped to what is still (and already) in the ring.
        let start = lo.saturating_sub(wide as u64).max(oldest);
        let end = (hi + wide as u64).min(self.samples);
        let len = usize::try_from(end.checked_sub(start)?).ok()?.min(self.prefix.len() / 2 - 1);
        let mask = self.audio.len() - 1;
        // Prefix sums of the signal's power and of its first difference's power.
        let half_len = self.prefix.len() / 2;
        let (full, diff) = self.prefix.split_at_mut(half_len);
        full[0] = 0.0;
        diff[0] = 0.0;
        let mut prev = if start > oldest { self.audio[(start as usize - 1) & mask] } else { 0.0 };
        for i in 0..len {
            let x = self.audio[(start as usize + i) & mask];
            full[i + 1] = full[i] + f64::from(x) * f64::from(x);
            diff[i + 1] = diff[i] + f64::from(x - prev) * f64::from(x - prev);
            prev = x;
        }
        // Log ratio of the mean power after `t` to the mean power before it, over `w` samples
        // each side (fewer at the ends of the data), with a floor of -70 dBFS: ratios of
        // near-silence are not rises.
        let ratio = |p: &[f64], t: usize, w: usize| {
            let (a, b) = (t.saturating_sub(w), (t + w).min(len));
            let after = (p[b] - p[t]) / (b - t).max(1) as f64;
            // Before the stream's first sample there is silence.
            let before = if t > a { (p[t] - p[a]) / (t - a) as f64 } else { 0.0 };
            ((after + 1e-7) / (before + 1e-7)).ln()
        };
        // The full-band ratio over `wide` windows is not fooled by the phase of a low tone (a
        // kick's tail); the first difference's over short ones is sharp in time and sees a hat
        // or a ghost note over a kick's tail.
        let jump = |t: usize| ratio(full, t, wide) + ratio(diff, t, l);
        // A rise needs audio before it, except at the stream's start (silence before).
        let first = usize::try_from(if start == 0 { lo } else { lo.max(start + l as u64) } - start).ok()?;
        let last = usize::try_from(hi.min(end.saturating_sub(l as u64)).checked_sub(start)?).ok()?;
        let best = (first..=last).map(jump).fold(f64::MIN, f64::max);
        if best <= 0.0 {
            return None;
        }
        // The earliest strong rise, climbed to its top: of a hit's bursts (a clap, a flam, a
        // kick's click then body) the first is where it starts, even when a later one rises more.
        let early = (first..=last).find(|&t| jump(t) >= EARLIEST_FRACTION * best)?;
        let (t, _) = (early..=last.min(early + 2 * l)).map(|t| (t, jump(t))).fold((early, f64::MIN), |m, c| {
            if c.1 > m.1 {
                c
            } else {
                m
            }
        });
        let after = (full[(t + l).min(len)] - full[t]) / l as f64;
        let onset = start + t as u64;
        if after < self.gate_power {
            return None;
        }
        if self.last_onset.is_some_and(|last| onset < last + self.min_interval) {
            return None;
        }
        Some(onset)
    }
}

/// Counting allocator for the tests that prove the audio-thread code never allocates. Counts only
/// on threads that asked to be counted, so tests running in parallel do not disturb each other.
#[cfg(test)]
pub(crate) mod alloc_counter;

/// Every onset of a whole recording (`x`, mono at `sample_rate`) as a detector fed `block`
/// samples at a time finds it, `(sample, strength)`, the detector flushed with silence at the end:
/// the offline counterpart of feeding [`OnsetDetector::process`] live. Allocates.
pub fn detect_all(x: &[f32], sample_rate: u32, block: usize, cfg: &OnsetConfig) -> Vec<(u64, f32)> {
    let block = block.max(1);
    let mut det = OnsetDetector::new(sample_rate, cfg);
    let mut found = Vec::new();
    for b in x.chunks(block) {
        det.process(b, |s, v| found.push((s, v)));
    }
    det.process(&vec![0.0; det.max_delay() + block], |s, v| found.push((s, v)));
    found
}

#[cfg(test)]
pub(crate) mod tests;
