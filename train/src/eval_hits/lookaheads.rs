//! `eval-hits --lookahead-ms 20,30,50`: the figures of every lookahead side by side.

use drumsort_core::hits::{HitConfig, HitDetector};
use drumsort_core::DrumClass;

use super::{f1_interval, key, pool, Evaluated};

/// The classes whose mean the low-latency target compares across lookaheads.
pub const CORE_CLASSES: [DrumClass; 3] = [DrumClass::Kick, DrumClass::Snare, DrumClass::ClosedHat];

/// Prints, for each lookahead, what the model hears and the hit path's latency at the tracks'
/// `rate`, then the F1 of
/// every track of every set pooled, with its 95 % interval, one column per lookahead, and the
/// mean of kick, snare and closed hat.
pub fn print(results: &[(HitConfig, Evaluated)], rate: u32) {
    println!("F1 of every track of every set pooled, per lookahead:");
    let heard = |cfg: &HitConfig| {
        let (detector, labeler) = HitDetector::new(rate, cfg);
        let ms = |samples: usize| samples as f64 * 1000.0 / f64::from(rate);
        let window = (f64::from(labeler.window_seconds()) * f64::from(rate)).round() as usize;
        (ms(window - labeler.pre_roll()), ms(detector.latency_samples()))
    };
    let cell = |s: String| format!("{s:>22}");
    let header: Vec<String> = results.iter().map(|(c, _)| cell(format!("{:.0} ms", c.lookahead_s * 1000.0))).collect();
    println!("{:<16}{}", "lookahead", header.join(""));
    let windows: Vec<String> = results.iter().map(|(c, _)| cell(format!("{:.1} ms", heard(c).0))).collect();
    println!("{:<16}{}", "model hears", windows.join(""));
    let latency: Vec<String> = results.iter().map(|(c, _)| cell(format!("{:.1} ms", heard(c).1))).collect();
    println!("{:<16}{}", "latency", latency.join(""));
    let pooled: Vec<_> = results.iter().map(|(_, r)| pool(&r.tracks)).collect();
    let classes = DrumClass::DRUMS.into_iter().filter(|c| pooled.iter().any(|p| p.per_class.contains_key(c)));
    for class in std::iter::once(None).chain(classes.map(Some)) {
        let cells: Vec<String> = results
            .iter()
            .zip(&pooled)
            .map(|((_, r), p)| {
                let (lo, hi) = f1_interval(&r.tracks, class);
                cell(format!("{:.3} [{lo:.3}, {hi:.3}]", p.get(class).f1))
            })
            .collect();
        println!("{:<16}{}", key(class), cells.join(""));
    }
    let means: Vec<String> = pooled.iter().map(|p| cell(format!("{:.3}", core_mean(|c| p.get(Some(c)).f1)))).collect();
    println!("{:<16}{}", "kick/snare/hat", means.join(""));
    println!(
        "(at {:.1} kHz; model hears: audio after the onset in each window; latency: the hit path's, \
         before a plugin adds a block and its margin)",
        f64::from(rate) / 1000.0
    );
}

/// The mean of `f1` over [`CORE_CLASSES`].
pub fn core_mean(f1: impl Fn(DrumClass) -> f64) -> f64 {
    CORE_CLASSES.iter().map(|&c| f1(c)).sum::<f64>() / CORE_CLASSES.len() as f64
}
