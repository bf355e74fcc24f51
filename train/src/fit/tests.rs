use super::*;
use drumsort_core::synth::Demo;

/// Synthesised clips stand in for a dataset: two renders (seeds) of every demo sound.
pub(crate) fn clips() -> Vec<Clip> {
    Demo::ALL
        .iter()
        .flat_map(|d| {
            (0..2).map(move |seed| Clip {
                path: d.file_stem().into(),
                class: d.class(),
                samples: d.render(44_100, seed),
                kit: format!("render-{seed}"),
            })
        })
        .collect()
}

pub(crate) fn tiny() -> TrainConfig {
    TrainConfig {
        epochs: 2,
        batch_size: 8,
        samples_per_epoch: 32,
        analysis_seconds: 0.5,
        track_prob: 0.5,
        ..TrainConfig::default()
    }
}

#[test]
fn track_hits_are_heard_without_what_rang_before_them_only_with_background_removal() {
    let mel = Arc::new(MelSpectrogram::new(&MelConfig::default()));
    let snare = Demo::Snare.render(44_100, 1);
    let hat = Demo::OpenHat.render(44_100, 1);
    let hit = |context: &[f32]| {
        let mut samples = context.to_vec();
        samples.extend_from_slice(&snare[..4410]);
        HitClip { samples, context: context.len(), classes: vec![DrumClass::Snare] }
    };
    // The wash below the snare's peak, so both clips reach the model at the same gain.
    let wash: Vec<f32> = hat[2000..3323].iter().map(|v| 0.3 * v).collect();
    let (quiet, ringing) = (hit(&[0.0; 1323]), hit(&wash));
    let example = |clip: &HitClip, background_removal: bool| {
        let cfg = TrainConfig { background_removal, aug_strength: 0.0, ..TrainConfig::default() };
        make_track_example(clip, 2425, &cfg, &mel, &mut ChaCha8Rng::seed_from_u64(5)).0
    };
    assert_eq!(example(&quiet, false), example(&ringing, false), "off: the context is ignored");
    assert_ne!(example(&quiet, true), example(&ringing, true), "on: the hat's wash is taken out");
    assert_eq!(example(&quiet, true), example(&quiet, false), "silence before a hit takes nothing out");
}

#[test]
fn layering_adds_a_partner_struck_with_the_class_and_off_changes_nothing() {
    let data = clips();
    let by_class = indices_by_class(&data);
    let mel = Arc::new(MelSpectrogram::new(&MelConfig::default()));
    let quiet = TrainConfig { mix_prob: 0.0, bleed_prob: 0.0, aug_strength: 0.0, ..TrainConfig::default() };
    let example = |idx: usize, layer_prob: f64, seed: u64| {
        let cfg = TrainConfig { layer_prob, ..quiet.clone() };
        make_example(&data, &by_class, idx, Some(2205), &cfg, &mel, &mut ChaCha8Rng::seed_from_u64(seed))
    };
    for (idx, clip) in data.iter().enumerate() {
        let (alone, target) = example(idx, 0.0, 3);
        let labelled: Vec<DrumClass> = DrumClass::ALL.into_iter().filter(|c| target[c.index()] == 1.0).collect();
        assert_eq!(labelled, [clip.class], "layer_prob 0: the clip alone");
        let (layered, target) = example(idx, 1.0, 3);
        let labelled: Vec<DrumClass> = DrumClass::ALL.into_iter().filter(|c| target[c.index()] == 1.0).collect();
        if clip.class.is_drum() {
            assert_eq!(labelled.len(), 2, "{:?} is layered", clip.class);
            let partner = labelled.iter().find(|&&c| c != clip.class).unwrap();
            assert!(layer_partners(clip.class).contains(partner), "{partner:?} is struck with {:?}", clip.class);
            assert_ne!(alone, layered, "the partner is heard");
        } else {
            assert_eq!(labelled, [DrumClass::Other], "only drums are layered");
            assert_eq!(alone, layered);
        }
    }
}

#[test]
fn synthesised_examples_keep_the_clips_label_and_replace_its_sound_only_when_asked() {
    let data = clips();
    let by_class = indices_by_class(&data);
    let mel = Arc::new(MelSpectrogram::new(&MelConfig::default()));
    let quiet = TrainConfig { mix_prob: 0.0, bleed_prob: 0.0, aug_strength: 0.0, ..TrainConfig::default() };
    let example = |idx: usize, synth_prob: f64, seed: u64| {
        let cfg = TrainConfig { synth_prob, ..quiet.clone() };
        make_example(&data, &by_class, idx, None, &cfg, &mel, &mut ChaCha8Rng::seed_from_u64(seed))
    };
    for (idx, clip) in data.iter().enumerate() {
        let (kept, target) = example(idx, 0.0, 3);
        let other_render = data.iter().position(|c| c.path == clip.path && c.kit != clip.kit).unwrap();
        if data[other_render].samples != clip.samples {
            assert!(kept != example(other_render, 0.0, 3).0, "{:?}: synth_prob 0 hears the clip itself", clip.class);
        }
        let (replaced, synth_target) = example(idx, 1.0, 3);
        assert_eq!(synth_target, target, "{:?}: the label is the clip's", clip.class);
        assert!(replaced != kept, "{:?}: synth_prob 1 replaces the sound", clip.class);
        assert!(replaced != example(idx, 1.0, 4).0, "{:?}: another draw, another sound", clip.class);
    }
}

/// A digest of the random numbers left after [`make_example`] with the default config (mixing
/// and bleeding on, layering off) for every clip and a few seeds.
fn default_recipe_stream() -> u64 {
    use rand::RngCore;
    let data = clips();
    let by_class = indices_by_class(&data);
    let mel = Arc::new(MelSpectrogram::new(&MelConfig::default()));
    let cfg = TrainConfig { mix_prob: 0.5, bleed_prob: 0.5, ..TrainConfig::default() };
    let mut digest = 0u64;
    for idx in 0..data.len() {
        for seed in 0..4 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            make_example(&data, &by_class, idx, Some(2205), &cfg, &mel, &mut rng);
            digest = digest.wrapping_mul(1_000_003).wrapping_add(rng.next_u64());
        }
    }
    digest
}

#[test]
fn mixup_mixes_each_example_with_one_other_keeping_the_larger_share_and_the_target_mass() {
    let (b, frames, mels) = (6, 3, 4);
    let xs: Vec<f32> = (0..b * frames * mels).map(|i| (i / (frames * mels)) as f32).collect();
    let xs = Tensor::from_vec(xs, (b, frames, mels), &Device::Cpu).unwrap();
    let mut ys = vec![0f32; b * DrumClass::COUNT];
    for i in 0..b {
        ys[i * DrumClass::COUNT + i] = 1.0;
    }
    let ys = Tensor::from_vec(ys, (b, DrumClass::COUNT), &Device::Cpu).unwrap();
    let (mx, my) = mixup(&xs, &ys, &mut ChaCha8Rng::seed_from_u64(3)).unwrap();
    assert_eq!(mx.dims(), xs.dims());
    let mx: Vec<Vec<Vec<f32>>> = mx.to_vec3().unwrap();
    let my: Vec<Vec<f32>> = my.to_vec2().unwrap();
    for i in 0..b {
        // Example i was constant i: now l * i + (1 - l) * j in every cell, one value.
        let v = mx[i][0][0];
        assert!(mx[i].iter().flatten().all(|&x| (x - v).abs() < 1e-5));
        assert!((my[i].iter().sum::<f32>() - 1.0).abs() < 1e-5, "targets keep their mass");
        assert!(my[i][i] >= 0.5 - 1e-6, "each example keeps its own label as the larger share");
        let j = (0..b).find(|&j| j != i && my[i][j] > 1e-6).unwrap_or(i);
        let l = my[i][i];
        let expected = if j == i { i as f32 } else { l * i as f32 + (1.0 - l) * j as f32 };
        assert!((v - expected).abs() < 1e-4, "example {i}: {v} vs {expected}");
    }
}

const DEFAULT_RECIPE_STREAM: u64 = 16_980_576_435_179_756_950;

#[test]
fn default_recipe_draws_the_random_numbers_it_drew_before_layering_existed() {
    // Recorded with the code before `layer_prob` (commit 0058527): the shipped weights only
    // reproduce if the default recipe's random stream never changes.
    assert_eq!(default_recipe_stream(), DEFAULT_RECIPE_STREAM);
}

#[test]
fn layer_partners_are_other_drums_and_snare_clap_kick_hat_go_both_ways() {
    for class in DrumClass::DRUMS {
        assert!(!layer_partners(class).is_empty(), "{class:?} has partners");
        for &p in layer_partners(class) {
            assert!(p.is_drum() && p != class);
        }
    }
    // A clap on a snare and a kick under a hat are layered whichever of the two is drawn.
    for (a, b) in [(DrumClass::Snare, DrumClass::Clap), (DrumClass::Kick, DrumClass::ClosedHat)] {
        assert!(layer_partners(a).contains(&b) && layer_partners(b).contains(&a));
    }
    assert!(layer_partners(DrumClass::Other).is_empty());
}

#[test]
fn a_hits_only_model_hears_crops_and_is_picked_on_them() {
    let sr = 44_100.0;
    let (shortest, longest) = (0.030 * sr, 0.120 * sr);
    let draws = |cfg: &TrainConfig| {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        (0..200).map(|_| one_shot_crop(cfg, sr, &mut rng)).collect::<Vec<_>>()
    };
    let hits = draws(&TrainConfig { hits_only: true, ..TrainConfig::default() });
    assert!(hits.iter().all(|c| c.is_some_and(|n| n as f32 >= shortest - 1.0 && (n as f32) < longest)));
    // The shared model hears whole clips in most batches (crop_prob 0.4).
    let whole = draws(&TrainConfig::default()).iter().filter(|c| c.is_none()).count();
    assert!((90..150).contains(&whole), "{whole} of 200 whole clips");

    let eval = |top1: f64, macro_f1: f64| Evaluation { n: 1, top1, macro_f1, per_class: vec![], confusion: vec![] };
    let (full, crop) = (eval(0.9, 0.8), eval(0.6, 0.4));
    let shared = selection_score(&TrainConfig::default(), &full, &crop, &[]);
    assert!((shared - (0.9 + 0.8 + 0.6) / 3.0).abs() < 1e-12);
    // A model that never hears a short window is picked on whole clips alone.
    let files_only = TrainConfig { crop_prob: 0.0, track_prob: 0.0, ..TrainConfig::default() };
    assert!((selection_score(&files_only, &full, &crop, &[]) - 0.85).abs() < 1e-12, "crops do not count");
    let no_tracks = TrainConfig { track_prob: 0.0, ..TrainConfig::default() };
    assert!((selection_score(&no_tracks, &full, &crop, &[]) - shared).abs() < 1e-12, "it still hears crops");
    let hits_cfg = TrainConfig { hits_only: true, ..TrainConfig::default() };
    let hits_only = selection_score(&hits_cfg, &full, &crop, &[]);
    assert!((hits_only - 0.5).abs() < 1e-12, "whole clips do not count: {hits_only}");
    // The short windows count as much as the 50 ms one: (0.5 + 0.2 + 0.8) / 3.
    let short = [eval(0.3, 0.1), eval(0.9, 0.7)];
    let with_short = selection_score(&hits_cfg, &full, &crop, &short);
    assert!((with_short - 0.5).abs() < 1e-12, "{with_short}");
    let worse = selection_score(&hits_cfg, &full, &crop, &[eval(0.0, 0.0), eval(0.9, 0.7)]);
    assert!(worse < with_short, "a model that fails at 20 ms ranks lower: {worse}");
}

#[test]
fn frequency_masks_blank_the_same_bins_in_every_frame() {
    let n_mels = 64;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut widths = Vec::new();
    for _ in 0..100 {
        let mut f = Features { frames: 5, data: (0..5 * n_mels).map(|i| i as f32).collect() };
        mask_bands(&mut f, n_mels, -1.0, &mut rng);
        let masked: Vec<usize> = (0..n_mels).filter(|&b| f.data[b] == -1.0).collect();
        assert!(!masked.is_empty() && masked.len() <= SPEC_MASKS * SPEC_MASK_BINS, "{masked:?}");
        for (t, frame) in f.data.chunks(n_mels).enumerate() {
            for (b, &v) in frame.iter().enumerate() {
                let kept = (t * n_mels + b) as f32;
                assert!(if masked.contains(&b) { v == -1.0 } else { v == kept }, "frame {t} bin {b}: {v}");
            }
        }
        widths.push(masked.len());
    }
    assert!(widths.iter().any(|&w| w > SPEC_MASK_BINS), "two masks can cover more than one's width");
    assert!(widths.iter().any(|&w| w <= 4), "masks vary in width");
}

#[test]
fn same_seed_gives_identical_weights_and_history() {
    let data = clips();
    let hits: Vec<HitClip> = data
        .iter()
        .map(|c| HitClip {
            samples: c.samples[..4410.min(c.samples.len())].to_vec(),
            context: 1323,
            classes: vec![c.class],
        })
        .collect();
    let run =
        |cfg: &TrainConfig| train(cfg, &MelConfig::default(), &data, &hits, &data, &[], |_, _| {}, |_| {}).unwrap();
    let (a, b) = (run(&tiny()), run(&tiny()));
    assert_eq!(a.history.len(), 2);
    for (ra, rb) in a.history.iter().zip(&b.history) {
        assert_eq!(ra.train_loss, rb.train_loss);
    }
    for (name, ta) in &a.tensors {
        let diff: f32 = (ta - &b.tensors[name]).unwrap().abs().unwrap().max_all().unwrap().to_scalar().unwrap();
        assert_eq!(diff, 0.0, "{name} differs between runs with the same seed");
    }
    let c = run(&TrainConfig { seed: 7, ..tiny() });
    assert_ne!(a.history[0].train_loss, c.history[0].train_loss, "a different seed changes the run");
    let masked = run(&TrainConfig { spec_mask_prob: 1.0, ..tiny() });
    assert_ne!(a.history[0].train_loss, masked.history[0].train_loss, "frequency masks change the input");
    // The moving average changes what is saved, not how the raw weights are trained.
    let e = run(&TrainConfig { ema_decay: 0.9, ..tiny() });
    assert_eq!(e.history[1].train_loss, a.history[1].train_loss);
    let moved = e.tensors.iter().any(|(name, te)| {
        (te - &a.tensors[name]).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap() > 0.0
    });
    assert!(moved, "with ema_decay the saved weights are the average, not the last step");
}

/// A trained run as a loadable model, as `cargo xtask train` writes it.
pub(crate) fn as_classifier(run: &Trained, version: &str, mel_cfg: &MelConfig, analysis_seconds: f32) -> Classifier {
    let path = std::env::temp_dir().join(format!("drumsort-fit-test-{version}-{}.safetensors", std::process::id()));
    candle_core::safetensors::save(&run.tensors, &path).unwrap();
    let weights = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let meta = drumsort_core::classifier::ModelMeta {
        model_version: version.into(),
        classes: DrumClass::ALL.iter().map(|c| c.as_str().to_string()).collect(),
        model: run.model.clone(),
        features: mel_cfg.clone(),
        analysis_seconds,
        hit_background_removed: true,
        thresholds: drumsort_core::classifier::Thresholds::new(0.0, 0.5),
        training: serde_json::Value::Null,
        validation: serde_json::Value::Null,
    };
    Classifier::from_bytes(&weights, &serde_json::to_string(&meta).unwrap()).unwrap()
}

#[test]
fn a_distilled_student_learns_its_teachers_scores_and_bad_teachers_are_refused() {
    let data = clips();
    let mel_cfg = MelConfig::default();
    let run = |cfg: &TrainConfig, teachers: &[Classifier]| {
        train(cfg, &mel_cfg, &data, &[], &data, teachers, |_, _| {}, |_| {})
    };
    let long = TrainConfig { epochs: 3, track_prob: 0.0, ..tiny() };
    let teacher = as_classifier(&run(&long, &[]).unwrap(), "teacher", &mel_cfg, long.analysis_seconds);

    // Two students from the same seed: one on the labels, one on the teacher's scores alone.
    let student = TrainConfig { seed: 11, ..long.clone() };
    let labels = as_classifier(&run(&student, &[]).unwrap(), "labels", &mel_cfg, long.analysis_seconds);
    let distilled = TrainConfig { distill: 1.0, ..student.clone() };
    let taught = as_classifier(
        &run(&distilled, std::slice::from_ref(&teacher)).unwrap(),
        "taught",
        &mel_cfg,
        long.analysis_seconds,
    );
    let feats: Vec<Features> = data.iter().map(|c| teacher.features(&c.samples)).collect();
    let scores = |c: &Classifier| c.predict(&feats).unwrap().into_iter().map(|p| p.scores).collect::<Vec<_>>();
    let target = scores(&teacher);
    let gap = |c: &Classifier| {
        let s = scores(c);
        let n = (s.len() * DrumClass::COUNT) as f32;
        s.iter().zip(&target).flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs())).sum::<f32>() / n
    };
    let (g_labels, g_taught) = (gap(&labels), gap(&taught));
    assert!(g_taught < g_labels, "mean |student - teacher| score: distilled {g_taught:.4}, on labels {g_labels:.4}");

    let no_teacher = run(&distilled, &[]).unwrap_err().to_string();
    assert!(no_teacher.contains("needs at least one teacher"), "{no_teacher}");
    let other_features = MelConfig { n_fft: 512, ..MelConfig::default() };
    let err =
        train(&distilled, &other_features, &data, &[], &data, &[teacher], |_, _| {}, |_| {}).unwrap_err().to_string();
    assert!(err.contains("other features"), "{err}");
}

#[test]
fn kit_balance_draws_kits_alike_at_one_files_alike_at_zero_and_a_square_root_between() {
    use rand::Rng;
    // One class: nine files from a big drum machine, one from a small kit.
    let data: Vec<Clip> = (0..10)
        .map(|i| Clip {
            path: format!("kick-{i}").into(),
            class: DrumClass::Kick,
            samples: vec![0.0; 16],
            kit: if i < 9 { "machine".into() } else { "kit".into() },
        })
        .collect();
    let by_class = indices_by_class(&data);
    let kick = DrumClass::Kick.index();
    let small_kit_share = |balance: f64| {
        let draws = kit_balanced_draws(&data, &by_class, balance);
        let dist = draws[kick].as_ref().expect("a draw for a class with files");
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let n = 20_000;
        (0..n).filter(|_| by_class[kick][rng.sample(dist)] == 9).count() as f64 / n as f64
    };
    assert!(kit_balanced_draws(&data, &by_class, 0.0).iter().all(Option::is_none), "0 keeps the old draw");
    // Kit weight n^(1 - b): at 1 both kits 1/2; at 0.5 the small kit 1 / (1 + 3) = 0.25.
    assert!((small_kit_share(1.0) - 0.5).abs() < 0.02, "{}", small_kit_share(1.0));
    assert!((small_kit_share(0.5) - 0.25).abs() < 0.02, "{}", small_kit_share(0.5));
    // Every file of a kit alike: the big kit's nine share its weight evenly.
    let draws = kit_balanced_draws(&data, &by_class, 1.0);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut counts = [0usize; 10];
    for _ in 0..18_000 {
        counts[by_class[kick][rng.sample(draws[kick].as_ref().unwrap())]] += 1;
    }
    assert!(counts[..9].iter().all(|&c| (800..1200).contains(&c)), "{counts:?}");
}
