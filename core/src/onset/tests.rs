use super::*;
use crate::synth::Demo;

pub(crate) const SR: u32 = 44_100;

/// Mixes `(time_s, sound, gain)` events into a track of `secs` seconds; returns the track
/// and the hit times in samples (one per distinct time).
pub(crate) fn track(events: &[(f32, Demo, f32)], secs: f32) -> (Vec<f32>, Vec<u64>) {
    let mut out = vec![0.0f32; (secs * SR as f32) as usize];
    let mut times: Vec<u64> = Vec::new();
    for (i, &(t, d, gain)) in events.iter().enumerate() {
        let at = (t * SR as f32).round() as usize;
        for (o, v) in out.iter_mut().skip(at).zip(faded(d.render(SR, i as u64))) {
            *o += gain * v;
        }
        times.push(at as u64);
    }
    times.sort_unstable();
    times.dedup();
    (out, times)
}

/// A one-shot with its last quarter faded out, as sample makers do: a tail cut off at -25 dB
/// is a click, which is a real onset.
pub(crate) fn faded(mut x: Vec<f32>) -> Vec<f32> {
    let n = x.len() / 4;
    let len = x.len();
    for (i, v) in x[len - n..].iter_mut().enumerate() {
        *v *= 0.5 + 0.5 * (std::f32::consts::PI * i as f32 / n as f32).cos();
    }
    x
}

pub(crate) fn detect(x: &[f32], block: usize, cfg: &OnsetConfig) -> Vec<(u64, f32)> {
    detect_all(x, SR, block, cfg)
}

/// (precision, recall, worst timing error in ms) with greedy matching within `tol_ms`.
pub(crate) fn score(found: &[u64], truth: &[u64], tol_ms: f32) -> (f32, f32, f32) {
    let tol = (tol_ms / 1000.0 * SR as f32) as i64;
    let mut used = vec![false; truth.len()];
    let mut hits = 0;
    let mut worst = 0i64;
    for &f in found {
        if let Some(i) = (0..truth.len()).find(|&i| !used[i] && (truth[i] as i64 - f as i64).abs() <= tol) {
            used[i] = true;
            hits += 1;
            worst = worst.max((truth[i] as i64 - f as i64).abs());
        }
    }
    let p = hits as f32 / found.len().max(1) as f32;
    let r = hits as f32 / truth.len().max(1) as f32;
    (p, r, worst as f32 * 1000.0 / SR as f32)
}

/// A groove with simultaneous hits, ghost notes, open hats and a crash over it.
pub(crate) fn groove() -> Vec<(f32, Demo, f32)> {
    let mut ev = Vec::new();
    let beat = 60.0 / 110.0;
    ev.push((0.05, Demo::Crash, 0.5));
    for bar in 0..2 {
        let t0 = 0.05 + bar as f32 * 4.0 * beat;
        for e in 0..8 {
            let t = t0 + e as f32 * beat / 2.0;
            let hat = if e == 7 { Demo::OpenHat } else { Demo::ClosedHat };
            ev.push((t, hat, if e % 2 == 0 { 0.6 } else { 0.45 }));
            match e {
                0 | 5 => ev.push((t, Demo::Kick, 0.9)),
                2 | 6 => ev.push((t, Demo::Snare, 0.8)),
                _ => {}
            }
        }
        // A ghost note on a sixteenth between hats.
        ev.push((t0 + 3.25 * beat, Demo::Snare, 0.12));
    }
    ev.push((0.05 + 8.0 * beat, Demo::Tom, 0.8));
    ev.push((0.05 + 8.5 * beat, Demo::Clap, 0.7));
    ev.push((0.05 + 9.0 * beat, Demo::Rim, 0.6));
    ev.push((0.05 + 9.5 * beat, Demo::Cowbell, 0.5));
    ev
}

#[test]
fn finds_every_hit_of_a_groove_within_ten_ms() {
    let (x, truth) = track(&groove(), 6.5);
    for block in [64, 512, 4096] {
        let found: Vec<u64> = detect(&x, block, &OnsetConfig::default()).iter().map(|f| f.0).collect();
        let (p, r, worst) = score(&found, &truth, 10.0);
        assert_eq!((p, r), (1.0, 1.0), "block {block}: found {found:?}\ntruth {truth:?}");
        assert!(worst <= 8.0, "block {block}: worst timing error {worst} ms\nfound {found:?}\ntruth {truth:?}");
    }
}

#[test]
fn result_does_not_depend_on_block_size() {
    let (x, _) = track(&groove(), 6.5);
    let a = detect(&x, 1, &OnsetConfig::default());
    let b = detect(&x, 777, &OnsetConfig::default());
    assert_eq!(a, b);
}

#[test]
fn kick_and_hat_together_are_one_onset() {
    let ev: Vec<_> = (0..8)
        .flat_map(|i| [(0.1 + i as f32 * 0.4, Demo::Kick, 0.9), (0.1 + i as f32 * 0.4, Demo::ClosedHat, 0.7)])
        .collect();
    let (x, truth) = track(&ev, 3.6);
    assert_eq!(truth.len(), 8);
    let found: Vec<u64> = detect(&x, 256, &OnsetConfig::default()).iter().map(|f| f.0).collect();
    assert_eq!(found.len(), 8, "{found:?}");
    assert_eq!(score(&found, &truth, 10.0).1, 1.0);
}

#[test]
fn sustained_cymbals_do_not_retrigger() {
    // Two strikes of each cymbal, several renderings. The synthetic crash's six detuned
    // square waves beat strongly enough that, at the default sensitivity, one rendering in
    // three adds an onset about 180 ms into the wash; at 0.3 none does.
    for (d, sensitivity) in [(Demo::Crash, 0.3), (Demo::Ride, 0.5), (Demo::OpenHat, 0.5)] {
        for seed in 0..3u64 {
            let mut x = vec![0.0f32; 5 * SR as usize];
            for (i, t) in [0.2f32, 2.5].into_iter().enumerate() {
                let at = (t * SR as f32) as usize;
                for (o, v) in x.iter_mut().skip(at).zip(faded(d.render(SR, seed * 10 + i as u64))) {
                    *o += 0.9 * v;
                }
            }
            let cfg = OnsetConfig { sensitivity, ..OnsetConfig::default() };
            let found: Vec<u64> = detect(&x, 512, &cfg).iter().map(|f| f.0).collect();
            assert_eq!(found, vec![8820, 110_250], "{d:?} seed {seed}");
        }
    }
}

#[test]
fn noise_and_silence_give_nothing() {
    let mut rng = 12345u32;
    let x: Vec<f32> = (0..SR * 3)
        .map(|_| {
            rng = rng.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (rng >> 8) as f32 / (1u32 << 24) as f32 * 2e-3 - 1e-3
        })
        .collect();
    assert!(detect(&x, 512, &OnsetConfig { sensitivity: 1.0, ..OnsetConfig::default() }).is_empty());
    assert!(detect(&vec![0.0; SR as usize], 512, &OnsetConfig::default()).is_empty());
}

#[test]
fn a_gate_above_steady_noise_removes_its_false_onsets_and_keeps_the_groove() {
    // The groove over white noise at -40 dBFS RMS (hiss of a lo-fi loop, a noisy room mic),
    // with several noise realisations, so the test holds for the gate, not for one draw.
    let (clean, truth) = track(&groove(), 6.5);
    let mut false_onsets_ungated = 0;
    for seed in 1..=5 {
        let noise = crate::synth::white_noise(clean.len(), -40.0, seed);
        let x: Vec<f32> = clean.iter().zip(&noise).map(|(a, b)| a + b).collect();
        let onsets = |gate_dbfs: f32| -> Vec<u64> {
            detect(&x, 512, &OnsetConfig { gate_dbfs, ..OnsetConfig::default() }).iter().map(|f| f.0).collect()
        };
        let noisy = onsets(GATE_DBFS);
        let (p_noisy, r_noisy, _) = score(&noisy, &truth, 30.0);
        false_onsets_ungated += noisy.len() - (p_noisy * noisy.len() as f32).round() as usize;
        // The gate takes out every false onset and finds at least as many hits as without it
        // (more, when a false onset had taken a hit's place within the minimum interval; the
        // two ghost notes, 16 dB under the backbeat, are lost in this noise either way).
        let gated = onsets(-32.0);
        let (p, r, worst) = score(&gated, &truth, 30.0);
        assert!(
            p == 1.0 && r >= r_noisy,
            "noise seed {seed}: P {p} R {r} (ungated R {r_noisy})\nfound {gated:?}\ntruth {truth:?}"
        );
        assert!(r >= 0.9, "noise seed {seed}: recall {r}");
        assert!(worst <= 15.0, "noise seed {seed}: worst timing error {worst} ms");
    }
    assert!(false_onsets_ungated >= 5, "the default gate lets the noise through: {false_onsets_ungated}");
}

#[test]
fn gates_out_of_range_or_nan_are_clamped_or_the_default() {
    let mut det = OnsetDetector::new(SR, &OnsetConfig::default());
    let power = |db: f32| f64::from(10f32.powf(db / 10.0));
    for (asked, used) in [(-30.0, -30.0), (f32::NAN, GATE_DBFS), (-200.0, GATE_RANGE_DBFS.0), (10.0, -12.0)] {
        det.set_config(&OnsetConfig { gate_dbfs: asked, ..OnsetConfig::default() });
        assert!((det.gate_power / power(used) - 1.0).abs() < 1e-6, "{asked} dBFS gave {}", det.gate_power);
    }
    assert_eq!(parse_gate_dbfs("-30"), Ok(-30.0));
    assert!(parse_gate_dbfs("-60").is_ok() && parse_gate_dbfs("-12").is_ok());
    for bad in ["-61", "0", "NaN", "loud"] {
        assert!(parse_gate_dbfs(bad).is_err(), "{bad}");
    }
}

#[test]
fn minimum_interval_merges_a_flam() {
    // A soft hat, then a loud snare 20 ms later: one onset at the default 50 ms minimum, two at 10 ms.
    let (x, _) = track(&[(0.2, Demo::ClosedHat, 0.3), (0.22, Demo::Snare, 0.9), (0.6, Demo::Snare, 0.8)], 1.2);
    let found = detect(&x, 512, &OnsetConfig::default());
    assert_eq!(found.len(), 2, "{found:?}");
    let short = detect(&x, 512, &OnsetConfig { min_interval_s: 0.01, ..OnsetConfig::default() });
    assert_eq!(short.len(), 3, "{short:?}");
}

#[test]
fn process_never_allocates() {
    let (x, truth) = track(&groove(), 6.5);
    let mut det = OnsetDetector::new(SR, &OnsetConfig::default());
    let mut found = [0u64; 64];
    let mut n = 0;
    let ((), allocs) = alloc_counter::count(|| {
        for b in x.chunks(64) {
            det.process(b, |s, _| {
                found[n] = s;
                n += 1;
            });
        }
        det.set_config(&OnsetConfig { sensitivity: 0.7, min_interval_s: 0.02, gate_dbfs: -40.0 });
        det.reset();
    });
    assert_eq!(allocs, 0);
    assert!(n + 2 >= truth.len(), "the counted run must really detect hits: {n}");
}

#[test]
fn works_at_other_sample_rates() {
    for sr in [48_000u32, 96_000] {
        let mut x = vec![0.0f32; sr as usize * 2];
        let times = [0.1f32, 0.6, 1.1, 1.5];
        for (i, &t) in times.iter().enumerate() {
            let d = [Demo::Kick, Demo::Snare, Demo::ClosedHat, Demo::Tom][i];
            let at = (t * sr as f32) as usize;
            for (o, v) in x.iter_mut().skip(at).zip(d.render(sr, 1)) {
                *o += v;
            }
        }
        let mut det = OnsetDetector::new(sr, &OnsetConfig::default());
        let mut found = Vec::new();
        for b in x.chunks(480) {
            det.process(b, |s, _| found.push(s));
        }
        assert_eq!(found.len(), times.len(), "{sr} Hz: {found:?}");
        for (&f, &t) in found.iter().zip(&times) {
            let err_ms = (f as f32 / sr as f32 - t).abs() * 1000.0;
            assert!(err_ms < 5.0, "{sr} Hz: {f} vs {t}: {err_ms} ms");
        }
    }
}
