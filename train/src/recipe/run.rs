//! `cargo xtask train`: decode the labelled folders once, train, tune the reject threshold on
//! validation, and write `assets/model/` (`assets/hit-model/` with `--hits-only`; weights +
//! metadata with the command, data hash and figures that produced them).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use drumsort_core::classifier::{Classifier, ModelMeta, Thresholds, META_FILE, WEIGHTS_FILE};
use drumsort_core::decode::DecodeOptions;
use drumsort_core::DrumClass;
use indicatif::{ProgressBar, ProgressStyle};

use super::inputs::{keep_kits, kits_of, track_hits};
use super::{config, mel_config, TrainArgs};
use crate::dataset::{self, Clip};
use crate::fit::train;
use crate::folder::{load_folder, load_items};
use crate::performances::Play;

/// Runs `cargo xtask train` with `args`.
pub fn run(args: TrainArgs) -> Result<()> {
    let (mut cfg, tracks) = config(&args);
    let teachers: Vec<Classifier> = args
        .teacher
        .iter()
        .map(|dir| Classifier::from_dir(dir).with_context(|| format!("loading teacher model from {}", dir.display())))
        .collect::<Result<_>>()?;
    cfg.teachers = teachers.iter().map(|t| t.meta().model_version.clone()).collect();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(if cfg.hits_only { "assets/hit-model" } else { "assets/model" }));
    let mel_cfg = mel_config(&args)?;
    // Decode a little more than the model sees, so time-shift augmentation has real audio.
    let opts = DecodeOptions {
        target_rate: mel_cfg.sample_rate,
        max_seconds: cfg.analysis_seconds + 0.1,
        ..DecodeOptions::default()
    };
    let mut train_items =
        dataset::list_labelled(&args.train).with_context(|| format!("listing {}", args.train.display()))?;
    // Each file's kit, read once from the data's manifest when a kit option needs it.
    let kit_of = if args.kit_fraction < 1.0 || cfg.kit_balance > 0.0 {
        Some(kits_of(&args.train.parent().unwrap_or(Path::new(".")).join("MANIFEST.csv"))?)
    } else {
        None
    };
    if let (Some(kit_of), true) = (&kit_of, args.kit_fraction < 1.0) {
        train_items = keep_kits(train_items, kit_of, args.kit_fraction);
    }
    let (mut train_clips, train_hash) = load_items(&args.train, train_items, &opts)?;
    if let (Some(kit_of), true) = (&kit_of, cfg.kit_balance > 0.0) {
        for clip in &mut train_clips {
            clip.kit = kit_of.get(&clip.path).cloned().unwrap_or_default();
        }
        let unknown = train_clips.iter().filter(|c| c.kit.is_empty()).count();
        let kits: std::collections::HashSet<&str> = train_clips.iter().map(|c| c.kit.as_str()).collect();
        eprintln!("kit balance {}: {} kits, {unknown} files with no kit in the manifest", cfg.kit_balance, kits.len());
    }
    let (val_clips, val_hash) = load_folder(&args.val, &opts)?;
    if train_clips.is_empty() || val_clips.is_empty() {
        bail!("need decodable files in both {} and {}", args.train.display(), args.val.display());
    }

    let play = Play {
        blend_prob: args.kit_blend.clamp(0.0, 1.0),
        snare_buzz: args.snare_buzz.clamp(0.0, 1.0),
        ..Play::default()
    };
    let hits = track_hits(&args.train, tracks, cfg.seed, &cfg, args.non_hits, play)?;

    let started = Instant::now();
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} steps  {elapsed_precise} eta {eta}  {msg}")?);
    let trained = train(
        &cfg,
        &mel_cfg,
        &train_clips,
        &hits,
        &val_clips,
        &teachers,
        |step, total| {
            bar.set_length(total as u64);
            bar.set_position(step as u64);
        },
        |r| {
            // suspend() prints whether or not the bar is drawn (logs, CI, pipes).
            bar.suspend(|| {
                println!(
                    "epoch {:>3}  loss {:.4}  val top-1 {:.4}  macro-F1 {:.4}  crop-50ms top-1 {:.4}  ({:.0} s)",
                    r.epoch, r.train_loss, r.val.top1, r.val.macro_f1, r.val_crop50_top1, r.seconds
                )
            });
        },
    )?;
    bar.finish_and_clear();
    println!(
        "best epoch {} (selection score {:.4}) after {:.0} s",
        trained.best.epoch,
        trained.best.selection_score,
        started.elapsed().as_secs_f64()
    );

    std::fs::create_dir_all(&out)?;
    let weights_path = out.join(WEIGHTS_FILE);
    candle_core::safetensors::save(&trained.tensors, &weights_path)?;
    let command = format!("cargo xtask train {}", std::env::args().skip(2).collect::<Vec<_>>().join(" "));
    let mut meta = ModelMeta {
        model_version: String::new(),
        classes: DrumClass::ALL.iter().map(|c| c.as_str().to_string()).collect(),
        model: trained.model.clone(),
        features: mel_cfg,
        analysis_seconds: cfg.analysis_seconds,
        hit_background_removed: cfg.background_removal,
        thresholds: Thresholds::new(0.0, 0.5),
        training: serde_json::json!({
            "command": command.trim_end(),
            "config": cfg,
            "train_dir": args.train,
            "val_dir": args.val,
            "train_manifest_sha256": train_hash,
            "val_manifest_sha256": val_hash,
            "train_files": train_clips.len(),
            "tracks": tracks.any,
            "acoustic_tracks": tracks.acoustic,
            "track_hits": hits.len(),
            "non_hits": args.non_hits,
            "snare_buzz": play.snare_buzz,
            "val_files": val_clips.len(),
            "best_epoch": trained.best.epoch,
            "seconds": started.elapsed().as_secs_f64().round(),
            "history": trained.history.iter().map(|r| serde_json::json!({
                "epoch": r.epoch, "loss": r.train_loss, "val_top1": r.val.top1,
                "val_macro_f1": r.val.macro_f1, "val_crop50_top1": r.val_crop50_top1,
            })).collect::<Vec<_>>(),
        }),
        validation: serde_json::Value::Null,
    };
    let weights = std::fs::read(&weights_path)?;
    meta.model_version = format!("drumsort-{}", &super::hex_sha256(&weights)[..12]);

    // Tune the reject threshold on validation with the saved weights, then record the figures
    // exactly as `cargo xtask eval` will reproduce them.
    meta.thresholds.reject_other = tune_reject_other(&weights, &mut meta, &val_clips)?;
    let full = crate::eval::evaluate_clips(&weights, &meta, &val_clips, None)?;
    let crop = crate::eval::evaluate_clips(&weights, &meta, &val_clips, Some(0.05))?;
    println!(
        "reject_other threshold {:.2}\n{full}\n50 ms crops: top-1 {:.4}  macro-F1 {:.4}",
        meta.thresholds.reject_other, crop.top1, crop.macro_f1
    );
    crate::tune_hits::tune_meta(&weights, &mut meta, &args.val, 12, crate::tune_hits::TUNE_SEED)?;
    meta.validation = serde_json::json!({
        "data": args.val,
        "top1": full.top1,
        "macro_f1": full.macro_f1,
        "crop50_top1": crop.top1,
        "crop50_macro_f1": crop.macro_f1,
        "per_class_f1": full.per_class.iter().map(|m| (m.class.as_str().to_string(), serde_json::json!(m.f1))).collect::<serde_json::Map<_, _>>(),
    });
    std::fs::write(out.join(META_FILE), serde_json::to_string_pretty(&meta)? + "\n")?;
    println!("wrote {} and {}", weights_path.display(), out.join(META_FILE).display());
    Ok(())
}

/// The `reject_other` threshold, from 0 to 0.6 in steps of 0.05, with the best top-1 + macro-F1 on
/// `val_clips` (the lowest of equal ones); `meta` is left with the last one tried.
fn tune_reject_other(weights: &[u8], meta: &mut ModelMeta, val_clips: &[Clip]) -> Result<f32> {
    let mut best = (f32::MIN, 0.0f32);
    for t in (0..=12).map(|i| i as f32 * 0.05) {
        meta.thresholds.reject_other = t;
        let eval = crate::eval::evaluate_clips(weights, meta, val_clips, None)?;
        let score = (eval.top1 + eval.macro_f1) as f32;
        if score > best.0 + 1e-6 {
            best = (score, t);
        }
    }
    Ok(best.1)
}
