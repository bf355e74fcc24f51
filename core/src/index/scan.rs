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

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use rusqlite::params;

use super::entries::Status;
use super::rows::{copy_analysis, write_analysis, write_failure};
use super::{absolute, content_hash, key_path, now_unix, path_key, Index, IndexError, Result};
use crate::analyse::{analyse_paths, CHUNK};
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

/// What the index knew about a path before this scan.
struct Known {
    id: i64,
    size: u64,
    mtime_ns: i64,
    status: Status,
    missing: bool,
    model_version: Option<String>,
    hash: Option<[u8; 32]>,
    scanned_at: Option<i64>,
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

/// Another row with the same bytes.
#[derive(Clone)]
struct Twin {
    id: i64,
    status: Status,
    model_version: Option<String>,
    /// Its file is gone: the new file is that file moved.
    gone: bool,
}

/// What to do with one file of a batch.
enum Plan {
    Unreadable(String),
    Keep,
    Copy { from: i64, failed: bool },
    Analyse,
}

/// A file's size and time (stat before the read) and the hash of its bytes, or why it could not
/// be read.
type Read = std::io::Result<(u64, i64, [u8; 32])>;

/// Seconds a timestamp may be coarse by (FAT: 2 s): see [`Reason::Doubt`].
const MTIME_SLACK_S: i64 = 2;

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

/// Key range `[lo, hi)` holding every path strictly below `root` (bytewise: `root/` .. `root0`).
fn below(root: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let sep = std::path::MAIN_SEPARATOR as u8;
    let stem = root.strip_suffix(&[sep]).unwrap_or(root);
    let mut lo = stem.to_vec();
    lo.push(sep);
    let mut hi = stem.to_vec();
    hi.push(sep + 1);
    (lo, hi)
}

fn hash_from(blob: Option<Vec<u8>>) -> Option<[u8; 32]> {
    blob.and_then(|h| <[u8; 32]>::try_from(h.as_slice()).ok())
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

    /// Compares the walk with the index in one transaction; returns the files to analyse and the
    /// ids of entries under the roots that are now missing.
    fn index_phase(
        &mut self,
        roots: &[PathBuf],
        walked: &[Walked],
        unreadable: &[PathBuf],
        version: &str,
        summary: &mut ScanSummary,
    ) -> rusqlite::Result<(Vec<Work>, HashSet<i64>)> {
        let tx = self.conn.transaction()?;
        let mut known: HashMap<Vec<u8>, Known> = HashMap::new();
        {
            let mut stmt = tx.prepare(
                "SELECT id, path, size, mtime_ns, state, missing, model_version, hash, scanned_at FROM files \
                 WHERE path = ?1 OR (path >= ?2 AND path < ?3)",
            )?;
            for root in roots {
                let key = path_key(root);
                let (lo, hi) = below(&key);
                let mut rows = stmt.query(params![key, lo, hi])?;
                while let Some(r) = rows.next()? {
                    let k = Known {
                        id: r.get(0)?,
                        size: r.get::<_, i64>(2)?.max(0) as u64,
                        mtime_ns: r.get(3)?,
                        status: Status::from_code(r.get(4)?),
                        missing: r.get::<_, i64>(5)? != 0,
                        model_version: r.get(6)?,
                        hash: hash_from(r.get(7)?),
                        scanned_at: r.get(8)?,
                    };
                    known.insert(r.get(1)?, k);
                }
            }
        }
        let mut work = Vec::new();
        let mut seen = HashSet::new();
        {
            let mut insert = tx.prepare("INSERT INTO files (path, size, mtime_ns, state) VALUES (?1, ?2, ?3, 0)")?;
            let mut restamp =
                tx.prepare("UPDATE files SET size = ?1, mtime_ns = ?2, state = 0, missing = 0 WHERE id = ?3")?;
            let mut requeue = tx.prepare("UPDATE files SET state = 0, missing = 0 WHERE id = ?1")?;
            let mut found = tx.prepare("UPDATE files SET missing = 0 WHERE id = ?1")?;
            for w in walked {
                let Some(k) = known.get(&w.key) else {
                    insert.execute(params![w.key, w.size as i64, w.mtime_ns])?;
                    let id = tx.last_insert_rowid();
                    let (old_hash, old_status, old_current) = (None, Status::Pending, false);
                    work.push(Work {
                        id,
                        path: w.path.clone(),
                        reason: Reason::New,
                        old_hash,
                        old_status,
                        old_current,
                    });
                    summary.new += 1;
                    continue;
                };
                seen.insert(k.id);
                let old_current = k.model_version.as_deref() == Some(version);
                let mut push = |reason| {
                    let (old_hash, old_status) = (k.hash, k.status);
                    work.push(Work { id: k.id, path: w.path.clone(), reason, old_hash, old_status, old_current });
                };
                if k.size != w.size || k.mtime_ns != w.mtime_ns {
                    restamp.execute(params![w.size as i64, w.mtime_ns, k.id])?;
                    push(Reason::Changed);
                    summary.changed += 1;
                } else if k.status == Status::Pending {
                    if k.missing {
                        found.execute(params![k.id])?;
                    }
                    push(Reason::Resumed);
                    summary.resumed += 1;
                } else if !old_current {
                    requeue.execute(params![k.id])?;
                    push(Reason::Reanalyse);
                    summary.reanalysed += 1;
                } else {
                    if k.missing {
                        found.execute(params![k.id])?;
                    }
                    let scanned = k.scanned_at.unwrap_or(i64::MIN);
                    if k.mtime_ns.div_euclid(1_000_000_000) + MTIME_SLACK_S >= scanned {
                        push(Reason::Doubt);
                    } else {
                        summary.unchanged += 1;
                        summary.errors += usize::from(k.status == Status::Failed);
                    }
                }
            }
        }
        let mut missing_ids = HashSet::new();
        {
            let mut lost = tx.prepare("UPDATE files SET missing = 1 WHERE id = ?1")?;
            let shielded: Vec<Vec<u8>> = unreadable.iter().map(|p| path_key(p)).collect();
            let is_shielded = |key: &Vec<u8>| {
                shielded.iter().any(|k| {
                    let (lo, hi) = below(k);
                    key == k || (*key >= lo && *key < hi)
                })
            };
            for (_, k) in known.iter().filter(|(key, k)| !seen.contains(&k.id) && !is_shielded(key)) {
                if !k.missing {
                    lost.execute(params![k.id])?;
                }
                missing_ids.insert(k.id);
            }
            summary.missing = missing_ids.len();
            let mut root = tx.prepare("INSERT OR REPLACE INTO roots (path, scanned_at) VALUES (?1, ?2)")?;
            for r in roots {
                root.execute(params![path_key(r), now_unix()])?;
            }
        }
        tx.commit()?;
        Ok((work, missing_ids))
    }

    /// Other analysed rows holding exactly these bytes.
    fn twins(&self, hash: &[u8; 32], skip: &HashSet<i64>) -> rusqlite::Result<Vec<Twin>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, path, state, missing, model_version FROM files WHERE hash = ?1 AND state != 0 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![&hash[..]], |r| {
            let path = key_path(r.get(1)?);
            let missing = r.get::<_, i64>(3)? != 0;
            Ok(Twin {
                id: r.get(0)?,
                status: Status::from_code(r.get(2)?),
                model_version: r.get(4)?,
                gone: missing || !path.exists(),
            })
        })?;
        let mut out = Vec::new();
        for t in rows {
            let t = t?;
            if !skip.contains(&t.id) {
                out.push(t);
            }
        }
        Ok(out)
    }

    /// Hashes, plans, analyses and commits one batch (see the module docs).
    fn analyse_batch(
        &mut self,
        batch: &[Work],
        model: &mut ScanModel<'_>,
        missing_ids: &HashSet<i64>,
        twins_taken: &mut HashSet<i64>,
        summary: &mut ScanSummary,
    ) -> Result<()> {
        // The stat before the hash is stored with it: an edit after this point shows as a change
        // next time.
        let read: Vec<Read> = batch
            .par_iter()
            .map(|w| {
                let meta = std::fs::metadata(&w.path)?;
                Ok((meta.len(), mtime_ns(&meta), content_hash(&w.path)?))
            })
            .collect();
        // Rows of this batch may be rewritten below: never copy from them.
        let in_batch: HashSet<i64> = batch.iter().map(|w| w.id).collect();
        let version = model.version().to_string();
        // First the files whose stored analysis still holds: they may serve as donors below.
        let mut plans: Vec<Option<Plan>> = Vec::with_capacity(batch.len());
        let mut kept: HashMap<[u8; 32], Twin> = HashMap::new();
        for (w, r) in batch.iter().zip(&read) {
            let hash = match r {
                Err(e) => {
                    plans.push(Some(Plan::Unreadable(e.to_string())));
                    continue;
                }
                Ok((_, _, hash)) => hash,
            };
            // Touched but not edited (or a restored file): the stored analysis still holds.
            let same = w.old_hash.as_ref() == Some(hash) && w.old_status != Status::Pending && w.old_current;
            plans.push(match w.reason {
                Reason::Doubt | Reason::Changed if same => {
                    if w.reason == Reason::Changed {
                        summary.changed -= 1;
                    }
                    let twin =
                        Twin { id: w.id, status: w.old_status, model_version: Some(version.clone()), gone: false };
                    kept.entry(*hash).or_insert(twin);
                    Some(Plan::Keep)
                }
                _ => None,
            });
        }
        let mut moved_from = Vec::new();
        for ((w, r), plan) in batch.iter().zip(&read).zip(plans.iter_mut()) {
            let (None, Ok((_, _, hash))) = (&plan, r) else { continue };
            if w.reason == Reason::Doubt {
                summary.changed += 1;
            }
            let mut twins = self.twins(hash, &in_batch).map_err(|e| self.err(e))?;
            twins.extend(kept.get(hash).cloned());
            // Only a path with no analysis of its own can be the new home of a moved file.
            let fresh_path = matches!(w.reason, Reason::New) || (w.reason == Reason::Resumed && w.old_hash.is_none());
            let gone = twins.iter().find(|t| fresh_path && t.gone && !twins_taken.contains(&t.id)).map(|t| t.id);
            if let Some(id) = gone {
                twins_taken.insert(id);
                moved_from.push(id);
                summary.moved += 1;
                match w.reason {
                    Reason::New => summary.new -= 1,
                    _ => summary.resumed -= 1,
                }
                if missing_ids.contains(&id) {
                    summary.missing -= 1;
                }
            }
            let current = |t: &&Twin| t.model_version.as_deref() == Some(version.as_str());
            let donor =
                twins.iter().filter(current).find(|t| Some(t.id) == gone).or_else(|| twins.iter().find(current));
            *plan = Some(match donor {
                Some(t) => Plan::Copy { from: t.id, failed: t.status == Status::Failed },
                None => Plan::Analyse,
            });
        }
        let plans: Vec<Plan> = plans.into_iter().map(|p| p.unwrap_or(Plan::Analyse)).collect();

        let paths: Vec<PathBuf> =
            batch.iter().zip(&plans).filter(|(_, p)| matches!(p, Plan::Analyse)).map(|(w, _)| w.path.clone()).collect();
        let mut results =
            if paths.is_empty() { Vec::new() } else { analyse_paths(model.get()?, &paths, |_| {}) }.into_iter();
        summary.analysed += paths.len();

        let now = now_unix();
        let db = self.path.clone();
        let err = |source| IndexError::Sqlite { path: db.clone(), source };
        let tx = self.conn.transaction().map_err(err)?;
        // Kept rows first: copies from them below read their restored state.
        let mut items: Vec<((&Work, &Read), Plan)> = batch.iter().zip(&read).zip(plans).collect();
        items.sort_by_key(|(_, p)| !matches!(p, Plan::Keep));
        for ((w, r), plan) in items {
            let written = match (r, plan) {
                (Err(_), Plan::Unreadable(message)) => {
                    summary.errors += 1;
                    write_failure(&tx, w.id, None, None, "io", &message, &version, now)
                }
                (Ok((size, mtime, _)), Plan::Keep) => {
                    summary.unchanged += 1;
                    summary.errors += usize::from(w.old_status == Status::Failed);
                    tx.execute(
                        "UPDATE files SET size = ?1, mtime_ns = ?2, state = ?3, scanned_at = ?4, missing = 0 WHERE id = ?5",
                        params![*size as i64, mtime, w.old_status.code(), now, w.id],
                    )
                    .map(|_| ())
                }
                (Ok((size, mtime, hash)), Plan::Copy { from, failed }) => {
                    summary.errors += usize::from(failed);
                    copy_analysis(&tx, w.id, from, (*size, *mtime), hash, now)
                }
                (Ok((size, mtime, hash)), _) => match results.next() {
                    Some(Ok(a)) => write_analysis(&tx, w.id, (*size, *mtime), hash, &a, &version, now),
                    Some(Err(e)) => {
                        summary.errors += 1;
                        write_failure(
                            &tx,
                            w.id,
                            Some((*size, *mtime)),
                            Some(hash),
                            e.kind(),
                            &e.to_string(),
                            &version,
                            now,
                        )
                    }
                    None => {
                        summary.errors += 1;
                        write_failure(&tx, w.id, Some((*size, *mtime)), Some(hash), "model", "no result", &version, now)
                    }
                },
                (Err(_), _) => Ok(()),
            };
            written.map_err(err)?;
            // Edited content keeps the class the user gave the file, unless its new bytes have one.
            if let (Some(old), Ok((_, _, new))) = (w.old_hash, r) {
                if old != *new {
                    tx.execute(
                        "INSERT OR IGNORE INTO corrections (hash, class, set_at) SELECT ?1, class, set_at FROM corrections WHERE hash = ?2",
                        params![&new[..], &old[..]],
                    )
                    .map_err(err)?;
                }
            }
        }
        for id in moved_from {
            tx.execute("DELETE FROM files WHERE id = ?1", params![id]).map_err(err)?;
        }
        tx.commit().map_err(err)
    }
}

#[cfg(test)]
#[path = "scan_tests.rs"]
mod tests;
