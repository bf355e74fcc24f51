//! Shared pieces of the end-to-end tests: an in-process CLAP host for the built plugin
//! ([`clap_host`]), a private X server with the command-line tools that drive it ([`xvfb`]), and
//! Ardour sessions built, rendered and rolled by Ardour's own command-line tools ([`ardour`]), and
//! the Windows cross-build ([`windows_build`], shared with `cargo xtask bundle-windows`) run under
//! Wine ([`wine`]).

pub mod ardour;
pub mod clap_host;
#[path = "../../xtask/src/windows_build.rs"]
pub mod windows_build;
pub mod wine;
pub mod xvfb;

use std::path::Path;
use std::time::{Duration, Instant};

use drumsort_core::synth::Demo;
use drumsort_core::DrumClass;

/// The host tests' drum pattern at 48 kHz, mono: eight hits of kick, closed hat, snare, closed
/// hat on 8th notes at 120 bpm, each `(sample of its attack, class)`, and the audio.
pub fn drum_pattern() -> (Vec<(usize, DrumClass)>, Vec<f32>) {
    let rate = 48_000;
    let demos = [Demo::Kick, Demo::ClosedHat, Demo::Snare, Demo::ClosedHat];
    let step = rate as usize / 4; // 8th notes at 120 bpm
    let mut audio = vec![0.0f32; step * 10];
    let mut hits = Vec::new();
    for (i, demo) in demos.iter().cycle().take(8).enumerate() {
        let sound = demo.render(rate, i as u64);
        let attack = sound.iter().position(|x| x.abs() > 1e-3).unwrap_or(0);
        let at = step / 2 + i * step;
        for (j, &x) in sound[attack..].iter().enumerate().take(step) {
            audio[at + j] += x * 0.8;
        }
        hits.push((at, demo.class()));
    }
    (hits, audio)
}

/// Calls `probe` every `every` until it returns `Some` or `timeout` has passed.
pub fn poll<T>(timeout: Duration, every: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = probe() {
            return Some(found);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(every);
    }
}

/// Writes `samples` as a mono 32-bit float WAV at 48 kHz, the rate of every host test.
pub fn write_mono(path: &Path, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut writer =
        hound::WavWriter::create(path, spec).unwrap_or_else(|err| panic!("cannot create {}: {err}", path.display()));
    for &x in samples {
        writer.write_sample(x).expect("cannot write a WAV sample");
    }
    writer.finalize().expect("cannot finish the WAV");
}
