//! `cargo xtask eval --data DIR [--model DIR ...]`: top-1, macro-F1, per-class precision /
//! recall / F1, the confusion matrix and calibration of one or more models over a labelled folder,
//! on the whole folder and on subsets defined by the data's MANIFEST.csv (files from sources or
//! kits training never saw, acoustic and electronic drums), each with a 95% interval from a
//! bootstrap over kits (`source_group`). Several models (training seeds) give the seed spread.
//! The crop figures score short onset crops as the real-time path sees them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use drumsort_core::classifier::{decide_scores, prepare_features, Classifier, ModelMeta, Prediction};
use drumsort_core::decode::DecodeOptions;
use drumsort_core::DrumClass;
use rayon::prelude::*;

use crate::dataset::manifest::{self, ManifestRow, Seen, Subset};
use crate::dataset::Clip;
use crate::metrics::bootstrap::{group_bootstrap, group_items, BootstrapOptions, Interval};
use crate::metrics::calibration::{calibration, Calibration, DEFAULT_BINS};
use crate::metrics::{evaluate, Evaluation};

mod confusion_png;
mod report;

/// Options of `cargo xtask eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Folder of <class>/ subfolders with canonical class names.
    #[arg(long, default_value = "../shared/drumdata/val")]
    pub data: PathBuf,
    /// Model directory (drumsort.safetensors + drumsort.json). Repeat it for several models (one
    /// per training seed): each is scored, then the mean and min-max over them.
    #[arg(long, default_value = "assets/model")]
    pub model: Vec<PathBuf>,
    /// The data's MANIFEST.csv [default: in the parent of --data]. Defines the subsets (unseen
    /// sources and kits, acoustic, electronic) and the kits the intervals resample.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Bootstrap resamples for the 95% intervals.
    #[arg(long, default_value_t = 1000)]
    pub resamples: usize,
    /// Also evaluate on crops of this many milliseconds after the onset.
    #[arg(long, default_value_t = 50.0)]
    pub crop_ms: f32,
    /// Score the --model dirs as one model, the mean of their sigmoid scores (decided with the
    /// mean of their `reject_other` thresholds), instead of each on its own.
    #[arg(long)]
    pub ensemble: bool,
    /// Test-time crops: also score each file cut to these many milliseconds after the onset
    /// (comma-separated) and decide the whole-file figures on the mean of all the views' scores.
    /// Each view costs one more pass of the network per file.
    #[arg(long, value_delimiter = ',')]
    pub views_ms: Vec<f32>,
    /// Write the figures as JSON here (every subset, the reliability tables, each file's prediction).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the confusion matrix (whole folder) as a PNG picture here; with several models, one
    /// per model with -1, -2, ... before the extension.
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
    let preds = classify(&classifier, clips, crop_seconds)?;
    let truth: Vec<_> = clips.iter().map(|c| c.class).collect();
    Ok(evaluate(&truth, &preds.iter().map(|p| p.class).collect::<Vec<_>>()))
}

/// Each clip's scores and decision.
fn classify(classifier: &Classifier, clips: &[Clip], crop_seconds: Option<f32>) -> Result<Vec<Prediction>> {
    // A crop is what the real-time path sees: exactly that much audio after the onset, not
    // padded out to the full analysis length.
    let feats: Vec<_> = clips
        .par_iter()
        .map(|c| match crop_seconds {
            Some(s) => prepare_features(classifier.mel(), &c.samples, s),
            None => classifier.features(&c.samples),
        })
        .collect();
    Ok(classifier.predict(&feats)?)
}

/// The decided class and its confidence (the sigmoid score of that class) for each clip of one
/// model, or of several as one (the mean of their scores, decided with their mean threshold),
/// each model hearing every view of a clip (`None`: the whole clip; a crop: that many seconds).
fn decisions(members: &[(&Classifier, &[Clip])], views: &[Option<f32>]) -> Result<Vec<(DrumClass, f32)>> {
    let runs = members
        .iter()
        .flat_map(|(c, clips)| views.iter().map(move |&v| classify(c, clips, v)))
        .collect::<Result<Vec<_>>>()?;
    let n = runs.len() as f32;
    let reject = members.iter().map(|(c, _)| c.meta().thresholds.reject_other).sum::<f32>() / members.len() as f32;
    Ok((0..runs[0].len())
        .map(|i| {
            let mut mean = [0f32; DrumClass::COUNT];
            for run in &runs {
                for (m, s) in mean.iter_mut().zip(run[i].scores) {
                    *m += s / n;
                }
            }
            decide_scores(&mean, reject)
        })
        .collect())
}

/// The evaluated files and what the manifest says of them.
pub struct Files {
    /// Path of each clip as listed under --data.
    pub paths: Vec<PathBuf>,
    pub truth: Vec<DrumClass>,
    /// The manifest, if one was found.
    pub manifest: Option<PathBuf>,
    pub rows: Vec<ManifestRow>,
    /// Each clip's row in `rows`.
    pub row_of: Vec<Option<usize>>,
    /// Rows under the evaluated folder not evaluated: the file is not on disk / it did not decode.
    pub missing_on_disk: Vec<String>,
    pub not_decoded: Vec<String>,
    pub seen: Seen,
}

impl Files {
    fn row(&self, i: usize) -> Option<&ManifestRow> {
        self.row_of[i].map(|r| &self.rows[r])
    }

    /// The bootstrap unit of each clip: its kit, or the file itself when it has no row.
    fn group_key(&self, i: usize) -> String {
        match self.row(i) {
            Some(r) => format!("g:{}", r.source_group),
            None => format!("f:{}", self.paths[i].display()),
        }
    }

    /// The clips of `subset`.
    pub fn select(&self, subset: Subset) -> Vec<usize> {
        let rows: Vec<Option<&ManifestRow>> = (0..self.paths.len()).map(|i| self.row(i)).collect();
        if self.manifest.is_none() && subset != Subset::All {
            return Vec::new();
        }
        subset.select(&rows, &self.seen)
    }

    /// Clips without a manifest row (only in `all`, each its own bootstrap group).
    pub fn without_row(&self) -> Vec<&Path> {
        (0..self.paths.len()).filter(|&i| self.row_of[i].is_none()).map(|i| self.paths[i].as_path()).collect()
    }
}

/// Reads the manifest and matches the clips with it. A missing or unreadable manifest is a
/// warning: then only `all` is scored, bootstrapping files.
fn join_manifest(args: &EvalArgs, clips: &[Clip]) -> Files {
    let mut files = Files {
        paths: clips.iter().map(|c| c.path.clone()).collect(),
        truth: clips.iter().map(|c| c.class).collect(),
        manifest: None,
        rows: Vec::new(),
        row_of: vec![None; clips.len()],
        missing_on_disk: Vec::new(),
        not_decoded: Vec::new(),
        seen: Seen::default(),
    };
    let path =
        args.manifest.clone().unwrap_or_else(|| args.data.parent().unwrap_or(Path::new(".")).join("MANIFEST.csv"));
    let rows = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {}", path.display()))
        .and_then(|text| manifest::parse_manifest(&text).with_context(|| format!("parsing {}", path.display())));
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("warning: {e:#}\n  only the whole folder is scored, and its intervals resample files, not kits");
            return files;
        }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let data = canon(&args.data);
    let prefix = match data.strip_prefix(&dir) {
        Ok(rel) => format!("{}/", manifest::manifest_key(&dir.join(rel), &dir)),
        Err(_) => format!("{}/", data.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()),
    };
    let keys: Vec<String> = clips.iter().map(|c| manifest::manifest_key(&canon(&c.path), &dir)).collect();
    let joined = manifest::join(&rows, &keys, &prefix);
    for &r in &joined.unmatched_rows {
        let p = &rows[r].path;
        if dir.join(p).exists() {
            files.not_decoded.push(p.clone());
        } else {
            files.missing_on_disk.push(p.clone());
        }
    }
    files.seen = Seen::from_rows(&rows);
    files.row_of = joined.row_of;
    files.rows = rows;
    files.manifest = Some(path);
    files
}

/// One model's figures on one subset.
#[derive(serde::Serialize)]
pub struct SubsetFigures {
    pub subset: &'static str,
    pub n: usize,
    /// Distinct kits (bootstrap groups) among its files.
    pub kits: usize,
    pub top1: Interval,
    pub macro_f1: Interval,
    pub ece: Interval,
    pub evaluation: Evaluation,
    pub calibration: Calibration,
}

/// One file's prediction, for the JSON.
#[derive(serde::Serialize)]
pub struct ClipPrediction {
    pub path: String,
    pub truth: DrumClass,
    pub predicted: DrumClass,
    pub confidence: f32,
}

/// One model's figures on every subset.
#[derive(serde::Serialize)]
pub struct ModelFigures {
    pub dir: PathBuf,
    pub model_version: String,
    pub subsets: Vec<SubsetFigures>,
    /// Whole folder, crops of `crop_ms` after the onset.
    pub crop: Evaluation,
    pub clips: Vec<ClipPrediction>,
}

impl ModelFigures {
    pub fn subset(&self, name: &str) -> Option<&SubsetFigures> {
        self.subsets.iter().find(|s| s.subset == name)
    }
}

/// Scores predictions on one subset: point figures and kit-bootstrap intervals.
fn subset_figures(files: &Files, subset: Subset, preds: &[(DrumClass, f32)], opts: &BootstrapOptions) -> SubsetFigures {
    let idx = files.select(subset);
    let keys: Vec<String> = idx.iter().map(|&i| files.group_key(i)).collect();
    let groups = group_items(&keys);
    let truth: Vec<DrumClass> = idx.iter().map(|&i| files.truth[i]).collect();
    let pred: Vec<(DrumClass, f32)> = idx.iter().map(|&i| preds[i]).collect();
    let stats = |items: &[usize]| {
        let t: Vec<DrumClass> = items.iter().map(|&i| truth[i]).collect();
        let p: Vec<DrumClass> = items.iter().map(|&i| pred[i].0).collect();
        let conf: Vec<f32> = items.iter().map(|&i| pred[i].1).collect();
        let ok: Vec<bool> = t.iter().zip(&p).map(|(a, b)| a == b).collect();
        let e = evaluate(&t, &p);
        [e.top1, e.macro_f1, calibration(&conf, &ok, DEFAULT_BINS).ece]
    };
    let [top1, macro_f1, ece] = group_bootstrap(&groups, opts, stats);
    let p: Vec<DrumClass> = pred.iter().map(|p| p.0).collect();
    let conf: Vec<f32> = pred.iter().map(|p| p.1).collect();
    let ok: Vec<bool> = truth.iter().zip(&p).map(|(a, b)| a == b).collect();
    SubsetFigures {
        subset: subset.name(),
        n: idx.len(),
        kits: groups.len(),
        top1,
        macro_f1,
        ece,
        evaluation: evaluate(&truth, &p),
        calibration: calibration(&conf, &ok, DEFAULT_BINS),
    }
}

/// Decoding depends on the model's rate and analysis length; models trained alike share one.
fn decode_options(meta: &ModelMeta) -> DecodeOptions {
    DecodeOptions {
        target_rate: meta.features.sample_rate,
        max_seconds: meta.analysis_seconds,
        ..DecodeOptions::default()
    }
}

pub fn run(args: EvalArgs) -> Result<()> {
    let classifiers: Vec<Classifier> = args
        .model
        .iter()
        .map(|dir| Classifier::from_dir(dir).with_context(|| format!("loading model from {}", dir.display())))
        .collect::<Result<_>>()?;
    let mut decoded: HashMap<(u32, u32), Vec<Clip>> = HashMap::new();
    let key = |c: &Classifier| (c.meta().features.sample_rate, c.meta().analysis_seconds.to_bits());
    for c in &classifiers {
        if let std::collections::hash_map::Entry::Vacant(slot) = decoded.entry(key(c)) {
            slot.insert(crate::folder::load_folder(&args.data, &decode_options(c.meta()))?.0);
        }
    }
    let first = &decoded[&key(&classifiers[0])];
    if decoded
        .values()
        .any(|clips| clips.len() != first.len() || clips.iter().zip(first).any(|(a, b)| a.path != b.path))
    {
        bail!("the models decode different sets of files (different rates or lengths); evaluate them separately");
    }
    let files = join_manifest(&args, first);
    let opts = BootstrapOptions { resamples: args.resamples, ..BootstrapOptions::default() };
    let members: Vec<(&Classifier, &[Clip])> = classifiers.iter().map(|c| (c, decoded[&key(c)].as_slice())).collect();
    // One entry per scored model: each --model, or with --ensemble all of them as one.
    type Scored<'a> = (PathBuf, String, &'a [(&'a Classifier, &'a [Clip])]);
    let scored: Vec<Scored> = if args.ensemble {
        let versions: Vec<&str> = classifiers.iter().map(|c| c.meta().model_version.as_str()).collect();
        let dirs: Vec<String> = args.model.iter().map(|d| d.display().to_string()).collect();
        let version = format!("ensemble of {}: {}", versions.len(), versions.join(" + "));
        vec![(PathBuf::from(dirs.join(" + ")), version, &members[..])]
    } else {
        args.model
            .iter()
            .zip(&members)
            .map(|(dir, m)| (dir.clone(), m.0.meta().model_version.clone(), std::slice::from_ref(m)))
            .collect()
    };
    // The whole clip, then each test-time crop.
    let views: Vec<Option<f32>> =
        std::iter::once(None).chain(args.views_ms.iter().map(|ms| Some(ms / 1000.0))).collect();
    let mut models = Vec::new();
    for (dir, model_version, members) in scored {
        let preds = decisions(members, &views)?;
        let crop_preds = decisions(members, &[Some(args.crop_ms / 1000.0)])?;
        let crop = evaluate(&files.truth, &crop_preds.iter().map(|p| p.0).collect::<Vec<_>>());
        let subsets = Subset::ALL
            .iter()
            .filter(|&&s| s == Subset::All || files.manifest.is_some())
            .map(|&s| subset_figures(&files, s, &preds, &opts))
            .collect();
        // Paths as the manifest writes them (`val/kick/foo.wav`) where there is a row.
        let clips = (0..files.paths.len())
            .map(|i| ClipPrediction {
                path: files.row(i).map_or_else(|| files.paths[i].to_string_lossy().into_owned(), |r| r.path.clone()),
                truth: files.truth[i],
                predicted: preds[i].0,
                confidence: preds[i].1,
            })
            .collect();
        models.push(ModelFigures { dir, model_version, subsets, crop, clips });
    }
    print!("{}", report::text(&args, &files, &opts, &models));
    if let Some(path) = &args.json {
        let json = report::json(&args, &files, &opts, &models);
        std::fs::write(path, serde_json::to_string_pretty(&json)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    if let Some(path) = &args.png {
        for (i, m) in models.iter().enumerate() {
            let out = if models.len() == 1 { path.clone() } else { numbered(path, i + 1) };
            let all = &m.subsets[0].evaluation;
            confusion_png::write(all, &out).with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {}", out.display());
        }
    }
    Ok(())
}

/// `dir/name.png` -> `dir/name-2.png`.
fn numbered(path: &Path, n: usize) -> PathBuf {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{n}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{n}"),
    };
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::tests::{as_classifier, clips, tiny};
    use crate::fit::{train, TrainConfig};
    use drumsort_core::mel::MelConfig;

    #[test]
    fn an_ensemble_decides_on_the_mean_of_its_members_scores() {
        let data = clips();
        let mel_cfg = MelConfig::default();
        let model = |seed: u64| {
            let cfg = TrainConfig { seed, track_prob: 0.0, ..tiny() };
            let run = train(&cfg, &mel_cfg, &data, &[], &data, &[], |_, _| {}, |_| {}).unwrap();
            as_classifier(&run, &format!("s{seed}"), &mel_cfg, cfg.analysis_seconds)
        };
        let (a, b) = (model(1), model(2));
        let alone = |c: &Classifier| decisions(&[(c, &data[..])], &[None]).unwrap();
        let scores = |c: &Classifier| classify(c, &data, None).unwrap();
        assert_eq!(decisions(&[(&a, &data[..]), (&a, &data[..])], &[None]).unwrap(), alone(&a), "a model with itself");
        let both = decisions(&[(&a, &data[..]), (&b, &data[..])], &[None]).unwrap();
        // Each decision is the best class of the two runs' mean scores, at that mean.
        let decided_on_the_mean =
            |decided: &[(DrumClass, f32)], x: &[Prediction], y: &[Prediction], class_too: bool| {
                for (i, (class, confidence)) in decided.iter().enumerate() {
                    let mean: Vec<f32> = x[i].scores.iter().zip(&y[i].scores).map(|(p, q)| (p + q) / 2.0).collect();
                    let best = (0..DrumClass::COUNT).max_by(|&p, &q| mean[p].total_cmp(&mean[q])).unwrap();
                    if class_too {
                        assert_eq!(class.index(), best, "clip {i}");
                    }
                    assert!((confidence - mean[best]).abs() < 1e-6, "clip {i}: {confidence} vs {}", mean[best]);
                }
            };
        let sa = scores(&a);
        decided_on_the_mean(&both, &sa, &scores(&b), true);
        assert_ne!(both, alone(&a), "two different models disagree somewhere with one of them");

        // Test-time crops: one model over the whole clip and a 50 ms crop decides on the mean of
        // the two views' scores.
        let views = decisions(&[(&a, &data[..])], &[None, Some(0.05)]).unwrap();
        decided_on_the_mean(&views, &sa, &classify(&a, &data, Some(0.05)).unwrap(), false);
        assert_ne!(views, alone(&a), "a 50 ms crop changes some scores");
    }
}
