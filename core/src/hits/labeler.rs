//! The worker side of the hit path: [`HitLabeler`] pops the windows the audio thread's
//! [`HitDetector`](super::HitDetector) sent and names them with the classifier.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{Header, Hit, HitWindow, VelocityCurve};
use crate::class::DrumClass;
use crate::classifier::{prepare_hit_features, Classifier, Prediction, Result, Thresholds};

/// Worker side: pops windows and classifies them. Owned by the classifier worker thread (or the
/// offline driver); allocating is fine here.
#[derive(Debug)]
pub struct HitLabeler {
    pub(super) headers: rtrb::Consumer<Header>,
    pub(super) samples_in: rtrb::Consumer<f32>,
    /// Rate of the detector's audio, Hz.
    pub(super) sample_rate: u32,
    pub(super) window_len: usize,
    pub(super) pre_roll: usize,
    pub(super) context: usize,
    pub(super) dropped: Arc<AtomicU64>,
    /// Maps peak level to velocity; change it any time.
    pub velocity: VelocityCurve,
}

impl HitLabeler {
    /// The next window, if the detector has sent one.
    pub fn pop(&mut self) -> Option<HitWindow> {
        let h = self.headers.pop().ok()?;
        let mut samples = vec![0.0; self.window_len];
        // The detector pushes a window's samples before its header, so they are there.
        self.samples_in.pop_entire_slice(&mut samples).ok()?;
        Some(HitWindow { sample: h.sample, peak: h.peak, strength: h.strength, samples })
    }

    /// Appends every window waiting in the ring to `out`.
    pub fn pop_all(&mut self, out: &mut Vec<HitWindow>) {
        while let Some(w) = self.pop() {
            out.push(w);
        }
    }

    /// Hits the detector had to drop so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Sample rate of the windows, Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Window length in seconds, what the model hears of each hit (the pre-roll and the
    /// lookahead; the context before them only tells it what was already ringing).
    pub fn window_seconds(&self) -> f32 {
        (self.window_len - self.context) as f32 / self.sample_rate as f32
    }

    /// Samples in each window before the pre-roll: [`CONTEXT_S`].
    pub fn context(&self) -> usize {
        self.context
    }

    /// Samples in each window between the context and the onset.
    pub fn pre_roll(&self) -> usize {
        self.pre_roll
    }

    /// Runs the model once on a silent window, so that the first real hit does not also pay for
    /// the model's first run (buffers, thread pool): call it on the worker before hits arrive.
    pub fn warm_up(&self, classifier: &Classifier) -> Result<()> {
        let silent = HitWindow { sample: 0, peak: 0.0, strength: 0.0, samples: vec![0.0; self.window_len] };
        self.predict(classifier, &[silent]).map(drop)
    }

    /// The model's scores for windows, in one batch.
    pub fn predict(&self, classifier: &Classifier, windows: &[HitWindow]) -> Result<Vec<Prediction>> {
        let model_rate = classifier.meta().features.sample_rate;
        let seconds = self.window_seconds();
        // The context at the model's rate; a model trained without background removal hears none.
        let context = (self.context as u64 * u64::from(model_rate) / u64::from(self.sample_rate)) as usize;
        let keep_context = classifier.meta().hit_background_removed;
        let feats: Vec<_> = windows
            .iter()
            .map(|w| {
                let audio = crate::resample::resample(&w.samples, self.sample_rate, model_rate);
                let (context, hit) = audio.split_at(context.min(audio.len()));
                prepare_hit_features(classifier.mel(), if keep_context { context } else { &[] }, hit, seconds)
            })
            .collect();
        classifier.predict(&feats)
    }

    /// Classifies windows in one batch: every drum class at or above its hit threshold (the best
    /// drum class if none is), and a velocity from each window's peak. A window whose best drum
    /// scores under the model's `hit_floor` is not a hit and is left out.
    pub fn label(&self, classifier: &Classifier, windows: &[HitWindow]) -> Result<Vec<Hit>> {
        let preds = self.predict(classifier, windows)?;
        let thresholds = &classifier.meta().thresholds;
        Ok(windows
            .iter()
            .zip(&preds)
            .map(|(w, p)| Hit {
                sample: w.sample,
                classes: drum_classes(p, thresholds),
                velocity: self.velocity.velocity(w.peak),
            })
            .filter(|h| !h.classes.is_empty())
            .collect())
    }
}

/// The drum classes of a hit: those at or above their hit threshold, best first, or else the
/// single drum class nearest its own threshold (`Other` is never a note); none when even the
/// best drum scores under `hit_floor` (the onset was not a hit).
///
/// The fallback goes by the distance to each class's threshold, not the raw score, so a class
/// that needs strong evidence (a shaker, whose threshold is high: a hat is far more common on a
/// drum track) is not named just because it edged out a hat at a low score.
pub fn drum_classes(p: &Prediction, thresholds: &Thresholds) -> Vec<(DrumClass, f32)> {
    let score = |c: &DrumClass| p.scores[c.index()];
    let best = DrumClass::DRUMS.iter().copied().max_by(|a, b| score(a).total_cmp(&score(b)));
    if best.is_none_or(|c| score(&c) < thresholds.hit_floor) {
        return Vec::new();
    }
    let present = p.drums_present(|c| thresholds.hit(c));
    if !present.is_empty() {
        return present;
    }
    let margin = |c: &DrumClass| score(c) - thresholds.hit(*c);
    let nearest = DrumClass::DRUMS.iter().copied().max_by(|a, b| margin(a).total_cmp(&margin(b)));
    nearest.map(|c| vec![(c, score(&c))]).unwrap_or_default()
}
