//! Labelled folders of one-shots (`<class>/<file>`, class folder names canonical), decoded once
//! into memory for training and evaluation.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::class::DrumClass;
use crate::decode::{decode_file, is_audio_extension, DecodeError, DecodeOptions};

/// One labelled file, decoded: mono at the model rate, starting at its first onset.
#[derive(Clone, Debug)]
pub struct Clip {
    pub path: PathBuf,
    pub class: DrumClass,
    pub samples: Vec<f32>,
}

/// Why a labelled folder could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("cannot read dataset folder {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("folder {0} is not a class name; a dataset holds only <class>/ folders named kick, snare, ... other")]
    UnknownClass(PathBuf),
    #[error("no audio files under {0}")]
    Empty(PathBuf),
}

/// Lists `(path, class)` for every audio file under `dir/<class>/` (recursively), sorted by path
/// so every run sees the same order.
pub fn list_labelled(dir: &Path) -> Result<Vec<(PathBuf, DrumClass)>, DatasetError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DatasetError::Io { path, source }
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        if !entry.file_type().map_err(io(&entry.path()))?.is_dir() {
            continue;
        }
        let name = entry.file_name();
        let class: DrumClass =
            name.to_str().and_then(|n| n.parse().ok()).ok_or_else(|| DatasetError::UnknownClass(entry.path()))?;
        let mut stack = vec![entry.path()];
        while let Some(d) = stack.pop() {
            for f in std::fs::read_dir(&d).map_err(io(&d))? {
                let f = f.map_err(io(&d))?;
                let ft = f.file_type().map_err(io(&f.path()))?;
                if ft.is_dir() {
                    stack.push(f.path());
                } else if is_audio_extension(&f.path()) {
                    out.push((f.path(), class));
                }
            }
        }
    }
    if out.is_empty() {
        return Err(DatasetError::Empty(dir.to_path_buf()));
    }
    out.sort();
    Ok(out)
}

/// Decodes every listed file on all cores. Files that fail are returned beside the clips, never
/// silently dropped, so the caller can report them.
pub fn load(items: &[(PathBuf, DrumClass)], opts: &DecodeOptions) -> (Vec<Clip>, Vec<(PathBuf, DecodeError)>) {
    let results: Vec<_> = items
        .par_iter()
        .map(|(path, class)| match decode_file(path, opts) {
            Ok(d) => Ok(Clip { path: path.clone(), class: *class, samples: d.samples }),
            Err(e) => Err((path.clone(), e)),
        })
        .collect();
    let mut clips = Vec::with_capacity(results.len());
    let mut failed = Vec::new();
    for r in results {
        match r {
            Ok(c) => clips.push(c),
            Err(e) => failed.push(e),
        }
    }
    (clips, failed)
}

/// Hex SHA-256 over the relative paths, sizes and classes of a listing: identifies the data a
/// model was trained on without shipping the data.
pub fn manifest_hash(root: &Path, items: &[(PathBuf, DrumClass)]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (path, class) in items {
        let rel = path.strip_prefix(root).unwrap_or(path);
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        h.update(format!("{}\t{}\t{}\n", rel.display(), size, class.as_str()).as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
