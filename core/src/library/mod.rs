//! What a producer does with a scanned library: sort it into class folders ([`organize`]), find
//! sounds like one they have ([`similar`]), find copies they can delete ([`duplicates`]) and pull a
//! playable kit out of it ([`kit`]). Everything here reads the index (or analyses files the index
//! does not know); nothing here modifies, moves or deletes a scanned file.

pub mod duplicates;
pub mod fingerprint;
pub mod kit;
pub mod names;
pub mod organize;
pub mod similar;

use std::path::PathBuf;

use crate::analyse::AnalyseError;
use crate::classifier::ModelError;
use crate::index::IndexError;

/// Why a library command could not do its job. Per-file problems that do not stop the command
/// (a file that vanished since the scan) are values in its report instead.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A file or folder could not be read or written.
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    /// A file the user named could not be analysed.
    #[error("{path}: {source}")]
    Analyse { path: PathBuf, source: AnalyseError },
    /// `organize` was pointed into a folder a scan covers: its output would be scanned as new
    /// sounds next time. The user can insist.
    #[error(
        "{dir} is inside the scanned folder {root}: organizing there would mix the copies into the library \
         (choose another folder, or pass --allow-inside-root)"
    )]
    InsideRoot { dir: PathBuf, root: PathBuf },
    /// An output path exists and is not what the command can safely write into.
    #[error("{0}")]
    Unsafe(String),
    /// Nothing to work on (empty index, no sound of a class, embeddings by another model).
    #[error("{0}")]
    Nothing(String),
}

/// Result alias for library commands.
pub type Result<T> = std::result::Result<T, LibraryError>;

pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> LibraryError {
    let context = context.into();
    move |source| LibraryError::Io { context, source }
}

/// Cosine distance `1 - cos(a, b)`, in `0..=2`; vectors of unequal length or zero norm are as far
/// apart as can be (`2`), so a damaged embedding never looks like a match.
pub fn cosine_distance(a: &[f32], b: &[f32]) -> f32 {
    cosine_similarity(a, b).map_or(2.0, |c| (1.0 - c).clamp(0.0, 2.0))
}

/// `cos(a, b)`; `None` for vectors of unequal length, empty ones, or a (nearly) zero norm.
pub(crate) fn cosine_similarity(a: &[f32], b: &[f32]) -> Option<f32> {
    if a.len() != b.len() || a.is_empty() {
        return None;
    }
    let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    let norm = (na * nb).sqrt();
    (norm > f32::EPSILON).then(|| dot / norm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_distance_of_known_vectors() {
        assert!(cosine_distance(&[1.0, 0.0], &[2.0, 0.0]) < 1e-6);
        assert!((cosine_distance(&[1.0, 0.0], &[0.0, 3.0]) - 1.0).abs() < 1e-6);
        assert!((cosine_distance(&[1.0, 0.0], &[-1.0, 0.0]) - 2.0).abs() < 1e-6);
        assert_eq!(cosine_distance(&[1.0], &[1.0, 0.0]), 2.0);
        assert_eq!(cosine_distance(&[0.0, 0.0], &[1.0, 0.0]), 2.0);
    }
}
