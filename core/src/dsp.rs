//! Small signal functions shared by run-time code (features, hit detection, fingerprints, the
//! synthesised drums) and training augmentation: peak measurement and normalisation, and an RBJ
//! biquad. Kept apart from training augmentation (`drumsort-train`'s `augment`) so run-time modules
//! do not depend on training code.

/// A direct-form-I biquad (RBJ audio-EQ cookbook coefficients).
#[derive(Clone, Copy, Debug)]
pub struct Biquad {
    b: [f32; 3],
    a: [f32; 2],
}

impl Biquad {
    fn from_raw(b0: f32, b1: f32, b2: f32, a0: f32, a1: f32, a2: f32) -> Self {
        Self { b: [b0 / a0, b1 / a0, b2 / a0], a: [a1 / a0, a2 / a0] }
    }

    fn omega(freq: f32, sr: f32) -> (f32, f32) {
        let w = std::f32::consts::TAU * (freq / sr).clamp(1e-5, 0.499);
        (w.cos(), w.sin())
    }

    /// Second-order low-pass at `freq` Hz with quality `q`.
    pub fn lowpass(freq: f32, q: f32, sr: f32) -> Self {
        let (c, s) = Self::omega(freq, sr);
        let alpha = s / (2.0 * q);
        Self::from_raw((1.0 - c) / 2.0, 1.0 - c, (1.0 - c) / 2.0, 1.0 + alpha, -2.0 * c, 1.0 - alpha)
    }

    /// Second-order high-pass at `freq` Hz with quality `q`.
    pub fn highpass(freq: f32, q: f32, sr: f32) -> Self {
        let (c, s) = Self::omega(freq, sr);
        let alpha = s / (2.0 * q);
        Self::from_raw((1.0 + c) / 2.0, -(1.0 + c), (1.0 + c) / 2.0, 1.0 + alpha, -2.0 * c, 1.0 - alpha)
    }

    /// Peaking EQ: `gain_db` at `freq` Hz, bandwidth set by `q`.
    pub fn peaking(freq: f32, q: f32, gain_db: f32, sr: f32) -> Self {
        let (c, s) = Self::omega(freq, sr);
        let alpha = s / (2.0 * q);
        let a = 10f32.powf(gain_db / 40.0);
        Self::from_raw(1.0 + alpha * a, -2.0 * c, 1.0 - alpha * a, 1.0 + alpha / a, -2.0 * c, 1.0 - alpha / a)
    }

    /// Filters `x` in place from a zero state.
    pub fn process(&self, x: &mut [f32]) {
        let (mut x1, mut x2, mut y1, mut y2) = (0f32, 0f32, 0f32, 0f32);
        for v in x.iter_mut() {
            let y = self.b[0] * *v + self.b[1] * x1 + self.b[2] * x2 - self.a[0] * y1 - self.a[1] * y2;
            x2 = x1;
            x1 = *v;
            y2 = y1;
            y1 = y;
            *v = y;
        }
    }
}

/// Peak of `|x|`.
pub fn peak(x: &[f32]) -> f32 {
    x.iter().fold(0f32, |m, v| m.max(v.abs()))
}

/// Scales `x` so its peak is 1 (no-op for silence). The model's input normalisation: level is
/// reported separately (velocity, loudness), never learned as a class cue. Returns the gain it
/// applied (1 for silence).
pub fn normalise_peak(x: &mut [f32]) -> f32 {
    let p = peak(x);
    if p > 1e-6 {
        x.iter_mut().for_each(|v| *v /= p);
        1.0 / p
    } else {
        1.0
    }
}

/// Soft clipping with `tanh` at `drive` times the level, after normalising the peak to 1 (an
/// overdriven output stage or a saturator), scaled so the peak stays 1.
pub fn saturate(x: &mut [f32], drive: f32) {
    normalise_peak(x);
    let norm = drive.tanh();
    x.iter_mut().for_each(|v| *v = (*v * drive).tanh() / norm);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(f: f32, n: usize, sr: f32) -> Vec<f32> {
        (0..n).map(|i| (std::f32::consts::TAU * f * i as f32 / sr).sin()).collect()
    }

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt()
    }

    #[test]
    fn lowpass_passes_lows_and_cuts_highs() {
        let sr = 44_100.0;
        let mut low = sine(200.0, 8820, sr);
        let mut high = sine(15_000.0, 8820, sr);
        Biquad::lowpass(2_000.0, 0.707, sr).process(&mut low);
        Biquad::lowpass(2_000.0, 0.707, sr).process(&mut high);
        assert!((rms(&low[4410..]) - 0.707).abs() < 0.02);
        assert!(rms(&high[4410..]) < 0.02);
    }
}
