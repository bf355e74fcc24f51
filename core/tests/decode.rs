//! Decoder behaviour on synthesized WAVs (every bit depth, channel count, rate and chunk layout
//! the decoder promises) and on committed codec fixtures (FLAC, AIFF, AIFC, MP3, Ogg Vorbis; see
//! core/fixtures-src/make_fixtures.sh). Files that must fail cleanly are in `decode_errors.rs`;
//! the test tone, writers and comparisons are in `common/mod.rs`.

mod common;

use std::fs;
use std::path::Path;

use common::{
    assert_matches, chunk, decode, fixture, fmt_body, pcm16, riff, tone, write_wav, Fmt, TempDir, A, FIXTURES, FIX_LEN,
    FIX_T0, LEN, OUT_RATE, T0,
};
use drumsort_core::decode::{
    decode_bytes, decode_file, is_audio_extension, DecodeOptions, DecodeWarning, Decoded, AUDIO_EXTENSIONS,
};

/// Best normalised correlation of the output with the formula over lags of +-20 ms, for lossy
/// codecs (which keep the waveform only approximately). Returns `(lag in samples, correlation)`.
fn best_correlation(d: &Decoded, t0: f64, len_s: f64) -> (i64, f64) {
    let max_lag = 882i64;
    let sr = f64::from(OUT_RATE);
    let n = d.samples.len().min(((len_s - 0.01 - d.info.onset_s) * sr) as usize);
    let expected: Vec<f64> = (-max_lag..n as i64 + max_lag).map(|j| tone(d.info.onset_s + j as f64 / sr, t0)).collect();
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
    let data: Vec<u8> = (0..frames).flat_map(|n| (0.8 * tone(n as f64 / f64::from(rate), T0)).to_le_bytes()).collect();
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
    let quiet =
        matches!(d.warnings.as_slice(), [DecodeWarning::Quiet { peak_dbfs }] if (*peak_dbfs + 60.0).abs() < 1.0);
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
