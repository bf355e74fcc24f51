//! Colours of the editor: one per drum class (bubbles, dots, chips, hit lane) and the few
//! accents for selection, playback and corrections.

use drumsort_core::class::DrumClass;
use egui::Color32;

/// The colour of a class, in [`DrumClass::ALL`] order: hues far apart for classes that sit next
/// to each other in a kit, readable on the dark theme.
const CLASS_COLOURS: [Color32; DrumClass::COUNT] = [
    Color32::from_rgb(0xE8, 0x4A, 0x4A), // kick
    Color32::from_rgb(0xF2, 0xA1, 0x3B), // snare
    Color32::from_rgb(0xE8, 0xD2, 0x4A), // clap
    Color32::from_rgb(0x6C, 0xD4, 0x5B), // closed hat
    Color32::from_rgb(0x3B, 0xB3, 0x8C), // open hat
    Color32::from_rgb(0xB0, 0x6B, 0x3A), // tom
    Color32::from_rgb(0x4A, 0xC8, 0xE8), // crash
    Color32::from_rgb(0x4A, 0x82, 0xE8), // ride
    Color32::from_rgb(0xA8, 0x7B, 0xF0), // rim
    Color32::from_rgb(0xE8, 0x6F, 0xC8), // cowbell
    Color32::from_rgb(0xC2, 0xE0, 0x8A), // shaker
    Color32::from_rgb(0xF0, 0x8F, 0x7B), // perc
    Color32::from_rgb(0x9A, 0x9A, 0xA4), // other
];

/// Ring around the selected dot.
pub const SELECTED: Color32 = Color32::WHITE;
/// Ring around the sample that is playing.
pub const PLAYING: Color32 = Color32::from_rgb(0xFF, 0xE0, 0x40);
/// Ring marking a user correction.
pub const CORRECTED: Color32 = Color32::from_rgb(0xF0, 0xF0, 0xF0);
/// Error text in the status line.
pub const ERROR: Color32 = Color32::from_rgb(0xFF, 0x70, 0x70);

/// The colour of `class`.
pub fn class_colour(class: DrumClass) -> Color32 {
    CLASS_COLOURS[class.index()]
}

/// The colour of a dot of `class` drawn with `confidence` (0..=1): less sure is more transparent.
pub fn dot_colour(class: DrumClass, confidence: f32) -> Color32 {
    let alpha = 0.35 + 0.65 * confidence.clamp(0.0, 1.0);
    class_colour(class).gamma_multiply(alpha)
}

/// The class name as the editor shows it ("closed hat").
pub fn class_label(class: DrumClass) -> &'static str {
    match class {
        DrumClass::ClosedHat => "closed hat",
        DrumClass::OpenHat => "open hat",
        other => other.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_its_own_colour() {
        for (i, a) in DrumClass::ALL.iter().enumerate() {
            for b in &DrumClass::ALL[i + 1..] {
                assert_ne!(class_colour(*a), class_colour(*b), "{a:?} and {b:?}");
            }
        }
    }

    #[test]
    fn low_confidence_is_more_transparent() {
        assert!(dot_colour(DrumClass::Kick, 0.1).a() < dot_colour(DrumClass::Kick, 0.9).a());
    }
}
