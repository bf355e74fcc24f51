//! Host-level tests of the plugin binary hosts actually load: the `drumsort-plugin` cdylib.
//!
//! An in-process CLAP host (clack-host) checks what a DAW sees when it scans and runs the plugin,
//! and the scanners Qtractor (CLAP) and Ardour (VST3) ship check the same binary from outside.
//!
//! Which binary: `$DRUMSORT_PLUGIN_LIB` if set (point it at `target/bundled/drumsort-plugin.clap`
//! to test a release bundle), otherwise `lib{drumsort_plugin}.so` in this test binary's profile
//! directory, which the tests first bring up to date with `cargo build -p drumsort-plugin` in the
//! same profile. That is how `cargo xtask bundle` builds it too; after `cargo test --workspace`,
//! which unifies dependency features across the whole workspace, it costs one relink (~3 s).
//!
//! Debug builds of the plugin abort on any allocation inside `process()` (the plugin's
//! `assert_process_allocs` feature), which takes this test binary down with SIGABRT and
//! "memory allocation of N bytes failed": that, too, is a failure of the plugin.
//!
//! The scanner tests need the hosts' scanners and fail, saying how to install them, when they are
//! missing: `apt-get install --no-install-recommends qtractor ardour` on Debian 12 (`.ci/run`
//! does this).

use std::ffi::CStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use clack_extensions::audio_ports::{AudioPortInfoBuffer, PluginAudioPorts};
use clack_extensions::latency::PluginLatency;
use clack_extensions::note_ports::{NoteDialect, NotePortInfoBuffer, PluginNotePorts};
use clack_extensions::state::{PluginState, StateError};
use clack_host::events::event_types::NoteOnEvent;
use clack_host::events::Match;
use clack_host::prelude::*;
use drumsort_core::synth::Demo;
use drumsort_core::DrumClass;

const CLAP_ID: &CStr = c"com.drumsort.drumsort";
/// `Vst3Plugin::VST3_CLASS_ID` (`*b"DrumsortPlugin01"`) as hex, the way Ardour prints it.
const VST3_UID_HEX: &str = "4472756D736F7274506C7567696E3031";
const SAMPLE_RATE: f64 = 48_000.0;
const MAX_BLOCK: u32 = 512;
/// Block lengths a host might send, including a full block, odd lengths and a single sample.
const BLOCKS: [usize; 7] = [512, 512, 333, 1, 512, 64, 511];

// ---------------------------------------------------------------------------------------------
// Finding the plugin binary
// ---------------------------------------------------------------------------------------------

/// The plugin library every test loads, built at most once per test process.
fn plugin_library() -> &'static Path {
    static LIBRARY: OnceLock<PathBuf> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        if let Some(path) = std::env::var_os("DRUMSORT_PLUGIN_LIB") {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "DRUMSORT_PLUGIN_LIB points at {}, which is not a file. Unset it to test the \
                 cdylib cargo builds, or run `cargo xtask bundle drumsort-plugin --release` to \
                 make target/bundled/drumsort-plugin.clap.",
                path.display()
            );
            return path;
        }
        let profile_dir = profile_dir();
        build_plugin(&profile_dir);
        let path = profile_dir.join(format!(
            "{}drumsort_plugin{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ));
        assert!(
            path.is_file(),
            "the plugin library {} is missing although `cargo build -p drumsort-plugin` \
             succeeded. Build it with `cargo build -p drumsort-plugin` (add `--release` for \
             `cargo test --release`) or set DRUMSORT_PLUGIN_LIB to a .clap file.",
            path.display()
        );
        path
    })
}

/// `target/<profile>`: cargo puts this test binary in `target/<profile>/deps/` and the cdylib of
/// the same profile in `target/<profile>/`, also under a custom `CARGO_TARGET_DIR`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's own path is unknown");
    exe.parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("{} is not in target/<profile>/deps/", exe.display()))
        .to_path_buf()
}

/// Builds (or confirms fresh) the cdylib with the profile this test binary was built with, so the
/// tests never load a stale plugin after `cargo test -p drumsort-tests`.
fn build_plugin(profile_dir: &Path) {
    let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") => "dev",
        Some(name) => name,
        None => panic!("cannot tell the cargo profile from {}", profile_dir.display()),
    };
    let target_dir = profile_dir.parent().expect("target/<profile> has a parent");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--package", "drumsort-plugin", "--profile", profile])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(&workspace)
        .stdin(Stdio::null())
        .output()
        .expect("could not run cargo to build the plugin");
    assert!(
        output.status.success(),
        "`cargo build -p drumsort-plugin --profile {profile}` failed, so there is no plugin \
         library to test:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn load_entry() -> PluginEntry {
    static PRIVATE_INDEX: std::sync::Once = std::sync::Once::new();
    PRIVATE_INDEX.call_once(|| {
        // The plugin opens the library index on activation: point it at a scratch file, never at
        // the user's library. SAFETY: set before any plugin thread exists in this process.
        let db = std::env::temp_dir().join(format!("drumsort-host-test-{}.sqlite", std::process::id()));
        unsafe { std::env::set_var("DRUMSORT_DB", db) };
    });
    let path = plugin_library();
    // SAFETY: the library is our own plugin; loading it runs only nice-plug's CLAP entry point.
    unsafe { PluginEntry::load(path) }
        .unwrap_or_else(|err| panic!("could not load {} as a CLAP plugin: {err}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// A minimal CLAP host
// ---------------------------------------------------------------------------------------------

/// Host callbacks: this host never restarts, reschedules or calls back, so requests are ignored.
struct TestHostShared;

impl SharedHandler<'_> for TestHostShared {
    fn request_restart(&self) {}
    fn request_process(&self) {}
    fn request_callback(&self) {}
}

struct TestHost;

impl HostHandlers for TestHost {
    type Shared<'a> = TestHostShared;
    type MainThread<'a> = ();
    type AudioProcessor<'a> = ();
}

fn instantiate(entry: &PluginEntry) -> PluginInstance<TestHost> {
    let host_info =
        HostInfo::new("drumsort-tests", "Drumsort", "https://example.invalid/drumsort", env!("CARGO_PKG_VERSION"))
            .expect("host info strings contain no NUL");
    PluginInstance::<TestHost>::new(|_| TestHostShared, |_| (), entry, CLAP_ID, &host_info)
        .expect("the plugin failed to instantiate")
}

/// Deterministic white noise in [-1, 1) (xorshift32), so a failure reproduces exactly.
fn noise(len: usize, mut state: u32) -> Vec<f32> {
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// In-process CLAP tests
// ---------------------------------------------------------------------------------------------

#[test]
fn clap_descriptor_names_drumsort() {
    let entry = load_entry();
    let factory = entry.get_plugin_factory().expect("no CLAP plugin factory");
    assert_eq!(factory.plugin_count(), 1, "the library should export exactly one plugin");

    let descriptor = factory.plugin_descriptor(0).expect("plugin 0 has no descriptor");
    assert_eq!(descriptor.id(), Some(CLAP_ID));
    assert_eq!(descriptor.name(), Some(c"Drumsort"));
    assert_eq!(descriptor.vendor(), Some(c"Drumsort"));
    assert_eq!(
        descriptor.version().and_then(|v| v.to_str().ok()),
        Some(env!("CARGO_PKG_VERSION")),
        "the plugin version should follow the workspace version"
    );
    let features: Vec<&str> = descriptor.features().filter_map(|f| f.to_str().ok()).collect();
    for expected in ["audio-effect", "analyzer", "utility"] {
        assert!(features.contains(&expected), "feature {expected:?} missing from {features:?}");
    }
    assert!(!features.contains(&"instrument"), "an analyzer is not an instrument: {features:?}");
}

#[test]
fn clap_ports_are_stereo_audio_and_one_note_output() {
    let entry = load_entry();
    let mut instance = instantiate(&entry);
    let handle = instance.plugin_handle();

    let audio_ports = handle.get_extension::<PluginAudioPorts>().expect("the plugin has no audio-ports extension");
    for is_input in [true, false] {
        assert_eq!(audio_ports.count(&handle, is_input), 1, "audio ports (input: {is_input})");
        let mut buffer = AudioPortInfoBuffer::new();
        let port = audio_ports.get(&handle, 0, is_input, &mut buffer).expect("audio port 0 has no info");
        assert_eq!(port.channel_count, 2, "audio port 0 (input: {is_input}) is not stereo");
    }

    let note_ports = handle
        .get_extension::<PluginNotePorts>()
        .expect("the plugin has no note-ports extension, so hosts see no MIDI output");
    assert_eq!(note_ports.count(&handle, true), 0, "Drumsort takes no note input");
    assert_eq!(note_ports.count(&handle, false), 1, "Drumsort has exactly one note output");
    let mut buffer = NotePortInfoBuffer::new();
    let port = note_ports.get(&handle, 0, false, &mut buffer).expect("note output 0 has no info");
    assert!(
        port.supported_dialects.supports(NoteDialect::Midi),
        "the note output must speak MIDI for hosts that only route MIDI"
    );
}

#[test]
fn clap_process_passes_audio_through_bit_exact() {
    let entry = load_entry();
    let mut instance = instantiate(&entry);
    let config =
        PluginAudioConfiguration { sample_rate: SAMPLE_RATE, min_frames_count: 1, max_frames_count: MAX_BLOCK };
    let processor = instance.activate(|_, _| (), config).expect("the plugin failed to activate");

    let total: usize = BLOCKS.iter().sum();
    let input = [noise(total, 0x1234_5678), noise(total, 0x9abc_def1)];

    // The CLAP spec lets a host call process() from any thread but the main one.
    let (processor, output, emitted_events) = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let mut processor = processor.start_processing().expect("the plugin failed to start processing");
                let mut output = [Vec::with_capacity(total), Vec::with_capacity(total)];
                let mut input_ports = AudioPorts::with_capacity(2, 1);
                let mut output_ports = AudioPorts::with_capacity(2, 1);
                let mut out_events = EventBuffer::with_capacity(64);
                let mut emitted_events = 0;
                let mut start = 0;
                for block in BLOCKS {
                    let range = start..start + block;
                    let mut in_l = input[0][range.clone()].to_vec();
                    let mut in_r = input[1][range].to_vec();
                    // NaN sentinels: a plugin that forgot to write its output fails the test.
                    let mut out_l = vec![f32::NAN; block];
                    let mut out_r = vec![f32::NAN; block];
                    let audio_in = input_ports.with_input_buffers([AudioPortBuffer {
                        latency: 0,
                        channels: AudioPortBufferType::f32_input_only([
                            InputChannel::variable(&mut in_l),
                            InputChannel::variable(&mut in_r),
                        ]),
                    }]);
                    let mut audio_out = output_ports.with_output_buffers([AudioPortBuffer {
                        latency: 0,
                        channels: AudioPortBufferType::f32_output_only([out_l.as_mut_slice(), out_r.as_mut_slice()]),
                    }]);
                    out_events.clear();
                    processor
                        .process(
                            &audio_in,
                            &mut audio_out,
                            &InputEvents::empty(),
                            &mut out_events.as_output(),
                            Some(start as u64),
                            None,
                        )
                        .unwrap_or_else(|err| panic!("process() failed on block {block}: {err}"));
                    emitted_events += out_events.len();
                    output[0].extend_from_slice(&out_l);
                    output[1].extend_from_slice(&out_r);
                    start += block;
                }
                (processor.stop_processing(), output, emitted_events)
            })
            .join()
            .expect("the audio thread panicked")
    });
    instance.deactivate(processor);

    for (channel, (got, want)) in output.iter().zip(&input).enumerate() {
        assert_eq!(got.len(), want.len());
        if let Some(i) = (0..got.len()).find(|&i| got[i].to_bits() != want[i].to_bits()) {
            panic!(
                "channel {channel}, sample {i}: output {} ({:#010x}) differs from input {} \
                 ({:#010x}); the pass-through must be bit-exact",
                got[i],
                got[i].to_bits(),
                want[i],
                want[i].to_bits()
            );
        }
    }
    assert_eq!(emitted_events, 0, "noise with no attack in it is not a drum hit (and is shorter than the latency)");
}

/// The plugin's saved state as JSON. nice-plug's CLAP wrapper writes a little-endian u64 length
/// and then JSON (parameters plus persisted fields).
fn save_state(instance: &mut PluginInstance<TestHost>) -> serde_json::Value {
    let mut handle = instance.plugin_handle();
    let state = handle.get_extension::<PluginState>().expect("the plugin has no state extension");
    let mut bytes = Vec::new();
    state.save(&mut handle, &mut bytes).expect("saving the state failed");
    let (length, json) = bytes.split_at(8);
    assert_eq!(u64::from_le_bytes(length.try_into().unwrap()), json.len() as u64, "state length prefix");
    serde_json::from_slice(json).expect("the state is not JSON")
}

/// Loads `json` (with the wrapper's length prefix) into `instance`.
fn load_state(instance: &mut PluginInstance<TestHost>, json: &[u8]) -> Result<(), StateError> {
    let mut handle = instance.plugin_handle();
    let ext = handle.get_extension::<PluginState>().expect("the plugin has no state extension");
    let bytes: Vec<u8> = (json.len() as u64).to_le_bytes().iter().chain(json).copied().collect();
    ext.load(&mut handle, &mut bytes.as_slice())
}

#[test]
fn clap_state_round_trips_parameters_library_roots_and_view() {
    let entry = load_entry();
    let mut first = instantiate(&entry);
    let mut state = save_state(&mut first);
    // What a session saved after the user changed things: parameters, roots, view and size.
    state["params"]["sensitivity"] = serde_json::json!({"f32": 0.8});
    state["params"]["note_1"] = serde_json::json!({"i32": 35});
    state["fields"]["roots"] = serde_json::json!(r#"["/music/drums","/music/found sounds"]"#);
    state["fields"]["view"] = serde_json::json!(
        r#"{"zoom":2.5,"pan":[1.0,-3.0],"hidden":["kick"],"query":"snr","selected":"/music/drums/a.wav","tab":"Hits"}"#
    );
    state["fields"]["editor-size"] = serde_json::json!("[1200,800]");

    let mut second = instantiate(&entry);
    load_state(&mut second, &serde_json::to_vec(&state).unwrap()).expect("loading the state failed");
    let back = save_state(&mut second);
    for (section, key) in [("params", "sensitivity"), ("params", "note_1"), ("fields", "editor-size")] {
        assert_eq!(back[section][key], state[section][key], "{section}.{key} did not survive a reload");
    }
    let json = |v: &serde_json::Value| serde_json::from_str::<serde_json::Value>(v.as_str().unwrap()).unwrap();
    assert_eq!(json(&back["fields"]["roots"]), json(&state["fields"]["roots"]));
    assert_eq!(json(&back["fields"]["view"]), json(&state["fields"]["view"]));
    // A corrupt blob is refused without taking the host down, and the instance keeps working.
    assert!(load_state(&mut second, b"{ not json").is_err(), "a corrupt state was accepted");
    assert_eq!(save_state(&mut second)["params"]["sensitivity"], state["params"]["sensitivity"]);
}

/// A drum pattern: `(hit sample, class)` and the audio, 48 kHz stereo (the same on both sides).
fn drum_pattern() -> (Vec<(usize, DrumClass)>, Vec<f32>) {
    let rate = SAMPLE_RATE as u32;
    let demos = [Demo::Kick, Demo::ClosedHat, Demo::Snare, Demo::ClosedHat];
    let step = rate as usize / 4; // 8th notes at 120 bpm
    let mut audio = vec![0.0f32; step * 10];
    let mut hits = Vec::new();
    for (i, demo) in demos.iter().cycle().take(8).enumerate() {
        let sound = demo.render(rate, i as u64);
        let attack = sound.iter().position(|x| x.abs() > 1e-3).unwrap_or(0);
        let at = step / 2 + i * step;
        for (j, &x) in sound[attack..].iter().enumerate().take(step) {
            audio[at + j] += x * 0.8;
        }
        hits.push((at, demo.class()));
    }
    (hits, audio)
}

/// Runs `input` (mono, played on both channels) through an activated instance in 256-sample
/// blocks at roughly real-time pace (the classifier worker runs beside `process()` as in a DAW)
/// and returns the note-ons `(absolute sample, key, velocity)` and the latency the plugin
/// reported.
fn run_for_notes(input: &[f32]) -> (Vec<(u64, u16, f64)>, u32) {
    const BLOCK: usize = 256;
    let entry = load_entry();
    let mut instance = instantiate(&entry);
    let config =
        PluginAudioConfiguration { sample_rate: SAMPLE_RATE, min_frames_count: 1, max_frames_count: BLOCK as u32 };
    let processor = instance.activate(|_, _| (), config).expect("the plugin failed to activate");
    let latency = {
        let mut handle = instance.plugin_handle();
        handle.get_extension::<PluginLatency>().expect("the plugin reports no latency extension").get(&mut handle)
    };
    let (processor, notes) = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let mut processor = processor.start_processing().expect("start_processing failed");
                let mut input_ports = AudioPorts::with_capacity(2, 1);
                let mut output_ports = AudioPorts::with_capacity(2, 1);
                let mut out_events = EventBuffer::with_capacity(256);
                let mut notes = Vec::new();
                let tail = vec![0.0f32; latency as usize + 2 * BLOCK];
                let all: Vec<f32> = input.iter().chain(&tail).copied().collect();
                for (b, chunk) in all.chunks(BLOCK).enumerate() {
                    let start = (b * BLOCK) as u64;
                    let (mut in_l, mut in_r) = (chunk.to_vec(), chunk.to_vec());
                    let (mut out_l, mut out_r) = (vec![0.0f32; chunk.len()], vec![0.0f32; chunk.len()]);
                    let audio_in = input_ports.with_input_buffers([AudioPortBuffer {
                        latency: 0,
                        channels: AudioPortBufferType::f32_input_only([
                            InputChannel::variable(&mut in_l),
                            InputChannel::variable(&mut in_r),
                        ]),
                    }]);
                    let mut audio_out = output_ports.with_output_buffers([AudioPortBuffer {
                        latency: 0,
                        channels: AudioPortBufferType::f32_output_only([out_l.as_mut_slice(), out_r.as_mut_slice()]),
                    }]);
                    out_events.clear();
                    processor
                        .process(
                            &audio_in,
                            &mut audio_out,
                            &InputEvents::empty(),
                            &mut out_events.as_output(),
                            Some(start),
                            None,
                        )
                        .expect("process() failed");
                    for event in &out_events {
                        if let Some(on) = event.as_event::<NoteOnEvent>() {
                            if let Match::Specific(key) = on.key() {
                                notes.push((start + u64::from(on.header().time()), key, on.velocity()));
                            }
                        }
                    }
                    // About real time: 256 samples at 48 kHz are 5.3 ms.
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                (processor.stop_processing(), notes)
            })
            .join()
            .expect("the audio thread panicked")
    });
    instance.deactivate(processor);
    (notes, latency)
}

#[test]
fn clap_labels_a_drum_pattern_with_notes_at_the_hits_plus_the_reported_latency() {
    let (hits, audio) = drum_pattern();
    let (notes, latency) = run_for_notes(&audio);
    let rate = SAMPLE_RATE as u64;
    assert!((rate / 50..=rate / 5).contains(&u64::from(latency)), "latency {latency} samples is outside 20..200 ms");
    let tolerance = rate * 5 / 1000; // 5 ms
    let mut right = 0;
    for &(at, class) in &hits {
        let due = at as u64 + u64::from(latency);
        let near: Vec<_> = notes.iter().filter(|(t, _, _)| t.abs_diff(due) <= tolerance).collect();
        assert!(!near.is_empty(), "no note within 5 ms of {due} (hit at {at}, {class:?}); notes: {notes:?}");
        if near.iter().any(|(_, key, _)| u8::try_from(*key).ok() == class.gm_note()) {
            right += 1;
        }
        assert!(near.iter().all(|(_, _, v)| (0.0..=1.0).contains(v) && *v > 0.0));
    }
    // Every note belongs to a hit: no notes from the decays between hits.
    for (t, key, _) in &notes {
        assert!(
            hits.iter().any(|&(at, _)| t.abs_diff(at as u64 + u64::from(latency)) <= tolerance),
            "note {key} at {t} matches no hit"
        );
    }
    assert!(right >= 6, "only {right} of {} hits got their General MIDI key: {notes:?}", hits.len());
}

// ---------------------------------------------------------------------------------------------
// Real hosts' scanners
// ---------------------------------------------------------------------------------------------

/// The first existing path among `candidates`.
///
/// # Panics
///
/// If none exists, with the package to install.
fn scanner(candidates: &[&str], package: &str) -> PathBuf {
    candidates.iter().map(PathBuf::from).find(|path| path.is_file()).unwrap_or_else(|| {
        panic!(
            "none of {candidates:?} exists: install the host with \
             `apt-get install --no-install-recommends {package}`"
        )
    })
}

/// A fresh directory under cargo's per-target scratch space, `target/tmp/`.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("cannot create a scratch directory");
    dir
}

/// Lays the plugin library out as nice-plug-xtask does on Linux: a `.clap` is the library itself,
/// a `.vst3` is a directory holding it as `Contents/<arch>-linux/<name>.so`.
fn bundle(dir: &Path, clap: bool) -> PathBuf {
    let library = plugin_library();
    let (bundle, file) = if clap {
        let bundle = dir.join("Drumsort.clap");
        (bundle.clone(), bundle)
    } else {
        let bundle = dir.join("Drumsort.vst3");
        let contents = bundle.join(format!("Contents/{}-linux", std::env::consts::ARCH));
        std::fs::create_dir_all(&contents).expect("cannot create the VST3 bundle");
        (bundle, contents.join("Drumsort.so"))
    };
    std::fs::copy(library, &file).expect("cannot copy the plugin library into a bundle");
    bundle
}

fn run(command: &mut Command) -> (bool, String) {
    let output = command.stdin(Stdio::null()).output().unwrap_or_else(|err| panic!("could not run {command:?}: {err}"));
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[test]
fn qtractor_scans_the_clap_bundle() {
    let scan = scanner(
        &[
            "/usr/lib/x86_64-linux-gnu/qtractor/qtractor_plugin_scan",
            "/usr/lib/aarch64-linux-gnu/qtractor/qtractor_plugin_scan",
        ],
        "qtractor",
    );
    let bundle = bundle(&scratch_dir("qtractor-scan"), true);

    // The scanner reads `<type>:<path>` lines on stdin and prints one line per plugin found:
    // CLAP|<name>|<audio in>:<audio out>|<midi in>:<midi out>|<params in>:<params out>|<flags>|...
    let mut child = Command::new(&scan)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("could not run {}: {err}", scan.display()));
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("piped stdin");
        writeln!(stdin, "CLAP:{}", bundle.display()).expect("cannot write to the scanner");
    }
    let output = child.wait_with_output().expect("the scanner did not finish");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("CLAP|")).collect();
    assert!(output.status.success(), "qtractor_plugin_scan failed:\n{stdout}{stderr}");
    assert_eq!(lines.len(), 1, "expected one plugin line from Qtractor:\n{stdout}{stderr}");
    assert!(
        lines[0].starts_with("CLAP|Drumsort|2:2|0:1|"),
        "Qtractor should see Drumsort with stereo audio and one MIDI output: {}",
        lines[0]
    );
}

#[test]
fn ardour_scans_the_vst3_bundle() {
    let scan = scanner(&["/usr/lib/ardour7/ardour-vst3-scanner", "/usr/lib/ardour8/ardour-vst3-scanner"], "ardour");
    let dir = scratch_dir("ardour-scan");
    let bundle = bundle(&dir, false);
    let lib_dir = scan.parent().expect("the scanner lives in Ardour's lib directory");

    // Ardour writes its scan cache under $XDG_CACHE_HOME: keep it in the scratch directory.
    let (ok, text) = run(Command::new(&scan)
        .args(["-f", "-v"])
        .arg(&bundle)
        .env("LD_LIBRARY_PATH", lib_dir)
        .env("XDG_CACHE_HOME", dir.join("cache")));
    assert!(ok, "ardour-vst3-scanner failed:\n{text}");
    assert!(text.contains("Found Plugin: Drumsort"), "Ardour found no Drumsort:\n{text}");
    let info = text
        .lines()
        .find(|line| line.contains("<VST3Info "))
        .unwrap_or_else(|| panic!("Ardour printed no VST3Info:\n{text}"));
    for attribute in [
        format!("uid=\"{VST3_UID_HEX}\""),
        "name=\"Drumsort\"".to_owned(),
        "vendor=\"Drumsort\"".to_owned(),
        "category=\"Fx|Analyzer\"".to_owned(),
        format!("version=\"{}\"", env!("CARGO_PKG_VERSION")),
        "n_inputs=\"2\"".to_owned(),
        "n_outputs=\"2\"".to_owned(),
        "n_midi_outputs=\"1\"".to_owned(),
    ] {
        assert!(info.contains(&attribute), "Ardour's VST3Info lacks {attribute}: {info}");
    }
}
