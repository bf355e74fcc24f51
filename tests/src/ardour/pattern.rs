//! The drum pattern the Ardour sessions play, and the audio files Ardour reads and writes.

use std::path::Path;

use drumsort_core::DrumClass;

use super::SAMPLE_RATE;

/// A drum pattern: where each hit's attack starts and what it is, and the stereo audio (the
/// right channel is the left at half level, so a swapped or mixed channel shows).
#[derive(Debug, Clone)]
pub struct Pattern {
    pub hits: Vec<(u64, DrumClass)>,
    pub audio: [Vec<f32>; 2],
}

impl Pattern {
    /// Kick, hat, snare, hat as 8th notes at 120 bpm, twice (the synthesised demo sounds), after
    /// 1/8 s of silence and with 5/8 s from the last hit to the end (no region or transport fade
    /// touches a sound), 2.5 s in all: the host tests' [`crate::drum_pattern`], which is at 48 kHz,
    /// the sessions' [`SAMPLE_RATE`].
    pub fn new() -> Self {
        let (hits, left) = crate::drum_pattern();
        let hits = hits.into_iter().map(|(at, class)| (at as u64, class)).collect();
        let right = left.iter().map(|x| x * 0.5).collect();
        Self { hits, audio: [left, right] }
    }

    pub fn len(&self) -> usize {
        self.audio[0].len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for Pattern {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads a stereo 32-bit float WAV at [`SAMPLE_RATE`].
pub fn read_stereo(path: &Path) -> [Vec<f32>; 2] {
    let mut reader = hound::WavReader::open(path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    let spec = reader.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.sample_format, spec.bits_per_sample),
        (2, SAMPLE_RATE, hound::SampleFormat::Float, 32),
        "{} is not a stereo 32-bit float WAV at {SAMPLE_RATE} Hz",
        path.display()
    );
    let samples: Vec<f32> = reader.samples::<f32>().collect::<Result<_, _>>().expect("cannot read the WAV's samples");
    let left = samples.iter().step_by(2).copied().collect();
    let right = samples.iter().skip(1).step_by(2).copied().collect();
    [left, right]
}
