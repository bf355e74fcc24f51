//! `cargo xtask kit-folds`: splits the validation kits into folds and lays out, for one fold, a
//! data folder whose train split is the real train split *plus the other folds' val kits* and
//! whose val split is that fold's kits alone. Training on it and scoring that fold against a model
//! trained on train alone measures what more kits like the validation ones would buy: the data
//! decision, measured before any data is gathered.
//!
//! The folder holds symbolic links to the data's files (nothing is copied, nothing in the data
//! folder is touched) and a `MANIFEST.csv` with the new splits, so `train`, `eval`, `tune-hits`
//! and `make-performances` read it like the real one. Kits that share a near-duplicate cluster
//! are kept in one fold, as the data keeps them on one side of its own split.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::manifest::{parse_manifest, ManifestRow};

/// Arguments of `cargo xtask kit-folds`.
#[derive(clap::Args, Debug)]
pub struct KitFoldsArgs {
    /// The data folder: `MANIFEST.csv`, `train/` and `val/`.
    #[arg(long, default_value = "../shared/drumdata")]
    pub data: PathBuf,
    /// How many folds the val kits are dealt into.
    #[arg(long, default_value_t = 2)]
    pub folds: usize,
    /// The fold held out as val (0-based); the other folds' kits join train.
    #[arg(long)]
    pub fold: usize,
    /// The folder to lay out (must not exist yet): `train/`, `val/`, `MANIFEST.csv`.
    #[arg(long)]
    pub out: PathBuf,
}

/// Which fold each val kit (`source_group`) falls in. Kits linked by a shared `dup_cluster` form
/// one group; groups are dealt largest first (ties by name) to the fold holding the fewest files
/// so far, so folds come out about the same size and the assignment is the same on every run.
pub fn assign_folds(rows: &[ManifestRow], folds: usize) -> BTreeMap<String, usize> {
    let val: Vec<&ManifestRow> = rows.iter().filter(|r| r.split == "val").collect();
    // Union-find over kits: two kits sharing a near-duplicate cluster are one group.
    let kits: Vec<&str> = {
        let mut k: Vec<&str> = val.iter().map(|r| r.source_group.as_str()).collect();
        k.sort_unstable();
        k.dedup();
        k
    };
    let index: HashMap<&str, usize> = kits.iter().enumerate().map(|(i, k)| (*k, i)).collect();
    let mut parent: Vec<usize> = (0..kits.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut first_kit_of_cluster: HashMap<&str, usize> = HashMap::new();
    for r in val.iter().filter(|r| !r.dup_cluster.is_empty()) {
        let kit = index[r.source_group.as_str()];
        let other = *first_kit_of_cluster.entry(r.dup_cluster.as_str()).or_insert(kit);
        let (a, b) = (root(&mut parent, kit), root(&mut parent, other));
        parent[a.max(b)] = a.min(b);
    }
    // Groups with their file counts, largest first.
    let mut groups: BTreeMap<usize, (usize, Vec<&str>)> = BTreeMap::new();
    for (i, kit) in kits.iter().enumerate() {
        groups.entry(root(&mut parent, i)).or_default().1.push(kit);
    }
    for r in &val {
        let g = root(&mut parent, index[r.source_group.as_str()]);
        groups.get_mut(&g).expect("every kit has a group").0 += 1;
    }
    let mut groups: Vec<(usize, Vec<&str>)> = groups.into_values().collect();
    groups.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let mut sizes = vec![0usize; folds.max(1)];
    let mut out = BTreeMap::new();
    for (n, members) in groups {
        let fold = (0..sizes.len()).min_by_key(|&f| (sizes[f], f)).expect("at least one fold");
        sizes[fold] += n;
        for kit in members {
            out.insert(kit.to_string(), fold);
        }
    }
    out
}

/// The rows of the fold's data folder: every train row as it is, val rows of `fold` as val, the
/// other val rows moved to train (`split` and the path's first component rewritten).
pub fn fold_rows(rows: &[ManifestRow], fold_of: &BTreeMap<String, usize>, fold: usize) -> Vec<ManifestRow> {
    rows.iter()
        .map(|r| {
            let mut r = r.clone();
            if r.split == "val" && fold_of.get(&r.source_group) != Some(&fold) {
                r.split = "train".into();
                r.path = match r.path.split_once('/') {
                    Some((_, rest)) => format!("train/{rest}"),
                    None => format!("train/{}", r.path),
                };
            }
            r
        })
        .collect()
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The manifest text of `rows`, with the columns [`parse_manifest`] reads.
pub fn manifest_text(rows: &[ManifestRow]) -> String {
    let mut text = String::from("split,class,path,source_repo,source_group,sound_kind,dup_cluster\n");
    for r in rows {
        let fields = [&r.split, &r.class, &r.path, &r.source_repo, &r.source_group, &r.sound_kind, &r.dup_cluster];
        text += &fields.map(|f| csv_field(f)).join(",");
        text.push('\n');
    }
    text
}

#[cfg(unix)]
fn link(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(windows)]
fn link(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::windows::fs::symlink_file(target, link)
}

/// Runs `cargo xtask kit-folds`: lays out `args.out` and prints each fold's kits and sizes.
pub fn run(args: KitFoldsArgs) -> Result<()> {
    if args.folds < 2 || args.fold >= args.folds {
        bail!("need --folds of at least 2 and --fold below it (got --folds {} --fold {})", args.folds, args.fold);
    }
    if args.out.exists() {
        bail!("{} exists; lay a fold out into a new folder", args.out.display());
    }
    let manifest = args.data.join("MANIFEST.csv");
    let text = std::fs::read_to_string(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
    let rows = parse_manifest(&text).with_context(|| format!("parsing {}", manifest.display()))?;
    let fold_of = assign_folds(&rows, args.folds);
    let new_rows = fold_rows(&rows, &fold_of, args.fold);
    // Links point at absolute paths, so the folder works from any working directory.
    let data = args.data.canonicalize().with_context(|| format!("finding {}", args.data.display()))?;
    let (mut linked, mut missing) = (0usize, 0usize);
    for (old, new) in rows.iter().zip(&new_rows) {
        let source = data.join(&old.path);
        if !source.is_file() {
            missing += 1;
            continue;
        }
        let dest = args.out.join(&new.path);
        let dir = dest.parent().expect("a manifest path has a folder");
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        link(&source, &dest).with_context(|| format!("linking {} to {}", dest.display(), source.display()))?;
        linked += 1;
    }
    std::fs::write(args.out.join("MANIFEST.csv"), manifest_text(&new_rows))?;
    for f in 0..args.folds {
        let kits: Vec<&str> = fold_of.iter().filter(|(_, &k)| k == f).map(|(kit, _)| kit.as_str()).collect();
        let files = rows.iter().filter(|r| r.split == "val" && fold_of.get(&r.source_group) == Some(&f)).count();
        let role = if f == args.fold { "val" } else { "joins train" };
        println!("fold {f} ({role}): {files} files from {} kits: {}", kits.len(), kits.join("; "));
    }
    let count = |split: &str| new_rows.iter().filter(|r| r.split == split).count();
    println!(
        "wrote {}: train {} files, val {} files ({linked} links{})",
        args.out.display(),
        count("train"),
        count("val"),
        if missing > 0 { format!(", {missing} manifest rows with no file, left out") } else { String::new() }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(split: &str, class: &str, file: &str, group: &str, dup: &str) -> ManifestRow {
        ManifestRow {
            split: split.into(),
            class: class.into(),
            path: format!("{split}/{class}/{file}"),
            source_repo: group.split(':').next().unwrap().into(),
            source_group: group.into(),
            sound_kind: "electronic".into(),
            dup_cluster: dup.into(),
        }
    }

    fn rows() -> Vec<ManifestRow> {
        let mut rows = vec![row("train", "kick", "t.wav", "repo:T", "c0")];
        // Kit A: 4 files; B: 3; C: 2 and shares a cluster with D (1 file); E: 2.
        rows.extend((0..4).map(|i| row("val", "kick", &format!("a{i}.wav"), "repo:A", &format!("a{i}"))));
        rows.extend((0..3).map(|i| row("val", "snare", &format!("b{i}.wav"), "repo:B", &format!("b{i}"))));
        rows.extend(
            (0..2).map(|i| row("val", "tom", &format!("c{i}.wav"), "repo:C", if i == 0 { "cd" } else { "c1" })),
        );
        rows.push(row("val", "tom", "d0.wav", "repo:D", "cd"));
        rows.extend((0..2).map(|i| row("val", "clap", &format!("e{i}.wav"), "repo:E", &format!("e{i}"))));
        rows
    }

    #[test]
    fn kits_sharing_a_near_duplicate_stay_together_and_folds_balance() {
        let fold_of = assign_folds(&rows(), 2);
        assert_eq!(fold_of.len(), 5, "every val kit, no train kit: {fold_of:?}");
        assert_eq!(fold_of["repo:C"], fold_of["repo:D"]);
        // Largest first to the emptier fold: A (4) to 0, B (3) to 1, C+D (3) to 1 (3 < 4), E (2)
        // to 0 (4 < 6).
        assert_eq!((fold_of["repo:A"], fold_of["repo:B"], fold_of["repo:C"], fold_of["repo:E"]), (0, 1, 1, 0));
        assert_eq!(assign_folds(&rows(), 2), fold_of, "the same on every run");
    }

    #[test]
    fn other_folds_join_train_and_the_held_out_fold_stays_val() {
        let rows = rows();
        let fold_of = assign_folds(&rows, 2);
        let new = fold_rows(&rows, &fold_of, 0);
        assert_eq!(new.len(), rows.len());
        for (old, new) in rows.iter().zip(&new) {
            let held_out = old.split == "val" && fold_of[&old.source_group] == 0;
            let expect_split = if held_out { "val" } else { "train" };
            assert_eq!(new.split, expect_split, "{old:?}");
            assert!(new.path.starts_with(&format!("{expect_split}/")), "{new:?}");
            assert_eq!(new.path.split_once('/').unwrap().1, old.path.split_once('/').unwrap().1);
            assert_eq!(
                (&new.class, &new.source_group, &new.dup_cluster),
                (&old.class, &old.source_group, &old.dup_cluster)
            );
        }
    }

    #[test]
    fn manifest_text_reads_back_with_quoted_fields() {
        let mut rows = rows();
        rows[1].source_group = "repo:kit, \"live\"".into();
        let back = parse_manifest(&manifest_text(&rows)).unwrap();
        assert_eq!(back, rows);
    }

    #[test]
    fn run_links_files_without_touching_the_data_and_refuses_an_existing_folder() {
        let tmp = std::env::temp_dir().join(format!("drumsort-kit-folds-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let data = tmp.join("data");
        let rows = rows();
        for r in &rows {
            let p = data.join(&r.path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, r.path.as_bytes()).unwrap();
        }
        // One manifest row without a file: reported and left out, not fatal.
        let mut with_missing = rows.clone();
        with_missing.push(row("val", "kick", "gone.wav", "repo:A", "g"));
        std::fs::write(data.join("MANIFEST.csv"), manifest_text(&with_missing)).unwrap();
        let before = std::fs::read(data.join("MANIFEST.csv")).unwrap();
        let out = tmp.join("fold1");
        run(KitFoldsArgs { data: data.clone(), folds: 2, fold: 1, out: out.clone() }).unwrap();

        let written = parse_manifest(&std::fs::read_to_string(out.join("MANIFEST.csv")).unwrap()).unwrap();
        for r in written.iter().filter(|r| !r.path.ends_with("gone.wav")) {
            let linked = out.join(&r.path);
            assert!(linked.symlink_metadata().unwrap().file_type().is_symlink(), "{}", r.path);
            // The link reads the original file, whose content is its original path.
            let content = std::fs::read_to_string(&linked).unwrap();
            assert_eq!(content.split_once('/').unwrap().1, r.path.split_once('/').unwrap().1);
        }
        let val = crate::dataset::list_labelled(&out.join("val")).unwrap();
        let train = crate::dataset::list_labelled(&out.join("train")).unwrap();
        assert_eq!(val.len(), 6, "B and C+D: {val:?}");
        assert_eq!(train.len(), 1 + 4 + 2, "train plus A and E: {train:?}");
        assert_eq!(std::fs::read(data.join("MANIFEST.csv")).unwrap(), before);
        assert_eq!(walk(&data), rows.len() + 1, "the data folder holds what it held");

        let again = run(KitFoldsArgs { data, folds: 2, fold: 1, out });
        assert!(again.unwrap_err().to_string().contains("exists"));
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    fn walk(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                if e.file_type().unwrap().is_dir() {
                    walk(&e.path())
                } else {
                    1
                }
            })
            .sum()
    }
}
