//! The analysing phase of a scan, one batch at a time: hash every file (blake3, all cores), keep
//! or copy the stored analysis of any file with the same bytes (a move, a copy, a touched file),
//! decode and classify the rest (all cores, batched inference), and commit the batch in one
//! transaction.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use rayon::prelude::*;
use rusqlite::params;

use super::{mtime_ns, Reason, ScanModel, ScanSummary, Work};
use crate::analyse::analyse_paths;
use crate::index::entries::Status;
use crate::index::rows::{copy_analysis, write_analysis, write_failure};
use crate::index::{content_hash, key_path, now_unix, Index, IndexError, Result};

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

impl Index {
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
    pub(super) fn analyse_batch(
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
