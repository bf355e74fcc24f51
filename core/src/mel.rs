//! Log-mel spectrogram: the one feature extractor shared by training, library scans and the
//! real-time hit path.
//!
//! [`MelSpectrogram`] owns the planned FFT, the Hann window and the mel filter bank.
//! [`MelSpectrogram::frame_into`] turns one `n_fft` frame into `n_mels` log energies with
//! caller-owned scratch and never allocates; [`MelStream`] feeds it from arbitrary-sized blocks
//! (the audio thread's view), and [`MelSpectrogram::compute`] runs the same code over a whole clip.

use std::sync::Arc;

use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

/// Everything that defines the features; the model's config embeds it so a model is never fed
/// features it was not trained on.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MelConfig {
    /// Rate the audio is resampled to before analysis, Hz. 44.1 kHz keeps hat and cymbal energy
    /// above 10 kHz and means most library files need no resampling at all.
    pub sample_rate: u32,
    /// FFT and window length in samples (23 ms at 44.1 kHz).
    pub n_fft: usize,
    /// Hop between frames in samples (10 ms at 44.1 kHz): three frames in a 30 ms onset window,
    /// and few enough frames per second that inference stays around a millisecond per clip.
    pub hop: usize,
    /// Number of mel bands.
    pub n_mels: usize,
    /// Lowest filter edge, Hz.
    pub fmin: f32,
    /// Highest filter edge, Hz.
    pub fmax: f32,
    /// Added to the mel energy before the log so silence maps to a finite floor.
    pub log_offset: f32,
}

impl Default for MelConfig {
    fn default() -> Self {
        Self { sample_rate: 44_100, n_fft: 1024, hop: 441, n_mels: 64, fmin: 30.0, fmax: 16_000.0, log_offset: 1e-6 }
    }
}

impl MelConfig {
    /// Number of frames [`MelSpectrogram::compute`] yields for `n_samples` samples: one frame
    /// centred on every hop start, at least one.
    pub fn n_frames(&self, n_samples: usize) -> usize {
        n_samples.div_ceil(self.hop).max(1)
    }

    /// The log value of silence, what padding frames hold.
    pub fn log_floor(&self) -> f32 {
        self.log_offset.ln()
    }
}

/// HTK mel scale.
pub fn hz_to_mel(hz: f32) -> f32 {
    2595.0 * (1.0 + hz / 700.0).log10()
}

/// Inverse of [`hz_to_mel`].
pub fn mel_to_hz(mel: f32) -> f32 {
    700.0 * (10f32.powf(mel / 2595.0) - 1.0)
}

/// One triangular filter stored sparsely: weights for bins `start..start + weights.len()`.
#[derive(Clone, Debug)]
struct MelFilter {
    start: usize,
    weights: Vec<f32>,
}

/// Triangular filters (peak 1.0) on `n_mels + 2` points evenly spaced in mel between `fmin` and
/// `fmax`. A filter narrower than one FFT bin (low bands at small `n_fft`) gets weight 1 on the
/// bin nearest its centre instead of vanishing, so every band carries energy.
fn mel_filters(cfg: &MelConfig) -> Vec<MelFilter> {
    let n_bins = cfg.n_fft / 2 + 1;
    let bin_hz = cfg.sample_rate as f32 / cfg.n_fft as f32;
    let (mlo, mhi) = (hz_to_mel(cfg.fmin), hz_to_mel(cfg.fmax));
    let points: Vec<f32> =
        (0..cfg.n_mels + 2).map(|i| mel_to_hz(mlo + (mhi - mlo) * i as f32 / (cfg.n_mels + 1) as f32)).collect();
    points
        .windows(3)
        .map(|p| {
            let (lo, centre, hi) = (p[0], p[1], p[2]);
            let dense: Vec<f32> = (0..n_bins)
                .map(|b| {
                    let f = b as f32 * bin_hz;
                    let rise = (f - lo) / (centre - lo);
                    let fall = (hi - f) / (hi - centre);
                    rise.min(fall).max(0.0)
                })
                .collect();
            match dense.iter().position(|&w| w > 0.0) {
                Some(start) => {
                    let end = dense.iter().rposition(|&w| w > 0.0).map_or(start, |e| e) + 1;
                    MelFilter { start, weights: dense[start..end].to_vec() }
                }
                None => {
                    let nearest = ((centre / bin_hz).round() as usize).min(n_bins - 1);
                    MelFilter { start: nearest, weights: vec![1.0] }
                }
            }
        })
        .collect()
}

/// Scratch a caller owns so [`MelSpectrogram::frame_into`] never allocates. Make it with
/// [`MelSpectrogram::make_scratch`].
#[derive(Clone, Debug)]
pub struct MelScratch {
    buf: Vec<Complex32>,
    fft_scratch: Vec<Complex32>,
}

/// Planned log-mel analysis for one [`MelConfig`]. Cheap to share behind an `Arc`.
pub struct MelSpectrogram {
    cfg: MelConfig,
    fft: Arc<dyn Fft<f32>>,
    window: Vec<f32>,
    filters: Vec<MelFilter>,
}

impl std::fmt::Debug for MelSpectrogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MelSpectrogram").field("cfg", &self.cfg).finish_non_exhaustive()
    }
}

impl MelSpectrogram {
    /// Plans the FFT and builds the window and filters. Allocates; call it off the audio thread.
    ///
    /// # Panics
    /// If `n_fft < 2`, `hop == 0`, `n_mels == 0` or `fmin >= fmax`: these are programming errors
    /// in a config, not user input.
    pub fn new(cfg: &MelConfig) -> Self {
        assert!(cfg.n_fft >= 2 && cfg.hop > 0 && cfg.n_mels > 0, "invalid mel config {cfg:?}");
        assert!(cfg.fmin < cfg.fmax, "fmin must be below fmax in {cfg:?}");
        let fft = FftPlanner::new().plan_fft_forward(cfg.n_fft);
        // Periodic Hann: the standard analysis window for overlapping STFT frames.
        let window = (0..cfg.n_fft)
            .map(|i| {
                let x = std::f32::consts::TAU * i as f32 / cfg.n_fft as f32;
                0.5 - 0.5 * x.cos()
            })
            .collect();
        Self { cfg: cfg.clone(), fft, window, filters: mel_filters(cfg) }
    }

    /// The config this analysis was planned for.
    pub fn config(&self) -> &MelConfig {
        &self.cfg
    }

    /// Scratch sized for this plan.
    pub fn make_scratch(&self) -> MelScratch {
        MelScratch {
            buf: vec![Complex32::default(); self.cfg.n_fft],
            fft_scratch: vec![Complex32::default(); self.fft.get_inplace_scratch_len()],
        }
    }

    /// Log-mel energies of one frame, always finite for finite input (energies that overflow are
    /// capped at `f32::MAX`). Allocation-free.
    ///
    /// # Panics
    /// If `frame.len() != n_fft`, `out.len() != n_mels`, or `scratch` came from a plan with a
    /// different `n_fft`.
    pub fn frame_into(&self, frame: &[f32], scratch: &mut MelScratch, out: &mut [f32]) {
        assert_eq!(frame.len(), self.cfg.n_fft, "frame length must equal n_fft");
        assert_eq!(out.len(), self.cfg.n_mels, "output length must equal n_mels");
        for ((b, &x), &w) in scratch.buf.iter_mut().zip(frame).zip(&self.window) {
            *b = Complex32::new(x * w, 0.0);
        }
        self.fft.process_with_scratch(&mut scratch.buf, &mut scratch.fft_scratch);
        // Power spectrum in place (real part) for the non-negative bins.
        for c in scratch.buf[..self.cfg.n_fft / 2 + 1].iter_mut() {
            c.re = c.norm_sqr();
        }
        for (o, f) in out.iter_mut().zip(&self.filters) {
            let bins = &scratch.buf[f.start..f.start + f.weights.len()];
            let e: f32 = bins.iter().zip(&f.weights).map(|(c, w)| c.re * w).sum();
            // Samples near f32::MAX overflow the power to infinity (or NaN inside the FFT):
            // cap it so a frame stays finite whatever the host sends (found by fuzzing).
            *o = (e.min(f32::MAX) + self.cfg.log_offset).ln();
        }
    }

    /// Whole-clip log-mel, time-major: `n_frames * n_mels` values, frame `k` centred on sample
    /// `k * hop` (zeros outside the clip). Built on [`MelStream`] so both paths agree exactly.
    pub fn compute(self: &Arc<Self>, samples: &[f32]) -> Vec<f32> {
        let n_frames = self.cfg.n_frames(samples.len());
        let mut out = Vec::with_capacity(n_frames * self.cfg.n_mels);
        let mut stream = MelStream::new(Arc::clone(self));
        stream.push(samples, |frame| out.extend_from_slice(frame));
        // Zeros after the clip complete the frames centred near its end.
        let zeros = [0f32; 256];
        while out.len() < n_frames * self.cfg.n_mels {
            stream.push(&zeros, |frame| {
                if out.len() < n_frames * self.cfg.n_mels {
                    out.extend_from_slice(frame)
                }
            });
        }
        out
    }
}

/// Streaming framer over a [`MelSpectrogram`]: push blocks of any size, get a callback per hop.
/// Everything is allocated in [`MelStream::new`]; [`MelStream::push`] never allocates, so it may
/// run on the audio thread.
///
/// It starts with `n_fft / 2` zeros of history, so the frames it emits for a signal are exactly
/// the frames [`MelSpectrogram::compute`] returns for it.
#[derive(Debug)]
pub struct MelStream {
    mel: Arc<MelSpectrogram>,
    /// Ring of the last `n_fft` samples; `write` is the next slot.
    ring: Vec<f32>,
    write: usize,
    /// Samples still to push before the next frame is complete.
    pending: usize,
    /// Linearised frame handed to the FFT.
    frame: Vec<f32>,
    out: Vec<f32>,
    scratch: MelScratch,
}

impl MelStream {
    /// Allocates the ring, frame and scratch for `mel`'s config.
    pub fn new(mel: Arc<MelSpectrogram>) -> Self {
        let cfg = mel.config();
        let mut s = Self {
            ring: vec![0.0; cfg.n_fft],
            write: 0,
            pending: 0,
            frame: vec![0.0; cfg.n_fft],
            out: vec![0.0; cfg.n_mels],
            scratch: mel.make_scratch(),
            mel,
        };
        s.reset();
        s
    }

    /// Back to the state of a fresh stream (silence history), without allocating.
    pub fn reset(&mut self) {
        self.ring.fill(0.0);
        let n_fft = self.ring.len();
        // n_fft/2 zeros of history: the first frame (centred on sample 0) is complete after the
        // next n_fft - n_fft/2 samples.
        self.write = n_fft / 2;
        self.pending = n_fft - n_fft / 2;
    }

    /// Feeds samples; calls `on_frame` with each completed frame's `n_mels` log energies. NaN and
    /// infinite samples are taken as 0, so every frame is finite.
    pub fn push(&mut self, samples: &[f32], mut on_frame: impl FnMut(&[f32])) {
        let n_fft = self.ring.len();
        let hop = self.mel.cfg.hop;
        for &x in samples {
            // NaN and infinities (a broken host buffer) become silence rather than poisoning
            // every frame they touch.
            self.ring[self.write] = if x.is_finite() { x } else { 0.0 };
            self.write = (self.write + 1) % n_fft;
            self.pending -= 1;
            if self.pending > 0 {
                continue;
            }
            self.pending = hop;
            let (tail, head) = self.ring.split_at(self.write);
            self.frame[..head.len()].copy_from_slice(head);
            self.frame[head.len()..].copy_from_slice(tail);
            self.mel.frame_into(&self.frame, &mut self.scratch, &mut self.out);
            on_frame(&self.out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect()
    }

    /// Naive O(n^2) DFT power at bin `k`, in f64.
    fn naive_power(frame: &[f64], k: usize) -> f64 {
        let n = frame.len() as f64;
        let (mut re, mut im) = (0.0, 0.0);
        for (i, &x) in frame.iter().enumerate() {
            let a = -std::f64::consts::TAU * k as f64 * i as f64 / n;
            re += x * a.cos();
            im += x * a.sin();
        }
        re * re + im * im
    }

    #[test]
    fn frame_matches_naive_dft_reference() {
        let cfg = MelConfig { n_fft: 256, n_mels: 20, sample_rate: 16_000, fmax: 8000.0, ..MelConfig::default() };
        let mel = MelSpectrogram::new(&cfg);
        let frame = noise(cfg.n_fft, 7);
        let mut out = vec![0.0; cfg.n_mels];
        mel.frame_into(&frame, &mut mel.make_scratch(), &mut out);

        let windowed: Vec<f64> = frame.iter().zip(&mel.window).map(|(&x, &w)| x as f64 * w as f64).collect();
        let power: Vec<f64> = (0..cfg.n_fft / 2 + 1).map(|k| naive_power(&windowed, k)).collect();
        for (m, f) in mel.filters.iter().enumerate() {
            let e: f64 = f.weights.iter().enumerate().map(|(j, &w)| power[f.start + j] * w as f64).sum();
            let want = (e + cfg.log_offset as f64).ln();
            assert!((out[m] as f64 - want).abs() < 1e-3, "band {m}: {} vs {want}", out[m]);
        }
    }

    #[test]
    fn filters_match_hand_computed_triangles() {
        // 8 kHz, n_fft 16 -> 500 Hz bins; 2 mel bands between 0 Hz and 4 kHz.
        let cfg =
            MelConfig { sample_rate: 8000, n_fft: 16, hop: 8, n_mels: 2, fmin: 0.0, fmax: 4000.0, log_offset: 1e-6 };
        let filters = mel_filters(&cfg);
        // Mel points: 0, m/3, 2m/3, m with m = mel(4000) = 2146.06 -> 0, 620.6, 1791.3, 4000 Hz.
        let p1 = mel_to_hz(hz_to_mel(4000.0) / 3.0);
        let p2 = mel_to_hz(2.0 * hz_to_mel(4000.0) / 3.0);
        assert!((p1 - 620.6).abs() < 0.5 && (p2 - 1791.3).abs() < 0.5, "{p1} {p2}");
        // Band 0 rises 0 -> p1 and falls p1 -> p2; bins are 500 Hz apart.
        assert_eq!(filters[0].start, 1);
        let want0 = [500.0 / p1, (p2 - 1000.0) / (p2 - p1), (p2 - 1500.0) / (p2 - p1)];
        assert_eq!(filters[0].weights.len(), want0.len());
        for (w, e) in filters[0].weights.iter().zip(want0) {
            assert!((w - e).abs() < 1e-5, "{w} vs {e}");
        }
        // Band 1 rises p1 -> p2 and falls p2 -> 4000: bins 1000..=3500 Hz.
        assert_eq!(filters[1].start, 2);
        let want1 = [
            (1000.0 - p1) / (p2 - p1),
            (1500.0 - p1) / (p2 - p1),
            (4000.0 - 2000.0) / (4000.0 - p2),
            (4000.0 - 2500.0) / (4000.0 - p2),
            (4000.0 - 3000.0) / (4000.0 - p2),
            (4000.0 - 3500.0) / (4000.0 - p2),
        ];
        assert_eq!(filters[1].weights.len(), want1.len());
        for (w, e) in filters[1].weights.iter().zip(want1) {
            assert!((w - e).abs() < 1e-5, "{w} vs {e}");
        }
    }

    #[test]
    fn every_default_band_has_weight() {
        let filters = mel_filters(&MelConfig::default());
        assert_eq!(filters.len(), 64);
        assert!(filters.iter().all(|f| f.weights.iter().any(|&w| w > 0.0)));
    }

    #[test]
    fn sine_peaks_in_the_right_band() {
        let cfg = MelConfig::default();
        let mel = Arc::new(MelSpectrogram::new(&cfg));
        let f0 = 3000.0;
        let x: Vec<f32> = (0..4410).map(|i| (std::f32::consts::TAU * f0 * i as f32 / 44_100.0).sin()).collect();
        let spec = mel.compute(&x);
        let frame = &spec[5 * cfg.n_mels..6 * cfg.n_mels];
        let best = frame.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        let m = |b: usize| {
            mel_to_hz(
                hz_to_mel(cfg.fmin)
                    + (hz_to_mel(cfg.fmax) - hz_to_mel(cfg.fmin)) * (b + 1) as f32 / (cfg.n_mels + 1) as f32,
            )
        };
        assert!((m(best) - f0).abs() < 150.0, "peak band centre {} Hz", m(best));
    }

    #[test]
    fn streaming_in_odd_blocks_equals_whole_clip() {
        let cfg = MelConfig::default();
        let mel = Arc::new(MelSpectrogram::new(&cfg));
        let x = noise(10_000, 3);
        let whole = mel.compute(&x);
        assert_eq!(whole.len(), cfg.n_frames(x.len()) * cfg.n_mels);

        let mut stream = MelStream::new(Arc::clone(&mel));
        let mut streamed = Vec::new();
        for block in x.chunks(97) {
            stream.push(block, |f| streamed.extend_from_slice(f));
        }
        stream.push(&vec![0.0; cfg.n_fft], |f| streamed.extend_from_slice(f));
        assert!(streamed.len() >= whole.len());
        assert_eq!(&streamed[..whole.len()], &whole[..], "streaming frames differ from whole-clip frames");

        // Frame 0 is centred on sample 0: it sees exactly the first n_fft/2 samples.
        let mut first = vec![0.0; cfg.n_fft];
        first[cfg.n_fft / 2..].copy_from_slice(&x[..cfg.n_fft / 2]);
        let mut out = vec![0.0; cfg.n_mels];
        mel.frame_into(&first, &mut mel.make_scratch(), &mut out);
        assert_eq!(&whole[..cfg.n_mels], &out[..]);

        stream.reset();
        let mut again = Vec::new();
        stream.push(&x, |f| again.extend_from_slice(f));
        assert_eq!(&again[..], &whole[..again.len()]);
    }

    #[test]
    fn short_clip_and_silence_are_finite() {
        let mel = Arc::new(MelSpectrogram::new(&MelConfig::default()));
        let spec = mel.compute(&[0.0; 10]);
        assert_eq!(spec.len(), 64);
        assert!(spec.iter().all(|v| (*v - MelConfig::default().log_floor()).abs() < 1e-3));
        assert_eq!(mel.compute(&[]).len(), 64);
    }
}
