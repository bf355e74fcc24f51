//! Developer and release tasks: `cargo xtask <bundle|install|train|eval|demo|bench|fuzz|...>`.
//! Training and evaluation (`train`, `eval`, `kit-folds`, `make-performances`, `eval-hits`,
//! `tune-hits`) live in `drumsort-train`; their arms here only dispatch to it.

mod bench;
mod bench_plugin;
mod bench_scan;
mod bundle;
mod bundle_windows;
mod demo;
mod fuzz;
mod fuzz_seeds;
mod install;
mod windows_build;

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
    /// Cross-build the plugin and the CLI for 64-bit Windows (release; Debian's Rust and
    /// mingw-w64) into target/bundled-windows/, with a zip for users.
    BundleWindows(bundle_windows::BundleWindowsArgs),
    /// Train the classifier and write assets/model/ (the hit model and assets/hit-model/ with
    /// --hits-only).
    Train(Box<drumsort_train::recipe::TrainArgs>),
    /// Evaluate a model on a labelled folder.
    Eval(drumsort_train::eval::EvalArgs),
    /// Lay out a data folder whose val is one fold of the val kits and whose train is train plus
    /// the other folds' kits (symbolic links, nothing copied): what more kits would buy.
    KitFolds(drumsort_train::dataset::folds::KitFoldsArgs),
    /// Write the synthesised demo one-shots to assets/demo/.
    Demo,
    /// Write drum sounds of every class synthesised with random parameters (what `train --synth`
    /// mixes in) as a labelled folder.
    Synth(demo::SynthArgs),
    /// Print throughput figures (decode, features, inference, end to end).
    Bench(bench::BenchArgs),
    /// Write annotated drum tracks built from the validation one-shots (target/performances).
    MakePerformances(drumsort_train::performances::PerformancesArgs),
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
    EvalHits(drumsort_train::eval_hits::EvalHitsArgs),
    /// Tune the hit labeller's per-class thresholds on tracks played from the val one-shots.
    TuneHits(drumsort_train::tune_hits::TuneHitsArgs),
    /// Run the cargo-fuzz targets for a time budget each; print executions and coverage.
    Fuzz(fuzz::FuzzArgs),
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
        Command::BundleWindows(args) => bundle_windows::run(args),
        Command::Train(args) => drumsort_train::recipe::run(*args),
        Command::Eval(args) => drumsort_train::eval::run(args),
        Command::Bench(args) => bench::run(args),
        Command::BenchScaleOne { files, model } => bench_scan::scale_one(files, &model),
        Command::BenchPluginLoad { samples } => bench_plugin::load_child(samples),
        Command::KitFolds(args) => drumsort_train::dataset::folds::run(args),
        Command::Demo => demo::write_all(std::path::Path::new("assets/demo")),
        Command::Synth(args) => demo::write_varied(args),
        Command::MakePerformances(args) => drumsort_train::performances::run(args),
        Command::EvalHits(args) => drumsort_train::eval_hits::run(args),
        Command::TuneHits(args) => drumsort_train::tune_hits::run(args),
        Command::Fuzz(args) => fuzz::run(args),
    }
}
