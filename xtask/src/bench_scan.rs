//! Library-scan figures for `cargo xtask bench`: a cold scan of a folder into an empty index and an
//! unchanged rescan, in files/s, printed, never asserted (issue 4 targets on the 2-core machine:
//! cold >= 500 files/s, unchanged rescan >= 20,000 files/s).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use drumsort_core::classifier::Classifier;
use drumsort_core::index::{Index, ScanModel, ScanOptions, ScanSummary};

/// Removes an index file and its WAL companions.
fn remove_index(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}

/// Peak resident memory of this process so far, MB (Linux only).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn line(label: &str, s: &ScanSummary) -> String {
    format!(
        "{label:<26} {:>8.0} files/s  ({} files in {:.3} s: {} new, {} unchanged, {} analysed, {} errors)",
        s.files as f64 / s.seconds.max(1e-9),
        s.files,
        s.seconds,
        s.new,
        s.unchanged,
        s.analysed,
        s.errors
    )
}

/// Scans `data` into a fresh temporary index with the model in `model`, then rescans it unchanged
/// from a newly opened index (as a second `drumsort scan` would, the model never loaded), and
/// prints files/s for both. With `exe` (a built `drumsort` binary) the same two runs are timed as
/// processes, start-up included. The files are read once first so the figures measure the scan,
/// not the disk.
pub fn scan_bench(data: &Path, model: &Path, exe: Option<&Path>) -> Result<()> {
    let classifier =
        Classifier::from_dir(model).with_context(|| format!("loading the model in {}", model.display()))?;
    let db = std::env::temp_dir().join(format!("drumsort-bench-scan-{}.sqlite", std::process::id()));
    remove_index(&db);

    let warm = Instant::now();
    let mut bytes = 0u64;
    for entry in walkdir(data) {
        bytes += std::fs::read(&entry).map_or(0, |b| b.len() as u64);
    }
    println!(
        "scan bench over {} ({:.1} MB, page cache warmed in {:.2} s)",
        data.display(),
        bytes as f64 / 1e6,
        warm.elapsed().as_secs_f64()
    );

    let roots = [data.to_path_buf()];
    let mut index = Index::open(&db)?;
    let cold = index.scan(&roots, &mut ScanModel::loaded(&classifier), &ScanOptions::default(), |_| {})?;
    if cold.files == 0 {
        remove_index(&db);
        bail!("no audio files under {} (the drumdata set lives in ../shared/drumdata)", data.display());
    }
    println!("{}", line("scan, cold (in process)", &cold));
    drop(index);

    let mut index = Index::open(&db)?;
    let version = classifier.meta().model_version.clone();
    let mut lazy = ScanModel::lazy(version, || Classifier::from_dir(model));
    let rescan = index.scan(&roots, &mut lazy, &ScanOptions::default(), |_| {})?;
    println!("{}", line("rescan, unchanged", &rescan));
    drop(index);
    remove_index(&db);
    if let Some(mb) = peak_rss_mb() {
        println!("peak RSS of the bench      {mb:>8.0} MB");
    }

    if let Some(exe) = exe {
        for label in ["drumsort scan, cold", "drumsort scan, unchanged"] {
            let t = Instant::now();
            let out = std::process::Command::new(exe)
                .arg("scan")
                .arg("--db")
                .arg(&db)
                .arg("--model")
                .arg(model)
                .arg(data)
                .output()
                .with_context(|| format!("running {}", exe.display()))?;
            let secs = t.elapsed().as_secs_f64();
            if !out.status.success() {
                remove_index(&db);
                bail!("{label} failed: {}", String::from_utf8_lossy(&out.stderr));
            }
            println!(
                "{label:<26} {:>8.0} files/s  ({:.3} s wall, process start-up included)",
                cold.files as f64 / secs,
                secs
            );
        }
        remove_index(&db);
    }
    Ok(())
}

/// Audio files under `dir`, the way scans find them.
fn walkdir(dir: &Path) -> Vec<PathBuf> {
    use drumsort_core::walk::{walk, Found, WalkOptions};
    walk(&[dir.to_path_buf()], &WalkOptions::default())
        .filter_map(|f| if let Found::Audio(p) = f { Some(p) } else { None })
        .collect()
}
