//! Tests of the bubble graph layout (kept beside `layout.rs` to keep that file short).

use std::path::PathBuf;
use std::time::Instant;

use drumsort_core::class::DrumClass;

use super::*;
use crate::editor::demo::SplitMix;
use crate::shared::SampleDot;

fn dot(class: DrumClass, k: usize) -> SampleDot {
    SampleDot {
        path: PathBuf::from(format!("/t/{k}.wav")),
        name: format!("{k}.wav"),
        class,
        corrected: false,
        confidence: 1.0,
        duration_s: 0.2,
        pos: [f32::NAN, f32::NAN],
    }
}

/// `n` samples over the classes by `class_of(k)`, with random unit embeddings of width 8.
fn library(n: usize, seed: u64, class_of: impl Fn(usize) -> DrumClass) -> (Vec<SampleDot>, Vec<Vec<f32>>) {
    let mut rng = SplitMix::new(seed);
    let samples = (0..n).map(|k| dot(class_of(k), k)).collect();
    let embeddings = (0..n)
        .map(|_| {
            let mut v: Vec<f32> = (0..8).map(|_| rng.next_f32() - 0.5).collect();
            normalise(&mut v);
            v
        })
        .collect();
    (samples, embeddings)
}

fn uneven(k: usize) -> DrumClass {
    // Class sizes from 1 upwards: class i gets about (i + 1)² samples.
    DrumClass::ALL[(k as f32).sqrt() as usize % DrumClass::COUNT]
}

fn dist(a: [f32; 2], b: [f32; 2]) -> f32 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

#[test]
fn bubbles_do_not_overlap_and_hold_their_dots() {
    let (mut samples, embeddings) = library(900, 1, uneven);
    let bubbles = layout(&mut samples, &embeddings);
    assert_eq!(bubbles.len(), DrumClass::COUNT);
    for (i, a) in bubbles.iter().enumerate() {
        for b in &bubbles[i + 1..] {
            let d = dist(a.center, b.center);
            assert!(d >= a.radius + b.radius + BUBBLE_GAP * 0.99, "{:?} and {:?} overlap: {d}", a.class, b.class);
        }
    }
    for s in &samples {
        let b = bubbles.iter().find(|b| b.class == s.class).unwrap();
        assert!(s.pos.iter().all(|v| v.is_finite()), "{s:?}");
        assert!(dist(s.pos, b.center) <= b.radius, "{} outside its bubble", s.name);
    }
}

#[test]
fn bubble_area_is_proportional_to_count() {
    let (mut samples, embeddings) = library(500, 2, uneven);
    let bubbles = layout(&mut samples, &embeddings);
    let total: usize = bubbles.iter().map(|b| b.count).sum();
    assert_eq!(total, samples.len());
    for b in &bubbles {
        assert_eq!(b.count, samples.iter().filter(|s| s.class == b.class).count());
        let per_sample = b.radius * b.radius / b.count as f32;
        assert!((per_sample - UNIT_RADIUS * UNIT_RADIUS).abs() < 1e-3, "{:?}: r²/n = {per_sample}", b.class);
    }
}

#[test]
fn classes_without_samples_get_no_bubble_and_order_follows_all() {
    let (mut samples, embeddings) = library(40, 3, |k| if k % 2 == 0 { DrumClass::Ride } else { DrumClass::Kick });
    let bubbles = layout(&mut samples, &embeddings);
    let classes: Vec<DrumClass> = bubbles.iter().map(|b| b.class).collect();
    assert_eq!(classes, vec![DrumClass::Kick, DrumClass::Ride]);
}

#[test]
fn layout_is_deterministic() {
    let (mut a, embeddings) = library(600, 4, uneven);
    let mut b = a.clone();
    let ba = layout(&mut a, &embeddings);
    let bb = layout(&mut b, &embeddings);
    assert_eq!(ba, bb);
    assert_eq!(a, b);
}

#[test]
fn similar_embeddings_land_closer_than_dissimilar_ones() {
    // One class, two tight clusters of embeddings on different axes.
    let n = 200;
    let mut rng = SplitMix::new(5);
    let mut samples: Vec<SampleDot> = (0..n).map(|k| dot(DrumClass::Snare, k)).collect();
    let embeddings: Vec<Vec<f32>> = (0..n)
        .map(|k| {
            let mut v: Vec<f32> = (0..8).map(|_| (rng.next_f32() - 0.5) * 0.2).collect();
            v[if k % 2 == 0 { 0 } else { 3 }] += 1.0;
            normalise(&mut v);
            v
        })
        .collect();
    layout(&mut samples, &embeddings);
    let (mut same, mut same_n, mut other, mut other_n) = (0.0, 0, 0.0, 0);
    for i in 0..n {
        for j in i + 1..n {
            let d = dist(samples[i].pos, samples[j].pos);
            if i % 2 == j % 2 {
                same += d;
                same_n += 1;
            } else {
                other += d;
                other_n += 1;
            }
        }
    }
    let (same, other) = (same / same_n as f32, other / other_n as f32);
    assert!(same * 1.5 < other, "same cluster {same}, different clusters {other}");
}

#[test]
fn dots_do_not_sit_on_each_other() {
    // Identical embeddings would all project to one point without the relaxation.
    let mut samples: Vec<SampleDot> = (0..50).map(|k| dot(DrumClass::Tom, k)).collect();
    let embeddings = vec![vec![0.0, 1.0, 0.0]; 50];
    layout(&mut samples, &embeddings);
    for i in 0..samples.len() {
        for j in i + 1..samples.len() {
            assert!(dist(samples[i].pos, samples[j].pos) > 0.2, "{i} and {j} coincide");
        }
    }
}

#[test]
fn samples_without_embeddings_are_still_placed() {
    let mut samples: Vec<SampleDot> = (0..30).map(|k| dot(DrumClass::Clap, k)).collect();
    let bubbles = layout(&mut samples, &[]);
    assert_eq!(bubbles.len(), 1);
    for s in &samples {
        assert!(dist(s.pos, bubbles[0].center) <= bubbles[0].radius);
    }
    assert!(layout(&mut [], &[]).is_empty());
}

#[test]
fn ten_thousand_samples_lay_out() {
    let (mut samples, embeddings) = library(10_000, 6, uneven);
    let start = Instant::now();
    let bubbles = layout(&mut samples, &embeddings);
    // Timing is the benchmark's business; printed here for the record.
    println!("layout of 10,000 samples: {:.1} ms", start.elapsed().as_secs_f64() * 1e3);
    assert_eq!(bubbles.iter().map(|b| b.count).sum::<usize>(), 10_000);
    for s in &samples {
        let b = bubbles.iter().find(|b| b.class == s.class).unwrap();
        assert!(dist(s.pos, b.center) <= b.radius);
    }
}
