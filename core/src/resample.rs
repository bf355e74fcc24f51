//! Band-limited sample-rate conversion of whole mono clips to the model rate.
//!
//! The decoder hands every file to the model at one rate, so each clip goes through here once.
//! Two rubato resamplers cover every rate pair fast enough for a library scan:
//! - rate pairs with a small common block (44.1k <-> 48k, 22.05k, 96k, 192k, 8k, ...) use rubato's
//!   FFT resampler, which is exact for a rational ratio and costs a few FFTs of a few hundred points;
//! - odd rates (39,063 Hz and friends, whose block would be thousands of points) use rubato's
//!   windowed-sinc resampler with a short filter.
//!
//! Resamplers are expensive to build (filter design, FFT plans) and cheap to run, so each thread
//! keeps the ones it has built, keyed by rate pair. The output is trimmed so an event at input
//! time `t` appears at output time `t` (the resampler's latency is removed) and the length is
//! always [`output_len`].

use std::cell::RefCell;
use std::collections::HashMap;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, Fft, FixedAsync, FixedSync, Resampler, SincInterpolationParameters, SincInterpolationType, WindowFunction,
};

/// Largest input block (`from / gcd(from, to)`) for which the FFT resampler is used. Above this
/// the FFT would be thousands of points of an awkward size, and the sinc resampler is faster.
const MAX_FFT_BLOCK_IN: u32 = 2048;

/// Frames per processing call. Large enough that per-call overhead vanishes, small enough that
/// the scratch buffers stay in cache.
const CHUNK_FRAMES: usize = 1024;

/// Taps of the sinc filter for odd rates: a -3 dB point near 0.93 of Nyquist with a
/// Blackman-Harris window keeps aliasing far below what a drum classifier can hear, at a cost of
/// two dot products of this length per output sample.
const SINC_LEN: usize = 128;

/// Pre-computed sub-sample positions of the sinc; linear interpolation between neighbours. 256
/// puts the interpolation error near -100 dB.
const SINC_OVERSAMPLING: usize = 256;

/// Resamplers kept per thread before the cache is emptied; a library rarely has more than a
/// handful of distinct rates, this only bounds memory for pathological inputs.
const MAX_CACHED: usize = 16;

thread_local! {
    /// Built resamplers by `(from, to)`; per thread because rubato's resamplers hold scratch
    /// state and decoding runs on worker threads in parallel.
    static CACHE: RefCell<HashMap<(u32, u32), Prepared>> = RefCell::new(HashMap::new());
}

/// Leading zeros tried when aligning a resampler's latency to a whole output sample.
const MAX_PAD_IN: usize = 512;

/// A rubato resampler plus what it takes to make its output start exactly at input time zero.
///
/// rubato trims its latency in whole output frames, but the true latency is fractional for some
/// rate pairs (odd FFT sizes, the sinc resampler), which would shift every clip by up to a
/// sample. Prepending `pad_in` zero input frames adds `pad_in * to / from` output frames of delay;
/// `pad_in` is chosen so the total is (within ~1/500 of a frame) the whole number `trim_out`,
/// which is then dropped.
struct Prepared {
    resampler: Box<dyn Resampler<f32>>,
    /// Zero frames put in front of the input.
    pad_in: usize,
    /// Output frames dropped from the front of rubato's (already delay-trimmed) output.
    trim_out: usize,
}

/// Largest |sample| handed to rubato; louder input is scaled down to it and back up after.
const LOUDEST: f32 = 1e15;

/// Number of output frames for `input_len` frames at `from` Hz resampled to `to` Hz:
/// `round(input_len * to / from)`, computed exactly. Zero when `from` is zero.
pub fn output_len(input_len: usize, from: u32, to: u32) -> usize {
    if from == 0 {
        return 0;
    }
    let num = input_len as u128 * u128::from(to) + u128::from(from) / 2;
    usize::try_from(num / u128::from(from)).unwrap_or(usize::MAX)
}

/// Resamples mono `input` from `from` Hz to `to` Hz with a band-limited (anti-aliased) filter.
///
/// The result has exactly [`output_len`]`(input.len(), from, to)` samples and no delay: the
/// resampler's latency is compensated, so output sample `k` corresponds to input time
/// `k / to` seconds. Samples beyond the ends of `input` are taken as silence. When the rates are
/// equal the input is returned unchanged; when either rate is zero the result is empty.
pub fn resample(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to {
        return input.to_vec();
    }
    let out_len = output_len(input.len(), from, to);
    if from == 0 || to == 0 || input.is_empty() {
        return vec![0.0; out_len];
    }
    // rubato's FFT panics on a spectrum that is not finite: NaN or infinite samples, or samples
    // so large (near f32::MAX) that the transform overflows (found by fuzzing). Non-finite
    // samples are taken as silence, and loud input is scaled into range and back: resampling is
    // linear.
    let peak = input.iter().filter(|x| x.is_finite()).fold(0f32, |m, x| m.max(x.abs()));
    let scale = if peak > LOUDEST { peak / LOUDEST } else { 1.0 };
    let clean: std::borrow::Cow<[f32]> = if scale == 1.0 && input.iter().all(|x| x.is_finite()) {
        std::borrow::Cow::Borrowed(input)
    } else {
        input.iter().map(|&x| if x.is_finite() { x / scale } else { 0.0 }).collect()
    };
    let input = &clean[..];
    let result = CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if !cache.contains_key(&(from, to)) {
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
            let built = prepare(from, to)?;
            cache.insert((from, to), built);
        }
        let prepared = cache.get_mut(&(from, to)).ok_or("resampler cache miss")?;
        run(prepared, input)
    });
    match result {
        Ok(mut out) => {
            out.resize(out_len, 0.0);
            if scale != 1.0 {
                out.iter_mut().for_each(|x| *x = (*x * scale).clamp(-f32::MAX, f32::MAX));
            }
            out
        }
        // rubato only fails on inconsistent buffer sizes or rates, which the checks above rule
        // out; keep the length promise rather than panic in a library scan.
        Err(_) => {
            debug_assert!(false, "rubato failed for {from} -> {to}");
            linear_fallback(input, from, to, out_len)
        }
    }
}

/// Runs a whole clip through `prepared`, returning the aligned output (at least as long as the
/// ideal output; the caller cuts it to length).
fn run(prepared: &mut Prepared, input: &[f32]) -> Result<Vec<f32>, &'static str> {
    // Two trailing zeros make sure the last wanted output frame is computed, not padded.
    let mut padded = Vec::with_capacity(prepared.pad_in + input.len() + 2);
    padded.resize(prepared.pad_in, 0.0);
    padded.extend_from_slice(input);
    padded.extend_from_slice(&[0.0, 0.0]);
    let adapter = InterleavedSlice::new(&padded[..], 1, padded.len()).map_err(|_| "adapter size")?;
    let out = prepared.resampler.process_all(&adapter, padded.len(), None).map_err(|_| "rubato process")?;
    let mut out = out.take_data();
    out.drain(..prepared.trim_out.min(out.len()));
    Ok(out)
}

/// Builds the resampler for a rate pair and measures how to align its output.
fn prepare(from: u32, to: u32) -> Result<Prepared, &'static str> {
    let mut prepared = Prepared { resampler: build(from, to)?, pad_in: 0, trim_out: 0 };
    let residual = measure_delay(&mut prepared, from, to)?;
    let ratio = f64::from(to) / f64::from(from);
    let mut best = (f64::INFINITY, 0, 0);
    for pad in 0..=MAX_PAD_IN {
        let total = residual + pad as f64 * ratio;
        let whole = total.round();
        let err = (total - whole).abs();
        if whole >= 0.0 && err < best.0 {
            best = (err, pad, whole as usize);
            if err < 1e-3 {
                break;
            }
        }
    }
    prepared.pad_in = best.1;
    prepared.trim_out = best.2;
    Ok(prepared)
}

/// Delay (in output frames) left in `prepared`'s output, measured from the phase of a sine well
/// inside the pass band. Positive means the output lags the input.
fn measure_delay(prepared: &mut Prepared, from: u32, to: u32) -> Result<f64, &'static str> {
    let freq = f64::from(from.min(to)) / 32.0;
    let len = 16_384;
    let step = std::f64::consts::TAU * freq / f64::from(from);
    let probe: Vec<f32> = (0..len).map(|n| (step * n as f64).sin() as f32).collect();
    let out = run(prepared, &probe)?;
    let w = std::f64::consts::TAU * freq / f64::from(to);
    let (lo, hi) = (out.len() / 4, out.len() * 3 / 4);
    // Least squares fit out[k] ~ a sin(wk) + b cos(wk) = r sin(w (k - delay)).
    let (mut ss, mut sc, mut cc, mut ys, mut yc) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (k, y) in out.iter().enumerate().take(hi).skip(lo) {
        let (s, c) = (w * k as f64).sin_cos();
        let y = f64::from(*y);
        ss += s * s;
        sc += s * c;
        cc += c * c;
        ys += y * s;
        yc += y * c;
    }
    let det = ss * cc - sc * sc;
    if det.abs() < f64::EPSILON {
        return Err("delay probe too short");
    }
    let a = (ys * cc - yc * sc) / det;
    let b = (yc * ss - ys * sc) / det;
    // The period is >= 32 output frames and rubato's own trim is within a frame or two, so the
    // principal value of the phase is the delay.
    Ok(-b.atan2(a) / w)
}

/// Picks the resampler for a rate pair (see the module docs for why two kinds).
fn build(from: u32, to: u32) -> Result<Box<dyn Resampler<f32>>, &'static str> {
    let block_in = from / gcd(from, to);
    if block_in <= MAX_FFT_BLOCK_IN {
        let fft = Fft::<f32>::new(from as usize, to as usize, CHUNK_FRAMES, 1, FixedSync::Input)
            .map_err(|_| "rubato fft construction")?;
        Ok(Box::new(fft))
    } else {
        let params = SincInterpolationParameters::new(SINC_LEN, WindowFunction::BlackmanHarris2)
            .oversampling_factor(SINC_OVERSAMPLING)
            .interpolation(SincInterpolationType::Linear);
        let ratio = f64::from(to) / f64::from(from);
        let sinc = Async::<f32>::new_sinc(ratio, 1.0, &params, CHUNK_FRAMES, 1, FixedAsync::Input)
            .map_err(|_| "rubato sinc construction")?;
        Ok(Box::new(sinc))
    }
}

/// Greatest common divisor, for the FFT block size.
fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

/// Last-resort linear interpolation, only reached if rubato reports an error.
fn linear_fallback(input: &[f32], from: u32, to: u32, out_len: usize) -> Vec<f32> {
    let step = f64::from(from) / f64::from(to);
    (0..out_len)
        .map(|k| {
            let pos = k as f64 * step;
            let i = pos.floor() as usize;
            let frac = (pos - i as f64) as f32;
            let a = input.get(i).copied().unwrap_or(0.0);
            let b = input.get(i + 1).copied().unwrap_or(0.0);
            a + (b - a) * frac
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::TAU;

    fn sine(freq: f64, rate: u32, len: usize) -> Vec<f32> {
        (0..len).map(|n| (0.5 * (TAU * freq * n as f64 / f64::from(rate)).sin()) as f32).collect()
    }

    /// Largest deviation from the analytic sine at `to`, away from both ends (where the clip's
    /// hard start and stop are not a sine).
    fn max_error(out: &[f32], freq: f64, to: u32) -> f32 {
        let edge = (to / 50) as usize;
        let expected = sine(freq, to, out.len());
        out[edge..out.len() - edge].iter().zip(&expected[edge..]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
    }

    #[test]
    fn length_rule_is_rounded_ratio() {
        assert_eq!(output_len(48_000, 48_000, 44_100), 44_100);
        assert_eq!(output_len(1, 48_000, 44_100), 1);
        assert_eq!(output_len(39_063, 39_063, 44_100), 44_100);
        // 1000 * 44100 / 39063 = 1128.95 -> 1129
        assert_eq!(output_len(1000, 39_063, 44_100), 1129);
        // 7 * 44100 / 96000 = 3.2156 -> 3
        assert_eq!(output_len(7, 96_000, 44_100), 3);
        assert_eq!(output_len(10, 0, 44_100), 0);
        for (len, from) in [(12_345, 48_000), (777, 39_063), (5, 8_000), (65_536, 192_000)] {
            assert_eq!(resample(&vec![0.1; len], from, 44_100).len(), output_len(len, from, 44_100));
        }
    }

    #[test]
    fn equal_rates_pass_through() {
        let x = sine(440.0, 44_100, 1000);
        assert_eq!(resample(&x, 44_100, 44_100), x);
    }

    #[test]
    fn sine_48k_to_44k1_keeps_frequency_amplitude_and_phase() {
        let out = resample(&sine(440.0, 48_000, 48_000), 48_000, 44_100);
        assert_eq!(out.len(), 44_100);
        let err = max_error(&out, 440.0, 44_100);
        assert!(err < 1e-5, "max error {err}");
    }

    #[test]
    fn sine_39063_to_44k1_keeps_frequency_amplitude_and_phase() {
        let out = resample(&sine(440.0, 39_063, 39_063), 39_063, 44_100);
        assert_eq!(out.len(), 44_100);
        let err = max_error(&out, 440.0, 44_100);
        assert!(err < 1e-4, "max error {err}");
        // A high partial also survives at the right place (a delay error grows with frequency).
        let out = resample(&sine(5_000.0, 39_063, 39_063), 39_063, 44_100);
        let err = max_error(&out, 5_000.0, 44_100);
        assert!(err < 1e-3, "max error at 5 kHz {err}");
    }

    #[test]
    fn upsampling_from_8k_and_downsampling_from_192k() {
        for from in [8_000, 22_050, 32_000, 96_000, 192_000] {
            let out = resample(&sine(440.0, from, from as usize / 2), from, 44_100);
            assert_eq!(out.len(), 22_050);
            let err = max_error(&out, 440.0, 44_100);
            assert!(err < 1e-5, "{from}: max error {err}");
        }
    }

    #[test]
    fn content_above_target_nyquist_is_removed() {
        // 30 kHz at 96 kHz would alias to 14.1 kHz at 44.1 kHz without a proper filter.
        let out = resample(&sine(30_000.0, 96_000, 96_000), 96_000, 44_100);
        let edge = 2_000;
        let peak = out[edge..out.len() - edge].iter().fold(0.0f32, |m, x| m.max(x.abs()));
        assert!(peak < 1e-3, "aliased residue {peak}");
    }
}
