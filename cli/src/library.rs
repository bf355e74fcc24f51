//! `drumsort scan`, `list` and `relabel`: the library index from the command line. The work is
//! done by `drumsort_core::index`; this file parses arguments, draws progress and prints.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use drumsort_core::analyse::CHUNK;
use drumsort_core::classifier::{Classifier, ModelMeta, LOW_CONFIDENCE, META_FILE};
use drumsort_core::index::{
    Entry, Index, ListFilter, Phase, Progress, Relabelled, ScanModel, ScanOptions, ScanSummary, Status,
};
use drumsort_core::walk::WalkOptions;
use drumsort_core::DrumClass;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Map, Value};

use crate::output::{Format, Printer};

/// Which index file to use; shared by every library command.
#[derive(Debug, clap::Args)]
pub struct DbArg {
    /// Library index file [default: $DRUMSORT_DB, else library.sqlite in the platform data folder].
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

/// `drumsort scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Folders (walked recursively) or files to bring into the index.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub db: DbArg,
    /// Descend into hidden folders too.
    #[arg(long)]
    pub hidden: bool,
    /// Use the model in this directory instead of the built-in one.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Also print the summary as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Files analysed and committed together: the most a Ctrl-C or a kill can lose.
    #[arg(long, default_value_t = CHUNK, hide = true)]
    pub batch_size: usize,
}

/// `drumsort list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only files of this class (the user's correction if there is one, else the model's).
    #[arg(long)]
    pub class: Option<DrumClass>,
    /// Only files whose path contains this text (case-insensitive).
    #[arg(long)]
    pub query: Option<String>,
    /// Only files that could not be read (or are not analysed yet).
    #[arg(long)]
    pub errors: bool,
    /// List files that have disappeared from disk instead of the present ones.
    #[arg(long)]
    pub missing: bool,
    /// Only labels the model is at least this sure of (0-1); your corrections count as 1.
    #[arg(long, value_name = "X", value_parser = unit_interval)]
    pub min_confidence: Option<f32>,
    /// Only labels to check: the model's confidence is below X (0-1). Corrected files, and files
    /// without a class, are left out.
    #[arg(long, value_name = "X", value_parser = unit_interval, conflicts_with = "check")]
    pub below: Option<f32>,
    /// Only labels to check: the ones the table marks with `?` (same as --below 0.5).
    #[arg(long)]
    pub check: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub db: DbArg,
}

/// A confidence bound: a number from 0 to 1.
fn unit_interval(s: &str) -> Result<f32, String> {
    let x: f32 = s.trim().parse().map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=1.0).contains(&x) {
        Ok(x)
    } else {
        Err(format!("{x} is outside 0..1 (confidence is a score from 0 to 1)"))
    }
}

/// `drumsort relabel`.
#[derive(Debug, clap::Args)]
pub struct RelabelArgs {
    /// The sound file (its content is what gets the label: copies and moved files share it).
    pub path: PathBuf,
    /// The class to give it.
    #[arg(required_unless_present = "clear")]
    pub class: Option<DrumClass>,
    /// Remove the correction: the model's class applies again.
    #[arg(long, conflicts_with = "class")]
    pub clear: bool,
    #[command(flatten)]
    pub db: DbArg,
}

/// Opens the index and tells the user if a broken or too-new file had to be moved aside.
pub(crate) fn open(db: &DbArg) -> Result<Index> {
    let index = Index::open_default(db.db.as_deref()).context("opening the library index")?;
    if let Some(aside) = index.set_aside() {
        eprintln!("warning: {aside}");
    }
    Ok(index)
}

/// The model to analyse with, loaded only if some file needs analysis (an unchanged rescan
/// never loads weights).
fn scan_model(dir: Option<&Path>) -> Result<ScanModel<'_>> {
    Ok(match dir {
        Some(dir) => {
            let meta_path = dir.join(META_FILE);
            let text =
                std::fs::read_to_string(&meta_path).with_context(|| format!("reading {}", meta_path.display()))?;
            let meta: ModelMeta =
                serde_json::from_str(&text).with_context(|| format!("parsing {}", meta_path.display()))?;
            ScanModel::lazy(meta.model_version, move || Classifier::from_dir(dir))
        }
        None => {
            let meta: ModelMeta =
                serde_json::from_str(drumsort_core::shipped::META).context("the built-in model's metadata")?;
            ScanModel::lazy(meta.model_version, Classifier::shipped)
        }
    })
}

/// Progress on stderr: a counter while walking, then a bar with files/s and ETA. indicatif draws
/// nothing when stderr is not a terminal.
struct Bar {
    bar: ProgressBar,
    /// When analysis started (the rate counts analysed files only).
    analysing: Option<std::time::Instant>,
}

impl Bar {
    fn new() -> Self {
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} finding files: {pos}") {
            bar.set_style(style);
        }
        Self { bar, analysing: None }
    }

    fn update(&mut self, p: &Progress) {
        if p.phase == Phase::Analysing {
            let started = *self.analysing.get_or_insert_with(|| {
                if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} files  {msg}  eta {eta}") {
                    self.bar.set_style(style);
                }
                self.bar.set_length(p.total.unwrap_or(0) as u64);
                self.bar.reset();
                std::time::Instant::now()
            });
            let rate = p.done as f64 / started.elapsed().as_secs_f64().max(1e-3);
            self.bar.set_message(format!("{rate:.0} files/s"));
        }
        self.bar.set_position(p.done as u64);
    }
}

fn summary_line(s: &ScanSummary) -> String {
    let rate = s.files as f64 / s.seconds.max(1e-9);
    let mut line = format!(
        "scanned {} files in {:.2} s ({rate:.0} files/s): {} new, {} changed, {} unchanged, {} moved, {} missing, {} errors",
        s.files, s.seconds, s.new, s.changed, s.unchanged, s.moved, s.missing, s.errors
    );
    if s.reanalysed > 0 {
        line += &format!(", {} re-analysed by a new model", s.reanalysed);
    }
    if s.resumed > 0 {
        line += &format!(", {} resumed", s.resumed);
    }
    line
}

fn summary_json(s: &ScanSummary, index: &Index) -> Value {
    let problems: Vec<Value> =
        s.problems.iter().map(|(p, m)| json!({"path": p.to_string_lossy(), "message": m})).collect();
    json!({
        "db": index.path().to_string_lossy(),
        "files": s.files, "new": s.new, "changed": s.changed, "unchanged": s.unchanged, "moved": s.moved,
        "missing": s.missing, "errors": s.errors, "reanalysed": s.reanalysed, "resumed": s.resumed,
        "analysed": s.analysed, "interrupted": s.interrupted, "pending": s.pending, "seconds": s.seconds,
        "problems": problems,
    })
}

/// `drumsort scan`: Ctrl-C stops after the batch in flight (a second one quits at once); either
/// way the next scan resumes where this one stopped.
pub fn scan(args: ScanArgs) -> Result<()> {
    let mut index = open(&args.db)?;
    let mut model = scan_model(args.model.as_deref())?;
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nstopping after the current batch (Ctrl-C again to quit now)");
    })
    .context("installing the Ctrl-C handler")?;
    let opts = ScanOptions {
        walk: WalkOptions { include_hidden: args.hidden },
        batch_size: args.batch_size,
        cancel: Some(cancel),
    };
    let mut bar = Bar::new();
    let result = index.scan(&args.paths, &mut model, &opts, |p| bar.update(p));
    bar.bar.finish_and_clear();
    let summary = result.with_context(|| format!("scanning into {}", index.path().display()))?;

    for (path, message) in summary.problems.iter().take(20) {
        eprintln!("cannot read {}: {message}", path.display());
    }
    if summary.problems.len() > 20 {
        eprintln!("... and {} more unreadable entries", summary.problems.len() - 20);
    }
    eprintln!("{}", summary_line(&summary));
    if summary.errors > 0 {
        eprintln!("see the unreadable files with: drumsort list --errors --db {}", index.path().display());
    }
    if args.json {
        println!("{}", summary_json(&summary, &index));
    }
    if summary.interrupted {
        eprintln!("interrupted: {} files not analysed yet; run the same scan again to finish", summary.pending);
        drop(index);
        std::process::exit(130);
    }
    Ok(())
}

/// CSV columns for the scores, in model order (`Printer` takes static names).
const SCORE_COLUMNS: [&str; DrumClass::COUNT] = [
    "scores.kick",
    "scores.snare",
    "scores.clap",
    "scores.closed_hat",
    "scores.open_hat",
    "scores.tom",
    "scores.crash",
    "scores.ride",
    "scores.rim",
    "scores.cowbell",
    "scores.shaker",
    "scores.perc",
    "scores.other",
];

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// The confidence `list` shows and filters by: 1 for a user's correction, else the model's
/// score of its class; `None` for a file without a class (unreadable, not analysed yet).
fn confidence(e: &Entry) -> Option<f32> {
    match (&e.correction, &e.prediction) {
        (Some(_), _) => Some(1.0),
        (None, Some(p)) => Some(p.confidence),
        (None, None) => None,
    }
}

/// Whether a label is worth checking: the model's, and below [`LOW_CONFIDENCE`].
fn low_confidence(e: &Entry) -> bool {
    e.correction.is_none() && e.prediction.as_ref().is_some_and(|p| p.confidence < LOW_CONFIDENCE)
}

/// The `drumsort classify` record of an indexed file, plus `corrected`, `missing` and
/// `low_confidence`. A corrected file shows the user's class with confidence 1 (the scores stay
/// the model's).
fn record(e: &Entry) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("path".into(), json!(e.path.to_string_lossy()));
    m.insert("class".into(), json!(e.class().map(|c| c.as_str())));
    m.insert("confidence".into(), confidence(e).map_or(Value::Null, |c| json!(round4(f64::from(c)))));
    let scores = e.prediction.as_ref().map(|p| {
        let s: Map<String, Value> = DrumClass::ALL
            .iter()
            .map(|c| (c.as_str().to_string(), json!(round4(f64::from(p.scores[c.index()])))))
            .collect();
        Value::Object(s)
    });
    m.insert("scores".into(), scores.unwrap_or(Value::Null));
    m.insert("duration_s".into(), json!(e.info.as_ref().and_then(|i| i.duration_s).map(round4)));
    let error = match (&e.error, e.status) {
        (Some(err), _) => json!(format!("{}: {}", err.kind, err.message)),
        (None, Status::Pending) => json!("pending: not analysed yet (run drumsort scan again)"),
        (None, _) => Value::Null,
    };
    m.insert("error".into(), error);
    m.insert("corrected".into(), json!(e.correction.is_some()));
    m.insert("missing".into(), json!(e.missing));
    m.insert("low_confidence".into(), json!(low_confidence(e)));
    m
}

/// `drumsort list`.
pub fn list(args: ListArgs) -> Result<()> {
    let index = open(&args.db)?;
    let filter = ListFilter { class: args.class, query: args.query, errors: args.errors, missing: args.missing };
    let below = if args.check { Some(LOW_CONFIDENCE) } else { args.below };
    let bounded = args.min_confidence.is_some() || below.is_some();
    let shown = |e: &Entry| match confidence(e) {
        Some(c) => args.min_confidence.is_none_or(|min| c >= min) && below.is_none_or(|max| c < max),
        None => !bounded,
    };
    let table = args.format == Format::Table;
    let columns = match args.format {
        Format::Csv => {
            let mut c = vec!["path", "class", "confidence", "duration_s"];
            c.extend(SCORE_COLUMNS);
            c.extend(["error", "corrected", "missing", "low_confidence"]);
            c
        }
        _ => vec!["path", "class", "confidence", "corrected", "duration_s", "error"],
    };
    let mut printer = Printer::new(args.format, columns);
    let (mut n, mut marked) = (0usize, 0usize);
    let listed = index.for_each_entry(&filter, |e| -> Result<()> {
        if !shown(&e) {
            return Ok(());
        }
        n += 1;
        let mut r = record(&e);
        // The table marks a label to check with `?` after the class; JSON and CSV keep the class
        // clean and say it in `low_confidence`.
        if table && low_confidence(&e) {
            marked += 1;
            if let Some(Value::String(class)) = r.get_mut("class") {
                class.push('?');
            }
        }
        printer.record(r)?;
        Ok(())
    });
    match listed.and_then(|()| Ok(printer.finish()?)) {
        // `drumsort list | head`: the reader has all it wants.
        Err(e) if e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) => {
            return Ok(())
        }
        other => other?,
    }
    if marked > 0 && below.is_none() {
        eprintln!(
            "{marked} labels marked ? (the model's confidence is below {LOW_CONFIDENCE}): list only those with \
             `drumsort list --check`, fix one with `drumsort relabel FILE CLASS`"
        );
    }
    if n == 0 && index.roots()?.is_empty() {
        eprintln!("the library index {} is empty: run `drumsort scan FOLDER` first", index.path().display());
    }
    Ok(())
}

/// `drumsort relabel`.
pub fn relabel(args: RelabelArgs) -> Result<()> {
    let mut index = open(&args.db)?;
    let class = if args.clear { None } else { args.class };
    let outcome =
        index.set_correction(&args.path, class).with_context(|| format!("relabelling {}", args.path.display()))?;
    let model_class = index.entry(&args.path)?.and_then(|e| e.prediction).map(|p| p.class);
    let (path, note) = match &outcome {
        Relabelled::Indexed(p) => (p, String::new()),
        Relabelled::NotIndexed(p) => (p, " (not scanned yet: applies once a scan finds it)".to_string()),
    };
    let model = model_class.map(|c| format!("; the model says {c}")).unwrap_or_default();
    match class {
        Some(c) => eprintln!("{}: {c}{model}{note}", path.display()),
        None => eprintln!("{}: correction cleared{model}{note}", path.display()),
    }
    Ok(())
}
