//! Decoding a labelled folder (`<class>/<file>`) for training and evaluation, with what failed
//! printed: shared by `train` and `eval`, so neither depends on the other for it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use drumsort_core::decode::DecodeOptions;
use drumsort_core::DrumClass;

use crate::dataset;

/// Decodes a labelled folder, printing what failed.
pub fn load_folder(dir: &Path, opts: &DecodeOptions) -> Result<(Vec<dataset::Clip>, String)> {
    let items = dataset::list_labelled(dir).with_context(|| format!("listing {}", dir.display()))?;
    load_items(dir, items, opts)
}

/// Decodes listed files of the labelled folder `dir`, printing what failed; returns the clips
/// and the hash of the list.
pub fn load_items(
    dir: &Path,
    items: Vec<(PathBuf, DrumClass)>,
    opts: &DecodeOptions,
) -> Result<(Vec<dataset::Clip>, String)> {
    let t = Instant::now();
    let (clips, failed) = dataset::load(&items, opts);
    eprintln!(
        "decoded {} of {} files under {} in {:.1} s",
        clips.len(),
        items.len(),
        dir.display(),
        t.elapsed().as_secs_f64()
    );
    for (path, err) in &failed {
        eprintln!("  skipped {}: {err}", path.display());
    }
    Ok((clips, dataset::manifest_hash(dir, &items)))
}
