//! Replays every kept input of the plugin's fuzz targets (`fuzz_regressions/<target>/`) through
//! the harness the target runs (`drumsort_plugin::testing::plugin_state`), so each fixed bug stays fixed under
//! plain `cargo test`. `cargo xtask fuzz` copies new crash inputs here itself.

use std::path::Path;

#[test]
fn plugin_state() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions/plugin_state");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 2, "{} lost its inputs", dir.display());
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| drumsort_plugin::testing::plugin_state(&bytes));
        assert!(outcome.is_ok(), "{} fails again", path.display());
    }
}

/// Every folder here must be replayed above, so a crash input is never kept unreplayed.
#[test]
fn every_kept_input_has_a_replaying_test() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert_eq!(name, "plugin_state", "tests/fuzz_regressions/{name} is replayed by no test");
    }
}
