//! `cargo xtask make-performances`: realistic drum tracks with exact annotations, built from the
//! validation one-shots, as the development set of `cargo xtask eval-hits`.
//!
//! Each track picks a kit (one or a few samples per class from `val/`), a style and a tempo, and
//! plays a groove with the things that make real playing hard to label: simultaneous hits (kick
//! and hat, crash and kick), ghost notes and accents, humanised timing and swing, overlapping
//! decays, open hats choked by the next hat, cymbal wash, fills; then a room reverb, bus
//! compression, a tilt EQ and a little noise. Writes `NAME.wav` (mono, 44.1 kHz, 16-bit) and
//! `NAME.csv` (`time_s,class,kit`, one row per struck sound, `kit` the `source_group` of its
//! sample, empty for `--kind any`). Deterministic for a seed.
//!
//! The output is a derived copy of the dataset: it goes under `target/`, never into the
//! repository.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use drumsort_core::decode::DecodeOptions;
use drumsort_core::dsp::{normalise_peak, peak, Biquad};
use drumsort_core::DrumClass;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::augment::reverb;
use crate::dataset;

mod groove;
mod kit;

use groove::{bar_notes, Note, Style};
pub use kit::KitKind;

/// Sample rate of the written tracks (the model's).
pub const SR: u32 = 44_100;
/// A one-shot whose envelope climbs back this much (dB) after its attack holds more than one
/// event (an echo, a flam, a roll, a layered hit) and is left out: its annotation would be wrong.
const RE_RISE_DB: f32 = 6.0;
/// A re-rise that stays this far (dB) below the peak is the room or the tail moving, too quiet
/// to be heard as a hit of its own in a mix.
const SECOND_EVENT_DB: f32 = 24.0;
/// Longest one-shot used, seconds (crash and ride tails beyond it are faded out).
const MAX_SHOT_S: f32 = 3.0;

/// Options of `cargo xtask make-performances`.
#[derive(Debug, clap::Args)]
pub struct PerformancesArgs {
    /// Folder of labelled one-shots (`<class>/` subfolders).
    #[arg(long, default_value = "../shared/drumdata/val")]
    pub val: PathBuf,
    /// Where NAME.wav + NAME.csv go (keep it under target/: derived from the dataset).
    #[arg(long, default_value = "target/performances")]
    pub out: PathBuf,
    /// Number of tracks.
    #[arg(long, default_value_t = 12)]
    pub n: usize,
    /// Seed of everything random.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Kits to play: `any` (every one-shot of the folder), `acoustic` (one recorded kit per
    /// track, played by a drummer) or `electronic` (drum machines and producers' folders); the
    /// two kinds read `sound_kind` from the data's MANIFEST.csv.
    #[arg(long, value_enum, default_value_t = KitKind::Any)]
    pub kind: KitKind,
}

/// A decoded one-shot, tail faded, peak 1.
#[derive(Debug)]
struct Shot {
    samples: Vec<f32>,
    /// Where the hit is: the first sample within 20 dB of the peak. The decoder starts a file at
    /// its first sample above -50 dBFS, and some files rise slowly from there (a mic'd tom's
    /// pre-ring); a listener, and the annotation, put the hit where it gets loud.
    attack: usize,
    /// The kit it comes from (`source_group`; empty when the kind needs none).
    kit: Arc<str>,
}

/// A played track: its audio, annotations `(time_s, class)` and the kit of each annotation's sample.
type Played = (Vec<f32>, Vec<(f64, DrumClass)>, Vec<Arc<str>>);

/// One-shots by class.
type Library = BTreeMap<DrumClass, Vec<Arc<Shot>>>;

pub fn run(args: PerformancesArgs) -> Result<()> {
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let play = Play { kind: args.kind, ..Play::default() };
    for_each_track(&args.val, args.n, args.seed, play, |track| {
        let Track { name, audio, hits, kits } = *track;
        write_track(&args.out, name, audio, hits, kits)?;
        let classes: BTreeMap<&str, usize> = hits.iter().fold(BTreeMap::new(), |mut m, h| {
            *m.entry(h.1.as_str()).or_default() += 1;
            m
        });
        println!("{name}: {:.1} s, {} hits, {classes:?}", audio.len() as f32 / SR as f32, hits.len());
        Ok(())
    })?;
    println!("wrote {} tracks to {}", args.n, args.out.display());
    Ok(())
}

/// A track [`for_each_track`] played.
#[derive(Clone, Copy, Debug)]
pub struct Track<'a> {
    pub name: &'a str,
    /// Mastered mono audio at [`SR`].
    pub audio: &'a [f32],
    /// Annotations `(time_s, class)`, in time order.
    pub hits: &'a [(f64, DrumClass)],
    /// The kit (`source_group`) each hit's sample comes from; empty names for `--kind any`.
    pub kits: &'a [Arc<str>],
}

/// How [`for_each_track`] plays its tracks.
#[derive(Clone, Copy, Debug, Default)]
pub struct Play {
    /// Probability that a kit piece is two one-shots of its class struck as one (attacks
    /// aligned, the second 0-9 dB quieter): kits no sample pack holds, for training.
    pub blend_prob: f64,
    /// Which one-shots the kits are made of and how they are played.
    pub kind: KitKind,
    /// Probability that a cymbal hit (hats, ride, crash) has the kit's snare under it, high-passed
    /// at 1 kHz and 15-30 dB quieter, not annotated: the snare wires' buzz and the snare
    /// microphone's pickup in a kit recorded with many microphones, for training.
    pub snare_buzz: f64,
}

/// Plays `n` tracks from the one-shots of `dir` (44.1 kHz mono) with the kits and playing of
/// `play` and hands each to `each` with its name, annotations and kits, one at a time (a track is
/// tens of MB). Deterministic for `seed`; `Play::default()` plays what every set made before
/// `--kind` existed plays. `cargo xtask train` uses it on the train split for
/// its hit-window examples, `tune-hits` on val for its thresholds.
pub fn for_each_track(
    dir: &Path,
    n: usize,
    seed: u64,
    play: Play,
    mut each: impl FnMut(&Track) -> Result<()>,
) -> Result<()> {
    if n == 0 {
        bail!("--n must be at least 1");
    }
    let library = load_library(dir, play.kind)?;
    for i in 0..n {
        let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(1_000_003).wrapping_add(i as u64));
        let style = Style::ALL[i % Style::ALL.len()];
        let (lo, hi) = style.tempo();
        let bpm = rng.gen_range(lo..=hi).round();
        let density = rng.gen_range(0.3f32..1.0);
        let name = format!("{:02}_{}_{bpm:.0}bpm", i + 1, style.name());
        let (audio, hits, kits) = perform(style, bpm, density, &library, play, &mut rng);
        each(&Track { name: &name, audio: &audio, hits: &hits, kits: &kits })?;
    }
    Ok(())
}

/// Decodes the drum one-shots of `dir`, fades their tails and keeps the clean ones: a sample
/// whose loudest moment is late or whose level rises again after its attack is a roll, a flam,
/// a swell or a loop, and would make the annotations wrong.
fn load_library(dir: &Path, kind: KitKind) -> Result<Library> {
    let items = dataset::list_labelled(dir)
        .with_context(|| format!("listing {} (get the dataset into ../shared/drumdata)", dir.display()))?;
    let items: Vec<_> = items.into_iter().filter(|(_, c)| c.is_drum()).collect();
    let selected = kit::select(dir, items, kind)?;
    let items: Vec<(PathBuf, DrumClass)> = selected.iter().map(|(p, c, _)| (p.clone(), *c)).collect();
    let kits: std::collections::HashMap<PathBuf, Arc<str>> = selected.into_iter().map(|(p, _, k)| (p, k)).collect();
    let opts = DecodeOptions { target_rate: SR, max_seconds: MAX_SHOT_S, pre_roll_s: 0.0, ..DecodeOptions::default() };
    let (clips, failed) = dataset::load(&items, &opts);
    for (path, e) in &failed {
        eprintln!("  skipped {}: {e}", path.display());
    }
    let mut library = Library::new();
    let mut unclean: BTreeMap<DrumClass, usize> = BTreeMap::new();
    for clip in clips {
        let kit = kits.get(&clip.path).cloned().unwrap_or_else(|| Arc::from(""));
        let mut x = clip.samples;
        if x.len() < 64 || !is_clean_one_shot(&x) {
            *unclean.entry(clip.class).or_default() += 1;
            continue;
        }
        fade_tail(&mut x);
        normalise_peak(&mut x);
        let attack = x.iter().position(|v| v.abs() >= 0.1).unwrap_or(0);
        library.entry(clip.class).or_default().push(Arc::new(Shot { samples: x, attack, kit }));
    }
    eprintln!(
        "{} one-shots in {} classes; left out as rolls, swells or too short: {unclean:?}",
        library.values().map(Vec::len).sum::<usize>(),
        library.len()
    );
    for c in [DrumClass::Kick, DrumClass::Snare, DrumClass::ClosedHat] {
        if !library.contains_key(&c) {
            bail!("no usable {c} one-shots under {}", dir.display());
        }
    }
    Ok(library)
}

/// `a` and `b` struck as one: their attacks aligned, `b` at `gain`, peak 1 again.
fn blend(a: &Shot, b: &Shot, gain: f32) -> Shot {
    let attack = a.attack.max(b.attack);
    let (da, db) = (attack - a.attack, attack - b.attack);
    let len = (a.samples.len() + da).max(b.samples.len() + db);
    let mut x = vec![0.0f32; len];
    for (v, s) in x[da..].iter_mut().zip(&a.samples) {
        *v += s;
    }
    for (v, s) in x[db..].iter_mut().zip(&b.samples) {
        *v += gain * s;
    }
    normalise_peak(&mut x);
    let attack = x.iter().position(|v| v.abs() >= 0.1).unwrap_or(0);
    Shot { samples: x, attack, kit: Arc::clone(&a.kit) }
}

/// True when the signal and its first difference (which follows the attacks of the upper
/// frequencies, hidden under a kick's body in the plain signal) are each one event.
fn is_clean_one_shot(x: &[f32]) -> bool {
    let diff: Vec<f32> = x.windows(2).map(|w| w[1] - w[0]).collect();
    one_event(x) && one_event(&diff)
}

/// True when the envelope (20 ms RMS every 5 ms, maximum over 15 ms) peaks within 60 ms of the
/// start and, from 50 ms after the peak, never climbs back more than [`RE_RISE_DB`] above its
/// lowest point since to within [`SECOND_EVENT_DB`] of the peak.
fn one_event(x: &[f32]) -> bool {
    let hop = (0.005 * SR as f32) as usize;
    let win = 4 * hop;
    // 20 ms windows, so a kick's 30-60 Hz tone and the beating of its partials do not look like
    // new hits (5 ms windows dip by 15-20 dB on each cycle of a soundfont's bass drum).
    let rms: Vec<f32> = (0..x.len().div_ceil(hop))
        .map(|i| {
            let w = &x[i * hop..(i * hop + win).min(x.len())];
            (w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32).sqrt()
        })
        .collect();
    // And the maximum over 15 ms: together they span a 30 Hz cycle.
    let env: Vec<f32> =
        (0..rms.len()).map(|i| rms[i..(i + 3).min(rms.len())].iter().fold(0f32, |m, &v| m.max(v))).collect();
    let (peak_at, &peak) = env.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap_or((0, &0.0));
    if peak <= 0.0 || peak_at * hop > (0.06 * SR as f32) as usize {
        return false;
    }
    // A clap's bursts re-rise within about 40 ms of its peak; a roll or a flam later.
    let settle = peak_at + 10;
    let loud = peak * 10f32.powf(-SECOND_EVENT_DB / 20.0);
    let mut low = env.get(settle).copied().unwrap_or(0.0);
    for &e in env.iter().skip(settle) {
        if e < peak * 1e-3 {
            break; // the rest is below -60 dB: noise floor
        }
        low = low.min(e);
        if e > loud && e > low * 10f32.powf(RE_RISE_DB / 20.0) {
            return false;
        }
    }
    true
}

/// Fades the last 20 ms (or, if the file is cut off loud, the last 20%) out: a one-shot file
/// that ends on a hard cut would add a click that is not a hit.
fn fade_tail(x: &mut [f32]) {
    let n = ((0.02 * SR as f32) as usize).max(x.len() / 5).min(x.len());
    let len = x.len();
    for (i, v) in x[len - n..].iter_mut().enumerate() {
        *v *= 0.5 + 0.5 * (std::f32::consts::PI * i as f32 / n as f32).cos();
    }
}

/// Plays `style` for 8 to 16 bars with a kit drawn from `library`; returns the mastered mono
/// track, its annotations and their kits.
fn perform(style: Style, bpm: f32, density: f32, library: &Library, play: Play, rng: &mut ChaCha8Rng) -> Played {
    let mut kit = kit::pick(library, play.kind, rng);
    if play.blend_prob > 0.0 {
        for (c, pieces) in kit.iter_mut() {
            for piece in pieces.iter_mut() {
                if rng.gen_bool(play.blend_prob) {
                    let other = &library[c][rng.gen_range(0..library[c].len())];
                    let gain = 10f32.powf(-rng.gen_range(0.0f32..9.0) / 20.0);
                    *piece = Arc::new(blend(piece, other, gain));
                }
            }
        }
    }
    // Mix balance per class, varied by +-3 dB per track.
    let balance = |c: DrumClass, rng: &mut ChaCha8Rng| {
        let base: f32 = match c {
            DrumClass::Kick => 1.0,
            DrumClass::Snare | DrumClass::Clap => 0.85,
            DrumClass::Tom => 0.75,
            DrumClass::ClosedHat | DrumClass::OpenHat | DrumClass::Shaker => 0.45,
            DrumClass::Crash | DrumClass::Ride => 0.5,
            _ => 0.6,
        };
        base * 10f32.powf(rng.gen_range(-3.0f32..3.0) / 20.0)
    };
    let gains: BTreeMap<DrumClass, f32> = DrumClass::DRUMS.iter().map(|&c| (c, balance(c, rng))).collect();

    let step_s = 60.0 / f64::from(bpm) / 4.0;
    let bars = rng.gen_range(8..=16);
    let lead_in = 0.5;
    // (time, class, velocity, sample)
    let mut events: Vec<(f64, DrumClass, f32, Arc<Shot>)> = Vec::new();
    for bar in 0..bars {
        let mut notes = bar_notes(style, bar, bars, density, rng);
        let acoustic = play.kind == KitKind::Acoustic;
        if acoustic {
            kit::acoustic_feel(&mut notes, bar, rng);
        }
        // One timing offset per step position: simultaneous notes stay simultaneous.
        let mut offsets: BTreeMap<u32, f64> = BTreeMap::new();
        for n in notes {
            let Some(shots) = kit.get(&n.class).filter(|s| !s.is_empty()) else { continue };
            let key = (n.step * 1000.0) as u32;
            let offset = *offsets.entry(key).or_insert_with(|| {
                let spread = if acoustic { kit::acoustic_spread(rng) } else { 0.0 };
                (rng.gen_range(-0.004f64..0.004) + rng.gen_range(-0.004f64..0.004)) / 2.0 + spread
            });
            let t = lead_in + (bar as f64 * 16.0 + f64::from(n.step)) * step_s + offset;
            let velocity = (n.velocity * 10f32.powf(rng.gen_range(-2.0f32..2.0) / 20.0)).min(1.0);
            events.push((t, n.class, velocity, Arc::clone(&shots[n.variant % shots.len()])));
        }
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));

    let len = ((lead_in + bars as f64 * 16.0 * step_s + 2.5) * f64::from(SR)) as usize;
    let mut mix = vec![0.0f32; len];
    // The kit's snare as its wires and microphone sound under a cymbal: one per track.
    let buzz: Option<(Vec<f32>, usize)> =
        kit.get(&DrumClass::Snare).and_then(|s| s.first()).filter(|_| play.snare_buzz > 0.0).map(|snare| {
            let mut x = snare.samples.clone();
            Biquad::highpass(1_000.0, 0.7, SR as f32).process(&mut x);
            (x, snare.attack)
        });
    for (i, (t, class, velocity, shot)) in events.iter().enumerate() {
        let mut x: Vec<f32> = shot.samples.clone();
        // Hats choke: the next hat stops this one (15 ms fade).
        if matches!(class, DrumClass::OpenHat | DrumClass::ClosedHat) {
            if let Some(next) =
                events[i + 1..].iter().find(|e| matches!(e.1, DrumClass::OpenHat | DrumClass::ClosedHat) && e.0 > *t)
            {
                let cut = ((next.0 - t) * f64::from(SR)) as usize + shot.attack;
                let fade = (0.015 * SR as f32) as usize;
                for (k, v) in x.iter_mut().enumerate().skip(cut) {
                    *v *= (1.0 - (k - cut) as f32 / fade as f32).max(0.0);
                }
            }
        }
        // Soft strokes are a little darker as well as quieter (up to 6 dB less treble).
        if *velocity < 0.5 {
            Biquad::peaking(6_000.0, 0.5, -12.0 * (0.5 - velocity), SR as f32).process(&mut x);
        }
        let g = gains[class] * velocity;
        strike(&mut mix, *t, shot.attack, g, &x);
        // Only a track that asks for it draws from `rng` here: the sets stay as they were.
        let cymbal = matches!(class, DrumClass::ClosedHat | DrumClass::OpenHat | DrumClass::Ride | DrumClass::Crash);
        if play.snare_buzz > 0.0 && cymbal && rng.gen_bool(play.snare_buzz) {
            if let Some((buzz, attack)) = &buzz {
                let gb = g * 10f32.powf(-rng.gen_range(15.0f32..30.0) / 20.0);
                strike(&mut mix, *t, *attack, gb, buzz);
            }
        }
    }

    // The room, the bus, the tone, the noise.
    let mut y = reverb(&mix, rng.gen_range(0.25f32..0.8), rng.gen_range(0.06f32..0.18), SR as f32, rng);
    normalise_peak(&mut y);
    compress(&mut y, rng.gen_range(-18.0f32..-10.0), rng.gen_range(2.0f32..4.0));
    Biquad::peaking(rng.gen_range(80.0f32..200.0), 0.8, rng.gen_range(-2.0f32..3.0), SR as f32).process(&mut y);
    Biquad::peaking(rng.gen_range(4_000.0f32..10_000.0), 0.8, rng.gen_range(-3.0f32..2.0), SR as f32).process(&mut y);
    let target = 10f32.powf(-1.0 / 20.0);
    let g = target / peak(&y).max(1e-9);
    let noise = 10f32.powf(rng.gen_range(-62.0f32..-52.0) / 20.0);
    for v in y.iter_mut() {
        *v = *v * g + noise * rng.gen_range(-1.0f32..1.0);
    }
    let hits = events.iter().map(|e| (e.0, e.1)).collect();
    let kits = events.iter().map(|e| Arc::clone(&e.3.kit)).collect();
    (y, hits, kits)
}

/// Adds `x` at `gain` to `mix` with its attack (sample `attack` of `x`) on `t` seconds; what runs
/// past the end of `mix` is cut.
fn strike(mix: &mut [f32], t: f64, attack: usize, gain: f32, x: &[f32]) {
    let at = ((t * f64::from(SR)).round() as usize).saturating_sub(attack).min(mix.len());
    for (m, v) in mix[at..].iter_mut().zip(x) {
        *m += gain * v;
    }
}

/// A feed-forward bus compressor: peak envelope (5 ms attack, 120 ms release), `threshold_db`
/// below full scale, `ratio`:1, and make-up gain back to the input's peak.
fn compress(x: &mut [f32], threshold_db: f32, ratio: f32) {
    let att = (-1.0 / (0.005 * SR as f32)).exp();
    let rel = (-1.0 / (0.12 * SR as f32)).exp();
    let mut env = 0.0f32;
    let before = peak(x);
    for v in x.iter_mut() {
        let a = v.abs();
        env = if a > env { att * env + (1.0 - att) * a } else { rel * env + (1.0 - rel) * a };
        let db = 20.0 * env.max(1e-9).log10();
        let over = (db - threshold_db).max(0.0);
        *v *= 10f32.powf(-over * (1.0 - 1.0 / ratio) / 20.0);
    }
    let after = peak(x).max(1e-9);
    x.iter_mut().for_each(|v| *v *= before / after);
}

/// Writes `NAME.wav` (16-bit) and `NAME.csv` (`time_s,class,kit`; `kits` parallel to `hits`).
pub(crate) fn write_track(
    dir: &Path,
    name: &str,
    audio: &[f32],
    hits: &[(f64, DrumClass)],
    kits: &[Arc<str>],
) -> Result<()> {
    let wav = dir.join(format!("{name}.wav"));
    let spec =
        hound::WavSpec { channels: 1, sample_rate: SR, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(&wav, spec).with_context(|| format!("creating {}", wav.display()))?;
    for v in audio {
        w.write_sample((v.clamp(-1.0, 1.0) * 32_767.0).round() as i16)?;
    }
    w.finalize()?;
    let mut csv = String::from("time_s,class,kit\n");
    for ((t, c), kit) in hits.iter().zip(kits) {
        csv.push_str(&format!("{t:.6},{c},{kit}\n"));
    }
    let path = dir.join(format!("{name}.csv"));
    std::fs::write(&path, csv).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests;
