//! Library-scan figures for `cargo xtask bench`: a cold scan of a folder into an empty index and an
//! unchanged rescan, in files/s, and the scale run over a generated library (time and peak RSS at
//! 10 %, 30 % and 100 % of it), printed, never asserted (issue 4 targets on the 2-core machine:
//! cold >= 500 files/s, unchanged rescan >= 20,000 files/s, < 300 MB RSS at 100,000 files).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use drumsort_core::classifier::Classifier;
use drumsort_core::index::{Index, ScanModel, ScanOptions, ScanSummary};

/// Removes an index file and its WAL companions.
pub fn remove_index(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}

/// Peak resident memory of this process so far, MB (Linux only).
pub fn peak_rss_mb() -> Option<f64> {
    status_mb("VmHWM:")
}

/// A memory figure of this process from /proc/self/status (`VmRSS:`, `VmHWM:`, ...), MB.
pub fn status_mb(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
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

/// Files per leaf folder of the generated library, and leaf folders per top folder: 1,000 files
/// per top folder, so a library of `k * 1000` files is the first `k` top folders.
pub const PER_LEAF: usize = 100;
pub const LEAVES: usize = 10;

/// Where the generated library lives; the suffix changes whenever [`generate`] writes other bytes.
pub const SCALE_LIB: &str = "target/bench-scale/lib-v2";

/// Writes (once; later runs reuse it) a library of `n` short 16-bit wavs under `dir`, nested
/// `dNNN/eN/fNNNNNN.wav`: the synthesised demo sounds cut to 80 ms at 22.05 kHz at varied gains,
/// each ending in three quiet samples that spell its number, so every file has its own bytes (a
/// scan analyses a file once per content: repeated bytes would be copied, not measured).
pub fn generate(dir: &Path, n: usize) -> Result<()> {
    use drumsort_core::synth::Demo;
    let rate = 22_050;
    let templates: Vec<Vec<f32>> = Demo::ALL
        .iter()
        .flat_map(|d| (0..8u64).map(move |seed| d.render(rate, seed)))
        .map(|mut x| {
            x.truncate(rate as usize * 8 / 100);
            x
        })
        .collect();
    let spec =
        hound::WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let t = Instant::now();
    let mut written = 0;
    for i in 0..n {
        let path = dir
            .join(format!("d{:03}", i / (PER_LEAF * LEAVES)))
            .join(format!("e{}", i / PER_LEAF % LEAVES))
            .join(format!("f{i:06}.wav"));
        if path.exists() {
            continue;
        }
        if i % PER_LEAF == 0 || written == 0 {
            std::fs::create_dir_all(path.parent().unwrap_or(dir))?;
        }
        let gain = 0.3 + 0.6 * ((i * 7919) % 1000) as f32 / 1000.0;
        let mut w = hound::WavWriter::create(&path, spec).with_context(|| format!("writing {}", path.display()))?;
        for v in &templates[i % templates.len()] {
            w.write_sample((v * gain * 32767.0) as i16)?;
        }
        for k in 0..3 {
            w.write_sample(((i >> (6 * k)) & 63) as i16)?;
        }
        w.finalize()?;
        written += 1;
    }
    if written > 0 {
        println!("generated {written} files in {} ({:.1} s)", dir.display(), t.elapsed().as_secs_f64());
    }
    Ok(())
}

/// The scale run: scans the first 10 %, 30 % and 100 % of a generated library of `max` files,
/// each into a fresh index in a fresh process (so each peak RSS is that scan's own), and prints
/// time, files/s and peak RSS per size, and how both grow per file.
pub fn scale_bench(max: usize, model: &Path) -> Result<()> {
    let max = max.div_ceil(PER_LEAF * LEAVES) * PER_LEAF * LEAVES;
    let lib = PathBuf::from(SCALE_LIB);
    generate(&lib, max)?;
    let exe = std::env::current_exe()?;
    println!("scale bench: fresh scans of a generated library (80 ms wavs in nested folders), one process each");
    let mut first: Option<(usize, f64, f64)> = None;
    for n in [max / 10, max * 3 / 10, max] {
        let out = std::process::Command::new(&exe)
            .args(["bench-scale-one", "--files"])
            .arg(n.to_string())
            .arg("--model")
            .arg(model)
            .output()
            .context("running the scale child")?;
        if !out.status.success() {
            bail!("scale scan of {n} files failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let (secs, rss): (f64, f64) = text
            .split_whitespace()
            .collect::<Vec<_>>()
            .as_slice()
            .get(..2)
            .and_then(|v| Some((v[0].parse().ok()?, v[1].parse().ok()?)))
            .with_context(|| format!("unexpected child output {text:?}"))?;
        let (n0, s0, r0) = *first.get_or_insert((n, secs, rss));
        let growth = n as f64 / n0 as f64;
        println!(
            "scan {n:>7} files  {secs:>8.1} s  {:>6.0} files/s  peak RSS {rss:>6.0} MB   x{growth:.0} files: time x{:.2}, RSS x{:.2}",
            n as f64 / secs,
            secs / s0,
            rss / r0
        );
    }
    Ok(())
}

/// Child of [`scale_bench`]: scans the first `files` of the generated library into a fresh index
/// and prints `seconds peak_rss_mb`.
pub fn scale_one(files: usize, model: &Path) -> Result<()> {
    let lib = PathBuf::from(SCALE_LIB);
    let roots: Vec<PathBuf> = (0..files / (PER_LEAF * LEAVES)).map(|k| lib.join(format!("d{k:03}"))).collect();
    let db = std::env::temp_dir().join(format!("drumsort-bench-scale-{}.sqlite", std::process::id()));
    remove_index(&db);
    let classifier = Classifier::from_dir(model).with_context(|| format!("loading {}", model.display()))?;
    let mut index = Index::open(&db)?;
    let s = index.scan(&roots, &mut ScanModel::loaded(&classifier), &ScanOptions::default(), |_| {})?;
    drop(index);
    remove_index(&db);
    if s.files != files || s.errors != 0 {
        bail!("expected {files} readable files, scanned {} with {} errors", s.files, s.errors);
    }
    println!("{:.3} {:.1}", s.seconds, peak_rss_mb().unwrap_or(f64::NAN));
    Ok(())
}
