//! What `cargo xtask eval` prints and writes: one model's full report (subset table, per-class
//! figures and confusion of the whole folder and the unseen sources, reliability table), or for
//! several models (training seeds) each model's figures per subset with their mean and min-max.

use std::fmt::Write;

use drumsort_core::DrumClass;
use serde_json::{json, Value};

use super::{ClipPrediction, EvalArgs, Files, ModelFigures};
use crate::dataset::manifest::Subset;
use crate::metrics::bootstrap::{BootstrapOptions, Interval};
use crate::metrics::calibration::DEFAULT_BINS;

/// What "confidence" is, for the printout and the JSON.
const CONFIDENCE: &str = "the sigmoid score of the decided class (the model's scores are independent \
     sigmoids, not a softmax); correct = decided class is the label";

/// Below this many kits a subset's interval is marked: a bootstrap over so few groups knows
/// little of the kits it never drew, and its interval is too narrow.
const FEW_KITS: usize = 10;

/// Subsets whose per-class table and confusion matrix are printed (the JSON has every subset's).
const DETAILED: [Subset; 2] = [Subset::All, Subset::UnseenSource];

/// Mean, min and max of one figure across models.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Spread {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

pub fn spread(values: &[f64]) -> Spread {
    let n = values.len().max(1) as f64;
    Spread {
        mean: values.iter().sum::<f64>() / n,
        min: values.iter().copied().fold(f64::INFINITY, f64::min),
        max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    }
}

fn ci(i: &Interval) -> String {
    format!("{:.3} [{:.3}, {:.3}]", i.estimate, i.lo, i.hi)
}

fn sp(s: &Spread) -> String {
    format!("{:.3} ({:.3}-{:.3})", s.mean, s.min, s.max)
}

/// Header lines: inputs, how files matched the manifest, how intervals are made.
fn header(out: &mut String, args: &EvalArgs, files: &Files, opts: &BootstrapOptions, models: &[ModelFigures]) {
    for (i, m) in models.iter().enumerate() {
        let tag = if models.len() > 1 { format!("model {} ", i + 1) } else { "model ".into() };
        let _ = writeln!(out, "{tag}{}  ({})", m.model_version, m.dir.display());
    }
    let _ = writeln!(out, "data {}  ({} files decoded)", args.data.display(), files.paths.len());
    match &files.manifest {
        Some(p) => {
            let without = files.without_row();
            let _ = writeln!(
                out,
                "manifest {}: {} files matched, {} without a row, {} listed rows missing on disk, {} listed rows not decoded",
                p.display(),
                files.paths.len() - without.len(),
                without.len(),
                files.missing_on_disk.len(),
                files.not_decoded.len()
            );
            let lists = [
                (
                    "no manifest row (in `all` only)",
                    without.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
                ),
                ("listed but not on disk", files.missing_on_disk.clone()),
                ("listed but not decoded", files.not_decoded.clone()),
            ];
            for (what, items) in lists {
                for item in items.iter().take(10) {
                    let _ = writeln!(out, "  {what}: {item}");
                }
                if items.len() > 10 {
                    let _ = writeln!(out, "  {what}: ... and {} more (all in --json)", items.len() - 10);
                }
            }
        }
        None => {
            let _ = writeln!(out, "no manifest: only `all`, and its intervals resample files, not kits");
        }
    }
    let _ = writeln!(
        out,
        "95% intervals: percentile bootstrap over kits (source_group), {} resamples, seed {}",
        opts.resamples, opts.seed
    );
    let _ = writeln!(out, "confidence: {CONFIDENCE}; ECE over {DEFAULT_BINS} equal-width bins");
    if !args.views_ms.is_empty() {
        let ms: Vec<String> = args.views_ms.iter().map(|v| format!("{v:.0}")).collect();
        let _ = writeln!(
            out,
            "test-time crops: each file's scores averaged over the whole clip and {} ms crops",
            ms.join(", ")
        );
    }
    let _ = writeln!(out, "subsets:");
    for s in Subset::ALL {
        let _ = writeln!(out, "  {:<14} {}", s.name(), s.definition());
    }
}

/// The text report.
pub fn text(args: &EvalArgs, files: &Files, opts: &BootstrapOptions, models: &[ModelFigures]) -> String {
    let mut out = String::new();
    header(&mut out, args, files, opts, models);
    let _ = writeln!(
        out,
        "\n{:<14} {:>5} {:>5} {:>5}  {:<22} {:<22} {:<22}",
        "subset", "model", "n", "kits", "top-1 [95% CI]", "macro-F1 [95% CI]", "ECE [95% CI]"
    );
    let names: Vec<&str> = models[0].subsets.iter().map(|s| s.subset).collect();
    for name in &names {
        let figs: Vec<_> = models.iter().filter_map(|m| m.subset(name)).collect();
        for (i, f) in figs.iter().enumerate() {
            let label = if i == 0 { *name } else { "" };
            let model = if models.len() > 1 { (i + 1).to_string() } else { String::new() };
            let kits = format!("{}{}", f.kits, if f.kits < FEW_KITS { "*" } else { "" });
            let _ = writeln!(
                out,
                "{label:<14} {model:>5} {:>5} {kits:>5}  {:<22} {:<22} {:<22}",
                f.n,
                ci(&f.top1),
                ci(&f.macro_f1),
                ci(&f.ece)
            );
        }
        if figs.len() > 1 {
            let [t, m, e] = [
                spread(&figs.iter().map(|f| f.top1.estimate).collect::<Vec<_>>()),
                spread(&figs.iter().map(|f| f.macro_f1.estimate).collect::<Vec<_>>()),
                spread(&figs.iter().map(|f| f.ece.estimate).collect::<Vec<_>>()),
            ];
            let _ = writeln!(out, "{:<14} {:>17}  {:<22} {:<22} {:<22}", "", "mean (min-max)", sp(&t), sp(&m), sp(&e));
        }
    }
    if models[0].subsets.iter().any(|f| f.kits < FEW_KITS) {
        let _ = writeln!(
            out,
            "* fewer than {FEW_KITS} kits: the interval cannot reflect kits unlike these few; read it as too narrow"
        );
    }
    let crop = spread(&models.iter().map(|m| m.crop.top1).collect::<Vec<_>>());
    let crop_f1 = spread(&models.iter().map(|m| m.crop.macro_f1).collect::<Vec<_>>());
    if models.len() == 1 {
        let _ = writeln!(
            out,
            "{:.0} ms crops after the onset (all): top-1 {:.4}  macro-F1 {:.4}",
            args.crop_ms, crop.mean, crop_f1.mean
        );
        single_details(&mut out, &models[0]);
    } else {
        let _ = writeln!(
            out,
            "{:.0} ms crops after the onset (all): top-1 {}  macro-F1 {}",
            args.crop_ms,
            sp(&crop),
            sp(&crop_f1)
        );
        per_class_spread(&mut out, models);
        let clips: Vec<&[ClipPrediction]> = models.iter().map(|m| m.clips.as_slice()).collect();
        wrong_everywhere(&mut out, &clips);
    }
    out.lines().map(|l| l.trim_end().to_string() + "\n").collect()
}

/// One model: per-class tables and confusion matrices, and the reliability table of `all`.
fn single_details(out: &mut String, m: &ModelFigures) {
    for s in DETAILED {
        if let Some(f) = m.subset(s.name()) {
            let _ = writeln!(out, "\n== {} ({})\n{}", s.name(), s.definition(), f.evaluation);
        }
    }
    let c = &m.subsets[0].calibration;
    let _ = writeln!(
        out,
        "reliability (all): ECE {:.4}, mean confidence {:.3} vs accuracy {:.3} ({})",
        c.ece,
        c.mean_confidence,
        c.accuracy,
        if c.mean_confidence > c.accuracy { "over-confident" } else { "under-confident" }
    );
    let _ = writeln!(out, "{:<13} {:>5} {:>10} {:>9}", "confidence", "n", "mean conf", "accuracy");
    for b in c.bins.iter().filter(|b| b.n > 0) {
        let range = format!("{:.3}-{:.3}", b.lo, b.hi);
        let _ = writeln!(out, "{range:<13} {:>5} {:>10.3} {:>9.3}", b.n, b.confidence, b.accuracy);
    }
}

/// Several models: per-class F1 of each, with mean and min-max, for the detailed subsets.
fn per_class_spread(out: &mut String, models: &[ModelFigures]) {
    for s in DETAILED {
        let figs: Vec<_> = models.iter().filter_map(|m| m.subset(s.name())).collect();
        if figs.len() != models.len() {
            continue;
        }
        let _ = write!(out, "\nper-class F1, {} ({})\n{:<11} {:>7}", s.name(), s.definition(), "class", "support");
        for i in 0..models.len() {
            let _ = write!(out, " {:>6}", format!("m{}", i + 1));
        }
        let _ = writeln!(out, "  mean (min-max)");
        for c in DrumClass::ALL {
            let support = figs[0].evaluation.per_class[c.index()].support;
            if support == 0 {
                continue;
            }
            let f1: Vec<f64> = figs.iter().map(|f| f.evaluation.per_class[c.index()].f1).collect();
            let _ = write!(out, "{:<11} {support:>7}", c.as_str());
            for v in &f1 {
                let _ = write!(out, " {v:>6.3}");
            }
            let _ = writeln!(out, "  {}", sp(&spread(&f1)));
        }
    }
    let _ = writeln!(out, "(confusion matrices and reliability tables of each model: --json)");
}

/// Several models: how many files each number of them names wrong, and the files every one of
/// them names wrong (label audits start there) with what they were named. Those files bound
/// top-1 for models like these: even naming every other file right leaves them wrong.
fn wrong_everywhere(out: &mut String, models: &[&[ClipPrediction]]) {
    let n = models[0].len();
    let wrong_in = |i: usize| models.iter().filter(|m| m[i].predicted != m[i].truth).count();
    let counts: Vec<usize> = (0..n).map(wrong_in).collect();
    let _ = write!(out, "\nfiles named wrong by k of the {} models (k: files):", models.len());
    for k in 0..=models.len() {
        let _ = write!(out, " {k}: {}", counts.iter().filter(|&&c| c == k).count());
    }
    let everywhere: Vec<usize> = (0..n).filter(|&i| counts[i] == models.len()).collect();
    let _ = writeln!(
        out,
        "\n{} files ({:.1} %) named wrong by every model; naming every other file right would give top-1 {:.3}",
        everywhere.len(),
        100.0 * everywhere.len() as f64 / n.max(1) as f64,
        1.0 - everywhere.len() as f64 / n.max(1) as f64
    );
    for i in everywhere {
        let mut times = [0usize; DrumClass::COUNT];
        for m in models {
            times[m[i].predicted.index()] += 1;
        }
        let mut named: Vec<DrumClass> = DrumClass::ALL.into_iter().filter(|c| times[c.index()] > 0).collect();
        // Most often first; a stable sort keeps class order among equals.
        named.sort_by_key(|c| std::cmp::Reverse(times[c.index()]));
        let named: Vec<String> = named.iter().map(|c| format!("{} x{}", c.as_str(), times[c.index()])).collect();
        let _ =
            writeln!(out, "  {:<10} named {:<28} {}", models[0][i].truth.as_str(), named.join(", "), models[0][i].path);
    }
}

/// The JSON document: inputs and definitions, each model's figures, the spread over models.
pub fn json(args: &EvalArgs, files: &Files, opts: &BootstrapOptions, models: &[ModelFigures]) -> Value {
    let names: Vec<&str> = models[0].subsets.iter().map(|s| s.subset).collect();
    let summary: serde_json::Map<String, Value> = names
        .iter()
        .map(|name| {
            let figs: Vec<_> = models.iter().filter_map(|m| m.subset(name)).collect();
            let of = |f: &dyn Fn(&super::SubsetFigures) -> f64| spread(&figs.iter().map(|x| f(x)).collect::<Vec<_>>());
            let value = json!({
                "n": figs[0].n,
                "kits": figs[0].kits,
                "top1": of(&|f| f.top1.estimate),
                "macro_f1": of(&|f| f.macro_f1.estimate),
                "ece": of(&|f| f.ece.estimate),
            });
            (name.to_string(), value)
        })
        .collect();
    let subsets: Vec<Value> = Subset::ALL
        .iter()
        .filter(|s| names.contains(&s.name()))
        .map(|s| json!({"name": s.name(), "definition": s.definition()}))
        .collect();
    let first = &models[0];
    json!({
        "data": args.data,
        "manifest": files.manifest,
        "join": {
            "files": files.paths.len(),
            "without_row": files.without_row(),
            "rows_missing_on_disk": files.missing_on_disk,
            "rows_not_decoded": files.not_decoded,
        },
        "bootstrap": { "unit": "source_group", "resamples": opts.resamples, "seed": opts.seed, "level": opts.level },
        "confidence": CONFIDENCE,
        "ece_bins": DEFAULT_BINS,
        "subsets": subsets,
        "crop_ms": args.crop_ms,
        "views_ms": args.views_ms,
        "models": models,
        "summary": summary,
        // As before multi-model evaluation: the first model's whole-folder figures.
        "model_version": first.model_version,
        "full": first.subsets[0].evaluation,
        "crop": { "ms": args.crop_ms, "evaluation": first.crop },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_every_model_names_wrong_are_listed_with_what_they_were_named() {
        use DrumClass::*;
        let clip =
            |path: &str, truth, predicted| ClipPrediction { path: path.into(), truth, predicted, confidence: 0.9 };
        let a = [clip("k.wav", Kick, Kick), clip("t.wav", Tom, Kick), clip("s.wav", Snare, Clap)];
        let b = [clip("k.wav", Kick, Kick), clip("t.wav", Tom, Kick), clip("s.wav", Snare, Snare)];
        let c = [clip("k.wav", Kick, Tom), clip("t.wav", Tom, Perc), clip("s.wav", Snare, Snare)];
        let mut out = String::new();
        wrong_everywhere(&mut out, &[&a, &b, &c]);
        assert!(out.contains("(k: files): 0: 0 1: 2 2: 0 3: 1"), "{out}");
        assert!(
            out.contains(
                "1 files (33.3 %) named wrong by every model; naming every other file right would give top-1 0.667"
            ),
            "{out}"
        );
        let listed: Vec<&str> = out.lines().filter(|l| l.starts_with("  ")).collect();
        assert_eq!(listed.len(), 1, "{out}");
        assert!(
            listed[0].contains("tom") && listed[0].contains("kick x2, perc x1") && listed[0].ends_with("t.wav"),
            "{out}"
        );
    }

    #[test]
    fn spread_of_seeds() {
        let s = spread(&[0.7, 0.8, 0.75]);
        assert!((s.mean - 0.75).abs() < 1e-12 && s.min == 0.7 && s.max == 0.8);
        assert_eq!(sp(&s), "0.750 (0.700-0.800)");
    }
}
