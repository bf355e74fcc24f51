//! What the drummer of `make-performances` plays: the grooves it knows ([`Style`]) and the notes
//! of one bar of each, with ghost notes, accents, swing, a crash on each phrase start and tom
//! fills at phrase ends.

use drumsort_core::DrumClass;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Grooves the generator knows, each with its tempo range (bpm).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Style {
    Rock,
    Funk,
    House,
    DrumAndBass,
    HipHop,
    Latin,
    Jazz,
    Breakbeat,
}

impl Style {
    pub(super) const ALL: [Style; 8] = [
        Style::Rock,
        Style::Funk,
        Style::House,
        Style::DrumAndBass,
        Style::HipHop,
        Style::Latin,
        Style::Jazz,
        Style::Breakbeat,
    ];

    pub(super) fn tempo(self) -> (f32, f32) {
        match self {
            Style::Rock => (95.0, 140.0),
            Style::Funk => (88.0, 112.0),
            Style::House => (118.0, 128.0),
            Style::DrumAndBass => (160.0, 170.0),
            Style::HipHop => (80.0, 98.0),
            Style::Latin => (95.0, 125.0),
            Style::Jazz => (110.0, 170.0),
            Style::Breakbeat => (95.0, 135.0),
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Style::Rock => "rock",
            Style::Funk => "funk",
            Style::House => "house",
            Style::DrumAndBass => "dnb",
            Style::HipHop => "hiphop",
            Style::Latin => "latin",
            Style::Jazz => "jazz",
            Style::Breakbeat => "breakbeat",
        }
    }
}

/// One struck sound of a groove: position in 16th notes from the bar start (fractional for
/// swing and triplets), class, velocity 0..=1 and which of the kit's samples of that class.
#[derive(Clone, Copy, Debug)]
pub(super) struct Note {
    pub(super) step: f32,
    pub(super) class: DrumClass,
    pub(super) velocity: f32,
    pub(super) variant: usize,
}

/// The notes of one bar of `style`. `bar` counts from 0, phrases are 4 bars; `density` 0..=1
/// scales how many optional notes are played.
pub(super) fn bar_notes(style: Style, bar: usize, bars: usize, density: f32, rng: &mut ChaCha8Rng) -> Vec<Note> {
    let mut out = Vec::new();
    let mut add = |step: f32, class: DrumClass, velocity: f32| out.push(Note { step, class, velocity, variant: 0 });
    let p = |prob: f32, rng: &mut ChaCha8Rng| rng.gen::<f32>() < prob;
    let phrase_start = bar.is_multiple_of(4);
    let fill = bar % 4 == 3 && bar + 1 < bars && p(0.6, rng);
    let ghost = |rng: &mut ChaCha8Rng| rng.gen_range(0.10f32..0.25);
    match style {
        Style::Rock | Style::Breakbeat => {
            let sixteenths = density > 0.7;
            for s in 0..16 {
                if s % 2 == 0 || sixteenths {
                    add(
                        s as f32,
                        DrumClass::ClosedHat,
                        if s % 4 == 0 {
                            0.8
                        } else if s % 2 == 0 {
                            0.6
                        } else {
                            0.35
                        },
                    );
                }
            }
            let kicks: &[usize] = if style == Style::Rock { &[0, 8] } else { &[0, 6, 10] };
            for &s in kicks {
                add(s as f32, DrumClass::Kick, 0.9);
            }
            if p(0.5 * density, rng) {
                add(if style == Style::Rock { 10.0 } else { 15.0 }, DrumClass::Kick, 0.75);
            }
            add(4.0, DrumClass::Snare, 0.9);
            add(12.0, DrumClass::Snare, 0.95);
            for s in [7, 9, 15] {
                if p(0.35 * density, rng) {
                    add(s as f32, DrumClass::Snare, ghost(rng));
                }
            }
            if style == Style::Breakbeat && p(0.5, rng) {
                add(14.0, DrumClass::OpenHat, 0.6);
            }
        }
        Style::Funk => {
            for s in 0..16 {
                if s != 14 {
                    add(
                        s as f32,
                        DrumClass::ClosedHat,
                        if s % 4 == 0 {
                            0.75
                        } else if s % 2 == 0 {
                            0.55
                        } else {
                            0.3
                        },
                    );
                }
            }
            add(14.0, DrumClass::OpenHat, 0.65);
            for (s, prob) in [(0, 1.0), (3, 0.5), (6, 0.4), (10, 1.0), (11, 0.4)] {
                if p(prob * (0.5 + density / 2.0), rng) {
                    add(s as f32, DrumClass::Kick, 0.85);
                }
            }
            add(4.0, DrumClass::Snare, 0.9);
            add(12.0, DrumClass::Snare, 0.9);
            for s in [2, 7, 9, 15] {
                if p(0.6 * density, rng) {
                    add(s as f32, DrumClass::Snare, ghost(rng));
                }
            }
        }
        Style::House => {
            for s in [0, 4, 8, 12] {
                add(s as f32, DrumClass::Kick, 0.95);
            }
            for s in [4, 12] {
                add(s as f32, DrumClass::Clap, 0.85);
                if p(0.4, rng) {
                    add(s as f32, DrumClass::Snare, 0.6);
                }
            }
            for s in [2, 6, 10, 14] {
                add(s as f32, DrumClass::OpenHat, 0.6);
            }
            for s in [1, 3, 5, 7, 9, 11, 13, 15] {
                if p(density, rng) {
                    add(s as f32, DrumClass::Shaker, 0.35);
                }
            }
        }
        Style::DrumAndBass => {
            let ride = bar % 8 >= 4;
            for s in (0..16).step_by(2) {
                add(
                    s as f32,
                    if ride { DrumClass::Ride } else { DrumClass::ClosedHat },
                    if s % 4 == 0 { 0.7 } else { 0.5 },
                );
            }
            add(0.0, DrumClass::Kick, 0.95);
            add(10.0, DrumClass::Kick, 0.9);
            if p(0.5 * density, rng) {
                add(7.0, DrumClass::Kick, 0.7);
            }
            add(4.0, DrumClass::Snare, 0.95);
            add(12.0, DrumClass::Snare, 0.95);
            if p(0.5 * density, rng) {
                add(9.0, DrumClass::Snare, ghost(rng));
            }
        }
        Style::HipHop => {
            let swing = 0.35;
            for s in 0..16 {
                if s % 2 == 0 || p(density, rng) {
                    let step = s as f32 + if s % 2 == 1 { swing } else { 0.0 };
                    add(step, DrumClass::ClosedHat, if s % 2 == 0 { 0.6 } else { 0.35 });
                }
            }
            add(0.0, DrumClass::Kick, 0.95);
            add(10.0, DrumClass::Kick, 0.9);
            if p(0.6, rng) {
                add(3.0 + swing, DrumClass::Kick, 0.7);
            }
            add(4.0, DrumClass::Snare, 0.9);
            add(12.0, DrumClass::Snare, 0.9);
            if p(0.5 * density, rng) {
                add(14.0, DrumClass::Rim, 0.5);
            }
            if p(0.3, rng) {
                add(7.0 + swing, DrumClass::Shaker, 0.4);
            }
        }
        Style::Latin => {
            for s in [0, 3, 6, 10, 12] {
                add(s as f32, DrumClass::Rim, 0.6);
            }
            for s in [0, 4, 8, 12] {
                add(s as f32, DrumClass::Cowbell, if s == 0 { 0.7 } else { 0.5 });
            }
            for (s, v) in [(2, 0.6), (7, 0.7), (11, 0.6), (14, 0.8)] {
                out.push(Note { step: s as f32, class: DrumClass::Perc, velocity: v, variant: s % 2 });
            }
            for s in 0..16 {
                if p(density, rng) {
                    out.push(Note {
                        step: s as f32,
                        class: DrumClass::Shaker,
                        velocity: if s % 4 == 0 { 0.45 } else { 0.25 },
                        variant: 0,
                    });
                }
            }
            out.push(Note { step: 0.0, class: DrumClass::Kick, velocity: 0.85, variant: 0 });
            out.push(Note { step: 8.0, class: DrumClass::Kick, velocity: 0.85, variant: 0 });
        }
        Style::Jazz => {
            // Swung eighths: the "and" sits two thirds into the beat.
            for step in [0.0, 4.0, 4.0 + 8.0 / 3.0, 8.0, 12.0, 12.0 + 8.0 / 3.0] {
                add(step, DrumClass::Ride, if step % 4.0 == 0.0 { 0.7 } else { 0.5 });
            }
            add(4.0, DrumClass::ClosedHat, 0.5);
            add(12.0, DrumClass::ClosedHat, 0.5);
            for s in [0.0, 8.0] {
                if p(0.5, rng) {
                    add(s, DrumClass::Kick, 0.45);
                }
            }
            for step in [2.0 + 4.0 / 3.0, 6.0 + 4.0 / 3.0, 10.0 + 4.0 / 3.0, 14.0 + 4.0 / 3.0] {
                if p(0.4 * density, rng) {
                    add(step, DrumClass::Snare, rng.gen_range(0.15f32..0.45));
                }
            }
        }
    }
    if phrase_start {
        // Crash with a kick on the one; it replaces the hat or ride there.
        out.retain(|n| !(n.step == 0.0 && matches!(n.class, DrumClass::ClosedHat | DrumClass::Ride)));
        out.push(Note { step: 0.0, class: DrumClass::Crash, velocity: 0.8, variant: 0 });
        if !out.iter().any(|n| n.step == 0.0 && n.class == DrumClass::Kick) {
            out.push(Note { step: 0.0, class: DrumClass::Kick, velocity: 0.9, variant: 0 });
        }
    }
    if fill {
        // The last beat (or two) becomes a tom fill in sixteenths, high tom to low.
        let from = if rng.gen_bool(0.5) { 8 } else { 12 };
        out.retain(|n| n.step < from as f32);
        for (k, s) in (from..16).enumerate() {
            let variant = k * 3 / (16 - from);
            if s == from && rng.gen_bool(0.5) {
                out.push(Note { step: s as f32, class: DrumClass::Snare, velocity: 0.8, variant: 0 });
            } else {
                out.push(Note { step: s as f32, class: DrumClass::Tom, velocity: rng.gen_range(0.6..0.9), variant });
            }
        }
    }
    out
}
