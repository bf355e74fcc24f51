//! A private X display for the editor-window tests: Xvfb, a stand-in host window, xdotool,
//! screenshots, and the GTK helper scripts under `tests/gtk/`.
//!
//! Needs Debian's `xvfb xdotool x11-apps netpbm python3-gi gir1.2-gtk-3.0 libgl1-mesa-dri
//! libglx-mesa0 libegl1 libegl-mesa0 libxkbcommon-x11-0`; a missing tool fails the test with
//! that list instead of skipping it.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use nice_plug::context::gui::GuiContext;
use nice_plug::editor::ParentWindowHandle;
use nice_plug::prelude::*;
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt as _, CreateWindowAux, EventMask, WindowClass};
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;

/// The Debian packages these tests need, named in every failure about a missing tool.
pub const PACKAGES: &str = "xvfb xdotool x11-apps netpbm python3-gi gir1.2-gtk-3.0 libgl1-mesa-dri libglx-mesa0 \
                            libegl1 libegl-mesa0 libxkbcommon-x11-0";

/// The system Python, which is the one `python3-gi` installs into.
pub const PYTHON: &str = "/usr/bin/python3";

/// Screen size of the private display.
pub const SCREEN: [u32; 2] = [1100, 700];

/// One X display at a time per test binary: `DISPLAY` is process-wide.
static DISPLAY_LOCK: Mutex<()> = Mutex::new(());

/// A running Xvfb, `DISPLAY` pointing at it, and the lock that keeps other tests off it.
/// Dropping it stops the server.
pub struct Display {
    pub name: String,
    server: Child,
    _lock: MutexGuard<'static, ()>,
}

fn require(tool: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
        || Path::new(tool).is_file();
    assert!(found, "`{tool}` not found: install the Debian packages {PACKAGES}");
}

impl Display {
    /// Starts Xvfb on a free display number and points `DISPLAY` at it; software GL only.
    pub fn start() -> Self {
        let lock = DISPLAY_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
        for tool in ["Xvfb", "xdotool", "xwd", "xwdtopnm", "pnmtopng", PYTHON] {
            require(tool);
        }
        let gi = Command::new(PYTHON).args(["-c", "import gi; gi.require_version('Gtk', '3.0')"]).status();
        assert!(gi.is_ok_and(|s| s.success()), "python3-gi with GTK 3 missing: install {PACKAGES}");

        let mut n = 40 + std::process::id() % 500;
        while Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() || Path::new(&format!("/tmp/.X{n}-lock")).exists() {
            n += 1;
        }
        let name = format!(":{n}");
        let screen = format!("{}x{}x24", SCREEN[0], SCREEN[1]);
        let server = Command::new("Xvfb")
            .args([name.as_str(), "-screen", "0", screen.as_str(), "-nolisten", "tcp", "-noreset"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start Xvfb ({e}): install {PACKAGES}"));
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
        let deadline = Instant::now() + Duration::from_secs(15);
        while !socket.exists() {
            assert!(Instant::now() < deadline, "Xvfb {name} did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY (edition 2021 has no `unsafe` here, but the rule holds): no other thread reads
        // the environment while DISPLAY_LOCK is held by this test.
        std::env::set_var("DISPLAY", &name);
        std::env::set_var("LIBGL_ALWAYS_SOFTWARE", "1");
        let display = Self { name, server, _lock: lock };
        // The socket appears slightly before the server accepts clients.
        let deadline = Instant::now() + Duration::from_secs(10);
        while RustConnection::connect(Some(&display.name)).is_err() {
            assert!(Instant::now() < deadline, "Xvfb {} does not accept connections", display.name);
            std::thread::sleep(Duration::from_millis(20));
        }
        display
    }

    /// Runs xdotool with these arguments and asserts it succeeded.
    pub fn xdotool(&self, args: &[&str]) {
        let status = Command::new("xdotool").args(args).env("DISPLAY", &self.name).status().expect("run xdotool");
        assert!(status.success(), "xdotool {args:?} failed");
    }

    /// Moves the pointer in small steps (drag sources and targets want to see motion).
    pub fn glide(&self, from: (i32, i32), to: (i32, i32), steps: i32) {
        for i in 1..=steps {
            let x = from.0 + (to.0 - from.0) * i / steps;
            let y = from.1 + (to.1 - from.1) * i / steps;
            self.xdotool(&["mousemove", &x.to_string(), &y.to_string()]);
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// A screenshot of one window as binary PPM: `xwd -id | xwdtopnm`.
    pub fn screenshot(&self, window: u32) -> Ppm {
        let mut xwd = Command::new("xwd")
            .args(["-silent", "-id", &window.to_string()])
            .env("DISPLAY", &self.name)
            .stdout(Stdio::piped())
            .spawn()
            .expect("run xwd");
        let out = Command::new("xwdtopnm")
            .stdin(xwd.stdout.take().expect("xwd stdout"))
            .stderr(Stdio::null())
            .output()
            .expect("run xwdtopnm");
        assert!(xwd.wait().expect("xwd").success(), "xwd failed");
        assert!(out.status.success(), "xwdtopnm failed");
        Ppm::parse(&out.stdout)
    }

    /// Starts one of the GTK helpers in `tests/gtk/` on this display and waits for its READY.
    pub fn gtk_helper(&self, script: &str, args: &[String]) -> Helper {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gtk").join(script);
        let mut child = Command::new(PYTHON)
            .arg(&path)
            .args(args)
            .env("DISPLAY", &self.name)
            .env("GDK_BACKEND", "x11")
            .env("NO_AT_BRIDGE", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
        let lines = spawn_line_reader(child.stdout.take().expect("helper stdout"));
        let helper = Helper { child, lines, seen: Vec::new() };
        helper.expect_line("READY", Duration::from_secs(20))
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn spawn_line_reader(stdout: ChildStdout) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A running GTK helper and the lines it printed.
pub struct Helper {
    child: Child,
    lines: Receiver<String>,
    /// Every line read so far.
    pub seen: Vec<String>,
}

impl Helper {
    /// Waits for a line starting with `prefix`; panics with what was seen (and stderr) if it
    /// does not come in time.
    pub fn expect_line(mut self, prefix: &str, timeout: Duration) -> Self {
        if self.wait_line(prefix, timeout).is_none() {
            let _ = self.child.kill();
            let mut err = String::new();
            if let Some(mut e) = self.child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("helper never printed {prefix:?}; stdout {:?}; stderr {err}", self.seen);
        }
        self
    }

    /// The first line starting with `prefix`, waiting up to `timeout`.
    pub fn wait_line(&mut self, prefix: &str, timeout: Duration) -> Option<String> {
        if let Some(line) = self.seen.iter().find(|l| l.starts_with(prefix)) {
            return Some(line.clone());
        }
        let deadline = Instant::now() + timeout;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let line = self.lines.recv_timeout(left).ok()?;
            self.seen.push(line.clone());
            if line.starts_with(prefix) {
                return Some(line);
            }
        }
        None
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A stand-in for the host's window the editor embeds into: a mapped top-level window.
pub struct HostWindow {
    pub conn: RustConnection,
    pub id: u32,
}

impl HostWindow {
    pub fn open(display: &Display, x: i16, y: i16, size: [u16; 2]) -> Self {
        let (conn, screen) = RustConnection::connect(Some(&display.name)).expect("connect to Xvfb");
        let root = conn.setup().roots[screen].root;
        let id = conn.generate_id().expect("window id");
        let aux = CreateWindowAux::new().background_pixel(0x202020).event_mask(EventMask::STRUCTURE_NOTIFY);
        conn.create_window(0, id, root, x, y, size[0], size[1], 0, WindowClass::INPUT_OUTPUT, 0, &aux)
            .expect("create host window");
        conn.map_window(id).expect("map host window");
        conn.flush().expect("flush");
        conn.sync().expect("sync");
        Self { conn, id }
    }

    /// The handle nice-plug's wrapper would pass to `Editor::spawn`.
    pub fn parent_handle(&self) -> ParentWindowHandle {
        ParentWindowHandle::XcbWindow(NonZeroU32::new(self.id).expect("nonzero window id"))
    }
}

/// A binary PPM image (what `xwdtopnm` writes).
pub struct Ppm {
    pub width: usize,
    pub height: usize,
    /// RGB triples, row-major.
    pub rgb: Vec<u8>,
    raw: Vec<u8>,
}

impl Ppm {
    fn parse(bytes: &[u8]) -> Self {
        // Header: "P6" width height maxval, whitespace-separated, then one whitespace byte.
        let mut fields = Vec::new();
        let mut i = 0;
        while fields.len() < 4 {
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            let start = i;
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            assert!(start < i, "truncated PPM header");
            fields.push(String::from_utf8_lossy(&bytes[start..i]).into_owned());
        }
        assert_eq!(fields[0], "P6", "xwdtopnm did not write a binary PPM");
        let width: usize = fields[1].parse().expect("width");
        let height: usize = fields[2].parse().expect("height");
        assert_eq!(fields[3], "255", "expected 8-bit PPM");
        let rgb = bytes[i + 1..].to_vec();
        assert_eq!(rgb.len(), width * height * 3, "PPM size");
        Self { width, height, rgb, raw: bytes.to_vec() }
    }

    /// How many pixels have each colour.
    pub fn histogram(&self) -> BTreeMap<[u8; 3], usize> {
        let mut h = BTreeMap::new();
        for px in self.rgb.chunks_exact(3) {
            *h.entry([px[0], px[1], px[2]]).or_insert(0) += 1;
        }
        h
    }

    /// The colour at (x, y).
    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// Writes the image as PNG through `pnmtopng`.
    pub fn save_png(&self, path: &Path) {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create screenshot folder");
        }
        let file = std::fs::File::create(path).expect("create screenshot");
        let mut child = Command::new("pnmtopng")
            .stdin(Stdio::piped())
            .stdout(file)
            .stderr(Stdio::null())
            .spawn()
            .expect("run pnmtopng");
        child.stdin.take().expect("stdin").write_all(&self.raw).expect("write PPM");
        assert!(child.wait().expect("pnmtopng").success(), "pnmtopng failed");
    }
}

/// A `GuiContext` with no host behind it: the window test has no parameters to set.
pub fn gui_context() -> GuiContext {
    struct NoHost;
    impl GuiContextInner for NoHost {
        fn plugin_api(&self) -> PluginApi {
            PluginApi::Clap
        }
        unsafe fn raw_begin_set_parameter(&self, _param: ParamPtr) {}
        unsafe fn raw_set_parameter_normalized(&self, _param: ParamPtr, _normalized: f32) {}
        unsafe fn raw_end_set_parameter(&self, _param: ParamPtr) {}
        fn get_state(&self) -> PluginState {
            PluginState { version: String::new(), params: BTreeMap::new(), fields: BTreeMap::new() }
        }
        fn set_state(&self, _state: PluginState) {}
        fn request_restart(&self) {}
    }
    GuiContext::new(std::sync::Arc::new(NoHost))
}

/// Polls `f` until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
