//! `drumsort`: the command-line tool for whole drum-sample libraries.

mod curate;
mod hits;
mod library;
mod output;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use drumsort_core::analyse::{analyse_paths, AnalyseError, Analysis};
use drumsort_core::classifier::Classifier;
use drumsort_core::decode::{decode_file, DecodeOptions};
use drumsort_core::walk::{walk, Found, WalkOptions};
use drumsort_core::DrumClass;
use indicatif::{ProgressBar, ProgressStyle};
use output::{Format, Printer};
use rayon::prelude::*;
use serde_json::{json, Map, Value};

#[derive(Parser)]
#[command(name = "drumsort", version, about = "Classify and organise drum one-shots")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The inputs and output format shared by the per-file commands.
#[derive(clap::Args)]
struct Inputs {
    /// Files or folders (walked recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Descend into hidden folders too.
    #[arg(long)]
    hidden: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Print what the decoder finds in each file (format, rate, channels, duration, level).
    Info(Inputs),
    /// Name each drum one-shot: kick, snare, clap, hats, tom, cymbals, rim, cowbell, shaker,
    /// perc, or other (not a drum one-shot).
    Classify {
        #[command(flatten)]
        inputs: Inputs,
        /// Use the model in this directory instead of the built-in one.
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Bring folders into the library index: new and changed files are analysed, moved ones
    /// recognised, deleted ones marked missing. Ctrl-C keeps what is done; rerun to resume.
    Scan(library::ScanArgs),
    /// List indexed files with their class (user corrections win over the model).
    List(library::ListArgs),
    /// Set (or --clear) your own class for a sound; it survives moves and rescans.
    Relabel(library::RelabelArgs),
    /// Copy (or link) every classified sound into one folder per class, with a manifest. Never
    /// touches the sources; re-running places only what is new.
    Organize(curate::OrganizeArgs),
    /// The sounds nearest to a sound by the model's embedding, with distances.
    Similar(curate::SimilarArgs),
    /// Byte-identical copies and near-duplicates (re-encoded, resampled, trimmed, other gain),
    /// with the copy to keep.
    Duplicates(curate::DuplicatesArgs),
    /// One sound per kit piece that sit together, copied into a folder with an SFZ mapping each to
    /// its General MIDI note.
    Kit(curate::KitArgs),
    /// Label every hit of a drum track (kick, snare, hats, ...) with the plugin's real-time path
    /// and write them as CSV, JSON or a MIDI file.
    Hits(hits::HitsArgs),
}

/// Walks the inputs; problems become error records in the output.
fn find(paths: &[PathBuf], hidden: bool) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for f in walk(paths, &WalkOptions { include_hidden: hidden }) {
        match f {
            Found::Audio(p) => files.push(p),
            Found::Problem { path, message } => problems.push((path, format!("io: {message}"))),
        }
    }
    (files, problems)
}

fn progress(len: usize) -> ProgressBar {
    // indicatif hides the bar by itself when stderr is not a terminal.
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} files  {per_sec}  eta {eta}") {
        bar.set_style(style);
    }
    bar
}

fn path_str(p: &std::path::Path) -> String {
    p.to_string_lossy().into_owned()
}

fn error_record(path: &std::path::Path, error: String, class_field: bool) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("path".into(), json!(path_str(path)));
    if class_field {
        for k in ["class", "confidence", "scores", "duration_s"] {
            m.insert(k.into(), Value::Null);
        }
    }
    m.insert("error".into(), json!(error));
    m
}

/// Prints the end-of-run summary of failures on stderr.
fn summarise(total: usize, failures: &[(String, String)]) {
    if failures.is_empty() {
        return;
    }
    eprintln!("{} of {} files could not be read:", failures.len(), total);
    for (path, err) in failures.iter().take(20) {
        eprintln!("  {path}: {err}");
    }
    if failures.len() > 20 {
        eprintln!("  ... and {} more", failures.len() - 20);
    }
}

fn info(paths: &[PathBuf], format: Format, hidden: bool) -> Result<()> {
    let (files, problems) = find(paths, hidden);
    let bar = progress(files.len());
    let opts = DecodeOptions::default();
    let records: Vec<Map<String, Value>> = files
        .par_iter()
        .map(|p| {
            let r = match decode_file(p, &opts) {
                Ok(d) => {
                    let i = &d.info;
                    let mut m = Map::new();
                    m.insert("path".into(), json!(path_str(p)));
                    m.insert("format".into(), json!(i.container));
                    m.insert("codec".into(), json!(i.codec));
                    m.insert("sample_rate".into(), json!(i.sample_rate));
                    m.insert("channels".into(), json!(i.channels));
                    m.insert("bits".into(), json!(i.bits_per_sample));
                    m.insert("duration_s".into(), json!(i.duration_s));
                    m.insert("peak".into(), json!(i.peak));
                    m.insert("rms".into(), json!(i.rms));
                    m.insert("warnings".into(), json!(d.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>()));
                    m.insert("error".into(), Value::Null);
                    m
                }
                Err(e) => error_record(p, format!("{}: {e}", e.kind()), false),
            };
            bar.inc(1);
            r
        })
        .collect();
    bar.finish_and_clear();
    let columns =
        vec!["path", "format", "codec", "sample_rate", "channels", "bits", "duration_s", "peak", "warnings", "error"];
    let mut printer = Printer::new(format, columns);
    let mut failures = Vec::new();
    for (path, err) in problems {
        failures.push((path_str(&path), err.clone()));
        printer.record(error_record(&path, err, false))?;
    }
    for r in records {
        if let Some(Value::String(e)) = r.get("error") {
            failures.push((r["path"].as_str().unwrap_or_default().to_string(), e.clone()));
        }
        printer.record(r)?;
    }
    printer.finish()?;
    summarise(files.len(), &failures);
    Ok(())
}

fn classify_record(path: &std::path::Path, r: &Result<Analysis, AnalyseError>) -> Map<String, Value> {
    match r {
        Ok(a) => {
            let p = &a.prediction;
            let scores: Map<String, Value> = DrumClass::ALL
                .iter()
                .map(|c| (c.as_str().to_string(), json!((p.scores[c.index()] * 1e4).round() / 1e4)))
                .collect();
            let mut m = Map::new();
            m.insert("path".into(), json!(path_str(path)));
            m.insert("class".into(), json!(p.class.as_str()));
            m.insert("confidence".into(), json!((p.confidence * 1e4).round() / 1e4));
            m.insert("scores".into(), Value::Object(scores));
            m.insert("duration_s".into(), json!(a.info.duration_s.map(|d| (d * 1e4).round() / 1e4)));
            m.insert("error".into(), Value::Null);
            m
        }
        Err(e) => error_record(path, format!("{}: {e}", e.kind()), true),
    }
}

fn classify(paths: &[PathBuf], format: Format, hidden: bool, model: Option<PathBuf>) -> Result<()> {
    let classifier = match &model {
        Some(dir) => Classifier::from_dir(dir).with_context(|| format!("loading model from {}", dir.display()))?,
        None => Classifier::shipped().context("loading the built-in model")?,
    };
    let (files, problems) = find(paths, hidden);
    let bar = progress(files.len());
    let results = analyse_paths(&classifier, &files, |n| bar.inc(n as u64));
    bar.finish_and_clear();
    let mut columns = vec!["path", "class", "confidence", "duration_s", "error"];
    if format == Format::Csv {
        columns.truncate(4);
        columns.extend(DrumClass::ALL.iter().map(|c| match c {
            DrumClass::Kick => "scores.kick",
            DrumClass::Snare => "scores.snare",
            DrumClass::Clap => "scores.clap",
            DrumClass::ClosedHat => "scores.closed_hat",
            DrumClass::OpenHat => "scores.open_hat",
            DrumClass::Tom => "scores.tom",
            DrumClass::Crash => "scores.crash",
            DrumClass::Ride => "scores.ride",
            DrumClass::Rim => "scores.rim",
            DrumClass::Cowbell => "scores.cowbell",
            DrumClass::Shaker => "scores.shaker",
            DrumClass::Perc => "scores.perc",
            DrumClass::Other => "scores.other",
        }));
        columns.push("error");
    }
    let mut printer = Printer::new(format, columns);
    let mut failures = Vec::new();
    for (path, err) in problems {
        failures.push((path_str(&path), err.clone()));
        printer.record(error_record(&path, err, true))?;
    }
    for (path, r) in files.iter().zip(&results) {
        if let Err(e) = r {
            failures.push((path_str(path), format!("{}: {e}", e.kind())));
        }
        printer.record(classify_record(path, r))?;
    }
    printer.finish()?;
    summarise(files.len(), &failures);
    Ok(())
}

fn main() -> Result<()> {
    drumsort_core::pin_compute_threads(drumsort_core::Compute::AcrossBatches);
    let cli = Cli::parse();
    match cli.command {
        Command::Info(i) => info(&i.paths, i.format, i.hidden),
        Command::Classify { inputs: i, model } => classify(&i.paths, i.format, i.hidden, model),
        Command::Scan(args) => library::scan(args),
        Command::List(args) => library::list(args),
        Command::Relabel(args) => library::relabel(args),
        Command::Organize(args) => curate::organize(args),
        Command::Similar(args) => curate::similar(args),
        Command::Duplicates(args) => curate::duplicates(args),
        Command::Kit(args) => curate::kit(args),
        Command::Hits(args) => hits::run(args),
    }
}
