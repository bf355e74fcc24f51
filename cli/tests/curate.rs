//! End-to-end runs of `drumsort organize`, `similar`, `duplicates` and `kit` over libraries the
//! tests synthesise, each with its own `--db`. These use the built-in model: nearest neighbours,
//! near-duplicates and kits mean something only with a trained embedding.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

use drumsort_core::index::content_hash;
use drumsort_core::synth::Demo;
use drumsort_core::DrumClass;
use serde_json::Value;

fn drumsort() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_drumsort"));
    c.env("DRUMSORT_DB", std::env::temp_dir().join(format!("drumsort-cli-curate-stray-{}.sqlite", std::process::id())));
    c
}

/// A fresh temp folder per test, canonical (the index stores canonical paths).
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("drumsort-cli-curate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.canonicalize().unwrap()
}

fn write_wav(path: &Path, samples: &[f32], rate: u32, bits: u16, gain: f32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let scale = ((1i64 << (bits - 1)) - 1) as f32;
    for v in samples {
        w.write_sample(((v * gain).clamp(-1.0, 1.0) * scale) as i32).unwrap();
    }
    w.finalize().unwrap();
}

fn demo(path: &Path, d: Demo, gain: f32) {
    write_wav(path, &d.render(44_100, 3), 44_100, 16, gain);
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    drumsort().args(args).output().unwrap()
}

fn ok(out: Output) -> Output {
    assert!(out.status.success(), "exit {:?}\nstderr: {}", out.status, String::from_utf8_lossy(&out.stderr));
    out
}

fn scan(db: &Path, root: &Path) {
    // --hidden: the hostile names include ones that start with a dot.
    ok(drumsort().arg("scan").arg("--hidden").arg("--db").arg(db).arg(root).output().unwrap());
}

fn jsonl(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// Every file below `dir` with its blake3 and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, ([u8; 32], SystemTime)> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let p = e.into_path();
            let t = std::fs::metadata(&p).unwrap().modified().unwrap();
            (p.clone(), (content_hash(&p).unwrap(), t))
        })
        .collect()
}

/// Every entry below `dir` (files, folders, links), relative.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| e.unwrap().path().strip_prefix(dir).unwrap().to_path_buf())
        .collect();
    v.sort();
    v
}

/// Sources with names meant to break out of the output folder, hide, or collide.
fn hostile_library(lib: &Path) -> Vec<PathBuf> {
    let mut names: Vec<std::ffi::OsString> = [
        "..wav",
        "...wav",
        "..\\..\\escape.wav",
        "line\nbreak.wav",
        "\u{1b}[31mred.wav",
        "CON.wav",
        "-rf.wav",
        "snare.wav",
        "SNARE.wav",
    ]
    .iter()
    .map(Into::into)
    .collect();
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        names.push(std::ffi::OsString::from_vec(b"bad\xff\xfebytes.wav".to_vec()));
    }
    names.push(format!("{}.wav", "long".repeat(60)).into());
    let demos = [Demo::Kick, Demo::Snare, Demo::ClosedHat, Demo::Crash, Demo::Clap, Demo::Tom];
    let mut out = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let p = lib.join(n);
        demo(&p, demos[i % demos.len()], 0.9 - i as f32 * 0.01);
        out.push(p);
    }
    // The same name in two folders (different sounds) and an identical copy under a third.
    for (sub, gain) in [("a", 0.8), ("b", 0.7)] {
        let p = lib.join(sub).join("kick.wav");
        demo(&p, Demo::Kick, gain);
        out.push(p);
    }
    std::fs::create_dir_all(lib.join("c")).unwrap();
    std::fs::copy(lib.join("a/kick.wav"), lib.join("c/kick.wav")).unwrap();
    out.push(lib.join("c/kick.wav"));
    out
}

#[test]
fn organize_is_safe_deterministic_and_idempotent() {
    let dir = temp_dir("organize");
    let (lib, db, out) = (dir.join("lib"), dir.join("lib.sqlite"), dir.join("sorted"));
    let sources = hostile_library(&lib);
    scan(&db, &lib);
    ok(drumsort().arg("relabel").arg(lib.join("b/kick.wav")).arg("cowbell").arg("--db").arg(&db).output().unwrap());
    let before = snapshot(&lib);
    assert_eq!(before.len(), sources.len());
    let outside_before = tree(&dir);

    // `drumsort organize --into out [extra] --format jsonl`, which must succeed.
    let organize = |extra: &[&str]| {
        let mut args: Vec<&std::ffi::OsStr> = vec!["organize".as_ref(), "--into".as_ref(), out.as_os_str()];
        args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
        args.extend(["--format".as_ref(), "jsonl".as_ref(), "--db".as_ref(), db.as_os_str()]);
        ok(run(&args))
    };

    // A dry run writes nothing, not even the folder.
    let dry = organize(&["--dry-run"]);
    let planned = jsonl(&dry);
    let unplanned: Vec<_> =
        sources.iter().filter(|s| !planned.iter().any(|r| r["source"] == *s.to_string_lossy())).collect();
    assert!(unplanned.is_empty(), "not organized: {unplanned:?}\n{}", String::from_utf8_lossy(&dry.stderr));
    assert!(planned.iter().all(|r| r["action"] == "would_place"), "{planned:?}");
    assert!(!out.exists(), "a dry run created the output folder");
    assert_eq!(tree(&dir), outside_before);

    let first = jsonl(&organize(&[]));
    assert_eq!(
        first.iter().map(|r| r["dest"].clone()).collect::<Vec<_>>(),
        planned.iter().map(|r| r["dest"].clone()).collect::<Vec<_>>(),
        "the dry run shows what a real run does"
    );
    assert!(first.iter().all(|r| r["action"] == "placed"), "{first:?}");
    assert_eq!(snapshot(&lib), before, "sources changed");
    // Nothing was written outside the output folder.
    let mut expected_outside = outside_before.clone();
    let mut now: Vec<PathBuf> = tree(&dir).into_iter().filter(|p| !p.starts_with("sorted")).collect();
    now.retain(|p| !p.to_string_lossy().starts_with("lib.sqlite"));
    expected_outside.retain(|p| !p.to_string_lossy().starts_with("lib.sqlite"));
    assert_eq!(now, expected_outside);

    // Every placed file: one plain name inside its class folder, with the source's bytes.
    let classes: Vec<&str> = DrumClass::ALL.iter().map(|c| c.as_str()).collect();
    let mut dests = Vec::new();
    for r in &first {
        let dest = PathBuf::from(r["dest"].as_str().unwrap());
        let rel = dest.strip_prefix(&out).expect("dest inside the output folder").to_path_buf();
        let parts: Vec<_> = rel.components().collect();
        assert_eq!(parts.len(), 2, "{rel:?}");
        assert!(classes.contains(&parts[0].as_os_str().to_str().unwrap()), "{rel:?}");
        let name = parts[1].as_os_str().to_str().expect("output names are UTF-8");
        assert!(!name.starts_with('.') && !name.chars().any(char::is_control) && !name.contains('\\'), "{name:?}");
        assert_eq!(r["class"], parts[0].as_os_str().to_str().unwrap());
        let src = lib.join(r["source"].as_str().unwrap().strip_prefix(&format!("{}/", lib.display())).unwrap());
        if src.exists() {
            assert_eq!(std::fs::read(&dest).unwrap(), std::fs::read(&src).unwrap(), "{rel:?}");
        }
        dests.push(rel);
    }
    let unique: std::collections::BTreeSet<String> = dests.iter().map(|d| d.to_string_lossy().to_lowercase()).collect();
    assert_eq!(unique.len(), dests.len(), "two sources share a destination: {dests:?}");
    // The correction wins, and same-named sources get numbered names in path order.
    let by_source = |s: &Path| first.iter().find(|r| r["source"] == *s.to_string_lossy()).unwrap().clone();
    assert_eq!(by_source(&lib.join("b/kick.wav"))["dest"], *out.join("cowbell/kick.wav").to_string_lossy());
    let a = by_source(&lib.join("a/kick.wav"))["dest"].as_str().unwrap().to_string();
    let c = by_source(&lib.join("c/kick.wav"))["dest"].as_str().unwrap().to_string();
    assert!(a.ends_with("/kick.wav") && c.ends_with("/kick (2).wav"), "{a} {c}");
    let manifest: Value = serde_json::from_slice(&std::fs::read(out.join("drumsort-manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["files"].as_array().unwrap().len(), sources.len());

    // A second run changes nothing.
    let placed = snapshot(&out);
    let again = jsonl(&organize(&[]));
    assert!(again.iter().all(|r| r["action"] == "already_there"), "{again:?}");
    let after: Vec<_> = snapshot(&out).into_iter().filter(|(p, _)| !p.ends_with("drumsort-manifest.json")).collect();
    let placed: Vec<_> = placed.into_iter().filter(|(p, _)| !p.ends_with("drumsort-manifest.json")).collect();
    assert_eq!(after, placed);
    assert_eq!(snapshot(&lib), before, "sources changed");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn organize_refuses_a_folder_inside_a_root_and_never_writes_through_links() {
    let dir = temp_dir("organize-refuse");
    let (lib, db) = (dir.join("lib"), dir.join("lib.sqlite"));
    demo(&lib.join("kick.wav"), Demo::Kick, 0.9);
    demo(&lib.join("sub/snare.wav"), Demo::Snare, 0.9);
    scan(&db, &lib);
    let before = snapshot(&lib);
    let inside = lib.join("sub/sorted");
    let refused = run(&["organize".as_ref(), "--into".as_ref(), inside.as_os_str(), "--db".as_ref(), db.as_os_str()]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--allow-inside-root"));
    assert!(!inside.exists());
    ok(run(&[
        "organize".as_ref(),
        "--into".as_ref(),
        inside.as_os_str(),
        "--allow-inside-root".as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
    ]));
    assert!(inside.join("kick/kick.wav").is_file());

    #[cfg(unix)]
    {
        // A class folder planted as a symlink to elsewhere is refused, not written through.
        let out = dir.join("sorted");
        let elsewhere = dir.join("elsewhere");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, out.join("kick")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, out.join("snare")).unwrap();
        let r = run(&["organize".as_ref(), "--into".as_ref(), out.as_os_str(), "--db".as_ref(), db.as_os_str()]);
        assert!(!r.status.success(), "placing through a symlinked class folder must fail");
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0, "wrote through a symlink");
    }
    let sources: BTreeMap<_, _> = snapshot(&lib).into_iter().filter(|(p, _)| !p.starts_with(&inside)).collect();
    assert_eq!(sources, before);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn organize_links_point_at_the_sources() {
    let dir = temp_dir("organize-links");
    let (lib, db) = (dir.join("lib"), dir.join("lib.sqlite"));
    demo(&lib.join("kick.wav"), Demo::Kick, 0.9);
    demo(&lib.join("hat.wav"), Demo::ClosedHat, 0.9);
    scan(&db, &lib);
    for mode in ["symlink", "hardlink"] {
        let out = dir.join(mode);
        for _ in 0..2 {
            ok(run(&[
                "organize".as_ref(),
                "--into".as_ref(),
                out.as_os_str(),
                "--mode".as_ref(),
                mode.as_ref(),
                "--db".as_ref(),
                db.as_os_str(),
            ]));
        }
        let files: Vec<PathBuf> =
            tree(&out).into_iter().filter(|p| p.extension().is_some_and(|e| e == "wav")).collect();
        assert_eq!(files.len(), 2, "{mode}: {files:?} (a re-run must not add copies)");
        for f in files {
            let meta = std::fs::symlink_metadata(out.join(&f)).unwrap();
            assert_eq!(meta.file_type().is_symlink(), mode == "symlink", "{f:?}");
            let src = lib.join(f.file_name().unwrap());
            assert_eq!(std::fs::read(out.join(&f)).unwrap(), std::fs::read(&src).unwrap());
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Demo sounds under `lib` plus a quieter copy of the snare under another name and folder.
fn demo_library(lib: &Path) {
    for d in Demo::ALL {
        demo(&lib.join(format!("{}.wav", d.file_stem())), d, 0.9);
    }
    demo(&lib.join("other/quiet_take.wav"), Demo::Snare, 0.4);
}

#[test]
fn similar_puts_the_gain_changed_copy_first_indexed_or_not() {
    let dir = temp_dir("similar");
    let (lib, db) = (dir.join("lib"), dir.join("lib.sqlite"));
    demo_library(&lib);
    scan(&db, &lib);
    let snare = lib.join(format!("{}.wav", Demo::Snare.file_stem()));
    let near = jsonl(&ok(run(&[
        "similar".as_ref(),
        snare.as_os_str(),
        "-n".as_ref(),
        "3".as_ref(),
        "--format".as_ref(),
        "jsonl".as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
    ])));
    assert_eq!(near.len(), 3);
    assert_eq!(near[0]["path"], *lib.join("other/quiet_take.wav").to_string_lossy(), "{near:?}");
    let d: Vec<f64> = near.iter().map(|r| r["distance"].as_f64().unwrap()).collect();
    assert!(d[0] < 0.01 && d.windows(2).all(|w| w[0] <= w[1]), "{d:?}");
    assert!(near.iter().all(|r| r["path"] != *snare.to_string_lossy()), "the query itself is not its neighbour");

    // A file outside the index is analysed on the spot.
    let outside = dir.join("new/loud_kick.wav");
    demo(&outside, Demo::Kick, 0.5);
    let found = jsonl(&ok(run(&[
        "similar".as_ref(),
        outside.as_os_str(),
        "-n".as_ref(),
        "1".as_ref(),
        "--format".as_ref(),
        "jsonl".as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
    ])));
    assert_eq!(found[0]["path"], *lib.join(format!("{}.wav", Demo::Kick.file_stem())).to_string_lossy());
    // --class filters.
    let hats = jsonl(&ok(run(&[
        "similar".as_ref(),
        snare.as_os_str(),
        "--class".as_ref(),
        "closed_hat".as_ref(),
        "--format".as_ref(),
        "jsonl".as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
    ])));
    assert!(hats.iter().all(|r| r["class"] == "closed_hat"), "{hats:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn duplicates_groups_copies_and_variants_but_not_other_sounds() {
    let dir = temp_dir("duplicates");
    let (lib, db) = (dir.join("lib"), dir.join("lib.sqlite"));
    for d in Demo::ALL {
        demo(&lib.join(format!("{}.wav", d.file_stem())), d, 0.9);
    }
    let kick = lib.join(format!("{}.wav", Demo::Kick.file_stem()));
    std::fs::create_dir_all(lib.join("backup")).unwrap();
    std::fs::copy(&kick, lib.join("backup/kick copy.wav")).unwrap();
    let snare = Demo::Snare.render(44_100, 3);
    let v = lib.join("variants");
    write_wav(&v.join("snare_24bit.wav"), &snare, 44_100, 24, 0.9);
    write_wav(&v.join("snare_22k.wav"), &drumsort_core::resample::resample(&snare, 44_100, 22_050), 22_050, 16, 0.9);
    write_wav(&v.join("snare_trimmed.wav"), &snare[..snare.len() * 7 / 10], 44_100, 16, 0.9);
    write_wav(&v.join("snare_quiet.wav"), &snare, 44_100, 16, 0.3);
    scan(&db, &lib);

    let out = ok(run(&["duplicates".as_ref(), "--format".as_ref(), "jsonl".as_ref(), "--db".as_ref(), db.as_os_str()]));
    let rows = jsonl(&out);
    let mut groups: BTreeMap<u64, Vec<&Value>> = BTreeMap::new();
    for r in &rows {
        groups.entry(r["group"].as_u64().unwrap()).or_default().push(r);
    }
    let name =
        |r: &Value| r["path"].as_str().unwrap().strip_prefix(&format!("{}/", lib.display())).unwrap().to_string();
    let sets: Vec<(String, Vec<String>, String)> = groups
        .values()
        .map(|g| {
            let keep: Vec<String> = g.iter().filter(|r| r["keep"] == true).map(|r| name(r)).collect();
            assert_eq!(keep.len(), 1, "one kept copy per group: {g:?}");
            let mut names: Vec<String> = g.iter().map(|r| name(r)).collect();
            names.sort();
            (g[0]["kind"].as_str().unwrap().to_string(), names, keep[0].clone())
        })
        .collect();
    let snare_name = format!("{}.wav", Demo::Snare.file_stem());
    let expected = vec![
        (
            "identical".to_string(),
            vec!["backup/kick copy.wav".to_string(), format!("{}.wav", Demo::Kick.file_stem())],
            format!("{}.wav", Demo::Kick.file_stem()),
        ),
        (
            "near".to_string(),
            {
                let mut n = vec![
                    snare_name.clone(),
                    "variants/snare_22k.wav".into(),
                    "variants/snare_24bit.wav".into(),
                    "variants/snare_quiet.wav".into(),
                    "variants/snare_trimmed.wav".into(),
                ];
                n.sort();
                n
            },
            "variants/snare_24bit.wav".to_string(),
        ),
    ];
    assert_eq!(sets, expected, "stderr: {}", String::from_utf8_lossy(&out.stderr));

    let identical = ok(run(&[
        "duplicates".as_ref(),
        "--identical-only".as_ref(),
        "--format".as_ref(),
        "jsonl".as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
    ]));
    assert_eq!(jsonl(&identical).len(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `(sample, key, other opcodes)` of each `<region>` line.
fn regions(sfz: &str) -> Vec<(String, u8)> {
    sfz.lines()
        .filter(|l| l.trim_start().starts_with("<region>"))
        .map(|l| {
            let ops: BTreeMap<&str, &str> =
                l["<region>".len()..].split_whitespace().filter_map(|o| o.split_once('=')).collect();
            (ops["sample"].to_string(), ops["key"].parse().unwrap())
        })
        .collect()
}

#[test]
fn kit_like_a_sound_writes_an_sfz_on_gm_notes() {
    let dir = temp_dir("kit");
    let (lib, db, out) = (dir.join("lib"), dir.join("lib.sqlite"), dir.join("My Kit"));
    demo_library(&lib);
    demo(&lib.join("more/kick_b.wav"), Demo::Kick, 0.2);
    scan(&db, &lib);
    let like = lib.join(format!("{}.wav", Demo::Kick.file_stem()));
    let rows = jsonl(&ok(run(&[
        "kit".as_ref(),
        "--like".as_ref(),
        like.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--format".as_ref(),
        "jsonl".as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
    ])));
    let sfz = std::fs::read_to_string(out.join("My Kit.sfz")).unwrap();
    let regions = regions(&sfz);
    assert!(regions.len() >= 5, "{sfz}");
    assert_eq!(regions.len(), rows.len());
    for (sample, key) in &regions {
        let class: DrumClass = Path::new(sample).file_stem().unwrap().to_str().unwrap().parse().unwrap();
        assert_eq!(Some(*key), class.gm_note(), "{sample}");
        let row = rows.iter().find(|r| r["piece"] == class.as_str()).unwrap();
        let source = PathBuf::from(row["source"].as_str().unwrap());
        assert_eq!(std::fs::read(out.join(sample)).unwrap(), std::fs::read(&source).unwrap(), "{sample}");
    }
    let kick = rows.iter().find(|r| r["piece"] == "kick").expect("a kick");
    assert_eq!(kick["source"], *like.to_string_lossy(), "the --like sound is the nearest of its class");
    // Files already there are never replaced.
    let again = run(&["kit".as_ref(), "--out".as_ref(), out.as_os_str(), "--db".as_ref(), db.as_os_str()]);
    assert!(!again.status.success());
    assert_eq!(std::fs::read_to_string(out.join("My Kit.sfz")).unwrap(), sfz);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn kit_from_any_folder_takes_the_best_scoring_sound_per_piece() {
    let dir = temp_dir("kit-from");
    let found = dir.join("found");
    for (i, d) in Demo::ALL.iter().enumerate() {
        demo(&found.join(format!("sound{i:02}.wav")), *d, 0.9);
    }
    let out = dir.join("kit");
    let rows = jsonl(&ok(run(&[
        "kit".as_ref(),
        "--from".as_ref(),
        found.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--name".as_ref(),
        "found".as_ref(),
        "--format".as_ref(),
        "jsonl".as_ref(),
    ])));
    let scores = jsonl(&ok(run(&["classify".as_ref(), "--format".as_ref(), "jsonl".as_ref(), found.as_os_str()])));
    assert!(!rows.is_empty());
    let used: Vec<&Value> = rows.iter().map(|r| &r["source"]).collect();
    for r in &rows {
        let piece = r["piece"].as_str().unwrap();
        let chosen = scores.iter().find(|s| s["path"] == r["source"]).unwrap()["scores"][piece].as_f64().unwrap();
        assert!((chosen - r["score"].as_f64().unwrap()).abs() < 1e-3);
        // No file left unused scores higher for this piece than the one chosen.
        for s in scores.iter().filter(|s| !used.contains(&&s["path"])) {
            assert!(
                s["scores"][piece].as_f64().unwrap() <= chosen + 1e-4,
                "{piece}: {} beats {}",
                s["path"],
                r["source"]
            );
        }
    }
    let sfz = std::fs::read_to_string(out.join("found.sfz")).unwrap();
    assert_eq!(regions(&sfz).len(), rows.len());
    std::fs::remove_dir_all(&dir).unwrap();
}
