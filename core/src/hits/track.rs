//! The offline driver of the hit path: a whole track through the same detector and labeller the
//! plugin runs, in host-sized blocks, with the ring emptied after every block so nothing is
//! dropped (`drumsort hits`, `cargo xtask eval-hits`, threshold tuning).

use super::{Hit, HitConfig, HitDetector, HitLabeler, HitWindow, MAX_PENDING};
use crate::classifier::{Classifier, Prediction, Result};

/// Windows classified per forward pass by [`label_track`].
const LABEL_BATCH: usize = 64;

/// The end of a track is faded out over this long before the silence that follows it: a file
/// cut off under a ringing cymbal (a drum loop) ends in a click, which is not a hit.
const END_FADE_S: f32 = 0.02;

/// A hit of a track with everything the model said about it (for tuning the hit thresholds).
#[derive(Clone, Debug)]
pub struct ScoredHit {
    /// Absolute sample of the hit.
    pub sample: u64,
    pub prediction: Prediction,
}

/// Labels every hit of a whole track by running the real-time path over it: `samples` (mono at
/// `sample_rate`) go through a [`HitDetector`] in blocks of `block_size`, and after every block
/// the [`HitLabeler`] empties the ring, so nothing is dropped. The track's last
/// `END_FADE_S` (20 ms) are faded out and followed by silence until the last window is complete. Hit
/// times are the hits' own samples.
pub fn label_track(
    classifier: &Classifier,
    samples: &[f32],
    sample_rate: u32,
    block_size: usize,
    cfg: &HitConfig,
) -> Result<Vec<Hit>> {
    let mut hits = Vec::new();
    run_track(samples, sample_rate, block_size, cfg, |labeler, windows| {
        hits.extend(labeler.label(classifier, windows)?);
        Ok(())
    })?;
    Ok(hits)
}

/// Every onset [`label_track`] hears, with the model's full scores instead of decided classes
/// (including the onsets `hit_floor` would leave out).
pub fn score_track(
    classifier: &Classifier,
    samples: &[f32],
    sample_rate: u32,
    block_size: usize,
    cfg: &HitConfig,
) -> Result<Vec<ScoredHit>> {
    let mut hits = Vec::new();
    run_track(samples, sample_rate, block_size, cfg, |labeler, windows| {
        let preds = labeler.predict(classifier, windows)?;
        hits.extend(windows.iter().zip(preds).map(|(w, prediction)| ScoredHit { sample: w.sample, prediction }));
        Ok(())
    })?;
    Ok(hits)
}

/// The offline driver of [`label_track`] and [`score_track`]: hands `on_windows` every batch of
/// windows, in order.
fn run_track(
    samples: &[f32],
    sample_rate: u32,
    block_size: usize,
    cfg: &HitConfig,
    mut on_windows: impl FnMut(&HitLabeler, &[HitWindow]) -> Result<()>,
) -> Result<()> {
    let block_size = block_size.max(1);
    // Room for every onset one block can complete, so offline runs never drop.
    let min_gap = ((cfg.onset.min_interval_s * sample_rate as f32) as usize).max(1);
    let cfg = HitConfig { capacity: cfg.capacity.max(block_size / min_gap + MAX_PENDING + 2), ..*cfg };
    let (mut detector, mut labeler) = HitDetector::new(sample_rate, &cfg);
    let fade = ((END_FADE_S * sample_rate as f32) as usize).min(samples.len());
    let fade_start = samples.len() - fade;
    let total = samples.len() + detector.latency_samples() + detector.lookahead_samples() + block_size;
    let mut block = vec![0.0f32; block_size];
    let mut windows = Vec::new();
    for start in (0..total).step_by(block_size) {
        let block = &mut block[..block_size.min(total - start)];
        for (i, b) in block.iter_mut().enumerate() {
            let at = start + i;
            *b = match samples.get(at) {
                Some(&x) if at >= fade_start => x * (samples.len() - at) as f32 / fade as f32,
                Some(&x) => x,
                None => 0.0,
            };
        }
        detector.process(block);
        labeler.pop_all(&mut windows);
        if windows.len() >= LABEL_BATCH {
            on_windows(&labeler, &windows)?;
            windows.clear();
        }
    }
    on_windows(&labeler, &windows)?;
    debug_assert_eq!(labeler.dropped(), 0, "offline labelling must not drop hits");
    Ok(())
}
