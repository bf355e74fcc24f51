//! The analysed region: decoded packets downmixed to mono at the source rate, the search for the
//! first onset, and the cut, resample and level measurement of the region that starts there.

use crate::resample::{output_len, resample};

use super::{DecodeOptions, DecodeWarning};

/// First onset: the first sample louder than -50 dBFS. Quiet enough to catch soft hits, loud
/// enough that dither and converter noise in leading silence do not count.
const ONSET_THRESHOLD: f32 = 0.003_162_3;

/// Below -80 dBFS peak in the whole search window a file is called silent; between that and
/// [`ONSET_THRESHOLD`] the onset is taken relative to the window's peak instead.
const SILENCE_PEAK: f32 = 1e-4;

/// For quiet files: the onset is the first sample within 20 dB of the search window's peak.
const RELATIVE_ONSET: f32 = 0.1;

/// Input frames decoded past the analysed region so the resampler's filter sees real signal at
/// the end of the clip (covers rubato's longest filter here, the 2048-frame FFT block).
const RESAMPLE_MARGIN: usize = 1024;

/// Decoded mono audio at the source rate, and the search for where the analysed region starts.
pub(super) struct Region {
    rate: u32,
    /// Channel average of everything decoded so far.
    mono: Vec<f32>,
    /// NaN/Inf samples replaced so far.
    non_finite: usize,
    /// Frames in which the first onset is searched.
    search_len: usize,
    /// Frames kept before the onset.
    pre_roll: usize,
    /// Longest analysed region, frames.
    max_len: usize,
    /// Frames already scanned for the onset.
    scanned: usize,
    /// Index of the first onset once found.
    onset: Option<usize>,
    /// Set when the onset was not found above the absolute threshold.
    fallback: Option<DecodeWarning>,
}

impl Region {
    pub(super) fn new(rate: u32, opts: &DecodeOptions) -> Self {
        let frames = |s: f32| (f64::from(s) * f64::from(rate)).round() as usize;
        Self {
            rate,
            mono: Vec::with_capacity(frames(opts.max_seconds) + RESAMPLE_MARGIN + 4096),
            non_finite: 0,
            search_len: frames(opts.onset_search_s),
            pre_roll: frames(opts.pre_roll_s),
            max_len: frames(opts.max_seconds).max(1),
            scanned: 0,
            onset: None,
            fallback: None,
        }
    }

    pub(super) fn decoded(&self) -> usize {
        self.mono.len()
    }

    /// Appends one packet's planes (one `Vec` per channel, equal lengths) as their average.
    pub(super) fn push(&mut self, planes: &[Vec<f32>]) {
        let Some(frames) = planes.first().map(Vec::len) else { return };
        let start = self.mono.len();
        self.mono.resize(start + frames, 0.0);
        let tail = &mut self.mono[start..];
        for plane in planes {
            for (m, &x) in tail.iter_mut().zip(plane) {
                if x.is_finite() {
                    *m += x;
                } else {
                    self.non_finite += 1;
                }
            }
        }
        let scale = 1.0 / planes.len() as f32;
        for m in tail.iter_mut() {
            *m *= scale;
            if !m.is_finite() {
                // Finite samples near f32::MAX can still sum to infinity.
                *m = 0.0;
                self.non_finite += 1;
            }
        }
        self.scan();
    }

    /// Looks for the first sample above the absolute threshold in the newly decoded part of the
    /// search window.
    fn scan(&mut self) {
        if self.onset.is_some() {
            return;
        }
        let end = self.mono.len().min(self.search_len);
        if let Some(i) = self.mono[self.scanned.min(end)..end].iter().position(|x| x.abs() > ONSET_THRESHOLD) {
            self.onset = Some(self.scanned + i);
        }
        self.scanned = end;
        if self.onset.is_none() && self.mono.len() >= self.search_len {
            self.resolve_fallback();
        }
    }

    /// No onset above -50 dBFS in the window: use one relative to the window's peak, or call the
    /// file silent and start at 0.
    fn resolve_fallback(&mut self) {
        if self.search_len == 0 {
            self.onset = Some(0); // searching was switched off
            return;
        }
        let window = &self.mono[..self.mono.len().min(self.search_len)];
        let peak = window.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        if peak > SILENCE_PEAK {
            self.onset = window.iter().position(|x| x.abs() >= peak * RELATIVE_ONSET);
            self.fallback = Some(DecodeWarning::Quiet { peak_dbfs: 20.0 * peak.log10() });
        } else {
            self.onset = Some(0);
            self.fallback = Some(DecodeWarning::Silent);
        }
    }

    fn start(&self) -> usize {
        self.onset.map_or(0, |o| o.saturating_sub(self.pre_roll))
    }

    /// True once the analysed region and the resampler margin after it are decoded.
    pub(super) fn has_enough(&self) -> bool {
        self.onset.is_some() && self.mono.len() >= self.start() + self.max_len + RESAMPLE_MARGIN
    }

    /// Cuts the analysed region, resamples it to `target_rate` (at most `max_out` samples) and
    /// measures it. Returns `(samples, start frame, peak, rms)`.
    pub(super) fn finish(
        mut self,
        target_rate: u32,
        max_out: usize,
        warnings: &mut Vec<DecodeWarning>,
    ) -> (Vec<f32>, usize, f32, f32) {
        if self.onset.is_none() {
            // The stream ended inside the search window.
            self.resolve_fallback();
        }
        warnings.extend(self.fallback.take());
        let start = self.start().min(self.mono.len());
        let end = (start + self.max_len).min(self.mono.len());
        let region = &self.mono[start..end];
        let peak = region.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let energy: f64 = region.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
        let rms = if region.is_empty() { 0.0 } else { (energy / region.len() as f64).sqrt() as f32 };
        // Resample with the margin after the region as filter context, then cut to length.
        let with_margin = &self.mono[start..(end + RESAMPLE_MARGIN).min(self.mono.len())];
        let mut samples = resample(with_margin, self.rate, target_rate);
        // Rounding at two rates could add a sample beyond max_seconds; the promise is "at most".
        samples.truncate(output_len(end - start, self.rate, target_rate).min(max_out));
        // Finite samples near f32::MAX can overflow in the resampler's filter (found by fuzzing).
        for s in samples.iter_mut().filter(|s| !s.is_finite()) {
            *s = 0.0;
            self.non_finite += 1;
        }
        if self.non_finite > 0 {
            warnings.push(DecodeWarning::NonFinite { count: self.non_finite });
        }
        (samples, start, peak, rms)
    }
}
