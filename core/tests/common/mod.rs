//! Shared by the decoder tests (`decode.rs` for formats, `decode_errors.rs` for failure cases):
//! the test tone, WAV writers (hound, and hand-built RIFF chunks for what hound cannot write), the
//! committed codec fixtures and the comparison with the formula.
//!
//! Every file holds the same decaying 440 Hz tone with a 2 ms fade-in, so the decoded output can
//! be compared with the formula evaluated at the output rate.

// Each test binary compiles this module and uses a different subset of it.
#![allow(dead_code)]

use std::f64::consts::PI;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use drumsort_core::decode::{decode_file, DecodeOptions, Decoded};

/// Peak amplitude, frequency (Hz), decay time constant and fade-in length (s) of the test tone.
pub const A: f64 = 0.5;
const F: f64 = 440.0;
const TAU: f64 = 0.08;
const RAMP: f64 = 0.002;
/// Onset of the synthesized WAVs (the fixtures use 0.05 s, see gen_source.py).
pub const T0: f64 = 0.1;
/// Length of the synthesized WAVs: longer than onset + 1.5 s, so the analysed region is full.
pub const LEN: f64 = 2.0;
/// The decoder's default output rate.
pub const OUT_RATE: u32 = 44_100;

/// The test tone: silence until `t0`, then a decaying sine with a short fade-in.
pub fn tone(t: f64, t0: f64) -> f64 {
    let u = t - t0;
    if u < 0.0 {
        return 0.0;
    }
    let w = if u < RAMP { (PI * u / (2.0 * RAMP)).sin().powi(2) } else { 1.0 };
    A * w * (-u / TAU).exp() * (2.0 * PI * F * u).sin()
}

/// A scratch directory removed on drop; unique per test so tests run in parallel.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("drumsort-decode-{}-{name}-{n}", std::process::id()));
        fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }
    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Sample format of a synthesized WAV.
#[derive(Clone, Copy, Debug)]
pub enum Fmt {
    Int(u16),
    F32,
}

/// Writes the tone with hound; channel `c` carries `gains[c] * tone`.
pub fn write_wav(path: &Path, rate: u32, fmt: Fmt, gains: &[f64], len_s: f64) {
    let (bits, sample_format) = match fmt {
        Fmt::Int(b) => (b, hound::SampleFormat::Int),
        Fmt::F32 => (32, hound::SampleFormat::Float),
    };
    let spec = hound::WavSpec { channels: gains.len() as u16, sample_rate: rate, bits_per_sample: bits, sample_format };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for n in 0..(len_s * f64::from(rate)).round() as usize {
        let x = tone(n as f64 / f64::from(rate), T0);
        for g in gains {
            match fmt {
                Fmt::Int(b) => {
                    let scale = f64::from(1u32 << (b - 1));
                    let v = (x * g * scale).round().clamp(-scale, scale - 1.0) as i32;
                    w.write_sample(v).expect("write");
                }
                Fmt::F32 => w.write_sample((x * g) as f32).expect("write"),
            }
        }
    }
    w.finalize().expect("finalize wav");
}

/// A RIFF chunk with its pad byte.
pub fn chunk(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = id.to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(body);
    if body.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// A plain `fmt ` chunk body (16 bytes, or 18 with cbSize for non-PCM tags).
pub fn fmt_body(tag: u16, channels: u16, rate: u32, bits: u16) -> Vec<u8> {
    let block = channels * bits / 8;
    let mut b = Vec::new();
    b.extend_from_slice(&tag.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
    b.extend_from_slice(&block.to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    if tag != 1 {
        b.extend_from_slice(&0u16.to_le_bytes());
    }
    b
}

/// `RIFF....WAVE` around `chunks`.
pub fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = chunks.concat();
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32 + 4).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(&body);
    out
}

/// 16-bit mono PCM data of the tone.
pub fn pcm16(rate: u32, len_s: f64) -> Vec<u8> {
    (0..(len_s * f64::from(rate)).round() as usize)
        .flat_map(|n| (((tone(n as f64 / f64::from(rate), T0) * 32768.0).round()) as i16).to_le_bytes())
        .collect()
}

/// Decodes with the default options; panics with the path and error if decoding fails.
pub fn decode(path: &Path) -> Decoded {
    decode_file(path, &DecodeOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Compares the output with `gain * tone` at the output rate, from the reported region start,
/// ignoring output after `valid_until_s` in file time (hard file ends are not band-limited).
pub fn assert_matches(d: &Decoded, gain: f64, t0: f64, tol: f64, valid_until_s: f64) {
    assert_eq!(d.sample_rate, OUT_RATE);
    let onset = d.info.onset_s;
    assert!(onset >= t0 - 0.0051 && onset <= t0 - 0.005 + 0.003, "region starts at {onset}, tone at {t0}");
    let mut worst = (0.0, 0);
    for (k, &y) in d.samples.iter().enumerate() {
        let t = onset + k as f64 / f64::from(OUT_RATE);
        if t > valid_until_s {
            break;
        }
        let err = (f64::from(y) - gain * tone(t, t0)).abs();
        if err > worst.0 {
            worst = (err, k);
        }
    }
    assert!(worst.0 < tol, "max error {:.2e} at output sample {} (tol {tol:.1e})", worst.0, worst.1);
}

/// The committed fixtures: `(file, container, codec, rate, channels, mono gain, lossless)`.
pub const FIXTURES: &[(&str, &str, &str, u32, u16, f64, bool)] = &[
    ("tone_mono.flac", "flac", "flac", 44_100, 1, 1.0, true),
    ("tone_stereo_32k_s24.flac", "flac", "flac", 32_000, 2, 0.75, true),
    ("tone_mono.aiff", "aiff", "pcm_s16be", 44_100, 1, 1.0, true),
    ("tone_mono_22k_f32.aifc", "aiff", "pcm_f32be", 22_050, 1, 1.0, true),
    ("tone_stereo.mp3", "mp3", "mp3", 44_100, 2, 0.75, false),
    ("tone_mono_48k.mp3", "mp3", "mp3", 48_000, 1, 1.0, false),
    ("tone_mono.ogg", "ogg", "vorbis", 44_100, 1, 1.0, false),
    ("tone_stereo_48k.ogg", "ogg", "vorbis", 48_000, 2, 0.75, false),
];
/// Onset and length of the fixture tone (gen_source.py).
pub const FIX_T0: f64 = 0.05;
pub const FIX_LEN: f64 = 0.3;

/// Path of a committed fixture; fails saying how to regenerate it if it is missing.
pub fn fixture(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    assert!(path.exists(), "missing fixture {}: run core/fixtures-src/make_fixtures.sh", path.display());
    path
}
