//! Labelled folders of one-shots (`<class>/<file>`, class folder names canonical), decoded once
//! into memory for training and evaluation.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use drumsort_core::decode::{decode_file, is_audio_extension, DecodeError, DecodeOptions};
use drumsort_core::DrumClass;

pub mod folds;
pub mod manifest;

/// One labelled file, decoded: mono at the model rate, starting at its first onset.
#[derive(Clone, Debug)]
pub struct Clip {
    pub path: PathBuf,
    pub class: DrumClass,
    pub samples: Vec<f32>,
    /// The kit the file comes from (`source_group` in the data's MANIFEST.csv), empty when not
    /// looked up: what kit-balanced sampling draws by.
    pub kit: String,
}

/// Why a labelled folder could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("cannot read dataset folder {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("folder {0} is not a class name; a dataset holds only <class>/ folders named kick, snare, ... other")]
    UnknownClass(PathBuf),
    #[error("no audio files under {0}")]
    Empty(PathBuf),
}

/// Lists `(path, class)` for every audio file under `dir/<class>/` (recursively), sorted by path
/// so every run sees the same order.
pub fn list_labelled(dir: &Path) -> Result<Vec<(PathBuf, DrumClass)>, DatasetError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DatasetError::Io { path, source }
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        if !entry.file_type().map_err(io(&entry.path()))?.is_dir() {
            continue;
        }
        let name = entry.file_name();
        let class: DrumClass =
            name.to_str().and_then(|n| n.parse().ok()).ok_or_else(|| DatasetError::UnknownClass(entry.path()))?;
        let mut stack = vec![entry.path()];
        while let Some(d) = stack.pop() {
            for f in std::fs::read_dir(&d).map_err(io(&d))? {
                let f = f.map_err(io(&d))?;
                let ft = f.file_type().map_err(io(&f.path()))?;
                if ft.is_dir() {
                    stack.push(f.path());
                } else if is_audio_extension(&f.path()) {
                    out.push((f.path(), class));
                }
            }
        }
    }
    if out.is_empty() {
        return Err(DatasetError::Empty(dir.to_path_buf()));
    }
    out.sort();
    Ok(out)
}

/// Decodes every listed file on all cores. Files that fail are returned beside the clips, never
/// silently dropped, so the caller can report them.
pub fn load(items: &[(PathBuf, DrumClass)], opts: &DecodeOptions) -> (Vec<Clip>, Vec<(PathBuf, DecodeError)>) {
    let results: Vec<_> = items
        .par_iter()
        .map(|(path, class)| match decode_file(path, opts) {
            Ok(d) => Ok(Clip { path: path.clone(), class: *class, samples: d.samples, kit: String::new() }),
            Err(e) => Err((path.clone(), e)),
        })
        .collect();
    let mut clips = Vec::with_capacity(results.len());
    let mut failed = Vec::new();
    for r in results {
        match r {
            Ok(c) => clips.push(c),
            Err(e) => failed.push(e),
        }
    }
    (clips, failed)
}

/// Hex SHA-256 over the relative paths, sizes and classes of a listing: identifies the data a
/// model was trained on without shipping the data.
pub fn manifest_hash(root: &Path, items: &[(PathBuf, DrumClass)]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (path, class) in items {
        let rel = path.strip_prefix(root).unwrap_or(path);
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        h.update(format!("{}\t{}\t{}\n", rel.display(), size, class.as_str()).as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// One hit inside a played drum track: the audio from just before it, and every class struck
/// with it. The examples that teach the model what the hit labeller hears: the previous hits'
/// decays underneath, a kick and a hat at once, room and bus compression.
#[derive(Clone, Debug, PartialEq)]
pub struct HitClip {
    /// `context` samples of what was sounding before the hit, then the hit from its pre-roll on.
    pub samples: Vec<f32>,
    pub context: usize,
    pub classes: Vec<DrumClass>,
}

/// Cuts the hits of an annotated track (`hits`: `(time_s, class)`, any order). Annotations less
/// than `together_s` after the first of a group are one hit (struck together, humanised apart);
/// each hit keeps `pre_s` before its first annotation and `len_s` in all, after `context_s` of
/// what came before (silence before the track starts). Hits too close to the end for a whole clip
/// are left out.
pub fn hit_clips(
    audio: &[f32],
    sample_rate: u32,
    hits: &[(f64, DrumClass)],
    together_s: f64,
    context_s: f32,
    pre_s: f32,
    len_s: f32,
) -> Vec<HitClip> {
    let mut sorted: Vec<(f64, DrumClass)> = hits.iter().copied().filter(|(t, _)| t.is_finite() && *t >= 0.0).collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let samples = |s: f32| (s * sample_rate as f32) as usize;
    let (context, pre, len) = (samples(context_s), samples(pre_s), samples(len_s));
    let mut out = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let first = sorted[i].0;
        let mut classes = Vec::new();
        while i < sorted.len() && sorted[i].0 - first < together_s {
            if !classes.contains(&sorted[i].1) {
                classes.push(sorted[i].1);
            }
            i += 1;
        }
        out.extend(cut(audio, first * f64::from(sample_rate), context, pre, len, classes));
    }
    out
}

/// The clip of a hit at sample `at`: `context` samples before its pre-roll (silence before the
/// track starts), then `len` from `pre` before it; none if the track ends first.
fn cut(audio: &[f32], at: f64, context: usize, pre: usize, len: usize, classes: Vec<DrumClass>) -> Option<HitClip> {
    let start = (at.round() as usize).saturating_sub(pre);
    let hit = audio.get(start..start + len)?;
    let before = &audio[start.saturating_sub(context)..start];
    let mut samples = vec![0.0; context - before.len()];
    samples.extend_from_slice(before);
    samples.extend_from_slice(hit);
    Some(HitClip { samples, context, classes })
}

/// Clips, cut as [`hit_clips`] cuts them, at the `onsets` (seconds) an onset detector found where
/// no hit was played (no annotation within `tol_s` before it or anywhere in the clip after it,
/// which would put a played hit in a clip labelled with none): the low end of a kick rising again in its
/// decay, a clap's late burst, a flicker in a gated tail. They carry no class, so a model trained
/// on them learns to name nothing there.
#[allow(clippy::too_many_arguments)]
pub fn non_hit_clips(
    audio: &[f32],
    sample_rate: u32,
    hits: &[(f64, DrumClass)],
    onsets: &[f64],
    tol_s: f64,
    context_s: f32,
    pre_s: f32,
    len_s: f32,
) -> Vec<HitClip> {
    let samples = |s: f32| (s * sample_rate as f32) as usize;
    let (context, pre, len) = (samples(context_s), samples(pre_s), samples(len_s));
    onsets
        .iter()
        .filter(|&&t| hits.iter().all(|h| h.0 < t - tol_s || h.0 > t + f64::from(len_s)))
        .filter_map(|&t| cut(audio, t * f64::from(sample_rate), context, pre, len, Vec::new()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_clips_group_simultaneous_hits_and_cut_from_before_the_hit() {
        let audio: Vec<f32> = (0..10_000).map(|i| i as f32).collect();
        let hits = [
            (0.5, DrumClass::ClosedHat),
            (0.1, DrumClass::Kick),
            (0.104, DrumClass::ClosedHat),
            (0.104, DrumClass::ClosedHat),
            (0.95, DrumClass::Snare),
        ];
        let clips = hit_clips(&audio, 10_000, &hits, 0.015, 0.02, 0.005, 0.1);
        assert_eq!(clips.len(), 2, "the snare at 0.95 s has no whole clip left");
        assert_eq!(clips[0].classes, vec![DrumClass::Kick, DrumClass::ClosedHat]);
        assert_eq!((clips[0].context, clips[0].samples.len()), (200, 1200));
        assert_eq!(clips[0].samples[200], 950.0, "5 ms before the kick at 0.1 s");
        assert_eq!(&clips[0].samples[..200], &audio[750..950], "20 ms of context before that");
        assert_eq!(clips[1].classes, vec![DrumClass::ClosedHat]);
        assert_eq!(clips[1].samples[200], 4950.0);
        let early = hit_clips(&audio, 10_000, &[(0.01, DrumClass::Kick)], 0.015, 0.02, 0.005, 0.1);
        assert_eq!(early[0].samples[..150], [0.0; 150], "silence before the track starts");
        assert_eq!(early[0].samples[150..201], audio[..51]);

        // Onsets nothing was played at become clips without a class, cut the same way.
        let non = non_hit_clips(&audio, 10_000, &hits, &[0.07, 0.11, 0.3, 0.42, 0.52, 0.99], 0.03, 0.02, 0.005, 0.1);
        assert_eq!(non.len(), 1, "0.11 and 0.52 are played hits, 0.07 and 0.42 would hold one, 0.99 is too late");
        assert_eq!((non[0].classes.len(), non[0].context, non[0].samples.len()), (0, 200, 1200));
        assert_eq!(non[0].samples[200], 2950.0, "5 ms before 0.3 s");
        assert_eq!(&non[0].samples[..200], &audio[2750..2950]);
    }
}
