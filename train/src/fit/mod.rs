//! Training: class-balanced sampling, augmentation, two-drum mixtures, short onset crops, AdamW,
//! per-epoch validation and best-checkpoint selection. `cargo xtask train` runs it through
//! [`crate::recipe`], which picks the config and gathers the data.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::{Optimizer, VarBuilder, VarMap};
use drumsort_core::classifier::{equal_length_batches, prepare_features, prepare_hit_features, Classifier, Features};
use drumsort_core::hits::{CONTEXT_S, PRE_ROLL_S};
use drumsort_core::mel::{MelConfig, MelSpectrogram};
use drumsort_core::model::{self, DrumNet};
use drumsort_core::DrumClass;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

mod ema;
mod loss;

use crate::augment;
use crate::dataset::{Clip, HitClip};
use crate::metrics::{evaluate, Evaluation};
use ema::{snapshot, Ema};

/// Hyper-parameters of a training run; serialised into the model's metadata.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub weight_decay: f64,
    pub seed: u64,
    /// Examples drawn per epoch (class-balanced, with replacement).
    pub samples_per_epoch: usize,
    /// Class sampling weight is `count^balance_power`: 0 = uniform over classes, 1 = as in data.
    pub balance_power: f64,
    /// Probability that a batch is made of short crops after the onset (the real-time window).
    pub crop_prob: f64,
    /// Shortest and longest crop, milliseconds.
    pub crop_ms: (f32, f32),
    /// Probability that a drum example is mixed with a second drum of another class (two labels).
    pub mix_prob: f64,
    /// Probability that a drum example not mixed by `mix_prob` is layered with a drum commonly
    /// struck together with its class ([`layer_partners`]: kick and hat, snare and clap, crash and
    /// kick, ...), both labelled: what a played groove sounds like at most of its hits. Off by
    /// default: at 0.2 it brought claps back on the report tracks but lost some on the other two
    /// sets, with kick, snare and closed hat within the training seed's spread (README, "Hit
    /// labelling").
    #[serde(default)]
    pub layer_prob: f64,
    /// Probability that a drum example has the ringing tail of an earlier drum under it (the
    /// previous hit of a groove), label unchanged: what the hit labeller sees in a performance.
    pub bleed_prob: f64,
    /// Probability that a batch is made of hits cut from played tracks (when any are given), as
    /// short as the crops: the windows the hit labeller classifies.
    pub track_prob: f64,
    /// Scales how often each augmentation applies (0 = none).
    pub aug_strength: f32,
    /// Seconds of audio after the onset the model sees.
    pub analysis_seconds: f32,
    /// Validation and the saved checkpoint use an exponential moving average of the weights with
    /// this decay per step (0 = the raw weights). 0.995 over 60 epochs gave the same validation
    /// figures as the raw weights over 45, so it is off by default.
    #[serde(default)]
    pub ema_decay: f64,
    /// Track hits and bled one-shots are heard with what was ringing before them taken out
    /// ([`prepare_hit_features`]), as the hit labeller does with such a model. Off reproduces the
    /// models trained before it existed (their configs lack the field).
    #[serde(default)]
    pub background_removal: bool,
    /// Train a model for the hit labeller alone: every one-shot example is a crop after the
    /// onset (never the whole second) and the checkpoint is picked on the 50 ms crops of
    /// validation (mean of their top-1 and macro-F1), not on whole clips.
    #[serde(default)]
    pub hits_only: bool,
    /// Output channels of the conv blocks (default: [`model::Config`]'s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<usize>>,
    /// Time pooling of the conv blocks (default: [`model::Config`]'s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_pool: Option<Vec<usize>>,
    /// Hidden size of the GRU (default: [`model::Config`]'s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gru_hidden: Option<usize>,
    /// A second GRU reading the steps backwards ([`model::Config::bidirectional`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bidirectional: bool,
    /// Probability that an example has [`SPEC_MASKS`] bands of mel bins (each up to
    /// [`SPEC_MASK_BINS`] wide) set to the input mean (SpecAugment's frequency masking): the
    /// model must name a drum from part of its spectrum, as when another drum covers the rest.
    /// Off by default (it lowered clap and closed hat, README "Hit labelling"); left out of the
    /// recorded config when off, so the shipped models' configs read as they were written.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub spec_mask_prob: f64,
    /// Probability that a batch is mixed with itself in another order (mixup on the log-mel
    /// input): each example becomes `l * a + (1 - l) * b` with `l` uniform in 0.5..1 and the
    /// targets mixed alike, so the network learns smooth boundaries between timbres instead of
    /// memorising the kits it has. Off by default; left out of the recorded config when off.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub mixup_prob: f64,
    /// Label smoothing: targets become `y * (1 - e) + e / 2`, so no output is pushed to
    /// certainty on a training set whose labels are not all right (the data's REVIEW.csv). Off
    /// by default; left out of the recorded config when off.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub label_smoothing: f64,
    /// Probability of each of [`augment::timbre`]'s changes (EQ curve, transient, decay) on a
    /// one-shot example, after the usual chain: kits the data lacks. Off by default (the default
    /// recipe's random stream stays as it was); left out of the recorded config when off.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub timbre_prob: f64,
    /// Distillation: the share `a` of the teachers' mean sigmoid scores in each example's
    /// targets, `(1 - a) * label + a * teachers`, the teachers seeing exactly the student's
    /// (augmented, mixed) input. Several models' agreement is a softer, better-generalising
    /// target than one-hot labels; the student keeps one model's speed. Off by default; left out
    /// of the recorded config when off.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub distill: f64,
    /// The teachers' model versions (recorded; the weights are given to [`train`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teachers: Vec<String>,
    /// Kit balance `b` of the one-shot draws within a class: a kit holding `n` of the class's
    /// files is drawn with weight `n^(1 - b)` ([`Clip::kit`]), so 0 draws every file alike (a drum
    /// machine with 40 kicks is heard 40 times as often as a kit with one) and 1 draws every kit
    /// alike. Off by default (the default recipe's random stream stays as it was); left out of the
    /// recorded config when off.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub kit_balance: f64,
    /// Probability that a one-shot example's sound is replaced by one synthesised for its class
    /// with random parameters ([`drumsort_core::synth::varied`]), before the augmentation chain:
    /// kinds of each class no sample pack in the data holds. Off by default (the default
    /// recipe's random stream stays as it was); left out of the recorded config when off.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub synth_prob: f64,
}

fn is_zero(p: &f64) -> bool {
    *p == 0.0
}

/// Frequency masks per masked example.
pub const SPEC_MASKS: usize = 2;
/// Widest frequency mask, mel bins.
pub const SPEC_MASK_BINS: usize = 8;

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 30,
            batch_size: 32,
            lr: 2e-3,
            weight_decay: 1e-3,
            seed: 20261121,
            samples_per_epoch: 2048,
            balance_power: 0.5,
            crop_prob: 0.4,
            crop_ms: (30.0, 120.0),
            mix_prob: 0.15,
            layer_prob: 0.0,
            bleed_prob: 0.25,
            track_prob: 0.25,
            aug_strength: 1.0,
            analysis_seconds: 1.0,
            ema_decay: 0.0,
            background_removal: true,
            hits_only: false,
            channels: None,
            time_pool: None,
            gru_hidden: None,
            bidirectional: false,
            spec_mask_prob: 0.0,
            mixup_prob: 0.0,
            label_smoothing: 0.0,
            timbre_prob: 0.0,
            distill: 0.0,
            teachers: Vec::new(),
            kit_balance: 0.0,
            synth_prob: 0.0,
        }
    }
}

/// Validation figures after one epoch.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EpochReport {
    pub epoch: usize,
    pub train_loss: f64,
    pub val: Evaluation,
    /// Top-1 on the first 50 ms after each validation clip's onset.
    pub val_crop50_top1: f64,
    /// A `hits_only` model's top-1 on the hit labeller's shortest windows ([`SHORT_CROPS_S`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub val_short_top1: Vec<f64>,
    /// What checkpoints are ranked by: mean of top-1, macro-F1 and crop-50 top-1 (of the crops'
    /// top-1 and macro-F1 for a `hits_only` model).
    pub selection_score: f64,
    pub seconds: f64,
}

/// The best checkpoint of a run.
#[derive(Debug)]
pub struct Trained {
    /// Weights of the best epoch, ready for `candle_core::safetensors::save`.
    pub tensors: HashMap<String, Tensor>,
    pub model: model::Config,
    pub best: EpochReport,
    pub history: Vec<EpochReport>,
}

/// Mean and standard deviation of log-mel values over (a sample of) the clips: the model's input
/// standardisation.
fn input_stats(mel: &Arc<MelSpectrogram>, clips: &[Clip], analysis_seconds: f32) -> (f32, f32) {
    let (mut sum, mut sq, mut n) = (0f64, 0f64, 0f64);
    for clip in clips.iter().step_by((clips.len() / 200).max(1)) {
        for &v in &prepare_features(mel, &clip.samples, analysis_seconds).data {
            sum += v as f64;
            sq += (v as f64) * (v as f64);
            n += 1.0;
        }
    }
    let mean = sum / n.max(1.0);
    ((mean) as f32, ((sq / n.max(1.0) - mean * mean).max(1e-6)).sqrt() as f32)
}

/// The drums commonly struck together with `class` in a groove (kit and programmed alike): a kick
/// under hats and cymbals, a clap on a snare, a crash on a kick.
fn layer_partners(class: DrumClass) -> &'static [DrumClass] {
    use DrumClass::*;
    match class {
        Kick => &[ClosedHat, OpenHat, Crash, Ride, Clap, Snare, Shaker],
        Snare => &[Clap, ClosedHat, Kick, Crash, Ride, OpenHat],
        Clap => &[Snare, Kick, ClosedHat, OpenHat, Shaker],
        ClosedHat => &[Kick, Snare, Clap],
        OpenHat => &[Kick, Snare, Clap],
        Crash => &[Kick, Snare],
        Ride => &[Kick, Snare],
        Tom => &[Kick, Crash],
        Rim => &[Kick, ClosedHat, Ride],
        Cowbell => &[Kick, ClosedHat],
        Shaker => &[Kick, Snare, Clap],
        Perc => &[Kick, ClosedHat],
        Other => &[],
    }
}

/// One augmented example: features and a multi-hot target.
fn make_example(
    clips: &[Clip],
    by_class: &[Vec<usize>],
    idx: usize,
    crop: Option<usize>,
    cfg: &TrainConfig,
    mel: &Arc<MelSpectrogram>,
    rng: &mut ChaCha8Rng,
) -> (Features, [f32; DrumClass::COUNT]) {
    let sr = mel.config().sample_rate as f32;
    let clip = &clips[idx];
    let mut target = [0f32; DrumClass::COUNT];
    target[clip.class.index()] = 1.0;
    let synthesised = (cfg.synth_prob > 0.0 && rng.gen_bool(cfg.synth_prob))
        .then(|| drumsort_core::synth::varied(clip.class, mel.config().sample_rate, rng));
    let source = synthesised.as_deref().unwrap_or(&clip.samples);
    let mut audio = augment::random_chain(source, sr, cfg.aug_strength, rng);
    if cfg.timbre_prob > 0.0 {
        audio = augment::timbre(&audio, sr, cfg.timbre_prob as f32, rng);
    }
    // Silence before a one-shot, unless an earlier drum rings into it.
    let mut context = Vec::new();
    let available = |c: &DrumClass| *c != clip.class && !by_class[c.index()].is_empty();
    let second = if clip.class.is_drum() && rng.gen_bool(cfg.mix_prob) {
        DrumClass::DRUMS.iter().copied().filter(available).collect::<Vec<_>>().choose(rng).copied()
    } else if cfg.layer_prob > 0.0 && clip.class.is_drum() && rng.gen_bool(cfg.layer_prob) {
        layer_partners(clip.class).iter().copied().filter(available).collect::<Vec<_>>().choose(rng).copied()
    } else {
        None
    };
    if let Some(second) = second {
        let j = *by_class[second.index()].choose(rng).unwrap_or(&idx);
        let b = augment::random_chain(&clips[j].samples, sr, cfg.aug_strength * 0.5, rng);
        audio = augment::mix(&audio, &b, 10f32.powf(rng.gen_range(-9f32..0.0) / 20.0));
        target[second.index()] = 1.0;
    }
    if clip.class.is_drum() && rng.gen_bool(cfg.bleed_prob) {
        let earlier = DrumClass::DRUMS.iter().copied().filter(|&c| !by_class[c.index()].is_empty()).collect::<Vec<_>>();
        if let Some(&class) = earlier.choose(rng) {
            let j = *by_class[class.index()].choose(rng).unwrap_or(&idx);
            let b = augment::random_chain(&clips[j].samples, sr, cfg.aug_strength * 0.5, rng);
            let offset = (rng.gen_range(0.04f32..0.4) * sr) as usize;
            let gain = 10f32.powf(rng.gen_range(-18f32..0.0) / 20.0);
            (context, audio) = augment::bleed(&audio, &b, offset, gain, (CONTEXT_S * sr) as usize);
        }
    }
    let seconds = match crop {
        Some(n) => n as f32 / sr,
        None => cfg.analysis_seconds,
    };
    (hit_features(cfg, mel, &context, &audio, seconds), target)
}

/// The features a hit is trained on: what was ringing before it (`context`) taken out when the
/// recipe removes the background, ignored when it does not.
fn hit_features(
    cfg: &TrainConfig,
    mel: &Arc<MelSpectrogram>,
    context: &[f32],
    audio: &[f32],
    seconds: f32,
) -> Features {
    prepare_hit_features(mel, if cfg.background_removal { context } else { &[] }, audio, seconds)
}

/// Indices of `clips` per class, in [`DrumClass`] order.
fn indices_by_class(clips: &[Clip]) -> Vec<Vec<usize>> {
    let mut by_class = vec![Vec::new(); DrumClass::COUNT];
    for (i, c) in clips.iter().enumerate() {
        by_class[c.class.index()].push(i);
    }
    by_class
}

/// One augmented hit from a played track, cut to `len` samples after its start.
fn make_track_example(
    hit: &HitClip,
    len: usize,
    cfg: &TrainConfig,
    mel: &Arc<MelSpectrogram>,
    rng: &mut ChaCha8Rng,
) -> (Features, [f32; DrumClass::COUNT]) {
    let sr = mel.config().sample_rate as f32;
    let mut target = [0f32; DrumClass::COUNT];
    for c in &hit.classes {
        target[c.index()] = 1.0;
    }
    // Half strength: the track already has its room, compression and noise. The chain runs over
    // the context too, so both keep their levels; its time shifts move the onset by a few ms.
    let audio = augment::random_chain(&hit.samples, sr, cfg.aug_strength * 0.5, rng);
    let (context, audio) = audio.split_at(hit.context.min(audio.len()));
    (hit_features(cfg, mel, context, audio, len as f32 / sr), target)
}

/// How many samples after the onset a batch of one-shots is cut to (`None`: the whole
/// `analysis_seconds`): always a crop for a `hits_only` model, else with `crop_prob`.
fn one_shot_crop(cfg: &TrainConfig, sr: f32, rng: &mut ChaCha8Rng) -> Option<usize> {
    (cfg.hits_only || rng.gen_bool(cfg.crop_prob))
        .then(|| (rng.gen_range(cfg.crop_ms.0..cfg.crop_ms.1) / 1000.0 * sr) as usize)
}

/// The windows a `hits_only` model is also validated on, seconds from the pre-roll: what the hit
/// labeller hears at lookaheads of 20 and 30 ms.
pub const SHORT_CROPS_S: [f32; 2] = [PRE_ROLL_S + 0.02, PRE_ROLL_S + 0.03];

/// What checkpoints are ranked by: whole validation clips and their 50 ms crops alike; for a
/// `hits_only` model (it never hears a whole second), the crops alone: the 50 ms ones and the
/// `short` ones of [`SHORT_CROPS_S`] (when given) count alike, each by its top-1 and macro-F1;
/// for a model that never hears a short window (no crops, no track hits), whole clips alone.
fn selection_score(cfg: &TrainConfig, full: &Evaluation, crop: &Evaluation, short: &[Evaluation]) -> f64 {
    if cfg.hits_only {
        let all = std::iter::once(crop).chain(short);
        all.clone().map(|e| (e.top1 + e.macro_f1) / 2.0).sum::<f64>() / all.count() as f64
    } else if cfg.crop_prob == 0.0 && cfg.track_prob == 0.0 {
        (full.top1 + full.macro_f1) / 2.0
    } else {
        (full.top1 + full.macro_f1 + crop.top1) / 3.0
    }
}

/// SpecAugment frequency masking: [`SPEC_MASKS`] random bands of up to [`SPEC_MASK_BINS`] mel
/// bins set to `value` in every frame.
fn mask_bands(f: &mut Features, n_mels: usize, value: f32, rng: &mut ChaCha8Rng) {
    for _ in 0..SPEC_MASKS {
        let width = rng.gen_range(1..=SPEC_MASK_BINS.min(n_mels));
        let start = rng.gen_range(0..=n_mels - width);
        for frame in f.data.chunks_mut(n_mels) {
            frame[start..start + width].fill(value);
        }
    }
}

/// Mixup of a batch `[b, frames, n_mels]` with targets `[b, classes]`: every example is mixed
/// with the one a random permutation pairs it with, `l * a + (1 - l) * b` with `l` drawn per
/// example uniformly in 0.5..1 (so each keeps its own label as the larger share), targets alike.
fn mixup(xs: &Tensor, ys: &Tensor, rng: &mut ChaCha8Rng) -> candle_core::Result<(Tensor, Tensor)> {
    let (b, _, _) = xs.dims3()?;
    let mut order: Vec<u32> = (0..b as u32).collect();
    order.shuffle(rng);
    let order = Tensor::from_vec(order, b, xs.device())?;
    let l: Vec<f32> = (0..b).map(|_| rng.gen_range(0.5f32..1.0)).collect();
    let l = Tensor::from_vec(l, (b, 1), xs.device())?;
    let one_minus = (l.neg()? + 1.0)?;
    let mix = |t: &Tensor, l: &Tensor, r: &Tensor| -> candle_core::Result<Tensor> {
        let other = t.index_select(&order, 0)?;
        let shape = t.dims().to_vec();
        let flat = |x: &Tensor| x.reshape((b, ()));
        (flat(t)?.broadcast_mul(l)? + flat(&other)?.broadcast_mul(r)?)?.reshape(shape)
    };
    Ok((mix(xs, &l, &one_minus)?, mix(ys, &l, &one_minus)?))
}

/// Stacks features into `[b, frames, n_mels]`, padding with `pad` to the longest.
fn stack(feats: &[&Features], n_mels: usize, pad: f32, device: &Device) -> candle_core::Result<Tensor> {
    let frames = feats.iter().map(|f| f.frames).max().unwrap_or(1).max(1);
    let mut data = vec![pad; feats.len() * frames * n_mels];
    for (i, f) in feats.iter().enumerate() {
        let start = i * frames * n_mels;
        let len = f.data.len().min(frames * n_mels);
        data[start..start + len].copy_from_slice(&f.data[..len]);
    }
    Tensor::from_vec(data, (feats.len(), frames, n_mels), device)
}

/// Top-1 predictions for precomputed features, batched by length.
fn predict_top1(net: &DrumNet, feats: &[Features], n_mels: usize, pad: f32) -> candle_core::Result<Vec<DrumClass>> {
    let mut out = vec![DrumClass::Other; feats.len()];
    for chunk in equal_length_batches(feats, 32) {
        let refs: Vec<&Features> = chunk.iter().map(|&i| &feats[i]).collect();
        let logits: Vec<Vec<f32>> = net.forward(&stack(&refs, n_mels, pad, &Device::Cpu)?)?.logits.to_vec2()?;
        for (&i, l) in chunk.iter().zip(logits) {
            let best = (0..l.len()).max_by(|&a, &b| l[a].total_cmp(&l[b])).unwrap_or(0);
            out[i] = DrumClass::from_index(best).unwrap_or(DrumClass::Other);
        }
    }
    Ok(out)
}

/// For each class of `by_class`, the draw over its members that gives a kit of `n` of them the
/// weight `n^(1 - balance)` ([`TrainConfig::kit_balance`]); `None` (draw every file alike) when
/// `balance` is 0 or the class is empty. Files with no kit count as one kit.
fn kit_balanced_draws(
    train: &[Clip],
    by_class: &[Vec<usize>],
    balance: f64,
) -> Vec<Option<rand::distributions::WeightedIndex<f64>>> {
    by_class
        .iter()
        .map(|members| {
            if balance <= 0.0 || members.is_empty() {
                return None;
            }
            let mut per_kit: HashMap<&str, usize> = HashMap::new();
            for &i in members {
                *per_kit.entry(train[i].kit.as_str()).or_default() += 1;
            }
            let weights = members.iter().map(|&i| {
                let n = per_kit[train[i].kit.as_str()] as f64;
                n.powf(1.0 - balance.min(1.0)) / n
            });
            rand::distributions::WeightedIndex::new(weights).ok()
        })
        .collect()
}

/// The mean sigmoid scores of `teachers` on the batch `xs`, `[batch, classes]`.
fn teacher_scores(teachers: &[Classifier], xs: &Tensor) -> candle_core::Result<Tensor> {
    let mut sum: Option<Tensor> = None;
    for t in teachers {
        let p = candle_nn::ops::sigmoid(&t.network().infer(xs)?.logits)?;
        sum = Some(match sum {
            Some(s) => (s + p)?,
            None => p,
        });
    }
    let sum = sum.ok_or_else(|| candle_core::Error::Msg("distillation needs a teacher".into()))?;
    sum.affine(1.0 / teachers.len() as f64, 0.0)
}

/// Trains a fresh network on `train` one-shots and `track_hits` (hits cut from played tracks, may
/// be empty), validating on `val` after every epoch, and returns the best checkpoint. With
/// `cfg.distill` above zero, `teachers` (same features) give part of every target. `on_epoch`
/// sees each report as it is made; `on_step` gets (step, steps).
#[allow(clippy::too_many_arguments)]
pub fn train(
    cfg: &TrainConfig,
    mel_cfg: &MelConfig,
    train: &[Clip],
    track_hits: &[HitClip],
    val: &[Clip],
    teachers: &[Classifier],
    mut on_step: impl FnMut(usize, usize),
    mut on_epoch: impl FnMut(&EpochReport),
) -> candle_core::Result<Trained> {
    let device = Device::Cpu;
    if cfg.distill > 0.0 {
        if teachers.is_empty() {
            return Err(candle_core::Error::Msg("distillation needs at least one teacher model".into()));
        }
        if let Some(t) = teachers.iter().find(|t| &t.meta().features != mel_cfg) {
            return Err(candle_core::Error::Msg(format!(
                "teacher {} computes other features than this run; distil from models with the same --n-fft and --hop",
                t.meta().model_version
            )));
        }
    }
    let mel = Arc::new(MelSpectrogram::new(mel_cfg));
    let (input_mean, input_std) = input_stats(&mel, train, cfg.analysis_seconds);
    let shape = model::Config::default();
    let model_cfg = model::Config {
        n_mels: mel_cfg.n_mels,
        channels: cfg.channels.clone().unwrap_or(shape.channels),
        time_pool: cfg.time_pool.clone().unwrap_or(shape.time_pool),
        gru_hidden: cfg.gru_hidden.unwrap_or(shape.gru_hidden),
        bidirectional: cfg.bidirectional,
        input_mean,
        input_std,
        pad_value: mel_cfg.log_floor(),
        ..model::Config::default()
    };
    let varmap = VarMap::new();
    let net = DrumNet::new(&model_cfg, VarBuilder::from_varmap(&varmap, DType::F32, &device))?;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    loss::reseed_init(&varmap, &mut rng)?;
    let mut ema = if cfg.ema_decay > 0.0 { Some(Ema::new(&varmap, cfg.ema_decay.min(0.9999))?) } else { None };
    let mut opt = candle_nn::AdamW::new(
        varmap.all_vars(),
        candle_nn::ParamsAdamW { lr: cfg.lr, weight_decay: cfg.weight_decay, ..Default::default() },
    )?;

    let by_class = indices_by_class(train);
    let class_weights: Vec<f64> =
        by_class.iter().map(|v| (v.len() as f64).powf(cfg.balance_power) * (!v.is_empty() as u8 as f64)).collect();
    let class_dist = rand::distributions::WeightedIndex::new(&class_weights)
        .map_err(|e| candle_core::Error::Msg(format!("no training data: {e}")))?;
    let member_dists = kit_balanced_draws(train, &by_class, cfg.kit_balance);

    let val_truth: Vec<DrumClass> = val.iter().map(|c| c.class).collect();
    let val_full: Vec<Features> =
        val.par_iter().map(|c| prepare_features(&mel, &c.samples, cfg.analysis_seconds)).collect();
    let val_crop: Vec<Features> = val.par_iter().map(|c| prepare_features(&mel, &c.samples, 0.05)).collect();
    let short_crops: &[f32] = if cfg.hits_only { &SHORT_CROPS_S } else { &[] };
    let val_short: Vec<Vec<Features>> =
        short_crops.iter().map(|&s| val.par_iter().map(|c| prepare_features(&mel, &c.samples, s)).collect()).collect();

    let steps_per_epoch = cfg.samples_per_epoch.div_ceil(cfg.batch_size);
    let total_steps = steps_per_epoch * cfg.epochs;
    let sr = mel_cfg.sample_rate as f32;
    let mut best: Option<(EpochReport, HashMap<String, Tensor>)> = None;
    let mut history = Vec::new();
    for epoch in 1..=cfg.epochs {
        let started = Instant::now();
        let mut loss_sum = 0f64;
        for step in 0..steps_per_epoch {
            // Cosine learning-rate decay over the whole run, after a one-epoch warm-up.
            let global = (epoch - 1) * steps_per_epoch + step;
            let warm = (global as f64 / steps_per_epoch as f64).min(1.0);
            let cosine = 0.5 * (1.0 + (std::f64::consts::PI * global as f64 / total_steps as f64).cos());
            opt.set_learning_rate(cfg.lr * warm.max(0.05) * (0.02 + 0.98 * cosine));

            let examples: Vec<(Features, [f32; DrumClass::COUNT])> =
                if !track_hits.is_empty() && rng.gen_bool(cfg.track_prob) {
                    let len = (rng.gen_range(cfg.crop_ms.0..cfg.crop_ms.1) / 1000.0 * sr) as usize;
                    let picks: Vec<(usize, u64)> =
                        (0..cfg.batch_size).map(|_| (rng.gen_range(0..track_hits.len()), rng.gen())).collect();
                    picks
                        .par_iter()
                        .map(|&(i, seed)| {
                            make_track_example(&track_hits[i], len, cfg, &mel, &mut ChaCha8Rng::seed_from_u64(seed))
                        })
                        .collect()
                } else {
                    let crop = one_shot_crop(cfg, sr, &mut rng);
                    let picks: Vec<(usize, u64)> = (0..cfg.batch_size)
                        .map(|_| {
                            let class = rng.sample(&class_dist);
                            let members = &by_class[class];
                            let member = match &member_dists[class] {
                                Some(dist) => rng.sample(dist),
                                None => rng.gen_range(0..members.len()),
                            };
                            (members[member], rng.gen())
                        })
                        .collect();
                    picks
                        .par_iter()
                        .map(|&(idx, seed)| {
                            make_example(train, &by_class, idx, crop, cfg, &mel, &mut ChaCha8Rng::seed_from_u64(seed))
                        })
                        .collect()
                };
            let mut examples = examples;
            if cfg.spec_mask_prob > 0.0 {
                for (f, _) in &mut examples {
                    if rng.gen_bool(cfg.spec_mask_prob.min(1.0)) {
                        mask_bands(f, mel_cfg.n_mels, input_mean, &mut rng);
                    }
                }
            }
            let refs: Vec<&Features> = examples.iter().map(|e| &e.0).collect();
            let xs = stack(&refs, mel_cfg.n_mels, model_cfg.pad_value, &device)?;
            let ys: Vec<f32> = examples.iter().flat_map(|e| e.1).collect();
            let ys = Tensor::from_vec(ys, (examples.len(), DrumClass::COUNT), &device)?;
            let (xs, ys) = if cfg.mixup_prob > 0.0 && rng.gen_bool(cfg.mixup_prob.min(1.0)) {
                mixup(&xs, &ys, &mut rng)?
            } else {
                (xs, ys)
            };
            let ys = if cfg.distill > 0.0 {
                let a = cfg.distill.clamp(0.0, 1.0);
                ((ys * (1.0 - a))? + (teacher_scores(teachers, &xs)? * a)?)?
            } else {
                ys
            };
            let ys = if cfg.label_smoothing > 0.0 {
                let e = cfg.label_smoothing.clamp(0.0, 0.5);
                ((ys * (1.0 - e))? + e / 2.0)?
            } else {
                ys
            };
            let out = net.forward(&xs)?;
            let loss = loss::bce_with_logits(&out.logits, &ys, None)?;
            opt.backward_step(&loss)?;
            if let Some(ema) = &mut ema {
                ema.update(global)?;
            }
            loss_sum += loss.to_scalar::<f32>()? as f64;
            on_step(global + 1, total_steps);
        }
        let predict = || {
            let top1 = |feats: &[Features]| predict_top1(&net, feats, mel_cfg.n_mels, model_cfg.pad_value);
            Ok((
                top1(&val_full)?,
                top1(&val_crop)?,
                val_short.iter().map(|f| top1(f)).collect::<candle_core::Result<Vec<_>>>()?,
            ))
        };
        let (val_pred, crop_pred, short_pred) = match &ema {
            Some(ema) => ema.with_average(predict)?,
            None => predict()?,
        };
        let val_eval = evaluate(&val_truth, &val_pred);
        let crop_eval = evaluate(&val_truth, &crop_pred);
        let short_eval: Vec<Evaluation> = short_pred.iter().map(|p| evaluate(&val_truth, p)).collect();
        let report = EpochReport {
            epoch,
            train_loss: loss_sum / steps_per_epoch as f64,
            selection_score: selection_score(cfg, &val_eval, &crop_eval, &short_eval),
            val: val_eval,
            val_crop50_top1: crop_eval.top1,
            val_short_top1: short_eval.iter().map(|e| e.top1).collect(),
            seconds: started.elapsed().as_secs_f64(),
        };
        on_epoch(&report);
        if best.as_ref().is_none_or(|(b, _)| report.selection_score > b.selection_score) {
            let snapshot = match &ema {
                Some(ema) => ema.snapshot()?,
                None => snapshot(&varmap)?,
            };
            best = Some((report.clone(), snapshot));
        }
        history.push(report);
    }
    let (best, tensors) = best.ok_or_else(|| candle_core::Error::Msg("zero epochs".into()))?;
    Ok(Trained { tensors, model: model_cfg, best, history })
}

#[cfg(test)]
pub(crate) mod tests;
