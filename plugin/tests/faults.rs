//! The plugin boundary under failure (issue 7): faults injected into the worker threads with
//! `fail` points, a sample that vanished before it is auditioned, and a corrupt library index at
//! load. In every case the failure shows in the status line, no panic leaves the worker, the
//! worker goes on serving, and `process()` keeps passing the input through bit for bit (delayed by
//! the reported latency).
//!
//! The tests run one at a time: fail points and the library index are process-wide.

mod rig;

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use drumsort_core::hits::{HitConfig, HitDetector, HitWindow};
use drumsort_core::synth::Demo;
use drumsort_plugin::testing::{Command, NoteOut};
use fail::FailScenario;
use rig::{scratch_root, temp_dir, wait_until, write_wav, Rig, BLOCK, RATE};

const WAIT: Duration = Duration::from_secs(60);

fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A block of non-silent input, different for every `seed`.
fn input_block(seed: usize) -> Vec<f32> {
    (0..BLOCK).map(|i| (((i + seed) * 7919) % 1000) as f32 / 1000.0 - 0.5).collect()
}

/// Runs `input` through `process()` as stereo, then silence until the reported latency has
/// passed, and checks that the output holds the input, bit for bit, exactly the latency later
/// (nothing is auditioning). Returns the number of note events those blocks produced.
fn assert_passes_through(rig: &mut Rig, input: &[f32]) -> usize {
    let latency = rig.rt.latency() as usize;
    let mut notes = Vec::new();
    let (mut out_l, mut out_r) = (Vec::new(), Vec::new());
    let silence = vec![0.0f32; BLOCK];
    let mut block = input;
    while out_l.len() < latency + input.len() {
        let (mut l, mut r) = (block.to_vec(), block.to_vec());
        rig.process(&mut l, &mut r, &mut notes);
        out_l.extend(l);
        out_r.extend(r);
        block = &silence;
    }
    let delayed = latency..latency + input.len();
    assert!(
        out_l[delayed.clone()] == *input && out_r[delayed] == *input,
        "process() changed the audio it should pass through (delayed by its {latency}-sample latency)"
    );
    notes.len()
}

/// Two bars of kick and snare on quarter notes at 120 bpm.
fn groove() -> Vec<f32> {
    let (kick, snare) = (Demo::Kick.render(RATE, 1), Demo::Snare.render(RATE, 2));
    let beat = RATE as usize / 2;
    let mut out = vec![0.0f32; beat * 8 + RATE as usize];
    for i in 0..8 {
        let sound = if i % 2 == 0 { &kick } else { &snare };
        out[i * beat..].iter_mut().zip(sound).for_each(|(o, s)| *o += 0.8 * s);
    }
    out
}

/// How many hit windows the detector ships for `audio` (the same detector `process()` runs).
fn windows_in(audio: &[f32]) -> usize {
    let (mut detector, mut labeler) = HitDetector::new(RATE, &HitConfig::default());
    let mut windows: Vec<HitWindow> = Vec::new();
    for block in audio.chunks(BLOCK) {
        detector.process(block);
        labeler.pop_all(&mut windows);
    }
    windows.len()
}

/// Plays `audio` through `process()` (checking pass-through), then silence until `done` or
/// `WAIT`; returns the note events.
fn play(rig: &mut Rig, audio: &[f32], mut done: impl FnMut(&Rig, usize) -> bool) -> usize {
    let latency = rig.rt.latency() as usize;
    let mut notes = Vec::new();
    let mut out = (Vec::new(), Vec::new());
    fn run(rig: &mut Rig, block: &[f32], notes: &mut Vec<NoteOut>, out: &mut (Vec<f32>, Vec<f32>)) {
        let (mut l, mut r) = (block.to_vec(), block.to_vec());
        rig.process(&mut l, &mut r, notes);
        out.0.extend(l);
        out.1.extend(r);
    }
    let played = audio.len() / BLOCK * BLOCK;
    for block in audio.chunks_exact(BLOCK) {
        run(rig, block, &mut notes, &mut out);
    }
    let silence = vec![0.0f32; BLOCK];
    let start = std::time::Instant::now();
    while !done(rig, notes.len()) || out.0.len() < latency + played {
        assert!(start.elapsed() < WAIT, "timed out; {} notes so far, status {:?}", notes.len(), rig.shared.status());
        run(rig, &silence, &mut notes, &mut out);
        std::thread::sleep(Duration::from_millis(1));
    }
    let delayed = latency..latency + played;
    assert!(
        out.0[delayed.clone()] == audio[..played] && out.1[delayed] == audio[..played],
        "process() changed the audio it should pass through (delayed by its {latency}-sample latency)"
    );
    notes.len()
}

#[test]
fn a_panic_in_a_library_command_is_contained_and_the_worker_goes_on() {
    let _serial = serial();
    let scenario = FailScenario::setup();
    let dir = temp_dir("panic-command");
    let path = dir.join("snare.wav");
    write_wav(&path, &Demo::Snare.render(RATE, 3));
    let mut rig = Rig::new();

    fail::cfg("library-command", "1*panic(injected fault)").unwrap();
    rig.shared.send(Command::Reload);
    wait_until("the failure in the status line", WAIT, || {
        rig.shared.status().is_some_and(|s| s.contains("injected fault"))
    });
    let status = rig.shared.status().unwrap();
    assert!(status.starts_with("Internal error while reading the library"), "{status}");
    assert_passes_through(&mut rig, &input_block(1));

    // The same thread serves the next command.
    rig.shared.send(Command::Audition(path));
    assert!(rig.wait_for_sound(WAIT).is_some(), "the worker stopped serving after the panic");
    scenario.teardown();
}

#[test]
fn a_panic_while_labelling_hits_counts_them_as_dropped_and_labelling_recovers() {
    let _serial = serial();
    let scenario = FailScenario::setup();
    let audio = groove();
    let expected = windows_in(&audio);
    assert!(expected >= 8, "the detector found {expected} of the groove's 8 hits");
    let mut rig = Rig::new();

    fail::cfg("hit-label", "panic(injected labeller fault)").unwrap();
    let dropped = |rig: &Rig| rig.shared.dropped_hits.load(std::sync::atomic::Ordering::Relaxed) as usize;
    let notes = play(&mut rig, &audio, |rig, _| dropped(rig) >= expected);
    assert_eq!(dropped(&rig), expected, "every hit whose labelling failed is counted once");
    assert_eq!(notes, 0, "no note for a hit that was never labelled");
    let status = rig.shared.status().unwrap_or_default();
    assert!(status.contains("injected labeller fault") && status.contains("dropped"), "{status}");

    // With the fault gone the same thread labels again: every hit gets its note-on and note-off.
    fail::remove("hit-label");
    let notes = play(&mut rig, &audio, |_, notes| notes >= 2 * expected);
    assert!(notes >= 2 * expected, "{notes} note events for {expected} hits");
    assert_eq!(dropped(&rig), expected, "no new drops once labelling works");
    scenario.teardown();
}

#[test]
fn a_worker_that_labels_after_the_notes_are_due_sends_them_late_and_counts_them() {
    let _serial = serial();
    let scenario = FailScenario::setup();
    let audio = groove();
    let expected = windows_in(&audio);
    let mut rig = Rig::new();
    let late = |rig: &Rig| rig.rt.late_notes() as usize;

    // Every labelling takes 300 ms, far past the reported latency: no hit is dropped, each still
    // gets its notes, all of them late and counted (the count the plugin shows in its editor).
    fail::cfg("hit-label", "sleep(300)").unwrap();
    let notes = play(&mut rig, &audio, |_, notes| notes >= 2 * expected);
    assert!(notes >= 2 * expected, "{notes} note events for {expected} hits");
    assert!(late(&rig) >= expected, "{} late notes for {expected} hits labelled 300 ms late", late(&rig));
    assert_eq!(rig.shared.dropped_hits.load(std::sync::atomic::Ordering::Relaxed), 0, "late is not dropped");
    fail::remove("hit-label");
    scenario.teardown();
}

#[test]
fn a_sample_deleted_after_its_scan_is_reported_when_auditioned() {
    let _serial = serial();
    let dir = temp_dir("vanished");
    let (gone, kept) = (dir.join("gone_snare.wav"), dir.join("kept_kick.wav"));
    write_wav(&gone, &Demo::Snare.render(RATE, 4));
    write_wav(&kept, &Demo::Kick.render(RATE, 5));
    let mut rig = Rig::new();
    rig.shared.send(Command::AddPaths(vec![dir.clone()]));
    wait_until("the scan", WAIT, || {
        rig.shared.library().samples.iter().filter(|s| s.path.starts_with(&dir)).count() == 2
    });

    std::fs::remove_file(&gone).unwrap();
    rig.shared.send(Command::Audition(gone.clone()));
    wait_until("the failure in the status line", WAIT, || {
        rig.shared.status().is_some_and(|s| s.contains("gone_snare.wav"))
    });
    assert!(rig.shared.status().unwrap().starts_with("Cannot play"), "{:?}", rig.shared.status());
    assert!(rig.shared.playing().is_none());
    assert_passes_through(&mut rig, &input_block(2));

    rig.shared.send(Command::Audition(kept));
    assert!(rig.wait_for_sound(WAIT).is_some(), "the next sample does not play");
}

#[test]
fn a_corrupt_index_at_load_is_set_aside_and_the_library_starts_fresh() {
    let _serial = serial();
    let root = scratch_root();
    let db = root.join("library.sqlite");
    let garbage: Vec<u8> = (0..64 * 1024).map(|i| (i * 31 % 251) as u8).collect();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(root.join(format!("library.sqlite{suffix}")));
    }
    std::fs::write(&db, &garbage).unwrap();

    let mut rig = Rig::new();
    rig.shared.send(Command::Reload);
    wait_until("the set-aside notice", WAIT, || rig.shared.status().is_some_and(|s| s.contains("is corrupt")));
    assert!(rig.shared.status().unwrap().contains("moved it to"), "{:?}", rig.shared.status());
    assert_passes_through(&mut rig, &input_block(3));
    // The damaged file is kept, byte for byte, next to the fresh index.
    let aside: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p != &db && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("library.sqlite.")))
        .filter(|p| std::fs::read(p).is_ok_and(|bytes| bytes == garbage))
        .collect();
    assert_eq!(aside.len(), 1, "the corrupt index was not kept aside: {:?}", std::fs::read_dir(&root).unwrap());

    // The fresh index works: a dropped folder is scanned into the graph.
    let dir = temp_dir("after-corruption");
    write_wav(&dir.join("clap.wav"), &Demo::Clap.render(RATE, 6));
    rig.shared.send(Command::AddPaths(vec![dir.clone()]));
    wait_until("the scan", WAIT, || rig.shared.library().samples.iter().any(|s| s.path.starts_with(&dir)));
}
