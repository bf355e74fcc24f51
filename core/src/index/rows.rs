//! The SQL that writes a scan's per-file results, kept apart from the scan's control flow.

use rusqlite::{params, Connection};

use super::f32s_to_blob;
use crate::analyse::Analysis;

/// Stores a fresh analysis of row `id`, whose bytes hash to `hash`.
pub(super) fn write_analysis(
    tx: &Connection,
    id: i64,
    (size, mtime): (u64, i64),
    hash: &[u8; 32],
    a: &Analysis,
    version: &str,
    now: i64,
) -> rusqlite::Result<()> {
    let i = &a.info;
    let p = &a.prediction;
    let warnings: Vec<String> = a.warnings.iter().map(|w| w.to_string()).collect();
    let warnings = serde_json::to_string(&warnings).unwrap_or_else(|_| "[]".into());
    tx.prepare_cached(
        "UPDATE files SET size = ?1, mtime_ns = ?2, hash = ?3, state = 1, missing = 0, container = ?4, codec = ?5, \
         sample_rate = ?6, channels = ?7, bits = ?8, duration_s = ?9, onset_s = ?10, peak = ?11, rms = ?12, warnings = ?13, \
         class = ?14, confidence = ?15, scores = ?16, embedding = ?17, model_version = ?18, scanned_at = ?19, \
         error_kind = NULL, error_message = NULL WHERE id = ?20",
    )?
    .execute(params![
        size as i64,
        mtime,
        &hash[..],
        i.container,
        i.codec,
        i.sample_rate,
        i.channels,
        i.bits_per_sample,
        i.duration_s,
        i.onset_s,
        f64::from(i.peak),
        f64::from(i.rms),
        warnings,
        p.class.as_str(),
        f64::from(p.confidence),
        f32s_to_blob(&p.scores),
        f32s_to_blob(&p.embedding),
        version,
        now,
        id
    ])?;
    Ok(())
}

/// Stores why row `id` could not be analysed; `stamp` and `hash` are `None` when the file could
/// not even be read.
#[allow(clippy::too_many_arguments)]
pub(super) fn write_failure(
    tx: &Connection,
    id: i64,
    stamp: Option<(u64, i64)>,
    hash: Option<&[u8; 32]>,
    kind: &str,
    message: &str,
    version: &str,
    now: i64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE files SET size = COALESCE(?1, size), mtime_ns = COALESCE(?2, mtime_ns), hash = ?3, state = 2, missing = 0, \
         container = NULL, codec = NULL, sample_rate = NULL, channels = NULL, bits = NULL, duration_s = NULL, onset_s = NULL, \
         peak = NULL, rms = NULL, warnings = NULL, class = NULL, confidence = NULL, scores = NULL, embedding = NULL, \
         model_version = ?4, scanned_at = ?5, error_kind = ?6, error_message = ?7 WHERE id = ?8",
    )?
    .execute(params![stamp.map(|s| s.0 as i64), stamp.map(|s| s.1), hash.map(|h| &h[..]), version, now, kind, message, id])?;
    Ok(())
}

/// Gives row `id` the stored analysis of row `from` (same bytes, so the same result).
pub(super) fn copy_analysis(
    tx: &Connection,
    id: i64,
    from: i64,
    (size, mtime): (u64, i64),
    hash: &[u8; 32],
    now: i64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE files SET (state, container, codec, sample_rate, channels, bits, duration_s, onset_s, peak, rms, warnings, \
         class, confidence, scores, embedding, model_version, error_kind, error_message) = \
         (SELECT state, container, codec, sample_rate, channels, bits, duration_s, onset_s, peak, rms, warnings, \
         class, confidence, scores, embedding, model_version, error_kind, error_message FROM files WHERE id = ?1), \
         size = ?2, mtime_ns = ?3, hash = ?4, scanned_at = ?5, missing = 0 WHERE id = ?6",
    )?
    .execute(params![from, size as i64, mtime, &hash[..], now, id])?;
    Ok(())
}
