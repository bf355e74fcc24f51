//! Calibration: does a confidence of 0.8 come true four times in five? Expected calibration
//! error (ECE) over equal-width confidence bins and the reliability table behind it.
//!
//! The classifier's scores are independent sigmoids (multi-label), not a softmax, so they need
//! not sum to one. The confidence scored here is the one a user sees: the score of the decided
//! class (`Prediction::confidence`), and "correct" means the decided class is the label.

/// Bins of the reliability table by default (15 equal-width bins over 0..=1).
pub const DEFAULT_BINS: usize = 15;

/// One confidence bin of a reliability table.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReliabilityBin {
    /// Confidence range `[lo, hi)` (the last bin includes 1).
    pub lo: f64,
    pub hi: f64,
    /// Predictions whose confidence falls in the bin.
    pub n: usize,
    /// Their mean confidence (0 when empty).
    pub confidence: f64,
    /// The fraction of them that are right (0 when empty).
    pub accuracy: f64,
}

/// Expected calibration error and its reliability table.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Calibration {
    /// `sum over bins of n_bin / n * |accuracy_bin - confidence_bin|`.
    pub ece: f64,
    /// Number of predictions.
    pub n: usize,
    /// Mean confidence over all predictions, and accuracy: over- (confidence > accuracy) or
    /// under-confident overall.
    pub mean_confidence: f64,
    pub accuracy: f64,
    pub bins: Vec<ReliabilityBin>,
}

/// The bin of a confidence among `bins` equal-width bins over 0..=1 (values outside clamp).
fn bin_of(confidence: f64, bins: usize) -> usize {
    ((confidence.clamp(0.0, 1.0) * bins as f64) as usize).min(bins - 1)
}

/// The reliability table and ECE of predictions with `confidence` (0..=1) that are `correct` or
/// not, over `bins` equal-width bins.
///
/// # Panics
/// If the slices differ in length or `bins` is 0.
pub fn calibration(confidence: &[f32], correct: &[bool], bins: usize) -> Calibration {
    assert_eq!(confidence.len(), correct.len(), "one outcome per confidence");
    assert!(bins > 0, "at least one bin");
    let mut sum_conf = vec![0f64; bins];
    let mut hits = vec![0usize; bins];
    let mut counts = vec![0usize; bins];
    for (&c, &ok) in confidence.iter().zip(correct) {
        let b = bin_of(f64::from(c), bins);
        sum_conf[b] += f64::from(c);
        hits[b] += usize::from(ok);
        counts[b] += 1;
    }
    let n = confidence.len();
    let table: Vec<ReliabilityBin> = (0..bins)
        .map(|b| {
            let k = counts[b].max(1) as f64;
            ReliabilityBin {
                lo: b as f64 / bins as f64,
                hi: (b + 1) as f64 / bins as f64,
                n: counts[b],
                confidence: sum_conf[b] / k,
                accuracy: hits[b] as f64 / k,
            }
        })
        .collect();
    let ece = if n == 0 {
        0.0
    } else {
        table.iter().map(|b| b.n as f64 / n as f64 * (b.accuracy - b.confidence).abs()).sum()
    };
    let total = n.max(1) as f64;
    Calibration {
        ece,
        n,
        mean_confidence: sum_conf.iter().sum::<f64>() / total,
        accuracy: hits.iter().sum::<usize>() as f64 / total,
        bins: table,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfectly_calibrated_bins_have_zero_error() {
        // Ten predictions at 0.9 with nine right, four at 0.5 with two right, five at 0.2 with one.
        let mut conf = vec![0.9f32; 10];
        let mut ok = vec![true; 9];
        ok.push(false);
        conf.extend([0.5; 4]);
        ok.extend([true, true, false, false]);
        conf.extend([0.2; 5]);
        ok.extend([true, false, false, false, false]);
        let c = calibration(&conf, &ok, DEFAULT_BINS);
        assert!(c.ece.abs() < 1e-6, "{c:?}");
        assert_eq!(c.n, 19);
        assert_eq!(c.bins.len(), 15);
        assert_eq!(c.bins.iter().map(|b| b.n).sum::<usize>(), 19);
        // 0.9 falls in [0.8667, 0.9333): bin 13.
        assert_eq!((c.bins[13].n, c.bins[13].accuracy), (10, 0.9));
    }

    #[test]
    fn an_overconfident_model_has_the_gap_as_its_error() {
        // Everything at 0.95 and half of it right: ECE 0.45. Add as many at 0.25 all wrong:
        // (0.45 * 4 + 0.25 * 4) / 8 = 0.35.
        let c = calibration(&[0.95; 4], &[true, false, true, false], DEFAULT_BINS);
        assert!((c.ece - 0.45).abs() < 1e-6, "{c:?}");
        assert!((c.mean_confidence - 0.95).abs() < 1e-6 && c.accuracy == 0.5);
        let mut conf = vec![0.95f32; 4];
        conf.extend([0.25; 4]);
        let mut ok = vec![true, false, true, false];
        ok.extend([false; 4]);
        let c = calibration(&conf, &ok, DEFAULT_BINS);
        assert!((c.ece - 0.35).abs() < 1e-6, "{c:?}");
    }

    #[test]
    fn bin_edges_and_extremes() {
        assert_eq!(bin_of(0.0, 15), 0);
        assert_eq!(bin_of(1.0, 15), 14, "1 belongs to the last bin");
        assert_eq!(bin_of(1.0 / 15.0, 15), 1, "a lower edge starts its bin");
        assert_eq!(bin_of(-0.5, 15), 0);
        // Two bins: the error of a bin is weighted by its share of predictions.
        let c = calibration(&[0.0, 1.0, 1.0, 1.0], &[false, true, true, false], 2);
        assert!((c.ece - 0.25).abs() < 1e-12, "{c:?}"); // 3/4 * |2/3 - 1|
        let empty = calibration(&[], &[], 15);
        assert_eq!((empty.ece, empty.n), (0.0, 0));
    }
}
