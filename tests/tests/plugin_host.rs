//! Host-level tests of the plugin binary hosts actually load: the `drumsort-plugin` cdylib.
//!
//! An in-process CLAP host (clack-host) checks what a DAW sees when it scans and runs the plugin,
//! and the scanners Qtractor (CLAP) and Ardour (VST3) ship check the same binary from outside.
//!
//! Which binary, and how the host is set up: see `drumsort_tests::clap_host` (`$DRUMSORT_PLUGIN_LIB`
//! or the cdylib of this test binary's profile, rebuilt first; a scratch library index).
//!
//! Debug builds of the plugin abort on any allocation inside `process()` (the plugin's
//! `assert_process_allocs` feature), which takes this test binary down with SIGABRT and
//! "memory allocation of N bytes failed": that, too, is a failure of the plugin.
//!
//! The scanner tests need the hosts' scanners and fail, saying how to install them, when they are
//! missing: `apt-get install --no-install-recommends qtractor ardour` on Debian 12 (`.ci/run`
//! does this).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clack_extensions::audio_ports::{AudioPortInfoBuffer, PluginAudioPorts};
use clack_extensions::latency::PluginLatency;
use clack_extensions::note_ports::{NoteDialect, NotePortInfoBuffer, PluginNotePorts};
use clack_host::events::event_types::NoteOnEvent;
use clack_host::events::Match;
use clack_host::prelude::Event as _;
use clack_host::prelude::PluginInstance;
use drumsort_core::DrumClass;
use drumsort_tests::clap_host::{
    activate, instantiate, load_entry, load_state, noise, plugin_library, save_state, set_offline, StereoProcessor,
    TestHost, CLAP_ID, SAMPLE_RATE,
};
use drumsort_tests::drum_pattern;

/// `Vst3Plugin::VST3_CLASS_ID` (`*b"DrumsortPlugin01"`) as hex, the way Ardour prints it.
const VST3_UID_HEX: &str = "4472756D736F7274506C7567696E3031";
const MAX_BLOCK: u32 = 512;
/// Block lengths a host might send, including a full block, odd lengths and a single sample.
const BLOCKS: [usize; 7] = [512, 512, 333, 1, 512, 64, 511];

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
fn clap_process_passes_audio_through_bit_exact_delayed_by_the_reported_latency() {
    let entry = load_entry();
    let mut instance = instantiate(&entry);
    let processor = activate(&mut instance, MAX_BLOCK);
    let latency = reported_latency(&mut instance) as usize;

    // Host block lengths in a cycle until well past the latency, so the output holds both the
    // delay's initial silence and the delayed input.
    let mut blocks = Vec::new();
    let mut total = 0;
    for &block in BLOCKS.iter().cycle() {
        if total > latency + 4 * MAX_BLOCK as usize {
            break;
        }
        blocks.push(block);
        total += block;
    }
    let input = [noise(total, 0x1234_5678), noise(total, 0x9abc_def1)];

    // The CLAP spec lets a host call process() from any thread but the main one.
    let (processor, output, emitted_events) = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let mut processor = StereoProcessor::start(processor);
                let mut output = [Vec::with_capacity(total), Vec::with_capacity(total)];
                let mut emitted_events = 0;
                let mut start = 0;
                for &block in &blocks {
                    let range = start..start + block;
                    let mut in_l = input[0][range.clone()].to_vec();
                    let mut in_r = input[1][range].to_vec();
                    // NaN sentinels: a plugin that forgot to write its output fails the test.
                    let mut out_l = vec![f32::NAN; block];
                    let mut out_r = vec![f32::NAN; block];
                    emitted_events +=
                        processor.process([&mut in_l, &mut in_r], [&mut out_l, &mut out_r], start as u64).len();
                    output[0].extend_from_slice(&out_l);
                    output[1].extend_from_slice(&out_r);
                    start += block;
                }
                (processor.stop(), output, emitted_events)
            })
            .join()
            .expect("the audio thread panicked")
    });
    instance.deactivate(processor);

    // A host compensates the reported latency by playing this track that much earlier, so the
    // output must be the input exactly that late: out[n] == in[n - latency], silence before.
    for (channel, (got, input)) in output.iter().zip(&input).enumerate() {
        assert_eq!(got.len(), input.len());
        let want = |i: usize| if i < latency { 0.0 } else { input[i - latency] };
        if let Some(i) = (0..got.len()).find(|&i| got[i].to_bits() != want(i).to_bits()) {
            let early = (1..=latency.min(i)).find(|&d| got[i].to_bits() == input[i - latency + d].to_bits());
            panic!(
                "channel {channel}, sample {i}: output {} differs from the input {latency} samples \
                 earlier ({}); the pass-through must be the input delayed by exactly the reported \
                 latency, bit for bit{}",
                got[i],
                want(i),
                early.map(|d| format!(" (it matches the input {d} samples later)")).unwrap_or_default()
            );
        }
    }
    assert_eq!(emitted_events, 0, "noise with no attack in it is not a drum hit");
}

/// The latency the activated `instance` reports, samples.
fn reported_latency(instance: &mut PluginInstance<TestHost>) -> u32 {
    let handle = instance.plugin_handle();
    handle.get_extension::<PluginLatency>().expect("the plugin reports no latency extension").get(&handle)
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

/// Runs `input` (mono, played on both channels) through an activated instance in 256-sample
/// blocks as a DAW's offline bounce does (the render extension set to offline, blocks as fast as
/// the plugin returns them) and returns the note-ons `(absolute sample, key, velocity)` and the
/// latency the plugin reported. Offline the plugin waits for its labeller, so the notes do not
/// depend on this machine's speed.
fn run_for_notes(input: &[f32]) -> (Vec<(u64, u16, f64)>, u32) {
    run_for_notes_with(input, &[])
}

/// [`run_for_notes`] with parameters set first, as a saved session would: `(id, value)` pairs
/// in the state's JSON form (e.g. `("gate", {"f32": -30.0})`).
fn run_for_notes_with(input: &[f32], params: &[(&str, serde_json::Value)]) -> (Vec<(u64, u16, f64)>, u32) {
    const BLOCK: usize = 256;
    let entry = load_entry();
    let mut instance = instantiate(&entry);
    if !params.is_empty() {
        let mut state = save_state(&mut instance);
        for (id, value) in params {
            assert!(state["params"].get(*id).is_some(), "no parameter {id}");
            state["params"][*id] = value.clone();
        }
        load_state(&mut instance, &serde_json::to_vec(&state).unwrap()).expect("loading the parameters failed");
    }
    set_offline(&mut instance, true);
    let processor = activate(&mut instance, BLOCK as u32);
    let latency = reported_latency(&mut instance);
    let (processor, notes) = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let mut processor = StereoProcessor::start(processor);
                let mut notes = Vec::new();
                let tail = vec![0.0f32; latency as usize + 2 * BLOCK];
                let all: Vec<f32> = input.iter().chain(&tail).copied().collect();
                for (b, chunk) in all.chunks(BLOCK).enumerate() {
                    let start = (b * BLOCK) as u64;
                    let (mut in_l, mut in_r) = (chunk.to_vec(), chunk.to_vec());
                    let (mut out_l, mut out_r) = (vec![0.0f32; chunk.len()], vec![0.0f32; chunk.len()]);
                    for event in processor.process([&mut in_l, &mut in_r], [&mut out_l, &mut out_r], start) {
                        if let Some(on) = event.as_event::<NoteOnEvent>() {
                            if let Match::Specific(key) = on.key() {
                                notes.push((start + u64::from(on.header().time()), key, on.velocity()));
                            }
                        }
                    }
                }
                (processor.stop(), notes)
            })
            .join()
            .expect("the audio thread panicked")
    });
    instance.deactivate(processor);
    (notes, latency)
}

/// How far a note may be from its hit plus the reported latency: 5 ms.
const NOTE_TOLERANCE: u64 = SAMPLE_RATE as u64 * 5 / 1000;

/// The notes `(sample, key, velocity)` that are not at any of `hits` plus `latency` (within
/// [`NOTE_TOLERANCE`]).
fn stray_notes<'a>(
    notes: &'a [(u64, u16, f64)],
    hits: &[(usize, DrumClass)],
    latency: u32,
) -> Vec<&'a (u64, u16, f64)> {
    let at_a_hit = |t: u64| hits.iter().any(|&(at, _)| t.abs_diff(at as u64 + u64::from(latency)) <= NOTE_TOLERANCE);
    notes.iter().filter(|(t, _, _)| !at_a_hit(*t)).collect()
}

#[test]
fn clap_labels_a_drum_pattern_with_notes_at_the_hits_plus_the_reported_latency() {
    let (hits, audio) = drum_pattern();
    let (notes, latency) = run_for_notes(&audio);
    let rate = SAMPLE_RATE as u64;
    assert!((rate / 50..=rate / 5).contains(&u64::from(latency)), "latency {latency} samples is outside 20..200 ms");
    let mut right = 0;
    for &(at, class) in &hits {
        let due = at as u64 + u64::from(latency);
        let near: Vec<_> = notes.iter().filter(|(t, _, _)| t.abs_diff(due) <= NOTE_TOLERANCE).collect();
        assert!(!near.is_empty(), "no note within 5 ms of {due} (hit at {at}, {class:?}); notes: {notes:?}");
        if near.iter().any(|(_, key, _)| u8::try_from(*key).ok() == class.gm_note()) {
            right += 1;
        }
        assert!(near.iter().all(|(_, _, v)| (0.0..=1.0).contains(v) && *v > 0.0));
    }
    // Every note belongs to a hit: no notes from the decays between hits.
    let stray = stray_notes(&notes, &hits, latency);
    assert!(stray.is_empty(), "notes (sample, key, velocity) matching no hit: {stray:?}");
    assert!(right >= 6, "only {right} of {} hits got their General MIDI key: {notes:?}", hits.len());
}

#[test]
fn clap_gate_parameter_silences_the_hiss_of_a_noisy_recording_and_keeps_its_hits() {
    let (hits, mut audio) = drum_pattern();
    // White noise at -25 dBFS RMS: tape hiss on a lo-fi loop, pushed up.
    let hiss = drumsort_core::synth::white_noise(audio.len(), -25.0, 3);
    for (v, n) in audio.iter_mut().zip(hiss) {
        *v += n;
    }
    let (notes, latency) = run_for_notes(&audio);
    assert!(
        !stray_notes(&notes, &hits, latency).is_empty(),
        "at the default gate the hiss makes notes between the hits: {notes:?}"
    );
    let (notes, latency) = run_for_notes_with(&audio, &[("gate", serde_json::json!({"f32": -18.0}))]);
    assert_eq!(
        stray_notes(&notes, &hits, latency).len(),
        0,
        "with the gate above the hiss every note is a hit: {notes:?}"
    );
    for &(at, class) in &hits {
        let due = at as u64 + u64::from(latency);
        assert!(notes.iter().any(|(t, _, _)| t.abs_diff(due) <= NOTE_TOLERANCE), "no note for the {class:?} at {at}");
    }
}

#[test]
fn clap_offline_bounce_gives_the_same_notes_at_the_hits_plus_the_latency_twice() {
    let (hits, audio) = drum_pattern();
    let (first, latency) = run_for_notes(&audio);
    let (second, _) = run_for_notes(&audio);
    assert_eq!(first, second, "two offline bounces of the same audio gave different notes");
    // Blocks came as fast as the plugin returned them, far faster than real time: only a plugin
    // that waits for its labeller offline has a note for every hit, none of them late.
    let mut times: Vec<u64> = first.iter().map(|n| n.0).collect();
    times.dedup();
    assert_eq!(times.len(), hits.len(), "notes at one time per hit (a hit may name two drums): {first:?}");
    for &(at, class) in &hits {
        let due = at as u64 + u64::from(latency);
        assert!(
            first.iter().any(|(t, _, _)| t.abs_diff(due) <= NOTE_TOLERANCE),
            "no note within 5 ms of {due} for the {class:?} at {at}: {first:?}"
        );
    }
}

/// The CLAP id and the plain value range of the parameter the host lists as `name`.
fn param_by_name(instance: &mut PluginInstance<TestHost>, name: &str) -> (u32, f64, f64) {
    use clack_extensions::params::{ParamInfoBuffer, PluginParams};
    let handle = instance.plugin_handle();
    let params = handle.get_extension::<PluginParams>().expect("the plugin has no params extension");
    let mut buffer = ParamInfoBuffer::new();
    (0..params.count(&handle))
        .filter_map(|i| {
            params.get_info(&handle, i, &mut buffer).map(|p| (p.id.get(), p.name.to_vec(), p.min_value, p.max_value))
        })
        .find(|(_, n, _, _)| n.split(|&b| b == 0).next() == Some(name.as_bytes()))
        .map(|(id, _, min, max)| (id, min, max))
        .unwrap_or_else(|| panic!("the plugin lists no parameter {name:?}"))
}

#[test]
fn clap_state_saved_right_after_a_host_parameter_change_holds_the_new_value() {
    use clack_host::events::event_types::ParamValueEvent;
    use clack_host::events::Pckn;
    use clack_host::prelude::{EventBuffer, InputEvents};
    let entry = load_entry();
    let mut instance = instantiate(&entry);
    // "MIDI channel" 1..=16 is a stepped parameter: nice-plug lists it as 0..=15.
    let (id, min, max) = param_by_name(&mut instance, "MIDI channel");
    assert_eq!((min, max), (0.0, 15.0));
    let to_channel = |channel: u8| f64::from(channel - 1);

    // Inactive: the host flushes the change on the main thread and saves at once.
    {
        use clack_extensions::params::PluginParams;
        let mut events = EventBuffer::new();
        events.push(&ParamValueEvent::new(0, clack_host::prelude::ClapId::new(id), Pckn::match_all(), to_channel(5)));
        let handle = instance.plugin_handle();
        let params = handle.get_extension::<PluginParams>().expect("the plugin has no params extension");
        let mut inactive = instance.inactive_plugin_handle().expect("the instance is inactive");
        params.flush(&mut inactive, &InputEvents::from_buffer(&events), &mut clack_host::prelude::OutputEvents::void());
    }
    assert_eq!(save_state(&mut instance)["params"]["channel"], serde_json::json!({"i32": 5}));

    // Active: the change arrives with a block, and the host saves right after that block.
    let processor = activate(&mut instance, MAX_BLOCK);
    let processor = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let mut processor = StereoProcessor::start(processor);
                let mut events = EventBuffer::new();
                events.push(&ParamValueEvent::new(
                    0,
                    clack_host::prelude::ClapId::new(id),
                    Pckn::match_all(),
                    to_channel(7),
                ));
                let (mut l, mut r) = (vec![0.0f32; 64], vec![0.0f32; 64]);
                let (mut ol, mut or) = (vec![0.0f32; 64], vec![0.0f32; 64]);
                processor.process_with_events(
                    [&mut l, &mut r],
                    [&mut ol, &mut or],
                    0,
                    &InputEvents::from_buffer(&events),
                );
                processor.stop()
            })
            .join()
            .expect("the audio thread panicked")
    });
    let saved = save_state(&mut instance);
    instance.deactivate(processor);
    assert_eq!(saved["params"]["channel"], serde_json::json!({"i32": 7}));

    // And a new instance loaded from that state sends on channel 7.
    let mut reloaded = instantiate(&entry);
    load_state(&mut reloaded, &serde_json::to_vec(&saved).unwrap()).expect("loading the state failed");
    assert_eq!(save_state(&mut reloaded)["params"]["channel"], serde_json::json!({"i32": 7}));
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
    let flags = lines[0].split('|').nth(5).unwrap_or_default();
    assert!(flags.split(',').any(|f| f == "GUI"), "Qtractor should see an editor (GUI flag): {}", lines[0]);
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
