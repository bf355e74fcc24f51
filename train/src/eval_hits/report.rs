//! What `cargo xtask eval-hits` prints for one set (per track, onsets, timing, per class, with
//! `--details` the misses and confusions) and for several sets side by side.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use drumsort_core::classifier::Classifier;
use drumsort_core::hits::HitConfig;
use drumsort_core::DrumClass;

use super::{intervals, key, pool, EvalHitsArgs, SetSummary, TrackCounts, TrackResult};

/// F1 of onsets and of each class, one column per set, the mean over sets, and the F1 of all the
/// sets' tracks `pooled` with its 95 % interval (`bounds`, from [`intervals`]).
pub(super) fn print_side_by_side(
    data: &[PathBuf],
    summaries: &[SetSummary],
    means: &BTreeMap<String, f64>,
    pooled: &TrackCounts,
    bounds: &BTreeMap<String, (f64, f64)>,
) {
    println!("F1 per set:");
    for (i, d) in data.iter().enumerate() {
        println!("  [{}] {}", i + 1, d.display());
    }
    let header: Vec<String> = (1..=summaries.len()).map(|i| format!("{:>7}", format!("[{i}]"))).collect();
    println!("{:<12} {} {:>7} {:>7} {:>14}", "", header.join(" "), "mean", "pooled", "95% interval");
    let row = |class: Option<DrumClass>| {
        let name = key(class);
        let cells: Vec<String> = summaries
            .iter()
            .map(|s| {
                let f1 = class.map_or(Some(s.pooled.onsets.f1), |c| s.pooled.per_class.get(&c).map(|sc| sc.f1));
                f1.map_or(format!("{:>7}", "-"), |f| format!("{f:>7.3}"))
            })
            .collect();
        let (lo, hi) = bounds[name];
        println!(
            "{name:<12} {} {:>7.3} {:>7.3} {:>14}",
            cells.join(" "),
            means.get(name).copied().unwrap_or(0.0),
            pooled.get(class).f1,
            format!("[{lo:.3}, {hi:.3}]")
        );
    };
    row(None);
    for c in DrumClass::DRUMS.into_iter().filter(|c| pooled.per_class.contains_key(c)) {
        row(Some(c));
    }
    println!("(pooled: every track of every set; 95% interval: percentile bootstrap over those tracks)");
}

/// Prints one set's figures (per track, pooled onsets, timing, per class) and returns them.
pub(super) fn report(
    args: &EvalHitsArgs,
    cfg: &HitConfig,
    data: &Path,
    classifier: Option<&Classifier>,
    results: &[TrackResult],
) -> SetSummary {
    let lookahead_ms = cfg.lookahead_s * 1000.0;
    let exact = if cfg.exact_lookahead { " (exact)" } else { "" };
    let tracks: Vec<TrackCounts> = results
        .iter()
        .map(|r| TrackCounts { kit: r.kit.clone(), onsets: r.onsets, per_class: r.per_class.clone() })
        .collect();
    let pooled = pool(&tracks);
    let (onsets, per_class) = (&pooled.onsets, &pooled.per_class);
    let bounds = intervals(&tracks);
    let mut errors: Vec<f64> = Vec::new();
    let mut confusions: BTreeMap<(DrumClass, DrumClass), usize> = BTreeMap::new();
    let mut false_notes: BTreeMap<(DrumClass, String), usize> = BTreeMap::new();
    println!("{:<28} {:>6} {:>6} {:>6} {:>6} {:>6}", "track", "P", "R", "F1", "hits", "mean|dt|");
    for r in results {
        errors.extend(&r.errors);
        for (k, n) in &r.confusions {
            *confusions.entry(*k).or_default() += n;
        }
        for (k, n) in &r.false_notes {
            *false_notes.entry(k.clone()).or_default() += n;
        }
        let mean = r.errors.iter().map(|e| e.abs()).sum::<f64>() / r.errors.len().max(1) as f64;
        println!(
            "{:<28} {:>6.3} {:>6.3} {:>6.3} {:>6} {:>6.1}ms",
            r.name,
            r.onsets.precision,
            r.onsets.recall,
            r.onsets.f1,
            r.onsets.tp + r.onsets.fn_,
            mean * 1e3
        );
        if args.details {
            let missed: Vec<String> = r.missed.iter().map(|(t, c)| format!("{t:.3} {c:?}")).collect();
            let extra: Vec<String> = r.extra.iter().map(|t| format!("{t:.3}")).collect();
            println!("    missed: {}\n    extra:  {}", missed.join(", "), extra.join(", "));
        }
    }
    let mut abs: Vec<f64> = errors.iter().map(|e| e.abs() * 1e3).collect();
    abs.sort_by(f64::total_cmp);
    let mean_abs = abs.iter().sum::<f64>() / abs.len().max(1) as f64;
    let median_abs = abs.get(abs.len() / 2).copied().unwrap_or(0.0);
    let mean_signed = errors.iter().sum::<f64>() * 1e3 / errors.len().max(1) as f64;
    let model = classifier.map_or("(onsets only)".to_string(), |c| c.meta().model_version.clone());
    println!(
        "\nmodel {model}  lookahead {lookahead_ms} ms{exact}  sensitivity {}  gate {} dBFS  block {}  tolerance {} ms",
        args.sensitivity, args.gate_db, args.block, args.tolerance_ms
    );
    let (lo, hi) = bounds[key(None)];
    println!(
        "onsets: P {:.4}  R {:.4}  F1 {:.4} [{lo:.3}, {hi:.3}]  (tp {} fp {} fn {})",
        onsets.precision, onsets.recall, onsets.f1, onsets.tp, onsets.fp, onsets.fn_
    );
    println!(
        "timing: mean |error| {mean_abs:.2} ms  median |error| {median_abs:.2} ms  mean signed {mean_signed:+.2} ms"
    );
    if !per_class.is_empty() {
        println!("\n{:<12} {:>7} {:>7} {:>7} {:>14} {:>8}", "class", "P", "R", "F1", "95% interval", "support");
        for (c, s) in per_class {
            let (lo, hi) = bounds[key(Some(*c))];
            println!(
                "{:<12} {:>7.3} {:>7.3} {:>7.3} {:>14} {:>8}",
                c.as_str(),
                s.precision,
                s.recall,
                s.f1,
                format!("[{lo:.3}, {hi:.3}]"),
                s.tp + s.fn_
            );
        }
        println!("(95% interval: percentile bootstrap over this set's tracks)");
    }
    if args.details {
        print_by_class(
            "played but not named, at found onsets (what was named instead; \"-\" = only other played classes):",
            &confusions,
            |played, named| if *named == played { "-".to_string() } else { named.as_str().to_string() },
        );
        print_by_class("named but not played, at found onsets (what was played there):", &false_notes, |_, played| {
            played.clone()
        });
    }
    let json = serde_json::json!({
        "model_version": model,
        "data": data,
        "tolerance_ms": args.tolerance_ms,
        "lookahead_ms": lookahead_ms,
        "exact_lookahead": cfg.exact_lookahead,
        "sensitivity": args.sensitivity,
        "gate_dbfs": args.gate_db,
        "block": args.block,
        "onsets": onsets,
        "f1_interval_95": bounds,
        "timing_ms": { "mean_abs": mean_abs, "median_abs": median_abs, "mean_signed": mean_signed, "matched": errors.len() },
        "per_class": per_class,
        "tracks": results,
    });
    SetSummary { pooled, tracks, json }
}

/// One `--details` section: a row per drum class of `counts` (keyed by the class and what went
/// with it), each cell `label(class, key)` and its count, most frequent first; nothing when empty.
fn print_by_class<K>(heading: &str, counts: &BTreeMap<(DrumClass, K), usize>, label: impl Fn(DrumClass, &K) -> String) {
    if counts.is_empty() {
        return;
    }
    println!("\n{heading}");
    for c in DrumClass::DRUMS {
        let mut row: Vec<(String, usize)> =
            counts.iter().filter(|((x, _), _)| *x == c).map(|((_, k), &n)| (label(c, k), n)).collect();
        if row.is_empty() {
            continue;
        }
        row.sort_by_key(|r| std::cmp::Reverse(r.1));
        let cells: Vec<String> = row.iter().map(|(l, n)| format!("{l} {n}")).collect();
        println!("{:<12} {}", c.as_str(), cells.join(", "));
    }
}

/// `--details`: F1 of onsets and of the main classes over each kit's tracks (their counts pooled),
/// and snare precision, the figure a kit's bleed moves first; nothing when no track names its kit.
pub(super) fn print_by_kit(tracks: &[TrackCounts]) {
    let mut by_kit: BTreeMap<&str, Vec<TrackCounts>> = BTreeMap::new();
    for t in tracks.iter().filter(|t| !t.kit.is_empty()) {
        by_kit.entry(t.kit.as_str()).or_default().push(t.clone());
    }
    if by_kit.is_empty() {
        return;
    }
    const CLASSES: [DrumClass; 7] = [
        DrumClass::Kick,
        DrumClass::Snare,
        DrumClass::ClosedHat,
        DrumClass::OpenHat,
        DrumClass::Tom,
        DrumClass::Crash,
        DrumClass::Ride,
    ];
    let names: Vec<String> = CLASSES.iter().map(|c| format!("{:>10}", c.as_str())).collect();
    println!("\nF1 by kit (every track of the kit pooled; \"-\": not played or named):");
    println!("{:<32} {:>6} {:>7} {} {:>8}", "kit", "tracks", "onsets", names.join(" "), "snare P");
    for (kit, kit_tracks) in by_kit {
        let pooled = pool(&kit_tracks);
        let cells: Vec<String> = CLASSES
            .iter()
            .map(|c| pooled.per_class.get(c).map_or(format!("{:>10}", "-"), |s| format!("{:>10.3}", s.f1)))
            .collect();
        let snare_p =
            pooled.per_class.get(&DrumClass::Snare).map_or(format!("{:>8}", "-"), |s| format!("{:>8.3}", s.precision));
        println!("{kit:<32} {:>6} {:>7.3} {} {snare_p}", kit_tracks.len(), pooled.onsets.f1, cells.join(" "));
    }
}
