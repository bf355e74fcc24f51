//! Developer and release tasks: `cargo xtask <bundle|install|train|eval|demo|bench|fuzz>`.

mod bench;
mod bench_plugin;
mod bench_scan;
mod bundle;
mod confusion_png;
mod demo;
mod eval;
mod eval_hits;
mod eval_report;
mod folder;
mod fuzz;
mod fuzz_seeds;
mod install;
mod performances;
mod train;
mod tune_hits;

use anyhow::Result;
use clap::{Parser, Subcommand};
use drumsort_core::Compute;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Drumsort developer tasks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Bundle the plugin (release) and copy it into ~/.clap and ~/.vst3.
    Install,
    /// Train the classifier and write assets/model/ (the hit model and assets/hit-model/ with
    /// --hits-only).
    Train(train::TrainArgs),
    /// Evaluate a model on a labelled folder.
    Eval(eval::EvalArgs),
    /// Write the synthesised demo one-shots to assets/demo/.
    Demo,
    /// Print throughput figures (decode, features, inference, end to end).
    Bench(bench::BenchArgs),
    /// Write annotated drum tracks built from the validation one-shots (target/performances).
    MakePerformances(performances::PerformancesArgs),
    /// Child process of `bench --scale`: one scan of the generated library, prints its figures.
    #[command(hide = true)]
    BenchScaleOne {
        #[arg(long)]
        files: usize,
        #[arg(long)]
        model: std::path::PathBuf,
    },
    /// Child process of `bench`: the plugin's library load against the index in DRUMSORT_DB.
    #[command(hide = true)]
    BenchPluginLoad {
        #[arg(long)]
        samples: usize,
    },
    /// Score the hit path (onsets, classes, timing) on annotated drum tracks.
    EvalHits(eval_hits::EvalHitsArgs),
    /// Tune the hit labeller's per-class thresholds on tracks played from the val one-shots.
    TuneHits(tune_hits::TuneHitsArgs),
    /// Run the cargo-fuzz targets for a time budget each; print executions and coverage.
    Fuzz(fuzz::FuzzArgs),
}

/// Hex SHA-256 of some bytes (model versions).
pub fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn main() -> Result<()> {
    // Training runs one graph at a time; every other task classifies batches in parallel.
    let training = std::env::args().nth(1).is_some_and(|a| a == "train");
    drumsort_core::pin_compute_threads(if training { Compute::InsideOps } else { Compute::AcrossBatches });
    // `bundle` and `bundle-universal` belong to nice-plug-xtask, which parses its own arguments.
    if std::env::args().nth(1).is_some_and(|a| bundle::handles(&a)) {
        return bundle::run_nice_plug_xtask();
    }
    // Tasks read ../shared and write assets/ relative to the workspace root.
    std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))?;
    match Cli::parse().command {
        Command::Install => install::run(),
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Bench(args) => bench::run(args),
        Command::BenchScaleOne { files, model } => bench_scan::scale_one(files, &model),
        Command::BenchPluginLoad { samples } => bench_plugin::load_child(samples),
        Command::Demo => demo::write_all(std::path::Path::new("assets/demo")),
        Command::MakePerformances(args) => performances::run(args),
        Command::EvalHits(args) => eval_hits::run(args),
        Command::TuneHits(args) => tune_hits::run(args),
        Command::Fuzz(args) => fuzz::run(args),
    }
}
