//! `drumsort duplicates`: byte-identical copies (same blake3) and near-duplicates (the same sound
//! re-encoded, resampled, trimmed or at another gain), each group with the copy to keep.
//!
//! Near-duplicates are found in two steps. Candidates: pairs of distinct sounds with the same
//! class, durations within a factor of two (a trimmed copy keeps at least half) and model
//! embeddings within [`NEAR_EMBEDDING`] of each other, at most [`CANDIDATES`] nearest per sound. The
//! embedding is cheap (it is in the index) but trained to separate classes, so distinct sounds of
//! a class can sit close; each candidate pair is therefore confirmed by decoding both files and
//! comparing their [`fingerprint`]s (log-mel from the onset, gain-, rate- and trim-insensitive)
//! against [`NEAR_FINGERPRINT`]. Groups are formed in keep order: the best copy not yet grouped
//! takes every ungrouped sound confirmed against it, so each member is close to the kept copy
//! itself (never joined through a chain of in-between sounds).

use std::collections::HashMap;
use std::path::PathBuf;

use rayon::prelude::*;

use super::fingerprint::{self, Fingerprint, Fingerprinter};
use super::{cosine_distance, Result};
use crate::index::{Entry, Index, ListFilter, Sound, Status};

/// Largest fingerprint distance (mean |difference| of log-mel power, natural-log units; 1 unit =
/// 4.3 dB) at which two files are the same sound. On the synthesised sounds
/// (`fingerprint::tests`) variants (gain, 8/24 bits, 22.05/48 kHz, a trimmed tail, added silence)
/// stay below it and the closest different sounds (the synthetic kick and tom, one recipe at two
/// pitches) measure 0.74. Set well below that because real drum machines' kicks (a decaying sine
/// each) measure 0.3-0.6 apart: at 0.6, `../shared/drumdata/val` grouped a TR-909 and an HR-16 kick.
pub const NEAR_FINGERPRINT: f32 = 0.35;

/// Smallest waveform correlation ([`fingerprint::correlation`]) of two copies of one recording.
/// The spectral distance alone cannot tell two recordings of similar drums apart (different
/// drum-machine kicks measure 0.1-0.35, as close as an 8-bit copy): on `../shared/drumdata/val` it
/// grouped 60 files, mostly different kicks. Copies (gain, 8/24 bits, 22.05/48 kHz, trimmed,
/// padded) correlate above 0.9.
pub const MIN_CORRELATION: f32 = 0.8;

/// Largest embedding cosine distance for a pair to be checked at all: a cheap pre-filter, the
/// fingerprint and the correlation decide. It needs a margin because the embedding moves with each
/// model: with `drumsort-c9ebb6d40b2f` a 22.05 kHz copy of the demo snare (everything above 11 kHz
/// gone) measures 0.150 from the original, 0.15 was the old limit.
pub const NEAR_EMBEDDING: f32 = 0.25;

/// Candidates checked per sound, nearest first: bounds the decoding work on a library full of
/// similar sounds.
pub const CANDIDATES: usize = 16;

/// Shortest duration a near-duplicate may have relative to the longer one.
pub const MIN_DURATION_RATIO: f64 = 0.5;

/// Which copy a group keeps, as told to users.
pub const KEEP_RULE: &str =
    "keep the lossless copy, then the highest sample rate, then the most bits, then the longest, then the shortest path";

/// How the members of a group are the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Byte for byte.
    Identical,
    /// The same sound in another encoding, rate, length or level.
    Near,
}

impl Kind {
    /// The name in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Identical => "identical",
            Kind::Near => "near",
        }
    }
}

/// One file of a group.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub entry: Entry,
    /// The copy [`KEEP_RULE`] keeps (the first member of each group).
    pub keep: bool,
    /// Fingerprint distance to the kept copy (near groups only).
    pub distance: Option<f32>,
}

/// Files that are the same sound; the kept one first, the rest in path order.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub kind: Kind,
    pub members: Vec<Member>,
}

/// What [`find`] looks for.
#[derive(Clone, Debug)]
pub struct Options {
    /// Also look for near-duplicates (decodes candidate files); identical copies only otherwise.
    pub near: bool,
    pub max_embedding: f32,
    pub max_fingerprint: f32,
}

impl Default for Options {
    fn default() -> Self {
        Self { near: true, max_embedding: NEAR_EMBEDDING, max_fingerprint: NEAR_FINGERPRINT }
    }
}

/// Duplicate groups of the present files in `index`: identical groups first, then near ones,
/// each set ordered by its kept file's path. Files that cannot be decoded for a fingerprint are
/// returned with why (they stay out of near groups).
pub fn find(index: &Index, opts: &Options) -> Result<(Vec<Group>, Problems)> {
    let mut by_hash: HashMap<[u8; 32], Vec<Entry>> = HashMap::new();
    index.for_each_entry(&ListFilter::default(), |e| {
        if let (Some(h), false) = (e.hash, e.status == Status::Pending) {
            by_hash.entry(h).or_default().push(e);
        }
        Ok::<(), super::LibraryError>(())
    })?;
    let mut groups: Vec<Group> = by_hash
        .into_values()
        .filter(|g| g.len() > 1)
        .map(|g| group(Kind::Identical, g.into_iter().map(|e| (e, None)).collect()))
        .collect();
    groups.sort_by(|a, b| a.members[0].entry.path.cmp(&b.members[0].entry.path));
    if !opts.near {
        return Ok((groups, Vec::new()));
    }
    let (mut near, problems) = near_groups(index, opts)?;
    near.sort_by(|a, b| a.members[0].entry.path.cmp(&b.members[0].entry.path));
    groups.extend(near);
    Ok((groups, problems))
}

/// Orders `members` by [`KEEP_RULE`] and marks the first kept.
fn group(kind: Kind, mut members: Vec<(Entry, Option<f32>)>) -> Group {
    members.sort_by(|a, b| keep_order(&a.0, &b.0));
    let members = members
        .into_iter()
        .enumerate()
        .map(|(i, (entry, distance))| Member { entry, keep: i == 0, distance: if i == 0 { None } else { distance } })
        .collect();
    Group { kind, members }
}

/// Whether a codec (symphonia's short name) keeps every bit.
fn lossless(codec: &str) -> bool {
    codec.starts_with("pcm") || matches!(codec, "flac" | "alac" | "wavpack")
}

/// [`KEEP_RULE`] as an ordering: the copy to keep sorts first.
pub fn keep_order(a: &Entry, b: &Entry) -> std::cmp::Ordering {
    let key = |e: &Entry| {
        let i = e.info.as_ref();
        (
            !i.is_some_and(|i| lossless(&i.codec)),
            std::cmp::Reverse(i.map_or(0, |i| i.sample_rate)),
            std::cmp::Reverse(i.and_then(|i| i.bits_per_sample).unwrap_or(0)),
            std::cmp::Reverse(i.and_then(|i| i.duration_s).map_or(0, |d| (d * 1e6) as i64)),
            e.path.as_os_str().len(),
        )
    };
    key(a).cmp(&key(b)).then_with(|| a.path.cmp(&b.path))
}

fn durations_fit(a: &Entry, b: &Entry) -> bool {
    let d = |e: &Entry| e.info.as_ref().and_then(|i| i.duration_s);
    match (d(a), d(b)) {
        (Some(x), Some(y)) if x > 0.0 && y > 0.0 => x.min(y) / x.max(y) >= MIN_DURATION_RATIO,
        _ => true,
    }
}

/// Files that could not be fingerprinted, with why.
pub type Problems = Vec<(PathBuf, String)>;

fn near_groups(index: &Index, opts: &Options) -> Result<(Vec<Group>, Problems)> {
    // One representative per content: identical copies are reported above, and decoding one of
    // them is enough.
    let mut seen = std::collections::HashSet::new();
    let mut sounds: Vec<Sound> = index.sounds(|_| true)?;
    sounds.sort_by(|a, b| keep_order(&a.entry, &b.entry));
    sounds.retain(|s| s.entry.hash.is_none_or(|h| seen.insert(h)));
    sounds.sort_by(|a, b| a.entry.path.cmp(&b.entry.path));

    let candidates: Vec<(usize, usize)> = {
        let per_sound: Vec<Vec<(usize, usize)>> = (0..sounds.len())
            .into_par_iter()
            .map(|i| {
                let (a, ea) = (&sounds[i].entry, &sounds[i].embedding);
                let mut near: Vec<(f32, usize)> = sounds
                    .iter()
                    .enumerate()
                    .filter(|(j, s)| {
                        *j != i
                            && s.entry.class() == a.class()
                            && s.entry.model_version == a.model_version
                            && durations_fit(a, &s.entry)
                    })
                    .map(|(j, s)| (cosine_distance(ea, &s.embedding), j))
                    .filter(|&(d, _)| d <= opts.max_embedding)
                    .collect();
                near.sort_by(|x, y| x.0.total_cmp(&y.0));
                near.into_iter().take(CANDIDATES).map(|(_, j)| (i.min(j), i.max(j))).collect()
            })
            .collect();
        let mut all: Vec<(usize, usize)> = per_sound.into_iter().flatten().collect();
        all.sort_unstable();
        all.dedup();
        all
    };

    let mut needed: Vec<usize> = candidates.iter().flat_map(|&(a, b)| [a, b]).collect();
    needed.sort_unstable();
    needed.dedup();
    let fp = Fingerprinter::default();
    let prints: HashMap<usize, std::result::Result<Fingerprint, String>> = needed
        .par_iter()
        .map(|&i| (i, fp.of_file(&sounds[i].entry.path).map_err(|e| format!("{}: {e}", e.kind()))))
        .collect();
    let mut problems: Problems = prints
        .iter()
        .filter_map(|(&i, r)| r.as_ref().err().map(|e| (sounds[i].entry.path.clone(), e.clone())))
        .collect();
    problems.sort();

    let print = |i: usize| prints.get(&i).and_then(|r| r.as_ref().ok());
    let mut confirmed: HashMap<usize, Vec<(usize, f32)>> = HashMap::new();
    for &(a, b) in &candidates {
        let d = match (print(a), print(b)) {
            (Some(x), Some(y)) => fingerprint::distance(x, y)
                .filter(|_| fingerprint::correlation(x, y, fp.sample_rate()).is_some_and(|c| c >= MIN_CORRELATION)),
            _ => None,
        };
        if let Some(d) = d.filter(|&d| d <= opts.max_fingerprint) {
            confirmed.entry(a).or_default().push((b, d));
            confirmed.entry(b).or_default().push((a, d));
        }
    }
    // Each group is a kept sound and the unclaimed sounds confirmed as copies of it, taking
    // sounds in keep order: every member is within the threshold of the copy kept (no chains of
    // "A is like B is like C" joining sounds that are not alike).
    let mut order: Vec<usize> = (0..sounds.len()).collect();
    order.sort_by(|&a, &b| keep_order(&sounds[a].entry, &sounds[b].entry));
    let mut claimed = vec![false; sounds.len()];
    let mut groups = Vec::new();
    for keep in order {
        if claimed[keep] {
            continue;
        }
        let copies: Vec<(usize, f32)> =
            confirmed.get(&keep).map(|c| c.iter().copied().filter(|&(j, _)| !claimed[j]).collect()).unwrap_or_default();
        if copies.is_empty() {
            continue;
        }
        claimed[keep] = true;
        let mut list = vec![(sounds[keep].entry.clone(), None)];
        for (j, d) in copies {
            claimed[j] = true;
            list.push((sounds[j].entry.clone(), Some(d)));
        }
        groups.push(group(Kind::Near, list));
    }
    Ok((groups, problems))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{Status, StoredInfo};

    fn entry(path: &str, codec: &str, rate: u32, bits: Option<u32>, dur: f64) -> Entry {
        Entry {
            path: PathBuf::from(path),
            size: 1,
            mtime_ns: 0,
            hash: None,
            status: Status::Analysed,
            missing: false,
            info: Some(StoredInfo {
                container: "wav".into(),
                codec: codec.into(),
                sample_rate: rate,
                channels: 1,
                bits_per_sample: bits,
                duration_s: Some(dur),
                onset_s: 0.0,
                peak: 1.0,
                rms: 0.1,
                warnings: vec![],
            }),
            prediction: None,
            model_version: None,
            scanned_at: None,
            error: None,
            correction: None,
        }
    }

    #[test]
    fn keep_rule_orders_lossless_rate_bits_length_path() {
        let mp3 = entry("/a.mp3", "mp3", 48_000, None, 1.0);
        let wav16 = entry("/long/path/b.wav", "pcm_s16le", 44_100, Some(16), 1.0);
        let wav24 = entry("/long/path/c.wav", "pcm_s24le", 44_100, Some(24), 1.0);
        let wav48 = entry("/long/path/d.wav", "pcm_s16le", 48_000, Some(16), 0.5);
        let flac_long = entry("/long/path/e.flac", "flac", 48_000, Some(16), 0.9);
        let short_path = entry("/f.wav", "pcm_s16le", 44_100, Some(16), 1.0);
        let mut all = [mp3.clone(), wav16.clone(), wav24.clone(), wav48.clone(), flac_long.clone(), short_path.clone()];
        all.sort_by(keep_order);
        let order: Vec<_> = all.iter().map(|e| e.path.to_str().unwrap()).collect();
        assert_eq!(
            order,
            ["/long/path/e.flac", "/long/path/d.wav", "/long/path/c.wav", "/f.wav", "/long/path/b.wav", "/a.mp3"]
        );
        let g = group(Kind::Near, vec![(wav16, Some(0.2)), (short_path, Some(0.3))]);
        assert!(g.members[0].keep && !g.members[1].keep);
        assert_eq!(g.members[0].entry.path, PathBuf::from("/f.wav"));
        assert_eq!(g.members[0].distance, None);
    }

    #[test]
    fn trims_beyond_half_are_not_near() {
        let a = entry("/a.wav", "pcm_s16le", 44_100, Some(16), 1.0);
        assert!(durations_fit(&a, &entry("/b.wav", "pcm_s16le", 44_100, Some(16), 0.6)));
        assert!(!durations_fit(&a, &entry("/b.wav", "pcm_s16le", 44_100, Some(16), 0.4)));
    }
}
