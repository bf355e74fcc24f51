//! Tests of the track generator.

use super::*;

fn decay(n: usize, tau: f32) -> Vec<f32> {
    (0..n).map(|i| (-(i as f32) / tau).exp() * if i % 2 == 0 { 1.0 } else { -1.0 }).collect()
}

#[test]
fn blended_kit_pieces_strike_both_shots_at_one_attack() {
    // `a` starts 100 samples before its attack, `b` right at it.
    let mut a = vec![0.0; 100];
    a.extend(decay(1_000, 200.0));
    let a = Shot { samples: a, attack: 100, kit: Arc::from("") };
    let b = Shot { samples: decay(3_000, 800.0), attack: 0, kit: Arc::from("") };
    let x = blend(&a, &b, 0.5);
    assert_eq!(x.attack, 100, "the attacks land together");
    assert_eq!(x.samples.len(), 3_100, "the longer tail is kept");
    let peak = x.samples.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!((peak - 1.0).abs() < 1e-6);
    // 1.0 + 0.5 at the attack, normalised: a third of the attack is b.
    assert!((x.samples[100] - 1.0).abs() < 1e-6 && (x.samples[2_000] - 0.5 * b.samples[1_900] / 1.5).abs() < 1e-6);
}

#[test]
fn clean_one_shots_pass_and_rolls_do_not() {
    let shot = decay(20_000, 3_000.0);
    assert!(is_clean_one_shot(&shot));
    let mut roll = shot.clone();
    for (i, v) in decay(10_000, 3_000.0).iter().enumerate() {
        roll[8_000 + i] += v;
    }
    assert!(!is_clean_one_shot(&roll));
    // A bass drum whose partials beat at 33 Hz (15 dB dips every 30 ms), and a hit with a quiet
    // slap-back 150 ms later (-30 dB), are each one hit; a second stroke 100 ms later at -6 dB is
    // not.
    let beating: Vec<f32> = (0..30_000)
        .map(|i| {
            let t = i as f32 / SR as f32;
            let am = 0.6 + 0.4 * (std::f32::consts::TAU * 33.0 * t).cos();
            am * (-t / 0.15).exp() * (std::f32::consts::TAU * 55.0 * t).sin()
        })
        .collect();
    assert!(is_clean_one_shot(&beating));
    let echo_at = |at: usize, gain: f32| {
        let mut x = decay(20_000, 600.0);
        for (i, v) in decay(10_000, 600.0).iter().enumerate() {
            x[at + i] += gain * v;
        }
        x
    };
    assert!(is_clean_one_shot(&echo_at(6_615, 10f32.powf(-30.0 / 20.0))));
    assert!(!is_clean_one_shot(&echo_at(4_410, 0.5)));
    let swell: Vec<f32> = (0..20_000).map(|i| i as f32 / 20_000.0 * if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
    assert!(!is_clean_one_shot(&swell));
}

#[test]
fn every_style_keeps_simultaneous_hits_and_ghost_notes() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for style in Style::ALL {
        let notes: Vec<Note> = (0..8).flat_map(|bar| bar_notes(style, bar, 8, 1.0, &mut rng)).collect();
        assert!(notes.iter().any(|n| n.class == DrumClass::Kick), "{style:?}");
        assert!(notes.iter().all(|n| (0.0..16.0).contains(&n.step) && (0.0..=1.0).contains(&n.velocity)), "{style:?}");
    }
    let funk: Vec<Note> = (0..8).flat_map(|bar| bar_notes(Style::Funk, bar, 8, 1.0, &mut rng)).collect();
    assert!(funk.iter().any(|n| n.class == DrumClass::Snare && n.velocity < 0.3), "ghost notes");
    assert!(funk.iter().any(
        |a| a.class == DrumClass::Kick && funk.iter().any(|b| b.class == DrumClass::ClosedHat && b.step == a.step)
    ));
}

#[test]
fn compressor_keeps_peak_and_narrows_dynamics() {
    let mut x: Vec<f32> =
        (0..44_100).map(|i| if i < 22_050 { 0.9 } else { 0.1 } * if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
    compress(&mut x, -12.0, 4.0);
    assert!((peak(&x) - 0.9).abs() < 1e-3);
    // Past the attack and the release, loud is much less than 19 dB above quiet.
    let (loud, quiet) = (x[15_000].abs(), x[40_000].abs());
    assert!(loud / quiet < 4.0, "{loud} / {quiet}");
}

#[test]
fn an_acoustic_track_plays_one_recorded_kit_and_borrows_only_what_it_lacks() {
    let shot = |kit: &str| Arc::new(Shot { samples: vec![1.0; 100], attack: 0, kit: Arc::from(kit) });
    let mut library = Library::new();
    for class in [DrumClass::Kick, DrumClass::Snare, DrumClass::ClosedHat] {
        library.insert(class, vec![shot("a"), shot("b"), shot("a"), shot("b")]);
    }
    library.insert(DrumClass::Crash, vec![shot("c")]);
    for seed in 0..20 {
        let kit = kit::pick(&library, KitKind::Acoustic, &mut ChaCha8Rng::seed_from_u64(seed));
        let one = &kit[&DrumClass::Kick][0].kit;
        for class in [DrumClass::Snare, DrumClass::ClosedHat] {
            assert_eq!(&kit[&class][0].kit, one, "seed {seed}: one kit for the drums");
        }
        assert_eq!(&*kit[&DrumClass::Crash][0].kit, "c", "a class the kit lacks comes from another");
    }
}

#[test]
fn a_drummer_keeps_time_on_the_hats_opens_some_and_plays_ghost_notes() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (mut open, mut ghosts, mut ride_bars) = (0, 0, 0);
    for bar in 0..64 {
        let mut notes = bar_notes(Style::Rock, bar, 64, 0.5, &mut rng);
        kit::acoustic_feel(&mut notes, bar, &mut rng);
        let cymbal = |n: &Note| {
            matches!(n.class, DrumClass::ClosedHat | DrumClass::OpenHat | DrumClass::Ride | DrumClass::Crash)
        };
        for eighth in (0..16).step_by(2) {
            assert!(notes.iter().any(|n| n.step == eighth as f32 && cymbal(n)), "bar {bar}: a cymbal on {eighth}");
        }
        assert!(notes.iter().all(|n| (0.0..16.0).contains(&n.step) && (0.0..=1.0).contains(&n.velocity)));
        open += notes.iter().filter(|n| n.class == DrumClass::OpenHat).count();
        ghosts += notes.iter().filter(|n| n.class == DrumClass::Snare && n.velocity < 0.25).count();
        ride_bars += usize::from(notes.iter().any(|n| n.class == DrumClass::Ride));
    }
    assert!(open > 0 && ghosts > 16 && (5..40).contains(&ride_bars), "{open} open, {ghosts} ghosts, {ride_bars} ride");
}

#[test]
fn snare_buzz_sounds_under_cymbals_without_a_note() {
    // A kit whose snare is a 3 kHz tone and whose other pieces are low thuds: the buzz is the
    // only energy at 3 kHz that no snare note explains.
    let tone = |hz: f32, n: usize| -> Vec<f32> {
        (0..n)
            .map(|i| (std::f32::consts::TAU * hz * i as f32 / SR as f32).sin() * (-(i as f32) / 2_000.0).exp())
            .collect()
    };
    let shot = |samples: Vec<f32>| Arc::new(Shot { samples, attack: 0, kit: Arc::from("k") });
    let mut library = Library::new();
    library.insert(DrumClass::Snare, vec![shot(tone(3_000.0, 8_000))]);
    for class in [DrumClass::Kick, DrumClass::ClosedHat, DrumClass::OpenHat, DrumClass::Ride, DrumClass::Crash] {
        library.insert(class, vec![shot(tone(60.0, 8_000))]);
    }
    let play = |snare_buzz| {
        let p = Play { kind: KitKind::Acoustic, snare_buzz, ..Play::default() };
        perform(Style::Rock, 120.0, 0.5, &library, p, &mut ChaCha8Rng::seed_from_u64(9))
    };
    let (quiet, notes, _) = play(0.0);
    let (buzzing, same_notes, _) = play(1.0);
    assert_eq!(notes, same_notes, "the buzz adds no note and moves none");
    // At each hat or ride hit with no snare within 50 ms: the 3 kHz energy just after it.
    let energy_3k = |x: &[f32], t: f64| {
        let at = (t * f64::from(SR)) as usize;
        let w = &x[at..(at + 1_024).min(x.len())];
        let (mut re, mut im) = (0f32, 0f32);
        for (i, v) in w.iter().enumerate() {
            let ph = std::f32::consts::TAU * 3_000.0 * i as f32 / SR as f32;
            re += v * ph.cos();
            im += v * ph.sin();
        }
        (re * re + im * im).sqrt()
    };
    let cymbals: Vec<f64> = notes
        .iter()
        .filter(|(t, c)| {
            matches!(c, DrumClass::ClosedHat | DrumClass::Ride)
                && !notes.iter().any(|(u, d)| *d == DrumClass::Snare && (u - t).abs() < 0.05)
        })
        .map(|(t, _)| *t)
        .collect();
    assert!(cymbals.len() > 8);
    // The two renders' rooms and bus differ (the buzz draws its gains from the track's random
    // stream), and a ringing room can cancel a little of it: most hits, by a wide margin.
    let mut ratios: Vec<f32> =
        cymbals.iter().map(|&t| energy_3k(&buzzing, t) / energy_3k(&quiet, t).max(1e-9)).collect();
    ratios.sort_by(f32::total_cmp);
    let louder = ratios.iter().filter(|&&r| r > 1.5).count();
    assert!(4 * louder >= 3 * ratios.len() && ratios[ratios.len() / 2] > 4.0, "{ratios:?}");
}
