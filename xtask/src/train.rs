//! `cargo xtask train`: decode the labelled folders once, train, tune the reject threshold on
//! validation, and write `assets/model/` (`assets/hit-model/` with `--hits-only`; weights + metadata with the command, data hash and
//! figures that produced them).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use drumsort_core::classifier::{ModelMeta, Thresholds, META_FILE, WEIGHTS_FILE};
use drumsort_core::dataset;
use drumsort_core::decode::DecodeOptions;
use drumsort_core::hits::{CONTEXT_S, MAX_LOOKAHEAD_S, MIN_LOOKAHEAD_S, PRE_ROLL_S};
use drumsort_core::mel::MelConfig;
use drumsort_core::onset::{detect_all, OnsetConfig};
use drumsort_core::train::{train, TrainConfig};
use drumsort_core::DrumClass;
use indicatif::{ProgressBar, ProgressStyle};

use crate::folder::{load_folder, load_items};
use crate::performances::{KitKind, Play};

/// Options of `cargo xtask train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Training folder of <class>/ subfolders.
    #[arg(long, default_value = "../shared/drumdata/train")]
    pub train: PathBuf,
    /// Validation folder of <class>/ subfolders (epoch and threshold selection).
    #[arg(long, default_value = "../shared/drumdata/val")]
    pub val: PathBuf,
    /// Where the weights and metadata go (default: assets/model, assets/hit-model with
    /// --hits-only).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long)]
    pub samples_per_epoch: Option<usize>,
    /// Drum tracks played from the train one-shots (`make-performances`' generator, seeded by
    /// --seed) whose hits become training examples; 0 trains on one-shots alone (default 32, 128
    /// with --hits-only).
    #[arg(long)]
    pub tracks: Option<usize>,
    /// Share of batches made of track hits (default: the training config's).
    #[arg(long)]
    pub track_prob: Option<f64>,
    /// Share of drum examples layered with a drum commonly struck with them (kick and hat, snare
    /// and clap, ...; default 0, the shipped recipe): an experiment.
    #[arg(long)]
    pub layer_prob: Option<f64>,
    /// Share of examples with two bands of mel bins masked (SpecAugment; default 0): an
    /// experiment.
    #[arg(long)]
    pub spec_mask: Option<f64>,
    /// Share of batches mixed with themselves in another order (mixup on the log-mel input,
    /// targets mixed alike; default 0).
    #[arg(long)]
    pub mixup: Option<f64>,
    /// Label smoothing `e`: targets become `y * (1 - e) + e / 2` (default 0).
    #[arg(long)]
    pub label_smoothing: Option<f64>,
    /// Scales how often each timbre augmentation (EQ, pitch, saturation, room, codec, ...)
    /// applies (default 1).
    #[arg(long)]
    pub aug_strength: Option<f32>,
    /// Probability of each extra timbre change on one-shots: a random EQ curve, transient
    /// shaping, a faster decay (default 0).
    #[arg(long)]
    pub timbre: Option<f64>,
    /// Validate and save an exponential moving average of the weights with this decay per step
    /// (default: the training config's, 0 = off).
    #[arg(long)]
    pub ema_decay: Option<f64>,
    /// Train without taking what was ringing before a hit out of it (the recipe of the models
    /// before `drumsort-c9ebb6d40b2f`): an ablation.
    #[arg(long)]
    pub no_background_removal: bool,
    /// Train the hit model (assets/hit-model/) instead of the one-shot classifier: one-shots
    /// always cropped to a window the hit labeller can give (20-100 ms after the onset), three
    /// quarters of the batches track hits from 128 + 96 acoustic-kit tracks, 3,072 examples an
    /// epoch, a wider network that keeps every frame in its first block, the checkpoint picked on
    /// validation crops at lookaheads of 20, 30 and 50 ms ([`HIT_RECIPE`]; each flag still
    /// overrides).
    #[arg(long)]
    pub hits_only: bool,
    /// Also train on the onsets the detector finds in the training tracks where nothing was
    /// played, labelled with no class, so the hit labeller can tell they are not hits
    /// (`thresholds.hit_floor`).
    #[arg(long)]
    pub non_hits: bool,
    /// Output channels of the conv blocks, comma-separated (default 8,32,48; 16,64,96 with
    /// --hits-only).
    #[arg(long, value_delimiter = ',')]
    pub channels: Option<Vec<usize>>,
    /// Time pooling of the conv blocks, comma-separated (default 4,2,1; 1,2,1 with --hits-only).
    #[arg(long, value_delimiter = ',')]
    pub time_pool: Option<Vec<usize>>,
    /// Share of the training tracks' kit pieces that are two one-shots of the class struck as
    /// one (kits no sample pack holds; default 0): an experiment.
    #[arg(long, default_value_t = 0.0)]
    pub kit_blend: f64,
    /// Drum tracks played, on top of --tracks, with the acoustic kits of the train split (one
    /// recorded kit per track, played by a drummer: `make-performances --kind acoustic`; default
    /// 0, 96 with --hits-only).
    #[arg(long)]
    pub acoustic_tracks: Option<usize>,
    /// FFT size of the log-mel features (default 1024 at 44.1 kHz): with --hop, a finer time
    /// resolution for short hits. An experiment; the model records its features and the hit
    /// labeller computes them that way.
    #[arg(long)]
    pub n_fft: Option<usize>,
    /// Hop of the log-mel features in samples at 44.1 kHz (default 441, 10 ms).
    #[arg(long)]
    pub hop: Option<usize>,
    /// Train on about this share of the training files, as whole kits (`source_group` in the
    /// data's MANIFEST.csv, taken in the order of a hash of their name): a learning curve.
    #[arg(long, default_value_t = 1.0)]
    pub kit_fraction: f64,
}

/// What `--hits-only` changes.
pub struct HitRecipe {
    pub channels: [usize; 3],
    pub time_pool: [usize; 3],
    /// Share of track-hit batches.
    pub track_prob: f64,
    pub tracks: Tracks,
    /// Examples per epoch (more than the one-shot model's: more tracks to learn from).
    pub samples_per_epoch: usize,
    /// Shortest and longest window, ms from the pre-roll: every window the hit labeller can
    /// give, from the shortest lookahead to the longest.
    pub crop_ms: (f32, f32),
}

/// The hit model's recipe.
pub const HIT_RECIPE: HitRecipe = HitRecipe {
    channels: [16, 64, 96],
    time_pool: [1, 2, 1],
    track_prob: 0.75,
    tracks: Tracks { any: 128, acoustic: 96 },
    samples_per_epoch: 3072,
    crop_ms: ((PRE_ROLL_S + MIN_LOOKAHEAD_S) * 1000.0, (PRE_ROLL_S + MAX_LOOKAHEAD_S) * 1000.0),
};

/// The training tracks: played from every one-shot of the train split (`make-performances
/// --kind any`) and from its acoustic kits (`--kind acoustic`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tracks {
    pub any: usize,
    pub acoustic: usize,
}

/// The training config and the training tracks that `args` ask for.
pub fn config(args: &TrainArgs) -> (TrainConfig, Tracks) {
    let mut cfg = TrainConfig::default();
    let mut tracks = Tracks { any: 32, acoustic: 0 };
    if args.hits_only {
        cfg.hits_only = true;
        cfg.channels = Some(HIT_RECIPE.channels.to_vec());
        cfg.time_pool = Some(HIT_RECIPE.time_pool.to_vec());
        cfg.track_prob = HIT_RECIPE.track_prob;
        cfg.crop_ms = HIT_RECIPE.crop_ms;
        cfg.samples_per_epoch = HIT_RECIPE.samples_per_epoch;
        tracks = HIT_RECIPE.tracks;
    }
    if let Some(e) = args.epochs {
        cfg.epochs = e;
    }
    if let Some(s) = args.seed {
        cfg.seed = s;
    }
    if let Some(n) = args.samples_per_epoch {
        cfg.samples_per_epoch = n;
    }
    if let Some(p) = args.layer_prob {
        cfg.layer_prob = p.clamp(0.0, 1.0);
    }
    if let Some(p) = args.mixup {
        cfg.mixup_prob = p.clamp(0.0, 1.0);
    }
    if let Some(e) = args.label_smoothing {
        cfg.label_smoothing = e.clamp(0.0, 0.5);
    }
    if let Some(a) = args.aug_strength {
        cfg.aug_strength = a.max(0.0);
    }
    if let Some(p) = args.timbre {
        cfg.timbre_prob = p.clamp(0.0, 1.0);
    }
    if let Some(p) = args.spec_mask {
        cfg.spec_mask_prob = p.clamp(0.0, 1.0);
    }
    if let Some(d) = args.ema_decay {
        cfg.ema_decay = d.clamp(0.0, 0.9999);
    }
    cfg.background_removal = !args.no_background_removal;
    if let Some(p) = args.track_prob {
        cfg.track_prob = p.clamp(0.0, 1.0);
    }
    if args.channels.is_some() {
        cfg.channels = args.channels.clone();
    }
    if args.time_pool.is_some() {
        cfg.time_pool = args.time_pool.clone();
    }
    let tracks =
        Tracks { any: args.tracks.unwrap_or(tracks.any), acoustic: args.acoustic_tracks.unwrap_or(tracks.acoustic) };
    (cfg, tracks)
}

/// The log-mel features `args` ask for.
fn mel_config(args: &TrainArgs) -> Result<MelConfig> {
    let d = MelConfig::default();
    let cfg = MelConfig { n_fft: args.n_fft.unwrap_or(d.n_fft), hop: args.hop.unwrap_or(d.hop), ..d };
    let context = (CONTEXT_S * cfg.sample_rate as f32) as usize;
    if !(64..=context).contains(&cfg.n_fft) || cfg.hop == 0 || cfg.hop > cfg.n_fft {
        bail!(
            "--n-fft must be 64..={context} (the hit labeller's context) and --hop 1..=n_fft, got {} and {}",
            cfg.n_fft,
            cfg.hop
        );
    }
    Ok(cfg)
}

/// Keeps whole kits (`source_group` in `manifest`) until they hold about `fraction` of the files,
/// in the order of a hash of the kit's name, so a larger fraction keeps the smaller one's kits.
fn keep_kits(items: Vec<(PathBuf, DrumClass)>, manifest: &Path, fraction: f64) -> Result<Vec<(PathBuf, DrumClass)>> {
    use std::collections::HashMap;
    let text = std::fs::read_to_string(manifest).with_context(|| format!("reading {}", manifest.display()))?;
    let root = manifest.parent().unwrap_or(Path::new("."));
    // Columns: split, class, path, ..., source_group, sound_kind, dup_cluster (a free-text
    // license column may hold commas, so the kit is counted from the end).
    let kit_of: HashMap<PathBuf, String> = text
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split(',').collect();
            (cols.len() >= 6).then(|| (root.join(cols[2]), cols[cols.len() - 3].to_string()))
        })
        .collect();
    let kit = |p: &PathBuf| kit_of.get(p).map_or("", String::as_str);
    // Kits in hash order, taken until they hold `fraction` of the files.
    let mut files_per_kit: HashMap<&str, usize> = HashMap::new();
    for (p, _) in &items {
        *files_per_kit.entry(kit(p)).or_default() += 1;
    }
    let mut kits: Vec<(&str, usize)> = files_per_kit.into_iter().collect();
    kits.sort_by_key(|(k, _)| crate::hex_sha256(k.as_bytes()));
    let target = (fraction * items.len() as f64).ceil() as usize;
    let mut taken = 0;
    let kept_kits: std::collections::HashSet<&str> = kits
        .into_iter()
        .take_while(|&(_, n)| {
            let more = taken < target;
            taken += n;
            more
        })
        .map(|(k, _)| k)
        .collect();
    let before = items.len();
    let kept: Vec<_> = items.iter().filter(|(p, _)| kept_kits.contains(kit(p))).cloned().collect();
    eprintln!("kit fraction {fraction}: kept {} of {before} training files", kept.len());
    Ok(kept)
}

/// Annotations less than this apart are one hit struck together.
const TOGETHER_S: f64 = 0.015;

/// Hits cut from `n` tracks played from the one-shots of `dir`: from the hit labeller's pre-roll
/// before each hit to a little past the longest crop.
fn track_hits(
    dir: &Path,
    tracks: Tracks,
    seed: u64,
    cfg: &TrainConfig,
    non_hits: bool,
    kit_blend: f64,
) -> Result<Vec<dataset::HitClip>> {
    let mut hits = Vec::new();
    let t = Instant::now();
    let len_s = cfg.crop_ms.1 / 1000.0 + 0.01;
    let sr = crate::performances::SR;
    let context_s = if cfg.background_removal { CONTEXT_S } else { 0.0 };
    let mut non = 0;
    let mut cut = |audio: &[f32], annotations: &[(f64, DrumClass)]| -> Result<()> {
        hits.extend(dataset::hit_clips(audio, sr, annotations, TOGETHER_S, context_s, PRE_ROLL_S, len_s));
        if non_hits {
            let onset_cfg = OnsetConfig { sensitivity: NON_HIT_SENSITIVITY, ..OnsetConfig::default() };
            let onsets: Vec<f64> =
                detect_all(audio, sr, 512, &onset_cfg).into_iter().map(|(s, _)| s as f64 / f64::from(sr)).collect();
            let clips =
                dataset::non_hit_clips(audio, sr, annotations, &onsets, NON_HIT_TOL_S, context_s, PRE_ROLL_S, len_s);
            non += clips.len();
            hits.extend(clips);
        }
        Ok(())
    };
    let kinds = [(tracks.any, KitKind::Any, seed), (tracks.acoustic, KitKind::Acoustic, seed.wrapping_add(1))];
    for (n, kind, seed) in kinds.into_iter().filter(|k| k.0 > 0) {
        let play = Play { blend_prob: kit_blend, kind };
        crate::performances::for_each_track(dir, n, seed, play, |_, audio, annotations| cut(audio, annotations))?;
    }
    if hits.is_empty() {
        return Ok(hits);
    }
    let non = if non_hits { format!(" ({non} of them onsets where nothing was played)") } else { String::new() };
    eprintln!(
        "cut {} hits{non} from {} tracks ({} of acoustic kits) played from {} in {:.1} s",
        hits.len(),
        tracks.any + tracks.acoustic,
        tracks.acoustic,
        dir.display(),
        t.elapsed().as_secs_f64()
    );
    Ok(hits)
}

/// The detector's sensitivity when it looks for onsets where nothing was played (`--non-hits`):
/// above the default 0.5, so the model also learns the false onsets of a more sensitive setting.
const NON_HIT_SENSITIVITY: f32 = 0.8;
/// A detected onset this far from every annotation is not a hit (`eval-hits`' tolerance).
const NON_HIT_TOL_S: f64 = crate::eval_hits::DEFAULT_TOLERANCE_S;

pub fn run(args: TrainArgs) -> Result<()> {
    let (cfg, tracks) = config(&args);
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
    if args.kit_fraction < 1.0 {
        let manifest = args.train.parent().unwrap_or(Path::new(".")).join("MANIFEST.csv");
        train_items = keep_kits(train_items, &manifest, args.kit_fraction)?;
    }
    let (train_clips, train_hash) = load_items(&args.train, train_items, &opts)?;
    let (val_clips, val_hash) = load_folder(&args.val, &opts)?;
    if train_clips.is_empty() || val_clips.is_empty() {
        bail!("need decodable files in both {} and {}", args.train.display(), args.val.display());
    }

    let hits = track_hits(&args.train, tracks, cfg.seed, &cfg, args.non_hits, args.kit_blend.clamp(0.0, 1.0))?;

    let started = Instant::now();
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} steps  {elapsed_precise} eta {eta}  {msg}")?);
    let trained = train(
        &cfg,
        &mel_cfg,
        &train_clips,
        &hits,
        &val_clips,
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
    meta.model_version = format!("drumsort-{}", &crate::hex_sha256(&weights)[..12]);

    // Tune the reject threshold on validation with the saved weights, then record the figures
    // exactly as `cargo xtask eval` will reproduce them.
    let mut best = (f32::MIN, 0.0f32);
    for t in (0..=12).map(|i| i as f32 * 0.05) {
        meta.thresholds.reject_other = t;
        let eval = crate::eval::evaluate_clips(&weights, &meta, &val_clips, None)?;
        let score = (eval.top1 + eval.macro_f1) as f32;
        if score > best.0 + 1e-6 {
            best = (score, t);
        }
    }
    meta.thresholds.reject_other = best.1;
    let full = crate::eval::evaluate_clips(&weights, &meta, &val_clips, None)?;
    let crop = crate::eval::evaluate_clips(&weights, &meta, &val_clips, Some(0.05))?;
    println!(
        "reject_other threshold {:.2}\n{full}\n50 ms crops: top-1 {:.4}  macro-F1 {:.4}",
        best.1, crop.top1, crop.macro_f1
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: TrainArgs,
    }

    fn parse(words: &[&str]) -> (TrainConfig, Tracks) {
        config(&Cli::try_parse_from(std::iter::once("train").chain(words.iter().copied())).unwrap().args)
    }

    /// The recorded training config and track count of a shipped model.
    fn recorded(dir: &str) -> (TrainConfig, Tracks, String) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir).join(META_FILE);
        let meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let training = &meta["training"];
        (
            serde_json::from_value(training["config"].clone()).unwrap(),
            Tracks {
                any: training["tracks"].as_u64().unwrap() as usize,
                acoustic: training["acoustic_tracks"].as_u64().unwrap_or(0) as usize,
            },
            training["command"].as_str().unwrap().to_string(),
        )
    }

    #[test]
    fn the_readme_commands_train_the_shipped_models_recipes() {
        for (dir, words) in [
            ("assets/model", &["--epochs", "45", "--seed", "4"][..]),
            ("assets/hit-model", &["--hits-only", "--epochs", "45"]),
        ] {
            let (cfg, tracks, command) = recorded(dir);
            assert_eq!(parse(words), (cfg.clone(), tracks), "{dir}: `cargo xtask train {}`", words.join(" "));
            // And the command the metadata records asks for the same.
            let recorded_words: Vec<&str> = command.split_whitespace().skip(3).collect();
            assert_eq!(parse(&recorded_words), (cfg, tracks), "{dir}: `{command}`");
        }
        // Every preset value can still be overridden.
        let (cfg, tracks) = parse(&["--hits-only", "--channels", "8,32,48", "--track-prob", "0.5", "--tracks", "10"]);
        assert!(cfg.hits_only);
        assert_eq!(
            (cfg.channels, cfg.time_pool, cfg.track_prob, tracks),
            (Some(vec![8, 32, 48]), Some(vec![1, 2, 1]), 0.5, Tracks { any: 10, acoustic: 96 })
        );
        assert_eq!(parse(&[]), (TrainConfig::default(), Tracks { any: 32, acoustic: 0 }));
        // The hit model hears every window the hit labeller can give, the shortest lookahead's
        // too.
        let (cfg, _) = parse(&["--hits-only", "--acoustic-tracks", "0"]);
        assert!(
            cfg.crop_ms.0 <= (PRE_ROLL_S + MIN_LOOKAHEAD_S) * 1000.0
                && cfg.crop_ms.1 >= (PRE_ROLL_S + MAX_LOOKAHEAD_S) * 1000.0
        );
    }

    #[test]
    fn feature_flags_set_the_recorded_mel_config_and_refuse_what_the_hit_path_cannot_compute() {
        let mel = |words: &[&str]| {
            mel_config(&Cli::try_parse_from(std::iter::once("train").chain(words.iter().copied())).unwrap().args)
        };
        assert_eq!(mel(&[]).unwrap(), MelConfig::default());
        let fine = mel(&["--n-fft", "512", "--hop", "220"]).unwrap();
        assert_eq!((fine.n_fft, fine.hop, fine.n_mels), (512, 220, MelConfig::default().n_mels));
        // Longer than the context the hit labeller keeps before a hit, or a hop past the frame.
        assert!(mel(&["--n-fft", "2048"]).is_err());
        assert!(mel(&["--hop", "0"]).is_err());
        assert!(mel(&["--n-fft", "512", "--hop", "600"]).is_err());
    }
}
