//! Reading the index back (one [`Entry`] per file) and the user's corrections.
//!
//! Corrections live in their own table keyed by the blake3 of the file's bytes, not by path: a
//! sound keeps the class the user gave it when it is moved, renamed, copied or re-analysed by a new
//! model, and the model's own answer stays stored next to it.

use std::path::{Path, PathBuf};

use rusqlite::{params, OptionalExtension, Row};

use super::{blob_to_f32s, content_hash, key_path, lookup_names, now_unix, path_key, Index, IndexError, Result};
use crate::class::DrumClass;

/// Where a file is in its life in the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Found by a scan, not analysed yet (a scan was interrupted, or is running).
    Pending,
    /// Decoded and classified.
    Analysed,
    /// Could not be read; see [`Entry::error`].
    Failed,
}

impl Status {
    pub(crate) fn from_code(code: i64) -> Self {
        match code {
            1 => Status::Analysed,
            2 => Status::Failed,
            _ => Status::Pending,
        }
    }

    pub(crate) const fn code(self) -> i64 {
        match self {
            Status::Pending => 0,
            Status::Analysed => 1,
            Status::Failed => 2,
        }
    }
}

/// Decoder facts kept for the library view; the fields mean what they mean in
/// [`crate::decode::AudioInfo`].
#[derive(Clone, Debug, PartialEq)]
pub struct StoredInfo {
    pub container: String,
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u16,
    pub bits_per_sample: Option<u32>,
    pub duration_s: Option<f64>,
    pub onset_s: f64,
    pub peak: f32,
    pub rms: f32,
    /// Decoder warnings as shown to users.
    pub warnings: Vec<String>,
}

/// The model's answer as stored (the embedding is read separately, see [`Index::embedding`]).
#[derive(Clone, Debug, PartialEq)]
pub struct StoredPrediction {
    pub class: DrumClass,
    pub confidence: f32,
    /// In [`DrumClass::ALL`] order.
    pub scores: [f32; DrumClass::COUNT],
}

/// Why a file could not be analysed, as `decode` / `analyse` reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredError {
    /// Machine-readable kind: `corrupt`, `not_audio`, `empty`, `unsupported`, `io`, `model`.
    pub kind: String,
    pub message: String,
}

/// One indexed file.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub path: PathBuf,
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch: with `size`, what tells a rescan the
    /// file changed.
    pub mtime_ns: i64,
    /// blake3 of the bytes last analysed; `None` until the file has been read once.
    pub hash: Option<[u8; 32]>,
    pub status: Status,
    /// The file was not found by the last scan of its folder. Its record and analysis are kept
    /// (the drive may be unplugged) and it comes back if the file reappears.
    pub missing: bool,
    pub info: Option<StoredInfo>,
    pub prediction: Option<StoredPrediction>,
    /// `Classifier::meta().model_version` of the model that produced `prediction`.
    pub model_version: Option<String>,
    /// When the file was last analysed, Unix seconds.
    pub scanned_at: Option<i64>,
    pub error: Option<StoredError>,
    /// The class the user set for this sound; wins over `prediction`.
    pub correction: Option<DrumClass>,
}

impl Entry {
    /// The class to show and sort by: the user's correction, else the model's class.
    pub fn class(&self) -> Option<DrumClass> {
        self.correction.or(self.prediction.as_ref().map(|p| p.class))
    }
}

/// Which entries [`Index::list`] returns. The default lists every file present on disk.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    /// Only files whose effective class ([`Entry::class`]) is this.
    pub class: Option<DrumClass>,
    /// Only paths containing this text, ignoring case.
    pub query: Option<String>,
    /// Only files without an analysis: unreadable ones and pending ones.
    pub errors: bool,
    /// List the files marked missing instead of the present ones.
    pub missing: bool,
}

/// An analysed file with the model's embedding of it, as [`Index::sounds`] returns it.
#[derive(Clone, Debug, PartialEq)]
pub struct Sound {
    pub entry: Entry,
    /// Unit-length embedding by `entry.model_version`'s model; comparable only with embeddings by
    /// the same model.
    pub embedding: Vec<f32>,
}

/// What [`Index::set_correction`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum Relabelled {
    /// The file is in the index under this path.
    Indexed(PathBuf),
    /// The file is not indexed yet; the correction is stored under its content hash and applies
    /// as soon as a scan finds it.
    NotIndexed(PathBuf),
}

/// Columns [`entry_from_row`] reads, in order.
const ENTRY_COLUMNS: &str = "f.path, f.size, f.mtime_ns, f.hash, f.state, f.missing, f.container, f.codec, \
    f.sample_rate, f.channels, f.bits, f.duration_s, f.onset_s, f.peak, f.rms, f.warnings, f.class, f.confidence, \
    f.scores, f.model_version, f.scanned_at, f.error_kind, f.error_message, c.class";

/// Corrections join on the hash of analysed content only: a pending row's hash is stale.
const ENTRY_FROM: &str = "files f LEFT JOIN corrections c ON c.hash = f.hash AND f.state != 0";

fn parse_class(s: Option<String>) -> Option<DrumClass> {
    s.and_then(|s| s.parse().ok())
}

fn entry_from_row(r: &Row<'_>) -> rusqlite::Result<Entry> {
    let hash: Option<Vec<u8>> = r.get(3)?;
    let status = Status::from_code(r.get(4)?);
    let container: Option<String> = r.get(6)?;
    let info = match container {
        Some(container) => Some(StoredInfo {
            container,
            codec: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
            sample_rate: r.get::<_, Option<u32>>(8)?.unwrap_or(0),
            channels: r.get::<_, Option<u16>>(9)?.unwrap_or(0),
            bits_per_sample: r.get(10)?,
            duration_s: r.get(11)?,
            onset_s: r.get::<_, Option<f64>>(12)?.unwrap_or(0.0),
            peak: r.get::<_, Option<f64>>(13)?.unwrap_or(0.0) as f32,
            rms: r.get::<_, Option<f64>>(14)?.unwrap_or(0.0) as f32,
            warnings: r.get::<_, Option<String>>(15)?.and_then(|w| serde_json::from_str(&w).ok()).unwrap_or_default(),
        }),
        None => None,
    };
    let prediction = match (parse_class(r.get(16)?), r.get::<_, Option<f64>>(17)?, r.get::<_, Option<Vec<u8>>>(18)?) {
        (Some(class), Some(confidence), Some(blob)) => {
            let mut scores = [0f32; DrumClass::COUNT];
            for (s, v) in scores.iter_mut().zip(blob_to_f32s(&blob)) {
                *s = v;
            }
            Some(StoredPrediction { class, confidence: confidence as f32, scores })
        }
        _ => None,
    };
    let error = match (r.get::<_, Option<String>>(21)?, r.get::<_, Option<String>>(22)?) {
        (Some(kind), message) => Some(StoredError { kind, message: message.unwrap_or_default() }),
        _ => None,
    };
    Ok(Entry {
        path: key_path(r.get(0)?),
        size: r.get::<_, i64>(1)?.max(0) as u64,
        mtime_ns: r.get(2)?,
        hash: hash.and_then(|h| <[u8; 32]>::try_from(h.as_slice()).ok()),
        status,
        missing: r.get::<_, i64>(5)? != 0,
        info,
        prediction,
        model_version: r.get(19)?,
        scanned_at: r.get(20)?,
        error,
        correction: parse_class(r.get(23)?),
    })
}

impl Index {
    /// Calls `each` for every entry matching `filter`, in path order, streaming rows so a list of
    /// half a million files never sits in memory at once. Stops at the first error `each` returns.
    pub fn for_each_entry<E: From<IndexError>>(
        &self,
        filter: &ListFilter,
        mut each: impl FnMut(Entry) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM {ENTRY_FROM} WHERE f.missing = ?1 \
             AND (?2 IS NULL OR COALESCE(c.class, f.class) = ?2) AND (?3 = 0 OR f.state != 1) ORDER BY f.path"
        );
        let query = filter.query.as_ref().map(|q| q.to_lowercase());
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt
            .query(params![filter.missing, filter.class.map(|c| c.as_str()), filter.errors])
            .map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let entry = entry_from_row(row).map_err(|e| self.err(e))?;
            // Case-insensitive matching in Rust, not SQL: SQLite's lower() knows only ASCII.
            if let Some(q) = &query {
                if !entry.path.to_string_lossy().to_lowercase().contains(q.as_str()) {
                    continue;
                }
            }
            each(entry)?;
        }
        Ok(())
    }

    /// The entries matching `filter`, in path order. See [`Index::for_each_entry`] for large
    /// libraries.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        self.for_each_entry(filter, |e| {
            out.push(e);
            Ok::<(), IndexError>(())
        })?;
        Ok(out)
    }

    /// The entry for a file the user names (relative or absolute), if indexed.
    pub fn entry(&self, path: &Path) -> Result<Option<Entry>> {
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM {ENTRY_FROM} WHERE f.path = ?1");
        for name in lookup_names(path) {
            let found = self
                .conn
                .query_row(&sql, params![path_key(&name)], entry_from_row)
                .optional()
                .map_err(|e| self.err(e))?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// The model's embedding of an indexed file (for nearest-neighbour search), if analysed.
    pub fn embedding(&self, path: &Path) -> Result<Option<Vec<f32>>> {
        let Some(entry) = self.entry(path)? else { return Ok(None) };
        let blob: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT embedding FROM files WHERE path = ?1", params![path_key(&entry.path)], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        Ok(blob.map(|b| blob_to_f32s(&b)))
    }

    /// Every analysed file present on disk with its embedding, in path order: what nearest-neighbour
    /// search, duplicate finding and kit building work over. Only entries `keep` accepts are
    /// returned; it sees each entry before its embedding is decoded, so filtering by class or
    /// model version keeps memory down on large libraries.
    pub fn sounds(&self, mut keep: impl FnMut(&Entry) -> bool) -> Result<Vec<Sound>> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS}, f.embedding FROM {ENTRY_FROM} \
             WHERE f.missing = 0 AND f.state = 1 AND f.embedding IS NOT NULL ORDER BY f.path"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let entry = entry_from_row(row).map_err(|e| self.err(e))?;
            if !keep(&entry) {
                continue;
            }
            let blob: Vec<u8> = row.get(24).map_err(|e| self.err(e))?;
            out.push(Sound { entry, embedding: blob_to_f32s(&blob) });
        }
        Ok(out)
    }

    /// Sets (`Some`) or clears (`None`) the user's class for the sound at `path`. Keyed by the
    /// file's content, so it holds for every copy of the sound and survives moves and rescans.
    /// Works for files not scanned yet; reads the file (never writes it) when the index has no
    /// current hash for it.
    pub fn set_correction(&mut self, path: &Path, class: Option<DrumClass>) -> Result<Relabelled> {
        let entry = self.entry(path)?;
        let name = entry.as_ref().map_or_else(|| super::absolute(path), |e| e.path.clone());
        let outcome = if entry.is_some() { Relabelled::Indexed(name) } else { Relabelled::NotIndexed(name) };
        let hash = match entry.filter(|e| e.status != Status::Pending).and_then(|e| e.hash) {
            Some(h) => h,
            None => content_hash(path)
                .map_err(|source| IndexError::Io { context: format!("reading {}", path.display()), source })?,
        };
        let result = match class {
            Some(c) => self.conn.execute(
                "INSERT INTO corrections (hash, class, set_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(hash) DO UPDATE SET class = excluded.class, set_at = excluded.set_at",
                params![&hash[..], c.as_str(), now_unix()],
            ),
            None => self.conn.execute("DELETE FROM corrections WHERE hash = ?1", params![&hash[..]]),
        };
        result.map_err(|e| self.err(e))?;
        Ok(outcome)
    }

    /// Folders (or files) scans were run on, most recent first: what `organize` must not write
    /// into, and what the plugin offers to rescan.
    pub fn roots(&self) -> Result<Vec<PathBuf>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT path FROM roots ORDER BY scanned_at DESC, path")
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0)).map_err(|e| self.err(e))?;
        rows.map(|r| r.map(key_path).map_err(|e| self.err(e))).collect()
    }
}
