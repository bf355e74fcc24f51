//! The library index: a persistent SQLite record of every sound file Drumsort has scanned, shared
//! by the CLI and the plugin (both open the same default file, so a library scanned by one shows up
//! in the other at once).
//!
//! - [`Index::open`] opens or creates the file, migrates older schemas, and sets a corrupt file or
//!   one written by a newer Drumsort aside (renamed, never deleted) before starting fresh.
//! - [`Index::scan`] (in `scan.rs`) brings the index up to date with folders on disk.
//! - [`Index::list`] / [`Index::set_correction`] (in `entries.rs`) read it and record the user's
//!   own class for a sound, keyed by content so it follows the sound through moves and rescans.
//!
//! One [`Index`] is one connection: use it from one thread at a time (it is `Send`). Several
//! processes may open the same file; WAL mode lets readers run while a scan writes.

mod entries;
mod rows;
pub mod scan;
mod schema;

use std::path::{Path, PathBuf};

use rusqlite::Connection;

pub use entries::{Entry, ListFilter, Relabelled, Sound, Status, StoredError, StoredInfo, StoredPrediction};
pub use scan::{Phase, Progress, ScanModel, ScanOptions, ScanSummary};
pub use schema::{SetAside, SetAsideReason, SCHEMA_VERSION};

/// Environment variable naming the index file when no `--db` is given; lets scripts and tests
/// point every command (and the plugin) at another library without repeating the flag.
pub const ENV_VAR: &str = "DRUMSORT_DB";

/// File name of the index inside the platform data directory.
pub const FILE_NAME: &str = "library.sqlite";

/// Why an index operation failed. Per-file problems during a scan are not errors: they are stored
/// as [`StoredError`]s on the file's entry and the scan goes on.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// SQLite refused an operation on the index file.
    #[error("library index {path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    /// The index file (or its folder, or a file the user named) could not be read or written.
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    /// The file is an SQLite database that belongs to something else. Left untouched: it is
    /// probably the user's own data and `--db` points at it by mistake.
    #[error("{0} is an SQLite database but not a Drumsort library index; choose another --db path")]
    Foreign(PathBuf),
    /// The file was set aside and a fresh one still could not be opened (another process keeps
    /// recreating it, or the file system misbehaves).
    #[error("library index {path} is unusable even after starting fresh: {message}")]
    Unusable { path: PathBuf, message: String },
    /// No `--db`, no environment variable and no platform data directory (no home folder).
    #[error("no place for the library index: pass --db PATH or set {ENV_VAR}")]
    NoDataDir,
    /// The model needed to analyse new files could not be loaded.
    #[error(transparent)]
    Model(#[from] crate::classifier::ModelError),
}

/// Result alias for index operations.
pub type Result<T> = std::result::Result<T, IndexError>;

/// An open library index (one SQLite connection).
#[derive(Debug)]
pub struct Index {
    conn: Connection,
    /// Where the index lives; named in every error so the user knows which file is involved.
    path: PathBuf,
    /// Set when opening found a damaged or too-new file and moved it aside; callers tell the user.
    set_aside: Option<SetAside>,
}

impl Index {
    /// Opens the index at `path`, creating it (and its folder) if needed. A corrupt file or one
    /// from a newer Drumsort is renamed aside first (see [`Index::set_aside`]); an SQLite file
    /// that is not a Drumsort index is an error and stays untouched.
    pub fn open(path: &Path) -> Result<Self> {
        let (conn, set_aside) = schema::open_or_recover(path)?;
        Ok(Self { conn, path: path.to_path_buf(), set_aside })
    }

    /// Opens the index the user means: `explicit` (`--db`), else [`ENV_VAR`], else the platform
    /// default ([`default_path`]).
    pub fn open_default(explicit: Option<&Path>) -> Result<Self> {
        Self::open(&resolve_path(explicit)?)
    }

    /// The index file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What [`Index::open`] moved aside, if anything: callers must tell the user (the CLI prints it
    /// on stderr, the plugin shows it in its editor).
    pub fn set_aside(&self) -> Option<&SetAside> {
        self.set_aside.as_ref()
    }

    /// Wraps an SQLite error with this index's path.
    fn err(&self, source: rusqlite::Error) -> IndexError {
        IndexError::Sqlite { path: self.path.clone(), source }
    }
}

/// The platform's default index file (e.g. `~/.local/share/drumsort/library.sqlite` on Linux),
/// the same for the CLI and the plugin; `None` when the platform has no home folder.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("com", "Drumsort", "Drumsort").map(|d| d.data_dir().join(FILE_NAME))
}

/// The index file to use: `explicit` if given, else a non-empty [`ENV_VAR`], else [`default_path`].
pub fn resolve_path(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    match std::env::var_os(ENV_VAR) {
        Some(v) if !v.is_empty() => Ok(PathBuf::from(v)),
        _ => default_path().ok_or(IndexError::NoDataDir),
    }
}

/// blake3 of a file's bytes: the identity of a sound across moves, renames and copies.
pub fn content_hash(path: &Path) -> std::io::Result<[u8; 32]> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(std::fs::File::open(path)?)?;
    Ok(*hasher.finalize().as_bytes())
}

/// A path as stored in the index: its exact bytes on Unix, so names that are not valid UTF-8
/// survive the round trip; UTF-8 elsewhere.
pub(crate) fn path_key(path: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        path.to_string_lossy().into_owned().into_bytes()
    }
}

/// Inverse of [`path_key`].
pub(crate) fn key_path(key: Vec<u8>) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        PathBuf::from(std::ffi::OsString::from_vec(key))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(&key).into_owned())
    }
}

/// The absolute name a scan stores for a root the user named: canonical (so `.`, `..` and a
/// symlinked root resolve to one name, on Windows without the verbatim prefix where the plain
/// name is the same file), else lexical for a path that is gone.
pub(crate) fn absolute(path: &Path) -> PathBuf {
    crate::canonical::canonicalize(path).or_else(|_| std::path::absolute(path)).unwrap_or_else(|_| path.to_path_buf())
}

/// Names under which a file the user names may be indexed: scans store canonical roots joined
/// with the names found below them, so a file reached through a symlinked folder or itself a
/// symlink is stored under neither its lexical nor its fully resolved name alone.
pub(crate) fn lookup_names(path: &Path) -> Vec<PathBuf> {
    let mut out = Vec::with_capacity(3);
    if let (Some(parent), Some(name)) = (path.parent(), path.file_name()) {
        let parent = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
        if let Ok(p) = crate::canonical::canonicalize(parent) {
            out.push(p.join(name));
        }
    }
    for p in [crate::canonical::canonicalize(path).ok(), std::path::absolute(path).ok()].into_iter().flatten() {
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// Little-endian f32s: scores and embeddings are stored as compact blobs, not JSON.
pub(crate) fn f32s_to_blob(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Inverse of [`f32s_to_blob`]; a trailing partial value (a damaged blob) is dropped.
pub(crate) fn blob_to_f32s(blob: &[u8]) -> Vec<f32> {
    blob.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// Seconds since the Unix epoch, for `scanned_at` and correction times.
pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fresh empty folder per test (unit tests run in parallel in one process), canonical so
    /// paths built from it match the ones scans store (`/tmp` may be a symlink).
    pub(crate) fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("drumsort-index-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.canonicalize().unwrap()
    }

    #[test]
    fn blobs_and_paths_round_trip() {
        let v = [0.0f32, -1.5, 1e-7, f32::MAX];
        assert_eq!(blob_to_f32s(&f32s_to_blob(&v)), v);
        assert_eq!(blob_to_f32s(&[0, 0, 128, 63, 1]), [1.0]);
        let p = Path::new("/a/b c/ü.wav");
        assert_eq!(key_path(path_key(p)), p);
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let odd = Path::new(std::ffi::OsStr::from_bytes(b"/x/\xff\xfe.wav"));
            assert_eq!(key_path(path_key(odd)), odd);
        }
    }

    #[test]
    fn explicit_path_wins_and_default_is_in_a_data_dir() {
        assert_eq!(resolve_path(Some(Path::new("/tmp/x.sqlite"))).unwrap(), Path::new("/tmp/x.sqlite"));
        if let Some(p) = default_path() {
            assert!(p.ends_with(FILE_NAME), "{}", p.display());
            assert!(p.to_string_lossy().to_lowercase().contains("drumsort"), "{}", p.display());
        }
    }

    #[test]
    fn hash_depends_on_content_only() {
        let dir = temp_dir("hash");
        std::fs::write(dir.join("a.wav"), b"same bytes").unwrap();
        std::fs::write(dir.join("b.wav"), b"same bytes").unwrap();
        std::fs::write(dir.join("c.wav"), b"other bytes").unwrap();
        let h = |n: &str| content_hash(&dir.join(n)).unwrap();
        assert_eq!(h("a.wav"), h("b.wav"));
        assert_ne!(h("a.wav"), h("c.wav"));
        assert_eq!(h("a.wav"), *blake3::hash(b"same bytes").as_bytes());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
