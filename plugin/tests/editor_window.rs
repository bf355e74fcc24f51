//! The real editor window on a real (virtual) X server: it renders when embedded in a host
//! window, files dropped on it by a GTK application reach egui's `dropped_files`, and a drag that
//! leaves it delivers a `file://` URI to a GTK drop target.
//!
//! Each test starts its own Xvfb; see `support` for the Debian packages. Set
//! `DRUMSORT_WINDOW_SHOT=<path.png>` to keep the probe's screenshot, and
//! `DRUMSORT_UPDATE_SCREENSHOT=1` to rewrite `docs/editor.png` (the README's picture of the real
//! editor with a generated library).

#![cfg(target_os = "linux")]

mod support;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use drumsort_plugin::testing::{
    demo_library, DragOut, DrumsortParams, EditorApp, EditorSize, EditorUi, EditorWindow, Shared, EDITOR_SIZE,
};
use egui::{Color32, Rect, Sense};
use nice_plug::editor::dpi::NativeSize;
use nice_plug::editor::{Editor, EditorHandle, SpawnedEditor};

use support::{Display, HostWindow};

/// Background the probe paints, so the screenshot can be checked for it.
const BACKGROUND: Color32 = Color32::from_rgb(24, 70, 110);
/// The area a drag out must start in, points.
const HANDLE: Rect = Rect { min: egui::pos2(40.0, 60.0), max: egui::pos2(260.0, 160.0) };
const SIZE: [u32; 2] = [640, 420];

/// A small UI that records what the window hands it.
#[derive(Default)]
struct Probe {
    frames: usize,
    dropped: Vec<PathBuf>,
    hovered_frames: usize,
    drag_out: Option<DragOut>,
    /// The file a drag from the handle carries.
    drag_file: PathBuf,
    dragging: bool,
    dragged_out: bool,
}

impl EditorUi for Probe {
    fn ui(&mut self, ui: &mut egui::Ui) {
        self.frames += 1;
        let screen = ui.max_rect();
        ui.painter().rect_filled(screen, 0.0, BACKGROUND);
        ui.painter().rect_filled(HANDLE, 8.0, Color32::from_rgb(240, 150, 40));
        ui.painter().text(
            HANDLE.center(),
            egui::Align2::CENTER_CENTER,
            "drag me out",
            egui::FontId::proportional(22.0),
            Color32::BLACK,
        );
        ui.painter().text(
            egui::pos2(40.0, 200.0),
            egui::Align2::LEFT_TOP,
            format!("Drumsort window test: {} dropped", self.dropped.len()),
            egui::FontId::proportional(18.0),
            Color32::WHITE,
        );
        let (dropped, hovering, down, pos) = ui.input(|i| {
            let dropped: Vec<PathBuf> = i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect();
            (dropped, !i.raw.hovered_files.is_empty(), i.pointer.primary_down(), i.pointer.latest_pos())
        });
        self.dropped.extend(dropped);
        self.hovered_frames += usize::from(hovering);

        let handle = ui.interact(HANDLE, egui::Id::unique("drumsort-window-test-handle"), Sense::drag());
        if handle.drag_started() {
            self.dragging = true;
        }
        if self.dragging && !down {
            self.dragging = false;
        }
        let outside = pos.is_none_or(|p| !screen.contains(p));
        if self.dragging && outside && !self.dragged_out {
            if let Some(drag_out) = &self.drag_out {
                self.dragged_out = true;
                drag_out(vec![self.drag_file.clone()]);
            }
        }
    }

    fn set_drag_out(&mut self, drag_out: DragOut) {
        self.drag_out = Some(drag_out);
    }
}

/// An editor with a probe UI, its size kept in a plain mutex as the plugin's params keep theirs.
fn probe_editor(drag_file: PathBuf) -> (EditorWindow<Probe>, Arc<Mutex<[u32; 2]>>) {
    let size = Arc::new(Mutex::new(SIZE));
    let store = Arc::clone(&size);
    let editor = EditorWindow::new(
        EditorSize::new(
            move || *store.lock().unwrap_or_else(PoisonError::into_inner),
            |_| {}, // this test checks the size is read; resizing is the host's business
        ),
        Probe { drag_file, ..Probe::default() },
    );
    (editor, size)
}

fn probe<R>(editor: &EditorWindow<Probe>, f: impl FnOnce(&Probe) -> R) -> R {
    f(&editor.ui().lock().unwrap_or_else(PoisonError::into_inner))
}

/// Opens the editor embedded in `host` (or floating) and waits for its first frames.
fn open(
    editor: &EditorWindow<Probe>,
    host: Option<&HostWindow>,
) -> SpawnedEditor<<EditorWindow<Probe> as Editor>::Handle> {
    let spawned = editor
        .spawn(host.map(HostWindow::parent_handle), false, None, support::gui_context(), None)
        .expect("spawn the editor window");
    spawned.handle.show(&spawned.window).expect("show the editor window");
    let drawn = support::wait_for(Duration::from_secs(30), || (probe(editor, |p| p.frames) >= 2).then_some(()));
    assert!(drawn.is_some(), "the editor window never drew a frame");
    assert!(editor.is_open());
    spawned
}

#[test]
fn embedded_window_renders() {
    let display = Display::start();
    let host = HostWindow::open(&display, 0, 0, [SIZE[0] as u16, SIZE[1] as u16]);
    let (editor, _size) = probe_editor(PathBuf::from("/dev/null"));
    let spawned = open(&editor, Some(&host));
    std::thread::sleep(Duration::from_millis(300));

    let shot = display.screenshot(host.id);
    assert_eq!((shot.width, shot.height), (SIZE[0] as usize, SIZE[1] as usize));
    let histogram = shot.histogram();
    let background = histogram.get(&[BACKGROUND.r(), BACKGROUND.g(), BACKGROUND.b()]).copied().unwrap_or(0);
    assert!(
        background > shot.width * shot.height / 2,
        "the probe's background covers {background} of {} pixels: the window did not render",
        shot.width * shot.height
    );
    // The handle, and the anti-aliased text on it and below it.
    assert_eq!(shot.pixel(60, 120), [240, 150, 40], "handle colour");
    assert!(histogram.len() > 20, "only {} colours: no text was drawn", histogram.len());
    if let Some(path) = std::env::var_os("DRUMSORT_WINDOW_SHOT") {
        shot.save_png(&PathBuf::from(path));
    }
    drop(spawned);
    assert!(!editor.is_open(), "closing the window did not reach the handler");
}

#[test]
fn real_editor_renders_and_persists_its_size() {
    let display = Display::start();
    let host = HostWindow::open(&display, 0, 0, [EDITOR_SIZE[0] as u16, EDITOR_SIZE[1] as u16]);
    let (shared, _commands) = Shared::new();
    shared.set_library(demo_library(400, 7));
    let params = Arc::new(DrumsortParams::default());
    let app = EditorApp::new(shared, Arc::clone(&params));
    let editor = EditorWindow::new(EditorSize::in_mutex(Arc::clone(&params), |p| &p.editor_size), app);
    let spawned = editor
        .spawn(Some(host.parent_handle()), false, None, support::gui_context(), None)
        .expect("spawn the editor window");
    spawned.handle.show(&spawned.window).expect("show the editor window");

    // The bubble graph animates in; wait until the picture has dots and text and stops changing.
    let mut last = None;
    let shot = support::wait_for(Duration::from_secs(30), || {
        std::thread::sleep(Duration::from_millis(250));
        let shot = display.screenshot(host.id);
        let colours = shot.histogram().len();
        let settled = last.as_ref() == Some(&shot.rgb) && colours > 100;
        last = Some(shot.rgb.clone());
        settled.then_some(shot)
    })
    .expect("the editor never showed a settled picture with more than 100 colours");
    assert_eq!((shot.width, shot.height), (EDITOR_SIZE[0] as usize, EDITOR_SIZE[1] as usize));
    let (_, most) = shot.histogram().into_iter().max_by_key(|&(_, n)| n).expect("pixels");
    assert!(most < shot.width * shot.height * 9 / 10, "one colour covers {most} pixels: blank editor");
    if std::env::var_os("DRUMSORT_UPDATE_SCREENSHOT").is_some() {
        shot.save_png(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/editor.png"));
    }

    // A host resize reaches the persisted size.
    spawned.handle.set_size(NativeSize::new(800, 520), &spawned.window).expect("resize");
    let size = || *params.editor_size.lock().unwrap_or_else(PoisonError::into_inner);
    let resized = support::wait_for(Duration::from_secs(10), || (size() == [800, 520]).then_some(()));
    assert!(resized.is_some(), "persisted size is {:?} after the host resized to 800x520", size());
    drop(spawned);
}

#[test]
fn gtk_drop_reaches_dropped_files() {
    let display = Display::start();
    let dir = tempdir("drop-in");
    let file = dir.join("Kick 01 (hard).wav");
    std::fs::write(&file, b"RIFF").expect("write the dropped file");

    // GTK sources send to the top-level window under the pointer (or the WM_STATE client below
    // it), so the editor is dropped on as a top-level here; see the report on host embedding.
    let (editor, _size) = probe_editor(PathBuf::from("/dev/null"));
    let spawned = open(&editor, None);
    let args = ["800", "120", "200", "150", "60"].map(String::from);
    let mut source_args = args.to_vec();
    source_args.push(file.display().to_string());
    let mut source = display.gtk_helper("drag_source.py", &source_args);

    display.xdotool(&["mousemove", "900", "195"]);
    std::thread::sleep(Duration::from_millis(200));
    display.xdotool(&["mousedown", "1"]);
    display.glide((900, 195), (300, 300), 25);
    let mut wiggle = 1;
    let hovered = support::wait_for(Duration::from_secs(10), || {
        // XDND sources send positions on motion only.
        wiggle = -wiggle;
        display.xdotool(&["mousemove_relative", "--", &wiggle.to_string(), "0"]);
        (probe(&editor, |p| p.hovered_frames) > 0).then_some(())
    });
    display.xdotool(&["mouseup", "1"]);
    let dropped = support::wait_for(Duration::from_secs(10), || probe(&editor, |p| p.dropped.first().cloned()));

    assert!(hovered.is_some(), "egui never saw hovered_files; GTK said {:?}", source.seen);
    assert_eq!(dropped.as_ref(), Some(&file), "GTK said {:?}", source.seen);
    assert!(source.wait_line("SENT", Duration::from_secs(5)).is_some(), "GTK never sent the data");
    drop(spawned);
}

/// Sources that walk down to the outermost XdndAware window (Qt's, and this crate's own) find
/// the editor inside a host window that is not drop-aware itself.
#[test]
fn xdnd_drop_reaches_the_embedded_editor() {
    let display = Display::start();
    let dir = tempdir("embedded-drop");
    let file = dir.join("hat.wav");
    std::fs::write(&file, b"RIFF").expect("write the dropped file");
    let host = HostWindow::open(&display, 0, 0, [SIZE[0] as u16, SIZE[1] as u16]);
    let (editor, _size) = probe_editor(PathBuf::from("/dev/null"));
    let spawned = open(&editor, Some(&host));

    // Hold the button on the bare root window, start the drag there and carry it in.
    display.xdotool(&["mousemove", "900", "600"]);
    display.xdotool(&["mousedown", "1"]);
    let session = drumsort_plugin::testing::start_drag(vec![file.clone()], None).expect("start the drag");
    display.glide((900, 600), (300, 250), 20);
    let hovered =
        support::wait_for(Duration::from_secs(10), || (probe(&editor, |p| p.hovered_frames) > 0).then_some(()));
    display.xdotool(&["mouseup", "1"]);
    let outcome = session.wait();
    let dropped = support::wait_for(Duration::from_secs(5), || probe(&editor, |p| p.dropped.first().cloned()));
    assert!(hovered.is_some(), "egui never saw hovered_files");
    assert_eq!(outcome, Ok(drumsort_plugin::testing::DragOutcome::Dropped));
    assert_eq!(dropped.as_ref(), Some(&file));
    drop(spawned);
}

#[test]
fn drag_out_delivers_a_file_uri() {
    let display = Display::start();
    let dir = tempdir("drag-out");
    let file = dir.join("Snare #2 (tight).wav");
    std::fs::write(&file, b"RIFF").expect("write the dragged file");

    let host = HostWindow::open(&display, 0, 0, [SIZE[0] as u16, SIZE[1] as u16]);
    let (editor, _size) = probe_editor(file.clone());
    let spawned = open(&editor, Some(&host));
    let args = ["760", "150", "240", "300", "60"].map(String::from);
    let mut target = display.gtk_helper("drop_target.py", &args);

    // Press on the handle, leave the editor, hover the GTK window, release.
    display.xdotool(&["mousemove", "150", "110"]);
    std::thread::sleep(Duration::from_millis(200));
    display.xdotool(&["mousedown", "1"]);
    display.glide((150, 110), (600, 200), 10);
    display.glide((600, 200), (880, 300), 15);
    let fired = support::wait_for(Duration::from_secs(5), || probe(&editor, |p| p.dragged_out).then_some(()));
    assert!(fired.is_some(), "the probe never saw the pointer leave the window while dragging");
    display.glide((880, 300), (890, 310), 5);
    std::thread::sleep(Duration::from_millis(300));
    display.xdotool(&["mouseup", "1"]);

    let uri = target.wait_line("URI ", Duration::from_secs(10));
    let expected = format!("URI {}", drumsort_plugin::testing::file_uri(&file));
    assert_eq!(uri.as_deref(), Some(expected.as_str()), "the GTK target printed {:?}", target.seen);
    assert!(expected.contains("Snare%20%232%20%28tight%29.wav"), "{expected}");
    drop(spawned);
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("drumsort-window-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}
