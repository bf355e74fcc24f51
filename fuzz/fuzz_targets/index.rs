//! The library index reader over damaged database files (see drumsort_core::fuzz::index).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

/// One folder per fuzzing process, in memory when the machine has /dev/shm (an SQLite open per
/// input is much faster there than on disk).
fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = ["/dev/shm"].iter().map(PathBuf::from).find(|p| p.is_dir()).unwrap_or_else(std::env::temp_dir);
        let dir = base.join(format!("drumsort-fuzz-index-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("creating the fuzz folder");
        dir
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| drumsort_core::fuzz::index(data, dir()));
