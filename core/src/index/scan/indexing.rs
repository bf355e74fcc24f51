//! The indexing phase of a scan: the walk compared with the index in one transaction. Unchanged
//! files cost a `stat`; new, changed, resumed and re-analysed ones (and ones whose time cannot be
//! trusted) become [`Work`] for the analysing phase, vanished ones are marked missing.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use rusqlite::params;

use super::{Reason, ScanSummary, Walked, Work};
use crate::index::entries::Status;
use crate::index::{now_unix, path_key, Index};

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

/// Seconds a timestamp may be coarse by (FAT: 2 s): see [`Reason::Doubt`].
const MTIME_SLACK_S: i64 = 2;

/// Key range `[lo, hi)` holding every path strictly below `root` (bytewise: `root/` .. `root0`).
pub(super) fn below(root: &[u8]) -> (Vec<u8>, Vec<u8>) {
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
    /// Compares the walk with the index in one transaction; returns the files to analyse and the
    /// ids of entries under the roots that are now missing.
    pub(super) fn index_phase(
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
}
