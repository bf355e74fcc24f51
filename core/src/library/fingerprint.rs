//! A model-free fingerprint of a sound's first second, to confirm that two files hold the same
//! sound. The model's embedding is trained to tell classes apart, so every 808 kick sits near
//! every other: good for finding candidates, not for saying "this is a copy". The fingerprint
//! is the log-mel spectrogram of the audio from its onset, peak-normalised (gain changes vanish),
//! compared only where both files have audio (a trimmed tail is not a difference) and only in bands
//! both sample rates can hold (a 22 kHz copy has nothing above 11 kHz), with everything more than
//! 50 dB below the loudest band treated as silence (re-encoding noise is not a difference).

use std::path::Path;
use std::sync::Arc;

use crate::classifier::prepare_features;
use crate::decode::{decode_file, DecodeError, DecodeOptions};
use crate::mel::{hz_to_mel, mel_to_hz, MelConfig, MelSpectrogram};

/// Audio compared, seconds from the onset.
pub const SECONDS: f32 = 1.0;

/// Fewest frames (10 ms each) two files must both have audio in to be compared.
const MIN_FRAMES: usize = 4;

/// Range kept below the loudest band, natural-log power units (50 dB): below that, 8-bit
/// quantisation noise and resampler leakage would count as differences.
const RANGE: f32 = 11.51;

/// Bands compared: those centred below this fraction of the lower sample rate (the resampler's
/// anti-alias filter starts rolling off above it).
const BAND_LIMIT: f32 = 0.4;

/// Waveform kept for [`correlation`], seconds from the onset.
const WAVE_SECONDS: f32 = 0.1;

/// Largest misalignment of two copies' onsets searched by [`correlation`], seconds.
const MAX_LAG_S: f32 = 0.002;

/// Log-mel of a sound's first [`SECONDS`] and its first [`WAVE_SECONDS`] of waveform, ready for
/// [`distance`] and [`correlation`].
#[derive(Clone, Debug, PartialEq)]
pub struct Fingerprint {
    /// Frames holding audio (the rest of the window was padding).
    frames: usize,
    /// Mel bands whose centre lies below [`BAND_LIMIT`] of the file's own sample rate.
    bands: usize,
    n_mels: usize,
    /// `frames * n_mels` log energies, time-major.
    data: Vec<f32>,
    /// The file's own sample rate (what its copy at another rate can share with it).
    source_rate: u32,
    /// Mel-rate samples from the onset, [`WAVE_SECONDS`] long at most.
    wave: Vec<f32>,
}

/// Decoder and mel front end for fingerprints; share one across threads.
#[derive(Debug, Clone)]
pub struct Fingerprinter {
    mel: Arc<MelSpectrogram>,
    opts: DecodeOptions,
}

impl Default for Fingerprinter {
    fn default() -> Self {
        let cfg = MelConfig::default();
        let opts = DecodeOptions { target_rate: cfg.sample_rate, max_seconds: SECONDS, ..DecodeOptions::default() };
        Self { mel: Arc::new(MelSpectrogram::new(&cfg)), opts }
    }
}

impl Fingerprinter {
    /// The rate fingerprints' waveforms are at.
    pub fn sample_rate(&self) -> u32 {
        self.mel.config().sample_rate
    }

    /// The fingerprint of an audio file.
    pub fn of_file(&self, path: &Path) -> Result<Fingerprint, DecodeError> {
        let d = decode_file(path, &self.opts)?;
        Ok(self.of_samples(&d.samples, d.info.sample_rate))
    }

    /// The fingerprint of decoder output (mono, at the mel rate, starting at the onset) from a
    /// file whose own rate was `source_rate`.
    pub fn of_samples(&self, samples: &[f32], source_rate: u32) -> Fingerprint {
        let cfg = self.mel.config();
        // Start at the first sample within 40 dB of the peak: the decoder keeps a few ms of
        // pre-roll when the file has them and none when the sound starts at sample 0, and half a
        // 10 ms hop of offset would read as a difference.
        let peak = samples.iter().fold(0f32, |m, v| m.max(v.abs()));
        let start = samples.iter().position(|v| v.abs() >= peak * 0.01).unwrap_or(0);
        let samples = &samples[start..];
        let f = prepare_features(&self.mel, samples, SECONDS);
        let frames = cfg.n_frames(samples.len()).min(f.frames);
        let mut data = f.data;
        data.truncate(frames * cfg.n_mels);
        let (mlo, mhi) = (hz_to_mel(cfg.fmin), hz_to_mel(cfg.fmax));
        let nyquist = BAND_LIMIT * source_rate.min(cfg.sample_rate) as f32;
        let bands = (0..cfg.n_mels)
            .take_while(|&i| mel_to_hz(mlo + (mhi - mlo) * (i + 1) as f32 / (cfg.n_mels + 1) as f32) < nyquist)
            .count();
        let wave = samples[..samples.len().min((WAVE_SECONDS * cfg.sample_rate as f32) as usize)].to_vec();
        Fingerprint { frames, bands, n_mels: cfg.n_mels, data, source_rate, wave }
    }
}

/// How alike two fingerprints' waveforms are: the largest normalised cross-correlation (by
/// magnitude, so a polarity flip is still a copy) of their first [`WAVE_SECONDS`] over onset
/// misalignments up to [`MAX_LAG_S`], after low-passing both to the band the lower of their
/// sample rates holds. Copies of one recording (other gain, bit depth, sample rate, a trimmed tail)
/// score close to 1; two recordings of similar drums do not, because their noise and the phase of
/// their partials differ even where their spectra agree. `None` when either is too short.
pub fn correlation(a: &Fingerprint, b: &Fingerprint, sample_rate: u32) -> Option<f32> {
    let n = a.wave.len().min(b.wave.len());
    let lag = (MAX_LAG_S * sample_rate as f32) as usize;
    if n < 4 * lag.max(1) {
        return None;
    }
    let cutoff = BAND_LIMIT * a.source_rate.min(b.source_rate).min(sample_rate) as f32;
    let filtered = |w: &[f32]| {
        let mut x = w.to_vec();
        for q in [0.54, 1.31] {
            crate::dsp::Biquad::lowpass(cutoff, q, sample_rate as f32).process(&mut x);
        }
        x
    };
    let (x, y) = (filtered(&a.wave[..n]), filtered(&b.wave[..n]));
    let m = n - lag;
    let energy = |s: &[f32]| s.iter().map(|v| f64::from(*v) * f64::from(*v)).sum::<f64>();
    let xs = &x[lag..m];
    let ex = energy(xs);
    let mut best = 0f64;
    for shift in 0..=2 * lag {
        // x[i + lag] against y[i + shift], i.e. y moved by (shift - lag) samples.
        let ys = &y[shift..shift + m - lag];
        let dot: f64 = xs.iter().zip(ys).map(|(p, q)| f64::from(*p) * f64::from(*q)).sum();
        let norm = (ex * energy(ys)).sqrt();
        if norm > 0.0 {
            best = best.max(dot.abs() / norm);
        }
    }
    Some(best as f32)
}

/// Mean absolute difference of two fingerprints in natural-log power units (1 unit = 4.3 dB)
/// over the frames and bands both hold, each taken relative to its own loudest cell there and
/// floored [`RANGE`] below it (the time-domain peak normalisation shifts a low-passed copy's
/// bands by a constant; this removes it); `None` when they share too little audio to judge.
pub fn distance(a: &Fingerprint, b: &Fingerprint) -> Option<f32> {
    let frames = a.frames.min(b.frames);
    let bands = a.bands.min(b.bands);
    if frames < MIN_FRAMES || bands == 0 || a.n_mels != b.n_mels {
        return None;
    }
    let shared = |f: &Fingerprint| -> Vec<f32> {
        (0..frames).flat_map(|t| f.data[t * f.n_mels..][..bands].iter().copied()).collect()
    };
    let (ca, cb) = (shared(a), shared(b));
    let top = |c: &[f32]| c.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let (ta, tb) = (top(&ca), top(&cb));
    let sum: f64 =
        ca.iter().zip(&cb).map(|(x, y)| f64::from(((x - ta).max(-RANGE) - (y - tb).max(-RANGE)).abs())).sum();
    Some((sum / (frames * bands) as f64) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::Demo;

    fn write(path: &Path, samples: &[f32], rate: u32, bits: u16) {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: rate,
            bits_per_sample: bits,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        let scale = ((1i64 << (bits - 1)) - 1) as f32;
        for v in samples {
            w.write_sample((v.clamp(-1.0, 1.0) * scale) as i32).unwrap();
        }
        w.finalize().unwrap();
    }

    /// The criterion [`crate::library::duplicates`] relies on: every kind of variant of a sound
    /// is inside [`crate::library::duplicates::NEAR_FINGERPRINT`], every other sound outside. (Another seed of the same recipe is not "another sound": for the noise-based
    /// ones only the fine grain of the noise differs, which a mel band averages away.)
    #[test]
    fn variants_are_close_and_other_sounds_are_far() {
        let dir = crate::index::tests::temp_dir("fingerprint");
        let fp = Fingerprinter::default();
        let threshold = crate::library::duplicates::NEAR_FINGERPRINT;
        let min_corr = crate::library::duplicates::MIN_CORRELATION;
        for demo in [Demo::Kick, Demo::Snare, Demo::ClosedHat, Demo::OpenHat, Demo::Crash, Demo::Clap] {
            let x = demo.render(44_100, 7);
            write(&dir.join("orig.wav"), &x, 44_100, 16);
            let mut padded = vec![0.0; 2205];
            padded.extend(x.iter().copied());
            let variants = [
                ("gain", x.iter().map(|v| v * 0.25).collect::<Vec<_>>(), 44_100, 16),
                ("24-bit", x.clone(), 44_100, 24),
                ("8-bit", x.clone(), 44_100, 8),
                ("22 kHz", crate::resample::resample(&x, 44_100, 22_050), 22_050, 16),
                ("48 kHz", crate::resample::resample(&x, 44_100, 48_000), 48_000, 16),
                ("tail trimmed", x[..x.len() * 6 / 10].to_vec(), 44_100, 16),
                ("silence added", padded, 44_100, 16),
            ];
            let orig = fp.of_file(&dir.join("orig.wav")).unwrap();
            for (what, samples, rate, bits) in variants {
                write(&dir.join("variant.wav"), &samples, rate, bits);
                let variant = fp.of_file(&dir.join("variant.wav")).unwrap();
                let d = distance(&orig, &variant).unwrap();
                assert!(d < threshold, "{demo:?} {what}: {d}");
                let c = correlation(&orig, &variant, 44_100).unwrap();
                assert!(c >= min_corr, "{demo:?} {what}: correlation {c}");
            }
            let others = [Demo::Kick, Demo::Snare, Demo::ClosedHat, Demo::OpenHat, Demo::Crash, Demo::Clap, Demo::Tom];
            for other in others.into_iter().filter(|&o| o != demo) {
                write(&dir.join("other.wav"), &other.render(44_100, 7), 44_100, 16);
                let d = distance(&orig, &fp.of_file(&dir.join("other.wav")).unwrap()).unwrap();
                assert!(d > threshold, "{demo:?} vs {other:?}: {d}");
            }
            // Another render of a noise-based recipe (other noise, the same spectrum: 0.18 apart
            // for the hats) is another recording: the spectra agree, the waveforms do not.
            if matches!(demo, Demo::ClosedHat | Demo::OpenHat | Demo::Crash | Demo::Clap) {
                write(&dir.join("again.wav"), &demo.render(44_100, 8), 44_100, 16);
                let again = fp.of_file(&dir.join("again.wav")).unwrap();
                let c = correlation(&orig, &again, 44_100).unwrap();
                assert!(c < min_corr, "{demo:?}, another render: correlation {c}");
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn too_little_shared_audio_is_no_verdict() {
        let fp = Fingerprinter::default();
        let x = Demo::Snare.render(44_100, 1);
        let short = fp.of_samples(&x[..300], 44_100);
        assert_eq!(distance(&fp.of_samples(&x, 44_100), &short), None);
    }
}
