//! The model embedded in the binaries (assets/model/): it loads fast enough to embed, its label
//! order is `DrumClass::ALL`, and its metadata records how it was made and what it scored.

use drumsort_core::classifier::{Classifier, ModelMeta};
use drumsort_core::synth::Demo;
use drumsort_core::DrumClass;

#[test]
fn shipped_metadata_matches_the_build() {
    let meta: ModelMeta =
        serde_json::from_str(drumsort_core::shipped::META).expect("assets/model/drumsort.json parses");
    let names: Vec<&str> = DrumClass::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(meta.classes, names, "label order must equal DrumClass::ALL");
    assert_eq!(meta.features, drumsort_core::mel::MelConfig::default(), "the model was trained on today's features");
    let command = meta.training["command"].as_str().expect("training command recorded");
    assert!(command.starts_with("cargo xtask train"), "{command}");
    for key in ["train_manifest_sha256", "val_manifest_sha256"] {
        assert_eq!(meta.training[key].as_str().map(str::len), Some(64), "{key} missing");
    }
    for key in ["top1", "macro_f1", "crop50_top1"] {
        let v = meta.validation[key].as_f64().unwrap_or(-1.0);
        assert!((0.0..=1.0).contains(&v), "validation.{key} = {v}");
    }
    assert!(meta.model_version.starts_with("drumsort-"));
}

#[test]
fn shipped_model_loads_and_classifies_one_shots_of_any_length() {
    let classifier = Classifier::shipped().expect("the embedded model loads");
    let kick = Demo::Kick.render(44_100, 3);
    for n in [1_323, 2_205, 10_000, kick.len()] {
        let feats = classifier.features(&kick[..n]);
        let pred = &classifier.predict(&[feats]).unwrap()[0];
        assert!(pred.scores.iter().all(|s| (0.0..=1.0).contains(s)));
        assert!((pred.embedding.iter().map(|v| v * v).sum::<f32>() - 1.0).abs() < 1e-3);
    }
    // Batching never changes a clip's result.
    let snare = classifier.features(&Demo::Snare.render(44_100, 3));
    let alone = classifier.predict(std::slice::from_ref(&snare)).unwrap();
    let hat = classifier.features(&Demo::ClosedHat.render(44_100, 3));
    let batched = classifier.predict(&[hat, snare.clone()]).unwrap();
    for (a, b) in alone[0].scores.iter().zip(&batched[1].scores) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}
