//! A private X server for GUI tests: Xvfb picks a free display itself (`-displayfd`), windows
//! are driven with xdotool and photographed with `xwd | xwdtopnm | pnmdepth 255` (8 bits per
//! channel whatever the window's visual), and [`ParentWindow`] stands in for the window a DAW
//! gives a plugin editor.
//!
//! A missing tool fails the test with the Debian packages to install ([`PACKAGES`]); nothing is
//! skipped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt as _, CreateWindowAux, WindowClass};
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;

/// What a GUI test needs installed on Debian 12.
pub const PACKAGES: &str = "xvfb xdotool x11-apps netpbm python3-gi gir1.2-gtk-3.0 libgl1-mesa-dri libegl1 \
                            libegl-mesa0 libxkbcommon-x11-0";

/// Panics, naming [`PACKAGES`], unless every program in `tools` is on `PATH`.
pub fn require_tools(tools: &[&str]) {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|tool| !std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
        .collect();
    assert!(missing.is_empty(), "{missing:?} not found on PATH: `apt-get install --no-install-recommends {PACKAGES}`");
}

/// A running Xvfb; killed on drop.
pub struct VirtualScreen {
    name: String,
    width: u32,
    height: u32,
    server: Child,
}

impl VirtualScreen {
    /// Starts Xvfb with one `width` x `height` x 24 screen and waits until it takes clients.
    pub fn start(width: u32, height: u32) -> Self {
        require_tools(&["Xvfb", "xdotool", "xwd", "xwdtopnm", "pnmdepth", "pnmtopng"]);
        let geometry = format!("{width}x{height}x24");
        // With -displayfd the server picks an unused display and writes its number to that fd
        // once it accepts connections, so there is no race on display numbers or start-up.
        let mut server = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", &geometry, "-nolisten", "tcp", "-noreset"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start Xvfb ({e}): install {PACKAGES}"));
        let stdout = server.stdout.take().expect("Xvfb's stdout is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let number = rx.recv_timeout(Duration::from_secs(30)).ok().and_then(|line| line.trim().parse::<u32>().ok());
        let Some(number) = number else {
            let _ = server.kill();
            let _ = server.wait();
            panic!("Xvfb did not report a display within 30 s");
        };
        Self { name: format!(":{number}"), width, height, server }
    }

    /// The display name, for `DISPLAY`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The screen size in pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Runs `xdotool` with `args` on this display.
    ///
    /// # Panics
    ///
    /// If xdotool fails.
    pub fn xdotool<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) {
        let output = Command::new("xdotool")
            .args(args)
            .env("DISPLAY", &self.name)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run xdotool ({e}): install {PACKAGES}"));
        assert!(
            output.status.success(),
            "xdotool {:?} failed: {}",
            args.iter().map(AsRef::as_ref).collect::<Vec<_>>(),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Moves the pointer to `(x, y)`.
    pub fn move_pointer(&self, (x, y): (i32, i32)) {
        self.xdotool(&["mousemove", "--sync", &x.to_string(), &y.to_string()]);
    }

    /// Moves the pointer from `from` to `to` in `steps` motions, 20 ms apart, as a hand would:
    /// drag-and-drop sources and targets react to motion.
    pub fn sweep_pointer(&self, from: (i32, i32), to: (i32, i32), steps: i32) {
        for step in 1..=steps {
            let at = (from.0 + (to.0 - from.0) * step / steps, from.1 + (to.1 - from.1) * step / steps);
            self.xdotool(&["mousemove", &at.0.to_string(), &at.1.to_string()]);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The current content of `window` (and of its children), through `xwd`.
    pub fn capture(&self, window: u32) -> Picture {
        self.xwd(&["-id", &window.to_string()])
    }

    /// The whole screen, as a window manager would composite it (windows of other programs,
    /// such as Wine's, included).
    pub fn capture_screen(&self) -> Picture {
        self.xwd(&["-root"])
    }

    fn xwd(&self, which: &[&str]) -> Picture {
        let output = Command::new("sh")
            .args(["-c", r#"xwd -silent "$@" | xwdtopnm 2>/dev/null | pnmdepth 255"#, "xwd"])
            .args(which)
            .env("DISPLAY", &self.name)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run sh ({e})"));
        assert!(
            output.status.success() && !output.stdout.is_empty(),
            "`xwd {which:?} | xwdtopnm` failed (install {PACKAGES}): {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Picture::from_ppm(&output.stdout)
    }

    /// Every window on the screen (mapped or not, at any depth) that is exactly `width` x
    /// `height`, in the server's tree order. Finds windows other programs made, such as the
    /// offscreen X window Wine renders an embedded OpenGL child window into.
    pub fn windows_of_size(&self, width: u16, height: u16) -> Vec<u32> {
        let (conn, screen) = RustConnection::connect(Some(&self.name)).expect("cannot connect to Xvfb");
        let mut pending = vec![conn.setup().roots[screen].root];
        let mut found = Vec::new();
        while let Some(window) = pending.pop() {
            let Some(tree) = conn.query_tree(window).ok().and_then(|c| c.reply().ok()) else { continue };
            for child in tree.children {
                let geometry = conn.get_geometry(child).ok().and_then(|c| c.reply().ok());
                if geometry.is_some_and(|g| (g.width, g.height) == (width, height)) {
                    found.push(child);
                }
                pending.push(child);
            }
        }
        found
    }

    /// Opens a plain mapped top-level window at `(x, y)`, as a host's plugin window.
    pub fn parent_window(&self, x: i16, y: i16, width: u16, height: u16) -> ParentWindow {
        let (conn, screen) = RustConnection::connect(Some(&self.name)).expect("cannot connect to Xvfb");
        let root = conn.setup().roots[screen].root;
        let id = conn.generate_id().expect("no X resource id left");
        let aux = CreateWindowAux::new().background_pixel(0x0030_3030);
        conn.create_window(0, id, root, x, y, width, height, 0, WindowClass::INPUT_OUTPUT, 0, &aux)
            .expect("CreateWindow failed");
        conn.map_window(id).expect("MapWindow failed");
        conn.sync().expect("the X server did not answer");
        ParentWindow { conn, id }
    }
}

impl Drop for VirtualScreen {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// A top-level window this process owns; destroyed with its connection on drop.
pub struct ParentWindow {
    conn: RustConnection,
    /// The X window id.
    pub id: u32,
}

impl ParentWindow {
    /// The ids of the windows directly inside this one (an embedded editor shows up here).
    pub fn children(&self) -> Vec<u32> {
        self.conn.query_tree(self.id).ok().and_then(|cookie| cookie.reply().ok()).map_or_else(Vec::new, |t| t.children)
    }
}

/// An RGB picture.
#[derive(Clone, PartialEq, Eq)]
pub struct Picture {
    pub width: usize,
    pub height: usize,
    /// Row-major RGB triples.
    pub pixels: Vec<[u8; 3]>,
}

impl std::fmt::Debug for Picture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Picture({}x{}, {} colours)", self.width, self.height, self.colour_count())
    }
}

impl Picture {
    /// Parses a binary (P6, 8-bit) PPM.
    ///
    /// # Panics
    ///
    /// On anything else.
    pub fn from_ppm(bytes: &[u8]) -> Self {
        // Four whitespace-separated header tokens, then exactly one whitespace byte.
        let mut tokens = Vec::with_capacity(4);
        let mut at = 0;
        while tokens.len() < 4 {
            let start = at + bytes[at..].iter().position(|b| !b.is_ascii_whitespace()).expect("PPM header ends early");
            let len = bytes[start..].iter().position(u8::is_ascii_whitespace).expect("PPM header ends early");
            tokens.push(std::str::from_utf8(&bytes[start..start + len]).expect("PPM header is not text"));
            at = start + len;
        }
        assert_eq!((tokens[0], tokens[3]), ("P6", "255"), "not an 8-bit binary PPM");
        let width: usize = tokens[1].parse().expect("PPM width");
        let height: usize = tokens[2].parse().expect("PPM height");
        let data = &bytes[at + 1..];
        assert_eq!(data.len(), width * height * 3, "PPM data size for {width}x{height}");
        let pixels = data.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect();
        Self { width, height, pixels }
    }

    /// The colour at `(x, y)`.
    pub fn at(&self, x: usize, y: usize) -> [u8; 3] {
        self.pixels[y * self.width + x]
    }

    /// How many different colours the picture has.
    pub fn colour_count(&self) -> usize {
        let mut colours: Vec<[u8; 3]> = self.pixels.clone();
        colours.sort_unstable();
        colours.dedup();
        colours.len()
    }

    /// The share of pixels (0..=1) that have the picture's most common colour.
    pub fn dominant_share(&self) -> f64 {
        let mut colours: Vec<[u8; 3]> = self.pixels.clone();
        colours.sort_unstable();
        let longest = colours.chunk_by(|a, b| a == b).map(<[_]>::len).max().unwrap_or(0);
        longest as f64 / self.pixels.len().max(1) as f64
    }

    /// Pixels that are `colour` scaled by 0.3..=1.1 (a dot drawn with any confidence over the dark
    /// graph background), give or take `tolerance` per unit of brightness.
    fn tinted(&self, colour: [u8; 3]) -> Vec<bool> {
        let c = colour.map(f32::from);
        let cc: f32 = c.iter().map(|v| v * v).sum();
        self.pixels
            .iter()
            .map(|p| {
                let p = p.map(f32::from);
                let k = (p[0] * c[0] + p[1] * c[1] + p[2] * c[2]) / cc;
                let off: f32 = (0..3).map(|i| (p[i] - k * c[i]).powi(2)).sum::<f32>().sqrt();
                (0.3..=1.1).contains(&k) && off <= 24.0
            })
            .collect()
    }

    /// Centres of the blobs of `colour` that are shaped like a sample's dot (a filled disc 10 to
    /// 26 pixels across): class chips are wider than tall and broken up by their text, bubble rims
    /// are rings, labels are thin strokes.
    pub fn dots(&self, colour: [u8; 3]) -> Vec<(i32, i32)> {
        let (w, h) = (self.width, self.height);
        let mut mask = self.tinted(colour);
        let mut found = Vec::new();
        let mut stack = Vec::new();
        for start in 0..mask.len() {
            if !mask[start] {
                continue;
            }
            mask[start] = false;
            stack.push(start);
            let (mut x0, mut y0, mut x1, mut y1, mut area) = (w, h, 0, 0, 0usize);
            while let Some(i) = stack.pop() {
                let (x, y) = (i % w, i / w);
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
                area += 1;
                let neighbours = [
                    (x > 0).then(|| i - 1),
                    (x + 1 < w).then(|| i + 1),
                    (y > 0).then(|| i - w),
                    (y + 1 < h).then(|| i + w),
                ];
                for j in neighbours.into_iter().flatten() {
                    if mask[j] {
                        mask[j] = false;
                        stack.push(j);
                    }
                }
            }
            let (bw, bh) = (x1 - x0 + 1, y1 - y0 + 1);
            let disc = (10..=26).contains(&bw) && (10..=26).contains(&bh) && bw.abs_diff(bh) <= 4;
            if disc && area * 100 >= bw * bh * 60 {
                found.push((((x0 + x1) / 2) as i32, ((y0 + y1) / 2) as i32));
            }
        }
        found
    }

    /// Writes the picture as PNG (through `pnmtopng`).
    pub fn save_png(&self, path: &Path) {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("cannot create the screenshot's folder");
        }
        let mut ppm = format!("P6\n{} {}\n255\n", self.width, self.height).into_bytes();
        ppm.extend(self.pixels.iter().flatten());
        let ppm_path = path.with_extension("ppm");
        std::fs::write(&ppm_path, &ppm).expect("cannot write the screenshot");
        let png = Command::new("pnmtopng").arg(&ppm_path).stdin(Stdio::null()).output();
        let _ = std::fs::remove_file(&ppm_path);
        let png = png.unwrap_or_else(|e| panic!("cannot run pnmtopng ({e}): install {PACKAGES}"));
        assert!(png.status.success(), "pnmtopng failed: {}", String::from_utf8_lossy(&png.stderr));
        std::fs::write(path, png.stdout).expect("cannot write the PNG");
    }
}
