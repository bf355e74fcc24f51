//! The editor window: egui on a baseview window with an OpenGL context, embedded in the host's
//! window, implementing nice-plug's [`Editor`].
//!
//! The project runs its own egui-on-baseview editor instead of nice-plug-egui because
//! egui-baseview 0.9 drops baseview's file-drag events, so files dropped from a file manager or a
//! DAW's browser never reached egui's `hovered_files`/`dropped_files`. This window forwards them,
//! and also hands the UI a [`DragOut`] callback that starts a drag of files out of the window
//! (XDND on X11, see [`super::xdnd`]; OLE on Windows, see [`super::ole`]).
//!
//! Threads: on X11 baseview runs each window on its own thread, on Windows and macOS on the
//! host's GUI thread. The UI object is shared with that thread through an `Arc<Mutex<U>>` that
//! only the window's thread locks while it is open.

mod handler;
mod input;

use std::cell::RefCell;
use std::error::Error;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use baseview::dpi::{LogicalSize, Size};
use baseview::{HandlerError, Window, WindowSettings, WindowWaker};
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::NativeSize;
use nice_plug::editor::{Editor, EditorHandle, HostMethods, ParentWindowHandle, ResizeHint, SpawnedEditor};
use nice_plug::prelude::*;

use handler::Handler;

/// Starts dragging files out of the editor window. Called by the UI on its own thread once the
/// pointer leaves the window with a drag in progress; returns at once (the drag runs elsewhere).
pub type DragOut = Arc<dyn Fn(Vec<PathBuf>) + Send + Sync>;

/// Smallest editor size, logical pixels, unless [`EditorWindow::with_min_size`] says otherwise.
pub const MIN_SIZE: [u32; 2] = [480, 320];

/// Largest editor size, logical pixels: an 8K screen. A stored size beyond it (a damaged session)
/// would ask the window system and GL for an impossible surface.
pub const MAX_SIZE: [u32; 2] = [7680, 4320];

/// The size a window opens at for a stored size: inside `min_size` ..= [`MAX_SIZE`].
pub fn window_size(stored: [u32; 2], min_size: [u32; 2]) -> [u32; 2] {
    [0, 1].map(|i| stored[i].min(MAX_SIZE[i]).max(min_size[i]))
}

/// The UI an [`EditorWindow`] shows. Implemented by the plugin's editor app; tests implement it
/// with small recording UIs.
pub trait EditorUi: Send + 'static {
    /// Draws one frame. The `Ui` covers the whole window with no background; files dropped on the
    /// window are in `ui.input(|i| i.raw.dropped_files)` for exactly one frame and files dragged
    /// over it in `i.raw.hovered_files` while they hover.
    fn ui(&mut self, ui: &mut egui::Ui);

    /// The window opened: keep `ctx` to request repaints from other threads
    /// (`ctx.request_repaint()` wakes the window), and `gui` to set parameters.
    fn opened(&mut self, ctx: &egui::Context, gui: &GuiContext) {
        let _ = (ctx, gui);
    }

    /// The window closed; drop what `opened` kept.
    fn closed(&mut self) {}

    /// Receives the callback that drags files out of the window, once per opened window.
    fn set_drag_out(&mut self, drag_out: DragOut) {
        let _ = drag_out;
    }

    /// Whether a key that egui does not need for text input should still stay in the editor
    /// rather than go to the host (e.g. arrow keys stepping through samples).
    fn captures_key(&self, key: egui::Key) -> bool {
        let _ = key;
        false
    }
}

/// Where the editor keeps its logical size so it persists with the project: read when a window
/// opens, written when the host or the user resizes it.
pub struct EditorSize {
    get: Box<dyn Fn() -> [u32; 2] + Send + Sync>,
    set: Box<dyn Fn([u32; 2]) + Send + Sync>,
}

impl EditorSize {
    /// A size read and written through two callbacks.
    pub fn new(
        get: impl Fn() -> [u32; 2] + Send + Sync + 'static,
        set: impl Fn([u32; 2]) + Send + Sync + 'static,
    ) -> Self {
        Self { get: Box::new(get), set: Box::new(set) }
    }

    /// A size kept in a `Mutex<[u32; 2]>` field of a shared object, typically the plugin's
    /// params with a `#[persist = "editor-size"]` field: `EditorSize::in_mutex(params, |p| &p.editor_size)`.
    pub fn in_mutex<T: Send + Sync + 'static>(owner: Arc<T>, field: fn(&T) -> &Mutex<[u32; 2]>) -> Self {
        let reader = Arc::clone(&owner);
        Self::new(
            move || *field(&reader).lock().unwrap_or_else(PoisonError::into_inner),
            move |size| *field(&owner).lock().unwrap_or_else(PoisonError::into_inner) = size,
        )
    }

    /// The stored size, logical pixels.
    pub fn get(&self) -> [u32; 2] {
        (self.get)()
    }

    /// Stores a new size, logical pixels.
    pub fn set(&self, size: [u32; 2]) {
        (self.set)(size)
    }
}

/// State shared between the editor (host threads) and its window's handler (window thread).
struct EditorShared {
    size: EditorSize,
    /// The window's scale factor as `f32` bits (1.0 until a window reports one).
    scale_bits: AtomicU32,
    open: AtomicBool,
    drag: DragSlot,
}

impl EditorShared {
    fn scale(&self) -> f64 {
        f32::from_bits(self.scale_bits.load(Ordering::Relaxed)) as f64
    }
}

/// nice-plug [`Editor`] that shows an [`EditorUi`] in an egui window. Built once per plugin
/// instance by `Plugin::editor`; each host "open editor" spawns a new window with the same UI.
pub struct EditorWindow<U: EditorUi> {
    ui: Arc<Mutex<U>>,
    shared: Arc<EditorShared>,
    title: String,
    min_size: [u32; 2],
}

/// An editor showing `ui`, sized from (and resized into) `size`.
///
/// Returns an `Option` because that is what `Plugin::editor` returns.
pub fn create_editor<U: EditorUi>(size: EditorSize, ui: U) -> Option<EditorWindow<U>> {
    Some(EditorWindow::new(size, ui))
}

impl<U: EditorUi> EditorWindow<U> {
    /// An editor showing `ui`, sized from (and resized into) `size`.
    pub fn new(size: EditorSize, ui: U) -> Self {
        let shared = EditorShared {
            size,
            scale_bits: AtomicU32::new(1.0f32.to_bits()),
            open: AtomicBool::new(false),
            drag: DragSlot::default(),
        };
        Self { ui: Arc::new(Mutex::new(ui)), shared: Arc::new(shared), title: "Drumsort".into(), min_size: MIN_SIZE }
    }

    /// Sets the smallest size the host may resize the window to, logical pixels.
    pub fn with_min_size(mut self, min_size: [u32; 2]) -> Self {
        self.min_size = min_size;
        self
    }

    /// Whether a window of this editor is open (GUI-only work can be skipped while not).
    pub fn is_open(&self) -> bool {
        self.shared.open.load(Ordering::Acquire)
    }

    /// The UI, shared with the open window's thread.
    pub fn ui(&self) -> &Arc<Mutex<U>> {
        &self.ui
    }

    fn logical_size(&self) -> [u32; 2] {
        window_size(self.shared.size.get(), self.min_size)
    }
}

impl<U: EditorUi> Editor for EditorWindow<U> {
    type Handle = EditorWindowHandle;

    fn spawn(
        &self,
        parent: Option<ParentWindowHandle>,
        wait_for_parent: bool,
        fallback_scale_factor: Option<f64>,
        gui_context: GuiContext,
        host: Option<HostMethods>,
    ) -> Result<SpawnedEditor<Self::Handle>, Box<dyn Error>> {
        let [w, h] = self.logical_size();
        let mut settings = WindowSettings::new()
            .with_title(self.title.clone())
            .with_size(LogicalSize::new(w as f64, h as f64))
            .with_min_size(Size::from(LogicalSize::new(self.min_size[0] as f64, self.min_size[1] as f64)))
            .with_resizable(true)
            .with_wait_for_parent(wait_for_parent)
            .with_fallback_scale_factor(fallback_scale_factor)
            .with_gl_config(Some(baseview::gl::GlConfig::default()));
        if let Some(parent) = parent {
            check_parent(&parent)?;
            settings = settings.with_parent(&parent);
        }
        let ui = Arc::clone(&self.ui);
        let shared = Arc::clone(&self.shared);
        let exited = Arc::new(ThreadExit::default());
        let exit_signal = Arc::clone(&exited);
        let window = Window::create_with_host(
            settings,
            move |window| {
                notify_on_thread_exit(exit_signal);
                let drag_out = drag_out_for(&window, Arc::clone(&shared.drag));
                Handler::new(window, ui, shared, gui_context, drag_out)
            },
            host.map(host_adapter),
        )?;
        let waker = window.waker();
        let window = OpenWindow { window: Some(window), exited };
        Ok(SpawnedEditor { handle: EditorWindowHandle { waker, resize_hint: self.resize_hint() }, window })
    }

    fn size(&self) -> NativeSize<u32> {
        let [w, h] = self.logical_size();
        NativeSize::from_size(Size::from(LogicalSize::new(w as f64, h as f64)), self.shared.scale())
    }

    fn resize_hint(&self) -> ResizeHint {
        let [w, h] = self.min_size;
        ResizeHint::resizable().with_min_logical_size(LogicalSize::new(w as f32, h as f32))
    }
}

/// The handle nice-plug's wrapper keeps while a window is open; dropping the window (the
/// [`SpawnedEditor::window`]) closes it.
pub struct EditorWindowHandle {
    waker: WindowWaker,
    resize_hint: ResizeHint,
}

impl EditorHandle for EditorWindowHandle {
    type Window = OpenWindow;
    type Error = baseview::Error;

    fn run_until_closed(mut window: OpenWindow) -> Result<(), baseview::Error> {
        // Standalone only: baseview joins its thread itself on this path.
        window.window.take().map_or(Ok(()), Window::run_until_closed)
    }

    fn set_parent(&self, parent: ParentWindowHandle, window: &OpenWindow) -> Result<(), baseview::Error> {
        check_parent(&parent).map_err(|e| baseview::Error::from(HandlerError::from_boxed(e)))?;
        window.get()?.set_parent(&parent)
    }

    fn show(&self, window: &OpenWindow) -> Result<(), baseview::Error> {
        let shown = window.get()?.show();
        self.waker.request_redraw();
        shown
    }

    fn hide(&self, window: &OpenWindow) -> Result<(), baseview::Error> {
        window.get()?.hide()
    }

    fn set_size(&self, new_size: NativeSize<u32>, window: &OpenWindow) -> Result<(), baseview::Error> {
        window.get()?.resize(Size::from(new_size))
    }

    fn host_main_thread_callback(&self, window: &OpenWindow) {
        if let Ok(window) = window.get() {
            window.host_main_thread_callback();
        }
    }

    fn adjust_size(&self, new_size: NativeSize<u32>, window: &OpenWindow) -> Option<NativeSize<u32>> {
        let current = window.get().ok()?.size();
        let current_native = NativeSize::from_size(Size::from(current.physical), current.scale_factor);
        Some(self.resize_hint.adjust_size(new_size, current_native, current.scale_factor))
    }

    fn set_fallback_scale_factor(&self, scale_factor: f64, window: &OpenWindow) -> Result<(), baseview::Error> {
        window.get()?.suggest_fallback_scale_factor(scale_factor)
    }

    fn state_changed(&self) {
        self.waker.request_redraw();
    }

    fn param_value_changed(&self, _id: &str, _normalized_value: f32) {
        self.waker.request_redraw();
    }

    fn param_modulation_changed(&self, _id: &str, _modulation_offset: f32) {
        self.waker.request_redraw();
    }
}

/// The plugin's editor content in this window.
impl EditorUi for super::EditorApp {
    fn ui(&mut self, ui: &mut egui::Ui) {
        super::EditorApp::ui(self, ui);
    }

    fn opened(&mut self, ctx: &egui::Context, _gui: &GuiContext) {
        super::EditorApp::opened(self, ctx);
    }

    fn closed(&mut self) {
        // The window's drag-out callback and repaint hook die with the window.
        self.drag_out = None;
        super::EditorApp::closed(self);
    }

    fn set_drag_out(&mut self, drag_out: DragOut) {
        self.drag_out = Some(drag_out);
    }

    /// Arrow keys step through similar samples in the bubble graph, so the host must not get
    /// them too.
    fn captures_key(&self, key: egui::Key) -> bool {
        matches!(key, egui::Key::ArrowLeft | egui::Key::ArrowRight | egui::Key::ArrowUp | egui::Key::ArrowDown)
    }
}

/// The open window as nice-plug's wrapper holds it; dropping it closes the window.
///
/// baseview 0.4.2 does not always join its X11 window thread when its `Window` is dropped (the
/// join is skipped if the thread stops before answering the close request), so the thread can
/// still be closing its X connection when the host goes on to unload the plugin. This waits
/// for the thread to really end (up to [`CLOSE_WAIT`]) before the drop returns.
pub struct OpenWindow {
    window: Option<Window>,
    exited: Arc<ThreadExit>,
}

/// Longest a close waits for the window thread to end.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

impl OpenWindow {
    fn get(&self) -> Result<&Window, baseview::Error> {
        let closed = || baseview::Error::from(HandlerError::from_boxed("the editor window is closed".into()));
        self.window.as_ref().ok_or_else(closed)
    }
}

impl Drop for OpenWindow {
    fn drop(&mut self) {
        if let Some(window) = self.window.take() {
            // On Windows the host's GUI thread runs the window and any drag it asked for.
            #[cfg(windows)]
            super::ole::cancel_pending();
            drop(window);
            // Only X11 gives the window a thread of its own; elsewhere it runs on the host's.
            if cfg!(target_os = "linux") && !self.exited.wait(CLOSE_WAIT) {
                nice_warn!("editor: the window thread did not end within {CLOSE_WAIT:?}");
            }
        }
    }
}

/// Set when a window thread has ended.
#[derive(Default)]
struct ThreadExit {
    done: Mutex<bool>,
    ended: Condvar,
}

impl ThreadExit {
    fn signal(&self) {
        *self.done.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.ended.notify_all();
    }

    /// Whether the thread ended within `timeout`.
    fn wait(&self, timeout: Duration) -> bool {
        let done = self.done.lock().unwrap_or_else(PoisonError::into_inner);
        let (done, _) =
            self.ended.wait_timeout_while(done, timeout, |done| !*done).unwrap_or_else(PoisonError::into_inner);
        *done
    }
}

/// Signals its [`ThreadExit`]s from a thread-local destructor, which runs after everything else
/// the thread does, including baseview closing its X connection.
struct ExitNotifier(Vec<Arc<ThreadExit>>);

impl Drop for ExitNotifier {
    fn drop(&mut self) {
        for exit in &self.0 {
            exit.signal();
        }
    }
}

thread_local! {
    static EXIT_NOTIFIER: RefCell<ExitNotifier> = const { RefCell::new(ExitNotifier(Vec::new())) };
}

/// Signals `exit` when the current thread ends.
fn notify_on_thread_exit(exit: Arc<ThreadExit>) {
    EXIT_NOTIFIER.with(|n| n.borrow_mut().0.push(exit));
}

/// Rejects parent handles baseview would panic on (a zero or out-of-range X11 window id, or a
/// handle of another platform), so a bad host handle is an error instead of a panic.
fn check_parent(parent: &ParentWindowHandle) -> Result<(), Box<dyn Error>> {
    let ok = match *parent {
        ParentWindowHandle::XlibWindow(id) => {
            cfg!(target_os = "linux") && u32::try_from(id).ok().and_then(NonZeroU32::new).is_some()
        }
        ParentWindowHandle::XcbWindow(_) => cfg!(target_os = "linux"),
        ParentWindowHandle::AppKitNsView(_) => cfg!(target_os = "macos"),
        ParentWindowHandle::Win32Hwnd(_) => cfg!(target_os = "windows"),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("unusable parent window handle {parent:?}").into())
    }
}

/// Adapts nice-plug's host callbacks to baseview's (the two crates define the same traits).
fn host_adapter(host: HostMethods) -> baseview::host::Host {
    struct Callbacks(Box<dyn nice_plug::editor::HostCallbacks>);
    impl baseview::host::HostCallbacks for Callbacks {
        fn request_resize(&mut self, size: baseview::WindowSize) -> Result<(), HandlerError> {
            self.0.request_resize(Size::from(size.physical), size.scale_factor).map_err(HandlerError::from_boxed)
        }
        fn destroyed(&mut self) {
            self.0.destroyed();
        }
    }
    struct MainThread(Box<dyn nice_plug::editor::HostMainThreadCaller>);
    impl baseview::host::HostMainThreadCaller for MainThread {
        fn call_main_thread(&mut self) {
            self.0.call_main_thread();
        }
    }
    baseview::host::Host::new()
        .with_callbacks(Callbacks(host.callbacks))
        .with_main_thread(MainThread(host.main_thread_caller))
}

/// The drag in the air, if any: kept so it outlives the UI's call, and cancelled and joined when
/// the editor goes away so its thread never outlives the plugin.
#[cfg(target_os = "linux")]
type DragSlot = Arc<Mutex<Option<super::xdnd::DragSession>>>;
#[cfg(not(target_os = "linux"))]
type DragSlot = Arc<Mutex<Option<()>>>;

/// The drag-out callback for a window: XDND on X11, excluding the window itself as a target so a
/// drag that comes back is not dropped on its own source.
#[cfg(target_os = "linux")]
fn drag_out_for(window: &baseview::WindowContext, slot: DragSlot) -> Option<DragOut> {
    use raw_window_handle::{HasWindowHandle, RawWindowHandle};
    let own = match window.window_handle().ok()?.as_raw() {
        RawWindowHandle::Xcb(h) => h.window.get(),
        RawWindowHandle::Xlib(h) => u32::try_from(h.window).ok()?,
        _ => return None,
    };
    Some(Arc::new(move |paths: Vec<PathBuf>| match super::xdnd::start_drag(paths, Some(own)) {
        // Replacing a finished session joins its (already ended) thread.
        Ok(session) => *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(session),
        Err(e) => nice_warn!("drag out: {e}"),
    }))
}

/// The drag-out callback for a window on Windows: an OLE drag of the files (`CF_HDROP`), started
/// once the current frame is done.
#[cfg(windows)]
fn drag_out_for(window: &baseview::WindowContext, _slot: DragSlot) -> Option<DragOut> {
    use raw_window_handle::{HasWindowHandle, RawWindowHandle};
    let hwnd = match window.window_handle().ok()?.as_raw() {
        RawWindowHandle::Win32(h) => h.hwnd.get(),
        _ => return None,
    };
    Some(Arc::new(move |paths: Vec<PathBuf>| {
        if let Err(e) = super::ole::start_drag(paths, hwnd) {
            nice_warn!("drag out: {e}");
        }
    }))
}

/// The drag-out callback on platforms without a drag source yet (macOS): none, so the UI can tell.
#[cfg(not(any(target_os = "linux", windows)))]
fn drag_out_for(_window: &baseview::WindowContext, _slot: DragSlot) -> Option<DragOut> {
    None
}

/// The clipboard the editor's copy commands (egui's `CopyText`) go to.
#[cfg(target_os = "linux")]
type Clipboard = super::xdnd::Clipboard;

/// No clipboard outside X11 yet: copies are logged and dropped.
#[cfg(not(target_os = "linux"))]
#[derive(Default)]
struct Clipboard;

#[cfg(not(target_os = "linux"))]
impl Clipboard {
    fn set(&mut self, text: String) -> Result<(), String> {
        Err(format!("no clipboard support on this platform yet ({} bytes dropped)", text.len()))
    }
}
