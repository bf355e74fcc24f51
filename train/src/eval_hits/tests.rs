//! Tests of the hit-path evaluation.

use super::*;

#[test]
fn matching_is_one_to_one_within_tolerance() {
    let truth = [1.0, 1.1, 2.0, 3.0];
    let found = [0.98, 1.02, 1.12, 2.5, 3.03];
    // 0.98 takes 1.0, 1.02 cannot take 1.0 again but reaches nothing else within 30 ms...
    let pairs = match_times(&found, &truth, 0.03);
    assert_eq!(pairs, vec![(0, 0), (2, 1), (4, 3)]);
    let s = Score::from_counts(pairs.len(), found.len() - pairs.len(), truth.len() - pairs.len());
    assert_eq!((s.tp, s.fp, s.fn_), (3, 2, 1));
    assert!((s.precision - 0.6).abs() < 1e-12 && (s.recall - 0.75).abs() < 1e-12);
    // The greedy sweep finds the larger matching where nearest-first would not.
    assert_eq!(match_times(&[1.0, 1.04], &[0.98, 1.02], 0.03).len(), 2);
    // Nothing predicted for a class that was played: precision 0, not 1.
    let none = Score::from_counts(0, 0, 5);
    assert_eq!((none.precision, none.recall, none.f1), (0.0, 0.0, 0.0));
    assert_eq!(Score::from_counts(0, 0, 0).f1, 1.0);
}

/// A folder with one track of demo kicks at 0.5, 1.0 and 1.5 s, annotated at `annotated`.
fn kick_set(dir: &Path, annotated: &[f64]) {
    std::fs::create_dir_all(dir).unwrap();
    let mut kick = drumsort_core::synth::Demo::Kick.render(44_100, 1);
    // The render stops at 0.5 s at -27 dB: fade it, or the cut is a click (an onset).
    let n = kick.len();
    kick.iter_mut().skip(n - 2205).enumerate().for_each(|(i, v)| *v *= 1.0 - i as f32 / 2205.0);
    let mut audio = vec![0f32; 132_300];
    for start in [22_050, 44_100, 66_150] {
        for (o, &k) in audio[start..].iter_mut().zip(&kick) {
            *o += 0.5 * k;
        }
    }
    let hits: Vec<(f64, DrumClass)> = annotated.iter().map(|&t| (t, DrumClass::Kick)).collect();
    let kits = vec![std::sync::Arc::from("kit"); hits.len()];
    crate::performances::write_track(dir, "t", &audio, &hits, &kits).unwrap();
}

#[test]
fn several_sets_are_each_scored_then_averaged() {
    let root = std::env::temp_dir().join(format!("drumsort-eval-hits-{}", std::process::id()));
    let (all, two) = (root.join("all"), root.join("two"));
    kick_set(&all, &[0.5, 1.0, 1.5]);
    // One kick not annotated: an extra onset, precision 2/3, F1 0.8.
    kick_set(&two, &[0.5, 1.0]);
    let args = |data: Vec<PathBuf>| EvalHitsArgs {
        data,
        tolerance_ms: 30.0,
        json: Some(root.join("out.json")),
        model: PathBuf::from("unused"),
        lookahead_ms: vec![50.0],
        exact_lookahead: false,
        sensitivity: 0.5,
        gate_db: GATE_DBFS,
        block: 512,
        onsets_only: true,
        details: false,
    };
    let written = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(root.join("out.json")).unwrap()).unwrap()
    };
    run(args(vec![all.clone(), two.clone()])).unwrap();
    let json = written();
    let f1 = |set: usize| json["sets"][set]["onsets"]["f1"].as_f64().unwrap();
    assert_eq!(json["sets"][0]["data"], all.to_string_lossy().as_ref());
    assert_eq!(json["sets"][0]["tracks"][0]["kit"], "kit", "the kit make-performances wrote");
    assert_eq!(f1(0), 1.0);
    assert!((f1(1) - 0.8).abs() < 1e-9, "{}", f1(1));
    assert!((json["mean_f1"]["onsets"].as_f64().unwrap() - 0.9).abs() < 1e-9);
    // Pooled over both sets' tracks: tp 5, fp 1, fn 0.
    assert_eq!(json["pooled"]["tracks"], 2);
    assert!((json["pooled"]["f1"]["onsets"].as_f64().unwrap() - 10.0 / 11.0).abs() < 1e-9);
    let interval = &json["pooled"]["f1_interval_95"]["onsets"];
    assert!(interval[0].as_f64().unwrap() >= 0.8 - 1e-9 && interval[1].as_f64().unwrap() == 1.0, "{interval}");
    // One set: the report itself, as before several were possible.
    run(args(vec![two.clone()])).unwrap();
    let json = written();
    assert_eq!(json["onsets"]["fp"], 1);
    assert_eq!(json["data"], two.to_string_lossy().as_ref());
    assert!(json.get("sets").is_none() && json.get("mean_f1").is_none());
    // Every folder is checked before any is scored: with an undecodable track in the first
    // set and the second missing, the error is the missing folder, not the decoding.
    let broken = root.join("broken");
    kick_set(&broken, &[0.5]);
    std::fs::write(broken.join("t.wav"), b"RIFF not a wave file").unwrap();
    assert!(run(args(vec![broken.clone()])).is_err(), "the broken track alone fails to decode");
    let err = run(args(vec![broken, root.join("missing")])).unwrap_err();
    assert!(format!("{err:#}").contains("missing"), "{err:#}");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn intervals_resample_tracks_and_narrow_as_tracks_agree() {
    let track = |tp, fp, fn_| TrackCounts {
        kit: String::new(),
        onsets: Score::from_counts(tp, fp, fn_),
        per_class: BTreeMap::from([(DrumClass::Snare, Score::from_counts(tp, 0, fn_))]),
    };
    // Twelve tracks alike: every resample pools to the same F1.
    let alike = vec![track(9, 1, 1); 12];
    let (lo, hi) = f1_interval(&alike, None);
    assert!((lo - 0.9).abs() < 1e-12 && (hi - 0.9).abs() < 1e-12, "[{lo}, {hi}]");
    // Half the tracks' snares all found, half all missed: pooled F1 0.67, and which tracks a
    // resample draws moves it a lot.
    let split: Vec<TrackCounts> = (0..12).map(|i| if i % 2 == 0 { track(10, 0, 0) } else { track(0, 0, 10) }).collect();
    let pooled = pool(&split).get(Some(DrumClass::Snare)).f1;
    assert!((pooled - 2.0 / 3.0).abs() < 1e-12, "{pooled}");
    let (lo, hi) = f1_interval(&split, Some(DrumClass::Snare));
    assert!(lo < 0.55 && hi > 0.75 && lo < pooled && pooled < hi, "[{lo}, {hi}]");
    assert_eq!(f1_interval(&split, Some(DrumClass::Snare)), (lo, hi), "seeded: the same every run");
    // A class no track plays or names has no counts: perfect whatever is drawn.
    assert_eq!(f1_interval(&split, Some(DrumClass::Ride)), (1.0, 1.0));
    let json = intervals(&split);
    assert_eq!(json.keys().collect::<Vec<_>>(), ["onsets", "snare"]);
}

#[test]
fn simultaneous_annotations_are_one_onset_and_classes_score_separately() {
    let truth = vec![(1.0, DrumClass::Kick), (1.0, DrumClass::ClosedHat), (1.5, DrumClass::Snare)];
    let found = vec![(1.004, vec![DrumClass::Kick]), (1.51, vec![DrumClass::Snare, DrumClass::Clap])];
    let r = score_track("t".into(), &truth, &found, 0.03, true);
    assert_eq!((r.onsets.tp, r.onsets.fp, r.onsets.fn_), (2, 0, 0));
    assert_eq!((r.per_class[&DrumClass::Kick].tp, r.per_class[&DrumClass::Kick].fn_), (1, 0));
    assert_eq!(r.per_class[&DrumClass::ClosedHat].fn_, 1);
    assert_eq!(r.per_class[&DrumClass::Clap].fp, 1);
    assert!((r.errors[0] - 0.004).abs() < 1e-9 && (r.errors[1] - 0.01).abs() < 1e-9);
    // `--details`: the hat under the kick missed with only the kick named; the clap a false note
    // where a snare was played.
    assert_eq!(r.confusions.into_iter().collect::<Vec<_>>(), vec![((DrumClass::ClosedHat, DrumClass::ClosedHat), 1)]);
    assert_eq!(r.false_notes.into_iter().collect::<Vec<_>>(), vec![((DrumClass::Clap, "snare".to_string()), 1)]);
    let truth = vec![(2.0, DrumClass::ClosedHat), (2.002, DrumClass::Kick)];
    let r = score_track("t".into(), &truth, &[(2.0, vec![DrumClass::Snare, DrumClass::Kick])], 0.03, true);
    assert_eq!(
        r.false_notes.into_iter().collect::<Vec<_>>(),
        vec![((DrumClass::Snare, "kick+closed_hat".to_string()), 1)]
    );
}

#[test]
fn a_track_has_the_kit_its_annotations_name() {
    let dir = std::env::temp_dir().join(format!("drumsort-eval-hits-kits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let read = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        read_annotations(&path)
    };
    let (hits, kit) = read("one.csv", "time_s,class,kit\n1.5,snare,MuldjordKit\n0.5,kick,MuldjordKit\n").unwrap();
    assert_eq!(hits, vec![(0.5, DrumClass::Kick), (1.5, DrumClass::Snare)]);
    assert_eq!(kit, "MuldjordKit");
    // A kit borrowing other pieces is still the kit of its kick, snare and hat; a kick and a
    // snare from two kits are several.
    let borrowing = "time_s,class,kit\n0.5,kick,a\n1.0,snare,a\n1.2,shaker,b\n1.5,shaker,b\n";
    assert_eq!(read("borrow.csv", borrowing).unwrap().1, "a");
    let (_, kit) = read("three.csv", "time_s,class,kit\n0.5,kick,a\n1.0,snare,b\n1.5,rim,a\n").unwrap();
    assert_eq!(kit, SEVERAL_KITS);
    // Sets made before the column existed, and `--kind any` (no kit names), have no kit.
    assert_eq!(read("old.csv", "time_s,class\n0.5,kick\n").unwrap().1, "");
    assert_eq!(read("any.csv", "time_s,class,kit\n0.5,kick,\n").unwrap().1, "");
    let err = read("bad.csv", "time_s,class\n0.5\n").unwrap_err();
    assert!(format!("{err:#}").contains("bad.csv:2"), "{err:#}");
    std::fs::remove_dir_all(&dir).unwrap();
}
