//! `cargo xtask demo`: writes the synthesised demo one-shots to `assets/demo/` (committed, so
//! the README's first command has something to classify on a fresh clone).

use std::path::Path;

use anyhow::{Context, Result};
use drumsort_core::synth::Demo;

/// Sample rate of the demo files: the common library rate.
const RATE: u32 = 44_100;

/// Writes every [`Demo`] sound as 16-bit mono WAV into `dir`.
pub fn write_all(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let spec =
        hound::WavSpec { channels: 1, sample_rate: RATE, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    for demo in Demo::ALL {
        let path = dir.join(format!("{}.wav", demo.file_stem()));
        let mut w = hound::WavWriter::create(&path, spec).with_context(|| format!("creating {}", path.display()))?;
        for v in demo.render(RATE, 1) {
            w.write_sample((v * i16::MAX as f32).round() as i16)?;
        }
        w.finalize()?;
        println!("{}  ({})", path.display(), demo.class());
    }
    Ok(())
}
