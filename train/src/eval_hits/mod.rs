//! `cargo xtask eval-hits --data DIR [--data DIR2 ...]`: how well the real-time hit path labels
//! annotated drum tracks. DIR holds `NAME.wav` + `NAME.csv` (`time_s,class[,kit]`) pairs, as
//! `cargo xtask make-performances` writes them. Reports onset precision / recall / F1, per-class precision
//! / recall / F1 (a hit's class counts when it matches an annotation of that class within the
//! tolerance) and the timing error of matched onsets; with several sets, each set's report and then
//! the F1 side by side with the mean over sets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use drumsort_core::classifier::Classifier;
use drumsort_core::decode::{decode_file, DecodeOptions};
use drumsort_core::hits::{label_track, HitConfig};
use drumsort_core::onset::{detect_all, parse_gate_dbfs, OnsetConfig, GATE_DBFS};
use drumsort_core::DrumClass;
use serde::Serialize;

mod lookaheads;
mod report;
#[cfg(test)]
mod tests;

use report::{print_by_kit, print_side_by_side, report};

/// A hit matches an annotation within this many seconds by default.
pub const DEFAULT_TOLERANCE_S: f64 = 0.03;

/// Annotations closer than this are one onset (sounds struck together), seconds.
const SAME_ONSET_S: f64 = 0.005;

/// Options of `cargo xtask eval-hits`.
#[derive(Debug, clap::Args)]
pub struct EvalHitsArgs {
    /// Folder of NAME.wav + NAME.csv pairs. Repeat it to score several track sets (e.g. played
    /// with different `make-performances` seeds): each is reported, then their F1 side by side
    /// with the mean over sets.
    #[arg(long, default_value = "target/performances")]
    pub data: Vec<PathBuf>,
    /// A hit matches an annotation within this many milliseconds.
    #[arg(long, default_value_t = DEFAULT_TOLERANCE_S * 1000.0)]
    pub tolerance_ms: f64,
    /// Write the figures as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Model directory (drumsort.safetensors + drumsort.json); the shipped hit model by default.
    #[arg(long, default_value = "assets/hit-model")]
    pub model: PathBuf,
    /// Lookahead of the hit path, milliseconds. Several, comma-separated (`20,30,50`): every
    /// set is scored at each, then the pooled F1 side by side, one column per lookahead.
    #[arg(long, value_delimiter = ',', default_value = "50")]
    pub lookahead_ms: Vec<f32>,
    /// Cut each window to exactly the lookahead, even below the onset detector's delay (where the
    /// plugin and `drumsort hits` hear up to that delay, since it costs no latency): the model
    /// alone on short windows.
    #[arg(long)]
    pub exact_lookahead: bool,
    /// Onset sensitivity 0..=1.
    #[arg(long, default_value_t = 0.5)]
    pub sensitivity: f32,
    /// Quietest hit the onset detector reports, dBFS (-60 to -12).
    #[arg(long, default_value_t = GATE_DBFS, value_parser = parse_gate_dbfs, allow_negative_numbers = true)]
    pub gate_db: f32,
    /// Host block size, samples.
    #[arg(long, default_value_t = 512)]
    pub block: usize,
    /// Score the onset detector alone (no model needed; per-class figures are skipped).
    #[arg(long)]
    pub onsets_only: bool,
    /// Also list each track's missed annotations and extra onsets, the confusions by what was
    /// played, and the F1 by kit (the `kit` column `make-performances` writes).
    #[arg(long)]
    pub details: bool,
}

/// Precision, recall and F1 from counts.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Score {
    pub tp: usize,
    pub fp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Score {
    fn from_counts(tp: usize, fp: usize, fn_: usize) -> Self {
        // With nothing found (or nothing to find), a score is perfect only if the other side is
        // empty too.
        let ratio = |a: usize, b: usize, other: usize| {
            if b == 0 {
                f64::from(u8::from(other == 0))
            } else {
                a as f64 / b as f64
            }
        };
        let (precision, recall) = (ratio(tp, tp + fp, fn_), ratio(tp, tp + fn_, fp));
        let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
        Self { tp, fp, fn_, precision, recall, f1 }
    }

    pub fn add(&mut self, other: &Score) {
        *self = Self::from_counts(self.tp + other.tp, self.fp + other.fp, self.fn_ + other.fn_);
    }
}

/// Maximum matching of sorted `found` to sorted `truth` times, each pair at most `tol` apart:
/// the earliest found time takes the earliest free annotation it reaches (optimal on a line).
/// Returns the matched `(found index, truth index)` pairs.
pub fn match_times(found: &[f64], truth: &[f64], tol: f64) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    let mut next = 0;
    for (i, &f) in found.iter().enumerate() {
        while next < truth.len() && truth[next] < f - tol {
            next += 1;
        }
        if next < truth.len() && (truth[next] - f).abs() <= tol {
            pairs.push((i, next));
            next += 1;
        }
    }
    pairs
}

/// Figures for one track.
#[derive(Debug, Serialize)]
pub(crate) struct TrackResult {
    name: String,
    /// The kit of its kicks, snares and closed hats, [`SEVERAL_KITS`], or empty (see
    /// [`read_annotations`]).
    #[serde(skip_serializing_if = "String::is_empty")]
    kit: String,
    pub(crate) onsets: Score,
    /// `(found - truth)` of matched onsets, seconds.
    #[serde(skip)]
    errors: Vec<f64>,
    per_class: BTreeMap<DrumClass, Score>,
    /// Annotated onsets no hit matched, with their classes.
    missed: Vec<(f64, Vec<DrumClass>)>,
    /// Onsets found where nothing was annotated.
    extra: Vec<f64>,
    /// At matched onsets: (played class the labeller did not name, class it named instead) ->
    /// times. A played class with nothing else named counts under itself.
    #[serde(skip)]
    confusions: BTreeMap<(DrumClass, DrumClass), usize>,
    /// At matched onsets: (class named but not played, the classes played there joined by `+`)
    /// -> times: where the false notes of a class come from.
    #[serde(skip)]
    false_notes: BTreeMap<(DrumClass, String), usize>,
}

/// The kit of a track whose hits come from more than one kit.
const SEVERAL_KITS: &str = "(several kits)";

/// A track's annotations, sorted by time, and its kit: the one kit its `kit` column names for
/// its kicks, snares and closed hats (an acoustic track's kit, whatever other pieces it borrows),
/// else [`SEVERAL_KITS`], or empty (no column, as in sets made before it existed, or no names).
fn read_annotations(path: &Path) -> Result<(Vec<(f64, DrumClass)>, String)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    let mut kits = std::collections::BTreeSet::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let mut cells = line.splitn(3, ',');
        let (Some(t), Some(c)) = (cells.next(), cells.next()) else {
            bail!("{}:{}: expected time_s,class[,kit]", path.display(), i + 1);
        };
        let t: f64 = t.trim().parse().with_context(|| format!("{}:{}: bad time", path.display(), i + 1))?;
        let c: DrumClass = c.trim().parse().with_context(|| format!("{}:{}", path.display(), i + 1))?;
        out.push((t, c));
        let kit = cells.next().unwrap_or("").trim();
        if matches!(c, DrumClass::Kick | DrumClass::Snare | DrumClass::ClosedHat) && !kit.is_empty() {
            kits.insert(kit.to_string());
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    let kit = match kits.len() {
        0 => String::new(),
        1 => kits.pop_first().unwrap_or_default(),
        _ => SEVERAL_KITS.to_string(),
    };
    Ok((out, kit))
}

/// Distinct onset times of sorted annotations (sounds within [`SAME_ONSET_S`] are one onset).
fn onset_times(ann: &[(f64, DrumClass)]) -> Vec<f64> {
    let mut out: Vec<f64> = Vec::new();
    for &(t, _) in ann {
        if out.last().is_none_or(|&l| t - l > SAME_ONSET_S) {
            out.push(t);
        }
    }
    out
}

pub(crate) fn score_track(
    name: String,
    truth: &[(f64, DrumClass)],
    found: &[(f64, Vec<DrumClass>)],
    tol: f64,
    classes: bool,
) -> TrackResult {
    let truth_onsets = onset_times(truth);
    let found_onsets: Vec<f64> = found.iter().map(|f| f.0).collect();
    let pairs = match_times(&found_onsets, &truth_onsets, tol);
    let onsets = Score::from_counts(pairs.len(), found_onsets.len() - pairs.len(), truth_onsets.len() - pairs.len());
    let errors = pairs.iter().map(|&(f, t)| found_onsets[f] - truth_onsets[t]).collect();
    let per_class = if classes { class_scores(truth, found, tol) } else { BTreeMap::new() };
    let (mut truth_hit, mut found_hit) = (vec![false; truth_onsets.len()], vec![false; found_onsets.len()]);
    for &(f, t) in &pairs {
        found_hit[f] = true;
        truth_hit[t] = true;
    }
    let missed = truth_onsets
        .iter()
        .zip(&truth_hit)
        .filter(|(_, &hit)| !hit)
        .map(|(&t, _)| (t, truth.iter().filter(|a| (a.0 - t).abs() <= SAME_ONSET_S).map(|a| a.1).collect()))
        .collect();
    let extra = found_onsets.iter().zip(&found_hit).filter(|(_, &hit)| !hit).map(|(&f, _)| f).collect();
    let mut confusions = BTreeMap::new();
    let mut false_notes = BTreeMap::new();
    for &(f, t) in if classes { &pairs[..] } else { &[] } {
        let mut played: Vec<DrumClass> =
            truth.iter().filter(|a| (a.0 - truth_onsets[t]).abs() <= SAME_ONSET_S).map(|a| a.1).collect();
        played.sort();
        played.dedup();
        let named = &found[f].1;
        let instead: Vec<DrumClass> = named.iter().copied().filter(|c| !played.contains(c)).collect();
        if !instead.is_empty() {
            let played_there = played.iter().map(|c| c.as_str()).collect::<Vec<_>>().join("+");
            for &x in &instead {
                *false_notes.entry((x, played_there.clone())).or_default() += 1;
            }
        }
        for &c in played.iter().filter(|c| !named.contains(c)) {
            if instead.is_empty() {
                *confusions.entry((c, c)).or_default() += 1;
            }
            for &x in &instead {
                *confusions.entry((c, x)).or_default() += 1;
            }
        }
    }
    TrackResult { name, kit: String::new(), onsets, errors, per_class, missed, extra, confusions, false_notes }
}

/// Per drum class, found hits naming it matched to annotations of it within `tol` (classes
/// neither played nor named are left out).
pub fn class_scores(
    truth: &[(f64, DrumClass)],
    found: &[(f64, Vec<DrumClass>)],
    tol: f64,
) -> BTreeMap<DrumClass, Score> {
    let mut per_class = BTreeMap::new();
    for c in DrumClass::DRUMS {
        let t: Vec<f64> = truth.iter().filter(|a| a.1 == c).map(|a| a.0).collect();
        let f: Vec<f64> = found.iter().filter(|h| h.1.contains(&c)).map(|h| h.0).collect();
        if t.is_empty() && f.is_empty() {
            continue;
        }
        let n = match_times(&f, &t, tol).len();
        per_class.insert(c, Score::from_counts(n, f.len() - n, t.len() - n));
    }
    per_class
}

/// The whole track, mono at `rate`, from its first sample.
fn decode_track(path: &Path, rate: u32) -> Result<Vec<f32>> {
    let opts = DecodeOptions { target_rate: rate, max_seconds: 600.0, pre_roll_s: 0.0, onset_search_s: 0.0 };
    Ok(decode_file(path, &opts).with_context(|| format!("decoding {}", path.display()))?.samples)
}

/// The `NAME.wav` + `NAME.csv` pairs of a folder, sorted by name.
fn track_pairs(data: &Path) -> Result<Vec<(String, PathBuf, PathBuf)>> {
    let mut pairs: Vec<(String, PathBuf, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(data)
        .with_context(|| format!("reading {} (make it with `cargo xtask make-performances`)", data.display()))?
    {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("wav")) {
            let csv = path.with_extension("csv");
            if csv.exists() {
                let name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
                pairs.push((name, path, csv));
            }
        }
    }
    pairs.sort();
    if pairs.is_empty() {
        bail!("no NAME.wav + NAME.csv pairs in {} (make them with `cargo xtask make-performances`)", data.display());
    }
    Ok(pairs)
}

/// Onset and per-class figures of one track set.
struct SetSummary {
    /// The set's tracks' counts added up.
    pooled: TrackCounts,
    /// Each track's onset and per-class counts, for pooling over sets.
    tracks: Vec<TrackCounts>,
    json: serde_json::Value,
}

/// One track's onset and per-class counts.
#[derive(Clone, Default)]
struct TrackCounts {
    /// As in [`TrackResult`].
    kit: String,
    onsets: Score,
    per_class: BTreeMap<DrumClass, Score>,
}

impl TrackCounts {
    /// The counts of `class` (`None`: onsets); a class the track neither plays nor names has none.
    fn get(&self, class: Option<DrumClass>) -> Score {
        class.map_or(self.onsets, |c| self.per_class.get(&c).copied().unwrap_or_default())
    }

    /// F1 of onsets (`"onsets"`) and of each class the counts have.
    fn f1s(&self) -> BTreeMap<String, f64> {
        std::iter::once((key(None).to_string(), self.onsets.f1))
            .chain(self.per_class.iter().map(|(c, sc)| (key(Some(*c)).to_string(), sc.f1)))
            .collect()
    }
}

/// The name of a row of figures: `"onsets"` or the class.
fn key(class: Option<DrumClass>) -> &'static str {
    class.map_or("onsets", DrumClass::as_str)
}

/// [`f1_interval`] of onsets (`"onsets"`) and of every class some track plays or names.
fn intervals(tracks: &[TrackCounts]) -> BTreeMap<String, (f64, f64)> {
    let classes = DrumClass::DRUMS.into_iter().filter(|c| tracks.iter().any(|t| t.per_class.contains_key(c)));
    std::iter::once(None).chain(classes.map(Some)).map(|c| (key(c).to_string(), f1_interval(tracks, c))).collect()
}

/// `tracks`' counts added up.
fn pool(tracks: &[TrackCounts]) -> TrackCounts {
    let mut pooled = TrackCounts::default();
    for t in tracks {
        pooled.onsets.add(&t.onsets);
        for (c, sc) in &t.per_class {
            pooled.per_class.entry(*c).or_default().add(sc);
        }
    }
    pooled
}

/// Resamples in [`f1_interval`].
const BOOTSTRAP_ROUNDS: usize = 2000;

/// 95 % interval of the F1 pooled over `tracks` (of `class`, or of onsets), by the percentile
/// bootstrap over tracks: the tracks are drawn with replacement [`BOOTSTRAP_ROUNDS`] times and
/// each draw's counts pooled. Tracks, not hits, are the unit: a track plays one sample per class,
/// so its hits are not independent. Seeded: the same tracks always give the same interval.
fn f1_interval(tracks: &[TrackCounts], class: Option<DrumClass>) -> (f64, f64) {
    use rand::{Rng, SeedableRng};
    if tracks.is_empty() {
        return (0.0, 0.0);
    }
    let counts: Vec<Score> = tracks.iter().map(|t| t.get(class)).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut f1s: Vec<f64> = (0..BOOTSTRAP_ROUNDS)
        .map(|_| {
            let mut pooled = Score::default();
            for _ in 0..counts.len() {
                pooled.add(&counts[rng.gen_range(0..counts.len())]);
            }
            pooled.f1
        })
        .collect();
    f1s.sort_by(f64::total_cmp);
    // The draw nearest to rank q (N - 1), numpy's `nearest` percentile.
    let at = |q: f64| f1s[((q * (BOOTSTRAP_ROUNDS - 1) as f64).round() as usize).min(BOOTSTRAP_ROUNDS - 1)];
    (at(0.025), at(0.975))
}

pub fn run(args: EvalHitsArgs) -> Result<()> {
    // Every folder is checked before the (slow) scoring starts.
    let sets = args.data.iter().map(|d| track_pairs(d)).collect::<Result<Vec<_>>>()?;
    let classifier = if args.onsets_only {
        None
    } else {
        Some(
            Classifier::from_dir(&args.model)
                .with_context(|| format!("loading model from {}", args.model.display()))?,
        )
    };
    if args.lookahead_ms.is_empty() {
        bail!("--lookahead-ms needs at least one value");
    }
    let rate = classifier.as_ref().map_or(44_100, |c| c.meta().features.sample_rate);
    let mut results = Vec::new();
    for &lookahead_ms in &args.lookahead_ms {
        if args.lookahead_ms.len() > 1 {
            println!("=== lookahead {lookahead_ms} ms\n");
        }
        let cfg = HitConfig {
            lookahead_s: lookahead_ms / 1000.0,
            onset: OnsetConfig { sensitivity: args.sensitivity, gate_dbfs: args.gate_db, ..OnsetConfig::default() },
            exact_lookahead: args.exact_lookahead,
            ..HitConfig::default()
        };
        results.push((cfg, evaluate_sets(&args, classifier.as_ref(), rate, &cfg, &sets)?));
    }
    if results.len() > 1 {
        lookaheads::print(&results, rate);
    }
    if let Some(path) = &args.json {
        let json = match &results[..] {
            [(_, one)] => one.json.clone(),
            _ => serde_json::json!({ "lookaheads": results.iter().map(|(_, r)| &r.json).collect::<Vec<_>>() }),
        };
        std::fs::write(path, serde_json::to_string_pretty(&json)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Every set scored at one setting of the hit path.
pub(crate) struct Evaluated {
    /// Every track of every set.
    tracks: Vec<TrackCounts>,
    json: serde_json::Value,
}

/// Scores and reports every set at `cfg`; with several sets, their F1 side by side and pooled.
fn evaluate_sets(
    args: &EvalHitsArgs,
    classifier: Option<&Classifier>,
    rate: u32,
    cfg: &HitConfig,
    sets: &[Vec<(String, PathBuf, PathBuf)>],
) -> Result<Evaluated> {
    let tol = args.tolerance_ms / 1000.0;
    let mut summaries = Vec::new();
    for (data, pairs) in args.data.iter().zip(sets) {
        if args.data.len() > 1 {
            println!("== {}", data.display());
        }
        let results = score_set(args, classifier, rate, cfg, tol, pairs)?;
        summaries.push(report(args, cfg, data, classifier, &results));
        if args.data.len() > 1 {
            println!();
        }
    }
    let means = mean_f1(&summaries);
    // Every track of every set, pooled, with intervals (only shown for several sets).
    let all: Vec<TrackCounts> = summaries.iter().flat_map(|s| s.tracks.iter().cloned()).collect();
    let (pooled, bounds) = if summaries.len() > 1 { (pool(&all), intervals(&all)) } else { Default::default() };
    if summaries.len() > 1 {
        print_side_by_side(&args.data, &summaries, &means, &pooled, &bounds);
    }
    if args.details {
        print_by_kit(&all);
    }
    let json = match &summaries[..] {
        [one] => one.json.clone(),
        _ => serde_json::json!({
            "sets": summaries.iter().map(|s| &s.json).collect::<Vec<_>>(),
            "mean_f1": means,
            "pooled": { "tracks": all.len(), "f1": pooled.f1s(), "f1_interval_95": bounds },
        }),
    };
    Ok(Evaluated { tracks: all, json })
}

/// Runs the hit path over every track of a set and scores it.
fn score_set(
    args: &EvalHitsArgs,
    classifier: Option<&Classifier>,
    rate: u32,
    cfg: &HitConfig,
    tol: f64,
    pairs: &[(String, PathBuf, PathBuf)],
) -> Result<Vec<TrackResult>> {
    let mut results = Vec::new();
    for (name, wav, csv) in pairs {
        let (truth, kit) = read_annotations(csv)?;
        let audio = decode_track(wav, rate)?;
        let found: Vec<(f64, Vec<DrumClass>)> = match classifier {
            Some(c) => label_track(c, &audio, rate, args.block, cfg)?
                .iter()
                .map(|h| (h.seconds(rate), h.classes.iter().map(|x| x.0).collect()))
                .collect(),
            None => detect_all(&audio, rate, args.block, &cfg.onset)
                .into_iter()
                .map(|(s, _)| (s as f64 / f64::from(rate), Vec::new()))
                .collect(),
        };
        results.push(TrackResult { kit, ..score_track(name.clone(), &truth, &found, tol, classifier.is_some()) });
    }
    Ok(results)
}

/// Per class (and `"onsets"`), the mean F1 over the sets that have it.
fn mean_f1(summaries: &[SetSummary]) -> BTreeMap<String, f64> {
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for s in summaries {
        for (k, f1) in s.pooled.f1s() {
            let e = sums.entry(k).or_default();
            *e = (e.0 + f1, e.1 + 1);
        }
    }
    sums.into_iter().map(|(k, (sum, n))| (k, sum / n as f64)).collect()
}
