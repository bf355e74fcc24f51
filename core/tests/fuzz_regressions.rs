//! Replays every input `cargo xtask fuzz` ever found a failure with, kept in
//! `fuzz_regressions/<target>/`, through the same harness the fuzz target runs
//! (`drumsort_core::fuzz`), so each fixed bug stays fixed under plain `cargo test`.
//! `cargo xtask fuzz` copies a new crash input here itself; the test names the file that fails.

use std::path::{Path, PathBuf};

use drumsort_core::fuzz;

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (kept crash inputs of the {target} fuzz target)", dir.display()))
        .map(|e| e.expect("listing regression inputs").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} has no inputs: remove the folder and its test, or restore them", dir.display());
    files
}

/// Runs `check` on every input of `target`, naming the file when it panics.
fn replay(target: &str, check: impl Fn(&[u8])) {
    for path in inputs(target) {
        let bytes = std::fs::read(&path).expect("reading a regression input");
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&bytes)));
        if let Err(panic) = outcome {
            std::panic::resume_unwind(Box::new(format!("{} fails again: {panic:?}", path.display())));
        }
    }
}

/// Every folder here must belong to a test below, so a crash input is never kept unreplayed.
#[test]
fn every_kept_input_has_a_replaying_test() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    for entry in std::fs::read_dir(&dir).expect("tests/fuzz_regressions exists") {
        let name = entry.expect("listing").file_name().to_string_lossy().into_owned();
        assert!(REPLAYED.contains(&name.as_str()), "tests/fuzz_regressions/{name} is replayed by no test");
    }
}

/// Targets with kept inputs, each replayed by the test of the same name below.
const REPLAYED: &[&str] = &["decode_aiff", "decode_wav", "features"];

/// AIFCs of 32-bit floats near f32::MAX: finite samples whose resampled output overflowed to
/// infinity, so the decoder returned non-finite audio (fixed in `decode/region.rs`), and ones
/// whose spectrum overflowed inside rubato's FFT, which panicked (fixed in `resample.rs`).
/// And (`comm-channels-overflow.aiff`, found by tests/tests/fuzz_smoke.rs) a `COMM` chunk claiming
/// 32769-65535 channels, which symphonia's reader overflowed on; rejected up front by
/// `decode/riff.rs` (`impossible_aiff_format`).
#[test]
fn decode_aiff() {
    replay("decode_aiff", |b| fuzz::decode("aiff", b));
}

/// Samples with NaN, infinities and values near f32::MAX: the classifier's features and the
/// streaming log-mel came out NaN or infinite. Fixed in `mel.rs` and `classifier.rs`.
#[test]
fn features() {
    replay("features", fuzz::features);
}

/// WAV headers symphonia's reader overflowed on (a panic in debug builds): 65535 channels of 16
/// bits, and a WAVE_FORMAT_EXTENSIBLE header with 128 channels for a 2-bit channel mask. Rejected
/// up front by `decode/riff.rs` (`impossible_format`). Found by tests/tests/fuzz_smoke.rs.
#[test]
fn decode_wav() {
    replay("decode_wav", |b| fuzz::decode("wav", b));
}
