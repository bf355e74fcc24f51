//! Bringing the index up to date with folders on disk: `drumsort scan`, and the plugin's
//! "scan folder" command.
//!
//! Two phases. Indexing walks the folders and compares each file's size and modification time
//! with the index in one transaction: unchanged files cost a `stat`, new and changed ones become
//! pending rows, vanished ones are marked missing. Analysing then works through the pending rows
//! in batches: hash every file of the batch (blake3, all cores), reuse the stored analysis of
//! any file with the same bytes (a move, a copy, a touched file), decode and classify the rest
//! (all cores, batched inference), and commit the batch in one transaction. A cancel or a kill
//! loses at most the batch in flight; pending rows are picked up by the next scan.
//!
//! This file holds what callers see (options, progress, summary, the lazily loaded model) and the
//! driver, [`Index::scan`]; the indexing phase is in `indexing.rs`, the analysing phase in
//! `analysing.rs`.

mod analysing;
mod indexing;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::entries::Status;
use super::{absolute, path_key, Index, Result};
use crate::analyse::CHUNK;
use crate::classifier::{Classifier, ModelError};
use crate::walk::{walk, Found, WalkOptions};

/// How to scan.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    pub walk: WalkOptions,
    /// Files analysed and committed together: the most a cancel or a kill can lose. Large enough
    /// to keep every core busy and amortise the commit, small enough to stop within a second.
    pub batch_size: usize,
    /// Set (from a Ctrl-C handler, the plugin's GUI, a progress callback) to stop after the batch
    /// in flight; the scan then returns normally with [`ScanSummary::interrupted`] set.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self { walk: WalkOptions::default(), batch_size: CHUNK, cancel: None }
    }
}

/// Which part of the scan a [`Progress`] report is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Finding files and comparing them with the index; the total is not known yet.
    Walking,
    /// Hashing, decoding and classifying new and changed files.
    Analysing,
}

/// A progress report, passed to the scan's callback on the scanning thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub phase: Phase,
    /// Files found (walking) or files through analysis (analysing).
    pub done: usize,
    /// Files to analyse; `None` while walking.
    pub total: Option<usize>,
}

/// What a scan found and did. `new`, `changed`, `moved`, `reanalysed` and `resumed` count what
/// happened in this scan; `unchanged`, `missing` and `errors` describe the scanned folders now.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScanSummary {
    /// Audio files found under the roots.
    pub files: usize,
    /// Files the index did not know (moves excluded).
    pub new: usize,
    /// Files whose size or modification time changed.
    pub changed: usize,
    /// Files already up to date.
    pub unchanged: usize,
    /// Files found at a new path whose bytes match a file gone from its old one; they keep its
    /// analysis and the user's correction.
    pub moved: usize,
    /// Files analysed by an older model, analysed again.
    pub reanalysed: usize,
    /// Files left pending by an interrupted scan and picked up by this one.
    pub resumed: usize,
    /// Indexed files under the roots that are no longer on disk.
    pub missing: usize,
    /// Files under the roots that could not be read (including ones recorded earlier).
    pub errors: usize,
    /// Files decoded and run through the model by this scan.
    pub analysed: usize,
    /// Folders or entries the walk could not read (permissions, symlink loops, missing roots).
    pub problems: Vec<(PathBuf, String)>,
    /// Stopped by the cancel flag; [`ScanSummary::pending`] files wait for the next scan.
    pub interrupted: bool,
    /// Files still to analyse when interrupted.
    pub pending: usize,
    /// Wall time of the scan.
    pub seconds: f64,
}

/// The model a scan analyses with, loaded only once some file needs it: an unchanged rescan
/// never pays for loading weights.
pub struct ScanModel<'a> {
    /// Compared with each entry's stored version to find files analysed by another model.
    version: String,
    source: Source<'a>,
}

enum Source<'a> {
    Borrowed(&'a Classifier),
    Owned(Box<Classifier>),
    Lazy(Option<Box<dyn FnOnce() -> std::result::Result<Classifier, ModelError> + 'a>>),
}

impl std::fmt::Debug for ScanModel<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanModel").field("version", &self.version).finish_non_exhaustive()
    }
}

impl<'a> ScanModel<'a> {
    /// A model already loaded (the plugin's worker keeps one).
    pub fn loaded(classifier: &'a Classifier) -> Self {
        Self { version: classifier.meta().model_version.clone(), source: Source::Borrowed(classifier) }
    }

    /// A model loaded by `load` on first use; `version` must be its `meta().model_version`
    /// (read from the metadata JSON, which is cheap).
    pub fn lazy(
        version: impl Into<String>,
        load: impl FnOnce() -> std::result::Result<Classifier, ModelError> + 'a,
    ) -> Self {
        Self { version: version.into(), source: Source::Lazy(Some(Box::new(load))) }
    }

    /// The model version entries are compared with.
    pub fn version(&self) -> &str {
        &self.version
    }

    fn get(&mut self) -> Result<&Classifier> {
        if let Source::Lazy(load) = &mut self.source {
            let load = load.take().ok_or(ModelError::Unavailable)?;
            let classifier = load()?;
            if classifier.meta().model_version != self.version {
                let msg = format!("model says version {}, expected {}", classifier.meta().model_version, self.version);
                return Err(ModelError::Mismatch(msg).into());
            }
            self.source = Source::Owned(Box::new(classifier));
        }
        match &self.source {
            Source::Borrowed(c) => Ok(c),
            Source::Owned(c) => Ok(c),
            Source::Lazy(_) => Err(ModelError::Unavailable.into()),
        }
    }
}

/// A file the walk found.
struct Walked {
    path: PathBuf,
    key: Vec<u8>,
    size: u64,
    mtime_ns: i64,
}

/// Why a file goes through the analysis phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reason {
    New,
    Changed,
    Resumed,
    Reanalyse,
    /// Same size and time, but modified within the file system's timestamp resolution of its
    /// last scan, so a later edit could hide behind the same time: hash to be sure.
    Doubt,
}

/// One file for the analysis phase.
struct Work {
    id: i64,
    path: PathBuf,
    reason: Reason,
    /// Hash of the content the row's stored analysis (and any correction) belongs to.
    old_hash: Option<[u8; 32]>,
    /// The row's state before this scan.
    old_status: Status,
    /// The stored analysis is by the current model: reusable if the bytes turn out the same.
    old_current: bool,
}

/// A file's modification time in nanoseconds since the Unix epoch (negative before it, 0 where the
/// file system keeps none): stored on each entry, compared by the next scan.
fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    use std::time::UNIX_EPOCH;
    match meta.modified() {
        Ok(t) => match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i64,
            Err(e) => -(e.duration().as_nanos() as i64),
        },
        Err(_) => 0,
    }
}

impl Index {
    /// Brings the index up to date with `roots` (folders walked recursively, or single files); see
    /// the module docs. `on_progress` is called on this thread while walking and after each batch.
    /// Per-file problems are stored on the files' entries; only index or model failures are
    /// errors, and whatever was committed before one stays.
    pub fn scan(
        &mut self,
        roots: &[PathBuf],
        model: &mut ScanModel<'_>,
        opts: &ScanOptions,
        mut on_progress: impl FnMut(&Progress),
    ) -> Result<ScanSummary> {
        let started = Instant::now();
        let cancelled = || opts.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed));
        let roots: Vec<PathBuf> = roots.iter().map(|r| absolute(r)).collect();
        let mut summary = ScanSummary::default();

        let mut walked = Vec::new();
        let mut keys = HashSet::new();
        for found in walk(&roots, &opts.walk) {
            match found {
                Found::Audio(path) => match std::fs::metadata(&path) {
                    Ok(meta) => {
                        let key = path_key(&path);
                        if keys.insert(key.clone()) {
                            walked.push(Walked { path, key, size: meta.len(), mtime_ns: mtime_ns(&meta) });
                        }
                    }
                    Err(e) => summary.problems.push((path, e.to_string())),
                },
                Found::Problem { path, message } => summary.problems.push((path, message)),
            }
            if walked.len() % 512 == 0 {
                on_progress(&Progress { phase: Phase::Walking, done: walked.len(), total: None });
                if cancelled() {
                    summary.interrupted = true;
                    summary.seconds = started.elapsed().as_secs_f64();
                    return Ok(summary);
                }
            }
        }
        summary.files = walked.len();
        on_progress(&Progress { phase: Phase::Walking, done: walked.len(), total: None });

        // Files below a folder that exists but could not be read are not known to be gone.
        let unreadable: Vec<PathBuf> = summary.problems.iter().map(|(p, _)| p.clone()).filter(|p| p.exists()).collect();
        let (work, missing_ids) =
            self.index_phase(&roots, &walked, &unreadable, model.version(), &mut summary).map_err(|e| self.err(e))?;
        drop(walked);

        let total = work.len();
        let batch_size = opts.batch_size.max(1);
        let mut twins_taken = HashSet::new();
        on_progress(&Progress { phase: Phase::Analysing, done: 0, total: Some(total) });
        for (i, batch) in work.chunks(batch_size).enumerate() {
            if cancelled() {
                summary.interrupted = true;
                summary.pending = total - i * batch_size;
                break;
            }
            self.analyse_batch(batch, model, &missing_ids, &mut twins_taken, &mut summary)?;
            let done = (i * batch_size + batch.len()).min(total);
            on_progress(&Progress { phase: Phase::Analysing, done, total: Some(total) });
        }
        summary.seconds = started.elapsed().as_secs_f64();
        Ok(summary)
    }
}
