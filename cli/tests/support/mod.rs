//! Shared by the CLI tests (library.rs, faults.rs, crash_consistency.rs, source_safety.rs): the
//! `drumsort` binary, temp folders, a generated library, a model that runs, and checksums of a
//! library's every byte.
#![allow(dead_code)] // each test file uses its own part of this module

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use drumsort_core::synth::Demo;
use drumsort_core::DrumClass;
use serde_json::Value;

/// The `drumsort` binary, never pointed at the user's own library whatever a test forgets.
pub fn drumsort() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_drumsort"));
    c.env("DRUMSORT_DB", std::env::temp_dir().join(format!("drumsort-hardening-stray-{}.sqlite", std::process::id())));
    c
}

/// A fresh folder per test, canonical so paths built from it match the ones scans store.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("drumsort-hardening-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.canonicalize().unwrap()
}

pub fn ok(out: Output) -> Output {
    assert!(out.status.success(), "exit {:?}\nstderr: {}", out.status, String::from_utf8_lossy(&out.stderr));
    out
}

/// A randomly initialised model directory, written once per network shape: these tests need a
/// model that runs, not one that is right, and must not depend on `assets/model/` matching the
/// network code while a new model trains (library.rs's `built_in_model_scans` covers the shipped
/// one). Reused by later runs, so test runs do not leave a model behind each.
pub fn model_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        use std::hash::{Hash, Hasher};

        use candle_core::{DType, Device};
        use candle_nn::{VarBuilder, VarMap};
        use drumsort_core::classifier::{META_FILE, WEIGHTS_FILE};
        let config = drumsort_core::model::Config::default();
        let meta = serde_json::to_string(&test_meta("cli-test-random".into(), config.clone())).unwrap();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        meta.hash(&mut h);
        let dir = std::env::temp_dir().join(format!("drumsort-cli-lib-model-{:016x}", h.finish()));
        let fits = || {
            let weights = std::fs::read(dir.join(WEIGHTS_FILE)).ok()?;
            drumsort_core::classifier::Classifier::from_bytes(&weights, &meta).ok()
        };
        if fits().is_none() {
            let tmp = temp_dir("model-tmp");
            let varmap = VarMap::new();
            drumsort_core::model::DrumNet::new(&config, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu))
                .unwrap();
            varmap.save(tmp.join(WEIGHTS_FILE)).unwrap();
            std::fs::write(tmp.join(META_FILE), &meta).unwrap();
            let _ = std::fs::remove_dir_all(&dir);
            if std::fs::rename(&tmp, &dir).is_err() {
                let _ = std::fs::remove_dir_all(&tmp);
            }
        }
        assert!(fits().is_some(), "test model at {} does not load", dir.display());
        dir
    })
}

/// The metadata of the test models: `config`'s network with the default features and flat
/// thresholds (reject `other` under 0.3, multi-label at 0.5), under `version`.
fn test_meta(version: String, config: drumsort_core::model::Config) -> drumsort_core::classifier::ModelMeta {
    drumsort_core::classifier::ModelMeta {
        model_version: version,
        classes: DrumClass::ALL.iter().map(|c| c.as_str().to_string()).collect(),
        model: config,
        features: drumsort_core::mel::MelConfig::default(),
        analysis_seconds: 1.0,
        hit_background_removed: true,
        thresholds: drumsort_core::classifier::Thresholds::new(0.3, 0.5),
        training: Value::Null,
        validation: Value::Null,
    }
}

/// A model directory under `dir` that gives every sound the same `scores` (in
/// [`DrumClass::ALL`] order): its head's weights are zero and its bias holds the scores' logits,
/// so tests know each file's class and confidence exactly. Thresholds as in [`model_dir`].
pub fn constant_model(dir: &Path, scores: [f32; DrumClass::COUNT]) -> PathBuf {
    use candle_core::{DType, Device, Tensor};
    use candle_nn::{VarBuilder, VarMap};
    use drumsort_core::classifier::{META_FILE, WEIGHTS_FILE};
    let config = drumsort_core::model::Config::default();
    let mut varmap = VarMap::new();
    drumsort_core::model::DrumNet::new(&config, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).unwrap();
    let zeros = Tensor::zeros((DrumClass::COUNT, config.embed_dim), DType::F32, &Device::Cpu).unwrap();
    varmap.set_one("head.weight", zeros).unwrap();
    let logits: Vec<f32> = scores.iter().map(|p| (p / (1.0 - p)).ln()).collect();
    varmap.set_one("head.bias", Tensor::new(logits.as_slice(), &Device::Cpu).unwrap()).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    varmap.save(dir.join(WEIGHTS_FILE)).unwrap();
    let meta = test_meta(format!("cli-test-constant-{}", dir.file_name().unwrap().to_string_lossy()), config);
    std::fs::write(dir.join(META_FILE), serde_json::to_string(&meta).unwrap()).unwrap();
    dir.to_path_buf()
}

/// 16-bit mono 44.1 kHz WAV bytes of `samples` at `gain`.
pub fn wav_bytes(samples: &[f32], gain: f32) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cursor = std::io::Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut cursor, spec).unwrap();
    for v in samples {
        w.write_sample((v * gain * 32_767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
    cursor.into_inner()
}

/// A demo one-shot (0.4 s) as WAV bytes; `variant` changes the gain, so the bytes differ.
pub fn demo_wav(demo: Demo, variant: usize) -> Vec<u8> {
    let mut x = demo.render(44_100, 3);
    x.truncate(17_640);
    wav_bytes(&x, 1.0 - variant as f32 * 0.002)
}

/// `copies` variants of every demo sound under `dir/lib`, spread over three folders. Returns
/// the folder and its file count.
pub fn library(dir: &Path, copies: usize) -> (PathBuf, usize) {
    let lib = dir.join("lib");
    for (i, d) in Demo::ALL.iter().enumerate() {
        let sub = lib.join(["", "a", "b/c"][i % 3]);
        std::fs::create_dir_all(&sub).unwrap();
        for k in 0..copies {
            std::fs::write(sub.join(format!("{}-{k}.wav", d.file_stem())), demo_wav(*d, k)).unwrap();
        }
    }
    (lib, Demo::ALL.len() * copies)
}

/// `drumsort scan --json` with the test model; returns the summary object and stderr.
pub fn scan(db: &Path, root: &Path) -> (Value, String) {
    let out = ok(drumsort()
        .args(["scan", "--json", "--db"])
        .arg(db)
        .arg("--model")
        .arg(model_dir())
        .arg(root)
        .output()
        .unwrap());
    let summary = serde_json::from_slice(&out.stdout).expect("scan --json prints one JSON object");
    (summary, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `drumsort list --format jsonl` plus `extra` arguments.
pub fn list(db: &Path, extra: &[&str]) -> Vec<Value> {
    let out = ok(drumsort().args(["list", "--format", "jsonl"]).args(extra).arg("--db").arg(db).output().unwrap());
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("a JSON object")).collect()
}

/// What a library holds, byte for byte: blake3 of every regular file and the target of every
/// symlink, by path. Taken before and after a command that must not touch its sources.
#[derive(Debug, PartialEq, Eq)]
pub struct Checksums(BTreeMap<PathBuf, Item>);

#[derive(Debug, PartialEq, Eq)]
enum Item {
    File { hash: [u8; 32], len: u64 },
    Link(PathBuf),
    Dir,
}

impl Checksums {
    /// Walks `root` without following symlinks.
    pub fn take(root: &Path) -> Self {
        let mut items = BTreeMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let meta = std::fs::symlink_metadata(&path).unwrap();
                let item = if meta.file_type().is_symlink() {
                    Item::Link(std::fs::read_link(&path).unwrap())
                } else if meta.is_dir() {
                    stack.push(path.clone());
                    Item::Dir
                } else {
                    Item::File { hash: drumsort_core::index::content_hash(&path).unwrap(), len: meta.len() }
                };
                items.insert(path, item);
            }
        }
        Self(items)
    }

    /// Files hashed.
    pub fn files(&self) -> usize {
        self.0.values().filter(|i| matches!(i, Item::File { .. })).count()
    }

    /// Total bytes hashed.
    pub fn bytes(&self) -> u64 {
        self.0.values().map(|i| if let Item::File { len, .. } = i { *len } else { 0 }).sum()
    }

    /// What differs from `before`: paths added, removed or changed, and the bytes of the files
    /// changed or removed (a changed file counts whole: its old bytes are no longer there).
    pub fn changes_since(&self, before: &Checksums) -> (Vec<String>, u64) {
        let mut changes = Vec::new();
        let mut bytes = 0;
        for (path, old) in &before.0 {
            match self.0.get(path) {
                Some(new) if new == old => {}
                other => {
                    changes.push(format!("{} {}", if other.is_some() { "changed" } else { "removed" }, path.display()));
                    bytes += if let Item::File { len, .. } = old { *len } else { 0 };
                }
            }
        }
        for path in self.0.keys().filter(|p| !before.0.contains_key(*p)) {
            changes.push(format!("added {}", path.display()));
        }
        (changes, bytes)
    }
}
