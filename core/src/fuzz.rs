//! Entry points for fuzzing: each takes arbitrary bytes, runs one path that untrusted input
//! reaches, and panics only when an invariant of that path breaks. The cargo-fuzz targets in
//! `fuzz/` call these, and so do the regression tests in `core/tests/fuzz_regressions.rs`, which
//! replay every input the fuzzer ever found, so a fixed bug stays fixed under plain `cargo test`.
//!
//! A panic inside the decoder is caught by its `catch_unwind` and reported as
//! [`DecodeError::Corrupt`] (a scan must survive a decoder bug); under libFuzzer the panic hook
//! aborts first, and under `cargo test` [`decode`] checks for that caught panic explicitly.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use crate::classifier::prepare_features;
use crate::decode::{decode_bytes, DecodeError, DecodeOptions, PANICKED};
use crate::hits::{HitConfig, HitDetector};
use crate::index::{Index, ListFilter};
use crate::mel::{MelConfig, MelSpectrogram, MelStream};

/// Decodes `data` as an in-memory file with extension `ext` (the hint the decoder gets from a
/// file name) and checks what comes back: an error of a known kind, or audio whose samples and
/// facts are finite, in range and no longer than asked for.
pub fn decode(ext: &str, data: &[u8]) {
    let opts = DecodeOptions::default();
    match decode_bytes(data.to_vec(), Some(ext), &opts) {
        Err(DecodeError::Corrupt(msg)) if msg == PANICKED => panic!("the decoder panicked on this .{ext} input"),
        Err(e) => assert!(!e.to_string().is_empty(), "an error must say what is wrong"),
        Ok(d) => {
            let max = (f64::from(opts.max_seconds) * f64::from(opts.target_rate)).round() as usize;
            assert!(d.samples.len() <= max, "{} samples, at most {max} asked for", d.samples.len());
            assert_eq!(d.sample_rate, opts.target_rate);
            assert!(d.samples.iter().all(|s| s.is_finite()), "non-finite output sample");
            let i = &d.info;
            assert!(i.channels > 0, "decoded audio with 0 channels");
            assert!((1_000..=768_000).contains(&i.sample_rate), "source rate {}", i.sample_rate);
            assert!(i.peak.is_finite() && i.peak >= 0.0, "peak {}", i.peak);
            assert!(i.rms.is_finite() && i.rms >= 0.0, "rms {}", i.rms);
            assert!(i.onset_s.is_finite() && i.onset_s >= 0.0, "onset {}", i.onset_s);
            if let Some(dur) = i.duration_s {
                assert!(dur.is_finite() && dur >= 0.0, "duration {dur}");
            }
        }
    }
}

/// The feature paths over arbitrary sample values (NaN, infinities, denormals, huge values) and
/// lengths: classifier features, block-wise streaming log-mel, and the real-time hit detector.
/// `data` is a 4-byte header (block size, length multiplier, detector rate) then `f32`s.
/// (Resampling is covered by [`decode`], whose output passes through it.)
///
/// Invariants: the classifier's features have their fixed shape and are finite; streaming gives
/// the frames the whole-clip analysis does, finite; every hit window the detector sends is in
/// order, in the past, finite, with a finite peak and strength.
pub fn features(data: &[u8]) {
    let Some((head, body)) = data.split_first_chunk::<4>() else { return };
    let block = 1 + usize::from(u16::from_le_bytes([head[0], head[1]])) % 4096;
    // Up to 64 repeats of the pattern: long inputs without long fuzz inputs.
    let repeats = 1 + usize::from(head[2] % 64);
    const RATES: [u32; 8] = [8_000, 22_050, 32_000, 44_100, 48_000, 88_200, 96_000, 192_000];
    let rate = RATES[usize::from(head[3]) % RATES.len()];
    let pattern: Vec<f32> = body.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    let samples: Vec<f32> = pattern.iter().copied().cycle().take(pattern.len() * repeats).collect();

    let mel = mel();
    let cfg = mel.config();
    let seconds = 0.25;
    let f = prepare_features(mel, &samples, seconds);
    let want_frames = cfg.n_frames(((seconds * cfg.sample_rate as f32) as usize).max(1));
    assert_eq!((f.frames, f.data.len()), (want_frames, want_frames * cfg.n_mels), "feature shape");
    assert!(f.data.iter().all(|v| v.is_finite()), "non-finite classifier feature");

    let clip = &samples[..samples.len().min(cfg.sample_rate as usize)];
    let whole = mel.compute(clip);
    let mut stream = MelStream::new(Arc::clone(mel));
    let mut streamed = Vec::with_capacity(whole.len());
    for b in clip.chunks(block) {
        stream.push(b, |frame| streamed.extend_from_slice(frame));
    }
    assert!(streamed.iter().all(|v| v.is_finite()), "non-finite streamed log-mel");
    let n = streamed.len().min(whole.len());
    assert_eq!(streamed[..n], whole[..n], "streamed frames differ from whole-clip frames");

    let (mut detector, mut labeler) = HitDetector::new(rate, &HitConfig::default());
    let mut windows = Vec::new();
    for b in samples.chunks(block) {
        detector.process(b);
        labeler.pop_all(&mut windows);
    }
    let mut last = None;
    for w in &windows {
        assert!(w.sample < detector.position(), "hit at {} reported before it happened", w.sample);
        assert!(last.is_none_or(|l| w.sample > l), "hits out of order: {last:?} then {}", w.sample);
        last = Some(w.sample);
        assert!(w.peak.is_finite() && w.strength.is_finite(), "peak {} strength {}", w.peak, w.strength);
        assert!(w.samples.iter().all(|s| s.is_finite()), "non-finite sample in a hit window");
    }
}

/// The default analysis, planned once per process.
fn mel() -> &'static Arc<MelSpectrogram> {
    static MEL: OnceLock<Arc<MelSpectrogram>> = OnceLock::new();
    MEL.get_or_init(|| Arc::new(MelSpectrogram::new(&MelConfig::default())))
}

/// Opens `data` as a library index file at `dir/library.sqlite` and reads it the ways the CLI
/// and the plugin do (list present, missing and failed entries, roots, one lookup, a
/// correction). Any outcome but a panic is fine: a damaged file is set aside or reported as an
/// error. `dir` is emptied first, so the caller can reuse one folder for every input.
pub fn index(data: &[u8], dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let db = dir.join("library.sqlite");
    std::fs::write(&db, data).expect("writing the index file");
    let Ok(mut index) = Index::open(&db) else { return };
    if let Some(aside) = index.set_aside() {
        assert!(aside.to.exists(), "set-aside file {} is gone", aside.to.display());
        let listed = index.list(&ListFilter::default()).expect("a fresh index lists");
        assert!(listed.is_empty(), "a fresh index after setting a file aside has entries");
    }
    let mut paths = Vec::new();
    for (missing, errors) in [(false, false), (true, false), (false, true)] {
        let filter = ListFilter { missing, errors, ..ListFilter::default() };
        let _ = index.for_each_entry(&filter, |e| {
            assert!(e.hash.is_none_or(|h| h.len() == 32));
            paths.push(e.path);
            Ok::<(), crate::index::IndexError>(())
        });
    }
    let _ = index.roots();
    if let Some(p) = paths.first() {
        let _ = index.entry(p);
        let _ = index.embedding(p);
    }
    // A correction for a file that exists (the index file itself): the write path on damaged
    // pages.
    let _ = index.set_correction(&db, Some(crate::DrumClass::Kick));
}
