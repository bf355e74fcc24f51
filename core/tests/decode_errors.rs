//! Files that must fail cleanly, or decode what is there with a warning: empty, missing, not
//! audio, random bytes, truncated, damaged, absurd headers, NaN/Inf samples. A failure is a
//! [`DecodeError`] of the expected kind, never a panic. Shared helpers are in `common/mod.rs`.

mod common;

use std::fs;

use common::{
    assert_matches, chunk, decode, fixture, fmt_body, pcm16, riff, tone, write_wav, Fmt, TempDir, FIXTURES, FIX_LEN,
    LEN, OUT_RATE, T0,
};
use drumsort_core::decode::{decode_bytes, decode_file, DecodeError, DecodeOptions, DecodeWarning, Decoded};

/// Asserts that `r` failed with one of `kinds` and a non-empty message; returns the error.
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
        let truncated = d
            .warnings
            .iter()
            .any(|w| matches!(w, DecodeWarning::Truncated { expected_s, .. } if (expected_s - FIX_LEN).abs() < 0.01));
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
