//! `cargo xtask demo`: writes the synthesised demo one-shots to `assets/demo/` (committed, so
//! the README's first command has something to classify on a fresh clone). `cargo xtask synth`:
//! a labelled folder of the varied sounds `train --synth` mixes into training, to hear them or
//! to score a model on them.

use std::path::Path;

use anyhow::{Context, Result};
use drumsort_core::synth::{varied, Demo};
use drumsort_core::DrumClass;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Sample rate of the demo files: the common library rate.
const RATE: u32 = 44_100;

/// Writes every [`Demo`] sound as 16-bit mono WAV into `dir`.
pub fn write_all(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for demo in Demo::ALL {
        let path = dir.join(format!("{}.wav", demo.file_stem()));
        write_wav(&path, &demo.render(RATE, 1))?;
        println!("{}  ({})", path.display(), demo.class());
    }
    Ok(())
}

/// Arguments of `cargo xtask synth`.
#[derive(clap::Args, Debug)]
pub struct SynthArgs {
    /// Folder to write `<class>/<class>_NNN.wav` into (the layout `eval --data` reads).
    #[arg(long, default_value = "target/synth")]
    out: std::path::PathBuf,
    /// Sounds per class.
    #[arg(long, default_value_t = 20)]
    per_class: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Writes `per_class` varied sounds of every class (`drumsort_core::synth::varied`).
pub fn write_varied(args: SynthArgs) -> Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    for class in DrumClass::ALL {
        let dir = args.out.join(class.as_str());
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for k in 0..args.per_class {
            write_wav(&dir.join(format!("{}_{k:03}.wav", class.as_str())), &varied(class, RATE, &mut rng))?;
        }
    }
    println!("wrote {} sounds of each of {} classes under {}", args.per_class, DrumClass::COUNT, args.out.display());
    Ok(())
}

fn write_wav(path: &Path, samples: &[f32]) -> Result<()> {
    let spec =
        hound::WavSpec { channels: 1, sample_rate: RATE, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).with_context(|| format!("creating {}", path.display()))?;
    for v in samples {
        w.write_sample((v * i16::MAX as f32).round() as i16)?;
    }
    w.finalize()?;
    Ok(())
}
