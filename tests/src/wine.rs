//! Running the cross-built Windows programs under Wine 8.0 (Debian 12's `wine64`).
//!
//! [`Wine::get`] makes a private Wine prefix under the target dir once (`wineboot -i`, about 10 s;
//! reused while its stamp file is there), so tests never touch `~/.wine`, and puts the test-only
//! `bcryptprimitives.dll` shim ([`SHIM_SOURCE`], compiled with mingw-w64) into its `system32`:
//! Rust's standard library needs `ProcessPrng` from that DLL, which real Windows 10+ has and
//! Wine 8.0 lacks. Nothing we ship contains the shim.
//!
//! Windows programs need a display even when they open no window (nice-plug's main-thread
//! event loop is a hidden window), so each run gets `DISPLAY`: the caller's, or a private Xvfb
//! started for the run; [`Wine::spawn`] starts a program on a screen the test drives and
//! photographs while it runs. Runs are serialised and end with `wineserver -k`, so a run never talks
//! to a Wine desktop whose X server is gone. `WINEDEBUG=-all` keeps Wine's own chatter out of
//! the programs' output; `WINEDLLOVERRIDES` turns off the Mono and Gecko installers, which would
//! wait for a click forever.
//!
//! Missing packages fail the test with what to install ([`PACKAGES`]); nothing is skipped here.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::windows_build;
use crate::xvfb::VirtualScreen;

/// The Debian 12 packages the Wine tests need besides the cross toolchain
/// ([`windows_build::PACKAGES`]) and Xvfb ([`crate::xvfb::PACKAGES`]).
pub const PACKAGES: &str = "wine64";
/// The source of the `bcryptprimitives.dll` shim.
pub const SHIM_SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/windows/bcryptprimitives.c");
/// How long one program may run before the test gives up on it.
const RUN_TIMEOUT: Duration = Duration::from_secs(600);

/// Where Debian's `wine64` package puts the loader and the server (the `wine` package would add
/// `/usr/bin/wine`, which the tests do not need).
const WINE_CANDIDATES: &[&str] = &["/usr/lib/wine/wine64", "/usr/bin/wine64", "/usr/bin/wine"];
const WINESERVER_CANDIDATES: &[&str] =
    &["/usr/lib/wine/wineserver64", "/usr/lib/wine/wineserver", "/usr/bin/wineserver"];

/// A Wine prefix ready to run the project's Windows programs.
#[derive(Debug)]
pub struct Wine {
    loader: PathBuf,
    server: PathBuf,
    prefix: PathBuf,
}

/// Serialises Wine runs in this process: each run owns the Wine server while it lasts.
static RUNS: Mutex<()> = Mutex::new(());

impl Wine {
    /// The prefix in `target/windows/wine-prefix` (next to the cross-build), set up on first use.
    ///
    /// # Panics
    ///
    /// If Wine or mingw-w64 is missing (naming the packages) or the prefix cannot be made.
    pub fn get() -> &'static Wine {
        static WINE: OnceLock<Wine> = OnceLock::new();
        WINE.get_or_init(|| {
            let install = format!(
                "apt-get install --no-install-recommends {PACKAGES} {} {} (as .ci/run does)",
                windows_build::PACKAGES,
                crate::xvfb::PACKAGES
            );
            let find = |candidates: &[&str]| candidates.iter().map(PathBuf::from).find(|p| p.is_file());
            let loader = find(WINE_CANDIDATES).unwrap_or_else(|| panic!("Wine is not installed: {install}"));
            let server =
                find(WINESERVER_CANDIDATES).unwrap_or_else(|| panic!("wineserver is not installed: {install}"));
            let prefix = target_windows_dir().join("wine-prefix");
            let wine = Wine { loader, server, prefix };
            wine.boot(&install);
            wine
        })
    }

    /// The prefix folder (`WINEPREFIX`).
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// Creates the prefix unless its stamp says it is complete, then (re)installs the shim.
    fn boot(&self, install: &str) {
        let stamp = self.prefix.join("drumsort-prefix-ready");
        if !stamp.is_file() {
            let _ = std::fs::remove_dir_all(&self.prefix);
            std::fs::create_dir_all(&self.prefix).expect("cannot create the Wine prefix folder");
            let out = self.run_raw(OsStr::new("wineboot"), &["-i".into()], &[]);
            let system32 = self.prefix.join("drive_c/windows/system32");
            assert!(
                system32.is_dir(),
                "`wineboot -i` did not make a prefix in {} ({}): {}\n{install}",
                self.prefix.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            std::fs::write(&stamp, b"made by tests/src/wine.rs\n").expect("cannot write the prefix stamp");
        }
        let shim = self.prefix.join("drive_c/windows/system32/bcryptprimitives.dll");
        compile_c(Path::new(SHIM_SOURCE), &shim, &["-shared", "-ladvapi32"]);
    }

    /// Runs the Windows program `exe` with `args` and extra environment variables (Wine passes
    /// the Unix environment on) and waits for it.
    ///
    /// # Panics
    ///
    /// If it runs longer than 10 minutes.
    pub fn run(&self, exe: &Path, args: &[String], envs: &[(&str, String)]) -> Output {
        self.run_raw(exe.as_os_str(), args, envs)
    }

    fn run_raw(&self, exe: &OsStr, args: &[String], envs: &[(&str, String)]) -> Output {
        let serial = RUNS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // A private X server unless the caller has a display; dropped (killed) after the run.
        let screen = std::env::var_os("DISPLAY").is_none().then(|| VirtualScreen::start(1024, 768));
        let display = screen.as_ref().map_or_else(|| std::env::var("DISPLAY").unwrap_or_default(), |s| s.name().into());
        let running = self.start(serial, exe, args, envs, &display);
        let output = running.wait();
        drop(screen);
        output
    }

    /// Starts the Windows program `exe` on the X display `display` (a [`VirtualScreen`] the
    /// caller drives and photographs) and returns at once; [`Running::wait`] waits for it.
    /// Runs stay serialised: the next one starts after this one is waited for or dropped.
    pub fn spawn(&self, exe: &Path, args: &[String], envs: &[(&str, String)], display: &str) -> Running<'_> {
        let serial = RUNS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.start(serial, exe.as_os_str(), args, envs, display)
    }

    fn start(
        &self,
        serial: MutexGuard<'static, ()>,
        exe: &OsStr,
        args: &[String],
        envs: &[(&str, String)],
        display: &str,
    ) -> Running<'_> {
        let mut command = Command::new(&self.loader);
        command
            .arg(exe)
            .args(args)
            .env("WINEPREFIX", &self.prefix)
            .env("WINEDEBUG", "-all")
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .env("WINESERVER", &self.server)
            .env("DISPLAY", display)
            // Never the caller's library index: a test that wants one passes it in `envs`.
            .env_remove("DRUMSORT_DB")
            .envs(envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = command.spawn().unwrap_or_else(|e| panic!("cannot run {}: {e}", self.loader.display()));
        // Read the pipes on a thread so a chatty program cannot block on a full pipe while the
        // deadline is checked.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        Running {
            wine: self,
            name: format!("{} {args:?}", exe.to_string_lossy()),
            output: rx,
            exited: None,
            started: Instant::now(),
            _serial: serial,
        }
    }

    /// Ends the prefix's Wine server and whatever it started (the desktop process, a program
    /// still running) and waits until it is gone.
    fn stop_server(&self) {
        let _ = Command::new(&self.server)
            .arg("-k")
            .env("WINEPREFIX", &self.prefix)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = Command::new(&self.server).arg("-w").env("WINEPREFIX", &self.prefix).status();
    }
}

/// A Windows program running under Wine ([`Wine::spawn`]). Dropping it without
/// [`Running::wait`] ends it (and its Wine server).
pub struct Running<'a> {
    wine: &'a Wine,
    name: String,
    output: std::sync::mpsc::Receiver<std::io::Result<Output>>,
    /// The output, once [`Running::has_exited`] saw the program end.
    exited: Option<std::io::Result<Output>>,
    started: Instant,
    _serial: MutexGuard<'static, ()>,
}

impl Running<'_> {
    /// Waits for the program to exit (at most [`RUN_TIMEOUT`] from its start), then ends its
    /// Wine server before the X server it used can go away.
    ///
    /// # Panics
    ///
    /// If the program runs past the timeout or cannot be waited for.
    pub fn wait(mut self) -> Output {
        let left = RUN_TIMEOUT.saturating_sub(self.started.elapsed());
        let output = match self.exited.take() {
            Some(output) => Ok(output),
            None => self.output.recv_timeout(left),
        };
        // On a timeout this also kills the program.
        self.wine.stop_server();
        match output {
            Ok(output) => output.unwrap_or_else(|e| panic!("waiting for Wine failed: {e}")),
            Err(_) => panic!("{} under Wine ran longer than {:?}", self.name, self.started.elapsed()),
        }
    }

    /// Whether the program has exited (its output is kept for [`Running::wait`]).
    pub fn has_exited(&mut self) -> bool {
        if self.exited.is_none() {
            self.exited = self.output.try_recv().ok();
        }
        self.exited.is_some()
    }

    /// How the program ended, with its output, once [`Running::has_exited`] said it did.
    pub fn exit_message(&self) -> String {
        match &self.exited {
            Some(Ok(out)) => format!(
                "{} ended ({}):\n{}\n{}",
                self.name,
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
            Some(Err(e)) => format!("{}: waiting failed: {e}", self.name),
            None => format!("{} is still running", self.name),
        }
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        // After `wait` this finds no server; otherwise it ends the program with it.
        self.wine.stop_server();
    }
}

/// `path` as a Windows program under Wine sees it: on drive `Z:`, which a new prefix maps to `/`.
///
/// # Panics
///
/// If `path` is relative or not UTF-8.
pub fn windows_path(path: &Path) -> String {
    assert!(path.is_absolute(), "{} is not absolute", path.display());
    let unix = path.to_str().unwrap_or_else(|| panic!("{} is not UTF-8", path.display()));
    format!("Z:{}", unix.replace('/', "\\"))
}

/// The Unix path of `path`, a Windows path a program under Wine printed: drive `Z:` is `/`,
/// drive `C:` the prefix's `drive_c`.
///
/// # Panics
///
/// On any other drive.
pub fn unix_path(wine: &Wine, path: &str) -> PathBuf {
    let (drive, rest) = path.split_at_checked(2).unwrap_or_else(|| panic!("not a Windows path: {path}"));
    let base = match drive.to_ascii_uppercase().as_str() {
        "Z:" => PathBuf::from("/"),
        "C:" => wine.prefix().join("drive_c"),
        _ => panic!("{path} is on a drive a new Wine prefix does not map"),
    };
    rest.split('\\').filter(|c| !c.is_empty()).fold(base, |p, c| p.join(c))
}

/// Compiles the C file `source` into the Windows program or DLL `out` with mingw-w64 (`-O2`,
/// warnings as errors), plus `extra` arguments (`-shared`, libraries).
///
/// # Panics
///
/// If mingw-w64 is missing or the compiler fails.
pub fn compile_c(source: &Path, out: &Path, extra: &[&str]) {
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).expect("cannot create the output folder");
    }
    let result = Command::new(windows_build::MINGW_GCC)
        .args(["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(out)
        .arg(source)
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}): apt-get install --no-install-recommends {} (as .ci/run does)",
                windows_build::MINGW_GCC,
                windows_build::PACKAGES
            )
        });
    assert!(
        result.status.success(),
        "{} {} failed:\n{}",
        windows_build::MINGW_GCC,
        source.display(),
        String::from_utf8_lossy(&result.stderr)
    );
}

/// The target dir of the Windows build: `windows/` next to the test binary's profile folder
/// (`target/windows` for a plain `cargo test`), the same folder `cargo xtask bundle-windows` uses.
pub fn target_windows_dir() -> PathBuf {
    crate::clap_host::profile_dir().parent().expect("target/<profile> has a parent").join("windows")
}
