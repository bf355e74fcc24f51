//! `drumsort kit`: one sound per kit piece, copied into a folder with plain names and mapped to
//! General MIDI notes in an SFZ file any SFZ sampler loads.
//!
//! From the index, pieces are chosen to "sit together". The embedding is trained to tell classes
//! apart, so most of it says what a sound is; subtracting its class's mean embedding leaves how
//! it sounds within its class (bright or dark, tight or long, clean or dirty). Each piece is the
//! sound of its class whose residual points the most the same way as the anchor's: the `--like`
//! sound's, or else the residual of the confident sound that agrees best with the others' (a
//! consensus). From a folder (`--from`), a kit is made of whatever is there: each piece is the
//! file the model scores highest for it, each file used once.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::{io_err, names, LibraryError, Result};
use crate::class::DrumClass;
use crate::index::Sound;

/// Kit pieces in the order they are picked and written.
pub const PIECES: [DrumClass; 12] = [
    DrumClass::Kick,
    DrumClass::Snare,
    DrumClass::ClosedHat,
    DrumClass::OpenHat,
    DrumClass::Clap,
    DrumClass::Tom,
    DrumClass::Crash,
    DrumClass::Ride,
    DrumClass::Rim,
    DrumClass::Cowbell,
    DrumClass::Shaker,
    DrumClass::Perc,
];

/// Most confident sounds per class the consensus looks at (the work grows with its square).
const POOL: usize = 64;

/// One chosen sound.
#[derive(Clone, Debug, PartialEq)]
pub struct Pick {
    pub class: DrumClass,
    /// Index into the slice the picker was given.
    pub index: usize,
    /// Why it won: the character similarity to the anchor (index kits, `-1..=1`) or the model's
    /// score for the piece (`--from` kits, `0..=1`).
    pub score: f32,
}

/// Mean embedding per class over `sounds` (`None` for classes without sounds).
fn class_means(sounds: &[Sound]) -> Vec<Option<Vec<f32>>> {
    let mut out: Vec<Option<(Vec<f32>, usize)>> = vec![None; DrumClass::COUNT];
    for s in sounds {
        let Some(c) = s.entry.class() else { continue };
        let slot = out[c.index()].get_or_insert_with(|| (vec![0.0; s.embedding.len()], 0));
        if slot.0.len() == s.embedding.len() {
            slot.0.iter_mut().zip(&s.embedding).for_each(|(m, v)| *m += v);
            slot.1 += 1;
        }
    }
    out.into_iter().map(|o| o.map(|(sum, n)| sum.into_iter().map(|v| v / n as f32).collect())).collect()
}

fn residual(embedding: &[f32], mean: Option<&Vec<f32>>) -> Vec<f32> {
    match mean {
        Some(m) if m.len() == embedding.len() => embedding.iter().zip(m).map(|(e, m)| e - m).collect(),
        _ => embedding.to_vec(),
    }
}

/// Cosine similarity; `0` when either vector is (nearly) zero, as a class's only sound's residual is.
fn cosine(a: &[f32], b: &[f32]) -> f32 {
    super::cosine_similarity(a, b).unwrap_or(0.0)
}

/// How sure the library is of a sound's class: 1 for a user correction, else the model's score.
fn certainty(s: &Sound) -> f32 {
    match (s.entry.correction, &s.entry.prediction) {
        (Some(_), _) => 1.0,
        (None, Some(p)) => s.entry.class().map_or(0.0, |c| p.scores[c.index()]),
        (None, None) => 0.0,
    }
}

/// One sound per piece from indexed `sounds` (all by one model), around the anchor described in
/// the module docs. `like` is the anchor sound's embedding and class. Pieces without sounds are
/// left out.
pub fn pick_from_index(sounds: &[Sound], like: Option<(&[f32], DrumClass)>) -> Vec<Pick> {
    let means = class_means(sounds);
    let residuals: Vec<Vec<f32>> = sounds
        .iter()
        .map(|s| residual(&s.embedding, s.entry.class().and_then(|c| means[c.index()].as_ref())))
        .collect();
    let members = |piece: DrumClass| -> Vec<usize> {
        let mut m: Vec<usize> = (0..sounds.len()).filter(|&i| sounds[i].entry.class() == Some(piece)).collect();
        m.sort_by(|&a, &b| certainty(&sounds[b]).total_cmp(&certainty(&sounds[a])));
        m
    };
    let anchor: Vec<f32> = match like {
        Some((embedding, class)) => residual(embedding, means[class.index()].as_ref()),
        None => {
            let pools: Vec<Vec<usize>> = PIECES
                .iter()
                .map(|&p| members(p).into_iter().take(POOL).collect())
                .filter(|p: &Vec<usize>| !p.is_empty())
                .collect();
            let agreement = |i: usize, own: usize| -> f32 {
                pools
                    .iter()
                    .enumerate()
                    .filter(|&(k, _)| k != own)
                    .map(|(_, pool)| pool.iter().map(|&j| cosine(&residuals[i], &residuals[j])).fold(-1.0, f32::max))
                    .sum()
            };
            let best = pools
                .iter()
                .enumerate()
                .flat_map(|(k, pool)| pool.iter().map(move |&i| (i, k)))
                .map(|(i, k)| (agreement(i, k), i))
                .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
            match best {
                Some((_, i)) => residuals[i].clone(),
                None => return Vec::new(),
            }
        }
    };
    PIECES
        .iter()
        .filter_map(|&piece| {
            let pool = members(piece);
            let limit = if like.is_some() { pool.len() } else { POOL };
            pool.into_iter()
                .take(limit)
                .map(|i| (cosine(&residuals[i], &anchor), i))
                .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
                .map(|(score, index)| Pick { class: piece, index, score })
        })
        .collect()
}

/// One file per piece from any sounds, by the model's `scores` (in [`DrumClass::ALL`] order):
/// the highest (piece, file) score first, then the next among unused pieces and files, and so
/// on. Ties go to the earlier file.
pub fn pick_by_scores(scores: &[[f32; DrumClass::COUNT]]) -> Vec<Pick> {
    let mut all: Vec<Pick> = scores
        .iter()
        .enumerate()
        .flat_map(|(index, s)| PIECES.iter().map(move |&class| Pick { class, index, score: s[class.index()] }))
        .collect();
    all.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
    let mut picks: Vec<Pick> = Vec::new();
    for p in all {
        if !picks.iter().any(|q| q.class == p.class || q.index == p.index) {
            picks.push(p);
        }
    }
    picks.sort_by_key(|p| PIECES.iter().position(|&c| c == p.class));
    picks
}

/// A piece as written.
#[derive(Clone, Debug, PartialEq)]
pub struct Written {
    pub class: DrumClass,
    pub note: u8,
    pub source: PathBuf,
    /// File name inside the kit folder: `<class>.<ext>`.
    pub file: String,
    pub score: f32,
}

/// Copies each `(class, source, score)` into `out` as `<class>.<ext>` and writes `<name>.sfz`
/// next to them. Refuses to replace any existing file (the folder may hold someone's samples).
pub fn write_kit(out: &Path, name: &str, pieces: &[(DrumClass, PathBuf, f32)]) -> Result<(PathBuf, Vec<Written>)> {
    if pieces.is_empty() {
        return Err(LibraryError::Nothing("no sound for any kit piece".into()));
    }
    std::fs::create_dir_all(out).map_err(io_err(format!("creating {}", out.display())))?;
    let sfz_name = format!("{}.sfz", names::sanitize(std::ffi::OsStr::new(name)));
    let written: Vec<Written> = pieces
        .iter()
        .filter_map(|(class, source, score)| {
            let note = class.gm_note()?;
            let ext: String = source
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(8)
                .collect();
            let file = if ext.is_empty() { class.as_str().to_string() } else { format!("{}.{ext}", class.as_str()) };
            Some(Written { class: *class, note, source: source.clone(), file, score: *score })
        })
        .collect();
    for f in written.iter().map(|w| w.file.as_str()).chain([sfz_name.as_str()]) {
        if std::fs::symlink_metadata(out.join(f)).is_ok() {
            return Err(LibraryError::Unsafe(format!(
                "{} already exists; choose an empty --out folder",
                out.join(f).display()
            )));
        }
    }
    for w in &written {
        let dest = out.join(&w.file);
        let copy = || -> std::io::Result<()> {
            let mut to = std::fs::OpenOptions::new().write(true).create_new(true).open(&dest)?;
            std::io::copy(&mut std::fs::File::open(&w.source)?, &mut to)?;
            Ok(())
        };
        copy().map_err(io_err(format!("copying {} to {}", w.source.display(), dest.display())))?;
    }
    let sfz = out.join(&sfz_name);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&sfz)?;
        f.write_all(sfz_text(name, &written).as_bytes())
    };
    write().map_err(io_err(format!("writing {}", sfz.display())))?;
    Ok((sfz, written))
}

/// The SFZ: one region per piece on its GM note, played to the end whatever the note length
/// (`loop_mode=one_shot`), the closed hat choking the open one as on a real hi-hat.
pub fn sfz_text(name: &str, pieces: &[Written]) -> String {
    // Comments hold user text: keep it on one line.
    let clean = |s: &str| s.chars().map(|c| if c.is_control() { '_' } else { c }).collect::<String>();
    let mut s = String::new();
    let _ = writeln!(s, "// {}: a drum kit picked by Drumsort {}", clean(name), env!("CARGO_PKG_VERSION"));
    for w in pieces {
        let _ =
            writeln!(s, "// {:<11} note {:>3}  from {}", w.class.as_str(), w.note, clean(&w.source.to_string_lossy()));
    }
    s.push_str("\n<control>\ndefault_path=./\n\n<global>\nloop_mode=one_shot\n\n");
    for w in pieces {
        let choke = match w.class {
            DrumClass::ClosedHat => " group=1",
            DrumClass::OpenHat => " group=2 off_by=1",
            _ => "",
        };
        let _ = writeln!(s, "<region> sample={} key={}{choke}", w.file, w.note);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_pick_the_best_file_per_piece_once() {
        let mut a = [0.0; DrumClass::COUNT];
        a[DrumClass::Kick.index()] = 0.9;
        a[DrumClass::Tom.index()] = 0.8;
        let mut b = [0.0; DrumClass::COUNT];
        b[DrumClass::Kick.index()] = 0.7;
        b[DrumClass::Tom.index()] = 0.6;
        let mut c = [0.0; DrumClass::COUNT];
        c[DrumClass::Snare.index()] = 0.2;
        let picks = pick_by_scores(&[a, b, c]);
        let got: Vec<(DrumClass, usize)> = picks.iter().map(|p| (p.class, p.index)).collect();
        // a is the best kick; the best tom is then b (a is used); c is the only snare left.
        assert_eq!(got, [(DrumClass::Kick, 0), (DrumClass::Snare, 2), (DrumClass::Tom, 1)]);
    }

    #[test]
    fn sfz_maps_each_piece_to_its_note_and_chokes_the_open_hat() {
        let w = |class: DrumClass| Written {
            class,
            note: class.gm_note().unwrap(),
            source: PathBuf::from("/x\ny.wav"),
            file: format!("{}.wav", class.as_str()),
            score: 0.5,
        };
        let text = sfz_text("my kit", &[w(DrumClass::Kick), w(DrumClass::ClosedHat), w(DrumClass::OpenHat)]);
        assert!(text.contains("<region> sample=kick.wav key=36\n"), "{text}");
        assert!(text.contains("<region> sample=closed_hat.wav key=42 group=1\n"), "{text}");
        assert!(text.contains("<region> sample=open_hat.wav key=46 group=2 off_by=1\n"), "{text}");
        assert!(text.lines().all(|l| l.starts_with("//") || !l.contains("/x")), "no path outside a comment");
        assert!(!text.contains("x\ny"), "a newline in a path cannot end its comment");
    }
}
