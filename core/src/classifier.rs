//! The shipped classifier at run time: model metadata, weight loading (from embedded bytes or a
//! directory), feature preparation and batched prediction. Used by the CLI, the plugin's worker
//! and `cargo xtask eval`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use crate::class::DrumClass;
use crate::mel::{MelConfig, MelSpectrogram};
use crate::model::{self, DrumNet};

/// File names of a model directory (`assets/model/`, `assets/hit-model/`).
pub const WEIGHTS_FILE: &str = "drumsort.safetensors";
pub const META_FILE: &str = "drumsort.json";

/// Why a model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model weights: {0}")]
    Candle(#[from] candle_core::Error),
    #[error("model metadata JSON: {0}")]
    Meta(#[from] serde_json::Error),
    #[error("model files: {0}")]
    Io(#[from] std::io::Error),
    #[error("model metadata does not fit this build: {0}")]
    Mismatch(String),
    /// Running the loaded model failed (the batch's error, repeated for each file in it).
    #[error("running the model failed: {0}")]
    Inference(String),
    /// A model that failed to load once is not retried.
    #[error("the model is not available: it failed to load earlier")]
    Unavailable,
}

/// Result alias for model loading and inference.
pub type Result<T> = std::result::Result<T, ModelError>;

/// Decision thresholds tuned on the validation split.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Thresholds {
    /// A clip whose best drum score is below this is called `other` (not a drum one-shot).
    pub reject_other: f32,
    /// Score at which a drum class counts as present in a multi-hit (kick + hat together).
    pub multi_label: f32,
    /// Per-class score at which the hit labeller names a drum in a played track, tuned on drum
    /// tracks made from the validation one-shots (`cargo xtask tune-hits`); a class not listed
    /// uses `multi_label`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hits: BTreeMap<DrumClass, f32>,
    /// An onset whose best drum score is below this is not a hit (the low end of a kick rising
    /// again in its decay, the late burst of a clap): the hit labeller names nothing and sends no
    /// note. 0 (models before it) takes every onset as a hit. Tuned by `cargo xtask tune-hits`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub hit_floor: f32,
}

fn is_zero(x: &f32) -> bool {
    *x == 0.0
}

impl Thresholds {
    /// `reject_other` and `multi_label` as given, no per-class hit thresholds.
    pub fn new(reject_other: f32, multi_label: f32) -> Self {
        Self { reject_other, multi_label, hits: BTreeMap::new(), hit_floor: 0.0 }
    }

    /// The score at which the hit labeller names `class`.
    pub fn hit(&self, class: DrumClass) -> f32 {
        self.hits.get(&class).copied().unwrap_or(self.multi_label)
    }
}

/// Everything written next to the weights (`drumsort.json`): how to build the network and its
/// features, how to read its outputs, and where the weights came from.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelMeta {
    /// Identifies these weights in the library index (re-analysis on model upgrades).
    pub model_version: String,
    /// Output order; must equal [`DrumClass::ALL`] by name.
    pub classes: Vec<String>,
    pub model: model::Config,
    pub features: MelConfig,
    /// Length of audio after the onset the model looks at, seconds.
    pub analysis_seconds: f32,
    /// The model learnt played hits with what was ringing before them taken out
    /// ([`prepare_hit_features`]), so the hit labeller does the same. Model files written before
    /// it existed lack it and get the plain features they were trained on.
    #[serde(default)]
    pub hit_background_removed: bool,
    pub thresholds: Thresholds,
    /// The exact command, seed, data manifest hash and hyper-parameters that produced the weights.
    pub training: serde_json::Value,
    /// Validation figures measured when the weights were written.
    pub validation: serde_json::Value,
}

/// A clip's model input: `frames * n_mels` log-mel values, time-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Features {
    pub frames: usize,
    pub data: Vec<f32>,
}

/// What the model says about one clip.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Prediction {
    /// The decision: the best-scoring class, or `Other` when no drum is confident enough.
    pub class: DrumClass,
    /// Score of the decided class, 0..=1.
    pub confidence: f32,
    /// Independent per-class scores (sigmoid), in [`DrumClass::ALL`] order.
    pub scores: [f32; DrumClass::COUNT],
    /// Unit-length embedding; cosine similarity between sounds.
    pub embedding: Vec<f32>,
}

/// Below this confidence (the score of the decided class) a label is worth checking:
/// `drumsort list` marks it with `?` and lists it with `--check`, and the plugin draws its dot
/// hollow. On the validation split (model drumsort-c9ebb6d40b2f) 8.5 % of files fall below it and
/// 43 % of those are right, against 82 % above it (`cargo xtask eval` prints the reliability table).
pub const LOW_CONFIDENCE: f32 = 0.5;

impl Prediction {
    /// Drum classes whose score reaches their own `threshold(class)`, best first (several for
    /// simultaneous hits).
    pub fn drums_present(&self, threshold: impl Fn(DrumClass) -> f32) -> Vec<(DrumClass, f32)> {
        let mut out: Vec<(DrumClass, f32)> =
            DrumClass::DRUMS.iter().map(|&c| (c, self.scores[c.index()])).filter(|&(c, s)| s >= threshold(c)).collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        out
    }
}

/// The model input for audio that starts at an onset: exactly `seconds` of it (cut, or padded
/// with silence as a one-shot ends), peak-normalised (level is never a class cue), as log-mel.
/// Training and inference both come through here, so a clip always reaches the network with the
/// same length and padding, whatever it is batched with.
pub fn prepare_features(mel: &Arc<MelSpectrogram>, samples: &[f32], seconds: f32) -> Features {
    features_and_gain(mel, samples, seconds).0
}

/// [`prepare_features`] and the gain its peak normalisation applied.
fn features_and_gain(mel: &Arc<MelSpectrogram>, samples: &[f32], seconds: f32) -> (Features, f32) {
    let len = ((seconds * mel.config().sample_rate as f32) as usize).max(1);
    let mut clip = samples[..samples.len().min(len)].to_vec();
    zero_non_finite(&mut clip);
    let gain = crate::dsp::normalise_peak(&mut clip);
    clip.resize(len, 0.0);
    let data = mel.compute(&clip);
    (Features { frames: data.len() / mel.config().n_mels, data }, gain)
}

/// NaN or an infinity would make the peak, and so every sample, NaN (found by fuzzing).
fn zero_non_finite(x: &mut [f32]) {
    for v in x.iter_mut().filter(|v| !v.is_finite()) {
        *v = 0.0;
    }
}

/// A band keeps at least this fraction of its energy when the background is taken out, so
/// a hit never turns into silence where it sounds like what was ringing before it.
const BACKGROUND_FLOOR: f32 = 0.05;

/// [`prepare_features`] for a hit heard over whatever was still ringing when it was struck (a
/// cymbal's wash, the tail of the previous drum): `context` is the audio just before `samples`.
/// The mel energy of the last `n_fft` samples of `context`, at the same gain as the hit, is
/// subtracted from every frame of the hit (spectral subtraction, each band floored at
/// [`BACKGROUND_FLOOR`] of itself), so the model hears what the hit added. Silence before a
/// one-shot subtracts nothing: a one-shot's features are exactly [`prepare_features`]'.
pub fn prepare_hit_features(mel: &Arc<MelSpectrogram>, context: &[f32], samples: &[f32], seconds: f32) -> Features {
    let (mut feats, gain) = features_and_gain(mel, samples, seconds);
    let cfg = mel.config();
    if context.len() < cfg.n_fft {
        return feats;
    }
    let mut frame = context[context.len() - cfg.n_fft..].to_vec();
    zero_non_finite(&mut frame);
    frame.iter_mut().for_each(|x| *x *= gain);
    let mut background = vec![0f32; cfg.n_mels];
    mel.frame_into(&frame, &mut mel.make_scratch(), &mut background);
    let offset = cfg.log_offset;
    let background: Vec<f32> = background.iter().map(|&l| (l.exp() - offset).max(0.0)).collect();
    for row in feats.data.chunks_mut(cfg.n_mels) {
        for (l, &b) in row.iter_mut().zip(&background) {
            let e = (l.exp() - offset).max(0.0);
            *l = ((e - b).max(BACKGROUND_FLOOR * e) + offset).ln();
        }
    }
    feats
}

/// A loaded model ready to classify. `Send + Sync`: share it behind an `Arc` between workers.
#[derive(Debug)]
pub struct Classifier {
    net: DrumNet,
    mel: Arc<MelSpectrogram>,
    meta: ModelMeta,
    device: Device,
}

/// Clips per forward pass: large enough to amortise per-op overhead, small enough that candle's
/// im2col buffers stay in cache (measured: 32 beats 128 per clip).
const BATCH: usize = 32;

/// Indices of `feats` grouped into batches of at most `max` clips with equal frame counts.
pub fn equal_length_batches(feats: &[Features], max: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..feats.len()).collect();
    order.sort_by_key(|&i| (feats[i].frames, i));
    let mut out: Vec<Vec<usize>> = Vec::new();
    for i in order {
        match out.last_mut() {
            Some(b) if b.len() < max && feats[b[0]].frames == feats[i].frames => b.push(i),
            _ => out.push(vec![i]),
        }
    }
    out
}

impl Classifier {
    /// Loads weights (safetensors bytes) and their metadata JSON.
    pub fn from_bytes(weights: &[u8], meta_json: &str) -> Result<Self> {
        let meta: ModelMeta = serde_json::from_str(meta_json)?;
        let names: Vec<&str> = DrumClass::ALL.iter().map(|c| c.as_str()).collect();
        if meta.classes != names {
            return Err(ModelError::Mismatch(format!("class order {:?} differs from {:?}", meta.classes, names)));
        }
        let floor = meta.thresholds.hit_floor;
        if !(0.0..=1.0).contains(&floor) {
            return Err(ModelError::Mismatch(format!("hit_floor {floor} is not a score in 0..=1")));
        }
        if meta.model.n_mels != meta.features.n_mels || meta.model.n_classes != DrumClass::COUNT {
            return Err(ModelError::Mismatch("model and feature configs disagree".into()));
        }
        let device = Device::Cpu;
        let vb = VarBuilder::from_slice_safetensors(weights, DType::F32, &device)?;
        let net = DrumNet::new(&meta.model, vb)?;
        let mel = Arc::new(MelSpectrogram::new(&meta.features));
        Ok(Self { net, mel, meta, device })
    }

    /// The network itself, for running it on a batch tensor (a teacher in distillation).
    pub fn network(&self) -> &DrumNet {
        &self.net
    }

    /// Loads `drumsort.safetensors` + `drumsort.json` from a directory.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let weights = std::fs::read(dir.join(WEIGHTS_FILE))?;
        let meta = std::fs::read_to_string(dir.join(META_FILE))?;
        Self::from_bytes(&weights, &meta)
    }

    /// The one-shot classifier shipped in `assets/model/`, embedded in the binary.
    #[cfg(feature = "shipped-model")]
    pub fn shipped() -> Result<Self> {
        Self::from_bytes(crate::shipped::WEIGHTS, crate::shipped::META)
    }

    /// The hit model shipped in `assets/hit-model/` (the hit labeller's: plugin and `drumsort
    /// hits`), embedded in the binary.
    #[cfg(feature = "shipped-model")]
    pub fn shipped_hits() -> Result<Self> {
        Self::from_bytes(crate::shipped::HIT_WEIGHTS, crate::shipped::HIT_META)
    }

    pub fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    /// Decides with other thresholds from now on (tuning them, or a user's own).
    pub fn set_thresholds(&mut self, thresholds: Thresholds) {
        self.meta.thresholds = thresholds;
    }

    /// The feature extractor this model was trained with.
    pub fn mel(&self) -> &Arc<MelSpectrogram> {
        &self.mel
    }

    /// Model input for a clip that starts at its onset (decoder output): the first
    /// `analysis_seconds`, peak-normalised, as log-mel.
    pub fn features(&self, samples: &[f32]) -> Features {
        prepare_features(&self.mel, samples, self.meta.analysis_seconds)
    }

    /// Runs the network over any number of clips, batching clips of equal length (never padding
    /// one clip to another's length, so a result does not depend on its batch). Output order
    /// matches input order.
    ///
    /// Batches run in parallel on rayon's pool: candle's small convolutions leave cores idle
    /// otherwise.
    pub fn predict(&self, feats: &[Features]) -> Result<Vec<Prediction>> {
        use rayon::prelude::*;
        let groups = equal_length_batches(feats, BATCH);
        let preds: Vec<Vec<Prediction>> = groups
            .par_iter()
            .map(|group| self.predict_batch(&group.iter().map(|&i| &feats[i]).collect::<Vec<_>>()))
            .collect::<Result<_>>()?;
        let mut out: Vec<Option<Prediction>> = vec![None; feats.len()];
        for (group, preds) in groups.iter().zip(preds) {
            for (&i, p) in group.iter().zip(preds) {
                out[i] = Some(p);
            }
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// The raw network on one batch of equally long clips.
    pub fn forward(&self, feats: &[&Features]) -> Result<model::Output> {
        let n_mels = self.meta.features.n_mels;
        let frames = feats.first().map_or(1, |f| f.frames);
        if feats.iter().any(|f| f.frames != frames || f.data.len() != frames * n_mels) {
            return Err(ModelError::Inference("a batch needs clips of equal length".into()));
        }
        let data: Vec<f32> = feats.iter().flat_map(|f| f.data.iter().copied()).collect();
        let xs = Tensor::from_vec(data, (feats.len(), frames, n_mels), &self.device)?;
        Ok(self.net.infer(&xs)?)
    }

    fn predict_batch(&self, feats: &[&Features]) -> Result<Vec<Prediction>> {
        let out = self.forward(feats)?;
        let logits: Vec<Vec<f32>> = out.logits.to_vec2()?;
        let embeddings: Vec<Vec<f32>> = out.embedding.to_vec2()?;
        Ok(logits.into_iter().zip(embeddings).map(|(l, e)| self.decide(&l, e)).collect())
    }

    /// Turns logits into a decision with the tuned thresholds.
    fn decide(&self, logits: &[f32], embedding: Vec<f32>) -> Prediction {
        let mut scores = [0f32; DrumClass::COUNT];
        for (s, &l) in scores.iter_mut().zip(logits) {
            *s = model::sigmoid(l);
        }
        let (class, confidence) = decide_scores(&scores, self.meta.thresholds.reject_other);
        Prediction { class, confidence, scores, embedding }
    }
}

/// The decision on a file's sigmoid scores: the best-scoring class, or `other` when the best is a
/// drum scoring under `reject_other`; with the decided class's score as its confidence.
pub fn decide_scores(scores: &[f32; DrumClass::COUNT], reject_other: f32) -> (DrumClass, f32) {
    let best = (0..DrumClass::COUNT).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap_or(0);
    let mut class = DrumClass::from_index(best).unwrap_or(DrumClass::Other);
    if class.is_drum() && scores[best] < reject_other {
        class = DrumClass::Other;
    }
    (class, scores[class.index()])
}

/// A randomly initialised network with the shipped config, for tests of paths that need a model
/// that runs rather than one that is right (`assets/model/` may lag behind the network code).
#[cfg(test)]
pub(crate) fn untrained(version: &str) -> Classifier {
    let (weights, meta) = untrained_parts(version);
    Classifier::from_bytes(&weights, &serde_json::to_string(&meta).unwrap()).unwrap()
}

/// [`untrained`]'s weights (safetensors bytes) and metadata.
#[cfg(test)]
fn untrained_parts(version: &str) -> (Vec<u8>, ModelMeta) {
    use candle_nn::VarMap;
    let varmap = VarMap::new();
    let config = model::Config::default();
    DrumNet::new(&config, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).unwrap();
    let tag = format!("{version}-{:?}-{}", std::thread::current().id(), std::process::id()).replace(['(', ')'], "");
    let file = std::env::temp_dir().join(format!("drumsort-untrained-{tag}.safetensors"));
    varmap.save(&file).unwrap();
    let weights = std::fs::read(&file).unwrap();
    std::fs::remove_file(&file).ok();
    let meta = ModelMeta {
        model_version: version.into(),
        classes: DrumClass::ALL.iter().map(|c| c.as_str().to_string()).collect(),
        model: config,
        features: MelConfig::default(),
        analysis_seconds: 1.0,
        hit_background_removed: true,
        thresholds: Thresholds::new(0.3, 0.5),
        training: serde_json::Value::Null,
        validation: serde_json::Value::Null,
    };
    (weights, meta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn mel() -> Arc<MelSpectrogram> {
        Arc::new(MelSpectrogram::new(&MelConfig::default()))
    }

    #[test]
    fn a_hit_floor_that_is_not_a_score_is_refused() {
        let (weights, mut meta) = untrained_parts("floor-test");
        for (floor, ok) in [(0.0, true), (0.3, true), (1.0, true), (-0.1, false), (1.5, false), (f32::NAN, false)] {
            meta.thresholds.hit_floor = floor;
            let loaded = Classifier::from_bytes(&weights, &serde_json::to_string(&meta).unwrap());
            assert_eq!(loaded.is_ok(), ok, "floor {floor}");
        }
    }

    #[test]
    fn silence_or_no_context_leaves_a_hit_as_a_one_shot() {
        let mel = mel();
        let hit: Vec<f32> = (0..2400).map(|i| (i as f32 * 0.05).sin() * (-(i as f32) / 800.0).exp()).collect();
        let plain = prepare_features(&mel, &hit, 0.055);
        assert_eq!(prepare_hit_features(&mel, &[], &hit, 0.055), plain);
        assert_eq!(prepare_hit_features(&mel, &[0.3; 100], &hit, 0.055), plain, "shorter than one FFT frame");
        assert_eq!(prepare_hit_features(&mel, &[0.0; 1323], &hit, 0.055), plain);
    }

    #[test]
    fn what_was_ringing_before_the_hit_is_taken_out_of_it() {
        // A hat-like noise wash rings on; a low tone (a tom) is struck over it. With the wash heard
        // before the hit taken out, the bands only the wash fills drop towards the floor (3 in ln
        // units, 13 dB; less where the noise of one frame exceeds the context's) while the tom's
        // band keeps its level.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let wash: Vec<f32> = (0..1323 + 2426).map(|_| 0.3 * rng.gen_range(-1.0f32..1.0)).collect();
        let tom: Vec<f32> =
            (0..2426).map(|i| (std::f32::consts::TAU * 120.0 * i as f32 / 44_100.0).sin() * 0.9).collect();
        let (context, under) = wash.split_at(1323);
        let mixed: Vec<f32> = tom.iter().zip(under).map(|(t, w)| t + w).collect();
        let mel = mel();
        let alone = prepare_features(&mel, &tom, 0.055);
        let plain = prepare_features(&mel, &mixed, 0.055);
        let cleaned = prepare_hit_features(&mel, context, &mixed, 0.055);
        // Mean log energy of band `b` over the frames.
        let band = |f: &Features, b: usize| f.data.chunks(64).map(|r| r[b]).sum::<f32>() / f.frames as f32;
        let tom_band = (0..64).max_by(|&a, &b| band(&alone, a).total_cmp(&band(&alone, b))).unwrap();
        assert!((band(&cleaned, tom_band) - band(&plain, tom_band)).abs() < 0.3, "the tom's band keeps its level");
        let drops: Vec<f32> = (40..64).map(|b| band(&plain, b) - band(&cleaned, b)).collect();
        let mean = drops.iter().sum::<f32>() / drops.len() as f32;
        assert!(mean > 1.8 && drops.iter().all(|&d| d > 0.7), "the wash drops by {drops:?}");
    }
}
