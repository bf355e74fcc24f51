//! `drumsort organize`: the library sorted into one folder per class, by copies, hard links or
//! symbolic links, with a manifest of what went where.
//!
//! Safety rules, each tested end to end:
//! - Sources are only ever opened for reading (copy) or named (links); nothing is renamed, moved,
//!   truncated or deleted outside the output folder, and inside it only Drumsort's own temporary
//!   file is removed.
//! - Every write lands in `DIR/<class>/<name>`, where `<class>` is a fixed class name and `<name>`
//!   is [`names::sanitize`]d: one plain path component whatever the source name holds. A class
//!   folder that is a symlink (or not a folder) is refused rather than written through, and no
//!   existing file is ever replaced: files are created exclusively (`O_EXCL`), so a planted
//!   symlink is never followed.
//! - A `DIR` inside a scanned root is refused unless the caller allows it.
//!
//! Names are decided in path order, so the same index gives the same layout; a destination that
//! already holds this very sound (same bytes, same inode, or a link to the source) counts as done,
//! which makes a re-run a no-op, and one holding anything else is left alone and the next free
//! name (`kick (2).wav`) taken.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use super::{io_err, names, LibraryError, Result};
use crate::class::DrumClass;
use crate::index::{content_hash, Entry, Index, ListFilter, Status};

/// File name of the manifest written at the top of the output folder.
pub const MANIFEST: &str = "drumsort-manifest.json";

/// How a sound is put in its class folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// An independent copy of the bytes.
    Copy,
    /// A second name for the same file (same file system only): no extra space, but an edit
    /// through either name changes both.
    Hardlink,
    /// A symbolic link to the source's absolute path (Unix only).
    Symlink,
}

impl Mode {
    /// The name used on the command line and in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Copy => "copy",
            Mode::Hardlink => "hardlink",
            Mode::Symlink => "symlink",
        }
    }
}

/// What to organize and how.
#[derive(Clone, Debug)]
pub struct OrganizeOptions {
    /// The output folder; created if needed.
    pub into: PathBuf,
    pub mode: Mode,
    /// Decide everything, write nothing (not even `into`).
    pub dry_run: bool,
    /// Allow `into` inside a folder the index scanned.
    pub allow_inside_root: bool,
}

/// What happened (or, in a dry run, would happen) to one sound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Copied or linked now (or would be, in a dry run).
    Placed,
    /// The destination already holds this sound from an earlier run.
    AlreadyThere,
    /// Could not be placed; why. The other sounds are still placed.
    Failed(String),
}

/// One sound's destination.
#[derive(Clone, Debug, PartialEq)]
pub struct Placement {
    pub source: PathBuf,
    /// Relative to the output folder: `<class>/<name>`.
    pub dest: PathBuf,
    pub class: DrumClass,
    /// The class is the user's correction rather than the model's.
    pub corrected: bool,
    pub hash: Option<[u8; 32]>,
    pub action: Action,
}

/// What [`organize`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct OrganizeReport {
    /// The output folder, absolute.
    pub into: PathBuf,
    /// In path order of the sources.
    pub placements: Vec<Placement>,
    /// Indexed files left out because they have no class (unreadable, or not analysed yet).
    pub unclassified: usize,
    /// The manifest written, `None` in a dry run.
    pub manifest: Option<PathBuf>,
}

/// Sorts every classified, present file of `index` into `opts.into`; see the module docs.
pub fn organize(index: &Index, opts: &OrganizeOptions) -> Result<OrganizeReport> {
    let into = resolve(&opts.into)?;
    if !opts.allow_inside_root {
        for root in index.roots()? {
            let root = crate::canonical::canonicalize(&root).unwrap_or(root);
            if into.starts_with(&root) {
                return Err(LibraryError::InsideRoot { dir: into, root });
            }
        }
    }
    match std::fs::symlink_metadata(&into) {
        Ok(m) if !m.is_dir() => {
            return Err(LibraryError::Unsafe(format!("{} exists and is not a folder", into.display())))
        }
        _ => {}
    }

    let mut entries = Vec::new();
    let mut unclassified = 0;
    index.for_each_entry(&ListFilter::default(), |e| {
        match e.class() {
            // Files already in the output folder (an allowed scan of it) are its contents, not sources.
            Some(_) if e.status == Status::Analysed && !e.path.starts_with(&into) => entries.push(e),
            Some(_) => {}
            None => unclassified += 1,
        }
        Ok::<(), LibraryError>(())
    })?;

    let mut placements = plan(&into, opts.mode, &entries);
    if opts.dry_run {
        return Ok(OrganizeReport { into, placements, unclassified, manifest: None });
    }
    std::fs::create_dir_all(&into).map_err(io_err(format!("creating {}", into.display())))?;
    let mut ready: HashMap<DrumClass, std::result::Result<(), String>> = HashMap::new();
    for (p, e) in placements.iter_mut().zip(&entries) {
        if p.action != Action::Placed {
            continue;
        }
        let folder = into.join(p.class.as_str());
        if let Err(why) = ready.entry(p.class).or_insert_with(|| class_folder(&folder)) {
            p.action = Action::Failed(why.clone());
            continue;
        }
        if let Err(why) = place(opts.mode, e, &into.join(&p.dest)) {
            p.action = Action::Failed(why);
        }
    }
    let manifest = write_manifest(&into, opts.mode, &placements)?;
    Ok(OrganizeReport { into, placements, unclassified, manifest: Some(manifest) })
}

/// `dir` made absolute with symlinks resolved as far as it exists (so a symlinked output folder
/// is compared with the roots by where it really is), the rest appended lexically.
fn resolve(dir: &Path) -> Result<PathBuf> {
    let abs = std::path::absolute(dir).map_err(io_err(format!("resolving {}", dir.display())))?;
    let mut existing = abs.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = crate::canonical::canonicalize(existing) {
            let mut out = real;
            for c in rest.iter().rev() {
                match c {
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::Normal(n) => out.push(n),
                    _ => {}
                }
            }
            return Ok(out);
        }
        match (existing.parent(), existing.components().next_back()) {
            (Some(parent), Some(last)) => {
                rest.push(last);
                existing = parent;
            }
            _ => return Ok(abs.clone()),
        }
    }
}

/// Destinations in source path order. Names are compared ignoring case, so the layout is the
/// same on case-insensitive file systems.
fn plan(into: &Path, mode: Mode, entries: &[Entry]) -> Vec<Placement> {
    let mut claimed: HashSet<(DrumClass, String)> = HashSet::new();
    entries
        .iter()
        .map(|e| {
            let class = e.class().unwrap_or(DrumClass::Other);
            let base = names::sanitize(e.path.file_name().unwrap_or_default());
            let mut n = 1;
            let (name, action) = loop {
                let name = names::numbered(&base, n);
                n += 1;
                if claimed.contains(&(class, name.to_lowercase())) {
                    continue;
                }
                let dest = into.join(class.as_str()).join(&name);
                match std::fs::symlink_metadata(&dest) {
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => break (name, Action::Placed),
                    Err(err) => break (name, Action::Failed(format!("{}: {err}", dest.display()))),
                    Ok(meta) if holds(mode, &meta, &dest, e) => break (name, Action::AlreadyThere),
                    Ok(_) => continue,
                }
            };
            claimed.insert((class, name.to_lowercase()));
            Placement {
                source: e.path.clone(),
                dest: Path::new(class.as_str()).join(name),
                class,
                corrected: e.correction.is_some(),
                hash: e.hash,
                action,
            }
        })
        .collect()
}

/// Whether `dest` (whose own metadata, links not followed, is `meta`) already is `e` placed by
/// `mode`.
fn holds(mode: Mode, meta: &std::fs::Metadata, dest: &Path, e: &Entry) -> bool {
    match mode {
        Mode::Copy => meta.is_file() && meta.len() == e.size && e.hash.is_some() && content_hash(dest).ok() == e.hash,
        Mode::Hardlink => meta.is_file() && std::fs::metadata(&e.path).is_ok_and(|src| same_inode(&src, meta)),
        Mode::Symlink => meta.is_symlink() && std::fs::read_link(dest).is_ok_and(|t| t == e.path),
    }
}

#[cfg(unix)]
fn same_inode(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_inode(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    false
}

/// Creates a class folder, refusing one that exists as anything but a real folder (a symlink in
/// the output folder could point anywhere).
fn class_folder(folder: &Path) -> std::result::Result<(), String> {
    match std::fs::create_dir(folder) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match std::fs::symlink_metadata(folder) {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => Err(format!("{} exists and is not a plain folder; not writing through it", folder.display())),
            Err(e) => Err(format!("{}: {e}", folder.display())),
        },
        Err(e) => Err(format!("creating {}: {e}", folder.display())),
    }
}

/// Puts one sound at `dest`, which must not exist. The source must still be the file the index
/// classified (same size and modification time), or its class may be stale.
fn place(mode: Mode, e: &Entry, dest: &Path) -> std::result::Result<(), String> {
    let src = &e.path;
    let meta = std::fs::metadata(src).map_err(|err| format!("{}: {err}", src.display()))?;
    if meta.len() != e.size || mtime_ns(&meta) != Some(e.mtime_ns) {
        return Err(format!("{} changed since the last scan; run drumsort scan first", src.display()));
    }
    let result = match mode {
        Mode::Copy => copy_exclusive(src, dest),
        Mode::Hardlink => std::fs::hard_link(src, dest),
        #[cfg(unix)]
        Mode::Symlink => std::os::unix::fs::symlink(src, dest),
        #[cfg(not(unix))]
        Mode::Symlink => Err(std::io::Error::new(std::io::ErrorKind::Unsupported, "symlinks need Unix")),
    };
    result.map_err(|err| format!("{} -> {}: {err}", src.display(), dest.display()))
}

fn mtime_ns(meta: &std::fs::Metadata) -> Option<i64> {
    let t = meta.modified().ok()?;
    Some(match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i64,
        Err(e) => -(e.duration().as_nanos() as i64),
    })
}

/// Copies `src` to a fresh temporary file next to `dest`, then links it in under `dest` without
/// replacing anything, so `dest` is either absent or complete even after a crash.
fn copy_exclusive(src: &Path, dest: &Path) -> std::io::Result<()> {
    let folder = dest.parent().unwrap_or(Path::new("."));
    let tmp = folder.join(format!(".drumsort-partial-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        let mut out = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        std::io::copy(&mut std::fs::File::open(src)?, &mut out)?;
        out.sync_all()?;
        drop(out);
        match std::fs::hard_link(&tmp, dest) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e),
            // File systems without hard links (FAT, some network shares): check, then rename.
            Err(_) if !dest.exists() && std::fs::symlink_metadata(dest).is_err() => std::fs::rename(&tmp, dest),
            Err(e) => Err(e),
        }
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

fn hex(hash: &[u8; 32]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes the manifest through a temporary file and a rename, so a reader never sees half of
/// it and a planted symlink at its name is replaced, not followed.
fn write_manifest(into: &Path, mode: Mode, placements: &[Placement]) -> Result<PathBuf> {
    let files: Vec<serde_json::Value> = placements
        .iter()
        .map(|p| {
            let (action, error) = match &p.action {
                Action::Placed => ("placed", None),
                Action::AlreadyThere => ("already_there", None),
                Action::Failed(why) => ("failed", Some(why.clone())),
            };
            serde_json::json!({
                "source": p.source.to_string_lossy(),
                "dest": p.dest.to_string_lossy(),
                "class": p.class.as_str(),
                "corrected": p.corrected,
                "blake3": p.hash.as_ref().map(hex),
                "action": action,
                "error": error,
            })
        })
        .collect();
    let doc = serde_json::json!({
        "tool": "drumsort organize",
        "version": 1,
        "mode": mode.as_str(),
        "written_at": crate::index::now_unix(),
        "files": files,
    });
    let path = into.join(MANIFEST);
    let tmp = into.join(format!(".{MANIFEST}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(serde_json::to_string_pretty(&doc).unwrap_or_default().as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        LibraryError::Io { context: format!("writing {}", path.display()), source: e }
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_handles_missing_tails_and_dotdot() {
        let base = std::env::temp_dir().canonicalize().unwrap();
        let got = resolve(&base.join("drumsort-nonexistent-x/y/../z")).unwrap();
        assert_eq!(got, base.join("drumsort-nonexistent-x/z"));
        assert_eq!(resolve(&base).unwrap(), base);
    }

    #[test]
    fn copy_never_replaces_an_existing_file() {
        let dir = crate::index::tests::temp_dir("organize-copy");
        std::fs::write(dir.join("src.wav"), b"source").unwrap();
        std::fs::write(dir.join("taken.wav"), b"someone else's").unwrap();
        let err = copy_exclusive(&dir.join("src.wav"), &dir.join("taken.wav")).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(dir.join("taken.wav")).unwrap(), b"someone else's");
        copy_exclusive(&dir.join("src.wav"), &dir.join("new.wav")).unwrap();
        assert_eq!(std::fs::read(dir.join("new.wav")).unwrap(), b"source");
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left.len(), 3, "no temporary file left behind: {left:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_class_folder_is_refused() {
        let dir = crate::index::tests::temp_dir("organize-class-link");
        std::fs::create_dir(dir.join("elsewhere")).unwrap();
        std::os::unix::fs::symlink(dir.join("elsewhere"), dir.join("kick")).unwrap();
        assert!(class_folder(&dir.join("kick")).is_err());
        assert!(class_folder(&dir.join("snare")).is_ok());
        assert!(class_folder(&dir.join("snare")).is_ok(), "an existing real folder is fine");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
