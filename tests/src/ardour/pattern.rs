//! The drum pattern the Ardour sessions play, and the audio files Ardour reads and writes.

use std::path::Path;

use drumsort_core::synth::Demo;
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
    /// touches a sound), 2.5 s in all.
    pub fn new() -> Self {
        let demos = [Demo::Kick, Demo::ClosedHat, Demo::Snare, Demo::ClosedHat];
        let step = SAMPLE_RATE as usize / 4;
        let mut left = vec![0.0f32; step * 10];
        let mut hits = Vec::new();
        for (i, demo) in demos.iter().cycle().take(8).enumerate() {
            let sound = demo.render(SAMPLE_RATE, i as u64);
            let attack = sound.iter().position(|x| x.abs() > 1e-3).unwrap_or(0);
            let at = step / 2 + i * step;
            for (j, &x) in sound[attack..].iter().enumerate().take(step) {
                left[at + j] += x * 0.8;
            }
            hits.push((at as u64, demo.class()));
        }
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
