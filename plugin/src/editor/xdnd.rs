//! Dragging files out of the editor on X11: an XDND drag source.
//!
//! baseview receives drops but cannot start drags, and no crate does it for a foreign X window,
//! so this implements the source side of the XDND protocol
//! (<https://www.freedesktop.org/wiki/Specifications/XDND/>) with x11rb on a private connection
//! and thread: it owns `XdndSelection`, offers `text/uri-list` (plus plain text), follows the
//! pointer to the XdndAware window under it, sends `XdndEnter`/`XdndPosition`/`XdndLeave`/
//! `XdndDrop`, and answers the target's `SelectionRequest` with `file:///...\r\n` lines. DAWs and
//! file managers accept exactly that.
//!
//! [`start_drag`] returns at once; the GUI thread never waits on the X server. The same
//! connection code also serves the CLIPBOARD for copied text ([`Clipboard`]).

mod clipboard;
mod source;
mod x11;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

pub use clipboard::Clipboard;

/// Why a drag (or a clipboard copy) could not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DragError {
    /// Nothing to drag.
    NoFiles,
    /// Another drag from this process is still in the air.
    Busy,
    /// The X server refused a request or the connection failed.
    X11(String),
    /// The drag thread could not be started.
    Thread(String),
}

impl std::fmt::Display for DragError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoFiles => write!(f, "no files to drag"),
            Self::Busy => write!(f, "a drag is already in progress"),
            Self::X11(e) => write!(f, "X11: {e}"),
            Self::Thread(e) => write!(f, "cannot start the drag thread: {e}"),
        }
    }
}

impl std::error::Error for DragError {}

/// How a drag ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DragOutcome {
    /// The target took the files and confirmed with `XdndFinished`.
    Dropped,
    /// Dropped and taken, but the target never confirmed (it may still have used the data).
    Unconfirmed,
    /// The window under the pointer refused the files (or said it failed).
    Rejected,
    /// Released over a window that does not accept drops.
    NoTarget,
    /// Escape, [`DragSession::cancel`], or the drag ran past its time limit.
    Cancelled,
}

/// At most one drag per process: X has one pointer and one `XdndSelection`.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// A drag in progress. Dropping the session cancels the drag if it is still running and waits
/// for its thread (at most one poll interval), so no thread outlives its owner.
pub struct DragSession {
    cancel: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<DragOutcome, DragError>>>,
}

impl DragSession {
    /// Asks the drag to end (the current target gets `XdndLeave`).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Waits for the drag to end and returns how it ended. Only tests wait: the editor keeps the
    /// session until the next drag or until it closes.
    #[cfg(feature = "testing")]
    pub fn wait(mut self) -> Result<DragOutcome, DragError> {
        let thread = self.thread.take().ok_or_else(|| DragError::Thread("already joined".into()))?;
        thread.join().map_err(|_| DragError::Thread("the drag thread panicked".into()))?
    }
}

impl Drop for DragSession {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.cancel();
            let _ = thread.join();
        }
    }
}

/// Starts dragging `paths` from wherever the pointer is, with the mouse button already held.
///
/// `exclude` is the plugin's own X window: the drag never drops on it. Returns at once; the drag
/// follows the pointer on its own thread until the button is released, Escape is pressed or a
/// minute passes.
pub fn start_drag(paths: Vec<PathBuf>, exclude: Option<u32>) -> Result<DragSession, DragError> {
    if paths.is_empty() {
        return Err(DragError::NoFiles);
    }
    if ACTIVE.swap(true, Ordering::AcqRel) {
        return Err(DragError::Busy);
    }
    let list = uri_list(&paths);
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    let spawned = std::thread::Builder::new().name("drumsort-xdnd".into()).spawn(move || {
        let outcome = source::run(list, exclude, flag);
        ACTIVE.store(false, Ordering::Release);
        if let Err(e) = &outcome {
            nice_plug::nice_warn!("drag out: {e}");
        }
        outcome
    });
    match spawned {
        Ok(thread) => Ok(DragSession { cancel, thread: Some(thread) }),
        Err(e) => {
            ACTIVE.store(false, Ordering::Release);
            Err(DragError::Thread(e.to_string()))
        }
    }
}

/// The `text/uri-list` for `paths`: one `file://` URI per line, CRLF-terminated (RFC 2483),
/// paths made absolute and percent-encoded byte-wise.
pub fn uri_list(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| file_uri(p) + "\r\n").collect()
}

/// `file:///abs/path` with every byte outside RFC 3986's unreserved set and `/` escaped.
pub fn file_uri(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut uri = String::from("file://");
    for &b in absolute.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded_and_crlf_terminated() {
        let paths = [PathBuf::from("/samples/Kick 01 (hard)#.wav"), PathBuf::from("/s/caf\u{e9}.wav")];
        assert_eq!(uri_list(&paths), "file:///samples/Kick%2001%20%28hard%29%23.wav\r\nfile:///s/caf%C3%A9.wav\r\n");
    }

    #[test]
    fn relative_paths_become_absolute() {
        let uri = file_uri(Path::new("kick.wav"));
        let cwd = std::env::current_dir().expect("cwd");
        assert!(uri.starts_with("file:///"), "{uri}");
        assert!(uri.ends_with("/kick.wav"), "{uri}");
        assert!(uri.len() > "file:///kick.wav".len() || cwd == Path::new("/"));
    }

    #[test]
    fn empty_drags_are_refused_without_touching_x() {
        assert_eq!(start_drag(Vec::new(), None).err(), Some(DragError::NoFiles));
    }
}
