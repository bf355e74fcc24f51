//! The index's on-disk shape and how a file on disk becomes a usable connection: create, migrate,
//! or set a damaged or too-new file aside and start fresh.
//!
//! The schema version lives in SQLite's `PRAGMA user_version` and Drumsort's mark in
//! `PRAGMA application_id`, both in the file header, so they can be read before any table is.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode};

use super::{IndexError, Result};

/// `application_id` of a Drumsort index ("DSOR"): tells our file from any other SQLite database
/// a mistyped `--db` might point at.
const APPLICATION_ID: i32 = 0x4453_4F52;

/// Schema version this build writes. A file with a higher `user_version` comes from a newer
/// Drumsort and is set aside rather than misread.
pub const SCHEMA_VERSION: i32 = 1;

/// `MIGRATIONS[i]` takes a file from version `i` to `i + 1`; each runs in one transaction together
/// with its `user_version` bump, so a crash leaves the file at one version or the next.
const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [
    // 0 -> 1: files, user corrections (by content hash, so they outlive paths), scanned roots.
    "CREATE TABLE files (
        id            INTEGER PRIMARY KEY,
        path          BLOB NOT NULL UNIQUE,  -- exact path bytes
        size          INTEGER NOT NULL,
        mtime_ns      INTEGER NOT NULL,
        state         INTEGER NOT NULL,      -- 0 pending, 1 analysed, 2 error
        missing       INTEGER NOT NULL DEFAULT 0,
        hash          BLOB,                  -- blake3 of the bytes last analysed
        container     TEXT,
        codec         TEXT,
        sample_rate   INTEGER,
        channels      INTEGER,
        bits          INTEGER,
        duration_s    REAL,
        onset_s       REAL,
        peak          REAL,
        rms           REAL,
        warnings      TEXT,                  -- JSON array of strings
        class         TEXT,                  -- the model's class
        confidence    REAL,
        scores        BLOB,                  -- 13 little-endian f32 in DrumClass::ALL order
        embedding     BLOB,                  -- little-endian f32
        model_version TEXT,
        scanned_at    INTEGER,               -- Unix seconds
        error_kind    TEXT,
        error_message TEXT
    );
    CREATE INDEX files_hash ON files(hash);
    CREATE TABLE corrections (
        hash   BLOB PRIMARY KEY,
        class  TEXT NOT NULL,
        set_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE roots (
        path       BLOB PRIMARY KEY,
        scanned_at INTEGER NOT NULL
    ) WITHOUT ROWID;",
];

/// Why an index file was moved aside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetAsideReason {
    /// SQLite could not read it (not a database, damaged header or schema); SQLite's message.
    Corrupt(String),
    /// Written by a newer Drumsort with this schema version.
    Future(i32),
}

/// A damaged or too-new index file that was renamed, so the user can recover or inspect it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetAside {
    /// The index path, where a fresh index now lives.
    pub from: PathBuf,
    /// Where the old file went: `<name>.corrupt-<UTC time>` or `<name>.future-<UTC time>`.
    pub to: PathBuf,
    pub reason: SetAsideReason,
}

impl fmt::Display for SetAside {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            SetAsideReason::Corrupt(msg) => write!(f, "library index {} is corrupt ({msg})", self.from.display())?,
            SetAsideReason::Future(v) => write!(
                f,
                "library index {} has schema version {v}, newer than this Drumsort understands ({SCHEMA_VERSION})",
                self.from.display()
            )?,
        }
        write!(f, "; moved it to {} and started a fresh index", self.to.display())
    }
}

/// What stopped a file from opening.
enum Refusal {
    Corrupt(String),
    Future(i32),
    Fatal(IndexError),
}

/// Opens `path` ready for use, setting a corrupt or too-new file aside once and retrying.
pub(super) fn open_or_recover(path: &Path) -> Result<(Connection, Option<SetAside>)> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|source| IndexError::Io { context: format!("creating {}", dir.display()), source })?;
    }
    let reason = match try_open_patiently(path) {
        Ok(conn) => return Ok((conn, None)),
        Err(Refusal::Fatal(e)) => return Err(e),
        Err(Refusal::Corrupt(msg)) => SetAsideReason::Corrupt(msg),
        Err(Refusal::Future(v)) => SetAsideReason::Future(v),
    };
    let to = move_aside(path, &reason)?;
    let set_aside = SetAside { from: path.to_path_buf(), to, reason };
    match try_open_patiently(path) {
        Ok(conn) => Ok((conn, Some(set_aside))),
        Err(Refusal::Fatal(e)) => Err(e),
        Err(Refusal::Corrupt(message)) => Err(IndexError::Unusable { path: path.to_path_buf(), message }),
        Err(Refusal::Future(v)) => Err(IndexError::Unusable {
            path: path.to_path_buf(),
            message: format!("schema version {v} right after a fresh start"),
        }),
    }
}

/// [`try_open`], retried for a while when another process holds a lock SQLite's busy handler
/// does not wait for (switching journal mode, creating the schema while the plugin does too).
fn try_open_patiently(path: &Path) -> std::result::Result<Connection, Refusal> {
    let mut tries = 0;
    loop {
        match try_open(path) {
            Err(Refusal::Fatal(IndexError::Sqlite { source, .. }))
                if tries < 100
                    && matches!(
                        source.sqlite_error_code(),
                        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                    ) =>
            {
                tries += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

fn fatal(path: &Path, source: rusqlite::Error) -> IndexError {
    IndexError::Sqlite { path: path.to_path_buf(), source }
}

/// An SQLite error that means the file's contents are unreadable (as opposed to a locked,
/// missing or permission-denied file, which moving aside would not fix).
fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt))
}

fn refusal(path: &Path, e: rusqlite::Error) -> Refusal {
    if is_corruption(&e) {
        Refusal::Corrupt(e.to_string())
    } else {
        Refusal::Fatal(fatal(path, e))
    }
}

fn try_open(path: &Path) -> std::result::Result<Connection, Refusal> {
    let conn = Connection::open(path).map_err(|e| refusal(path, e))?;
    // The plugin and the CLI may write at once; wait for each other rather than fail.
    conn.busy_timeout(Duration::from_secs(10)).map_err(|e| refusal(path, e))?;
    let header = |conn: &Connection| -> rusqlite::Result<(i32, i32, i64)> {
        let app: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        let version: i32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let objects: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        Ok((app, version, objects))
    };
    let (app, version, objects) = header(&conn).map_err(|e| refusal(path, e))?;
    let fresh = app == 0 && version == 0 && objects == 0;
    if !fresh && app != APPLICATION_ID {
        return Err(Refusal::Fatal(IndexError::Foreign(path.to_path_buf())));
    }
    if version > SCHEMA_VERSION {
        return Err(Refusal::Future(version));
    }
    let setup = |conn: &mut Connection| -> rusqlite::Result<()> {
        // WAL: readers (a `list`, the plugin) never block a scan's writes, and a killed scan
        // loses only its uncommitted batch. NORMAL sync is crash-safe in WAL mode.
        conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        migrate(conn)?;
        // Touch each table so a damaged schema shows up now, not halfway through a scan.
        for table in ["files", "corrections", "roots"] {
            conn.query_row(&format!("SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1)"), [], |r| {
                r.get::<_, i64>(0)
            })?;
        }
        Ok(())
    };
    let mut conn = conn;
    setup(&mut conn).map_err(|e| refusal(path, e))?;
    Ok(conn)
}

/// Applies the migrations the file still needs, each atomically with its version bump. The
/// version is re-read inside a write-locked transaction: another process (the plugin, a parallel
/// `list`) may have migrated the file since it was first read.
fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: i32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let Some(sql) = usize::try_from(version).ok().and_then(|v| MIGRATIONS.get(v)) else { return Ok(()) };
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
}

/// Renames `path` (and its WAL and shared-memory files, which belong to it) to
/// `<name>.corrupt-<UTC time>` or `<name>.future-<UTC time>`, adding `-2`, `-3`, ... if taken.
fn move_aside(path: &Path, reason: &SetAsideReason) -> Result<PathBuf> {
    let tag = match reason {
        SetAsideReason::Corrupt(_) => "corrupt",
        SetAsideReason::Future(_) => "future",
    };
    let stamp = utc_stamp(super::now_unix());
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "library.sqlite".into());
    let base = path.with_file_name(format!("{name}.{tag}-{stamp}"));
    let mut to = base.clone();
    let mut n = 1;
    while to.exists() {
        n += 1;
        to = PathBuf::from(format!("{}-{n}", base.display()));
    }
    std::fs::rename(path, &to).map_err(|source| IndexError::Io {
        context: format!("moving {} aside to {}", path.display(), to.display()),
        source,
    })?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            let side_to = PathBuf::from(format!("{}{suffix}", to.display()));
            std::fs::rename(&side, &side_to)
                .map_err(|source| IndexError::Io { context: format!("moving {} aside", side.display()), source })?;
        }
    }
    Ok(to)
}

/// `YYYYMMDDTHHMMSSZ` for Unix seconds: sortable, and readable in a file name on every platform.
fn utc_stamp(unix: i64) -> String {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::super::tests::temp_dir;
    use super::super::Index;
    use super::*;

    fn user_version(path: &Path) -> i32 {
        Connection::open(path).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap()
    }

    fn siblings(dir: &Path, prefix: &str) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
            .collect()
    }

    #[test]
    fn stamps_are_utc_calendar_times() {
        assert_eq!(utc_stamp(0), "19700101T000000Z");
        assert_eq!(utc_stamp(951_782_400), "20000229T000000Z");
        assert_eq!(utc_stamp(1_795_000_000), "20261118T110640Z");
        assert_eq!(utc_stamp(-1), "19691231T235959Z");
    }

    #[test]
    fn fresh_file_is_created_in_wal_mode_at_the_current_version() {
        let dir = temp_dir("fresh");
        let db = dir.join("sub/library.sqlite");
        let index = Index::open(&db).unwrap();
        assert!(index.set_aside().is_none());
        let mode: String = index.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        drop(index);
        assert_eq!(user_version(&db), SCHEMA_VERSION);
        // Reopening an up-to-date file changes nothing.
        assert!(Index::open(&db).unwrap().set_aside().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn garbage_file_is_moved_aside_intact_and_replaced() {
        let dir = temp_dir("garbage");
        let db = dir.join("library.sqlite");
        let garbage: Vec<u8> = (0..10_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8).collect();
        std::fs::write(&db, &garbage).unwrap();
        let index = Index::open(&db).unwrap();
        let aside = index.set_aside().cloned().expect("garbage must be set aside");
        assert!(matches!(aside.reason, SetAsideReason::Corrupt(_)), "{aside}");
        assert!(
            aside.to.file_name().unwrap().to_string_lossy().starts_with("library.sqlite.corrupt-"),
            "{}",
            aside.to.display()
        );
        assert_eq!(std::fs::read(&aside.to).unwrap(), garbage, "the old file is kept byte for byte");
        assert!(aside.to_string().contains("corrupt"));
        drop(index);
        assert_eq!(user_version(&db), SCHEMA_VERSION);
        // A second garbage file the same second gets its own name.
        std::fs::remove_file(&db).unwrap();
        std::fs::write(&db, b"not sqlite either, but long enough to have a header of sorts....................")
            .unwrap();
        let again = Index::open(&db).unwrap();
        assert_ne!(again.set_aside().unwrap().to, aside.to);
        assert_eq!(siblings(&dir, "library.sqlite.corrupt-").len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn future_version_is_moved_aside() {
        let dir = temp_dir("future");
        let db = dir.join("library.sqlite");
        drop(Index::open(&db).unwrap());
        Connection::open(&db).unwrap().pragma_update(None, "user_version", SCHEMA_VERSION + 5).unwrap();
        let index = Index::open(&db).unwrap();
        let aside = index.set_aside().expect("future file must be set aside");
        assert_eq!(aside.reason, SetAsideReason::Future(SCHEMA_VERSION + 5));
        assert!(aside.to.to_string_lossy().contains(".future-"));
        assert_eq!(user_version(&aside.to), SCHEMA_VERSION + 5);
        drop(index);
        assert_eq!(user_version(&db), SCHEMA_VERSION);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn someone_elses_database_is_refused_and_left_alone() {
        let dir = temp_dir("foreign");
        let db = dir.join("notes.sqlite");
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me');").unwrap();
        drop(conn);
        let before = std::fs::read(&db).unwrap();
        assert!(matches!(Index::open(&db), Err(IndexError::Foreign(_))));
        assert_eq!(std::fs::read(&db).unwrap(), before);
        assert_eq!(siblings(&dir, "notes.sqlite.").len(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
