//! `cargo xtask eval --data DIR`: per-class precision / recall / F1, top-1, macro-F1 and the
//! confusion matrix of a model over a labelled folder, on whole clips and on short onset crops.

use std::path::PathBuf;

use anyhow::{Context, Result};
use drumsort_core::classifier::{prepare_features, Classifier, ModelMeta};
use drumsort_core::dataset::Clip;
use drumsort_core::decode::DecodeOptions;
use drumsort_core::metrics::{evaluate, Evaluation};
use rayon::prelude::*;

/// Options of `cargo xtask eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Folder of <class>/ subfolders with canonical class names.
    #[arg(long, default_value = "../shared/drumdata/val")]
    pub data: PathBuf,
    /// Model directory (drumsort.safetensors + drumsort.json).
    #[arg(long, default_value = "assets/model")]
    pub model: PathBuf,
    /// Also evaluate on crops of this many milliseconds after the onset.
    #[arg(long, default_value_t = 50.0)]
    pub crop_ms: f32,
    /// Write the figures as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the confusion matrix as a PNG picture here.
    #[arg(long)]
    pub png: Option<PathBuf>,
}

/// Classifies decoded clips (optionally cropped to `crop_seconds`) and scores them.
pub fn evaluate_clips(
    weights: &[u8],
    meta: &ModelMeta,
    clips: &[Clip],
    crop_seconds: Option<f32>,
) -> Result<Evaluation> {
    let classifier = Classifier::from_bytes(weights, &serde_json::to_string(meta)?)?;
    classify_and_score(&classifier, clips, crop_seconds)
}

fn classify_and_score(classifier: &Classifier, clips: &[Clip], crop_seconds: Option<f32>) -> Result<Evaluation> {
    // A crop is what the real-time path sees: exactly that much audio after the onset, not
    // padded out to the full analysis length.
    let feats: Vec<_> = clips
        .par_iter()
        .map(|c| match crop_seconds {
            Some(s) => prepare_features(classifier.mel(), &c.samples, s),
            None => classifier.features(&c.samples),
        })
        .collect();
    let preds = classifier.predict(&feats)?;
    let truth: Vec<_> = clips.iter().map(|c| c.class).collect();
    let predicted: Vec<_> = preds.iter().map(|p| p.class).collect();
    Ok(evaluate(&truth, &predicted))
}

pub fn run(args: EvalArgs) -> Result<()> {
    let classifier =
        Classifier::from_dir(&args.model).with_context(|| format!("loading model from {}", args.model.display()))?;
    let opts = DecodeOptions {
        target_rate: classifier.meta().features.sample_rate,
        max_seconds: classifier.meta().analysis_seconds,
        ..DecodeOptions::default()
    };
    let (clips, _) = crate::train::load_folder(&args.data, &opts)?;
    let full = classify_and_score(&classifier, &clips, None)?;
    let crop = classify_and_score(&classifier, &clips, Some(args.crop_ms / 1000.0))?;
    println!("model {}  data {}\n\n{full}", classifier.meta().model_version, args.data.display());
    println!("{:.0} ms crops after the onset: top-1 {:.4}  macro-F1 {:.4}", args.crop_ms, crop.top1, crop.macro_f1);
    if let Some(path) = &args.json {
        let json = serde_json::json!({
            "model_version": classifier.meta().model_version,
            "data": args.data,
            "full": full,
            "crop": { "ms": args.crop_ms, "evaluation": crop },
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    if let Some(path) = &args.png {
        crate::confusion_png::write(&full, path).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
