//! What `cargo xtask train` reads besides the labelled one-shots: each file's kit and a share of
//! the train split's kits (`--kit-balance`, `--kit-fraction`, a learning curve), and the hits cut
//! from drum tracks played from it (`make-performances`' generator), with the onsets where nothing
//! was played (`--non-hits`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use drumsort_core::hits::{CONTEXT_S, PRE_ROLL_S};
use drumsort_core::onset::{detect_all, OnsetConfig};
use drumsort_core::DrumClass;

use super::Tracks;
use crate::dataset;
use crate::dataset::manifest::parse_manifest;
use crate::fit::TrainConfig;
use crate::performances::{KitKind, Play};

/// The kit (`source_group`) of every file `manifest` lists, keyed by its path under the
/// manifest's folder.
pub(super) fn kits_of(manifest: &Path) -> Result<HashMap<PathBuf, String>> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("reading {} (kits come from the data's manifest)", manifest.display()))?;
    let root = manifest.parent().unwrap_or(Path::new("."));
    let rows = parse_manifest(&text).with_context(|| format!("parsing {}", manifest.display()))?;
    Ok(rows.into_iter().map(|r| (root.join(&r.path), r.source_group)).collect())
}

/// Keeps whole kits (`kit_of`, from [`kits_of`]) until they hold about `fraction` of the files,
/// in the order of a hash of the kit's name, so a larger fraction keeps the smaller one's kits.
pub(super) fn keep_kits(
    items: Vec<(PathBuf, DrumClass)>,
    kit_of: &HashMap<PathBuf, String>,
    fraction: f64,
) -> Vec<(PathBuf, DrumClass)> {
    let kit = |p: &PathBuf| kit_of.get(p).map_or("", String::as_str);
    // Kits in hash order, taken until they hold `fraction` of the files.
    let mut files_per_kit: HashMap<&str, usize> = HashMap::new();
    for (p, _) in &items {
        *files_per_kit.entry(kit(p)).or_default() += 1;
    }
    let mut kits: Vec<(&str, usize)> = files_per_kit.into_iter().collect();
    kits.sort_by_key(|(k, _)| super::hex_sha256(k.as_bytes()));
    let target = (fraction * items.len() as f64).ceil() as usize;
    let mut taken = 0;
    let kept_kits: HashSet<&str> = kits
        .into_iter()
        .take_while(|&(_, n)| {
            let more = taken < target;
            taken += n;
            more
        })
        .map(|(k, _)| k)
        .collect();
    let before = items.len();
    let kept: Vec<_> = items.iter().filter(|(p, _)| kept_kits.contains(kit(p))).cloned().collect();
    eprintln!("kit fraction {fraction}: kept {} of {before} training files", kept.len());
    kept
}

/// Annotations less than this apart are one hit struck together.
const TOGETHER_S: f64 = 0.015;

/// Hits cut from `n` tracks played from the one-shots of `dir`: from the hit labeller's pre-roll
/// before each hit to a little past the longest crop.
pub(super) fn track_hits(
    dir: &Path,
    tracks: Tracks,
    seed: u64,
    cfg: &TrainConfig,
    non_hits: bool,
    play: Play,
) -> Result<Vec<dataset::HitClip>> {
    let mut hits = Vec::new();
    let t = Instant::now();
    let len_s = cfg.crop_ms.1 / 1000.0 + 0.01;
    let sr = crate::performances::SR;
    let context_s = if cfg.background_removal { CONTEXT_S } else { 0.0 };
    let mut non = 0;
    let mut cut = |audio: &[f32], annotations: &[(f64, DrumClass)]| -> Result<()> {
        hits.extend(dataset::hit_clips(audio, sr, annotations, TOGETHER_S, context_s, PRE_ROLL_S, len_s));
        if non_hits {
            let onset_cfg = OnsetConfig { sensitivity: NON_HIT_SENSITIVITY, ..OnsetConfig::default() };
            let onsets: Vec<f64> =
                detect_all(audio, sr, 512, &onset_cfg).into_iter().map(|(s, _)| s as f64 / f64::from(sr)).collect();
            let clips =
                dataset::non_hit_clips(audio, sr, annotations, &onsets, NON_HIT_TOL_S, context_s, PRE_ROLL_S, len_s);
            non += clips.len();
            hits.extend(clips);
        }
        Ok(())
    };
    let kinds = [(tracks.any, KitKind::Any, seed), (tracks.acoustic, KitKind::Acoustic, seed.wrapping_add(1))];
    for (n, kind, seed) in kinds.into_iter().filter(|k| k.0 > 0) {
        let play = Play { kind, ..play };
        crate::performances::for_each_track(dir, n, seed, play, |t| cut(t.audio, t.hits))?;
    }
    if hits.is_empty() {
        return Ok(hits);
    }
    let non = if non_hits { format!(" ({non} of them onsets where nothing was played)") } else { String::new() };
    eprintln!(
        "cut {} hits{non} from {} tracks ({} of acoustic kits) played from {} in {:.1} s",
        hits.len(),
        tracks.any + tracks.acoustic,
        tracks.acoustic,
        dir.display(),
        t.elapsed().as_secs_f64()
    );
    Ok(hits)
}

/// The detector's sensitivity when it looks for onsets where nothing was played (`--non-hits`):
/// above the default 0.5, so the model also learns the false onsets of a more sensitive setting.
const NON_HIT_SENSITIVITY: f32 = 0.8;
/// A detected onset this far from every annotation is not a hit (`eval-hits`' tolerance).
const NON_HIT_TOL_S: f64 = crate::eval_hits::DEFAULT_TOLERANCE_S;
