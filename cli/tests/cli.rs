//! End-to-end runs of the `drumsort` binary over fixtures the test synthesises: the demo drums
//! (written the way `cargo xtask demo` writes them) plus broken files.

use std::path::{Path, PathBuf};
use std::process::Command;

use drumsort_core::synth::Demo;
use serde_json::Value;

fn drumsort() -> Command {
    Command::new(env!("CARGO_BIN_EXE_drumsort"))
}

/// A fresh temp folder per test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("drumsort-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_wav(path: &Path, samples: &[f32], rate: u32) {
    let spec =
        hound::WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for v in samples {
        w.write_sample((v * 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
}

/// Demo drums in `dir/good/`, broken files in `dir/bad/`; returns (good, bad) counts.
fn library(dir: &Path) -> (usize, usize) {
    std::fs::create_dir_all(dir.join("good/sub")).unwrap();
    std::fs::create_dir_all(dir.join("bad")).unwrap();
    for (i, d) in Demo::ALL.iter().enumerate() {
        let sub = if i % 2 == 0 { "good" } else { "good/sub" };
        write_wav(&dir.join(sub).join(format!("{}.wav", d.file_stem())), &d.render(44_100, 1), 44_100);
    }
    std::fs::write(dir.join("bad/empty.wav"), b"").unwrap();
    std::fs::write(
        dir.join("bad/noise.wav"),
        (0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    std::fs::write(dir.join("bad/notes.mp3"), b"this is a text file, not an mp3\n".repeat(50)).unwrap();
    // A WAV cut off in its header.
    let mut good = Vec::new();
    write_wav(&dir.join("bad/tmp.wav"), &Demo::Kick.render(44_100, 1), 44_100);
    good.extend(std::fs::read(dir.join("bad/tmp.wav")).unwrap());
    std::fs::remove_file(dir.join("bad/tmp.wav")).unwrap();
    std::fs::write(dir.join("bad/cut.wav"), &good[..30]).unwrap();
    std::fs::write(dir.join("bad/readme.txt"), b"not audio, not picked up by the walk").unwrap();
    (Demo::ALL.len(), 4)
}

fn jsonl(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
        .collect()
}

#[test]
fn classify_names_the_demo_sounds_and_reports_broken_files() {
    let dir = temp_dir("classify");
    let (n_good, n_bad) = library(&dir);
    let out = drumsort().args(["classify", "--format", "jsonl"]).arg(&dir).output().unwrap();
    assert!(out.status.success(), "exit {:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    let records = jsonl(&out.stdout);
    assert_eq!(records.len(), n_good + n_bad, "exactly one object per audio file");
    for r in &records {
        let path = r["path"].as_str().unwrap();
        assert!(Path::new(path).is_absolute(), "absolute input gives absolute paths: {path}");
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        for k in ["path", "class", "confidence", "scores", "duration_s", "error"] {
            assert!(keys.contains(&k), "{k} missing in {r}");
        }
        if path.contains("/bad/") {
            assert!(r["class"].is_null(), "{r}");
            let err = r["error"].as_str().unwrap();
            assert!(["empty:", "not_audio:", "corrupt:", "unsupported:"].iter().any(|k| err.starts_with(k)), "{err}");
        } else {
            assert!(r["error"].is_null(), "{r}");
            let c = r["confidence"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&c));
            assert_eq!(r["scores"].as_object().unwrap().len(), 13);
        }
    }
    let mut wrong = Vec::new();
    for d in Demo::ALL {
        let r =
            records.iter().find(|r| r["path"].as_str().unwrap().ends_with(&format!("{}.wav", d.file_stem()))).unwrap();
        if r["class"] != d.class().as_str() {
            wrong.push(format!("{} ({}) classified {}", d.file_stem(), d.class(), r["class"]));
        }
    }
    assert!(wrong.is_empty(), "the shipped model misnames demo sounds: {wrong:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{n_bad} of {} files could not be read", n_good + n_bad)), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn classify_formats_table_json_csv() {
    let dir = temp_dir("formats");
    library(&dir);
    let good = dir.join("good");
    let json = drumsort().args(["classify", "--format", "json"]).arg(&good).output().unwrap();
    assert!(json.status.success());
    let v: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), Demo::ALL.len());

    let csv = drumsort().args(["classify", "--format", "csv"]).arg(&good).output().unwrap();
    let text = String::from_utf8(csv.stdout).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("path,class,confidence,duration_s,scores.kick,"), "{header}");
    assert!(header.ends_with("scores.other,error"));
    assert_eq!(lines.count(), Demo::ALL.len());

    let table = drumsort().arg("classify").arg(&good).output().unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.lines().next().unwrap().starts_with("path"));
    assert_eq!(text.lines().count(), Demo::ALL.len() + 1);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn relative_paths_stay_relative_and_usage_errors_exit_2() {
    let dir = temp_dir("relative");
    library(&dir);
    let out = drumsort().current_dir(&dir).args(["classify", "--format", "jsonl", "good/sub"]).output().unwrap();
    assert!(out.status.success());
    for r in jsonl(&out.stdout) {
        assert!(r["path"].as_str().unwrap().starts_with("good/sub/"), "{r}");
    }
    let missing = drumsort().args(["classify", "--format", "jsonl"]).arg(dir.join("nope")).output().unwrap();
    assert!(missing.status.success(), "a missing input is reported, the run completes");
    let recs = jsonl(&missing.stdout);
    assert_eq!(recs.len(), 1);
    assert!(recs[0]["error"].as_str().unwrap().starts_with("io:"));
    assert_eq!(drumsort().arg("classify").output().unwrap().status.code(), Some(2));
    assert_eq!(drumsort().args(["classify", "--format", "yaml", "x"]).output().unwrap().status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn info_reports_facts_and_errors() {
    let dir = temp_dir("info");
    library(&dir);
    let out = drumsort().args(["info", "--format", "jsonl"]).arg(&dir).output().unwrap();
    assert!(out.status.success());
    let recs = jsonl(&out.stdout);
    let kick = recs.iter().find(|r| r["path"].as_str().unwrap().ends_with("boom_01.wav")).unwrap();
    assert_eq!(kick["format"], "wav");
    assert_eq!(kick["sample_rate"], 44_100);
    assert_eq!(kick["channels"], 1);
    assert_eq!(kick["bits"], 16);
    let dur = kick["duration_s"].as_f64().unwrap();
    assert!((dur - Demo::Kick.render(44_100, 1).len() as f64 / 44_100.0).abs() < 1e-3, "{dur}");
    let empty = recs.iter().find(|r| r["path"].as_str().unwrap().ends_with("empty.wav")).unwrap();
    assert!(empty["error"].as_str().unwrap().starts_with("empty:"));
    std::fs::remove_dir_all(&dir).ok();
}
