//! The plugin's editor in the Windows build, under Wine on a private Xvfb: it opens embedded in
//! a host window, shows the library's bubbles (a screenshot is checked for the class colours'
//! dots), a dot dragged out of it reaches an OLE drop target as `CF_HDROP` with the sample's
//! path, and so does the Hits tab's MIDI clip after a recorded drum pattern: a `.mid` file with
//! its notes. A file dragged onto the editor from an OLE drag source is taken and scanned.
//!
//! The host is `tests/windows/editor_probe.c` (compiled with mingw-w64 here): it opens the editor
//! through the CLAP gui extension as a DAW does, with an OLE drop target window beside it, and
//! writes what that target receives to a report. The library is the demo one-shots, scanned
//! into a scratch index by the Windows `drumsort.exe` first. xdotool presses on a dot, carries it
//! over the target and lets go; the drop must bring exactly that sample, under the plain
//! Windows name `list` gives (no `\\?\` prefix). Then it opens the Hits tab, presses Record,
//! has the probe play the drum pattern of the CLAP test through the plugin, and drags the
//! "MIDI clip" handle (found by its colour once hits are recorded) onto the target. Last, the
//! probe becomes the drag source of a new WAV file the pointer carries onto the Library tab: the
//! editor takes it as a copy, a new dot appears, and `list` finds it analysed afterwards.
//!
//! Screenshots go to `target/windows/wine-tests/editor-<pid>/`; with
//! `DRUMSORT_UPDATE_WINDOWS_SCREENSHOT` set, the editor's is also written to
//! `docs/screenshot-windows.png`.

use std::collections::BTreeMap;
use std::time::Duration;

use drumsort_core::synth::Demo;
use drumsort_core::DrumClass;
use drumsort_plugin::testing::{class_colour, PLAYING};
use drumsort_tests::poll;
use drumsort_tests::wine::{compile_c, unix_path, Running};
use drumsort_tests::xvfb::{Picture, VirtualScreen};

use super::*;

/// The virtual screen; the probe puts the editor at its top left and the drop target at
/// (1000, 120), 240 pixels square.
const SCREEN: (u32, u32) = (1280, 800);

/// A window's place on the screen, from the probe's report: `(x, y)`, `(width, height)`.
type Rect = ((usize, usize), (usize, usize));

/// Reads the probe's report; fails the test with its output if the probe has died.
fn report(path: &Path, probe: &mut Running<'_>) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    if probe.has_exited() && !text.contains("closed") {
        panic!("the editor probe exited early: {}\nreport:\n{text}", probe.exit_message());
    }
    text
}

fn rect(report: &str, name: &str) -> Rect {
    let line = report
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|l| l.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no {name} line in the report:\n{report}"));
    let n: Vec<usize> = line.split_whitespace().map(|v| v.parse().expect("a number")).collect();
    ((n[0], n[1]), (n[2], n[3]))
}

fn centre(((x, y), (w, h)): Rect) -> (i32, i32) {
    ((x + w / 2) as i32, (y + h / 2) as i32)
}

/// Dots of each class's colour in `shot`.
fn dots_by_class(shot: &Picture) -> BTreeMap<DrumClass, Vec<(i32, i32)>> {
    DrumClass::ALL
        .iter()
        .map(|&class| {
            let c = class_colour(class);
            (class, shot.dots([c.r(), c.g(), c.b()]))
        })
        .filter(|(_, dots)| !dots.is_empty())
        .collect()
}

/// Writes `samples` as a 48 kHz mono float WAV.
/// Where the Hits tab and its Record toggle are in the editor at scale 1.
const HITS_TAB: (i32, i32) = (82, 9);
const RECORD: (i32, i32) = (27, 77);
const LIBRARY_TAB: (i32, i32) = (27, 9);

/// Presses the left button at `from`, carries the pointer to `to` as a hand would and lets go;
/// returns the probe's report once it has `drops` drops. Saves a screenshot to `shot` if not.
fn drag(
    screen: &VirtualScreen,
    from: (i32, i32),
    to: (i32, i32),
    report_path: &Path,
    probe: &mut Running<'_>,
    drops: usize,
    shot: &Path,
) -> String {
    screen.move_pointer(from);
    std::thread::sleep(Duration::from_millis(400));
    screen.xdotool(&["mousedown", "1"]);
    std::thread::sleep(Duration::from_millis(200));
    screen.sweep_pointer(from, to, 30);
    for wiggle in [3, -3, 3, -3] {
        screen.xdotool(&["mousemove_relative", "--", &wiggle.to_string(), "0"]);
        std::thread::sleep(Duration::from_millis(150));
    }
    screen.xdotool(&["mouseup", "1"]);
    let count = |text: &str| text.lines().filter(|l| l.starts_with("drop ")).count();
    let text = poll(Duration::from_secs(30), Duration::from_millis(100), || {
        let text = report(report_path, probe);
        (count(&text) >= drops).then_some(text)
    });
    text.unwrap_or_else(|| {
        screen.capture_screen().save_png(shot);
        panic!("drop {drops} did not reach the target (see {}):\n{}", shot.display(), report(report_path, probe))
    })
}

/// The files of drop number `n` (from 1) in the probe's report: exactly one, no errors.
fn dropped(report: &str, n: usize) -> Vec<&str> {
    assert!(!report.contains("drop-error"), "{report}");
    let drop = report.split_inclusive('\n').scan(1, |at, line| {
        let this = *at;
        *at += usize::from(line.starts_with("drop "));
        Some((this, line.trim_end()))
    });
    let paths: Vec<&str> = drop.filter(|&(at, _)| at == n).filter_map(|(_, l)| l.strip_prefix("dropped ")).collect();
    assert_eq!(paths.len(), 1, "drop {n} should bring one file:\n{report}");
    paths
}

/// The centre of the MIDI clip handle, which is filled with [`PLAYING`] once hits are
/// recorded: the bounding box of that colour, if it has a button's size.
fn clip_handle(shot: &Picture) -> Option<(i32, i32)> {
    let want = [PLAYING.r(), PLAYING.g(), PLAYING.b()];
    let near = |p: &[u8; 3]| p.iter().zip(want).all(|(a, b)| a.abs_diff(b) <= 8);
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for (i, _) in shot.pixels.iter().enumerate().filter(|(_, p)| near(p)) {
        let (x, y) = (i % shot.width, i / shot.width);
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
    }
    let (w, h) = (x1.checked_sub(x0)? + 1, y1.checked_sub(y0)? + 1);
    ((30..=200).contains(&w) && (12..=40).contains(&h)).then_some((((x0 + x1) / 2) as i32, ((y0 + y1) / 2) as i32))
}

#[test]
fn windows_editor_under_wine_shows_the_library_drags_samples_and_clips_out_and_takes_drops() {
    if !on_linux() {
        return;
    }
    let dir = scratch("editor");
    let db = windows_path(&dir.join("index.sqlite"));
    let cli = &windows_build().cli_exe;
    let demo = demo_dir();
    run_ok(cli, &["scan".into(), windows_path(&demo)], &[("DRUMSORT_DB", db.clone())]);
    let listed =
        jsonl(&run_ok(cli, &["list".into(), "--format".into(), "jsonl".into()], &[("DRUMSORT_DB", db.clone())]).stdout);
    let mut by_class: BTreeMap<DrumClass, Vec<String>> = BTreeMap::new();
    for r in &listed {
        let class: DrumClass = r["class"].as_str().expect("a class").parse().expect("a known class");
        by_class.entry(class).or_default().push(r["path"].as_str().expect("a path").to_string());
    }

    let plugin = dir.join("Drumsort.clap");
    std::fs::copy(&windows_build().plugin_dll, &plugin).expect("cannot copy the plugin");
    let probe_exe = dir.join("editor_probe.exe");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("windows/editor_probe.c");
    compile_c(&source, &probe_exe, &["-lole32", "-luuid", "-lshell32", "-lgdi32"]);
    let (report_path, stop, play) = (dir.join("report.txt"), dir.join("stop"), dir.join("play"));
    let drag_in = dir.join("drag-in.txt");
    let (hits, pattern) = drum_pattern();
    let bytes: Vec<u8> = pattern.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(dir.join("pattern.f32"), bytes).expect("cannot write the pattern");

    let screen = VirtualScreen::start(SCREEN.0, SCREEN.1);
    let args = [&plugin, &report_path, &stop].map(|p| windows_path(p)).into_iter().chain(["300".into()]);
    let args: Vec<String> = args.chain([&dir.join("pattern.f32"), &play, &drag_in].map(|p| windows_path(p))).collect();
    let envs = [("DRUMSORT_DB", db.clone()), ("LIBGL_ALWAYS_SOFTWARE", "1".into())];
    let started = Instant::now();
    let mut probe = Wine::get().spawn(&probe_exe, &args, &envs, screen.name());
    let ready = poll(Duration::from_secs(120), Duration::from_millis(100), || {
        report(&report_path, &mut probe).contains("\nready").then_some(())
    });
    assert!(ready.is_some(), "the editor did not open within 120 s:\n{}", report(&report_path, &mut probe));
    let text = report(&report_path, &mut probe);
    let (editor, target) = (rect(&text, "editor"), rect(&text, "target"));
    assert_eq!(editor.1, (960, 640), "the editor's size at scale 1: {text}");
    eprintln!("editor open under Wine after {:.1} s", started.elapsed().as_secs_f64());

    // The editor draws the library: many colours, and dots of the classes the index holds. The
    // graph animates in, so wait for two equal shots. Wine renders an embedded OpenGL window into
    // an offscreen X window of the editor's size (XComposite) and copies it onto the host's window
    // on real X servers; on Xvfb that copy stays black, so the shot is of the offscreen window:
    // exactly what the editor drew.
    // The pointer off the editor, so no tooltip covers the graph.
    screen.move_pointer((SCREEN.0 as i32 - 10, SCREEN.1 as i32 - 10));
    let mut previous: Option<Picture> = None;
    let mut last = BTreeMap::new();
    let settled = poll(Duration::from_secs(120), Duration::from_millis(500), || {
        report(&report_path, &mut probe);
        let (w, h) = (editor.1 .0 as u16, editor.1 .1 as u16);
        let shot =
            screen.windows_of_size(w, h).into_iter().map(|id| screen.capture(id)).max_by_key(Picture::colour_count)?;
        last = dots_by_class(&shot);
        let same = previous.as_ref() == Some(&shot);
        let drawn = shot.colour_count() > 30 && shot.dominant_share() < 0.9;
        previous = Some(shot);
        // A sample drawn with low confidence is a ring, not a dot: allow two such classes.
        (same && drawn && last.len() + 2 >= by_class.len()).then_some(())
    });
    let shot = previous.expect("no X window of the editor's size appeared");
    shot.save_png(&dir.join("editor.png"));
    screen.capture_screen().save_png(&dir.join("screen.png"));
    assert!(
        settled.is_some(),
        "the editor under Wine did not settle showing dots of (nearly) each of the {} classes in the index \
         (see {}): {shot:?}, dominant share {:.3}, dots {last:?}",
        by_class.len(),
        dir.join("editor.png").display(),
        shot.dominant_share()
    );
    if std::env::var_os("DRUMSORT_UPDATE_WINDOWS_SCREENSHOT").is_some() {
        shot.save_png(&workspace().join("docs/screenshot-windows.png"));
    }
    let dots: usize = last.values().map(Vec::len).sum();
    eprintln!("editor under Wine: {} colours, {dots} dots of {} classes", shot.colour_count(), last.len());

    // Drag a dot of the class with the fewest files onto the drop target.
    let (&class, files) = by_class
        .iter()
        .filter(|(class, _)| last.contains_key(class))
        .min_by_key(|(_, files)| files.len())
        .expect("a class with a dot");
    let (x, y) = last[&class][0];
    let dot = ((editor.0 .0 as i32 + x), (editor.0 .1 as i32 + y));
    let text = drag(&screen, dot, centre(target), &report_path, &mut probe, 1, &dir.join("drag.png"));
    let paths = dropped(&text, 1);
    assert!(text.lines().any(|l| l == "format 15"), "the data offered no CF_HDROP (15):\n{text}");
    assert!(
        files.iter().any(|f| f == paths[0]),
        "the dropped {} is not a {class:?} sample of the index: {files:?}",
        paths[0]
    );
    assert!(paths[0].starts_with(&format!("{}\\", windows_path(&demo))), "not the plain Windows name: {}", paths[0]);
    eprintln!("a dot dragged from the editor under Wine dropped {}", paths[0]);

    // The Hits tab: Record, play the pattern, drag the MIDI clip out. The tab and the toggle sit
    // at fixed places of the editor's top rows at scale 1.
    let at = |(x, y): (i32, i32)| (editor.0 .0 as i32 + x, editor.0 .1 as i32 + y);
    for place in [HITS_TAB, RECORD] {
        screen.move_pointer(at(place));
        std::thread::sleep(Duration::from_millis(300));
        screen.xdotool(&["click", "1"]);
        std::thread::sleep(Duration::from_millis(500));
    }
    screen.move_pointer((SCREEN.0 as i32 - 10, SCREEN.1 as i32 - 10));
    std::fs::write(&play, b"").expect("cannot write the play file");
    let played = poll(Duration::from_secs(60), Duration::from_millis(200), || {
        report(&report_path, &mut probe).lines().any(|l| l == "played").then_some(())
    });
    assert!(played.is_some(), "the probe did not play the pattern:\n{}", report(&report_path, &mut probe));
    let mut shot = None;
    let handle = poll(Duration::from_secs(30), Duration::from_millis(500), || {
        let (w, h) = (editor.1 .0 as u16, editor.1 .1 as u16);
        shot = screen.windows_of_size(w, h).into_iter().map(|id| screen.capture(id)).max_by_key(Picture::colour_count);
        shot.as_ref().and_then(clip_handle)
    });
    let handle = handle.unwrap_or_else(|| {
        if let Some(shot) = &shot {
            shot.save_png(&dir.join("hits.png"));
        }
        panic!("no filled MIDI clip handle after the pattern played; see {}", dir.join("hits.png").display())
    });
    let text = drag(&screen, at(handle), centre(target), &report_path, &mut probe, 2, &dir.join("clip-drag.png"));
    let clip = dropped(&text, 2);
    assert!(clip[0].ends_with(".mid"), "the MIDI clip dropped {clip:?}");
    let bytes = std::fs::read(unix_path(Wine::get(), clip[0])).expect("the dropped MIDI clip is not readable");
    let smf = midly::Smf::parse(&bytes).expect("the dropped clip is not a standard MIDI file");
    let notes = smf
        .tracks
        .iter()
        .flatten()
        .filter(|e| matches!(e.kind, midly::TrackEventKind::Midi { message: midly::MidiMessage::NoteOn { vel, .. }, .. } if vel > 0))
        .count();
    // Real time under Wine on busy cores: most hits, never more than were played.
    assert!((6..=hits.len()).contains(&notes), "the clip has {notes} notes for {} hits", hits.len());
    eprintln!("the MIDI clip dragged from the editor under Wine dropped {} with {notes} notes", clip[0]);

    // A file dragged onto the editor (the probe as the drag source, as Explorer would be) is
    // taken as a copy, scanned, and shows up as one more dot in the Library tab.
    let wav = dir.join("dropped in.wav");
    drumsort_tests::write_mono(&wav, &Demo::Snare.render(48_000, 5));
    screen.move_pointer(at(LIBRARY_TAB));
    std::thread::sleep(Duration::from_millis(300));
    screen.xdotool(&["click", "1"]);
    let from = centre(target);
    screen.move_pointer(from);
    std::thread::sleep(Duration::from_millis(300));
    screen.xdotool(&["mousedown", "1"]);
    std::fs::write(&drag_in, windows_path(&wav)).expect("cannot write the drag-in file");
    std::thread::sleep(Duration::from_millis(500));
    let into = at((editor.1 .0 as i32 / 2, editor.1 .1 as i32 * 2 / 3));
    screen.sweep_pointer(from, into, 30);
    for wiggle in [3, -3, 3, -3] {
        screen.xdotool(&["mousemove_relative", "--", &wiggle.to_string(), "0"]);
        std::thread::sleep(Duration::from_millis(150));
    }
    screen.xdotool(&["mouseup", "1"]);
    screen.move_pointer((SCREEN.0 as i32 - 10, SCREEN.1 as i32 - 10));
    let ended = poll(Duration::from_secs(30), Duration::from_millis(100), || {
        let text = report(&report_path, &mut probe);
        text.lines().find_map(|l| l.strip_prefix("dragged-in ").map(str::to_string))
    });
    let ended =
        ended.unwrap_or_else(|| panic!("the drag onto the editor never ended:\n{}", report(&report_path, &mut probe)));
    // S_OK... DRAGDROP_S_DROP (0x40100) and DROPEFFECT_COPY: the editor took it as a copy.
    assert_eq!(ended, "00040100 1", "the editor did not take the dropped file as a copy");
    let more = poll(Duration::from_secs(90), Duration::from_millis(500), || {
        let (w, h) = (editor.1 .0 as u16, editor.1 .1 as u16);
        let shot =
            screen.windows_of_size(w, h).into_iter().map(|id| screen.capture(id)).max_by_key(Picture::colour_count)?;
        let now: usize = dots_by_class(&shot).values().map(Vec::len).sum();
        (now > dots).then_some(now)
    });
    let more =
        more.unwrap_or_else(|| panic!("no new dot appeared for the file dropped on the editor ({dots} dots before)"));

    // The probe closes the editor and the plugin cleanly.
    std::fs::write(&stop, b"").expect("cannot write the stop file");
    let out = probe.wait();
    let text = std::fs::read_to_string(&report_path).unwrap_or_default();
    assert!(out.status.success() && text.contains("closed"), "{}\n{text}", String::from_utf8_lossy(&out.stderr));
    // The plugin's scan put the dropped file into the index, analysed.
    let listed =
        jsonl(&run_ok(cli, &["list".into(), "--format".into(), "jsonl".into()], &[("DRUMSORT_DB", db)]).stdout);
    let entry = listed.iter().find(|r| r["path"] == windows_path(&wav).as_str());
    let entry = entry.unwrap_or_else(|| panic!("the file dropped on the editor is not in the index: {listed:?}"));
    assert!(entry["class"].is_string(), "the dropped file was not analysed: {entry}");
    eprintln!("a file dropped on the editor under Wine was scanned as {} ({dots} -> {more} dots)", entry["class"]);
    eprintln!("editor test under Wine: {:.1} s in all", started.elapsed().as_secs_f64());
}
