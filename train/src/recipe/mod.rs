//! What `cargo xtask train` trains: its flags ([`TrainArgs`]), the hit model's preset
//! ([`HIT_RECIPE`]) and the training config, tracks and features they ask for. [`run`] is the
//! command itself, `inputs` gathers what it trains on besides the labelled one-shots.

use std::path::PathBuf;

use anyhow::{bail, Result};
use drumsort_core::hits::{CONTEXT_S, MAX_LOOKAHEAD_S, MIN_LOOKAHEAD_S, PRE_ROLL_S};
use drumsort_core::mel::MelConfig;

use crate::fit::TrainConfig;

mod inputs;
mod run;

pub use run::run;

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
    /// Share of one-shot batches cut to a short window after the onset, `crop_ms` long
    /// (default: the training config's, 0.4; always with --hits-only).
    #[arg(long)]
    pub crop_prob: Option<f64>,
    /// Class weight of the one-shot draws: a class with `n` training files is drawn with weight
    /// `n^P`, so 0 draws every class alike and 1 as often as the data holds it (default 0.5).
    #[arg(long)]
    pub balance_power: Option<f64>,
    /// Share of drum examples mixed with a drum of another class, both labelled (default 0.15).
    #[arg(long)]
    pub mix_prob: Option<f64>,
    /// Share of drum examples with the ringing tail of an earlier drum under them, what a hit of
    /// a played groove has (default 0.25).
    #[arg(long)]
    pub bleed_prob: Option<f64>,
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
    /// Share of one-shot examples whose sound is replaced by one synthesised for its class with
    /// random parameters (`drumsort_core::synth::varied`: another drum machine's kick, snare,
    /// hat, ...; notes, pads, risers and loops for `other`), then augmented as usual (default 0):
    /// an experiment.
    #[arg(long)]
    pub synth: Option<f64>,
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
    /// Hidden size of the GRU over time (default 96).
    #[arg(long)]
    pub gru_hidden: Option<usize>,
    /// A second GRU reading the conv steps backwards, its states joining the forward one's.
    #[arg(long)]
    pub bidirectional: bool,
    /// Share of the training tracks' kit pieces that are two one-shots of the class struck as
    /// one (kits no sample pack holds; default 0): an experiment.
    #[arg(long, default_value_t = 0.0)]
    pub kit_blend: f64,
    /// Share of the training tracks' cymbal hits (hats, ride, crash) with the kit's snare under
    /// them, high-passed and 15-30 dB quieter, not annotated: the snare wires' buzz and the snare
    /// microphone's pickup of a multi-microphone kit (default 0): an experiment.
    #[arg(long, default_value_t = 0.0)]
    pub snare_buzz: f64,
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
    /// A teacher model directory for distillation; repeat it for several (their mean scores
    /// are the soft targets). Needs models with this run's features.
    #[arg(long)]
    pub teacher: Vec<PathBuf>,
    /// Share of the teachers' mean scores in every target (default 0.5 with --teacher).
    #[arg(long)]
    pub distill: Option<f64>,
    /// Kit balance of the one-shot draws within a class, 0-1: a kit with `n` of the class's
    /// files is drawn with weight `n^(1 - B)`, so 1 hears every kit (`source_group` in the data's
    /// MANIFEST.csv) alike (default 0: every file alike).
    #[arg(long)]
    pub kit_balance: Option<f64>,
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
    if let Some(b) = args.kit_balance {
        cfg.kit_balance = b.clamp(0.0, 1.0);
    }
    if let Some(p) = args.timbre {
        cfg.timbre_prob = p.clamp(0.0, 1.0);
    }
    if let Some(p) = args.synth {
        cfg.synth_prob = p.clamp(0.0, 1.0);
    }
    if !args.teacher.is_empty() {
        cfg.distill = args.distill.unwrap_or(0.5).clamp(0.0, 1.0);
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
    if let Some(p) = args.crop_prob {
        cfg.crop_prob = p.clamp(0.0, 1.0);
    }
    if let Some(p) = args.balance_power {
        cfg.balance_power = p.clamp(0.0, 1.0);
    }
    if let Some(p) = args.mix_prob {
        cfg.mix_prob = p.clamp(0.0, 1.0);
    }
    if let Some(p) = args.bleed_prob {
        cfg.bleed_prob = p.clamp(0.0, 1.0);
    }
    if args.channels.is_some() {
        cfg.channels = args.channels.clone();
    }
    if args.gru_hidden.is_some() {
        cfg.gru_hidden = args.gru_hidden;
    }
    cfg.bidirectional |= args.bidirectional;
    if args.time_pool.is_some() {
        cfg.time_pool = args.time_pool.clone();
    }
    let tracks =
        Tracks { any: args.tracks.unwrap_or(tracks.any), acoustic: args.acoustic_tracks.unwrap_or(tracks.acoustic) };
    (cfg, tracks)
}

/// Hex SHA-256 of some bytes (model versions, the kit order of `--kit-fraction`).
fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Longest FFT frame a one-shot model may ask for: 186 ms at 44.1 kHz.
const MAX_ONE_SHOT_N_FFT: usize = 8192;

/// The log-mel features `args` ask for.
fn mel_config(args: &TrainArgs) -> Result<MelConfig> {
    let d = MelConfig::default();
    let cfg = MelConfig { n_fft: args.n_fft.unwrap_or(d.n_fft), hop: args.hop.unwrap_or(d.hop), ..d };
    // The hit model takes the spectrum of the context before a hit out of the hit's frames, so
    // its frame must fit in that context. A one-shot model may use longer frames (finer low
    // frequencies): where a context is shorter than its frame, nothing is taken out, in training
    // and in the labeller alike.
    let (max, why) = if args.hits_only {
        ((CONTEXT_S * cfg.sample_rate as f32) as usize, "the hit labeller's context")
    } else {
        (MAX_ONE_SHOT_N_FFT, "a one-shot model's limit")
    };
    if !(64..=max).contains(&cfg.n_fft) || cfg.hop == 0 || cfg.hop > cfg.n_fft {
        bail!("--n-fft must be 64..={max} ({why}) and --hop 1..=n_fft, got {} and {}", cfg.n_fft, cfg.hop);
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clap::Parser;
    use drumsort_core::classifier::META_FILE;

    use super::*;

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
            (
                "assets/model",
                &["--epochs", "45", "--seed", "2", "--gru-hidden", "160", "--track-prob", "0", "--tracks", "0"][..],
            ),
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
        let (cfg, _) = parse(&["--gru-hidden", "128", "--kit-balance", "0.5", "--bidirectional", "--crop-prob", "0.1"]);
        assert_eq!((cfg.gru_hidden, cfg.kit_balance, cfg.bidirectional, cfg.crop_prob), (Some(128), 0.5, true, 0.1));
        assert_eq!(parse(&["--balance-power", "0.25"]).0.balance_power, 0.25);
        let (cfg, _) = parse(&["--mix-prob", "0", "--bleed-prob", "0.1"]);
        assert_eq!((cfg.mix_prob, cfg.bleed_prob), (0.0, 0.1));
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
        // A one-shot model may hear longer frames; a hit model's frame must fit in the context
        // the hit labeller keeps before a hit. A hop past the frame is refused either way.
        assert_eq!(mel(&["--n-fft", "2048"]).unwrap().n_fft, 2048);
        assert!(mel(&["--n-fft", "2048", "--hits-only"]).is_err());
        assert!(mel(&["--n-fft", "16384"]).is_err());
        assert!(mel(&["--hop", "0"]).is_err());
        assert!(mel(&["--n-fft", "512", "--hop", "600"]).is_err());
    }
}
