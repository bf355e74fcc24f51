//! `drumsort hits FILE`: labels every hit of a drum track with the plugin's real-time path
//! (onset detection, lookahead window, classifier) run offline in host-sized blocks, and writes
//! the hits as CSV, JSON or a standard MIDI file.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use drumsort_core::classifier::Classifier;
use drumsort_core::decode::{decode_file, DecodeOptions};
use drumsort_core::hits::{label_track, Hit, HitConfig, MAX_LOOKAHEAD_S, MIN_LOOKAHEAD_S};
use drumsort_core::midi_file::{hits_to_smf, SmfOptions};
use drumsort_core::onset::{parse_gate_dbfs, OnsetConfig, GATE_DBFS};
use serde_json::json;

/// The longest track the decoder reads whole, seconds (its `max_seconds` limit).
const MAX_TRACK_S: f32 = 600.0;

/// What `drumsort hits` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum HitsFormat {
    /// `time_s,class,velocity,confidence`, one row per class of each hit.
    Csv,
    /// A JSON array of the same rows.
    Json,
    /// A standard MIDI file: GM drum notes on channel 10, 120 bpm, 480 ticks per beat.
    Mid,
}

/// Options of `drumsort hits`.
#[derive(Debug, clap::Args)]
pub struct HitsArgs {
    /// Audio file of a drum track (WAV, AIFF, FLAC, MP3, Ogg), up to 10 minutes.
    pub file: PathBuf,
    /// Output format; by default taken from --out's extension (.mid/.midi, .json), else CSV.
    #[arg(long, value_enum)]
    pub format: Option<HitsFormat>,
    /// Write here instead of standard output (required for MIDI).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Audio after each onset the classifier hears, milliseconds (20 to 100).
    #[arg(long, default_value_t = 50.0, value_parser = parse_lookahead)]
    pub lookahead_ms: f32,
    /// Onset sensitivity, 0 to 1: higher finds softer hits.
    #[arg(long, default_value_t = 0.5, value_parser = parse_unit)]
    pub sensitivity: f32,
    /// Quietest hit, dBFS (RMS just after its onset, -60 to -12): raise it above the hiss or
    /// bleed of a noisy recording, which otherwise makes false hits between the real ones.
    #[arg(long, default_value_t = GATE_DBFS, value_parser = parse_gate_dbfs, allow_negative_numbers = true)]
    pub gate_db: f32,
    /// Block size the track is processed in, samples (as a host would call the plugin).
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub block: u32,
    /// Use the model in this directory instead of the built-in hit model.
    #[arg(long)]
    pub model: Option<PathBuf>,
}

fn parse_lookahead(s: &str) -> Result<f32, String> {
    let v: f32 = s.parse().map_err(|e| format!("{e}"))?;
    let (lo, hi) = (MIN_LOOKAHEAD_S * 1000.0, MAX_LOOKAHEAD_S * 1000.0);
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(format!("must be between {lo} and {hi} ms"))
    }
}

fn parse_unit(s: &str) -> Result<f32, String> {
    let v: f32 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err("must be between 0 and 1".into())
    }
}

/// The format asked for, or the one --out's extension names, or CSV.
fn format_for(args: &HitsArgs) -> HitsFormat {
    if let Some(f) = args.format {
        return f;
    }
    let ext = args.out.as_deref().and_then(Path::extension).and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("mid" | "midi" | "smf") => HitsFormat::Mid,
        Some("json") => HitsFormat::Json,
        _ => HitsFormat::Csv,
    }
}

/// One output row per class of each hit: `(time_s, class, velocity, confidence)`.
fn rows(hits: &[Hit], sample_rate: u32, offset_s: f64) -> Vec<(f64, &'static str, u8, f32)> {
    hits.iter()
        .flat_map(|h| {
            let t = offset_s + h.seconds(sample_rate);
            h.classes.iter().map(move |&(c, s)| (t, c.as_str(), h.velocity, s))
        })
        .collect()
}

fn render(format: HitsFormat, hits: &[Hit], sample_rate: u32, offset_s: f64) -> Result<Vec<u8>> {
    let rows = rows(hits, sample_rate, offset_s);
    Ok(match format {
        HitsFormat::Csv => {
            let mut out = String::from("time_s,class,velocity,confidence\n");
            for (t, c, v, s) in rows {
                out.push_str(&format!("{t:.4},{c},{v},{s:.3}\n"));
            }
            out.into_bytes()
        }
        HitsFormat::Json => {
            let items: Vec<_> = rows
                .iter()
                .map(|&(t, c, v, s)| json!({ "time_s": (t * 1e4).round() / 1e4, "class": c, "velocity": v, "confidence": (f64::from(s) * 1e3).round() / 1e3 }))
                .collect();
            let mut s = serde_json::to_string_pretty(&items)?;
            s.push('\n');
            s.into_bytes()
        }
        HitsFormat::Mid => {
            // Hits are counted from the decoded region's start; the file starts earlier by offset.
            let offset = (offset_s * f64::from(sample_rate)).round() as u64;
            let shifted: Vec<Hit> = hits.iter().map(|h| Hit { sample: h.sample + offset, ..h.clone() }).collect();
            hits_to_smf(&shifted, sample_rate, &SmfOptions::default())
        }
    })
}

pub fn run(args: HitsArgs) -> Result<()> {
    let format = format_for(&args);
    if format == HitsFormat::Mid && args.out.is_none() {
        bail!("MIDI output needs --out FILE.mid");
    }
    let classifier = match &args.model {
        Some(dir) => Classifier::from_dir(dir).with_context(|| format!("loading model from {}", dir.display()))?,
        None => Classifier::shipped_hits().context("loading the built-in hit model")?,
    };
    let rate = classifier.meta().features.sample_rate;
    // The whole track from its first sample: no onset search, no pre-roll trimming.
    let opts = DecodeOptions { target_rate: rate, max_seconds: MAX_TRACK_S, pre_roll_s: 0.0, onset_search_s: 0.0 };
    let decoded = decode_file(&args.file, &opts).with_context(|| format!("decoding {}", args.file.display()))?;
    for w in &decoded.warnings {
        eprintln!("warning: {}: {w}", args.file.display());
    }
    if decoded.info.duration_s.is_some_and(|d| d > f64::from(MAX_TRACK_S)) {
        eprintln!("warning: only the first {MAX_TRACK_S:.0} s of {} are labelled", args.file.display());
    }
    let cfg = HitConfig {
        lookahead_s: args.lookahead_ms / 1000.0,
        onset: OnsetConfig { sensitivity: args.sensitivity, gate_dbfs: args.gate_db, ..OnsetConfig::default() },
        ..HitConfig::default()
    };
    let hits =
        label_track(&classifier, &decoded.samples, rate, args.block as usize, &cfg).context("classifying hits")?;
    let bytes = render(format, &hits, rate, decoded.info.onset_s)?;
    match &args.out {
        Some(path) => {
            std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            let notes: usize = hits.iter().map(|h| h.classes.len()).sum();
            eprintln!("{} hits ({notes} notes) written to {}", hits.len(), path.display());
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&bytes)?;
            stdout.flush()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use drumsort_core::DrumClass;

    fn args(out: Option<&str>, format: Option<HitsFormat>) -> HitsArgs {
        HitsArgs {
            file: "x.wav".into(),
            format,
            out: out.map(PathBuf::from),
            lookahead_ms: 50.0,
            sensitivity: 0.5,
            gate_db: GATE_DBFS,
            block: 512,
            model: None,
        }
    }

    #[test]
    fn format_follows_the_flag_then_the_extension() {
        assert_eq!(format_for(&args(None, None)), HitsFormat::Csv);
        assert_eq!(format_for(&args(Some("a.MID"), None)), HitsFormat::Mid);
        assert_eq!(format_for(&args(Some("a.json"), None)), HitsFormat::Json);
        assert_eq!(format_for(&args(Some("a.txt"), None)), HitsFormat::Csv);
        assert_eq!(format_for(&args(Some("a.mid"), Some(HitsFormat::Csv))), HitsFormat::Csv);
    }

    #[test]
    fn simultaneous_classes_are_separate_rows_at_the_same_time() {
        let hits = vec![Hit {
            sample: 44_100,
            classes: vec![(DrumClass::Kick, 0.91), (DrumClass::ClosedHat, 0.62)],
            velocity: 99,
        }];
        let csv = String::from_utf8(render(HitsFormat::Csv, &hits, 44_100, 0.5).unwrap()).unwrap();
        assert_eq!(csv, "time_s,class,velocity,confidence\n1.5000,kick,99,0.910\n1.5000,closed_hat,99,0.620\n");
        let json: serde_json::Value =
            serde_json::from_slice(&render(HitsFormat::Json, &hits, 44_100, 0.0).unwrap()).unwrap();
        assert_eq!(json[1], json!({ "time_s": 1.0, "class": "closed_hat", "velocity": 99, "confidence": 0.62 }));
    }

    #[test]
    fn lookahead_and_sensitivity_ranges_are_enforced() {
        assert!(parse_lookahead("20").is_ok() && parse_lookahead("100").is_ok());
        assert!(parse_lookahead("10").is_err() && parse_lookahead("x").is_err());
        assert!(parse_unit("0.7").is_ok() && parse_unit("1.5").is_err());
    }
}
