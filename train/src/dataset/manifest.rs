//! The data folder's `MANIFEST.csv` (one row per file: split, class, path, source repository,
//! kit, sound kind, ...) and the evaluation subsets defined from it: files from sources training
//! never saw, acoustic and electronic drums. Used by `cargo xtask eval`; nothing here reads audio.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path};

use drumsort_core::DrumClass;

/// The columns of a manifest row that evaluation uses.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ManifestRow {
    /// `train` or `val`.
    pub split: String,
    pub class: String,
    /// Relative to the folder holding the manifest, `/`-separated: `val/kick/foo.wav`.
    pub path: String,
    /// Where the file was gathered: a repository or a Debian package.
    pub source_repo: String,
    /// Repository and kit or machine: the unit files are split and resampled by.
    pub source_group: String,
    /// `acoustic`, `electronic`, `unknown`; for `other`: `tonal`, `vocal`, `fx`, `texture`, `loop`.
    pub sound_kind: String,
    /// Files whose spectra are near-identical share an id.
    pub dup_cluster: String,
}

impl ManifestRow {
    /// Whether the row is a drum one-shot (any class but `other`).
    pub fn is_drum(&self) -> bool {
        self.class.parse::<DrumClass>().is_ok_and(|c| c.is_drum())
    }
}

/// Why a manifest could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("the manifest has no `{0}` column")]
    MissingColumn(&'static str),
    #[error("line {line}: {found} fields where the header has {expected}")]
    Width { line: usize, found: usize, expected: usize },
    #[error("line {0}: a quoted field is never closed")]
    Unclosed(usize),
    #[error("the manifest is empty")]
    Empty,
}

/// Splits CSV text into records (RFC 4180: `"` quotes fields holding commas, quotes or line
/// breaks; `""` is a quote). Returns each record with the line it starts on (1-based); blank lines
/// are skipped.
fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>, ManifestError> {
    let mut out = Vec::new();
    let (mut record, mut field) = (Vec::new(), String::new());
    let (mut quoted, mut line, mut start) = (false, 1usize, 1usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                if !(record.len() == 1 && record[0].is_empty()) {
                    out.push((start, std::mem::take(&mut record)));
                }
                record.clear();
                line += 1;
                start = line;
            }
            (_, c) => {
                line += usize::from(c == '\n');
                field.push(c);
            }
        }
    }
    if quoted {
        return Err(ManifestError::Unclosed(start));
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        out.push((start, record));
    }
    Ok(out)
}

/// Parses a manifest: a header naming at least `split, class, path, source_repo, source_group,
/// sound_kind` (`dup_cluster` optional) in any order, then one row per file.
pub fn parse_manifest(text: &str) -> Result<Vec<ManifestRow>, ManifestError> {
    let mut recs = records(text.strip_prefix('\u{feff}').unwrap_or(text))?.into_iter();
    let (_, header) = recs.next().ok_or(ManifestError::Empty)?;
    let col =
        |name: &'static str| header.iter().position(|h| h.trim() == name).ok_or(ManifestError::MissingColumn(name));
    let [split, class, path, repo, group, kind] =
        [col("split")?, col("class")?, col("path")?, col("source_repo")?, col("source_group")?, col("sound_kind")?];
    let dup = col("dup_cluster").ok();
    recs.map(|(line, r)| {
        if r.len() != header.len() {
            return Err(ManifestError::Width { line, found: r.len(), expected: header.len() });
        }
        Ok(ManifestRow {
            split: r[split].clone(),
            class: r[class].clone(),
            path: r[path].replace('\\', "/"),
            source_repo: r[repo].clone(),
            source_group: r[group].clone(),
            sound_kind: r[kind].clone(),
            dup_cluster: dup.map(|d| r[d].clone()).unwrap_or_default(),
        })
    })
    .collect()
}

/// The manifest key of a file: its path relative to `manifest_dir`, `/`-separated. A file
/// outside that folder (a copy of the split elsewhere) falls back to its last three components,
/// `<split>/<class>/<file>`, the manifest's own layout.
pub fn manifest_key(file: &Path, manifest_dir: &Path) -> String {
    let parts = |p: &Path| -> Vec<String> {
        p.components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect()
    };
    match file.strip_prefix(manifest_dir) {
        Ok(rel) => parts(rel).join("/"),
        Err(_) => {
            let all = parts(file);
            all[all.len().saturating_sub(3)..].join("/")
        }
    }
}

/// Clips matched to manifest rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Join {
    /// For each clip key, the index of its row (`None`: the manifest does not list it).
    pub row_of: Vec<Option<usize>>,
    /// Rows under the evaluated folder that no clip matched (a file missing or not decoded).
    pub unmatched_rows: Vec<usize>,
}

/// Matches clip keys (from [`manifest_key`]) with `rows`; rows whose path starts with `prefix`
/// (`val/`) are the ones every clip should account for.
pub fn join(rows: &[ManifestRow], keys: &[String], prefix: &str) -> Join {
    let by_path: HashMap<&str, usize> = rows.iter().enumerate().map(|(i, r)| (r.path.as_str(), i)).collect();
    let row_of: Vec<Option<usize>> = keys.iter().map(|k| by_path.get(k.as_str()).copied()).collect();
    let matched: HashSet<usize> = row_of.iter().flatten().copied().collect();
    let unmatched_rows =
        (0..rows.len()).filter(|i| rows[*i].path.starts_with(prefix) && !matched.contains(i)).collect();
    Join { row_of, unmatched_rows }
}

/// What training saw: the source repositories and kits with at least one `train` row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    pub repos: HashSet<String>,
    pub groups: HashSet<String>,
}

impl Seen {
    pub fn from_rows(rows: &[ManifestRow]) -> Self {
        let train = || rows.iter().filter(|r| r.split == "train");
        Self {
            repos: train().map(|r| r.source_repo.clone()).collect(),
            groups: train().map(|r| r.source_group.clone()).collect(),
        }
    }
}

/// A slice of the evaluated files, defined from their manifest rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Subset {
    /// Every evaluated file, with or without a manifest row.
    All,
    /// Files whose `source_repo` has no file in train: the closest stand-in for a user's library.
    UnseenSource,
    /// Files whose `source_group` (kit) has no file in train; their repository may have some.
    UnseenKit,
    /// Drum files (not `other`) with `sound_kind` acoustic.
    Acoustic,
    /// Drum files (not `other`) with `sound_kind` electronic.
    Electronic,
    /// Files added in the data's second version (`dup_cluster` ids `x-NNNNN`): new kits and
    /// soundfonts, val ones all from kits with nothing in train. The baseline set.
    AddedV2,
}

impl Subset {
    pub const ALL: [Subset; 6] =
        [Subset::All, Subset::UnseenSource, Subset::UnseenKit, Subset::AddedV2, Subset::Acoustic, Subset::Electronic];

    pub fn name(self) -> &'static str {
        match self {
            Subset::All => "all",
            Subset::UnseenSource => "unseen-source",
            Subset::UnseenKit => "unseen-kit",
            Subset::Acoustic => "acoustic",
            Subset::Electronic => "electronic",
            Subset::AddedV2 => "added-v2",
        }
    }

    /// One line saying which files the subset holds.
    pub fn definition(self) -> &'static str {
        match self {
            Subset::All => "every evaluated file",
            Subset::UnseenSource => "files whose source_repo has no train file",
            Subset::UnseenKit => "files whose source_group (kit) has no train file",
            Subset::Acoustic => "drum files (not other) with sound_kind acoustic",
            Subset::Electronic => "drum files (not other) with sound_kind electronic",
            Subset::AddedV2 => "files added in data version 2 (dup_cluster x-NNNNN)",
        }
    }

    /// Whether a file with this manifest row (`None`: not in the manifest) belongs to the subset.
    /// A file without a row is only in `All`: nothing is known of its source or kind.
    pub fn contains(self, row: Option<&ManifestRow>, seen: &Seen) -> bool {
        let Some(r) = row else { return self == Subset::All };
        match self {
            Subset::All => true,
            Subset::UnseenSource => !seen.repos.contains(&r.source_repo),
            Subset::UnseenKit => !seen.groups.contains(&r.source_group),
            Subset::Acoustic => r.is_drum() && r.sound_kind == "acoustic",
            Subset::Electronic => r.is_drum() && r.sound_kind == "electronic",
            Subset::AddedV2 => r.dup_cluster.starts_with("x-"),
        }
    }

    /// The indices of the files (given by their rows) in the subset.
    pub fn select(self, rows: &[Option<&ManifestRow>], seen: &Seen) -> Vec<usize> {
        (0..rows.len()).filter(|&i| self.contains(rows[i], seen)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "split,class,path,source_repo,license,source_group,sound_kind,dup_cluster\n\
        train,kick,train/kick/a.wav,repoA,\"CC-BY, \"\"quoted\"\"\",repoA/kit1,electronic,c1\n\
        train,snare,train/snare/b.wav,repoB,CC0,repoB/kit1,acoustic,c2\n\
        val,kick,val/kick/c.wav,repoA,CC0,repoA/kit2,electronic,c3\n\
        val,snare,val/snare/d.wav,repoC,\"multi\nline\",repoC/kit,acoustic,x-00001\n\
        val,other,val/other/e.mp3,repoC,CC0,repoC/kit,tonal,c5\n\
        val,tom,val/tom/f.flac,repoB,CC0,repoB/kit1,unknown,c6\n";

    #[test]
    fn parses_quoted_fields_and_picks_columns_by_name() {
        let rows = parse_manifest(CSV).unwrap();
        assert_eq!(rows.len(), 6);
        assert_eq!(rows[0].source_group, "repoA/kit1");
        assert_eq!((rows[3].path.as_str(), rows[3].sound_kind.as_str()), ("val/snare/d.wav", "acoustic"));
        assert_eq!(rows[5].dup_cluster, "c6");
        assert!(rows[0].is_drum() && !rows[4].is_drum());
        // CRLF line ends and a byte-order mark read the same.
        let crlf = format!("\u{feff}{}", CSV.replace('\n', "\r\n"));
        assert_eq!(parse_manifest(&crlf).unwrap()[..3], rows[..3]);
    }

    #[test]
    fn malformed_manifests_say_what_is_wrong() {
        assert_eq!(parse_manifest("split,class,path\n"), Err(ManifestError::MissingColumn("source_repo")));
        let short = "split,class,path,source_repo,source_group,sound_kind\nval,kick,val/kick/a.wav,r,g\n";
        assert_eq!(parse_manifest(short), Err(ManifestError::Width { line: 2, found: 5, expected: 6 }));
        let open = "split,class,path,source_repo,source_group,sound_kind\nval,kick,\"val/kick/a.wav,r,g,k\n";
        assert_eq!(parse_manifest(open), Err(ManifestError::Unclosed(2)));
        assert_eq!(parse_manifest(""), Err(ManifestError::Empty));
    }

    #[test]
    fn subsets_follow_the_train_rows() {
        let rows = parse_manifest(CSV).unwrap();
        let seen = Seen::from_rows(&rows);
        let val: Vec<Option<&ManifestRow>> = rows[2..].iter().map(Some).chain([None]).collect();
        let pick = |s: Subset| s.select(&val, &seen);
        // c: repoA (in train), kit2 (not); d, e: repoC (never in train); f: repoB/kit1 (both in
        // train); the last file has no row.
        assert_eq!(pick(Subset::All), [0, 1, 2, 3, 4]);
        assert_eq!(pick(Subset::UnseenSource), [1, 2]);
        assert_eq!(pick(Subset::UnseenKit), [0, 1, 2]);
        // `other` (e) and unknown-kind drums (f) are in neither kind subset.
        assert_eq!(pick(Subset::Acoustic), [1]);
        assert_eq!(pick(Subset::Electronic), [0]);
        assert_eq!(pick(Subset::AddedV2), [1]);
    }

    #[test]
    fn clips_join_by_relative_path_and_leftovers_are_reported() {
        let rows = parse_manifest(CSV).unwrap();
        let root = Path::new("/data/drums");
        let keys: Vec<String> = ["val/kick/c.wav", "val/other/e.mp3", "val/kick/stray.wav"]
            .iter()
            .map(|k| manifest_key(&root.join(k), root))
            .collect();
        assert_eq!(keys[0], "val/kick/c.wav");
        let j = join(&rows, &keys, "val/");
        assert_eq!(j.row_of, [Some(2), Some(4), None]);
        assert_eq!(j.unmatched_rows, [3, 5], "d and f are listed but were not evaluated");
        // A copy of the split elsewhere keys by its last three components.
        assert_eq!(manifest_key(Path::new("/tmp/copy/val/tom/f.flac"), root), "val/tom/f.flac");
    }
}
