//! The hit path at the shortest lookahead the plugin offers, with the shipped hit model: a kick
//! heard for only 20 ms is still a kick, and a 20 ms setting labels like the default one.

use drumsort_core::classifier::Classifier;
use drumsort_core::hits::{label_track, HitConfig, HitDetector, MIN_LOOKAHEAD_S};
use drumsort_core::synth::Demo;
use drumsort_core::DrumClass;

const SR: u32 = 44_100;

/// The hit model in `assets/hit-model/`, the one the plugin and `drumsort hits` embed.
fn shipped_hit_model() -> Classifier {
    Classifier::from_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/hit-model")).unwrap()
}

/// What the tests play: the three drums of every groove, and the kick again.
const DRUMS: [(Demo, DrumClass); 4] = [
    (Demo::Kick, DrumClass::Kick),
    (Demo::Snare, DrumClass::Snare),
    (Demo::ClosedHat, DrumClass::ClosedHat),
    (Demo::Kick, DrumClass::Kick),
];

/// Demo drums struck one at a time, 0.4 s apart, from 0.2 s: (class, onset sample).
fn one_at_a_time(drums: &[(Demo, DrumClass)]) -> (Vec<f32>, Vec<(DrumClass, u64)>) {
    let step = (0.4 * SR as f32) as usize;
    let mut x = vec![0.0f32; step * (drums.len() + 1)];
    let mut truth = Vec::new();
    for (i, &(demo, class)) in drums.iter().enumerate() {
        let at = step / 2 + i * step;
        let mut s = demo.render(SR, 11 + i as u64);
        s.truncate(step - 2_000);
        let n = s.len() / 4;
        let len = s.len();
        s[len - n..].iter_mut().enumerate().for_each(|(k, v)| *v *= 1.0 - k as f32 / n as f32);
        for (o, v) in x[at..].iter_mut().zip(s) {
            *o += 0.8 * v;
        }
        truth.push((class, at as u64));
    }
    (x, truth)
}

/// The class named first at each onset of `truth` (within 10 ms), `None` where no hit was found.
fn labels(c: &Classifier, audio: &[f32], truth: &[(DrumClass, u64)], cfg: &HitConfig) -> Vec<Option<DrumClass>> {
    let hits = label_track(c, audio, SR, 256, cfg).unwrap();
    truth
        .iter()
        .map(|&(_, at)| {
            let near = hits.iter().find(|h| h.sample.abs_diff(at) < u64::from(SR / 100))?;
            near.classes.first().map(|x| x.0)
        })
        .collect()
}

#[test]
fn a_kick_a_snare_and_a_hat_heard_for_twenty_ms_are_named() {
    let c = shipped_hit_model();
    let (audio, truth) = one_at_a_time(&DRUMS);
    // Exactly 20 ms after the onset: the model alone on the shortest window it can be given.
    let exact = HitConfig { lookahead_s: MIN_LOOKAHEAD_S, exact_lookahead: true, ..HitConfig::default() };
    let (_, labeler) = HitDetector::new(SR, &exact);
    let heard = labeler.window_seconds() as f64 * f64::from(SR) - labeler.pre_roll() as f64;
    assert!((heard - 0.02 * f64::from(SR)).abs() <= 1.0, "the window holds 20 ms after the onset: {heard}");
    // (The hit model before `drumsort-a2b2057ec531` never heard a window this short and named
    // all but the kick `shaker`.)
    let expected: Vec<Option<DrumClass>> = DRUMS.iter().map(|d| Some(d.1)).collect();
    assert_eq!(labels(&c, &audio, &truth, &exact), expected);
}

#[test]
fn the_shortest_setting_labels_like_the_default_at_almost_the_same_latency() {
    let c = shipped_hit_model();
    let (audio, truth) = one_at_a_time(&DRUMS);
    let short = HitConfig { lookahead_s: MIN_LOOKAHEAD_S, ..HitConfig::default() };
    let default = HitConfig::default();
    // Below the onset detector's own delay a shorter window would bring no note earlier, so the
    // labeller hears up to that delay: the latency is the detector's, and the labels are the
    // default's.
    let (short_det, short_lab) = HitDetector::new(SR, &short);
    let (default_det, _) = HitDetector::new(SR, &default);
    assert!(short_det.latency_samples() <= default_det.latency_samples());
    assert_eq!(short_det.lookahead_samples(), short_det.latency_samples(), "the window runs to the latency");
    assert!(short_lab.window_seconds() > 0.045);
    let expected: Vec<Option<DrumClass>> = DRUMS.iter().map(|d| Some(d.1)).collect();
    assert_eq!(labels(&c, &audio, &truth, &default), expected);
    assert_eq!(labels(&c, &audio, &truth, &short), expected);
}
