//! Percentile bootstrap intervals that resample whole groups (kits, `source_group` in the data
//! manifest) rather than single files: the velocity layers and mic-mixes of one kit are not
//! independent draws, so resampling files would make intervals far too narrow.

use std::collections::HashMap;
use std::hash::Hash;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A point estimate and its bootstrap interval.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Interval {
    /// The statistic over the items as they are.
    pub estimate: f64,
    pub lo: f64,
    pub hi: f64,
}

/// How [`group_bootstrap`] resamples.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BootstrapOptions {
    /// Number of resamples.
    pub resamples: usize,
    /// Seed of the resampling (fixed: the same inputs always give the same interval).
    pub seed: u64,
    /// Coverage of the interval, e.g. 0.95 for the 2.5th to 97.5th percentile.
    pub level: f64,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        Self { resamples: 1000, seed: 20_260_118, level: 0.95 }
    }
}

/// The item indices of each distinct key, groups in order of first appearance.
pub fn group_items<K: Eq + Hash>(keys: &[K]) -> Vec<Vec<usize>> {
    let mut slot: HashMap<&K, usize> = HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let g = *slot.entry(k).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    groups
}

/// The `q`-quantile (0..=1) of sorted values, interpolating linearly between neighbours.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos.fract());
    match sorted.get(i + 1) {
        Some(next) => sorted[i] + frac * (next - sorted[i]),
        None => sorted[i],
    }
}

/// `K` statistics of the items in `groups` (each a list of item indices) and their percentile
/// bootstrap intervals: each resample draws as many groups as there are, with replacement, and
/// hands `stat` the items of the drawn groups (an item appears once per draw of its group).
///
/// With no groups, or one, the interval is the estimate itself: nothing can vary. A percentile
/// interval need not contain the estimate of a biased statistic (macro-F1 over a resample that
/// misses a rare class), so callers print both.
pub fn group_bootstrap<const K: usize>(
    groups: &[Vec<usize>],
    opts: &BootstrapOptions,
    mut stat: impl FnMut(&[usize]) -> [f64; K],
) -> [Interval; K] {
    let all: Vec<usize> = groups.iter().flatten().copied().collect();
    let estimate = stat(&all);
    let mut draws: [Vec<f64>; K] = std::array::from_fn(|_| Vec::with_capacity(opts.resamples));
    if groups.len() > 1 {
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        let mut items = Vec::with_capacity(all.len() * 2);
        for _ in 0..opts.resamples {
            items.clear();
            for _ in 0..groups.len() {
                items.extend_from_slice(&groups[rng.gen_range(0..groups.len())]);
            }
            for (d, v) in draws.iter_mut().zip(stat(&items)) {
                d.push(v);
            }
        }
    }
    let tail = (1.0 - opts.level) / 2.0;
    std::array::from_fn(|k| {
        let mut d = std::mem::take(&mut draws[k]);
        d.retain(|v| v.is_finite());
        if d.is_empty() {
            return Interval { estimate: estimate[k], lo: estimate[k], hi: estimate[k] };
        }
        d.sort_by(f64::total_cmp);
        Interval { estimate: estimate[k], lo: quantile(&d, tail), hi: quantile(&d, 1.0 - tail) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accuracy(correct: &[bool]) -> impl Fn(&[usize]) -> [f64; 1] + '_ {
        |items| [items.iter().filter(|&&i| correct[i]).count() as f64 / items.len().max(1) as f64]
    }

    #[test]
    fn groups_keep_first_seen_order() {
        assert_eq!(group_items(&["b", "a", "b", "c", "a"]), vec![vec![0, 2], vec![1, 4], vec![3]]);
        assert!(group_items::<u8>(&[]).is_empty());
    }

    #[test]
    fn quantiles_interpolate() {
        let v = [0.0, 1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.0), 0.0);
        assert_eq!(quantile(&v, 1.0), 4.0);
        assert!((quantile(&v, 0.125) - 0.5).abs() < 1e-12);
        assert_eq!(quantile(&[7.0], 0.3), 7.0);
    }

    #[test]
    fn identical_groups_collapse_the_interval_to_the_estimate() {
        // Ten kits, each one right and one wrong: every resample scores exactly 0.5.
        let correct: Vec<bool> = (0..20).map(|i| i % 2 == 0).collect();
        let keys: Vec<usize> = (0..20).map(|i| i / 2).collect();
        let [iv] = group_bootstrap(&group_items(&keys), &BootstrapOptions::default(), accuracy(&correct));
        assert_eq!(iv, Interval { estimate: 0.5, lo: 0.5, hi: 0.5 });
    }

    #[test]
    fn varied_groups_give_an_interval_around_the_estimate() {
        // Twenty kits of five files: kit g gets g % 6 of its five right (overall 0.46).
        let keys: Vec<usize> = (0..100).map(|i| i / 5).collect();
        let correct: Vec<bool> = (0..100).map(|i| i % 5 < (i / 5) % 6).collect();
        let opts = BootstrapOptions::default();
        let [iv] = group_bootstrap(&group_items(&keys), &opts, accuracy(&correct));
        assert!((iv.estimate - 0.46).abs() < 1e-12, "{iv:?}");
        assert!(iv.lo < iv.estimate && iv.estimate < iv.hi, "{iv:?}");
        // Kit scores have sd ~0.34 over 20 kits: the half-width is near 1.96 * 0.34 / sqrt(20).
        let half = (iv.hi - iv.lo) / 2.0;
        assert!((0.10..0.20).contains(&half), "half-width {half}");
        // Fixed seed: the same call gives the same interval; another seed a slightly different one.
        assert_eq!(group_bootstrap(&group_items(&keys), &opts, accuracy(&correct))[0], iv);
        let other = BootstrapOptions { seed: 1, ..opts };
        assert_ne!(group_bootstrap(&group_items(&keys), &other, accuracy(&correct))[0], iv);
    }

    #[test]
    fn whole_groups_are_resampled_not_files() {
        // Two kits of 50: one all right, one all wrong. A file bootstrap would give about
        // 0.5 +- 0.1; drawing whole kits gives 0, 0.5 or 1 only, so the interval spans 0..1.
        let keys: Vec<usize> = (0..100).map(|i| i / 50).collect();
        let correct: Vec<bool> = (0..100).map(|i| i < 50).collect();
        let [iv] = group_bootstrap(&group_items(&keys), &BootstrapOptions::default(), accuracy(&correct));
        assert_eq!((iv.estimate, iv.lo, iv.hi), (0.5, 0.0, 1.0));
    }

    #[test]
    fn one_group_or_none_cannot_vary() {
        let correct = [true, false, true];
        let [iv] = group_bootstrap(&[vec![0, 1, 2]], &BootstrapOptions::default(), accuracy(&correct));
        assert_eq!((iv.lo, iv.hi), (iv.estimate, iv.estimate));
        let [empty] = group_bootstrap(&[], &BootstrapOptions::default(), |_| [0.0]);
        assert_eq!(empty, Interval { estimate: 0.0, lo: 0.0, hi: 0.0 });
    }
}
