//! `cargo xtask bench`: throughput figures for the README, printed, never asserted. Stages are
//! timed separately (decode, features, inference), then end to end in-process and as a cold
//! `drumsort classify` process.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use drumsort_core::analyse::{analyse_paths, decode_options};
use drumsort_core::classifier::{Classifier, META_FILE, WEIGHTS_FILE};
use drumsort_core::decode::decode_file;
use drumsort_core::walk::{walk, Found, WalkOptions};
use rayon::prelude::*;

/// Options of `cargo xtask bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Folder of audio files to run over.
    #[arg(long, default_value = "../shared/drumdata/val")]
    pub data: PathBuf,
    /// Model directory (one-shot classifier: decoding, inference, scans, library).
    #[arg(long, default_value = "assets/model")]
    pub model: PathBuf,
    /// Hit model directory (the plugin's hit labeller: `process()` and classifier time per hit).
    #[arg(long, default_value = "assets/hit-model")]
    pub hit_model: PathBuf,
    /// Run only the library scale bench: fresh scans of 10 %, 30 % and 100 % of a generated
    /// library of this many files (written once under target/bench-scale/), time and peak RSS each.
    /// The full bench ends with it at 10,000 files; the figure is `--scale 100000`.
    #[arg(long, value_name = "FILES")]
    pub scale: Option<usize>,
    /// Run only the plugin-load bench (a library of 10,000 samples: time to a full graph, memory).
    #[arg(long)]
    pub plugin_load: bool,
    /// Run only the plugin soak: this many hours of drum audio (2 without a value) through
    /// `process()`, accelerated on a simulated real-time device clock, with the hit labeller
    /// stalling 250 ms per batch; prints x real time, the slowest block, memory and the hit
    /// accounting.
    #[arg(long, value_name = "HOURS", num_args = 0..=1, default_missing_value = "2")]
    pub soak: Option<f64>,
}

fn rate(n: usize, secs: f64) -> String {
    format!("{:>8.0} files/s  ({:.3} ms/file)", n as f64 / secs, secs * 1000.0 / n.max(1) as f64)
}

pub fn run(args: BenchArgs) -> Result<()> {
    if let Some(n) = args.scale {
        return crate::bench_scan::scale_bench(n, &args.model);
    }
    if let Some(hours) = args.soak {
        return crate::bench_plugin::soak(hours, &args.hit_model);
    }
    if args.plugin_load {
        return crate::bench_plugin::library_load(&args.model);
    }
    let files: Vec<PathBuf> = walk(std::slice::from_ref(&args.data), &WalkOptions::default())
        .filter_map(|f| if let Found::Audio(p) = f { Some(p) } else { None })
        .collect();
    if files.is_empty() {
        bail!("no audio files under {} (the drumdata set lives in ../shared/drumdata)", args.data.display());
    }
    let bytes: u64 = files.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    println!(
        "bench over {} files ({:.1} MB) in {}, {} threads",
        files.len(),
        bytes as f64 / 1e6,
        args.data.display(),
        rayon::current_num_threads()
    );

    // Model load from bytes already in memory, as the binaries load their embedded copy.
    let weights =
        std::fs::read(args.model.join(WEIGHTS_FILE)).with_context(|| format!("reading {}", args.model.display()))?;
    let meta = std::fs::read_to_string(args.model.join(META_FILE))?;
    let t = Instant::now();
    let reps = 20;
    for _ in 0..reps {
        Classifier::from_bytes(&weights, &meta)?;
    }
    println!("model load from bytes      {:>8.2} ms", t.elapsed().as_secs_f64() * 1000.0 / reps as f64);
    let classifier = Classifier::from_bytes(&weights, &meta)?;
    let opts = decode_options(&classifier);

    // Warm the page cache so the figures measure decoding, not the disk.
    files.par_iter().for_each(|p| drop(std::fs::read(p)));

    let t = Instant::now();
    let decoded: Vec<_> = files.par_iter().filter_map(|p| decode_file(p, &opts).ok()).collect();
    let secs = t.elapsed().as_secs_f64();
    println!("decode                     {}  {:.1} MB/s of files", rate(files.len(), secs), bytes as f64 / 1e6 / secs);

    let t = Instant::now();
    let feats: Vec<_> = decoded.par_iter().map(|d| classifier.features(&d.samples)).collect();
    println!("features (log-mel)         {}", rate(feats.len(), t.elapsed().as_secs_f64()));

    let t = Instant::now();
    let preds = classifier.predict(&feats)?;
    println!("inference (batched)        {}", rate(preds.len(), t.elapsed().as_secs_f64()));

    let t = Instant::now();
    let results = analyse_paths(&classifier, &files, |_| {});
    println!("end to end, in process     {}", rate(results.len(), t.elapsed().as_secs_f64()));

    let exe = cold_process(&files, &args.data)?;
    println!();
    crate::bench_plugin::run(&args.hit_model)?;
    crate::bench_plugin::library_load(&args.model)?;
    println!();
    crate::bench_scan::scan_bench(&args.data, &args.model, Some(&exe))?;
    println!();
    crate::bench_scan::scale_bench(10_000, &args.model)
}

/// Runs the release `drumsort classify` binary over the folder: process start, model load,
/// walk, decode, inference and JSON output, as a user would see it. Returns the binary's path.
fn cold_process(files: &[PathBuf], data: &Path) -> Result<PathBuf> {
    let status = std::process::Command::new("cargo").args(["build", "--release", "-q", "-p", "drumsort"]).status()?;
    if !status.success() {
        bail!("building the drumsort binary failed");
    }
    let exe = PathBuf::from("target/release/drumsort");
    let t = Instant::now();
    let out = std::process::Command::new(&exe).args(["classify", "--format", "jsonl"]).arg(data).output()?;
    let secs = t.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!("drumsort classify failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let lines = String::from_utf8_lossy(&out.stdout).lines().count();
    println!("drumsort classify, cold    {}  ({lines} records, {:.2} s wall)", rate(files.len(), secs), secs);
    Ok(exe)
}
