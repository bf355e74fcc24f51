//! The Windows build under Wine: the plugin DLL and `drumsort.exe`, cross-built by the same code
//! as `cargo xtask bundle-windows` (dev profile, `target/windows`), run in a private Wine prefix
//! ([`drumsort_tests::wine`]).
//!
//! - the DLL exports the CLAP and VST3 entry points, and neither file needs a DLL that Windows
//!   does not ship;
//! - `drumsort.exe classify` names the demo one-shots exactly as the Linux build does;
//! - `drumsort.exe scan` keeps its index in `%APPDATA%` and `list` reads it back;
//! - `drumsort.exe organize` copies into class folders under Windows paths and refuses a folder
//!   inside the library;
//! - a CLAP host built for Windows (`tests/windows/clap_probe.c`, compiled with mingw-w64 here)
//!   loads the DLL, passes audio through bit-exact delayed by the latency the plugin reports and
//!   gets a note for every hit of a drum pattern; the same DLL lists its VST3 class;
//! - the editor opens under Wine on Xvfb, shows the library, and a dot dragged out of it reaches
//!   an OLE drop target as `CF_HDROP` ([`editor`]).
//!
//! The first run builds everything for Windows (the standard library too): about 20 minutes on
//! two cores, then only what changed. On Linux a missing package fails the test naming it (CI
//! installs them in `.ci/run`); on other systems the tests print why they skip.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use drumsort_core::synth::Demo;
use drumsort_tests::clap_host::profile_dir;
use drumsort_tests::drum_pattern;
use drumsort_tests::windows_build::{self, Artifacts, Profile};
use drumsort_tests::wine::{self, windows_path, Wine};
use serde_json::Value;

#[path = "windows/editor.rs"]
mod editor;

/// False, after saying why, where the Windows build cannot run: it needs Debian's cross toolchain.
fn on_linux() -> bool {
    if !cfg!(target_os = "linux") {
        eprintln!("skipped: the Windows cross-build and its Wine tests run on Linux (Debian 12) only");
    }
    cfg!(target_os = "linux")
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().expect("the workspace folder")
}

/// The Windows build, brought up to date once per test process.
fn windows_build() -> &'static Artifacts {
    static BUILD: OnceLock<Artifacts> = OnceLock::new();
    BUILD.get_or_init(|| {
        let started = Instant::now();
        let target_dir = wine::target_windows_dir();
        let artifacts =
            windows_build::build(&workspace(), &target_dir, Profile::Debug, true).unwrap_or_else(|e| panic!("{e}"));
        eprintln!("Windows build up to date in {:.1} s", started.elapsed().as_secs_f64());
        artifacts
    })
}

/// A scratch folder for this test process.
fn scratch(name: &str) -> PathBuf {
    let dir = wine::target_windows_dir().join("wine-tests").join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("cannot create a scratch folder");
    dir
}

/// Runs `exe` under Wine and checks it exited 0; prints how long it took.
fn run_ok(exe: &Path, args: &[String], envs: &[(&str, String)]) -> Output {
    let started = Instant::now();
    let out = Wine::get().run(exe, args, envs);
    eprintln!("wine {} {args:?}: {:.1} s", exe.display(), started.elapsed().as_secs_f64());
    assert!(
        out.status.success(),
        "{} {args:?} under Wine failed ({}):\n{}\n{}",
        exe.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn jsonl(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}")))
        .collect()
}

/// `file name -> (class, confidence)` from `classify --format jsonl` records, whichever
/// separator the paths use.
fn classes(records: &[Value]) -> BTreeMap<String, (String, f64)> {
    records
        .iter()
        .map(|r| {
            let path = r["path"].as_str().expect("a path");
            let name = path.rsplit(['/', '\\']).next().unwrap_or(path).to_string();
            (name, (r["class"].as_str().unwrap_or("none").to_string(), r["confidence"].as_f64().unwrap_or(-1.0)))
        })
        .collect()
}

/// The demo one-shots (`cargo xtask demo` writes them).
fn demo_dir() -> PathBuf {
    let dir = workspace().join("assets/demo");
    let count = std::fs::read_dir(&dir).map_or(0, |d| d.filter_map(Result::ok).count());
    assert!(count >= Demo::ALL.len(), "{} has {count} files: run `cargo xtask demo`", dir.display());
    dir
}

#[test]
fn windows_binaries_export_clap_and_vst3_entry_points_and_import_only_system_dlls() {
    if !on_linux() {
        return;
    }
    let (plugin, cli) = windows_build::check_binaries(windows_build()).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("plugin imports {:?}\nCLI imports {:?}", plugin.imports, cli.imports);
    assert!(plugin.imports.iter().any(|dll| dll == "kernel32.dll"), "the tables were not read: {plugin:?}");
}

#[test]
fn windows_cli_classifies_the_demo_one_shots_like_the_linux_build() {
    if !on_linux() {
        return;
    }
    let demo = demo_dir();
    let exe = &windows_build().cli_exe;
    let linux = classes(&jsonl(&linux_cli(&["classify", "--format", "jsonl"], &demo).stdout));
    let args = ["classify", "--format", "jsonl"]
        .map(String::from)
        .into_iter()
        .chain([windows_path(&demo)])
        .collect::<Vec<_>>();
    let db = windows_path(&scratch("classify").join("index.sqlite"));
    let records = jsonl(&run_ok(exe, &args, &[("DRUMSORT_DB", db)]).stdout);
    for r in &records {
        let path = r["path"].as_str().expect("a path");
        assert!(path.starts_with(&format!("{}\\", windows_path(&demo))), "not a Windows path under the input: {path}");
    }
    let windows = classes(&records);
    assert_eq!(windows.len(), linux.len(), "Windows {windows:?}\nLinux {linux:?}");
    for (name, (class, confidence)) in &linux {
        let (win_class, win_confidence) = windows.get(name).unwrap_or_else(|| panic!("Windows did not list {name}"));
        assert_eq!(win_class, class, "{name}: Windows says {win_class}, Linux {class}");
        // The same code on the same CPU, built by two compiler versions: equal up to rounding.
        assert!((win_confidence - confidence).abs() < 1e-3, "{name}: confidence {win_confidence} vs {confidence}");
    }
}

#[test]
fn windows_cli_keeps_its_index_in_appdata() {
    if !on_linux() {
        return;
    }
    let demo = demo_dir();
    let exe = &windows_build().cli_exe;
    let wine = Wine::get();
    // Whatever an earlier run left in the prefix's %APPDATA%.
    let users = wine.prefix().join("drive_c/users");
    let index_in = |user: &Path| user.join("AppData/Roaming/Drumsort/Drumsort/data/library.sqlite");
    let user_dirs: Vec<PathBuf> = std::fs::read_dir(&users)
        .unwrap_or_else(|e| panic!("{}: {e}", users.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    for user in &user_dirs {
        let _ = std::fs::remove_file(index_in(user));
    }
    // No DRUMSORT_DB: the index goes where the platform keeps application data.
    let scan = run_ok(exe, &["scan".into(), "--json".into(), windows_path(&demo)], &[]);
    let summary: Value = serde_json::from_slice(&scan.stdout).expect("scan --json prints one JSON object");
    let db = summary["db"].as_str().expect("the index path");
    assert!(
        db.starts_with("C:\\") && db.ends_with("\\AppData\\Roaming\\Drumsort\\Drumsort\\data\\library.sqlite"),
        "{db}"
    );
    assert!(user_dirs.iter().any(|user| index_in(user).is_file()), "no library.sqlite in {}", users.display());
    assert_eq!(summary["analysed"], Demo::ALL.len(), "{summary}");
    let listed = jsonl(&run_ok(exe, &["list".into(), "--format".into(), "jsonl".into()], &[]).stdout);
    assert_eq!(listed.len(), Demo::ALL.len(), "{listed:?}");
    let under = format!("{}\\", windows_path(&demo));
    for r in &listed {
        let path = r["path"].as_str().expect("a path");
        // Scans store canonical roots: plain names, not the verbatim ones (`\\?\Z:\...`) std's
        // canonicalize gives on Windows.
        assert!(path.starts_with(&under) && path.ends_with(".wav"), "{path} is not a file under {under}");
    }
}

#[test]
fn windows_cli_organizes_into_class_folders_and_refuses_a_folder_inside_the_library() {
    if !on_linux() {
        return;
    }
    let dir = scratch("organize");
    let lib = dir.join("library");
    std::fs::create_dir_all(&lib).expect("cannot create the library folder");
    for file in std::fs::read_dir(demo_dir()).expect("the demo folder").filter_map(Result::ok) {
        std::fs::copy(file.path(), lib.join(file.file_name())).expect("cannot copy a demo file");
    }
    let exe = &windows_build().cli_exe;
    let env = [("DRUMSORT_DB", windows_path(&dir.join("index.sqlite")))];
    run_ok(exe, &["scan".into(), windows_path(&lib)], &env);

    // Inside the library: refused before anything is written. The guard compares the output
    // folder with the stored roots, so both must be spelled alike (plain, not verbatim).
    let inside = lib.join("sorted");
    let refused = Wine::get().run(exe, &["organize".into(), "--into".into(), windows_path(&inside)], &env);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("inside the scanned folder"), "{stderr}");
    assert!(!inside.exists(), "organize wrote into the library");

    // Elsewhere: every file copied byte for byte into its class folder; a second run adds nothing.
    let into = dir.join("sorted");
    let args = ["organize", "--format", "jsonl", "--into"].map(String::from).into_iter().chain([windows_path(&into)]);
    let args: Vec<String> = args.collect();
    let placed = jsonl(&run_ok(exe, &args, &env).stdout);
    assert_eq!(placed.len(), Demo::ALL.len(), "{placed:?}");
    for r in &placed {
        let (source, dest, class) =
            (r["source"].as_str().unwrap(), r["dest"].as_str().unwrap(), r["class"].as_str().unwrap());
        assert_eq!(r["action"], "placed", "{r}");
        let name = source.rsplit('\\').next().unwrap();
        assert_eq!(source, format!("{}\\{name}", windows_path(&lib)), "not the plain Windows name of the source");
        assert_eq!(dest, format!("{}\\{class}\\{name}", windows_path(&into)), "{r}");
        let copy = std::fs::read(into.join(class).join(name)).unwrap_or_else(|e| panic!("{dest}: {e}"));
        assert_eq!(copy, std::fs::read(lib.join(name)).expect("the source"), "{dest} is not a copy of {source}");
    }
    assert!(into.join("drumsort-manifest.json").is_file(), "no manifest");
    let again = jsonl(&run_ok(exe, &args, &env).stdout);
    assert!(again.iter().all(|r| r["action"] == "already_there"), "{again:?}");
}

#[test]
fn windows_plugin_under_a_clap_host_passes_audio_through_bit_exact_and_plays_notes_for_a_drum_pattern() {
    if !on_linux() {
        return;
    }
    let dir = scratch("clap-probe");
    // The DLL under the name users install it by.
    let plugin = dir.join("Drumsort.clap");
    std::fs::copy(&windows_build().plugin_dll, &plugin).expect("cannot copy the plugin");
    let probe = dir.join("clap_probe.exe");
    wine::compile_c(&Path::new(env!("CARGO_MANIFEST_DIR")).join("windows/clap_probe.c"), &probe, &[]);
    let (hits, input) = drum_pattern();
    let bytes: Vec<u8> = input.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(dir.join("input.f32"), bytes).expect("cannot write the input");
    let args = [plugin.clone(), dir.join("input.f32"), dir.join("output.f32"), dir.join("report.txt")];
    let args: Vec<String> = args.iter().map(|p| windows_path(p)).collect();
    run_ok(&probe, &args, &[("DRUMSORT_DB", windows_path(&dir.join("index.sqlite")))]);

    let report = std::fs::read_to_string(dir.join("report.txt")).expect("the probe wrote no report");
    let field = |key: &'static str| report.lines().filter_map(move |l| l.strip_prefix(key).map(str::trim));
    assert_eq!(field("plugin ").collect::<Vec<_>>(), ["com.drumsort.drumsort"], "{report}");
    assert!(field("vst3 ").any(|class| class == "Audio Module Class|Drumsort"), "no VST3 class: {report}");
    let latency: usize = field("latency ").next().and_then(|l| l.parse().ok()).expect("no latency in the report");
    let rate = 48_000;
    assert!((rate / 50..=rate / 5).contains(&latency), "latency {latency} samples is outside 20..200 ms");

    // out[n] == in[n - latency] bit for bit on both channels, silence before.
    let output: Vec<f32> = std::fs::read(dir.join("output.f32"))
        .expect("the probe wrote no output")
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert!(output.len() / 2 >= input.len() + latency, "output of {} frames is too short", output.len() / 2);
    for (n, frame) in output.chunks_exact(2).enumerate() {
        let want = if n < latency { 0.0 } else { input.get(n - latency).copied().unwrap_or(0.0) };
        assert!(
            frame.iter().all(|x| x.to_bits() == want.to_bits()),
            "frame {n}: output {frame:?} is not the input {latency} samples late ({want})"
        );
    }

    // A note within 5 ms of every hit plus the latency, none elsewhere, most on their GM key.
    let notes: Vec<(usize, u8)> = field("note ")
        .map(|l| {
            let mut parts = l.split_whitespace().map(|p| p.parse::<f64>().expect("a number"));
            (parts.next().unwrap() as usize, parts.next().unwrap() as u8)
        })
        .collect();
    let tolerance = rate * 5 / 1000;
    let mut right = 0;
    for &(at, class) in &hits {
        let near: Vec<_> = notes.iter().filter(|(t, _)| t.abs_diff(at + latency) <= tolerance).collect();
        assert!(!near.is_empty(), "no note for the {class:?} at {at}: {notes:?}");
        right += usize::from(near.iter().any(|(_, key)| Some(*key) == class.gm_note()));
    }
    let stray: Vec<_> =
        notes.iter().filter(|(t, _)| !hits.iter().any(|&(at, _)| t.abs_diff(at + latency) <= tolerance)).collect();
    assert!(stray.is_empty(), "notes matching no hit: {stray:?}");
    assert!(right >= 6, "only {right} of {} hits got their General MIDI key: {notes:?}", hits.len());
}

/// Runs the Linux `drumsort` of this test's profile (built first, as the host tests build the
/// plugin) with `args` and `input`.
fn linux_cli(args: &[&str], input: &Path) -> Output {
    let profile_dir = profile_dir();
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev",
        Some(name) => name,
        None => panic!("cannot tell the cargo profile from {}", profile_dir.display()),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let build = Command::new(cargo)
        .args(["build", "--quiet", "--package", "drumsort", "--profile", profile, "--target-dir"])
        .arg(profile_dir.parent().expect("target/<profile> has a parent"))
        .current_dir(workspace())
        .stdin(Stdio::null())
        .output()
        .expect("could not run cargo");
    assert!(build.status.success(), "building the Linux drumsort failed:\n{}", String::from_utf8_lossy(&build.stderr));
    let db = scratch("linux").join("index.sqlite");
    let out = Command::new(profile_dir.join("drumsort"))
        .args(args)
        .arg(input)
        .env("DRUMSORT_DB", db)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run the Linux drumsort");
    assert!(out.status.success(), "the Linux drumsort failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}
