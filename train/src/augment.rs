//! Training-time augmentation on raw audio, so the model learns the drum and not the recording:
//! gain, polarity, time shift, pitch shift, EQ / low-pass / high-pass, saturation, noise, reverb
//! and codec-like band-limiting. Every function is deterministic for a given RNG state.
//!
//! Codec-like band-limiting is applied to every class alike: in the training data most `other`
//! files are MP3 and most drums are WAV, and a model must not learn the codec.

use rand::Rng;
use rustfft::num_complex::Complex32;
use rustfft::FftPlanner;

use drumsort_core::dsp::{normalise_peak, peak, saturate, Biquad};

/// Resamples by `factor` (output is `len / factor` long; factor > 1 raises pitch) with cubic
/// interpolation. Only for augmentation of pitch by a few semitones, where the little aliasing
/// it adds is itself harmless variation.
pub fn pitch_shift(x: &[f32], semitones: f32) -> Vec<f32> {
    let factor = 2f32.powf(semitones / 12.0);
    let n_out = ((x.len() as f32) / factor).floor() as usize;
    let at = |i: isize| -> f32 {
        if i < 0 || i as usize >= x.len() {
            0.0
        } else {
            x[i as usize]
        }
    };
    (0..n_out)
        .map(|j| {
            let pos = j as f32 * factor;
            let i = pos.floor() as isize;
            let t = pos - i as f32;
            let (p0, p1, p2, p3) = (at(i - 1), at(i), at(i + 1), at(i + 2));
            // Catmull-Rom.
            p1 + 0.5 * t * (p2 - p0 + t * (2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3 + t * (3.0 * (p1 - p2) + p3 - p0)))
        })
        .collect()
}

/// Convolves `x` with a synthetic room: exponentially decaying noise with RT60 `rt60` seconds,
/// mixed in at `wet`. Output keeps `x`'s length (the tail beyond it is cut, as a one-shot file
/// would end).
pub fn reverb(x: &[f32], rt60: f32, wet: f32, sr: f32, rng: &mut impl Rng) -> Vec<f32> {
    let ir_len = ((rt60 * sr) as usize).clamp(16, x.len().max(16));
    let decay = -6.91 / (rt60 * sr); // ln(10^-3): 60 dB down after rt60.
    let mut ir: Vec<f32> = (0..ir_len).map(|i| rng.gen_range(-1.0f32..1.0) * (decay * i as f32).exp()).collect();
    let energy: f32 = ir.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-9);
    ir.iter_mut().for_each(|v| *v /= energy);
    let n = (x.len() + ir_len).next_power_of_two();
    let mut planner = FftPlanner::<f32>::new();
    let (fwd, inv) = (planner.plan_fft_forward(n), planner.plan_fft_inverse(n));
    let mut a: Vec<Complex32> =
        x.iter().map(|&v| Complex32::new(v, 0.0)).chain(std::iter::repeat(Complex32::default())).take(n).collect();
    let mut b: Vec<Complex32> =
        ir.iter().map(|&v| Complex32::new(v, 0.0)).chain(std::iter::repeat(Complex32::default())).take(n).collect();
    fwd.process(&mut a);
    fwd.process(&mut b);
    a.iter_mut().zip(&b).for_each(|(p, q)| *p *= q);
    inv.process(&mut a);
    x.iter().zip(&a).map(|(&dry, w)| dry * (1.0 - wet) + wet * w.re / n as f32).collect()
}

/// Applies a random chain of the augmentations to a one-shot (44.1 kHz or `sr`), each with its
/// own probability. `strength` in 0..=1 scales how often each is applied.
pub fn random_chain(x: &[f32], sr: f32, strength: f32, rng: &mut impl Rng) -> Vec<f32> {
    let p = |rng: &mut dyn rand::RngCore, base: f32| rng.gen::<f32>() < base * strength;
    let mut y = if p(rng, 0.5) { pitch_shift(x, rng.gen_range(-2.5f32..2.5)) } else { x.to_vec() };
    if p(rng, 0.5) {
        y.iter_mut().for_each(|v| *v = -*v);
    }
    if p(rng, 0.3) {
        // Late start: the onset detector or a trimmed file cuts a few ms of attack.
        let cut = rng.gen_range(0..(0.004 * sr) as usize).min(y.len().saturating_sub(1));
        y.drain(..cut);
    }
    if p(rng, 0.4) {
        // Pre-roll: silence before the hit.
        let pad = rng.gen_range(0..(0.015 * sr) as usize);
        y.splice(0..0, std::iter::repeat_n(0.0, pad));
    }
    if p(rng, 0.5) {
        Biquad::peaking(rng.gen_range(60f32..12_000.0), rng.gen_range(0.5f32..3.0), rng.gen_range(-9f32..9.0), sr)
            .process(&mut y);
    }
    if p(rng, 0.3) {
        Biquad::highpass(rng.gen_range(20f32..250.0), 0.707, sr).process(&mut y);
    }
    if p(rng, 0.3) {
        Biquad::lowpass(rng.gen_range(3_000f32..16_000.0), 0.707, sr).process(&mut y);
    }
    if p(rng, 0.25) {
        saturate(&mut y, rng.gen_range(1.5f32..8.0));
    }
    if p(rng, 0.2) {
        y = reverb(&y, rng.gen_range(0.15f32..1.2), rng.gen_range(0.05f32..0.35), sr, rng);
    }
    if p(rng, 0.5) {
        codec_like(&mut y, sr, rng);
    }
    if p(rng, 0.3) {
        normalise_peak(&mut y);
        let level = 10f32.powf(rng.gen_range(-70f32..-35.0) / 20.0);
        y.iter_mut().for_each(|v| *v += level * rng.gen_range(-1.0f32..1.0));
    }
    normalise_peak(&mut y);
    y
}

/// Timbre variation between kits that [`random_chain`] does not cover: a random EQ curve (one to
/// three peaking bands of up to +-6 dB), transient shaping (the first 3-25 ms raised or lowered
/// by up to 6 dB, as a compressor or transient designer does) and, sometimes, a faster decay (a
/// gated or trimmed sample). Each applies with probability `p`; the result is peak-normalised.
pub fn timbre(x: &[f32], sr: f32, p: f32, rng: &mut impl Rng) -> Vec<f32> {
    let mut y = x.to_vec();
    if rng.gen::<f32>() < p {
        for _ in 0..rng.gen_range(1..=3) {
            let freq = 10f32.powf(rng.gen_range(1.6f32..4.2)).min(sr * 0.45);
            Biquad::peaking(freq, rng.gen_range(0.4f32..2.5), rng.gen_range(-6f32..6.0), sr).process(&mut y);
        }
    }
    if rng.gen::<f32>() < p {
        let gain = 10f32.powf(rng.gen_range(-6f32..6.0) / 20.0);
        let tau = rng.gen_range(0.003f32..0.025) * sr;
        for (i, v) in y.iter_mut().enumerate() {
            *v *= 1.0 + (gain - 1.0) * (-(i as f32) / tau).exp();
        }
    }
    if rng.gen::<f32>() < p * 0.5 {
        let tau = rng.gen_range(0.05f32..0.5) * sr;
        for (i, v) in y.iter_mut().enumerate() {
            *v *= (-(i as f32) / tau).exp();
        }
    }
    normalise_peak(&mut y);
    y
}

/// What lossy codecs and cheap converters do to a file: a steep low-pass between 11 and 19 kHz
/// (MP3 encoders cut near 16 kHz) and sometimes coarse requantisation.
pub fn codec_like(x: &mut [f32], sr: f32, rng: &mut impl Rng) {
    let cutoff = rng.gen_range(11_000f32..19_000.0).min(sr * 0.45);
    // Four cascaded sections: 8th order, close to an encoder's brick wall.
    for q in [0.54, 0.63, 0.9, 2.6] {
        Biquad::lowpass(cutoff, q, sr).process(x);
    }
    if rng.gen::<f32>() < 0.3 {
        let bits = rng.gen_range(8..13) as f32;
        let steps = 2f32.powf(bits - 1.0);
        normalise_peak(x);
        x.iter_mut().for_each(|v| *v = (*v * steps).round() / steps);
    }
}

/// Mixes `b` into `a` with aligned onsets (both start at sample 0) at relative gain `gain_b`,
/// e.g. a kick and a hat struck together. The result is as long as the longer input.
pub fn mix(a: &[f32], b: &[f32], gain_b: f32) -> Vec<f32> {
    let mut out = vec![0.0; a.len().max(b.len())];
    out.iter_mut().zip(a).for_each(|(o, v)| *o += v);
    out.iter_mut().zip(b).for_each(|(o, v)| *o += gain_b * v);
    normalise_peak(&mut out);
    out
}

/// Adds the tail of an earlier sound under `a`, as in a played groove where the previous hit is
/// still ringing when the next one starts: `b` from `offset` samples on, at gain `gain_b`. The
/// label stays `a`'s; only the new hit counts. Also returns the `context` samples before `a`
/// starts (`b` up to `offset`, silence before `b`), at the same gain: what was ringing when `a`
/// was struck, as the hit labeller hears it ([`drumsort_core::classifier::prepare_hit_features`]).
pub fn bleed(a: &[f32], b: &[f32], offset: usize, gain_b: f32, context: usize) -> (Vec<f32>, Vec<f32>) {
    let mut out = a.to_vec();
    out.iter_mut().zip(b.iter().skip(offset)).for_each(|(o, v)| *o += gain_b * v);
    let mut before: Vec<f32> = (offset as i64 - context as i64..offset as i64)
        .map(|i| usize::try_from(i).ok().and_then(|i| b.get(i)).map_or(0.0, |v| gain_b * v))
        .collect();
    let p = peak(&out);
    if p > 1e-6 {
        out.iter_mut().chain(before.iter_mut()).for_each(|v| *v /= p);
    }
    (before, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn sine(f: f32, n: usize, sr: f32) -> Vec<f32> {
        (0..n).map(|i| (std::f32::consts::TAU * f * i as f32 / sr).sin()).collect()
    }

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt()
    }

    #[test]
    fn pitch_shift_by_an_octave_doubles_frequency() {
        let sr = 44_100.0;
        let x = sine(441.0, 44_100, sr);
        let y = pitch_shift(&x, 12.0);
        assert_eq!(y.len(), 22_050);
        // 882 Hz now: 220.5 upward zero crossings in a quarter second.
        let crossings = |s: &[f32]| s.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
        let c = crossings(&y[..11_025]);
        assert!((c as i32 - 220).abs() <= 1, "{c} crossings in 0.25 s");
    }

    #[test]
    fn chain_is_deterministic_finite_and_normalised() {
        let x: Vec<f32> =
            sine(180.0, 20_000, 44_100.0).iter().enumerate().map(|(i, v)| v * (-(i as f32) / 4000.0).exp()).collect();
        let run = |seed| random_chain(&x, 44_100.0, 1.0, &mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
        let (a, b) = (run(5), run(5));
        assert_eq!(a, b);
        for seed in 0..20 {
            let y = run(seed);
            assert!(y.iter().all(|v| v.is_finite()));
            assert!((peak(&y) - 1.0).abs() < 1e-4);
        }
    }

    #[test]
    fn bleed_adds_the_earlier_sounds_tail_and_keeps_the_length() {
        let a = vec![0.5f32; 100];
        let b: Vec<f32> = (0..300).map(|i| i as f32 / 300.0).collect();
        let (before, y) = bleed(&a, &b, 200, 0.5, 250);
        assert_eq!(y.len(), a.len());
        // Before normalising: 0.5 + 0.5 * (200 + i) / 300, largest at the end.
        let raw: Vec<f32> = (0..100).map(|i| 0.5 + 0.5 * (200 + i) as f32 / 300.0).collect();
        let peak = raw[99];
        for (got, want) in y.iter().zip(&raw) {
            assert!((got - want / peak).abs() < 1e-6);
        }
        // The context is b's last 200 samples before a, after 50 of silence, at the same gain.
        assert_eq!(before.len(), 250);
        assert!(before[..50].iter().all(|&v| v == 0.0));
        for (i, got) in before[50..].iter().enumerate() {
            assert!((got - 0.5 * b[i] / peak).abs() < 1e-6);
        }
        // A tail shorter than the hit only covers its start.
        assert_eq!(bleed(&a, &b, 290, 1.0, 0).1.len(), 100);
    }

    #[test]
    fn timbre_keeps_length_stays_finite_and_changes_the_sound_only_when_asked() {
        use rand::SeedableRng;
        let mut x = sine(200.0, 22_050, 44_100.0);
        normalise_peak(&mut x);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let same = timbre(&x, 44_100.0, 0.0, &mut rng);
        assert_eq!(same.len(), x.len());
        assert!(same.iter().zip(&x).all(|(a, b)| (a - b).abs() < 1e-6), "p = 0 only normalises");
        let changed = timbre(&x, 44_100.0, 1.0, &mut rng);
        assert_eq!(changed.len(), x.len());
        assert!(changed.iter().all(|v| v.is_finite()));
        assert!((peak(&changed) - 1.0).abs() < 1e-4);
        assert!(changed.iter().zip(&x).any(|(a, b)| (a - b).abs() > 1e-2), "p = 1 changes the sound");
    }

    #[test]
    fn reverb_keeps_length_and_adds_tail_energy() {
        let mut x = vec![0.0; 22_050];
        x[0] = 1.0;
        let y = reverb(&x, 0.5, 0.5, 44_100.0, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1));
        assert_eq!(y.len(), x.len());
        assert!(rms(&y[1000..5000]) > 1e-4);
    }
}
