//! Decoder behaviour on synthesized WAVs (every bit depth, channel count, rate and chunk layout
//! the decoder promises), on committed codec fixtures (FLAC, AIFF, AIFC, MP3, Ogg Vorbis; see
//! core/fixtures-src/make_fixtures.sh), and on files that must fail cleanly.
//!
//! Every file holds the same decaying 440 Hz tone with a 2 ms fade-in, so the decoded output can
//! be compared with the formula evaluated at the output rate.

use std::f64::consts::PI;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use drumsort_core::decode::{
    decode_bytes, decode_file, is_audio_extension, DecodeError, DecodeOptions, DecodeWarning, Decoded,
    AUDIO_EXTENSIONS,
};

const A: f64 = 0.5;
const F: f64 = 440.0;
const TAU: f64 = 0.08;
const RAMP: f64 = 0.002;
/// Onset of the synthesized WAVs (the fixtures use 0.05 s, see gen_source.py).
const T0: f64 = 0.1;
/// Length of the synthesized WAVs: longer than onset + 1.5 s, so the analysed region is full.
const LEN: f64 = 2.0;
const OUT_RATE: u32 = 44_100;

/// The test tone: silence until `t0`, then a decaying sine with a short fade-in.
fn tone(t: f64, t0: f64) -> f64 {
    let u = t - t0;
    if u < 0.0 {
        return 0.0;
    }
    let w = if u < RAMP { (PI * u / (2.0 * RAMP)).sin().powi(2) } else { 1.0 };
    A * w * (-u / TAU).exp() * (2.0 * PI * F * u).sin()
}

/// A scratch directory removed on drop; unique per test so tests run in parallel.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("drumsort-decode-{}-{name}-{n}", std::process::id()));
        fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }
    fn path(&self, file: &str) -> PathBuf {
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
enum Fmt {
    Int(u16),
    F32,
}

/// Writes the tone with hound; channel `c` carries `gains[c] * tone`.
fn write_wav(path: &Path, rate: u32, fmt: Fmt, gains: &[f64], len_s: f64) {
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
fn chunk(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = id.to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(body);
    if body.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// A plain `fmt ` chunk body (16 bytes, or 18 with cbSize for non-PCM tags).
fn fmt_body(tag: u16, channels: u16, rate: u32, bits: u16) -> Vec<u8> {
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
fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = chunks.concat();
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32 + 4).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(&body);
    out
}

/// 16-bit mono PCM data of the tone.
fn pcm16(rate: u32, len_s: f64) -> Vec<u8> {
    (0..(len_s * f64::from(rate)).round() as usize)
        .flat_map(|n| (((tone(n as f64 / f64::from(rate), T0) * 32768.0).round()) as i16).to_le_bytes())
        .collect()
}

fn decode(path: &Path) -> Decoded {
    decode_file(path, &DecodeOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Compares the output with `gain * tone` at the output rate, from the reported region start,
/// ignoring output after `valid_until_s` in file time (hard file ends are not band-limited).
fn assert_matches(d: &Decoded, gain: f64, t0: f64, tol: f64, valid_until_s: f64) {
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

/// Best normalised correlation of the output with the formula over lags of +-20 ms, for lossy
/// codecs (which keep the waveform only approximately). Returns `(lag in samples, correlation)`.
fn best_correlation(d: &Decoded, t0: f64, len_s: f64) -> (i64, f64) {
    let max_lag = 882i64;
    let sr = f64::from(OUT_RATE);
    let n = d.samples.len().min(((len_s - 0.01 - d.info.onset_s) * sr) as usize);
    let expected: Vec<f64> =
        (-max_lag..n as i64 + max_lag).map(|j| tone(d.info.onset_s + j as f64 / sr, t0)).collect();
    let y: Vec<f64> = d.samples[..n].iter().map(|&v| f64::from(v)).collect();
    let yy: f64 = y.iter().map(|v| v * v).sum();
    let mut best = (0, f64::MIN);
    for lag in -max_lag..=max_lag {
        let e = &expected[(lag + max_lag) as usize..][..n];
        let ee: f64 = e.iter().map(|v| v * v).sum();
        let ye: f64 = y.iter().zip(e).map(|(a, b)| a * b).sum();
        let c = ye / (yy * ee).sqrt();
        if c > best.1 {
            best = (lag, c);
        }
    }
    best
}

#[test]
fn wav_integer_bit_depths() {
    let dir = TempDir::new("bits");
    let cases = [(8, "pcm_u8", 8e-3), (16, "pcm_s16le", 1e-4), (24, "pcm_s24le", 1e-5), (32, "pcm_s32le", 1e-5)];
    for (bits, codec, tol) in cases {
        let path = dir.path(&format!("tone{bits}.wav"));
        write_wav(&path, OUT_RATE, Fmt::Int(bits), &[1.0], LEN);
        let d = decode(&path);
        assert_eq!(d.info.container, "wav");
        assert_eq!(d.info.codec, codec);
        assert_eq!(d.info.bits_per_sample, Some(u32::from(bits)));
        assert_eq!((d.info.sample_rate, d.info.channels), (OUT_RATE, 1));
        assert_eq!(d.info.duration_s, Some(LEN));
        assert_eq!(d.samples.len(), 66_150, "1.5 s at 44.1 kHz");
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        assert_matches(&d, 1.0, T0, tol, LEN);
    }
}

#[test]
fn wav_float32_and_hand_written_float64() {
    let dir = TempDir::new("float");
    let path = dir.path("f32.wav");
    write_wav(&path, OUT_RATE, Fmt::F32, &[1.0], LEN);
    let d = decode(&path);
    assert_eq!((d.info.codec.as_str(), d.info.bits_per_sample), ("pcm_f32le", Some(32)));
    assert_matches(&d, 1.0, T0, 1e-6, LEN);

    // hound cannot write 64-bit float: build WAVE_FORMAT_IEEE_FLOAT (3) with a fact chunk by hand.
    let rate = 48_000;
    let frames = (LEN * f64::from(rate)) as usize;
    let data: Vec<u8> =
        (0..frames).flat_map(|n| (0.8 * tone(n as f64 / f64::from(rate), T0)).to_le_bytes()).collect();
    let bytes = riff(&[
        chunk(b"fmt ", &fmt_body(3, 1, rate, 64)),
        chunk(b"fact", &(frames as u32).to_le_bytes()),
        chunk(b"data", &data),
    ]);
    let d = decode_bytes(bytes.clone(), Some("wav"), &DecodeOptions::default()).expect("f64 wav");
    assert_eq!((d.info.codec.as_str(), d.info.bits_per_sample), ("pcm_f64le", Some(64)));
    assert_eq!((d.info.sample_rate, d.info.duration_s), (rate, Some(LEN)));
    assert_matches(&d, 0.8, T0, 1e-4, LEN);
    // The file path gives the same result as the bytes path.
    let path = dir.path("f64.wav");
    fs::write(&path, &bytes).expect("write");
    assert_eq!(decode(&path).samples, d.samples);
}

#[test]
fn channel_counts_are_averaged() {
    let dir = TempDir::new("channels");
    for gains in [vec![1.0], vec![1.0, 0.5], vec![1.0, 0.9, 0.8, 0.7, 0.6, -0.5]] {
        let path = dir.path(&format!("ch{}.wav", gains.len()));
        // 6 channels and 24 bits make hound write WAVE_FORMAT_EXTENSIBLE.
        write_wav(&path, 48_000, Fmt::Int(24), &gains, LEN);
        let d = decode(&path);
        assert_eq!(usize::from(d.info.channels), gains.len());
        let mean = gains.iter().sum::<f64>() / gains.len() as f64;
        assert_matches(&d, mean, T0, 1e-4, LEN);
        let peak = d.samples.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        assert!((f64::from(d.info.peak) - f64::from(peak)).abs() < 0.01 * mean, "peak {} vs {peak}", d.info.peak);
    }
}

#[test]
fn odd_chunk_orders_and_padding() {
    let rate = 22_050;
    let data = pcm16(rate, LEN);
    let fmt = chunk(b"fmt ", &fmt_body(1, 1, rate, 16));
    // An INFO list with an odd-length string (pad byte) and a junk chunk of odd length.
    let mut info = b"INFO".to_vec();
    info.extend_from_slice(&chunk(b"ISFT", b"drumsort test\0"));
    info.extend_from_slice(&chunk(b"INAM", b"odd\0x"));
    let list = chunk(b"LIST", &info);
    let junk = chunk(b"junk", &[7u8; 13]);
    let layouts = [
        vec![list.clone(), fmt.clone(), chunk(b"data", &data)],
        vec![fmt.clone(), list.clone(), junk.clone(), chunk(b"data", &data)],
        vec![junk.clone(), fmt.clone(), chunk(b"data", &data), list.clone()],
    ];
    for (i, layout) in layouts.iter().enumerate() {
        let d = decode_bytes(riff(layout), Some("wav"), &DecodeOptions::default())
            .unwrap_or_else(|e| panic!("layout {i}: {e}"));
        assert_eq!(d.info.duration_s, Some(LEN), "layout {i}");
        assert_matches(&d, 1.0, T0, 3e-4, LEN);
    }
}

#[test]
fn non_standard_wav_headers_are_read_leniently() {
    let rate = 44_100;
    let data = pcm16(rate, LEN);
    let data_chunk = chunk(b"data", &data);
    // A 20-byte PCM fmt chunk (cbSize plus two stray bytes), as some sample editors write.
    let mut fmt20 = fmt_body(1, 1, rate, 16);
    fmt20.extend_from_slice(&[2, 0, 0, 0]);
    let mut riff_size_zero = riff(&[chunk(b"fmt ", &fmt_body(1, 1, rate, 16)), data_chunk.clone()]);
    riff_size_zero[4..8].copy_from_slice(&0u32.to_le_bytes());
    let mut data_size_zero = riff(&[chunk(b"fmt ", &fmt_body(1, 1, rate, 16)), data_chunk.clone()]);
    data_size_zero[40..44].copy_from_slice(&0u32.to_le_bytes());
    let cases = [
        ("fmt size 20", riff(&[chunk(b"fmt ", &fmt20), data_chunk.clone()])),
        ("RIFF size 0", riff_size_zero),
        ("data size 0", data_size_zero),
    ];
    for (what, bytes) in cases {
        let d = decode_bytes(bytes, Some("wav"), &DecodeOptions::default()).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(d.warnings, vec![DecodeWarning::NonStandardHeader], "{what}");
        assert_eq!((d.info.codec.as_str(), d.info.duration_s), ("pcm_s16le", Some(LEN)), "{what}");
        assert_matches(&d, 1.0, T0, 1e-4, LEN);
    }
}

#[test]
fn extensions_any_case_and_misnamed_files() {
    let dir = TempDir::new("ext");
    let src = dir.path("src.wav");
    write_wav(&src, OUT_RATE, Fmt::Int(16), &[1.0], 0.5);
    let reference = decode(&src).samples;
    for name in ["UPPER.WAV", "Mixed.Wave", "misnamed.mp3", "misnamed.flac", "no_extension"] {
        let path = dir.path(name);
        fs::copy(&src, &path).expect("copy");
        let d = decode(&path);
        assert_eq!(d.info.container, "wav", "{name}");
        assert_eq!(d.samples, reference, "{name}");
    }
    assert!(is_audio_extension(Path::new("X.AIFF")) && is_audio_extension(Path::new("x.Oga")));
    assert!(AUDIO_EXTENSIONS.iter().all(|e| is_audio_extension(Path::new(&format!("a.{}", e.to_uppercase())))));
    for name in ["notes.txt", "b", "c.wav.bak", ".wav", "d.m4a"] {
        assert!(!is_audio_extension(Path::new(name)), "{name}");
    }
}

#[test]
fn sample_rates_resample_to_44k1() {
    let dir = TempDir::new("rates");
    for rate in [8_000, 22_050, 39_063, 48_000, 96_000, 192_000] {
        let path = dir.path(&format!("r{rate}.wav"));
        write_wav(&path, rate, Fmt::Int(24), &[1.0], LEN);
        let d = decode(&path);
        assert_eq!(d.info.sample_rate, rate);
        assert_eq!(d.info.duration_s, Some(LEN));
        assert_eq!(d.samples.len(), 66_150, "{rate}: 1.5 s at 44.1 kHz");
        // 8 kHz cannot hold the fade-in's top end exactly; everything else is near-transparent.
        let tol = if rate == 8_000 { 2e-3 } else { 2e-4 };
        assert_matches(&d, 1.0, T0, tol, LEN);
    }
}

#[test]
fn options_change_length_and_pre_roll() {
    let dir = TempDir::new("opts");
    let path = dir.path("t.wav");
    write_wav(&path, 48_000, Fmt::Int(16), &[1.0], LEN);
    let opts = DecodeOptions { max_seconds: 0.5, pre_roll_s: 0.02, ..DecodeOptions::default() };
    let d = decode_file(&path, &opts).expect("decode");
    assert_eq!(d.samples.len(), 22_050);
    assert!(d.info.onset_s > T0 - 0.021 && d.info.onset_s < T0 - 0.02 + 0.003, "{}", d.info.onset_s);
    let opts = DecodeOptions { target_rate: 16_000, ..DecodeOptions::default() };
    let d = decode_file(&path, &opts).expect("decode");
    assert_eq!((d.sample_rate, d.samples.len()), (16_000, 24_000));
}

/// The committed fixtures: `(file, container, codec, rate, channels, mono gain, lossless)`.
const FIXTURES: &[(&str, &str, &str, u32, u16, f64, bool)] = &[
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
const FIX_T0: f64 = 0.05;
const FIX_LEN: f64 = 0.3;

fn fixture(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    assert!(path.exists(), "missing fixture {}: run core/fixtures-src/make_fixtures.sh", path.display());
    path
}

#[test]
fn codec_fixtures_match_the_formula() {
    for &(name, container, codec, rate, channels, gain, lossless) in FIXTURES {
        let d = decode(&fixture(name));
        assert_eq!((d.info.container, d.info.codec.as_str()), (container, codec), "{name}");
        assert_eq!((d.info.sample_rate, d.info.channels), (rate, channels), "{name}");
        let dur = d.info.duration_s.unwrap_or_else(|| panic!("{name}: no duration"));
        // Lossy codecs pad to whole frames unless the stream says otherwise.
        let dur_tol = if lossless { 1e-6 } else { 0.03 };
        assert!((dur - FIX_LEN).abs() <= dur_tol, "{name}: duration {dur}");
        if lossless {
            // 16-bit sources; the 22.05/32 kHz ones also pass the resampler, and the hard end at
            // 0.3 s is not band-limited, so stop 10 ms short of it.
            assert_matches(&d, gain, FIX_T0, 3e-4, FIX_LEN - 0.01);
            let ideal_len = samples_for(FIX_LEN - d.info.onset_s);
            assert!(d.samples.len().abs_diff(ideal_len) <= 1, "{name}: {} samples", d.samples.len());
        } else {
            let (lag, corr) = best_correlation(&d, FIX_T0, FIX_LEN);
            assert!(corr > 0.95, "{name}: correlation {corr:.3} at lag {lag}");
            // Encoder delay is removed (gapless info) or absorbed by the onset trim.
            assert!(lag.abs() <= 44, "{name}: waveform off by {lag} samples");
            // Pre-echo (up to one long transform block) may start the region a little early.
            assert!(d.info.onset_s > FIX_T0 - 0.05 && d.info.onset_s < FIX_T0, "{name}: onset {}", d.info.onset_s);
        }
        let peak = A * gain;
        assert!((f64::from(d.info.peak) - peak).abs() < 0.1 * peak, "{name}: peak {}", d.info.peak);
        assert!(d.info.rms > 0.05 * d.info.peak, "{name}: rms {}", d.info.rms);
    }
}

/// Output samples (44.1 kHz) for `secs` seconds.
fn samples_for(secs: f64) -> usize {
    (secs * f64::from(OUT_RATE)).round() as usize
}

fn expect_err(r: Result<Decoded, DecodeError>, kinds: &[&str], what: &str) -> DecodeError {
    match r {
        Ok(d) => panic!("{what}: decoded {} samples, expected {kinds:?}", d.samples.len()),
        Err(e) => {
            assert!(kinds.contains(&e.kind()), "{what}: got {} ({e}), expected {kinds:?}", e.kind());
            assert!(!e.to_string().is_empty());
            e
        }
    }
}

#[test]
fn empty_missing_directory_and_text() {
    let dir = TempDir::new("bad");
    let opts = DecodeOptions::default();
    let empty = dir.path("empty.wav");
    fs::write(&empty, b"").expect("write");
    expect_err(decode_file(&empty, &opts), &["empty"], "zero-byte file");
    expect_err(decode_bytes(Vec::new(), Some("wav"), &opts), &["empty"], "zero bytes");
    expect_err(decode_file(&dir.path("missing.wav"), &opts), &["io"], "missing file");
    let sub = dir.path("folder.wav");
    fs::create_dir(&sub).expect("mkdir");
    expect_err(decode_file(&sub, &opts), &["io"], "directory");
    let text = dir.path("notes.wav");
    fs::write(&text, "kick: 909, snare: 808\n".repeat(200)).expect("write");
    expect_err(decode_file(&text, &opts), &["not_audio"], "text file");
    // A valid header with no frames is empty, not an error of the file's bytes.
    let no_frames = riff(&[chunk(b"fmt ", &fmt_body(1, 1, 44_100, 16)), chunk(b"data", &[])]);
    expect_err(decode_bytes(no_frames, Some("wav"), &opts), &["empty"], "no frames");
}

#[test]
fn random_bytes_never_decode_as_audio() {
    let opts = DecodeOptions::default();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for (i, len) in [64usize, 1_000, 10_000, 200_000].into_iter().enumerate() {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        for ext in ["wav", "mp3", "flac", "ogg", "aiff"] {
            let what = format!("random {len} bytes as .{ext} (#{i})");
            expect_err(decode_bytes(bytes.clone(), Some(ext), &opts), &["not_audio", "corrupt"], &what);
        }
    }
}

#[test]
fn truncated_wav_returns_what_is_there() {
    let dir = TempDir::new("trunc");
    let path = dir.path("t.wav");
    write_wav(&path, OUT_RATE, Fmt::Int(16), &[1.0], LEN);
    let full = fs::read(&path).expect("read");
    // Keep the header and 0.7 s of audio (plus half a frame), as a cut-off copy would.
    let keep = 44 + 2 * 30_870 + 1;
    fs::write(&path, &full[..keep]).expect("write");
    let d = decode(&path);
    assert!(
        d.warnings.iter().any(|w| matches!(w, DecodeWarning::Truncated { expected_s, .. } if *expected_s == LEN)),
        "{:?}",
        d.warnings
    );
    let dur = d.info.duration_s.expect("duration");
    assert!((dur - 0.7).abs() < 0.03, "decoded {dur} s");
    assert_matches(&d, 1.0, T0, 1e-4, 0.69);
    // Header only: nothing to return.
    expect_err(decode_bytes(full[..44].to_vec(), Some("wav"), &DecodeOptions::default()), &["corrupt"], "header only");
    // Header cut inside the fmt chunk.
    expect_err(decode_bytes(full[..30].to_vec(), Some("wav"), &DecodeOptions::default()), &["corrupt"], "cut header");
}

#[test]
fn truncated_compressed_files_keep_what_decodes() {
    let opts = DecodeOptions::default();
    for name in ["tone_stereo.mp3", "tone_stereo_32k_s24.flac"] {
        let bytes = fs::read(fixture(name)).expect("read fixture");
        let cut = bytes[..bytes.len() * 6 / 10].to_vec();
        let ext = name.rsplit('.').next();
        let d = decode_bytes(cut, ext, &opts).unwrap_or_else(|e| panic!("{name} cut at 60%: {e}"));
        let dur = d.info.duration_s.expect("duration");
        assert!(dur > 0.05 && dur < 0.25, "{name}: decoded {dur} s");
        let truncated = d.warnings.iter().any(|w| matches!(w, DecodeWarning::Truncated { expected_s, .. } if (expected_s - FIX_LEN).abs() < 0.01));
        assert!(truncated, "{name}: {:?}", d.warnings);
        assert!(!d.samples.is_empty() && d.samples.iter().all(|x| x.is_finite()));
    }
    // Cut inside the codec headers (FLAC padding, Vorbis setup): nothing to decode.
    for (name, keep) in [("tone_mono.flac", 0.5), ("tone_mono.ogg", 0.5)] {
        let bytes = fs::read(fixture(name)).expect("read fixture");
        let cut = bytes[..(bytes.len() as f64 * keep) as usize].to_vec();
        expect_err(decode_bytes(cut, name.rsplit('.').next(), &opts), &["corrupt"], name);
    }
}

#[test]
fn damaged_files_return_without_panicking() {
    let opts = DecodeOptions::default();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for &(name, ..) in FIXTURES {
        let clean = fs::read(fixture(name)).expect("read fixture");
        for _ in 0..8 {
            let mut bytes = clean.clone();
            for _ in 0..24 {
                let i = 64 + (next() as usize) % (bytes.len() - 64);
                bytes[i] = next() as u8;
            }
            match decode_bytes(bytes, name.rsplit('.').next(), &opts) {
                Ok(d) => {
                    assert!(d.samples.len() <= 66_150, "{name}");
                    assert!(d.samples.iter().all(|x| x.is_finite()), "{name}");
                }
                Err(e) => assert!(["corrupt", "unsupported", "empty", "not_audio"].contains(&e.kind()), "{name}: {e}"),
            }
        }
    }
}

#[test]
fn absurd_headers_are_rejected() {
    let data = pcm16(8_000, 0.1);
    let opts = DecodeOptions::default();
    for (what, fmt, kinds) in [
        ("0 channels", fmt_body(1, 0, 44_100, 16), &["corrupt", "unsupported"][..]),
        ("0 Hz", fmt_body(1, 1, 0, 16), &["corrupt", "unsupported"][..]),
        ("1 MHz", fmt_body(1, 1, 1_000_000, 16), &["unsupported"][..]),
        ("unknown format tag", fmt_body(0x1234, 1, 44_100, 16), &["unsupported", "corrupt"][..]),
    ] {
        let bytes = riff(&[chunk(b"fmt ", &fmt), chunk(b"data", &data)]);
        expect_err(decode_bytes(bytes, Some("wav"), &opts), kinds, what);
    }
}

#[test]
fn nan_and_inf_samples_are_replaced() {
    let dir = TempDir::new("nan");
    let path = dir.path("nan.wav");
    let sample_format = hound::SampleFormat::Float;
    let spec = hound::WavSpec { channels: 2, sample_rate: OUT_RATE, bits_per_sample: 32, sample_format };
    let mut w = hound::WavWriter::create(&path, spec).expect("create");
    let mut bad = 0;
    for n in 0..(LEN * f64::from(OUT_RATE)) as usize {
        let x = tone(n as f64 / f64::from(OUT_RATE), T0) as f32;
        let (l, r) = match n % 1000 {
            500 => (f32::NAN, x),
            501 => (f32::INFINITY, f32::NEG_INFINITY),
            _ => (x, x),
        };
        bad += usize::from(!l.is_finite()) + usize::from(!r.is_finite());
        w.write_sample(l).expect("write");
        w.write_sample(r).expect("write");
    }
    w.finalize().expect("finalize");
    let d = decode(&path);
    assert!(d.samples.iter().all(|x| x.is_finite()));
    assert!(d.info.peak.is_finite() && d.info.rms.is_finite());
    let count = d.warnings.iter().find_map(|w| match w {
        DecodeWarning::NonFinite { count } => Some(*count),
        _ => None,
    });
    // Only what was decoded is counted: the region plus the resampler margin, not the whole file.
    assert!(count.is_some_and(|c| c > 0 && c <= bad), "{:?}", d.warnings);
}

#[test]
fn silent_and_quiet_files() {
    let dir = TempDir::new("silent");
    let path = dir.path("zeros.wav");
    write_wav(&path, 48_000, Fmt::Int(16), &[0.0, 0.0], 3.0);
    let d = decode(&path);
    assert_eq!(d.warnings, vec![DecodeWarning::Silent]);
    assert_eq!((d.info.onset_s, d.info.peak, d.info.rms), (0.0, 0.0, 0.0));
    assert_eq!(d.samples.len(), 66_150);
    assert!(d.samples.iter().all(|&x| x == 0.0));

    // Peak at -60 dBFS: below the absolute onset threshold, found relative to the peak.
    let path = dir.path("quiet.wav");
    write_wav(&path, OUT_RATE, Fmt::F32, &[0.002], LEN);
    let d = decode(&path);
    let quiet = matches!(d.warnings.as_slice(), [DecodeWarning::Quiet { peak_dbfs }] if (*peak_dbfs + 60.0).abs() < 1.0);
    assert!(quiet, "{:?}", d.warnings);
    assert!(d.info.onset_s > T0 - 0.005 && d.info.onset_s < T0 + 0.002, "onset {}", d.info.onset_s);
    for w in [DecodeWarning::Silent, DecodeWarning::NonFinite { count: 3 }] {
        assert!(!w.to_string().is_empty());
    }
}

#[test]
fn long_files_are_not_decoded_to_the_end() {
    let dir = TempDir::new("long");
    // Ten minutes at 8 kHz: the header knows the length, decoding stops after the region.
    let path = dir.path("ten_minutes.wav");
    write_wav(&path, 8_000, Fmt::Int(16), &[1.0], 600.0);
    let d = decode(&path);
    assert_eq!(d.samples.len(), 66_150);
    assert_eq!(d.info.duration_s, Some(600.0));
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    assert_matches(&d, 1.0, T0, 2e-3, LEN);

    // A 1 GB file (sparse: a tone, then a hole of zeros). Had it been read to the end the
    // duration would be the decoded length; it stays the header's.
    let path = dir.path("huge.wav");
    let rate = 48_000u32;
    let data_len: u32 = 1_000_000_000;
    let mut bytes = riff(&[chunk(b"fmt ", &fmt_body(1, 1, rate, 16)), chunk(b"data", &pcm16(rate, LEN))]);
    bytes[4..8].copy_from_slice(&(data_len + 36).to_le_bytes());
    bytes[40..44].copy_from_slice(&data_len.to_le_bytes());
    fs::write(&path, &bytes).expect("write");
    fs::OpenOptions::new().write(true).open(&path).and_then(|f| f.set_len(44 + u64::from(data_len))).expect("extend");
    let d = decode(&path);
    let expected = f64::from(data_len / 2) / f64::from(rate);
    assert_eq!(d.info.duration_s, Some(expected));
    assert_eq!(d.samples.len(), 66_150);
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);

    // The same lie without the bytes: a header promising 1 GB over 2 s of audio stops early
    // too (no truncation is noticed because the region is complete).
    bytes.truncate(44 + 2 * (LEN as usize) * rate as usize);
    let d = decode_bytes(bytes, Some("wav"), &DecodeOptions::default()).expect("decode");
    assert_eq!((d.samples.len(), d.info.duration_s), (66_150, Some(expected)));
}
