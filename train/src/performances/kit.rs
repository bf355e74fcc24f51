//! Which one-shots a track's kit is made of, and how an acoustic kit is played.
//!
//! `--kind any` (the default, and what every set made before `--kind` existed plays) draws each
//! class's samples from the whole folder. `--kind acoustic` keeps the acoustic one-shots
//! (`sound_kind` in the data's MANIFEST.csv) and plays one recorded kit per track (one
//! `source_group`: the MuldjordKit, a Hydrogen kit, a General MIDI bank's kit), so a track has
//! one room and one set of microphones, and plays it like a drummer: hats over everything,
//! open/closed hat alternation, ride sections and crash accents (cymbal wash under the drums),
//! more ghost notes and looser timing. `--kind electronic` keeps the rest (electronic and
//! unknown: drum machines and producers' folders) and plays as `any` does.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use drumsort_core::DrumClass;
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{Library, Note, Shot};
use crate::dataset::manifest::{manifest_key, parse_manifest};

/// What kind of kits a track set is played with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum KitKind {
    /// Every one-shot of the folder, mixed freely (the sets made before `--kind` existed).
    #[default]
    Any,
    /// Acoustic one-shots, one recorded kit per track, played by a drummer.
    Acoustic,
    /// Electronic and unlabelled one-shots (drum machines, producers' folders).
    Electronic,
}

impl KitKind {
    /// Whether a file of this `sound_kind` belongs in the set.
    fn keeps(self, sound_kind: &str) -> bool {
        match self {
            KitKind::Any => true,
            KitKind::Acoustic => sound_kind == "acoustic",
            KitKind::Electronic => sound_kind != "acoustic",
        }
    }
}

/// The labelled files of `items` this kind keeps, each with its kit (`source_group`), read from
/// the MANIFEST.csv next to `dir` (`../shared/drumdata/val` -> `../shared/drumdata`). `Any`
/// needs no manifest and gives every file kit `""`.
pub fn select(
    dir: &Path,
    items: Vec<(PathBuf, DrumClass)>,
    kind: KitKind,
) -> Result<Vec<(PathBuf, DrumClass, Arc<str>)>> {
    let none: Arc<str> = Arc::from("");
    if kind == KitKind::Any {
        return Ok(items.into_iter().map(|(p, c)| (p, c, Arc::clone(&none))).collect());
    }
    let root = dir.parent().unwrap_or(Path::new("."));
    let path = root.join("MANIFEST.csv");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (--kind needs the data set's manifest)", path.display()))?;
    let rows = parse_manifest(&text).with_context(|| format!("parsing {}", path.display()))?;
    let by_path: HashMap<&str, (&str, Arc<str>)> =
        rows.iter().map(|r| (r.path.as_str(), (r.sound_kind.as_str(), Arc::from(r.source_group.as_str())))).collect();
    let kept: Vec<_> = items
        .into_iter()
        .filter_map(|(p, c)| {
            let (sound_kind, group) = by_path.get(manifest_key(&p, root).as_str())?;
            kind.keeps(sound_kind).then(|| (p, c, Arc::clone(group)))
        })
        .collect();
    if kept.is_empty() {
        bail!("no {kind:?} one-shots of {} are listed in {}", dir.display(), path.display());
    }
    Ok(kept)
}

/// The kit of one track: up to three samples per class (toms and percussion use several).
/// `Acoustic` draws one recorded kit that has a kick, a snare and a closed hat and takes each
/// class from it, falling back to the other acoustic kits for a class it lacks.
pub fn pick(library: &Library, kind: KitKind, rng: &mut ChaCha8Rng) -> BTreeMap<DrumClass, Vec<Arc<Shot>>> {
    let per_class = |c: DrumClass| if matches!(c, DrumClass::Tom | DrumClass::Perc) { 3 } else { 1 };
    if kind != KitKind::Acoustic {
        return library
            .iter()
            .map(|(&c, shots)| (c, shots.choose_multiple(rng, per_class(c)).cloned().collect()))
            .collect();
    }
    let groups_of = |c: DrumClass| -> BTreeSet<Arc<str>> {
        library.get(&c).map(|s| s.iter().map(|x| Arc::clone(&x.kit)).collect()).unwrap_or_default()
    };
    let mut complete = groups_of(DrumClass::Kick);
    for c in [DrumClass::Snare, DrumClass::ClosedHat] {
        complete = complete.intersection(&groups_of(c)).cloned().collect();
    }
    let complete: Vec<Arc<str>> = complete.into_iter().collect();
    let kit = complete.choose(rng).cloned();
    library
        .iter()
        .map(|(&c, shots)| {
            let own: Vec<Arc<Shot>> = shots.iter().filter(|s| Some(&s.kit) == kit.as_ref()).cloned().collect();
            let from = if own.is_empty() { shots } else { &own };
            (c, from.choose_multiple(rng, per_class(c)).cloned().collect())
        })
        .collect()
}

/// A bar as a drummer on an acoustic kit plays it: hats (or the ride) on every eighth under the
/// kick and snare, some off-beat hats opened (the next hat chokes them), a ride section now and
/// then, a crash on some bar starts, and extra ghost notes on the snare. Only the kinds that
/// ask for it call this, so `any` sets play exactly what they always played.
pub fn acoustic_feel(notes: &mut Vec<Note>, bar: usize, rng: &mut ChaCha8Rng) {
    let has = |notes: &[Note], step: f32, class: DrumClass| notes.iter().any(|n| n.step == step && n.class == class);
    let cymbal = if rng.gen_bool(0.3) { DrumClass::Ride } else { DrumClass::ClosedHat };
    let timekeeper = notes.iter().any(|n| matches!(n.class, DrumClass::ClosedHat | DrumClass::Ride));
    if timekeeper || rng.gen_bool(0.5) {
        for s in (0..16).step_by(2) {
            let step = s as f32;
            if !notes.iter().any(|n| {
                n.step == step
                    && matches!(n.class, DrumClass::ClosedHat | DrumClass::Ride | DrumClass::OpenHat | DrumClass::Crash)
            }) {
                notes.push(Note { step, class: cymbal, velocity: if s % 4 == 0 { 0.7 } else { 0.5 }, variant: 0 });
            }
        }
    }
    if cymbal == DrumClass::Ride {
        for n in notes.iter_mut().filter(|n| n.class == DrumClass::ClosedHat) {
            n.class = DrumClass::Ride;
        }
    } else {
        // Open the hat on an off-beat eighth now and then; the next closed hat chokes it.
        for n in notes.iter_mut().filter(|n| n.class == DrumClass::ClosedHat && n.step % 4.0 == 2.0) {
            if rng.gen_bool(0.2) {
                n.class = DrumClass::OpenHat;
            }
        }
    }
    if !bar.is_multiple_of(4) && rng.gen_bool(0.15) && !has(notes, 0.0, DrumClass::Crash) {
        notes.retain(|n| !(n.step == 0.0 && matches!(n.class, DrumClass::ClosedHat | DrumClass::Ride)));
        notes.push(Note { step: 0.0, class: DrumClass::Crash, velocity: 0.75, variant: 0 });
        if !has(notes, 0.0, DrumClass::Kick) {
            notes.push(Note { step: 0.0, class: DrumClass::Kick, velocity: 0.85, variant: 0 });
        }
    }
    for s in 0..16 {
        let step = s as f32;
        if s % 4 != 0 && !notes.iter().any(|n| n.step == step && n.class == DrumClass::Snare) && rng.gen_bool(0.12) {
            notes.push(Note { step, class: DrumClass::Snare, velocity: rng.gen_range(0.08..0.22), variant: 0 });
        }
    }
}

/// Extra timing spread of an acoustic kit's hits, seconds: a drummer is looser than a grid
/// (on top of the shared +-4 ms each step already has). Notes of one step keep one offset, so
/// sounds struck together stay one onset.
pub fn acoustic_spread(rng: &mut ChaCha8Rng) -> f64 {
    (rng.gen_range(-0.008f64..0.008) + rng.gen_range(-0.008f64..0.008)) / 2.0
}
