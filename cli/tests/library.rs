//! End-to-end runs of `drumsort scan`, `list` and `relabel` over libraries the test synthesises,
//! each with its own `--db` in a temp folder. Classes are never asserted (the model is random
//! here, and the shipped one may be a placeholder); what is checked is what the index does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

mod support;

use drumsort_core::synth::Demo;
use drumsort_core::DrumClass;
use serde_json::Value;
use support::{drumsort, list, model_dir, ok, scan, temp_dir};

fn write_wav(path: &Path, samples: &[f32], gain: f32) {
    std::fs::write(path, support::wav_bytes(samples, gain)).unwrap();
}

/// `copies` variants (different gains, so different bytes) of every demo sound under `dir/lib`,
/// half in a subfolder, plus one garbage `.wav`. Returns the folder and its file count.
fn library(dir: &Path, copies: usize) -> (PathBuf, usize) {
    let lib = dir.join("lib");
    std::fs::create_dir_all(lib.join("sub")).unwrap();
    for (i, d) in Demo::ALL.iter().enumerate() {
        let audio = d.render(44_100, 3);
        let sub = if i % 2 == 0 { "" } else { "sub" };
        for k in 0..copies {
            let name = if k == 0 { format!("{}.wav", d.file_stem()) } else { format!("{}-{k}.wav", d.file_stem()) };
            write_wav(&lib.join(sub).join(name), &audio, 1.0 - k as f32 * 0.003);
        }
    }
    std::fs::write(lib.join("garbage.wav"), b"this is not a wave file at all; ".repeat(40)).unwrap();
    (lib, Demo::ALL.len() * copies + 1)
}

fn counts(s: &Value, keys: &[&str]) -> Vec<u64> {
    keys.iter().map(|k| s[*k].as_u64().unwrap_or_else(|| panic!("{k} missing in {s}"))).collect()
}

fn record<'a>(records: &'a [Value], path: &Path) -> &'a Value {
    let p = path.to_string_lossy();
    records.iter().find(|r| r["path"] == *p).unwrap_or_else(|| panic!("{p} not listed"))
}

fn relabel(db: &Path, path: &Path, class: &str) {
    ok(drumsort().arg("relabel").arg(path).arg(class).arg("--db").arg(db).output().unwrap());
}

/// Canonical path of a fixture, as the index stores it.
fn canon(p: &Path) -> PathBuf {
    p.canonicalize().unwrap()
}

#[test]
fn scan_indexes_a_library_and_rescans_only_what_changed() {
    let dir = temp_dir("incremental");
    let db = dir.join("index/library.sqlite");
    let (lib, n) = library(&dir, 1);
    let n = n as u64;

    let (first, stderr) = scan(&db, &lib);
    assert_eq!(counts(&first, &["files", "new", "analysed", "errors", "unchanged"]), [n, n, n, 1, 0], "{first}");
    assert!(stderr.contains(&format!("{n} new")) && stderr.contains("1 errors"), "summary line: {stderr}");
    let records = list(&db, &[]);
    assert_eq!(records.len() as u64, n);
    for r in &records {
        for k in ["path", "class", "confidence", "scores", "duration_s", "error", "corrected"] {
            assert!(r.get(k).is_some(), "{k} missing in {r}");
        }
        assert_eq!(r["corrected"], false);
        if !r["path"].as_str().unwrap().ends_with("garbage.wav") {
            assert!(r["error"].is_null(), "{r}");
            assert_eq!(r["scores"].as_object().unwrap().len(), DrumClass::COUNT);
            assert!(r["class"].as_str().unwrap().parse::<DrumClass>().is_ok());
        }
    }

    let (again, _) = scan(&db, &lib);
    assert_eq!(counts(&again, &["new", "changed", "unchanged", "analysed", "errors"]), [0, 0, n, 0, 1], "{again}");

    // Edit one file (a shorter sound under the same name): re-analysed, new duration.
    let hat = canon(&lib.join("sub/tick_04.wav"));
    let old = record(&records, &hat).clone();
    let audio = Demo::ClosedHat.render(44_100, 3);
    write_wav(&hat, &audio[..audio.len() / 2], 1.0);
    let (edited, _) = scan(&db, &lib);
    assert_eq!(counts(&edited, &["changed", "analysed", "new"]), [1, 1, 0], "{edited}");
    let new = list(&db, &[]);
    assert_ne!(record(&new, &hat)["duration_s"], old["duration_s"]);

    // Delete one: marked missing, listed with --missing only.
    let kick = canon(&lib.join("boom_01.wav"));
    std::fs::remove_file(&kick).unwrap();
    let (deleted, _) = scan(&db, &lib);
    assert_eq!(counts(&deleted, &["missing", "new", "analysed"]), [1, 0, 0], "{deleted}");
    assert_eq!(list(&db, &[]).len() as u64, n - 1);
    let missing = list(&db, &["--missing"]);
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0]["path"], *kick.to_string_lossy());
    assert_eq!(missing[0]["missing"], true);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_moved_file_keeps_its_record_and_its_correction() {
    let dir = temp_dir("moved");
    let db = dir.join("library.sqlite");
    let (lib, _) = library(&dir, 1);
    scan(&db, &lib);
    let kick = canon(&lib.join("boom_01.wav"));
    let before = record(&list(&db, &[]), &kick).clone();
    relabel(&db, &kick, "cowbell");

    std::fs::create_dir_all(lib.join("moved here")).unwrap();
    let to = canon(&lib.join("moved here")).join("renamed kick.wav");
    std::fs::rename(&kick, &to).unwrap();
    let (s, _) = scan(&db, &lib);
    assert_eq!(counts(&s, &["moved", "new", "missing", "analysed"]), [1, 0, 0, 0], "{s}");
    let records = list(&db, &[]);
    assert!(records.iter().all(|r| r["path"] != *kick.to_string_lossy()), "old path gone");
    let after = record(&records, &to);
    assert_eq!(after["scores"], before["scores"], "the analysis moved with the file");
    assert_eq!((&after["class"], &after["corrected"]), (&Value::from("cowbell"), &Value::from(true)));
    let cowbells = list(&db, &["--class", "cowbell"]);
    assert!(cowbells.iter().any(|r| r["path"] == *to.to_string_lossy()), "{cowbells:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn corrections_survive_rescans_and_can_be_cleared() {
    let dir = temp_dir("relabel");
    let db = dir.join("library.sqlite");
    let (lib, _) = library(&dir, 1);
    scan(&db, &lib);
    let snare = canon(&lib.join("sub/crack_02.wav"));
    let model_class = record(&list(&db, &[]), &snare)["class"].clone();
    let pick = if model_class == "ride" { "tom" } else { "ride" };
    relabel(&db, &snare, pick);
    // Touch it (new mtime, same bytes) and add a copy: rescans keep the label on both.
    let old = SystemTime::now() - Duration::from_secs(7200);
    std::fs::File::options().write(true).open(&snare).unwrap().set_modified(old).unwrap();
    std::fs::copy(&snare, lib.join("copy of snare.wav")).unwrap();
    let (s, _) = scan(&db, &lib);
    assert_eq!(counts(&s, &["new", "analysed"]), [1, 0], "the copy reuses the stored analysis: {s}");
    let records = list(&db, &[]);
    for p in [snare.clone(), canon(&lib.join("copy of snare.wav"))] {
        let r = record(&records, &p);
        assert_eq!(
            (&r["class"], &r["corrected"], &r["confidence"]),
            (&Value::from(pick), &Value::from(true), &Value::from(1.0))
        );
    }
    ok(drumsort().arg("relabel").arg(&snare).arg("--clear").arg("--db").arg(&db).output().unwrap());
    let r = record(&list(&db, &[]), &snare).clone();
    assert_eq!((&r["class"], &r["corrected"]), (&model_class, &Value::from(false)));

    let bad = drumsort().arg("relabel").arg(&snare).arg("cymbal").arg("--db").arg(&db).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown drum class"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unreadable_files_are_listed_with_errors_in_every_format() {
    let dir = temp_dir("errors");
    let db = dir.join("library.sqlite");
    let (lib, n) = library(&dir, 1);
    scan(&db, &lib);
    let errors = list(&db, &["--errors"]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["path"], *canon(&lib.join("garbage.wav")).to_string_lossy());
    let e = errors[0]["error"].as_str().unwrap();
    assert!(e.starts_with("not_audio:") || e.starts_with("corrupt:"), "{e}");
    assert!(errors[0]["class"].is_null());

    let run = |format: &str| {
        String::from_utf8(ok(drumsort().args(["list", "--format", format, "--db"]).arg(&db).output().unwrap()).stdout)
            .unwrap()
    };
    let json: Vec<Value> = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(json.len(), n);
    let csv = run("csv");
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert!(header.contains(&"scores.kick") && header.contains(&"corrected"), "{header:?}");
    assert_eq!(csv.lines().count(), n + 1);
    let table = run("table");
    assert!(table.lines().next().unwrap().starts_with("path"));
    assert_eq!(table.lines().count(), n + 1);
    let hits = list(&db, &["--query", "CRACK"]);
    assert_eq!(hits.len(), 1, "query ignores case: {hits:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The paths of listed records.
fn paths(records: &[Value]) -> BTreeSet<String> {
    records.iter().map(|r| r["path"].as_str().unwrap().to_string()).collect()
}

/// `--min-confidence X` keeps the labels at or above X, `--below X` the ones under it (a
/// correction counts as sure, an unreadable file as neither); `--check` is `--below 0.5`, the
/// labels the table marks with `?`. Two constant models make every confidence known: `sure/` is
/// scanned with one that says kick at 0.9, `unsure/` with one that says snare at 0.4.
#[test]
fn confidence_filters_split_the_listing_and_the_table_marks_labels_to_check() {
    let dir = temp_dir("confidence");
    let db = dir.join("library.sqlite");
    let mut scores = [0.05f32; DrumClass::COUNT];
    scores[DrumClass::Kick.index()] = 0.9;
    let sure_model = support::constant_model(&dir.join("model-sure"), scores);
    scores[DrumClass::Kick.index()] = 0.05;
    scores[DrumClass::Snare.index()] = 0.4;
    let unsure_model = support::constant_model(&dir.join("model-unsure"), scores);
    let lib = dir.join("lib");
    for (k, d) in Demo::ALL.iter().take(6).enumerate() {
        let sub = lib.join(if k < 3 { "sure" } else { "unsure" });
        std::fs::create_dir_all(&sub).unwrap();
        write_wav(&sub.join(format!("{}.wav", d.file_stem())), &d.render(44_100, 3), 1.0);
    }
    std::fs::write(lib.join("sure/garbage.wav"), b"not a wave file at all; ".repeat(40)).unwrap();
    for (sub, model) in [("sure", &sure_model), ("unsure", &unsure_model)] {
        ok(drumsort().args(["scan", "--db"]).arg(&db).arg("--model").arg(model).arg(lib.join(sub)).output().unwrap());
    }
    let in_dir = |sub: &str| -> BTreeSet<String> {
        let mut p: BTreeSet<String> = std::fs::read_dir(lib.join(sub))
            .unwrap()
            .map(|e| canon(&e.unwrap().path()).to_string_lossy().into_owned())
            .collect();
        p.retain(|p| !p.ends_with("garbage.wav"));
        p
    };
    let (sure, mut unsure) = (in_dir("sure"), in_dir("unsure"));
    let fixed = unsure.pop_first().unwrap();
    relabel(&db, Path::new(&fixed), "tom");
    let all = list(&db, &[]);
    assert_eq!(all.len(), 7);
    for r in &all {
        let p = r["path"].as_str().unwrap();
        let expect = if sure.contains(p) {
            ("kick", Some(0.9), false)
        } else if unsure.contains(p) {
            ("snare", Some(0.4), true)
        } else if p == fixed {
            ("tom", Some(1.0), false)
        } else {
            ("", None, false)
        };
        let got = (r["class"].as_str().unwrap_or(""), r["confidence"].as_f64(), r["low_confidence"] == true);
        assert_eq!(got, expect, "{r}");
    }

    let listed = |args: &[&str]| paths(&list(&db, args));
    let with = |sets: &[&BTreeSet<String>], one: Option<&str>| -> BTreeSet<String> {
        sets.iter().flat_map(|s| s.iter().cloned()).chain(one.map(str::to_string)).collect()
    };
    assert_eq!(listed(&["--min-confidence", "0.5"]), with(&[&sure], Some(&fixed)));
    assert_eq!(listed(&["--min-confidence", "0.9"]), with(&[&sure], Some(&fixed)), "at X counts");
    assert_eq!(listed(&["--min-confidence", "0.95"]), with(&[], Some(&fixed)));
    assert_eq!(listed(&["--below", "0.5"]), unsure);
    assert_eq!(listed(&["--below", "0.4"]), BTreeSet::new(), "at X is not below it");
    assert_eq!(listed(&["--below", "1"]), with(&[&sure, &unsure], None), "a correction is never below");
    assert_eq!(listed(&["--min-confidence", "0.3", "--below", "0.95"]), with(&[&sure, &unsure], None));
    assert_eq!(listed(&["--check"]), unsure);
    assert_eq!(listed(&["--check", "--class", "kick"]), BTreeSet::new(), "filters combine");

    // The table marks the labels to check with `?` after the class and says how to list them.
    let out = ok(drumsort().args(["list", "--db"]).arg(&db).output().unwrap());
    let table = String::from_utf8(out.stdout).unwrap();
    let classes: BTreeMap<String, String> = table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut cells = l.split_whitespace();
            Some((cells.next()?.to_string(), cells.next()?.to_string()))
        })
        .collect();
    for p in &unsure {
        assert_eq!(classes[p], "snare?", "{table}");
    }
    assert_eq!(classes[&fixed], "tom");
    assert!(sure.iter().all(|p| classes[p] == "kick"), "{table}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2 labels marked ?") && stderr.contains("drumsort list --check"), "{stderr}");
    let csv = String::from_utf8(
        ok(drumsort().args(["list", "--check", "--format", "csv", "--db"]).arg(&db).output().unwrap()).stdout,
    )
    .unwrap();
    assert!(csv.lines().next().unwrap().ends_with(",low_confidence"), "{csv}");
    assert!(csv.lines().skip(1).all(|l| l.contains(",snare,") && l.ends_with(",true")), "{csv}");

    for (args, says) in [
        (&["--min-confidence", "1.5"][..], "outside 0..1"),
        (&["--below", "much"][..], "not a number"),
        (&["--check", "--below", "0.3"][..], "cannot be used with"),
    ] {
        let bad = drumsort().arg("list").args(args).arg("--db").arg(&db).output().unwrap();
        assert!(!bad.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&bad.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every file under `dir`: bytes and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
    walk_files(dir)
        .into_iter()
        .map(|p| (p.clone(), (std::fs::read(&p).unwrap(), std::fs::metadata(&p).unwrap().modified().unwrap())))
        .collect()
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn scanning_and_relabelling_never_touch_the_sources() {
    let dir = temp_dir("sources");
    let db = dir.join("db/library.sqlite");
    let (lib, n) = library(&dir, 1);
    let before = snapshot(&lib);
    assert_eq!(before.len(), n);
    scan(&db, &lib);
    relabel(&db, &lib.join("boom_01.wav"), "snare");
    relabel(&db, &lib.join("sub/keys_13.wav"), "other");
    ok(drumsort().arg("relabel").arg(lib.join("boom_01.wav")).arg("--clear").arg("--db").arg(&db).output().unwrap());
    scan(&db, &lib);
    list(&db, &[]);
    assert_eq!(snapshot(&lib), before, "no source file was written, moved, added or removed");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_corrupt_index_is_moved_aside_and_a_fresh_one_works() {
    let dir = temp_dir("corrupt");
    let db = dir.join("library.sqlite");
    let (lib, n) = library(&dir, 1);
    let garbage: Vec<u8> = (0..50_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    std::fs::write(&db, &garbage).unwrap();
    let (s, stderr) = scan(&db, &lib);
    assert!(stderr.contains("corrupt") && stderr.contains("moved it to"), "{stderr}");
    assert_eq!(s["new"].as_u64(), Some(n as u64));
    let aside: Vec<PathBuf> =
        walk_files(&dir).into_iter().filter(|p| p.to_string_lossy().contains("library.sqlite.corrupt-")).collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(std::fs::read(&aside[0]).unwrap(), garbage, "the broken file is kept as it was");
    assert_eq!(list(&db, &[]).len(), n);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_index_from_a_newer_drumsort_is_moved_aside() {
    let dir = temp_dir("future");
    let db = dir.join("library.sqlite");
    let (lib, n) = library(&dir, 1);
    scan(&db, &lib);
    assert_eq!(list(&db, &[]).len(), n);
    // user_version is the big-endian u32 at byte 60 of the SQLite header (the WAL was
    // checkpointed into the file when the last connection closed).
    let mut bytes = std::fs::read(&db).unwrap();
    bytes[60..64].copy_from_slice(&99u32.to_be_bytes());
    std::fs::write(&db, &bytes).unwrap();
    let out = ok(drumsort().args(["list", "--format", "jsonl", "--db"]).arg(&db).output().unwrap());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("schema version 99") && stderr.contains("moved it to"), "{stderr}");
    assert!(out.stdout.is_empty(), "the fresh index is empty");
    let aside: Vec<PathBuf> =
        walk_files(&dir).into_iter().filter(|p| p.to_string_lossy().contains("library.sqlite.future-")).collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(std::fs::read(&aside[0]).unwrap(), bytes);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_environment_variable_picks_the_index() {
    let dir = temp_dir("env");
    let db = dir.join("from-env.sqlite");
    let (lib, n) = library(&dir, 1);
    ok(drumsort().env("DRUMSORT_DB", &db).arg("scan").arg("--model").arg(model_dir()).arg(&lib).output().unwrap());
    assert!(db.exists());
    let out = ok(drumsort().env("DRUMSORT_DB", &db).args(["list", "--format", "jsonl"]).output().unwrap());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), n);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Starts a slow scan (batches of 2) of a 14 x 12 file library and stops it with `signal` once
/// at least one batch is committed; returns (index, library, file count, exit status, stdout).
#[cfg(unix)]
fn interrupted_scan(name: &str, signal: &str) -> (PathBuf, PathBuf, usize, std::process::ExitStatus, Vec<u8>) {
    let dir = temp_dir(name);
    let db = dir.join("library.sqlite");
    let (lib, n) = library(&dir, 12);
    // The index exists before the scan starts, so the probes below never race the scan creating
    // it (two processes creating one index at once is another matter; this test is about
    // stopping a scan).
    ok(drumsort().args(["list", "--db"]).arg(&db).output().unwrap());
    let child = drumsort()
        .args(["scan", "--json", "--batch-size", "2", "--db"])
        .arg(&db)
        .arg("--model")
        .arg(model_dir())
        .arg(&lib)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = child;
    let start = Instant::now();
    loop {
        assert!(start.elapsed() < Duration::from_secs(60), "no batch was committed within a minute");
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "the scan ended ({status:?}) before a batch was seen: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // Probe without asserting: a probe may meet the scan's first write.
        let probe = drumsort().args(["list", "--format", "jsonl", "--db"]).arg(&db).output().unwrap();
        if probe.status.success() && String::from_utf8_lossy(&probe.stdout).contains("\"error\":null") {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    (db, lib, n, out.status, out.stdout)
}

#[cfg(unix)]
fn finish_and_check(db: &Path, lib: &Path, n: usize) {
    let is_pending = |r: &Value| r["error"].as_str().is_some_and(|e| e.starts_with("pending:"));
    let pending = list(db, &["--errors"]).iter().filter(|r| is_pending(r)).count();
    assert!(pending > 0, "the scan was stopped before it finished");
    let (s, _) = scan(db, lib);
    assert_eq!(s["resumed"].as_u64(), Some(pending as u64), "{s}");
    assert_eq!(s["new"].as_u64(), Some(0), "{s}");
    let records = list(db, &[]);
    assert_eq!(records.len(), n);
    assert_eq!(
        records.iter().filter(|r| !r["error"].is_null()).count(),
        1,
        "everything but the garbage file is analysed"
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_after_the_current_batch_and_the_next_scan_resumes() {
    use std::os::unix::process::ExitStatusExt;
    let (db, lib, n, status, stdout) = interrupted_scan("sigint", "-INT");
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert_eq!(status.signal(), None, "handled, not killed");
    let s: Value = serde_json::from_slice(&stdout).unwrap();
    assert_eq!(s["interrupted"], true);
    assert!(s["pending"].as_u64().unwrap() > 0, "{s}");
    finish_and_check(&db, &lib, n);
    std::fs::remove_dir_all(db.parent().unwrap()).unwrap();
}

#[cfg(unix)]
#[test]
fn a_killed_scan_loses_at_most_a_batch_and_the_next_scan_resumes() {
    use std::os::unix::process::ExitStatusExt;
    let (db, lib, n, status, _) = interrupted_scan("sigkill", "-KILL");
    assert_eq!(status.signal(), Some(9), "{status:?}");
    finish_and_check(&db, &lib, n);
    std::fs::remove_dir_all(db.parent().unwrap()).unwrap();
}

/// The model embedded in the binary loads and scans (classes are not checked: it may be a
/// placeholder). Fails if `assets/model/` does not fit the network code in `core/src/model.rs`:
/// retrain with `cargo xtask train --out assets/model`.
#[test]
fn built_in_model_scans() {
    let dir = temp_dir("builtin");
    let db = dir.join("library.sqlite");
    let (lib, n) = library(&dir, 1);
    let out = drumsort().args(["scan", "--json", "--db"]).arg(&db).arg(&lib).output().unwrap();
    assert!(
        out.status.success(),
        "the built-in model cannot scan; if it does not load, assets/model/ no longer fits core/src/model.rs \
         (retrain with `cargo xtask train --out assets/model`):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["analysed"].as_u64(), Some(n as u64), "{s}");
    assert_eq!(list(&db, &["--errors"]).len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}
