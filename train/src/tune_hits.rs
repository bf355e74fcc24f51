//! `cargo xtask tune-hits`: per-class score thresholds for the hit labeller. A played hit is
//! heard through a 50 ms window with other drums ringing under it, so the model's scores there are
//! lower and differently spread than on clean one-shots, and one threshold for every class
//! (`multi_label`) misses quiet classes (snares under hats) while letting loud ones through.
//!
//! The thresholds are chosen on drum tracks played from the validation one-shots with their own
//! seed (the split the data's README reserves for thresholds), *not* the tracks `eval-hits`
//! reports on (`make-performances`' default seed 1): coordinate ascent on the macro-F1 over the
//! drum classes, a class at a time, over a grid of thresholds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use drumsort_core::classifier::{Classifier, ModelMeta, Thresholds};
use drumsort_core::hits::{drum_classes, score_track, HitConfig, ScoredHit};
use drumsort_core::onset::OnsetConfig;
use drumsort_core::DrumClass;

use crate::eval_hits::Score;
use crate::performances::{KitKind, Play};

/// `make-performances`' default seed; tuning must not use it (those tracks are the report).
pub const REPORT_SEED: u64 = 1;
/// Seed of the tracks the thresholds are tuned on.
pub const TUNE_SEED: u64 = 2;
/// Thresholds tried for each class.
const GRID: [f32; 17] = [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9];
/// Passes over the classes (a class's best threshold moves when the others change, through the
/// best-class fallback).
const PASSES: usize = 3;
/// A threshold only moves away from the current one for at least this much macro-F1.
const MIN_GAIN: f64 = 1e-3;
/// The lowest threshold a class may be tuned to, where it is above the grid's: a shaker needs
/// far stronger evidence than a hat (on a drum kit's track a hat is common and a shaker rare,
/// and the two share their noise burst; on real recordings a low shaker threshold put hundreds
/// of shaker notes on tracks with none).
const MIN_HIT: [(DrumClass, f32); 1] = [(DrumClass::Shaker, 0.6)];

/// Whether `t` is a threshold `class` may have.
fn allowed(class: DrumClass, t: f32) -> bool {
    MIN_HIT.iter().all(|&(c, min)| c != class || t >= min)
}

/// Options of `cargo xtask tune-hits`.
#[derive(Debug, clap::Args)]
pub struct TuneHitsArgs {
    /// Model directory; its drumsort.json gets the thresholds (the shipped hit model by default).
    #[arg(long, default_value = "assets/hit-model")]
    pub model: PathBuf,
    /// Labelled one-shots the tuning tracks are played from.
    #[arg(long, default_value = "../shared/drumdata/val")]
    pub val: PathBuf,
    /// Number of tuning tracks.
    #[arg(long, default_value_t = 12)]
    pub n: usize,
    /// Seed of the tuning tracks (not 1: `eval-hits` reports on those).
    #[arg(long, default_value_t = TUNE_SEED)]
    pub seed: u64,
    /// Print the thresholds without writing them.
    #[arg(long)]
    pub dry_run: bool,
}

/// One track's scored hits and its annotations.
pub struct ScoredTrack {
    hits: Vec<ScoredHit>,
    truth: Vec<(f64, DrumClass)>,
}

/// Plays the tuning tracks, `n` from every one-shot and `n` from the acoustic kits
/// (`make-performances --kind any` and `--kind acoustic`), and runs the hit path over them with
/// `classifier` (default lookahead, sensitivity and a 512-sample block, as `eval-hits` runs).
pub fn score_tracks(classifier: &Classifier, dir: &Path, n: usize, seed: u64) -> Result<Vec<ScoredTrack>> {
    anyhow::ensure!(seed != REPORT_SEED, "seed {REPORT_SEED} makes the tracks eval-hits reports on; tune on another");
    let rate = crate::performances::SR;
    let cfg = HitConfig { onset: OnsetConfig::default(), ..HitConfig::default() };
    let mut out = Vec::new();
    for kind in [KitKind::Any, KitKind::Acoustic] {
        let play = Play { kind, ..Play::default() };
        crate::performances::for_each_track(dir, n, seed, play, |track| {
            let hits = score_track(classifier, track.audio, rate, 512, &cfg)?;
            let mut truth = track.hits.to_vec();
            truth.sort_by(|a, b| a.0.total_cmp(&b.0));
            out.push(ScoredTrack { hits, truth });
            Ok(())
        })?;
    }
    Ok(out)
}

/// The hits of a track as the labeller decides them with `thresholds`: time and classes, the
/// onsets under the floor left out.
fn found(track: &ScoredTrack, thresholds: &Thresholds) -> Vec<(f64, Vec<DrumClass>)> {
    let rate = f64::from(crate::performances::SR);
    track
        .hits
        .iter()
        .map(|h| (h.sample as f64 / rate, drum_classes(&h.prediction, thresholds).into_iter().map(|c| c.0).collect()))
        .filter(|(_, classes): &(f64, Vec<DrumClass>)| !classes.is_empty())
        .collect()
}

/// Per-class scores of `tracks` with `thresholds`, summed over tracks.
fn per_class(tracks: &[ScoredTrack], thresholds: &Thresholds) -> BTreeMap<DrumClass, Score> {
    let mut total: BTreeMap<DrumClass, Score> = BTreeMap::new();
    for t in tracks {
        let found = found(t, thresholds);
        for (c, s) in crate::eval_hits::class_scores(&t.truth, &found, crate::eval_hits::DEFAULT_TOLERANCE_S) {
            total.entry(c).or_default().add(&s);
        }
    }
    total
}

/// Onset precision, recall and F1 of `tracks` with `thresholds`, summed over tracks.
fn onsets(tracks: &[ScoredTrack], thresholds: &Thresholds) -> Score {
    let mut total = Score::default();
    for t in tracks {
        let found = found(t, thresholds);
        let scored = crate::eval_hits::score_track(
            String::new(),
            &t.truth,
            &found,
            crate::eval_hits::DEFAULT_TOLERANCE_S,
            false,
        );
        total.add(&scored.onsets);
    }
    total
}

/// Floors tried for the best drum score of an onset, above the starting 0 (every onset a hit).
const FLOOR_GRID: [f32; 8] = [0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3];

/// The `hit_floor` that maximises the onset F1 on `tracks` (the lowest of equals), with
/// `thresholds`' per-class thresholds.
pub fn tune_floor(tracks: &[ScoredTrack], thresholds: &Thresholds) -> Thresholds {
    let mut best = Thresholds { hit_floor: 0.0, ..thresholds.clone() };
    let mut best_f1 = onsets(tracks, &best).f1;
    for floor in FLOOR_GRID {
        let trial = Thresholds { hit_floor: floor, ..thresholds.clone() };
        let f1 = onsets(tracks, &trial).f1;
        if f1 > best_f1 + MIN_GAIN {
            (best, best_f1) = (trial, f1);
        }
    }
    best
}

/// Mean F1 over the drum classes the tracks hold or the labeller named.
pub fn macro_f1(scores: &BTreeMap<DrumClass, Score>) -> f64 {
    scores.values().map(|s| s.f1).sum::<f64>() / scores.len().max(1) as f64
}

/// Per-class hit thresholds that maximise the macro-F1 on `tracks`, starting from `start`.
pub fn tune(tracks: &[ScoredTrack], start: &Thresholds) -> Thresholds {
    let mut best = start.clone();
    for (class, min) in MIN_HIT {
        if best.hit(class) < min {
            best.hits.insert(class, min);
        }
    }
    let mut best_f1 = macro_f1(&per_class(tracks, &best));
    for _ in 0..PASSES {
        let mut moved = false;
        for class in DrumClass::DRUMS {
            for t in GRID.into_iter().filter(|&t| allowed(class, t)) {
                let mut trial = best.clone();
                trial.hits.insert(class, t);
                let f1 = macro_f1(&per_class(tracks, &trial));
                if f1 > best_f1 + MIN_GAIN {
                    (best, best_f1, moved) = (trial, f1, true);
                }
            }
        }
        if !moved {
            break;
        }
    }
    // Every drum class listed, so the file says what the labeller does.
    for class in DrumClass::DRUMS {
        let t = best.hit(class);
        best.hits.insert(class, t);
    }
    best
}

/// Tunes `meta`'s hit thresholds for the weights in `weights` (and its `hit_floor`, if it was
/// trained with `--non-hits`), printing the before/after figures.
pub fn tune_meta(weights: &[u8], meta: &mut ModelMeta, val: &Path, n: usize, seed: u64) -> Result<()> {
    let classifier = Classifier::from_bytes(weights, &serde_json::to_string(meta)?)?;
    let t = std::time::Instant::now();
    let tracks = score_tracks(&classifier, val, n, seed)?;
    let flat = Thresholds { hits: BTreeMap::new(), hit_floor: 0.0, ..meta.thresholds.clone() };
    let before = per_class(&tracks, &flat);
    let tuned = tune(&tracks, &flat);
    // Only a model trained on onsets where nothing was played (`train --non-hits`) learnt to
    // score them low; for any other a floor would only trade the misses of today's tuning tracks.
    // (`tune` keeps `flat`'s floor of 0.)
    let tuned =
        if meta.training["non_hits"] == serde_json::Value::Bool(true) { tune_floor(&tracks, &tuned) } else { tuned };
    let after = per_class(&tracks, &tuned);
    println!(
        "hit thresholds tuned on {n} + {n} acoustic tracks played from {} (seed {seed}) in {:.0} s:",
        val.display(),
        t.elapsed().as_secs_f64()
    );
    println!("{:<12} {:>9} {:>8} {:>8}", "class", "threshold", "F1 was", "F1 now");
    for (c, s) in &after {
        let was = before.get(c).map_or(0.0, |b| b.f1);
        println!("{:<12} {:>9.2} {:>8.3} {:>8.3}", c.as_str(), tuned.hit(*c), was, s.f1);
    }
    println!("macro-F1 on the tuning tracks: {:.4} -> {:.4}", macro_f1(&before), macro_f1(&after));
    println!(
        "onset F1 on the tuning tracks: {:.4} -> {:.4} (an onset whose best drum scores under {:.2} is not a hit)",
        onsets(&tracks, &flat).f1,
        onsets(&tracks, &tuned).f1,
        tuned.hit_floor
    );
    meta.thresholds = tuned;
    Ok(())
}

pub fn run(args: TuneHitsArgs) -> Result<()> {
    let meta_path = args.model.join(drumsort_core::classifier::META_FILE);
    let weights_path = args.model.join(drumsort_core::classifier::WEIGHTS_FILE);
    let weights = std::fs::read(&weights_path).with_context(|| format!("reading {}", weights_path.display()))?;
    let text = std::fs::read_to_string(&meta_path).with_context(|| format!("reading {}", meta_path.display()))?;
    let mut meta: ModelMeta =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", meta_path.display()))?;
    tune_meta(&weights, &mut meta, &args.val, args.n, args.seed)?;
    if args.dry_run {
        return Ok(());
    }
    std::fs::write(&meta_path, serde_json::to_string_pretty(&meta)? + "\n")
        .with_context(|| format!("writing {}", meta_path.display()))?;
    println!("wrote {}", meta_path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use drumsort_core::classifier::Prediction;

    fn hit(seconds: f64, scores: &[(DrumClass, f32)]) -> ScoredHit {
        let mut all = [0.01f32; DrumClass::COUNT];
        for &(c, s) in scores {
            all[c.index()] = s;
        }
        let sample = (seconds * f64::from(crate::performances::SR)) as u64;
        let prediction = Prediction { class: DrumClass::Other, confidence: 0.0, scores: all, embedding: vec![] };
        ScoredHit { sample, prediction }
    }

    #[test]
    fn quiet_snares_under_hats_get_a_lower_threshold_of_their_own() {
        // Kicks score high; snares score 0.3 with the hat ringing under them at 0.35, so one
        // threshold of 0.5 names every snare a hat (the best-class fallback).
        let mut hits = Vec::new();
        let mut truth = Vec::new();
        for i in 0..8 {
            let t = i as f64;
            hits.push(hit(t, &[(DrumClass::Kick, 0.9)]));
            hits.push(hit(t + 0.5, &[(DrumClass::Snare, 0.3), (DrumClass::ClosedHat, 0.35)]));
            truth.push((t, DrumClass::Kick));
            truth.push((t + 0.5, DrumClass::Snare));
        }
        let tracks = [ScoredTrack { hits, truth }];
        let flat = Thresholds::new(0.3, 0.5);
        let before = per_class(&tracks, &flat);
        assert_eq!(before[&DrumClass::Snare].tp, 0);
        assert_eq!(before[&DrumClass::ClosedHat].fp, 8);

        let tuned = tune(&tracks, &flat);
        let after = per_class(&tracks, &tuned);
        assert!(tuned.hit(DrumClass::Snare) <= 0.3 && tuned.hit(DrumClass::ClosedHat) > 0.35, "{:?}", tuned.hits);
        assert_eq!(macro_f1(&after), 1.0, "{after:?}");
        assert_eq!(tuned.hits.len(), DrumClass::DRUMS.len(), "every drum class is written out");
        assert_eq!(tuned.hit(DrumClass::Kick), 0.5, "a class with nothing to gain keeps multi_label");
    }

    #[test]
    fn a_shaker_threshold_never_tunes_below_its_minimum() {
        // Shakers scored 0.45 that a threshold of 0.45 would name: the tuning may not go there.
        let hits: Vec<ScoredHit> = (0..8).map(|i| hit(i as f64, &[(DrumClass::Shaker, 0.45)])).collect();
        let truth: Vec<(f64, DrumClass)> = (0..8).map(|i| (i as f64, DrumClass::Shaker)).collect();
        let tracks = [ScoredTrack { hits, truth }];
        let tuned = tune(&tracks, &Thresholds::new(0.3, 0.5));
        assert!(tuned.hit(DrumClass::Shaker) >= 0.6, "{:?}", tuned.hits);
        assert!(!allowed(DrumClass::Shaker, 0.55) && allowed(DrumClass::ClosedHat, 0.1));
    }

    #[test]
    fn the_floor_drops_onsets_the_model_hears_no_drum_in_and_keeps_quiet_real_hits() {
        // Kicks (0.9), a soft snare the model is unsure of (0.12), and after every kick an onset
        // in its decay that nobody played, where no drum scores above 0.04.
        let (mut hits, mut truth) = (Vec::new(), Vec::new());
        for i in 0..8 {
            let t = i as f64;
            hits.push(hit(t, &[(DrumClass::Kick, 0.9)]));
            hits.push(hit(t + 0.1, &[(DrumClass::Kick, 0.04)]));
            hits.push(hit(t + 0.5, &[(DrumClass::Snare, 0.12)]));
            truth.push((t, DrumClass::Kick));
            truth.push((t + 0.5, DrumClass::Snare));
        }
        let tracks = [ScoredTrack { hits, truth }];
        let flat = Thresholds::new(0.3, 0.5);
        let before = onsets(&tracks, &flat);
        assert_eq!((before.tp, before.fp, before.fn_), (16, 8, 0));
        let tuned = tune_floor(&tracks, &flat);
        assert!(tuned.hit_floor > 0.04 && tuned.hit_floor <= 0.12, "floor {}", tuned.hit_floor);
        assert_eq!(onsets(&tracks, &tuned).f1, 1.0);
        assert_eq!(per_class(&tracks, &tuned)[&DrumClass::Kick].fp, 0, "the decay is no longer a kick");
        // With nothing to drop, the floor stays at 0.
        let clean = [ScoredTrack {
            hits: tracks[0].hits.iter().filter(|h| h.prediction.scores[0] != 0.04).cloned().collect(),
            truth: tracks[0].truth.clone(),
        }];
        assert_eq!(tune_floor(&clean, &flat).hit_floor, 0.0);
    }
}
