//! A library of faults, generated here, scanned by `drumsort scan`: every fault must end as a
//! clear per-file outcome (an error stored on the file's entry, an entry the scan could not read
//! named in the scan's problems, or a decoded file with a warning), and the scan must complete
//! and index the healthy files next to them. Prints the faults survived for the README.
//!
//! Files that vanish or change while a scan runs are raced here from a second thread; the
//! deterministic version (a hook between walking and reading) is in core's scan tests.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use drumsort_core::index::{Entry, Index, ListFilter, Status};
use drumsort_core::synth::Demo;
use serde_json::Value;
use support::{demo_wav, drumsort, model_dir, ok, temp_dir};

/// What a scan left: entries by path, the scan's problems (path, message), its stderr.
struct Outcome {
    entries: BTreeMap<PathBuf, Entry>,
    problems: Vec<(PathBuf, String)>,
    stderr: String,
}

impl Outcome {
    fn entry(&self, path: &Path) -> Result<&Entry, String> {
        self.entries.get(path).ok_or_else(|| format!("no entry for {}", path.display()))
    }

    /// The file has an error entry of one of `kinds`, with a message.
    fn failed(&self, path: &Path, kinds: &[&str]) -> Result<(), String> {
        let e = self.entry(path)?;
        match &e.error {
            Some(err)
                if e.status == Status::Failed && kinds.contains(&err.kind.as_str()) && !err.message.is_empty() =>
            {
                Ok(())
            }
            other => Err(format!("expected an error of kind {kinds:?}, got {:?} {other:?}", e.status)),
        }
    }

    /// The file was analysed (it has a class).
    fn analysed(&self, path: &Path) -> Result<&Entry, String> {
        let e = self.entry(path)?;
        if e.status == Status::Analysed && e.prediction.is_some() {
            Ok(e)
        } else {
            Err(format!("expected an analysis, got {:?} {:?}", e.status, e.error))
        }
    }

    /// The scan named `path` among what it could not read, with a message containing `needle`,
    /// and printed it on stderr.
    fn problem(&self, path: &Path, needle: &str) -> Result<(), String> {
        let found = self.problems.iter().find(|(p, _)| p == path);
        match found {
            Some((_, m)) if m.contains(needle) && self.stderr.contains(&path.display().to_string()) => Ok(()),
            _ => {
                Err(format!("expected a problem with {needle:?} for {}; problems: {:?}", path.display(), self.problems))
            }
        }
    }
}

/// A WAV header (RIFF, `fmt `, `data`) with the given fields, then `data` bytes.
fn wav_header(channels: u16, rate: u32, bits: u16, data_len: u32, data: &[u8]) -> Vec<u8> {
    let block = channels.wrapping_mul(bits / 8);
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&rate.wrapping_mul(u32::from(block)).to_le_bytes());
    b.extend_from_slice(&block.to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    b.extend_from_slice(data);
    b
}

/// Deterministic noise bytes.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 32) as u8
        })
        .collect()
}

/// What must come of a fault: `Ok`, or why not.
type Check = Box<dyn Fn(&Outcome, &Path) -> Result<(), String>>;

/// One fault: how it is made under the library root and what must come of it.
struct Fault {
    name: &'static str,
    make: Box<dyn Fn(&Path) -> PathBuf>,
    check: Check,
}

fn fault(
    name: &'static str,
    make: impl Fn(&Path) -> PathBuf + 'static,
    check: impl Fn(&Outcome, &Path) -> Result<(), String> + 'static,
) -> Fault {
    Fault { name, make: Box::new(make), check: Box::new(check) }
}

fn write(path: PathBuf, bytes: &[u8]) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

fn pcm(samples: usize) -> Vec<u8> {
    demo_wav(Demo::ALL[0], 0)[44..44 + 2 * samples].to_vec()
}

fn faults(root_can_read_anything: bool) -> Vec<Fault> {
    let mut v = vec![
        fault("zero-length file", |l| write(l.join("empty.wav"), b""), |o, p| o.failed(p, &["empty"])),
        fault(
            "truncated inside the header",
            |l| write(l.join("cut-header.wav"), &demo_wav(Demo::ALL[1], 0)[..30]),
            |o, p| o.failed(p, &["corrupt"]),
        ),
        fault(
            "truncated inside the audio",
            |l| {
                let w = demo_wav(Demo::ALL[2], 0);
                write(l.join("cut-data.wav"), &w[..w.len() * 3 / 5])
            },
            |o, p| {
                let e = o.analysed(p)?;
                let warnings = &e.info.as_ref().ok_or("no info")?.warnings;
                warnings.iter().any(|w| w.contains("cut short")).then_some(()).ok_or(format!("warnings {warnings:?}"))
            },
        ),
        fault(
            "RIFF and data sizes of 4 GB on a short file",
            |l| {
                let mut w = demo_wav(Demo::ALL[3], 0);
                w[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
                w[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
                write(l.join("lying-sizes.wav"), &w)
            },
            |o, p| o.analysed(p).map(|_| ()),
        ),
        fault(
            "zero channels",
            |l| write(l.join("zero-channels.wav"), &wav_header(0, 44_100, 16, 2000, &pcm(1000))),
            |o, p| o.failed(p, &["corrupt", "unsupported"]),
        ),
        fault(
            "zero sample rate",
            |l| write(l.join("zero-rate.wav"), &wav_header(1, 0, 16, 2000, &pcm(1000))),
            |o, p| o.failed(p, &["corrupt", "unsupported"]),
        ),
        fault(
            "sample rate of 4 GHz",
            |l| write(l.join("absurd-rate.wav"), &wav_header(1, u32::MAX, 16, 2000, &pcm(1000))),
            |o, p| o.failed(p, &["corrupt", "unsupported"]),
        ),
        fault(
            "65535 channels",
            |l| write(l.join("absurd-channels.wav"), &wav_header(u16::MAX, 44_100, 16, 2000, &pcm(1000))),
            |o, p| o.failed(p, &["corrupt", "unsupported"]),
        ),
        fault(
            "directory named like a file (kick.wav/)",
            |l| {
                write(l.join("kick.wav/inside.wav"), &demo_wav(Demo::ALL[4], 0));
                l.join("kick.wav")
            },
            |o, p| match o.entries.get(p) {
                Some(_) => Err("the directory itself was indexed as a file".into()),
                None => o.analysed(&p.join("inside.wav")).map(|_| ()),
            },
        ),
        fault(
            "name that is not valid UTF-8",
            |l| {
                use std::os::unix::ffi::OsStrExt;
                write(l.join(std::ffi::OsStr::from_bytes(b"caf\xe9 \xff.wav")), &demo_wav(Demo::ALL[5], 0))
            },
            |o, p| o.analysed(p).map(|_| ()),
        ),
        fault(
            "tree 400 folders deep",
            |l| {
                let deep: PathBuf = std::iter::repeat_n("d", 400).collect();
                write(l.join(deep).join("deep.wav"), &demo_wav(Demo::ALL[6], 0))
            },
            |o, p| o.analysed(p).map(|_| ()),
        ),
        fault(
            "file name of 255 bytes",
            |l| write(l.join(format!("{}.wav", "n".repeat(251))), &demo_wav(Demo::ALL[7], 0)),
            |o, p| o.analysed(p).map(|_| ()),
        ),
        fault(
            "dangling symlink",
            |l| {
                std::os::unix::fs::symlink(l.join("nowhere.wav"), l.join("dangling.wav")).unwrap();
                l.join("dangling.wav")
            },
            |o, p| o.problem(p, "No such file"),
        ),
        fault(
            "symlink loop through a folder",
            |l| {
                std::fs::create_dir_all(l.join("loop")).unwrap();
                std::os::unix::fs::symlink(l, l.join("loop/back")).unwrap();
                l.join("loop/back")
            },
            |o, p| o.problem(p, "symlink loop"),
        ),
        fault(
            "symlink to itself",
            |l| {
                std::os::unix::fs::symlink(l.join("self.wav"), l.join("self.wav")).unwrap();
                l.join("self.wav")
            },
            |o, p| o.problem(p, "symbolic links"),
        ),
    ];
    for (i, ext) in ["wav", "aiff", "flac", "mp3", "ogg"].into_iter().enumerate() {
        let name: &'static str = Box::leak(format!("random bytes named .{ext}").into_boxed_str());
        v.push(fault(
            name,
            move |l| write(l.join(format!("random.{ext}")), &noise(5000 + 1000 * i, i as u64 + 7)),
            |o, p| o.failed(p, &["not_audio", "corrupt"]),
        ));
    }
    v.push(if root_can_read_anything {
        // Run as root with no way to drop privileges: root reads a mode-000 folder, so the honest
        // outcome is that its file is indexed.
        fault("permission-denied folder (as root: readable)", locked_folder, |o, p| {
            o.analysed(&p.join("locked.wav")).map(|_| ())
        })
    } else {
        fault("permission-denied folder", locked_folder, |o, p| o.problem(p, "Permission denied"))
    });
    v
}

fn locked_folder(l: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = l.join("locked");
    write(dir.join("locked.wav"), &demo_wav(Demo::ALL[8], 0));
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o000)).unwrap();
    dir
}

/// How to run `drumsort` without root's power over permissions: as is when not root; as
/// `nobody` through `setpriv` when root and it works; else `None` (root it is).
fn unprivileged() -> Option<Vec<String>> {
    let uid = Command::new("id").arg("-u").output().expect("running id -u");
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some(Vec::new());
    }
    let prefix: Vec<String> =
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"].map(String::from).to_vec();
    let works = Command::new(&prefix[0]).args(&prefix[1..]).arg("true").status().is_ok_and(|s| s.success());
    works.then_some(prefix)
}

#[test]
fn every_fault_gets_a_clear_outcome_and_the_scan_completes() {
    let dir = temp_dir("faults");
    let lib = dir.join("lib");
    let healthy: Vec<PathBuf> = Demo::ALL
        .iter()
        .enumerate()
        .map(|(i, d)| write(lib.join(format!("healthy/{}.wav", d.file_stem())), &demo_wav(*d, i)))
        .collect();
    let runner = unprivileged();
    let list = faults(runner.is_none());
    let made: Vec<PathBuf> = list.iter().map(|f| (f.make)(&lib)).collect();

    // The index lives where the unprivileged user may write; the library stays read-only to it.
    let db_dir = dir.join("db");
    std::fs::create_dir_all(&db_dir).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&db_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let db = db_dir.join("library.sqlite");
    // The shared test model is written owner-only; the unprivileged user needs its own copy.
    let model = dir.join("model");
    std::fs::create_dir_all(&model).unwrap();
    for f in std::fs::read_dir(model_dir()).unwrap() {
        let f = f.unwrap().path();
        let to = model.join(f.file_name().unwrap());
        std::fs::copy(&f, &to).unwrap();
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let exe = env!("CARGO_BIN_EXE_drumsort");
    let prefix = runner.clone().unwrap_or_default();
    let mut cmd = match prefix.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    cmd.args(["scan", "--json", "--db"]).arg(&db).arg("--model").arg(&model).arg(&lib);
    let out = ok(cmd.output().unwrap());
    let summary: Value = serde_json::from_slice(&out.stdout).expect("scan --json prints its summary");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();

    let index = Index::open(&db).unwrap();
    let entries = index.list(&ListFilter::default()).unwrap().into_iter().map(|e| (e.path.clone(), e)).collect();
    let problems = summary["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (PathBuf::from(p["path"].as_str().unwrap()), p["message"].as_str().unwrap().to_string()))
        .collect();
    let outcome = Outcome { entries, problems, stderr };

    let mut failed = Vec::new();
    for (f, path) in list.iter().zip(&made) {
        if let Err(why) = (f.check)(&outcome, path) {
            failed.push(format!("{}: {why}", f.name));
        }
    }
    for h in &healthy {
        if let Err(why) = outcome.analysed(h) {
            failed.push(format!("healthy file {} next to the faults: {why}", h.display()));
        }
    }
    // Restore permissions so the folder can be removed.
    let _ = std::fs::set_permissions(lib.join("locked"), std::fs::Permissions::from_mode(0o755));
    assert!(failed.is_empty(), "faults not handled:\n{}\nscan stderr:\n{}", failed.join("\n"), outcome.stderr);
    let user = match &runner {
        Some(p) if p.is_empty() => "as a normal user",
        Some(_) => "as nobody via setpriv",
        None => "as root (permissions not enforced)",
    };
    println!(
        "faults survived: {} of {} ({user}), {} healthy files indexed next to them",
        list.len(),
        list.len(),
        healthy.len()
    );
    let errors = drumsort().args(["list", "--errors", "--format", "jsonl", "--db"]).arg(&db).output().unwrap();
    assert!(String::from_utf8_lossy(&ok(errors).stdout).lines().count() >= 9, "list --errors shows the failures");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Files deleted, rewritten and created by a second thread while scans run: every scan
/// completes, and once the churn stops one more scan makes the index true to the disk again
/// (every file present, each stored hash the hash of its bytes now).
#[test]
fn files_vanishing_and_changing_during_scans() {
    let dir = temp_dir("churn");
    let (lib, _) = support::library(&dir, 3);
    let db = dir.join("library.sqlite");
    let victims: Vec<PathBuf> = walk(&lib).into_iter().step_by(3).collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let racer = {
        let (stop, victims) = (stop.clone(), victims.clone());
        std::thread::spawn(move || {
            let mut round = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for (i, v) in victims.iter().enumerate() {
                    match (round + i) % 3 {
                        0 => drop(std::fs::remove_file(v)),
                        1 => drop(std::fs::write(v, demo_wav(Demo::ALL[i % Demo::ALL.len()], round % 7))),
                        _ => drop(std::fs::write(v, &demo_wav(Demo::ALL[i % Demo::ALL.len()], 1)[..300])),
                    }
                }
                round += 1;
                std::thread::sleep(std::time::Duration::from_millis(3));
            }
        })
    };
    for _ in 0..4 {
        let out = drumsort()
            .args(["scan", "--batch-size", "2", "--db"])
            .arg(&db)
            .arg("--model")
            .arg(model_dir())
            .arg(&lib)
            .output()
            .unwrap();
        assert!(out.status.success(), "a scan under churn failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    racer.join().unwrap();
    // Settle timestamps past the file system's resolution so the last scan sees every change.
    std::thread::sleep(std::time::Duration::from_millis(20));
    ok(drumsort().args(["scan", "--db"]).arg(&db).arg("--model").arg(model_dir()).arg(&lib).output().unwrap());
    let index = Index::open(&db).unwrap();
    let present: BTreeMap<PathBuf, Entry> =
        index.list(&ListFilter::default()).unwrap().into_iter().map(|e| (e.path.clone(), e)).collect();
    let on_disk = walk(&lib);
    let indexed: Vec<&PathBuf> = present.keys().collect();
    assert_eq!(indexed, on_disk.iter().collect::<Vec<_>>(), "index and disk disagree on what exists");
    for path in &on_disk {
        let e = &present[path];
        let hash = drumsort_core::index::content_hash(path).unwrap();
        assert_eq!(e.hash, Some(hash), "{}: stored hash is not the file's bytes", path.display());
        assert_ne!(e.status, Status::Pending, "{} left pending", path.display());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Audio files under `root`, sorted like a `BTreeMap` of paths.
fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "wav") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
