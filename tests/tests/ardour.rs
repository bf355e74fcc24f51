//! Drumsort in Ardour 7, end to end (issue 17): the built VST3 on a stereo audio track of a
//! session that Ardour's own command-line tools build, render, roll and reload.
//!
//! One session is built per run of this binary (`tests/ardour/build_session.lua`, then the drum
//! pattern written into its XML: see `drumsort_tests::ardour`), and each test works on its own
//! copy of it:
//! - (a) `ardour7-export` of the session equals the drum pattern sample for sample: the plugin
//!   delays its pass-through by exactly the latency it reports, which Ardour compensates;
//! - (b) a real-time roll records a note within 10 ms of every hit, with the class's General MIDI
//!   key, and no note away from the hits, all on the MIDI channel saved in the session;
//! - (c) `ardour7-export` of the notes (drawn as clicks by a Lua DSP after the plugin) puts every
//!   note exactly on its hit's sample, and two exports are identical;
//! - (d) after saving (with "MIDI channel" set shortly before the save) and reloading, the host's
//!   parameters and the plugin's own state chunk hold what was set. "Shortly": one block after the
//!   change, because nice-plug's VST3 wrapper applies a host's change only with the next
//!   `process()` while the plugin is processing, so a chunk saved before that block holds the old
//!   value (`tests/ardour/build_session.lua`, docs/plugin.md "Parameters and saved state").
//!
//! Ardour runs one at a time ([`one_at_a_time`]); the whole binary takes about 20 s (the real-time
//! roll 8 s of it).
//! Needs Debian's `ardour` package: `apt-get install --no-install-recommends ardour` (`.ci/run`
//! installs it); without it every test fails saying so.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

use drumsort_core::hits::{HitConfig, HitDetector, HitWindow};
use drumsort_tests::ardour::{clicks, exact_lag, Ardour, DrumSession, Env, SavedPlugin, NOTES_SNAPSHOT, SAMPLE_RATE};
use drumsort_tests::clap_host::plugin_library;

/// The MIDI channel the build script sets shortly before it saves the session.
const SAVED_CHANNEL: u8 = 5;
/// Parameters the build script sets well before saving (label, id in the plugin's state, value):
/// ones that change neither where hits are found nor their keys.
const SET_EARLY: [(&str, &str, f64); 2] =
    [("Note length", "note-length", 80.0), ("Velocity floor", "velocity-floor", -48.0)];
/// How far a note of the real-time roll may be from its hit: 10 ms.
const ROLL_TOLERANCE: u64 = SAMPLE_RATE as u64 / 100;

/// Taken by every test: one Ardour process at a time. The real-time roll must not share the two
/// cores with an export, and all Ardour processes share one scratch home (configuration, plugin
/// scan cache).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    // A test that failed while holding it must not fail the others.
    ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A fresh directory under cargo's per-target scratch space, `target/tmp/ardour/`.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ardour").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("cannot create a scratch directory");
    dir
}

struct Setup {
    env: Env,
    session: DrumSession,
}

/// The scratch home and the built session, made once by the first test that asks (under
/// [`one_at_a_time`]); a failure fails every test with the same message.
fn setup() -> &'static Setup {
    static SETUP: OnceLock<Result<Setup, String>> = OnceLock::new();
    let built = SETUP.get_or_init(|| {
        std::panic::catch_unwind(|| {
            let ardour = Ardour::find();
            let env = Env::new(ardour, &scratch_dir("home"), plugin_library());
            let session = DrumSession::build(&env, &scratch_dir("built"), "drumsort");
            Setup { env, session }
        })
        .map_err(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "unknown panic".to_owned())
        })
    });
    match built {
        Ok(setup) => setup,
        Err(message) => panic!("could not build the Ardour session: {message}"),
    }
}

/// Where the plugin finds each hit of the session's pattern (its own detector, with the default
/// settings the session keeps, on the mono mix it makes): the samples its notes belong at.
///
/// In Ardour the detector starts counting when the plugin is activated, not at the session's
/// start, so its hop grid falls anywhere on the pattern: the hits must not depend on where.
fn detected_hits(session: &DrumSession) -> Vec<u64> {
    let [left, right] = &session.pattern.audio;
    let mono: Vec<f32> = left.iter().zip(right).map(|(l, r)| (l + r) * 0.5).collect();
    let at_phase = |lead: usize| -> Vec<u64> {
        let (mut detector, mut labeler) = HitDetector::new(SAMPLE_RATE, &HitConfig::default());
        let mut windows: Vec<HitWindow> = Vec::new();
        let audio: Vec<f32> = std::iter::repeat_n(0.0, lead)
            .chain(mono.iter().copied())
            .chain(std::iter::repeat_n(0.0, SAMPLE_RATE as usize / 2))
            .collect();
        for block in audio.chunks(session.block as usize) {
            detector.process(block);
            labeler.pop_all(&mut windows);
        }
        windows.iter().map(|w| w.sample - lead as u64).collect()
    };
    let hits = at_phase(0);
    for lead in [1, 50, 97, 500, 1023] {
        assert_eq!(at_phase(lead), hits, "the detector's hits move with the phase of its hop grid ({lead} samples)");
    }
    hits
}

// ---------------------------------------------------------------------------------------------
// (a) Audio
// ---------------------------------------------------------------------------------------------

#[test]
fn ardour_export_of_the_drum_track_equals_its_input_sample_for_sample() {
    let _alone = one_at_a_time();
    let Setup { env, session } = setup();
    let dir = scratch_dir("export-audio");
    let copy = session.copy_to(&dir);
    let out = env.export(&copy, &session.name, &dir.join("drums.wav"));
    let input = &session.pattern.audio;

    assert_eq!(out[0].len(), input[0].len(), "the export is not the session range long");
    let differs = |c: usize, n: usize| out[c][n].to_bits() != input[c][n].to_bits();
    let Some((channel, n)) = (0..out[0].len()).flat_map(|n| [(0, n), (1, n)]).find(|&(c, n)| differs(c, n)) else {
        return;
    };
    let latency = i64::from(session.latency);
    let shift = match exact_lag(&out, input, 2 * latency) {
        Some(k) => format!(
            "the export is the input shifted: out[n] == in[n + {k}], {} ms {} (the plugin reports {latency} \
             samples of latency, which Ardour compensates)",
            k.abs() as f64 * 1000.0 / f64::from(SAMPLE_RATE),
            if k > 0 { "early" } else { "late" }
        ),
        None => format!("and it is not the input shifted by any lag within {}", 2 * latency),
    };
    panic!(
        "the exported drum track differs from its input first at channel {channel}, sample {n} ({} vs {}); {shift}",
        out[channel][n], input[channel][n]
    );
}

// ---------------------------------------------------------------------------------------------
// (c) Notes, offline
// ---------------------------------------------------------------------------------------------

/// `ardour7-export` renders in freewheel. Ardour 7.3 tells a VST3 so only through each
/// `process()` call's `ProcessData::processMode` (`kOffline`): it calls `setupProcessing` once, when
/// it loads the plugin, with `kRealtime`, and not again for an export (seen under gdb).
#[test]
fn ardour_offline_export_puts_every_note_on_its_hit_twice_identically() {
    let _alone = one_at_a_time();
    let Setup { env, session } = setup();
    let hits = detected_hits(session);
    assert_eq!(hits.len(), session.pattern.hits.len(), "the plugin's detector should find each hit once: {hits:?}");
    let dir = scratch_dir("export-notes");
    let copy = session.copy_to(&dir);
    let runs: Vec<_> =
        (1..=2).map(|i| clicks(&env.export(&copy, NOTES_SNAPSHOT, &dir.join(format!("notes-{i}.wav"))))).collect();

    for (run, notes) in runs.iter().enumerate() {
        let at: Vec<u64> = notes.iter().map(|click| click.sample).collect();
        // How far each note is from its hit (the one at the same place in the list when there are
        // as many notes as hits, else the nearest): what went wrong at a glance.
        let offsets: Vec<i64> = at
            .iter()
            .enumerate()
            .map(|(i, &sample)| {
                let hit = if at.len() == hits.len() {
                    hits[i]
                } else {
                    *hits.iter().min_by_key(|&&h| h.abs_diff(sample)).expect("hits")
                };
                sample as i64 - hit as i64
            })
            .collect();
        assert!(
            at == hits,
            "export {}: the notes should be exactly on the hits {hits:?} (the plugin's latency, {} samples, \
             compensated); they are at {at:?}, this far from their hits: {offsets:?}",
            run + 1,
            session.latency
        );
    }
    assert_eq!(runs[0], runs[1], "two offline exports of the same session gave different notes");
}

// ---------------------------------------------------------------------------------------------
// (b) Notes, real time
// ---------------------------------------------------------------------------------------------

#[test]
fn ardour_real_time_roll_records_each_hits_note_with_its_key_on_the_saved_channel() {
    let _alone = one_at_a_time();
    let Setup { env, session } = setup();
    let hits = detected_hits(session);
    let dir = scratch_dir("roll");
    let copy = session.copy_to(&dir);
    // The pattern, the latency and half a second more.
    let seconds = (session.pattern.len() as f64 + f64::from(session.latency)) / f64::from(SAMPLE_RATE) + 0.5;
    let roll = env.lua(
        "roll.lua",
        &[copy.as_os_str(), OsStr::new(&session.name), OsStr::new(&format!("{seconds:.2}"))],
        || (),
    );
    let rolled: u64 = roll.value("rolled").parse().expect("rolled");
    assert!(rolled >= session.pattern.len() as u64, "the transport stopped at {rolled}, before the pattern's end");
    assert_eq!(roll.all("region"), ["0 0"], "one recorded region, from the session's start:\n{}", roll.text);
    // (sample, channel, key, velocity)
    let notes: Vec<(u64, u8, u8, u8)> = roll
        .all("note")
        .iter()
        .map(|line| {
            let v: Vec<u64> = line.split(' ').map(|x| x.parse().expect("a note field")).collect();
            (v[0], v[1] as u8, v[2] as u8, v[3] as u8)
        })
        .collect();

    // The plugin sends a note for each class it hears in a hit (a snare can also be heard as a hat):
    // every hit needs the note of its own class; more notes on it are allowed.
    let mut report = Vec::new();
    for (&hit, &(placed, class)) in hits.iter().zip(&session.pattern.hits) {
        let near: Vec<_> = notes.iter().filter(|n| n.0.abs_diff(hit) <= ROLL_TOLERANCE).collect();
        let key = class.gm_note().expect("a drum class has a key");
        if near.is_empty() {
            report.push(format!("no note within 10 ms of the {class:?} at {hit} (placed at {placed})"));
        } else if !near.iter().any(|n| n.2 == key) {
            report.push(format!("no note of the {class:?} at {hit} has its key {key}: {near:?}"));
        }
    }
    let stray: Vec<_> = notes.iter().filter(|n| hits.iter().all(|&h| n.0.abs_diff(h) > ROLL_TOLERANCE)).collect();
    if !stray.is_empty() {
        report.push(format!("notes more than 10 ms from every hit: {stray:?}"));
    }
    assert!(report.is_empty(), "{}\nall notes (sample, channel, key, velocity): {notes:?}", report.join("\n"));
    let channels: Vec<u8> = notes.iter().map(|n| n.1).collect();
    assert!(
        channels.iter().all(|&c| c == SAVED_CHANNEL),
        "every note should be on MIDI channel {SAVED_CHANNEL}, the channel saved in the session; the notes' \
         channels: {channels:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// (d) Save and reload
// ---------------------------------------------------------------------------------------------

#[test]
fn ardour_save_and_reload_keep_the_parameters_and_the_plugin_state() {
    let _alone = one_at_a_time();
    let Setup { env, session } = setup();
    let dir = scratch_dir("reload");
    let copy = session.copy_to(&dir);
    let read = |snapshot: &str| {
        let path = copy.join(format!("{snapshot}.ardour"));
        let xml = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
        SavedPlugin::read(&xml, "Drumsort")
    };
    let saved = read(&session.name);
    let reload = env.lua("reload.lua", &[copy.as_os_str(), OsStr::new(&session.name), OsStr::new("resaved")], || ());
    assert_eq!(reload.value("saved"), "resaved");
    let resaved = read("resaved");

    let mut wrong = Vec::new();
    // What the host shows after the reload.
    let params: Vec<(&str, f64)> = reload
        .all("param")
        .iter()
        .map(|line| {
            let (label, value) = line.rsplit_once('=').expect("label=value");
            (label, value.parse().expect("a parameter value"))
        })
        .collect();
    let param = |label: &str| params.iter().find(|(l, _)| *l == label).map(|(_, v)| *v);
    for (label, _, want) in SET_EARLY.iter().copied().chain([("MIDI channel", "channel", f64::from(SAVED_CHANNEL))]) {
        match param(label) {
            Some(got) if (got - want).abs() < 1e-3 => {}
            got => wrong.push(format!("after the reload the host reads {label:?} = {got:?}, not {want}")),
        }
    }
    // What the plugin itself saved, before and after the reload.
    for (which, plugin) in [("saved", &saved), ("saved again after the reload", &resaved)] {
        let state = plugin.state_json();
        let got = &state["params"]["channel"];
        let want = serde_json::json!({ "i32": SAVED_CHANNEL });
        if *got != want {
            wrong.push(format!(
                "the plugin's own state chunk {which} has the MIDI channel {got}, not {want}, which the host set \
                 before saving"
            ));
        }
        for (label, id, value) in SET_EARLY {
            let (got, want) = (&state["params"][id], serde_json::json!({ "f32": value }));
            if *got != want {
                wrong.push(format!("the plugin's own state chunk {which} has {label:?} {got}, not {want}"));
            }
        }
    }
    let (before, after) = (saved.state_json(), resaved.state_json());
    if before != after {
        wrong
            .push(format!("the plugin's state changed across save and reload:\nsaved:    {before}\nreloaded: {after}"));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
