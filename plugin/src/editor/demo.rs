//! A generated library for the editor's snapshot tests, its frame-time benchmark and screenshots:
//! samples of every class with synthetic embeddings (a few clusters per class), laid out with the
//! real [`crate::layout::layout`]. Deterministic for a given size and seed.

use std::path::PathBuf;

use drumsort_core::class::DrumClass;

use crate::layout::layout;
use crate::shared::{LibrarySnapshot, SampleDot};

/// Width of the synthetic embeddings.
pub const DEMO_DIM: usize = 16;

/// A small deterministic generator (SplitMix64), so the demo needs no `rand` dependency.
#[derive(Clone, Debug)]
pub struct SplitMix(u64);

impl SplitMix {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next value, uniform over `u64`.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The next value, uniform in `0.0..1.0`.
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// A library of `n` samples spread unevenly over all classes (kicks and snares most, `other`
/// least), with names like `kick_0012_punchy.wav` under `/demo/<class>/`, laid out.
pub fn demo_library(n: usize, seed: u64) -> LibrarySnapshot {
    let (mut samples, embeddings) = demo_samples(n, seed);
    let bubbles = layout(&mut samples, &embeddings);
    // The worker keeps snapshots sorted by path; do the same.
    samples.sort_by(|a, b| a.path.cmp(&b.path));
    LibrarySnapshot {
        generation: 1,
        roots: vec![PathBuf::from("/demo")],
        samples,
        bubbles,
        errors: vec![(PathBuf::from("/demo/broken.wav"), "not a RIFF file".to_owned())],
    }
}

/// The samples of [`demo_library`] before layout, with their unit embeddings.
pub fn demo_samples(n: usize, seed: u64) -> (Vec<SampleDot>, Vec<Vec<f32>>) {
    let mut rng = SplitMix::new(seed);
    // Relative class sizes, in `DrumClass::ALL` order.
    const WEIGHTS: [f32; DrumClass::COUNT] = [9.0, 8.0, 4.0, 7.0, 3.0, 4.0, 2.0, 2.0, 2.0, 1.0, 2.0, 3.0, 1.5];
    const MOODS: [&str; 6] = ["punchy", "dusty", "tight", "boomy", "crisp", "lofi"];
    let total: f32 = WEIGHTS.iter().sum();
    let mut samples = Vec::with_capacity(n);
    let mut embeddings = Vec::with_capacity(n);
    for k in 0..n {
        // Walk the classes so every class gets its share even for small `n`.
        let mut x = (k as f32 + 0.5) / n as f32 * total;
        let mut class = DrumClass::Other;
        for (c, w) in DrumClass::ALL.iter().zip(WEIGHTS) {
            if x < w {
                class = *c;
                break;
            }
            x -= w;
        }
        let mood = (rng.next_u64() % MOODS.len() as u64) as usize;
        let mut e: Vec<f32> = (0..DEMO_DIM).map(|_| (rng.next_f32() - 0.5) * 0.6).collect();
        // The mood is the sound's cluster: one strong axis per mood.
        e[mood] += 2.0;
        e[DEMO_DIM - 1 - class.index() % DEMO_DIM] += 1.0;
        let len = e.iter().map(|v| v * v).sum::<f32>().sqrt();
        e.iter_mut().for_each(|v| *v /= len);
        let name = format!("{}_{k:04}_{}.wav", class.as_str(), MOODS[mood]);
        samples.push(SampleDot {
            path: PathBuf::from(format!("/demo/{}/{name}", class.as_str())),
            name,
            class,
            corrected: k % 23 == 0,
            confidence: 0.35 + 0.65 * rng.next_f32(),
            duration_s: 0.05 + 1.5 * rng.next_f32() * rng.next_f32(),
            pos: [0.0, 0.0],
        });
        embeddings.push(e);
    }
    (samples, embeddings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_library_covers_every_class_and_is_deterministic() {
        let a = demo_library(300, 7);
        assert_eq!(a.samples.len(), 300);
        assert_eq!(a.bubbles.len(), DrumClass::COUNT);
        assert_eq!(a, demo_library(300, 7));
        assert_ne!(a.samples, demo_library(300, 8).samples);
    }
}
