//! Drum sounds of every class with randomly drawn parameters: each call is another drum
//! machine's kick, snare or hat (a tuning, a decay, a noise colour, a click), and `other` is a
//! note, a pad, a bass, a riser or a drum loop. Training can mix them in with the recorded
//! one-shots (`cargo xtask train --synth P`), so the network hears far more kinds of each class
//! than the sample packs hold. The ranges keep each class what a producer would call it: a kick
//! settles below 70 Hz, a tom rings between 80 and 350 Hz, a closed hat dies within 70 ms and an
//! open hat rings on past 150 ms.

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{add, add_at, filtered_noise, metallic_scaled, pitched, saw, square};
use crate::class::DrumClass;
use crate::dsp::{normalise_peak, saturate, Biquad};

/// One sound of `class` at `sr` Hz with parameters drawn from `rng`, peak-normalised to 0.9.
pub fn varied(class: DrumClass, sr: u32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let sr = sr as f32;
    let mut x = match class {
        DrumClass::Kick => kick(sr, rng),
        DrumClass::Snare => snare(sr, rng),
        DrumClass::Clap => clap(sr, rng),
        DrumClass::ClosedHat => hat(sr, log_uniform(rng, 0.012, 0.07), rng),
        DrumClass::OpenHat => hat(sr, log_uniform(rng, 0.15, 0.7), rng),
        DrumClass::Tom => tom(sr, rng),
        DrumClass::Crash => crash(sr, rng),
        DrumClass::Ride => ride(sr, rng),
        DrumClass::Rim => rim(sr, rng),
        DrumClass::Cowbell => cowbell(sr, rng),
        DrumClass::Shaker => shaker(sr, rng),
        DrumClass::Perc => perc(sr, rng),
        DrumClass::Other => other(sr, rng),
    };
    if rng.gen_bool(0.3) {
        // An overdriven output stage.
        saturate(&mut x, log_uniform(rng, 1.5, 6.0));
    }
    normalise_peak(&mut x);
    x.iter_mut().for_each(|v| *v *= 0.9);
    x
}

/// Uniform on a log scale: frequencies and decay times.
fn log_uniform(rng: &mut ChaCha8Rng, lo: f32, hi: f32) -> f32 {
    (lo.ln() + rng.gen::<f32>() * (hi.ln() - lo.ln())).exp()
}

/// A sine at `f` Hz decaying with time constant `decay`: a drum's mode, a bell's partial.
fn ring(sr: f32, secs: f32, f: f32, decay: f32) -> Vec<f32> {
    pitched(sr, secs, move |_| f, move |t| (-t / decay).exp())
}

/// Seconds to render a sound decaying with time constant `decay`: until about -40 dB.
fn length(decay: f32, lo: f32, hi: f32) -> f32 {
    (decay * 4.6).clamp(lo, hi)
}

fn kick(sr: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let settle = log_uniform(rng, 38.0, 68.0);
    let sweep = log_uniform(rng, 30.0, 250.0);
    let tau = log_uniform(rng, 0.008, 0.06);
    let decay = log_uniform(rng, 0.06, 0.5);
    let mut x =
        pitched(sr, length(decay, 0.25, 1.5), move |t| settle + sweep * (-t / tau).exp(), move |t| (-t / decay).exp());
    let click = rng.gen_range(0.0..0.6);
    let (d, hp) = (log_uniform(rng, 0.001, 0.006), log_uniform(rng, 1000.0, 6000.0));
    add(&mut x, &filtered_noise(sr, 0.03, d, Some(hp), None, rng), click);
    x
}

fn tom(sr: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let f = log_uniform(rng, 80.0, 350.0);
    let bend = rng.gen_range(0.0..0.5);
    let tau = log_uniform(rng, 0.02, 0.12);
    let decay = log_uniform(rng, 0.12, 0.7);
    let pitch = move |t: f32| f * (1.0 + bend * (-t / tau).exp());
    let secs = length(decay, 0.4, 2.0);
    let mut x = pitched(sr, secs, pitch, move |t| (-t / decay).exp());
    let ratio = rng.gen_range(1.4..1.8);
    add(
        &mut x,
        &pitched(sr, secs, move |t| ratio * pitch(t), move |t| (-t / (0.4 * decay)).exp()),
        rng.gen_range(0.1..0.5),
    );
    let (d, hp, lp) = (log_uniform(rng, 0.01, 0.05), log_uniform(rng, 300.0, 1000.0), log_uniform(rng, 3000.0, 8000.0));
    let stick = rng.gen_range(0.0..0.4);
    add(&mut x, &filtered_noise(sr, 0.15, d, Some(hp), Some(lp), rng), stick);
    x
}

fn snare(sr: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let f = log_uniform(rng, 150.0, 300.0);
    let body_decay = log_uniform(rng, 0.02, 0.12);
    let noise_decay = log_uniform(rng, 0.05, 0.3);
    let secs = length(noise_decay.max(body_decay), 0.25, 1.2);
    let mut x = pitched(sr, secs, move |t| f * (1.0 + 0.15 * (-t / 0.01).exp()), move |t| (-t / body_decay).exp());
    let ratio = rng.gen_range(1.5..1.9);
    add(&mut x, &ring(sr, secs, ratio * f, 0.6 * body_decay), rng.gen_range(0.2..0.7));
    let (hp, lp, gain) =
        (log_uniform(rng, 800.0, 3000.0), log_uniform(rng, 5000.0, 14_000.0), log_uniform(rng, 0.5, 2.5));
    add(&mut x, &filtered_noise(sr, secs, noise_decay, Some(hp), Some(lp), rng), gain);
    x
}

fn clap(sr: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let bursts = rng.gen_range(2..=5);
    let spacing = log_uniform(rng, 0.005, 0.015);
    let hp = log_uniform(rng, 600.0, 1500.0);
    let lp = hp * log_uniform(rng, 1.8, 4.0);
    let tail_decay = log_uniform(rng, 0.04, 0.3);
    let mut x = vec![0.0; ((bursts as f32 * spacing + length(tail_decay, 0.2, 1.2)) * sr) as usize];
    for k in 0..bursts {
        let burst = filtered_noise(sr, 0.012, 0.004, Some(hp), Some(lp), rng);
        add_at(&mut x, &burst, (k as f32 * spacing * sr) as usize, rng.gen_range(0.6..1.0));
    }
    let tail = filtered_noise(sr, length(tail_decay, 0.2, 1.2), tail_decay, Some(hp), Some(lp), rng);
    add_at(&mut x, &tail, (bursts as f32 * spacing * sr) as usize, rng.gen_range(0.5..1.0));
    x
}

/// A hi-hat, open or closed by its decay: an 808-style bank of square waves, or filtered noise
/// as a recorded cymbal's spectrum looks at this resolution.
fn hat(sr: f32, decay: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let secs = length(decay, 0.08, 2.0);
    let hp = log_uniform(rng, 4000.0, 10_000.0);
    if rng.gen_bool(0.5) {
        let (noise, scale) = (rng.gen_range(0.1..1.0), log_uniform(rng, 1.2, 2.6));
        metallic_scaled(sr, secs, decay, hp, noise, scale, rng)
    } else {
        let lp = log_uniform(rng, 12_000.0, 18_000.0);
        filtered_noise(sr, secs, decay, Some(hp), Some(lp.min(0.45 * sr)), rng)
    }
}

/// Inharmonic partials from `base` up, each `ratio` above the last, ringing about `decay`.
fn partials(sr: f32, secs: f32, base: f32, ratio: f32, top: f32, decay: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let mut x = vec![0.0; (secs * sr) as usize];
    let mut f = base;
    while f < top {
        let fk = f * rng.gen_range(0.97..1.03);
        let d = decay * rng.gen_range(0.6..1.4);
        add(&mut x, &ring(sr, secs, fk, d), rng.gen_range(0.02..0.06));
        f *= ratio;
    }
    x
}

fn crash(sr: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let decay = log_uniform(rng, 0.7, 2.5);
    let secs = length(decay, 1.5, 3.0);
    let (hp, lp) = (log_uniform(rng, 700.0, 2500.0), log_uniform(rng, 10_000.0, 16_000.0));
    let mut x = filtered_noise(sr, secs, decay, Some(hp), Some(lp), rng);
    let (burst_hp, burst) = (log_uniform(rng, 2000.0, 5000.0), rng.gen_range(0.3..1.0));
    add(&mut x, &filtered_noise(sr, 0.3, 0.08, Some(burst_hp), None, rng), burst);
    let (noise, scale, shimmer) = (rng.gen_range(0.0..0.5), log_uniform(rng, 1.2, 2.6), rng.gen_range(0.1..0.6));
    add(&mut x, &metallic_scaled(sr, secs, decay, 3000.0, noise, scale, rng), shimmer);
    x
}

fn ride(sr: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let decay = log_uniform(rng, 0.6, 2.0);
    let secs = length(decay, 1.2, 2.5);
    let (base, ratio) = (log_uniform(rng, 2000.0, 3500.0), rng.gen_range(1.05..1.12));
    let mut x = partials(sr, secs, base, ratio, 9000.0, decay, rng);
    let wash = rng.gen_range(0.02..0.1);
    let (hp, lp) = (log_uniform(rng, 2000.0, 4000.0), log_uniform(rng, 9000.0, 14_000.0));
    add(&mut x, &filtered_noise(sr, secs, decay, Some(hp), Some(lp), rng), wash);
    add(&mut x, &filtered_noise(sr, 0.02, 0.004, Some(3000.0), Some(10_000.0), rng), rng.gen_range(0.3..0.8));
    if rng.gen_bool(0.3) {
        // The bell: a few strong partials an octave or two lower.
        let bell = partials(sr, secs, log_uniform(rng, 700.0, 1500.0), 1.5, 4000.0, decay, rng);
        add(&mut x, &bell, 4.0);
    }
    Biquad::highpass(log_uniform(rng, 300.0, 900.0), 0.707, sr).process(&mut x);
    x
}

fn rim(sr: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let secs = rng.gen_range(0.06..0.15);
    let (hp, d) = (log_uniform(rng, 800.0, 2000.0), log_uniform(rng, 0.003, 0.01));
    let mut x = filtered_noise(sr, secs, d, Some(hp), Some(12_000.0), rng);
    let (f1, d1) = (log_uniform(rng, 700.0, 2000.0), log_uniform(rng, 0.003, 0.012));
    add(&mut x, &ring(sr, secs, f1, d1), rng.gen_range(0.2..0.8));
    let (f2, d2) = (log_uniform(rng, 300.0, 600.0), log_uniform(rng, 0.004, 0.015));
    add(&mut x, &ring(sr, secs, f2, d2), rng.gen_range(0.1..0.5));
    x
}

fn cowbell(sr: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let f1 = log_uniform(rng, 450.0, 900.0);
    let f2 = f1 * rng.gen_range(1.4..1.6);
    let decay = log_uniform(rng, 0.05, 0.3);
    let env =
        move |t: f32| if t < 0.01 { 1.0 } else { 0.6 * (-(t - 0.01) / decay).exp() + 0.4 * (-(t - 0.01) / 0.02).exp() };
    let secs = length(decay, 0.2, 1.2);
    let mut x = square(sr, secs, f1, env);
    add(&mut x, &square(sr, secs, f2, env), 1.0);
    Biquad::peaking(f2 * rng.gen_range(1.5..2.5), 1.5, 6.0, sr).process(&mut x);
    Biquad::highpass(0.7 * f1, 0.707, sr).process(&mut x);
    Biquad::lowpass(log_uniform(rng, 3000.0, 8000.0), 0.707, sr).process(&mut x);
    x
}

fn shaker(sr: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let grains = rng.gen_range(1..=3);
    let gap = log_uniform(rng, 0.03, 0.08);
    let (attack, decay) = (log_uniform(rng, 0.005, 0.04), log_uniform(rng, 0.02, 0.12));
    let grain_len = attack + length(decay, 0.05, 0.6);
    let mut x = vec![0.0; ((grain_len + gap * grains as f32) * sr) as usize];
    for k in 0..grains {
        let n = (grain_len * sr) as usize;
        let grain: Vec<f32> = (0..n)
            .map(|i| {
                let t = i as f32 / sr;
                (t / attack).min(1.0) * (-(t - attack).max(0.0) / decay).exp() * rng.gen_range(-1.0f32..1.0)
            })
            .collect();
        add_at(&mut x, &grain, (k as f32 * gap * sr) as usize, if k == 0 { 1.0 } else { rng.gen_range(0.4..0.9) });
    }
    Biquad::highpass(log_uniform(rng, 3000.0, 7000.0), 0.707, sr).process(&mut x);
    Biquad::lowpass(log_uniform(rng, 9000.0, 15_000.0).min(0.45 * sr), 0.707, sr).process(&mut x);
    x
}

/// Hand percussion: a conga or bongo, a wood block or clave, a timbale, a scraped guiro, a
/// triangle.
fn perc(sr: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    match rng.gen_range(0..5) {
        0 => {
            let (f, decay) = (log_uniform(rng, 180.0, 700.0), log_uniform(rng, 0.05, 0.25));
            let secs = length(decay, 0.2, 1.2);
            let mut x = pitched(sr, secs, move |t| f * (1.0 + 0.1 * (-t / 0.01).exp()), move |t| (-t / decay).exp());
            let ratio = rng.gen_range(1.5..2.3);
            add(&mut x, &ring(sr, secs, ratio * f, 0.3 * decay), rng.gen_range(0.1..0.5));
            add(&mut x, &filtered_noise(sr, 0.02, 0.003, Some(1000.0), Some(6000.0), rng), rng.gen_range(0.1..0.5));
            x
        }
        1 => {
            let (f, decay) = (log_uniform(rng, 800.0, 2500.0), log_uniform(rng, 0.01, 0.05));
            let mut x = ring(sr, 0.2, f, decay);
            let ratio = rng.gen_range(2.5..3.5);
            add(&mut x, &ring(sr, 0.2, ratio * f, 0.5 * decay), rng.gen_range(0.1..0.4));
            x
        }
        2 => {
            let (f, decay) = (log_uniform(rng, 300.0, 800.0), log_uniform(rng, 0.2, 0.6));
            let secs = length(decay, 0.4, 2.0);
            let mut x = ring(sr, secs, f, decay);
            add(&mut x, &partials(sr, secs, 2.3 * f, 1.3, 8000.0, 0.5 * decay, rng), 3.0);
            add(&mut x, &filtered_noise(sr, 0.1, 0.02, Some(2000.0), None, rng), rng.gen_range(0.3..0.8));
            x
        }
        3 => {
            let (scrapes, gap) = (rng.gen_range(5..16), log_uniform(rng, 0.008, 0.02));
            let (hp, lp) = (log_uniform(rng, 1000.0, 3000.0), log_uniform(rng, 4000.0, 9000.0));
            let mut x = vec![0.0; ((scrapes as f32 * gap + 0.1) * sr) as usize];
            for k in 0..scrapes {
                let click = filtered_noise(sr, 0.02, 0.003, Some(hp), Some(lp), rng);
                add_at(&mut x, &click, (k as f32 * gap * sr) as usize, rng.gen_range(0.5..1.0));
            }
            x
        }
        _ => {
            let (f, decay) = (log_uniform(rng, 2500.0, 6000.0), log_uniform(rng, 0.4, 1.5));
            let secs = length(decay, 0.5, 2.0);
            let mut x = ring(sr, secs, f, decay);
            for ratio in [2.7f32, 5.1] {
                let fr = (ratio * f).min(0.45 * sr);
                add(&mut x, &ring(sr, secs, fr, 0.5 * decay), rng.gen_range(0.1..0.4));
            }
            x
        }
    }
}

/// Not a drum one-shot: a note, a pad, a bass line's note, a noise riser or a drum loop.
fn other(sr: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let secs = rng.gen_range(1.2..2.0);
    match rng.gen_range(0..5) {
        0 => {
            let f0 = log_uniform(rng, 55.0, 1000.0);
            let (attack, decay) = (log_uniform(rng, 0.002, 0.05), log_uniform(rng, 0.3, 3.0));
            let mut x = vec![0.0; (secs * sr) as usize];
            for h in 1..=rng.gen_range(3..10) {
                let fh = f0 * h as f32;
                if fh > 0.45 * sr {
                    break;
                }
                let env = move |t: f32| (t / attack).min(1.0) * (-t * h as f32 / decay).exp();
                add(&mut x, &pitched(sr, secs, move |_| fh, env), rng.gen_range(0.2..1.0) / h as f32);
            }
            x
        }
        1 => {
            let root = log_uniform(rng, 110.0, 440.0);
            let attack = rng.gen_range(0.1..0.5);
            let env = move |t: f32| (t / attack).min(1.0) * ((secs - t) / 0.2).clamp(0.0, 1.0);
            let mut x = vec![0.0; (secs * sr) as usize];
            for semis in [0.0f32, *[3.0, 4.0].choose(rng).unwrap_or(&4.0), 7.0] {
                let f = root * 2f32.powf(semis / 12.0);
                add(&mut x, &saw(sr, secs, f, env), 0.3);
                add(&mut x, &saw(sr, secs, f * rng.gen_range(1.002..1.008), env), 0.3);
            }
            Biquad::lowpass(log_uniform(rng, 800.0, 5000.0), 0.9, sr).process(&mut x);
            x
        }
        2 => {
            let f = log_uniform(rng, 40.0, 120.0);
            let env = move |t: f32| (t / 0.005).min(1.0) * ((secs - t) / 0.05).clamp(0.0, 1.0);
            let mut x = saw(sr, secs, f, env);
            Biquad::lowpass(log_uniform(rng, 200.0, 1500.0), 1.2, sr).process(&mut x);
            x
        }
        3 => {
            // A riser: noise swelling over the whole clip.
            let mut x = filtered_noise(sr, secs, 1e6, Some(log_uniform(rng, 200.0, 3000.0)), None, rng);
            let n = x.len() as f32;
            x.iter_mut().enumerate().for_each(|(i, v)| *v *= (i as f32 / n).powi(2));
            x
        }
        _ => {
            // A drum loop: sixteenth notes of varied drums, some steps empty.
            let step = 60.0 / rng.gen_range(90.0f32..180.0) / 4.0;
            let mut x = vec![0.0; (secs * sr) as usize];
            let kit = [DrumClass::Kick, DrumClass::Snare, DrumClass::ClosedHat, DrumClass::Clap, DrumClass::OpenHat];
            let mut t = 0.0;
            while t < secs - 0.05 {
                if rng.gen_bool(0.7) {
                    let class = *kit.choose(rng).unwrap_or(&DrumClass::Kick);
                    let hit = varied(class, sr as u32, rng);
                    add_at(&mut x, &hit, (t * sr) as usize, rng.gen_range(0.4..1.0));
                }
                t += step;
            }
            x
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn render(class: DrumClass, seed: u64) -> Vec<f32> {
        varied(class, 44_100, &mut ChaCha8Rng::seed_from_u64(seed))
    }

    /// Mean square of `x[from..to]` (seconds), relative to the whole sound's.
    fn energy_share(x: &[f32], from: f32, to: f32) -> f32 {
        let (a, b) = (((from * 44_100.0) as usize).min(x.len()), ((to * 44_100.0) as usize).min(x.len()));
        x[a..b].iter().map(|v| v * v).sum::<f32>() / x.iter().map(|v| v * v).sum::<f32>().max(1e-12)
    }

    /// Zero crossings per second of `x[from..to]` (seconds): twice the pitch of a tone.
    fn crossings_per_s(x: &[f32], from: f32, to: f32) -> f32 {
        let (a, b) = (((from * 44_100.0) as usize).min(x.len()), ((to * 44_100.0) as usize).min(x.len()));
        x[a..b].windows(2).filter(|w| (w[0] < 0.0) != (w[1] < 0.0)).count() as f32 / ((b - a) as f32 / 44_100.0)
    }

    #[test]
    fn every_class_renders_finite_normalised_and_differs_by_seed() {
        for class in DrumClass::ALL {
            for seed in 0..20 {
                let x = render(class, seed);
                assert!(x.len() > 1000 && x.len() <= 3 * 44_100, "{class:?} {}", x.len());
                assert!(x.iter().all(|v| v.is_finite()), "{class:?}");
                assert!((crate::dsp::peak(&x) - 0.9).abs() < 1e-3, "{class:?}");
                assert_eq!(x, render(class, seed), "{class:?} is deterministic");
            }
            assert_ne!(render(class, 1), render(class, 2), "{class:?}");
        }
    }

    #[test]
    fn the_classes_keep_what_tells_them_apart() {
        for seed in 0..30 {
            // Once the attack is over, a kick has settled below about 115 Hz, a tom rings above 80
            // Hz, and a hat is all high frequencies.
            let (kick, tom, hat) =
                (render(DrumClass::Kick, seed), render(DrumClass::Tom, seed), render(DrumClass::ClosedHat, seed));
            let (k, t, h) =
                (crossings_per_s(&kick, 0.1, 0.3), crossings_per_s(&tom, 0.1, 0.3), crossings_per_s(&hat, 0.0, 0.05));
            assert!(k < 240.0, "seed {seed}: kick {k}");
            assert!(t > 150.0, "seed {seed}: tom {t}");
            assert!(h > 5000.0, "seed {seed}: hat {h}");
            // A closed hat is over in a tenth of a second; an open hat and a crash ring on.
            assert!(energy_share(&hat, 0.15, 3.0) < 0.05, "seed {seed}");
            assert!(energy_share(&render(DrumClass::OpenHat, seed), 0.1, 3.0) > 0.1, "seed {seed}");
            assert!(energy_share(&render(DrumClass::Crash, seed), 0.5, 3.0) > 0.1, "seed {seed}");
        }
    }
}
