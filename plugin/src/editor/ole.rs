//! Dragging files out of the editor on Windows: an OLE drag source.
//!
//! DAWs, Explorer and every other Windows drop target take files as `CF_HDROP`: a `DROPFILES`
//! header and the absolute paths as NUL-terminated UTF-16 strings, ended by an empty one
//! ([`dropfiles`]). `source` offers exactly that from an `IDataObject` and runs `DoDragDrop`
//! (with the `windows` crate, the version baseview uses for its drop target).
//!
//! `DoDragDrop` runs a modal message loop until the drop, and baseview paints the editor from
//! that same loop (its window lives on the host's GUI thread). The UI asks for the drag in the
//! middle of a frame, with the window's handler and the UI borrowed, so the drag starts right
//! after the frame instead: [`start_drag`] leaves the files to a one-shot thread timer, whose
//! callback the host's message loop runs outside baseview's handler.

#[cfg(windows)]
use std::path::PathBuf;

/// Why a drag could not start.
#[cfg(windows)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DragError {
    /// Nothing to drag.
    NoFiles,
    /// Windows refused a call (the message says which).
    Windows(String),
}

#[cfg(windows)]
impl std::fmt::Display for DragError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoFiles => write!(f, "no files to drag"),
            Self::Windows(e) => write!(f, "Windows: {e}"),
        }
    }
}

#[cfg(windows)]
impl std::error::Error for DragError {}

/// Size of the `DROPFILES` header: `pFiles: u32`, `pt: POINT` (two `i32`), `fNC: BOOL`,
/// `fWide: BOOL`.
pub const DROPFILES_SIZE: usize = 20;

/// The `CF_HDROP` payload for `paths`, each already absolute and in UTF-16 without a NUL: the
/// `DROPFILES` header (files right after it, wide characters, no drop point), then every path
/// NUL-terminated, then one more NUL.
pub fn dropfiles(paths: &[Vec<u16>]) -> Vec<u8> {
    let chars: usize = paths.iter().map(|p| p.len() + 1).sum::<usize>() + 1;
    let mut out = Vec::with_capacity(DROPFILES_SIZE + 2 * chars);
    out.extend_from_slice(&(DROPFILES_SIZE as u32).to_le_bytes()); // pFiles
    out.extend_from_slice(&[0; 8]); // pt
    out.extend_from_slice(&0i32.to_le_bytes()); // fNC
    out.extend_from_slice(&1i32.to_le_bytes()); // fWide
    for unit in paths.iter().flat_map(|p| p.iter().copied().chain([0])).chain([0]) {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

/// Starts dragging `paths` out of the editor window `window` (its `HWND`), with the left button
/// held: the drag begins as soon as the current frame is done and ends when the button is
/// released (a drop) or Escape is pressed. A drag asked for while another waits to start
/// replaces it.
#[cfg(windows)]
pub fn start_drag(paths: Vec<PathBuf>, window: isize) -> Result<(), DragError> {
    source::start(paths, window)
}

/// Forgets a drag [`start_drag`] asked for that has not started yet. Call on the editor
/// window's thread when the window closes.
#[cfg(windows)]
pub fn cancel_pending() {
    source::cancel();
}

/// Absolute UTF-16 names for `paths`, as `CF_HDROP` wants them.
#[cfg(windows)]
fn wide_paths(paths: &[PathBuf]) -> Vec<Vec<u16>> {
    use std::os::windows::ffi::OsStrExt;
    paths
        .iter()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()).as_os_str().encode_wide().collect())
        .collect()
}

#[cfg(windows)]
mod source;

#[cfg(test)]
mod tests {
    use super::*;

    fn wide(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    #[test]
    fn dropfiles_is_a_wide_header_then_nul_separated_paths_and_a_final_nul() {
        let bytes = dropfiles(&[wide(r"C:\Samples\kick 01.wav"), wide("Z:\\caf\u{e9}\\\u{1d11e}.wav")]);
        assert_eq!(u32::from_le_bytes(bytes[0..4].try_into().unwrap()) as usize, DROPFILES_SIZE);
        assert_eq!(&bytes[4..16], &[0; 12], "no drop point, fNC false");
        assert_eq!(i32::from_le_bytes(bytes[16..20].try_into().unwrap()), 1, "fWide");
        let units: Vec<u16> =
            bytes[DROPFILES_SIZE..].chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        let list: Vec<String> = units.split(|&u| u == 0).map(String::from_utf16_lossy).collect();
        // Two names, the empty string that ends the list, and nothing after its NUL.
        assert_eq!(list, [r"C:\Samples\kick 01.wav", "Z:\\caf\u{e9}\\\u{1d11e}.wav", "", ""]);
        assert_eq!(units.iter().rev().take(3).collect::<Vec<_>>(), [&0, &0, &u16::from(b'v')]);
    }

    #[test]
    fn an_empty_list_is_the_header_and_one_nul() {
        assert_eq!(dropfiles(&[]).len(), DROPFILES_SIZE + 2);
    }
}
