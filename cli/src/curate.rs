//! `drumsort organize`, `similar`, `duplicates` and `kit`: the library put to use. The work is in
//! `drumsort_core::library`; this file parses arguments and prints.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use drumsort_core::analyse::analyse_paths;
use drumsort_core::classifier::{Classifier, ModelError};
use drumsort_core::index::Entry;
use drumsort_core::library::organize::{Action, Mode, OrganizeOptions};
use drumsort_core::library::{duplicates, kit, organize, similar};
use drumsort_core::walk::{walk, Found, WalkOptions};
use drumsort_core::DrumClass;
use serde_json::{json, Map, Value};

use crate::library::{open, DbArg};
use crate::output::{Format, Printer};

/// How `organize` puts a sound in its class folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    Copy,
    Hardlink,
    Symlink,
}

/// `drumsort organize`.
#[derive(Debug, clap::Args)]
pub struct OrganizeArgs {
    /// Output folder: one subfolder per class is made in it, plus drumsort-manifest.json.
    #[arg(long, value_name = "DIR")]
    pub into: PathBuf,
    /// Copy the files, hard-link them (same disk, no extra space) or symlink them.
    #[arg(long, value_enum, default_value_t = ModeArg::Copy)]
    pub mode: ModeArg,
    /// Print what would be placed where; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Allow an output folder inside a scanned folder (its copies would be scanned as new sounds).
    #[arg(long)]
    pub allow_inside_root: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub db: DbArg,
}

/// `drumsort similar`.
#[derive(Debug, clap::Args)]
pub struct SimilarArgs {
    /// The sound to match: an indexed file, or any audio file (analysed now).
    pub path: PathBuf,
    /// How many neighbours to list.
    #[arg(short = 'n', long, default_value_t = 10)]
    pub n: usize,
    /// Only neighbours of this class.
    #[arg(long)]
    pub class: Option<DrumClass>,
    /// Model for a file not in the index (must be the one the index was scanned with).
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub db: DbArg,
}

/// `drumsort duplicates`.
#[derive(Debug, clap::Args)]
pub struct DuplicatesArgs {
    /// Only byte-identical copies (no decoding).
    #[arg(long)]
    pub identical_only: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub db: DbArg,
}

/// `drumsort kit`.
#[derive(Debug, clap::Args)]
pub struct KitArgs {
    /// Pick sounds in the character of this one (indexed or not).
    #[arg(long, value_name = "PATH", conflicts_with = "from")]
    pub like: Option<PathBuf>,
    /// Build the kit from any folder of sounds instead of the index: per piece, the file the model
    /// scores highest for it.
    #[arg(long, value_name = "DIR")]
    pub from: Option<PathBuf>,
    /// Folder to write the samples and the SFZ into (files already there are never replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Kit name (the SFZ file name) [default: the --out folder's name].
    #[arg(long)]
    pub name: Option<String>,
    /// Model for --from and for a --like file not in the index.
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub db: DbArg,
}

fn loader(dir: Option<&Path>) -> impl FnOnce() -> std::result::Result<Classifier, ModelError> + '_ {
    move || match dir {
        Some(d) => Classifier::from_dir(d),
        None => Classifier::shipped(),
    }
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

fn print(
    format: Format,
    columns: Vec<&'static str>,
    records: impl IntoIterator<Item = Map<String, Value>>,
) -> Result<()> {
    let mut printer = Printer::new(format, columns);
    for r in records {
        printer.record(r)?;
    }
    Ok(printer.finish()?)
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// `drumsort organize`.
pub fn organize(args: OrganizeArgs) -> Result<()> {
    let index = open(&args.db)?;
    let mode = match args.mode {
        ModeArg::Copy => Mode::Copy,
        ModeArg::Hardlink => Mode::Hardlink,
        ModeArg::Symlink => Mode::Symlink,
    };
    let opts = OrganizeOptions {
        into: args.into.clone(),
        mode,
        dry_run: args.dry_run,
        allow_inside_root: args.allow_inside_root,
    };
    let report =
        organize::organize(&index, &opts).with_context(|| format!("organizing into {}", args.into.display()))?;
    let (mut placed, mut there, mut failed) = (0, 0, 0);
    let records: Vec<_> = report
        .placements
        .iter()
        .map(|p| {
            let (action, error) = match &p.action {
                Action::Placed if args.dry_run => ("would_place", None),
                Action::Placed => ("placed", None),
                Action::AlreadyThere => ("already_there", None),
                Action::Failed(e) => ("failed", Some(e.clone())),
            };
            match &p.action {
                Action::Placed => placed += 1,
                Action::AlreadyThere => there += 1,
                Action::Failed(_) => failed += 1,
            }
            obj(json!({
                "source": p.source.to_string_lossy(), "dest": report.into.join(&p.dest).to_string_lossy(),
                "class": p.class.as_str(), "corrected": p.corrected, "action": action, "error": error,
            }))
        })
        .collect();
    print(args.format, vec!["source", "dest", "class", "action", "error"], records)?;
    let verb = if args.dry_run { "would place" } else { "placed" };
    eprintln!(
        "{verb} {placed} files ({}) in {}; {there} already there, {failed} failed, {} unclassified files left out",
        mode.as_str(),
        report.into.display(),
        report.unclassified
    );
    if let Some(m) = &report.manifest {
        eprintln!("manifest: {}", m.display());
    }
    if failed > 0 {
        bail!("{failed} files could not be placed (see the error column)");
    }
    Ok(())
}

fn entry_fields(e: &Entry) -> Map<String, Value> {
    let info = e.info.as_ref();
    obj(json!({
        "path": e.path.to_string_lossy(),
        "class": e.class().map(|c| c.as_str()),
        "duration_s": info.and_then(|i| i.duration_s).map(round4),
        "codec": info.map(|i| i.codec.clone()),
        "sample_rate": info.map(|i| i.sample_rate),
    }))
}

/// `drumsort similar`.
pub fn similar(args: SimilarArgs) -> Result<()> {
    let index = open(&args.db)?;
    let q = similar::query(&index, &args.path, loader(args.model.as_deref()))
        .with_context(|| format!("reading {}", args.path.display()))?;
    let found = similar::nearest(&index, &q, args.n, args.class)?;
    let records = found.iter().enumerate().map(|(i, n)| {
        let mut m = obj(json!({"rank": i + 1, "distance": round4(f64::from(n.distance))}));
        m.extend(entry_fields(&n.sound.entry));
        m
    });
    print(args.format, vec!["rank", "distance", "path", "class", "duration_s"], records)?;
    let how = if q.indexed { "indexed" } else { "not indexed: analysed now" };
    eprintln!("{} ({}, {how}): {} nearest by the model's embedding", q.path.display(), q.class, found.len());
    Ok(())
}

/// `drumsort duplicates`.
pub fn duplicates(args: DuplicatesArgs) -> Result<()> {
    let index = open(&args.db)?;
    let opts = duplicates::Options { near: !args.identical_only, ..duplicates::Options::default() };
    let (groups, problems) = duplicates::find(&index, &opts)?;
    let mut spare = 0;
    let mut records = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        for m in &group.members {
            spare += usize::from(!m.keep);
            let mut r = obj(json!({
                "group": g + 1, "kind": group.kind.as_str(), "keep": m.keep,
                "distance": m.distance.map(|d| round4(f64::from(d))),
            }));
            r.extend(entry_fields(&m.entry));
            records.push(r);
        }
    }
    print(
        args.format,
        vec!["group", "kind", "keep", "path", "distance", "codec", "sample_rate", "duration_s"],
        records,
    )?;
    for (path, why) in &problems {
        eprintln!("cannot fingerprint {}: {why}", path.display());
    }
    eprintln!("{} groups, {spare} files could go ({})", groups.len(), duplicates::KEEP_RULE);
    Ok(())
}

/// `drumsort kit`.
pub fn kit(args: KitArgs) -> Result<()> {
    let name = args.name.clone().unwrap_or_else(|| {
        args.out.file_name().map_or_else(|| "drumsort-kit".into(), |n| n.to_string_lossy().into_owned())
    });
    let pieces: Vec<(DrumClass, PathBuf, f32)> = match &args.from {
        Some(dir) => {
            let classifier = loader(args.model.as_deref())().context("loading the model")?;
            let files: Vec<PathBuf> = walk(std::slice::from_ref(dir), &WalkOptions::default())
                .filter_map(|f| if let Found::Audio(p) = f { Some(p) } else { None })
                .collect();
            let results = analyse_paths(&classifier, &files, |_| {});
            let (paths, scores): (Vec<&PathBuf>, Vec<[f32; DrumClass::COUNT]>) = files
                .iter()
                .zip(&results)
                .filter_map(|(p, r)| r.as_ref().ok().map(|a| (p, a.prediction.scores)))
                .unzip();
            if paths.is_empty() {
                bail!("no readable audio file under {}", dir.display());
            }
            kit::pick_by_scores(&scores).into_iter().map(|p| (p.class, paths[p.index].clone(), p.score)).collect()
        }
        None => {
            let index = open(&args.db)?;
            let like = match &args.like {
                Some(path) => Some(
                    similar::query(&index, path, loader(args.model.as_deref()))
                        .with_context(|| format!("reading {}", path.display()))?,
                ),
                None => None,
            };
            let sounds = index.sounds(|_| true)?;
            let version = match &like {
                Some(q) => Some(q.model_version.clone()),
                None => most_common(sounds.iter().filter_map(|s| s.entry.model_version.clone())),
            };
            let sounds: Vec<_> = sounds.into_iter().filter(|s| s.entry.model_version == version).collect();
            if sounds.is_empty() {
                bail!("no analysed sounds in {} by the model of --like; run drumsort scan", index.path().display());
            }
            let anchor = like.as_ref().map(|q| (q.embedding.as_slice(), q.class));
            kit::pick_from_index(&sounds, anchor)
                .into_iter()
                .map(|p| (p.class, sounds[p.index].entry.path.clone(), p.score))
                .collect()
        }
    };
    let (sfz, written) = kit::write_kit(&args.out, &name, &pieces).context("writing the kit")?;
    let records = written.iter().map(|w| {
        obj(json!({
            "piece": w.class.as_str(), "note": w.note, "file": args.out.join(&w.file).to_string_lossy(),
            "source": w.source.to_string_lossy(), "score": round4(f64::from(w.score)),
        }))
    });
    print(args.format, vec!["piece", "note", "file", "source", "score"], records)?;
    let missing: Vec<&str> =
        kit::PIECES.iter().filter(|c| !written.iter().any(|w| w.class == **c)).map(|c| c.as_str()).collect();
    eprintln!("kit {} with {} pieces: {}", name, written.len(), sfz.display());
    if !missing.is_empty() {
        eprintln!("no sound for: {}", missing.join(", "));
    }
    Ok(())
}

fn most_common(items: impl Iterator<Item = String>) -> Option<String> {
    let mut counts = std::collections::BTreeMap::new();
    for i in items {
        *counts.entry(i).or_insert(0usize) += 1;
    }
    counts.into_iter().max_by_key(|(_, n)| *n).map(|(v, _)| v)
}
