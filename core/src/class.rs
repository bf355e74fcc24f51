//! The drum classes Drumsort names, in the one order the model, the index and the CLI share.

use std::fmt;
use std::str::FromStr;

/// A drum one-shot class, or [`DrumClass::Other`] for anything that is not a drum one-shot
/// (tonal notes, vocals, FX, textures, loops).
///
/// The discriminant is the index of the class in the model's output vector, so the order of
/// [`DrumClass::ALL`] is part of the shipped model's contract (a test checks the model's label file
/// against it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrumClass {
    Kick = 0,
    Snare,
    Clap,
    ClosedHat,
    OpenHat,
    Tom,
    Crash,
    Ride,
    Rim,
    Cowbell,
    Shaker,
    Perc,
    Other,
}

/// Returned when a string names no [`DrumClass`]; carries the rejected text for the message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown drum class {0:?} (expected one of: kick, snare, clap, closed_hat, open_hat, tom, crash, ride, rim, cowbell, shaker, perc, other)")]
pub struct UnknownClass(pub String);

impl DrumClass {
    /// Number of classes, the width of the model's score vector.
    pub const COUNT: usize = 13;

    /// Every class in model output order.
    pub const ALL: [DrumClass; Self::COUNT] = [
        DrumClass::Kick,
        DrumClass::Snare,
        DrumClass::Clap,
        DrumClass::ClosedHat,
        DrumClass::OpenHat,
        DrumClass::Tom,
        DrumClass::Crash,
        DrumClass::Ride,
        DrumClass::Rim,
        DrumClass::Cowbell,
        DrumClass::Shaker,
        DrumClass::Perc,
        DrumClass::Other,
    ];

    /// The drum classes only (everything but `Other`), e.g. for hit labelling.
    pub const DRUMS: [DrumClass; Self::COUNT - 1] = {
        let mut out = [DrumClass::Kick; Self::COUNT - 1];
        let mut i = 0;
        while i < Self::COUNT - 1 {
            out[i] = Self::ALL[i];
            i += 1;
        }
        out
    };

    /// The canonical name: the folder name in datasets, the value in JSON/CSV output.
    pub const fn as_str(self) -> &'static str {
        match self {
            DrumClass::Kick => "kick",
            DrumClass::Snare => "snare",
            DrumClass::Clap => "clap",
            DrumClass::ClosedHat => "closed_hat",
            DrumClass::OpenHat => "open_hat",
            DrumClass::Tom => "tom",
            DrumClass::Crash => "crash",
            DrumClass::Ride => "ride",
            DrumClass::Rim => "rim",
            DrumClass::Cowbell => "cowbell",
            DrumClass::Shaker => "shaker",
            DrumClass::Perc => "perc",
            DrumClass::Other => "other",
        }
    }

    /// Index into the model's score vector.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The class at a score-vector index, if in range.
    pub fn from_index(i: usize) -> Option<Self> {
        Self::ALL.get(i).copied()
    }

    /// The General MIDI (channel 10) drum note this class maps to by default; `None` for `Other`.
    pub const fn gm_note(self) -> Option<u8> {
        match self {
            DrumClass::Kick => Some(36),      // Bass Drum 1
            DrumClass::Snare => Some(38),     // Acoustic Snare
            DrumClass::Clap => Some(39),      // Hand Clap
            DrumClass::ClosedHat => Some(42), // Closed Hi-Hat
            DrumClass::OpenHat => Some(46),   // Open Hi-Hat
            DrumClass::Tom => Some(45),       // Low Tom
            DrumClass::Crash => Some(49),     // Crash Cymbal 1
            DrumClass::Ride => Some(51),      // Ride Cymbal 1
            DrumClass::Rim => Some(37),       // Side Stick
            DrumClass::Cowbell => Some(56),   // Cowbell
            DrumClass::Shaker => Some(70),    // Maracas
            DrumClass::Perc => Some(63),      // Open Hi Conga
            DrumClass::Other => None,
        }
    }

    /// Whether this is a drum class (not `Other`).
    pub const fn is_drum(self) -> bool {
        !matches!(self, DrumClass::Other)
    }
}

impl fmt::Display for DrumClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DrumClass {
    type Err = UnknownClass;

    /// Parses the canonical names; case-insensitive, `-` and ` ` accepted for `_`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm: String = s
            .trim()
            .chars()
            .map(|c| match c {
                '-' | ' ' => '_',
                c => c.to_ascii_lowercase(),
            })
            .collect();
        Self::ALL.iter().copied().find(|c| c.as_str() == norm).ok_or_else(|| UnknownClass(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_matches_discriminants_and_names_round_trip() {
        for (i, c) in DrumClass::ALL.iter().enumerate() {
            assert_eq!(c.index(), i);
            assert_eq!(DrumClass::from_index(i), Some(*c));
            assert_eq!(c.as_str().parse::<DrumClass>().unwrap(), *c);
        }
        assert_eq!(DrumClass::from_index(DrumClass::COUNT), None);
        assert_eq!("Closed-Hat".parse::<DrumClass>().unwrap(), DrumClass::ClosedHat);
        assert!("cymbal".parse::<DrumClass>().is_err());
        assert_eq!(DrumClass::DRUMS.len(), 12);
        assert!(!DrumClass::DRUMS.contains(&DrumClass::Other));
    }

    #[test]
    fn gm_notes_are_distinct_and_only_other_has_none() {
        let mut notes: Vec<u8> = DrumClass::DRUMS.iter().map(|c| c.gm_note().unwrap()).collect();
        notes.sort_unstable();
        notes.dedup();
        assert_eq!(notes.len(), 12);
        assert!(notes.iter().all(|n| (35..=81).contains(n)), "GM percussion range is 35..=81");
        assert_eq!(DrumClass::Other.gm_note(), None);
    }

    #[test]
    fn serde_uses_canonical_names() {
        assert_eq!(serde_json::to_string(&DrumClass::OpenHat).unwrap(), "\"open_hat\"");
        let c: DrumClass = serde_json::from_str("\"cowbell\"").unwrap();
        assert_eq!(c, DrumClass::Cowbell);
    }
}
