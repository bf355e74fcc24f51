//! `drumsort similar`: the sounds nearest to one sound by the model's embedding (cosine
//! distance), for a file in the index or any other file (analysed on the spot).

use std::path::{Path, PathBuf};

use super::{cosine_distance, LibraryError, Result};
use crate::analyse::analyse_paths;
use crate::class::DrumClass;
use crate::classifier::{Classifier, ModelError};
use crate::index::{Index, Sound};

/// The sound to search around.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// As the index stores it when indexed, else as the user named it.
    pub path: PathBuf,
    /// The class the query has (the user's correction if indexed and corrected).
    pub class: DrumClass,
    pub embedding: Vec<f32>,
    /// The model the embedding comes from; only embeddings by the same model are comparable.
    pub model_version: String,
    /// The file was in the index (otherwise it was analysed now).
    pub indexed: bool,
}

/// One neighbour.
#[derive(Clone, Debug, PartialEq)]
pub struct Neighbour {
    pub sound: Sound,
    /// Cosine distance to the query, `0` for the same sound.
    pub distance: f32,
}

/// The query for `path`: its stored embedding when the index has analysed it, else an analysis
/// now with the model `load` gives (called only then).
pub fn query(
    index: &Index,
    path: &Path,
    load: impl FnOnce() -> std::result::Result<Classifier, ModelError>,
) -> Result<Query> {
    if let Some(entry) = index.entry(path)? {
        if let (Some(class), Some(version), Some(embedding)) =
            (entry.class(), entry.model_version.clone(), index.embedding(path)?)
        {
            if !entry.missing {
                return Ok(Query { path: entry.path, class, embedding, model_version: version, indexed: true });
            }
        }
    }
    if !path.exists() {
        return Err(LibraryError::Nothing(format!("{} does not exist and is not in the index", path.display())));
    }
    let classifier = load()?;
    let result = analyse_paths(&classifier, &[path.to_path_buf()], |_| {}).pop();
    match result {
        Some(Ok(a)) => Ok(Query {
            path: path.to_path_buf(),
            class: a.prediction.class,
            embedding: a.prediction.embedding,
            model_version: classifier.meta().model_version.clone(),
            indexed: false,
        }),
        Some(Err(source)) => Err(LibraryError::Analyse { path: path.to_path_buf(), source }),
        None => Err(LibraryError::Nothing(format!("{}: no analysis", path.display()))),
    }
}

/// The `n` indexed sounds nearest to `q` (optionally only of `class`), nearest first; ties in
/// path order. The query's own file is left out; other copies of it are listed at distance 0.
pub fn nearest(index: &Index, q: &Query, n: usize, class: Option<DrumClass>) -> Result<Vec<Neighbour>> {
    let mut other_models = 0usize;
    let sounds = index.sounds(|e| {
        if e.path == q.path || class.is_some_and(|c| e.class() != Some(c)) {
            return false;
        }
        let same = e.model_version.as_deref() == Some(q.model_version.as_str());
        other_models += usize::from(!same);
        same
    })?;
    if sounds.is_empty() && other_models > 0 {
        return Err(LibraryError::Nothing(format!(
            "the index was analysed by another model than {}; rescan the library (or pass the --model it used)",
            q.model_version
        )));
    }
    let mut scored: Vec<Neighbour> = sounds
        .into_iter()
        .map(|sound| Neighbour { distance: cosine_distance(&q.embedding, &sound.embedding), sound })
        .collect();
    // Stable sort: equal distances stay in path order.
    scored.sort_by(|a, b| a.distance.total_cmp(&b.distance));
    scored.truncate(n);
    Ok(scored)
}
