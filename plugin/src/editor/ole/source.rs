//! The Windows side of [`super::start_drag`]: the deferred start, the data object offering
//! `CF_HDROP` and the drop source that follows the left button.

use std::cell::RefCell;
use std::mem::ManuallyDrop;
use std::path::PathBuf;

use windows::core::{implement, Ref, BOOL, HRESULT};
use windows::Win32::Foundation::{
    GlobalFree, DATA_S_SAMEFORMATETC, DRAGDROP_S_CANCEL, DRAGDROP_S_DROP, DRAGDROP_S_USEDEFAULTCURSORS, DV_E_FORMATETC,
    E_NOTIMPL, E_OUTOFMEMORY, HWND, LPARAM, OLE_E_ADVISENOTSUPPORTED, POINT, S_OK, WPARAM,
};
use windows::Win32::Graphics::Gdi::ScreenToClient;
use windows::Win32::System::Com::{
    IAdviseSink, IDataObject, IDataObject_Impl, IEnumFORMATETC, IEnumSTATDATA, DATADIR_GET, DVASPECT_CONTENT,
    FORMATETC, STGMEDIUM, STGMEDIUM_0, TYMED_HGLOBAL,
};
use windows::Win32::System::Memory::{GlobalAlloc, GlobalLock, GlobalUnlock, GMEM_MOVEABLE};
use windows::Win32::System::Ole::{DoDragDrop, IDropSource, IDropSource_Impl, CF_HDROP, DROPEFFECT, DROPEFFECT_COPY};
use windows::Win32::System::SystemServices::{MK_LBUTTON, MODIFIERKEYS_FLAGS};
use windows::Win32::UI::Input::KeyboardAndMouse::{GetAsyncKeyState, VK_LBUTTON};
use windows::Win32::UI::Shell::SHCreateStdEnumFmtEtc;
use windows::Win32::UI::WindowsAndMessaging::{GetCursorPos, KillTimer, PostMessageW, SetTimer, WM_LBUTTONUP};

use super::{dropfiles, wide_paths, DragError};

/// A drag waiting for its timer: on the thread that asked for it (the editor window's).
struct Pending {
    paths: Vec<PathBuf>,
    window: isize,
    /// The thread timer that will start it.
    timer: usize,
}

thread_local! {
    static PENDING: RefCell<Option<Pending>> = const { RefCell::new(None) };
}

/// See [`super::start_drag`].
pub(super) fn start(paths: Vec<PathBuf>, window: isize) -> Result<(), DragError> {
    if paths.is_empty() {
        return Err(DragError::NoFiles);
    }
    let mut paths = Some(paths);
    let waiting = PENDING.with(|p| match p.borrow_mut().as_mut() {
        Some(older) => {
            // Its timer is still set and will start this drag instead.
            older.paths = paths.take().unwrap_or_default();
            older.window = window;
            true
        }
        None => false,
    });
    let Some(paths) = paths.filter(|_| !waiting) else { return Ok(()) };
    // SAFETY: a thread timer (no window) whose callback is a plain function; 0 ms is Windows'
    // shortest delay, the next pass of the thread's message loop.
    let timer = unsafe { SetTimer(None, 0, 0, Some(on_timer)) };
    if timer == 0 {
        return Err(DragError::Windows(format!("SetTimer failed: {}", windows::core::Error::from_thread())));
    }
    PENDING.with(|p| *p.borrow_mut() = Some(Pending { paths, window, timer }));
    Ok(())
}

/// Forgets a drag that has not started yet, and its timer: called when the editor window
/// closes, so no timer calls into the plugin after the host may have unloaded it.
pub(super) fn cancel() {
    if let Some(pending) = PENDING.with(|p| p.borrow_mut().take()) {
        // SAFETY: the thread timer `start` set on this thread.
        let _ = unsafe { KillTimer(None, pending.timer) };
    }
}

/// The timer's callback, from the host's message loop with no editor code on the stack.
unsafe extern "system" fn on_timer(_: HWND, _: u32, timer: usize, _: u32) {
    // SAFETY: the timer this callback was set with, on this thread.
    let _ = unsafe { KillTimer(None, timer) };
    let Some(pending) = PENDING.with(|p| p.borrow_mut().take()) else { return };
    match drag(&pending.paths) {
        Ok(effect) => nice_plug::nice_log!("drag out: {} file(s), effect {:#x}", pending.paths.len(), effect.0),
        Err(e) => nice_plug::nice_warn!("drag out: {e}"),
    }
    release_button(HWND(pending.window as *mut _));
}

/// Runs the drag to its end; the effect the target chose (`DROPEFFECT_NONE` if none took it).
fn drag(paths: &[PathBuf]) -> Result<DROPEFFECT, DragError> {
    let data: IDataObject = FileList { dropfiles: dropfiles(&wide_paths(paths)) }.into();
    let source: IDropSource = LeftButtonDrag.into();
    let mut effect = DROPEFFECT::default();
    // SAFETY: both objects live until it returns; OLE is initialised on this thread (baseview
    // does it for its drop target before the window exists).
    let result = unsafe { DoDragDrop(&data, &source, DROPEFFECT_COPY, &mut effect) };
    if result.is_err() {
        return Err(DragError::Windows(format!("DoDragDrop: {}", windows::core::Error::from_hresult(result))));
    }
    Ok(effect)
}

/// `DoDragDrop` swallowed the button release that ended it, so the editor (egui) would still
/// think the button is held: hand it the release.
fn release_button(window: HWND) {
    // SAFETY: plain state queries; the message goes to our own window, and baseview reads only
    // the message for a button release.
    unsafe {
        if GetAsyncKeyState(i32::from(VK_LBUTTON.0)) < 0 {
            return; // still held (Escape cancelled the drag): the real release will come
        }
        let mut at = POINT::default();
        if GetCursorPos(&mut at).is_err() || !ScreenToClient(window, &mut at).as_bool() {
            at = POINT::default();
        }
        let lparam = ((at.y as u16 as u32) << 16 | at.x as u16 as u32) as isize;
        let _ = PostMessageW(Some(window), WM_LBUTTONUP, WPARAM(0), LPARAM(lparam));
    }
}

/// The one format offered: files, in global memory.
fn hdrop_format() -> FORMATETC {
    FORMATETC {
        cfFormat: CF_HDROP.0,
        ptd: std::ptr::null_mut(),
        dwAspect: DVASPECT_CONTENT.0,
        lindex: -1,
        tymed: TYMED_HGLOBAL.0 as u32,
    }
}

/// Whether `format` asks for what [`hdrop_format`] offers.
fn is_hdrop(format: *const FORMATETC) -> bool {
    // SAFETY: OLE passes a valid FORMATETC or null.
    let Some(format) = (unsafe { format.as_ref() }) else { return false };
    format.cfFormat == CF_HDROP.0 && format.dwAspect == DVASPECT_CONTENT.0 && format.tymed & TYMED_HGLOBAL.0 as u32 != 0
}

/// The dragged files as an `IDataObject`: `CF_HDROP` only, read-only, no advise sinks.
#[implement(IDataObject)]
struct FileList {
    /// The `CF_HDROP` bytes, copied into fresh global memory for every `GetData`.
    dropfiles: Vec<u8>,
}

impl IDataObject_Impl for FileList_Impl {
    fn GetData(&self, format: *const FORMATETC) -> windows::core::Result<STGMEDIUM> {
        if !is_hdrop(format) {
            return Err(DV_E_FORMATETC.into());
        }
        let bytes = &self.dropfiles;
        // SAFETY: fresh memory of the right size, written while locked; the receiver owns it
        // (ReleaseStgMedium frees it, no pUnkForRelease).
        unsafe {
            let global = GlobalAlloc(GMEM_MOVEABLE, bytes.len())?;
            let at = GlobalLock(global).cast::<u8>();
            if at.is_null() {
                let _ = GlobalFree(Some(global));
                return Err(E_OUTOFMEMORY.into());
            }
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), at, bytes.len());
            let _ = GlobalUnlock(global);
            Ok(STGMEDIUM {
                tymed: TYMED_HGLOBAL.0 as u32,
                u: STGMEDIUM_0 { hGlobal: global },
                pUnkForRelease: ManuallyDrop::new(None),
            })
        }
    }

    fn GetDataHere(&self, _: *const FORMATETC, _: *mut STGMEDIUM) -> windows::core::Result<()> {
        Err(E_NOTIMPL.into())
    }

    fn QueryGetData(&self, format: *const FORMATETC) -> HRESULT {
        if is_hdrop(format) {
            S_OK
        } else {
            DV_E_FORMATETC
        }
    }

    fn GetCanonicalFormatEtc(&self, _: *const FORMATETC, out: *mut FORMATETC) -> HRESULT {
        // SAFETY: OLE passes a writable FORMATETC or null.
        if let Some(out) = unsafe { out.as_mut() } {
            out.ptd = std::ptr::null_mut();
        }
        DATA_S_SAMEFORMATETC
    }

    fn SetData(&self, _: *const FORMATETC, _: *const STGMEDIUM, _: BOOL) -> windows::core::Result<()> {
        Err(E_NOTIMPL.into())
    }

    fn EnumFormatEtc(&self, direction: u32) -> windows::core::Result<IEnumFORMATETC> {
        if direction != DATADIR_GET.0 as u32 {
            return Err(E_NOTIMPL.into());
        }
        // SAFETY: the shell copies the one-element array.
        unsafe { SHCreateStdEnumFmtEtc(&[hdrop_format()]) }
    }

    fn DAdvise(&self, _: *const FORMATETC, _: u32, _: Ref<IAdviseSink>) -> windows::core::Result<u32> {
        Err(OLE_E_ADVISENOTSUPPORTED.into())
    }

    fn DUnadvise(&self, _: u32) -> windows::core::Result<()> {
        Err(OLE_E_ADVISENOTSUPPORTED.into())
    }

    fn EnumDAdvise(&self) -> windows::core::Result<IEnumSTATDATA> {
        Err(OLE_E_ADVISENOTSUPPORTED.into())
    }
}

/// Drops when the left button goes up, cancels on Escape; Windows draws the cursors.
#[implement(IDropSource)]
struct LeftButtonDrag;

impl IDropSource_Impl for LeftButtonDrag_Impl {
    fn QueryContinueDrag(&self, escape: BOOL, keys: MODIFIERKEYS_FLAGS) -> HRESULT {
        if escape.as_bool() {
            DRAGDROP_S_CANCEL
        } else if keys.0 & MK_LBUTTON.0 == 0 {
            DRAGDROP_S_DROP
        } else {
            S_OK
        }
    }

    fn GiveFeedback(&self, _: DROPEFFECT) -> HRESULT {
        DRAGDROP_S_USEDEFAULTCURSORS
    }
}
