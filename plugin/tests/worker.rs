//! The plugin's worker threads driven the way the plugin drives them, without a host (see
//! `rig/mod.rs`). tests/tests/plugin_host.rs runs the same code inside the built plugin through a
//! CLAP host.

mod rig;

use std::time::Duration;

use drumsort_core::synth::Demo;
use drumsort_plugin::testing::Command;
use rig::{temp_dir, wait_until, write_wav, Rig, BLOCK, RATE};

#[test]
fn audition_plays_the_file_through_the_output_and_stops_on_request() {
    let dir = temp_dir("audition");
    let sound = Demo::ALL[1].render(RATE, 7);
    let path = dir.join("snare.wav");
    write_wav(&path, &sound);
    let mut rig = Rig::new();

    rig.shared.send(Command::Audition(path.clone()));
    // Blocks of silence in, as a host would send while the user clicks a dot.
    let (mut out_l, mut out_r) = rig.wait_for_sound(Duration::from_secs(60)).expect("the audition never started");
    while out_l.len() < sound.len() + 20 * BLOCK {
        let (l, r) = rig.silent_block();
        out_l.extend_from_slice(&l);
        out_r.extend_from_slice(&r);
    }
    assert_eq!(rig.shared.playing().as_deref(), Some(path.as_path()));
    assert_eq!(out_l, out_r, "a mono file plays on both channels");
    // The output is the file from its attack on (the decoder starts at the first onset).
    let first = sound.iter().position(|x| x.abs() > 1e-4).unwrap();
    let lead = out_l.iter().position(|x| x.abs() > 1e-4).unwrap();
    let n = 2000;
    for i in 0..n {
        let (want, got) = (sound[first + i], out_l[lead + i]);
        assert!((want - got).abs() < 1e-3, "sample {i}: played {got}, file has {want}");
    }
    let played: f32 = out_l.iter().map(|x| x * x).sum();
    let file: f32 = sound[first..].iter().map(|x| x * x).sum();
    assert!((played / file - 1.0).abs() < 0.02, "energy played {played} vs file {file}");

    // A long sample, stopped half way.
    let long: Vec<f32> = (0..RATE as usize * 3).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
    let long_path = dir.join("tone.wav");
    write_wav(&long_path, &long);
    rig.shared.send(Command::Audition(long_path));
    assert!(rig.wait_for_sound(Duration::from_secs(10)).is_some(), "the tone never started");
    rig.shared.send(Command::StopAudition);
    wait_until("the tone to stop", Duration::from_secs(10), || rig.silent_block().0.iter().all(|&x| x == 0.0));
}

#[test]
fn an_unreadable_file_is_reported_and_nothing_plays() {
    let dir = temp_dir("bad-audition");
    let path = dir.join("broken.wav");
    std::fs::write(&path, b"RIFF\x10\x00\x00\x00WAVEjunkjunk").unwrap();
    let mut rig = Rig::new();
    rig.shared.send(Command::Audition(path));
    wait_until("an error in the status line", Duration::from_secs(10), || rig.shared.status().is_some());
    assert!(rig.shared.status().unwrap().contains("broken.wav"), "{:?}", rig.shared.status());
    assert!(rig.silent_block().0.iter().all(|&x| x == 0.0));
    assert!(rig.shared.playing().is_none());
}

#[test]
fn added_folders_are_scanned_into_the_graph_and_corrections_show() {
    let dir = temp_dir("scan");
    for (i, demo) in Demo::ALL.iter().enumerate() {
        write_wav(&dir.join(format!("{:02}_{}.wav", i, demo.file_stem())), &demo.render(RATE, i as u64));
    }
    std::fs::write(dir.join("notes.wav"), b"not audio at all").unwrap();
    let rig = Rig::new();
    rig.shared.send(Command::AddPaths(vec![dir.clone()]));
    let ours = |rig: &Rig| rig.shared.library().samples.iter().filter(|s| s.path.starts_with(&dir)).count();
    wait_until("the scan to finish", Duration::from_secs(120), || {
        let scan = rig.shared.scan();
        !scan.running && scan.last_summary.is_some() && ours(&rig) == Demo::ALL.len()
    });
    let library = rig.shared.library();
    assert!(library.roots.contains(&dir), "{:?}", library.roots);
    assert!(library.errors.iter().any(|(p, _)| p.ends_with("notes.wav")), "{:?}", library.errors);
    // Every sample sits inside its class bubble.
    for s in library.samples.iter().filter(|s| s.path.starts_with(&dir)) {
        let b = library.bubbles.iter().find(|b| b.class == s.class).expect("a bubble per class");
        let d = ((s.pos[0] - b.center[0]).powi(2) + (s.pos[1] - b.center[1]).powi(2)).sqrt();
        assert!(d <= b.radius * 1.001, "{} lies outside the {:?} bubble", s.name, b.class);
    }
    // The model's classes for the demo kit are right for most sounds (the shipped model).
    let right = library
        .samples
        .iter()
        .filter(|s| s.path.starts_with(&dir))
        .filter(|s| Demo::ALL.iter().any(|d| s.name.contains(d.file_stem()) && d.class() == s.class))
        .count();
    assert!(right >= 10, "only {right} of 13 demo sounds got their class");

    let kick =
        library.samples.iter().find(|s| s.path.starts_with(&dir) && s.name.contains(Demo::Kick.file_stem())).unwrap();
    let target = if kick.class == drumsort_core::DrumClass::Tom {
        drumsort_core::DrumClass::Perc
    } else {
        drumsort_core::DrumClass::Tom
    };
    rig.shared.send(Command::Relabel(kick.path.clone(), Some(target)));
    wait_until("the correction to show", Duration::from_secs(10), || {
        rig.shared.library().samples.iter().any(|s| s.path == kick.path && s.corrected && s.class == target)
    });

    rig.shared.send(Command::FindSimilar(kick.path.clone()));
    wait_until("similar samples", Duration::from_secs(10), || rig.shared.similar().is_some());
    let similar = rig.shared.similar().unwrap();
    assert_eq!(similar.query, kick.path);
    assert!(!similar.neighbours.is_empty());
    assert!(similar.neighbours.windows(2).all(|w| w[0].1 <= w[1].1), "nearest first");
    assert!(similar.neighbours.iter().all(|(p, _)| p != &kick.path));

    rig.shared.send(Command::RemoveRoot(dir.clone()));
    wait_until("the root to go", Duration::from_secs(60), || !rig.shared.library().roots.contains(&dir));
}
