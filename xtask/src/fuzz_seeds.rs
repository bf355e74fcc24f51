//! Seed corpora for `cargo xtask fuzz`, generated from the project's own material rather than
//! committed as blobs: synthesised one-shots written as WAV in several layouts, the committed
//! codec fixtures (core/tests/fixtures), cut-off copies of both, sample patterns with the values
//! that break numeric code, and a real library index built by a scan.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use drumsort_core::classifier::{Classifier, ModelMeta, Thresholds, META_FILE, WEIGHTS_FILE};
use drumsort_core::index::{Index, ScanModel, ScanOptions};
use drumsort_core::synth::Demo;
use drumsort_core::DrumClass;

/// The codec fixtures each decoder target starts from, by extension.
const FIXTURES: &str = "core/tests/fixtures";

/// Writes the seeds of `target` into `dir` (emptied first); returns how many.
pub fn write(target: &str, dir: &Path) -> Result<usize> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let seeds: Vec<(String, Vec<u8>)> = match target {
        "decode_wav" => with_cuts(wav_seeds()?),
        "features" => feature_seeds(),
        "index" => index_seeds()?,
        "plugin_state" => state_seeds(),
        t => match t.strip_prefix("decode_") {
            Some(ext) => with_cuts(fixture_seeds(ext)?),
            None => anyhow::bail!("no seeds defined for fuzz target {t}"),
        },
    };
    for (name, bytes) in &seeds {
        std::fs::write(dir.join(name), bytes).with_context(|| format!("writing seed {name}"))?;
    }
    Ok(seeds.len())
}

/// Each seed, plus a copy cut in half (a download that stopped): the decoders' truncation paths
/// are where damaged libraries spend most of their time.
fn with_cuts(seeds: Vec<(String, Vec<u8>)>) -> Vec<(String, Vec<u8>)> {
    let cuts: Vec<(String, Vec<u8>)> =
        seeds.iter().map(|(name, b)| (format!("cut-{name}"), b[..b.len() / 2].to_vec())).collect();
    seeds.into_iter().chain(cuts).collect()
}

/// Committed fixtures with extension `ext` (aiff also takes the aifc one).
fn fixture_seeds(ext: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(FIXTURES).with_context(|| format!("reading {FIXTURES}"))? {
        let path = entry?.path();
        let e = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
        if e == ext || (ext == "aiff" && e == "aifc") {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            out.push((name, std::fs::read(&path)?));
        }
    }
    anyhow::ensure!(!out.is_empty(), "no .{ext} fixtures in {FIXTURES}: run core/fixtures-src/make_fixtures.sh");
    Ok(out)
}

/// A tenth of a second of a demo sound, short so mutations reach the header and the data alike.
fn short(demo: Demo, rate: u32) -> Vec<f32> {
    let mut x = demo.render(rate, 5);
    x.truncate(rate as usize / 10);
    x
}

/// WAVs in the layouts libraries hold: 8/16/24-bit integer, 32-bit float, mono and stereo, and
/// a header whose sizes lie.
fn wav_seeds() -> Result<Vec<(String, Vec<u8>)>> {
    use hound::SampleFormat::{Float, Int};
    let layouts = [
        (Demo::ALL[0], 44_100, 1, 16, Int),
        (Demo::ALL[1], 48_000, 2, 24, Int),
        (Demo::ALL[2], 22_050, 1, 8, Int),
        (Demo::ALL[3], 96_000, 2, 32, Float),
        (Demo::ALL[4], 32_000, 1, 32, Int),
    ];
    let mut out = Vec::new();
    for (demo, rate, channels, bits, format) in layouts {
        let spec = hound::WavSpec { channels, sample_rate: rate, bits_per_sample: bits, sample_format: format };
        let mut cursor = std::io::Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut cursor, spec)?;
        let full = ((1i64 << (bits - 1)) - 1) as f32;
        for v in short(demo, rate) {
            for _ in 0..channels {
                match format {
                    Float => w.write_sample(v)?,
                    Int => w.write_sample((v * full) as i32)?,
                }
            }
        }
        w.finalize()?;
        let name =
            format!("{}-{rate}-{channels}ch-{bits}{}.wav", demo.file_stem(), if format == Float { "f" } else { "" });
        out.push((name, cursor.into_inner()));
    }
    // RIFF and data sizes of 0xFFFFFFFF, as streaming recorders leave them.
    let mut lying = out[0].1.clone();
    lying[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    let data = lying.windows(4).position(|w| w == b"data").context("hound wrote no data chunk")?;
    lying[data + 4..data + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    out.push(("lying-sizes.wav".into(), lying));
    Ok(out)
}

/// `drumsort_core::fuzz::features` inputs: a 4-byte header (block size, repeats, rate) then
/// little-endian f32s.
fn feature_seeds() -> Vec<(String, Vec<u8>)> {
    let input = |block: u16, repeats: u8, rate: u8, x: &[f32]| -> Vec<u8> {
        let mut b = block.to_le_bytes().to_vec();
        b.extend([repeats, rate]);
        b.extend(x.iter().flat_map(|v| v.to_le_bytes()));
        b
    };
    let mut out: Vec<(String, Vec<u8>)> = Demo::ALL
        .iter()
        .take(6)
        .enumerate()
        .map(|(i, d)| (format!("{}.f32", d.file_stem()), input(63 + 97 * i as u16, 1 + i as u8, 3, &short(*d, 44_100))))
        .collect();
    let mut odd = short(Demo::ALL[0], 44_100);
    odd.truncate(2048);
    for (i, v) in
        [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MIN_POSITIVE / 8.0, 1e30, -f32::MAX].iter().enumerate()
    {
        odd[100 + 300 * i] = *v;
    }
    out.push(("special-values.f32".into(), input(511, 4, 4, &odd)));
    out.push(("silence.f32".into(), input(4095, 63, 0, &[0.0; 512])));
    out
}

/// States a host would save: the defaults, and a session with roots, a zoomed and filtered view,
/// a selection, the hits tab and a resized editor; as CLAP blobs and as bare JSON (VST3).
fn state_seeds() -> Vec<(String, Vec<u8>)> {
    use drumsort_plugin::testing::{saved_state, DrumsortParams, Tab, ViewState};
    let used = DrumsortParams::default();
    *used.roots.lock().unwrap_or_else(|e| e.into_inner()) = vec!["/home/me/Samples".into(), "/mnt/packs/808".into()];
    *used.view.lock().unwrap_or_else(|e| e.into_inner()) = ViewState {
        zoom: 3.5,
        pan: [12.0, -40.0],
        hidden: vec![DrumClass::Crash, DrumClass::Other],
        query: "snr".into(),
        selected: Some("/home/me/Samples/snr_01.wav".into()),
        tab: Tab::Hits,
    };
    *used.editor_size.lock().unwrap_or_else(|e| e.into_inner()) = [1280, 900];
    let blobs = [("default", saved_state(&DrumsortParams::default())), ("session", saved_state(&used))];
    blobs
        .into_iter()
        .flat_map(|(name, blob)| {
            let json = blob[8..].to_vec();
            [(format!("{name}.clap"), blob), (format!("{name}.json"), json)]
        })
        .collect()
}

/// A real index: a small library scanned with an untrained model (the weights do not matter,
/// the rows do), with a correction, a failed file and a file gone missing.
fn index_seeds() -> Result<Vec<(String, Vec<u8>)>> {
    let tmp = std::env::temp_dir().join(format!("drumsort-fuzz-seed-index-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let lib = tmp.join("lib");
    std::fs::create_dir_all(lib.join("sub"))?;
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    for (i, demo) in Demo::ALL.iter().take(4).enumerate() {
        let path = lib.join(if i % 2 == 0 { "" } else { "sub" }).join(format!("{}.wav", demo.file_stem()));
        let mut w = hound::WavWriter::create(&path, spec)?;
        for v in short(*demo, 44_100) {
            w.write_sample((v * 32_000.0) as i16)?;
        }
        w.finalize()?;
    }
    std::fs::write(lib.join("broken.wav"), b"RIFF\x10\0\0\0WAVEjunk")?;
    let classifier = untrained_model(&tmp.join("model"))?;
    let db = tmp.join("library.sqlite");
    let mut index = Index::open(&db)?;
    let scan = |index: &mut Index| {
        index.scan(std::slice::from_ref(&lib), &mut ScanModel::loaded(&classifier), &ScanOptions::default(), |_| {})
    };
    scan(&mut index)?;
    index.set_correction(&lib.join(format!("{}.wav", Demo::ALL[0].file_stem())), Some(DrumClass::Perc))?;
    std::fs::remove_file(lib.join("sub").join(format!("{}.wav", Demo::ALL[1].file_stem())))?;
    scan(&mut index)?;
    drop(index); // checkpoints the WAL into the main file
    let bytes = std::fs::read(&db)?;
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(vec![("library.sqlite".into(), bytes)])
}

/// A randomly initialised network with the default config, saved to and loaded from `dir`.
fn untrained_model(dir: &PathBuf) -> Result<Classifier> {
    use candle_core::{DType, Device};
    use candle_nn::{VarBuilder, VarMap};
    std::fs::create_dir_all(dir)?;
    let config = drumsort_core::model::Config::default();
    let varmap = VarMap::new();
    drumsort_core::model::DrumNet::new(&config, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu))?;
    varmap.save(dir.join(WEIGHTS_FILE))?;
    let meta = ModelMeta {
        model_version: "fuzz-seed-untrained".into(),
        classes: DrumClass::ALL.iter().map(|c| c.as_str().to_string()).collect(),
        model: config,
        features: drumsort_core::mel::MelConfig::default(),
        analysis_seconds: 1.0,
        hit_background_removed: true,
        thresholds: Thresholds::new(0.3, 0.5),
        training: serde_json::Value::Null,
        validation: serde_json::Value::Null,
    };
    std::fs::write(dir.join(META_FILE), serde_json::to_string(&meta)?)?;
    Ok(Classifier::from_dir(dir)?)
}
