//! Crash consistency: `drumsort scan` is killed with SIGKILL at random points (seeded, so a
//! failure replays), up to three times in a row, then run to the end. After every kill the index
//! must reopen without being set aside as corrupt; at the end it must hold exactly what one
//! uninterrupted scan produces (same rows, states, hashes, classes and scores), and every
//! correction made with `drumsort relabel` before or between the kills must still be there.
//!
//! `DRUMSORT_KILL_RUNS` overrides the number of runs (default 30); the test prints the kills
//! survived for the README's reliability section.

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use drumsort_core::index::{Index, ListFilter, Status};
use drumsort_core::synth::Demo;
use support::{drumsort, library, model_dir, ok, temp_dir};

/// A small fast generator with a fixed seed: the kill points of every run are reproducible.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// One file as the index ends up holding it: what must match the uninterrupted scan.
#[derive(Debug, PartialEq)]
struct Row {
    path: PathBuf,
    hash: Option<[u8; 32]>,
    status: Status,
    class: Option<String>,
    /// Model scores in 1e-4 steps: batches differ between killed and whole runs, and the
    /// network's result may differ in the last float bits with its batch.
    scores: Option<Vec<i64>>,
    error_kind: Option<String>,
    correction: Option<String>,
    missing: bool,
}

fn rows(db: &Path) -> Vec<Row> {
    let index = Index::open(db).expect("the index reopens");
    assert!(index.set_aside().is_none(), "the index was set aside: {:?}", index.set_aside());
    let mut all = index.list(&ListFilter::default()).unwrap();
    all.extend(index.list(&ListFilter { missing: true, ..ListFilter::default() }).unwrap());
    all.into_iter()
        .map(|e| Row {
            path: e.path,
            hash: e.hash,
            status: e.status,
            class: e.prediction.as_ref().map(|p| p.class.as_str().to_string()),
            scores: e.prediction.map(|p| p.scores.iter().map(|s| (s * 1e4).round() as i64).collect()),
            error_kind: e.error.map(|e| e.kind),
            correction: e.correction.map(|c| c.as_str().to_string()),
            missing: e.missing,
        })
        .collect()
}

fn relabel(db: &Path, file: &Path, class: &str) {
    ok(drumsort().arg("relabel").arg(file).arg(class).arg("--db").arg(db).output().unwrap());
}

/// Scan arguments: small batches, so there are many commit points to be killed around.
fn scan_cmd(db: &Path, lib: &Path) -> std::process::Command {
    let mut c = drumsort();
    c.args(["scan", "--batch-size", "3", "--db"]).arg(db).arg("--model").arg(model_dir()).arg(lib);
    c.stdout(Stdio::null()).stderr(Stdio::null());
    c
}

#[test]
fn killed_scans_resume_to_the_uninterrupted_result_and_keep_corrections() {
    let runs: usize = std::env::var("DRUMSORT_KILL_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    let dir = temp_dir("crash");
    let (lib, n) = library(&dir, 2);
    // Duplicates (the analysis is copied between them) and files that fail.
    let first = lib.join(format!("{}-0.wav", Demo::ALL[0].file_stem()));
    std::fs::copy(&first, lib.join("a/copy-of-first.wav")).unwrap();
    std::fs::write(lib.join("broken.wav"), b"RIFF\x24\0\0\0WAVEfmt \x10\0\0\0").unwrap();
    std::fs::write(lib.join("empty.wav"), b"").unwrap();
    let before = [(first.clone(), "tom"), (lib.join(format!("b/c/{}-1.wav", Demo::ALL[2].file_stem())), "rim")];
    let between = (lib.join(format!("a/{}-0.wav", Demo::ALL[1].file_stem())), "cowbell");

    // The reference: the same corrections, one uninterrupted scan.
    let reference_db = dir.join("reference.sqlite");
    for (file, class) in before.iter().chain([&between]) {
        relabel(&reference_db, file, class);
    }
    let started = Instant::now();
    ok(scan_cmd(&reference_db, &lib).output().unwrap());
    let full = started.elapsed();
    let reference = rows(&reference_db);
    assert_eq!(reference.len(), n + 3, "the reference indexes every file");
    assert_eq!(reference.iter().filter(|r| r.correction.is_some()).count(), 4, "{reference:#?}");

    let mut rng = XorShift(0x5EED_CAFE_F00D_D00D);
    let (mut kills, mut before_exit) = (0usize, 0usize);
    // Kill points are drawn below this bound; a scan that finishes before its kill shrinks it, so
    // kills keep landing mid-scan when the machine is faster than during the reference scan.
    let mut bound = full.as_micros() as u64 * 11 / 10;
    for run in 0..runs {
        let db = dir.join(format!("run-{run}.sqlite"));
        for (file, class) in &before {
            relabel(&db, file, class);
        }
        let attempts = 1 + rng.below(3) as usize;
        let mut relabelled = false;
        for _ in 0..attempts {
            // Anywhere from process start to about a whole scan's time.
            let delay = Duration::from_micros(rng.below(bound));
            let mut child = scan_cmd(&db, &lib).spawn().unwrap();
            std::thread::sleep(delay);
            let finished = child.try_wait().unwrap();
            child.kill().ok();
            child.wait().unwrap();
            if let Some(status) = finished {
                assert!(status.success(), "run {run}: a scan exited with {status}");
                // The index is complete: further attempts would only kill unchanged rescans.
                before_exit += 1;
                bound = (bound * 3 / 4).max(1_000);
                break;
            }
            kills += 1;
            // The index must open after every kill (rows() asserts nothing was set aside).
            let partial = rows(&db);
            assert!(partial.len() <= reference.len(), "run {run}: more rows than files");
            if !relabelled {
                relabel(&db, &between.0, between.1);
                relabelled = true;
            }
        }
        if !relabelled {
            relabel(&db, &between.0, between.1);
        }
        ok(scan_cmd(&db, &lib).output().unwrap());
        let got = rows(&db);
        assert_eq!(got, reference, "run {run} ends differently from an uninterrupted scan");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
    }
    println!(
        "crash consistency: {runs} runs, {kills} scans killed mid-way (+{before_exit} that had already \
         finished), index identical to an uninterrupted scan every time, 0 corrections lost"
    );
    assert!(kills >= runs, "too few kills landed mid-scan ({kills} in {runs} runs)");
    std::fs::remove_dir_all(&dir).unwrap();
}
