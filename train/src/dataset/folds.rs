//! `cargo xtask kit-folds`: splits the validation kits into folds and lays out, for one fold, a
//! data folder whose train split is the real train split *plus the other folds' val kits* and
//! whose val split is that fold's kits alone. Training on it and scoring that fold against a model
//! trained on train alone measures what more kits like the validation ones would buy: the data
//! decision, measured before any data is gathered.
//!
//! The folder holds symbolic links to the data's files (nothing is copied, nothing in the data
//! folder is touched, and a folder inside it is refused) and a `MANIFEST.csv` with the new splits
//! and the columns the tools read (`split, class, path, source_repo, source_group, sound_kind,
//! dup_cluster`), so `train`, `eval`, `tune-hits` and `make-performances --val` read it like the
//! real one. Kits that share a near-duplicate cluster
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
    // Each kit with its file count, in name order.
    let mut files_of: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &val {
        *files_of.entry(r.source_group.as_str()).or_default() += 1;
    }
    let kits: Vec<(&str, usize)> = files_of.into_iter().collect();
    let index: HashMap<&str, usize> = kits.iter().enumerate().map(|(i, (k, _))| (*k, i)).collect();
    // Union-find over kits: two kits sharing a near-duplicate cluster are one group.
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
    for (i, &(kit, n)) in kits.iter().enumerate() {
        let group = groups.entry(root(&mut parent, i)).or_default();
        group.0 += n;
        group.1.push(kit);
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
/// other val rows moved to train (`split` and the path's leading `val/` rewritten). A moved row
/// whose path does not start with `val/` is an error: the layout would not be `<split>/<class>/`.
pub fn fold_rows(rows: &[ManifestRow], fold_of: &BTreeMap<String, usize>, fold: usize) -> Result<Vec<ManifestRow>> {
    rows.iter()
        .map(|r| {
            let mut r = r.clone();
            if r.split == "val" && fold_of.get(&r.source_group) != Some(&fold) {
                let Some(rest) = r.path.strip_prefix("val/") else {
                    bail!(
                        "val row {:?} does not start with val/: the manifest's paths must be <split>/<class>/<file>",
                        r.path
                    );
                };
                r.path = format!("train/{rest}");
                r.split = "train".into();
            }
            Ok(r)
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

/// `path` made absolute with symbolic links resolved, for a path that may not exist yet: its
/// nearest existing ancestor canonicalized, the rest appended.
fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    let abs = if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir()?.join(path) };
    let (mut base, mut rest) = (abs.as_path(), Vec::new());
    while !base.exists() {
        match (base.file_name(), base.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_owned());
                base = parent;
            }
            _ => break,
        }
    }
    let mut out = base.canonicalize()?;
    out.extend(rest.iter().rev());
    Ok(out)
}

/// Runs `cargo xtask kit-folds`: lays out `args.out` and prints each fold's kits and sizes.
pub fn run(args: KitFoldsArgs) -> Result<()> {
    if args.folds < 2 || args.fold >= args.folds {
        bail!("need --folds of at least 2 and --fold below it (got --folds {} --fold {})", args.folds, args.fold);
    }
    if args.out.exists() {
        bail!("{} exists: remove it, or lay the fold out into a new folder", args.out.display());
    }
    // Links point at absolute paths, so the folder works from any working directory.
    let data = args.data.canonicalize().with_context(|| format!("finding {}", args.data.display()))?;
    let out = resolve(&args.out).with_context(|| format!("finding where {} would be", args.out.display()))?;
    if out.starts_with(&data) || data.starts_with(&out) {
        bail!(
            "--out {} is inside the data folder {} (or holds it): the data is never written to; lay the fold out elsewhere",
            out.display(),
            data.display()
        );
    }
    let manifest = data.join("MANIFEST.csv");
    let text = std::fs::read_to_string(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
    let rows = parse_manifest(&text).with_context(|| format!("parsing {}", manifest.display()))?;
    let fold_of = assign_folds(&rows, args.folds);
    if !fold_of.values().any(|&f| f == args.fold) {
        bail!("fold {} has no val kits ({} kits in all for {} folds)", args.fold, fold_of.len(), args.folds);
    }
    let new_rows = fold_rows(&rows, &fold_of, args.fold)?;
    // Only rows whose file is there; two files meeting at one place is refused before any write.
    let (mut kept, mut missing) = (Vec::new(), Vec::new());
    let mut seen = std::collections::HashSet::new();
    for (old, new) in rows.iter().zip(new_rows) {
        let source = data.join(&old.path);
        if !source.is_file() {
            missing.push(old.path.clone());
            continue;
        }
        if !seen.insert(new.path.clone()) {
            bail!("two files would be laid out as {} (a val file named like a train file of its class)", new.path);
        }
        kept.push((source, new));
    }
    // Laid out beside its destination and renamed into place, so a failure leaves nothing behind.
    let partial = out.with_file_name(format!(
        ".{}.partial-{}",
        out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        std::process::id()
    ));
    let lay_out = || -> Result<()> {
        std::fs::create_dir_all(&partial).with_context(|| format!("creating {}", partial.display()))?;
        for (source, row) in &kept {
            let dest = partial.join(&row.path);
            let dir = dest.parent().expect("a manifest path has a folder");
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            link(source, &dest).with_context(|| format!("linking {} to {}", dest.display(), source.display()))?;
        }
        let rows: Vec<ManifestRow> = kept.iter().map(|(_, r)| r.clone()).collect();
        let path = partial.join("MANIFEST.csv");
        std::fs::write(&path, manifest_text(&rows)).with_context(|| format!("writing {}", path.display()))?;
        std::fs::rename(&partial, &out).with_context(|| format!("renaming {} to {}", partial.display(), out.display()))
    };
    if let Err(e) = lay_out() {
        // Only links and the manifest this run wrote are in there.
        let _ = std::fs::remove_dir_all(&partial);
        return Err(e);
    }
    for f in 0..args.folds {
        let kits: Vec<&str> = fold_of.iter().filter(|(_, &k)| k == f).map(|(kit, _)| kit.as_str()).collect();
        let files = rows.iter().filter(|r| r.split == "val" && fold_of.get(&r.source_group) == Some(&f)).count();
        let role = if f == args.fold { "val" } else { "joins train" };
        println!("fold {f} ({role}): {files} files from {} kits: {}", kits.len(), kits.join("; "));
    }
    for path in missing.iter().take(10) {
        println!("  listed but not on disk, left out: {path}");
    }
    let count = |split: &str| kept.iter().filter(|(_, r)| r.split == split).count();
    println!(
        "wrote {}: train {} files, val {} files as links{}",
        args.out.display(),
        count("train"),
        count("val"),
        if missing.is_empty() {
            String::new()
        } else {
            format!("; {} manifest rows with no file left out", missing.len())
        }
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

    /// Val kits A (4 files), B (3), C (2) and D (2); a file of C and one of D are near-duplicates.
    /// Dealt kit by kit, C and D would land in different folds (A 0, B 1, C 1, D 0).
    fn rows() -> Vec<ManifestRow> {
        let mut rows = vec![row("train", "kick", "t.wav", "repo:T", "t0")];
        rows.extend((0..4).map(|i| row("val", "kick", &format!("a{i}.wav"), "repo:A", &format!("a{i}"))));
        rows.extend((0..3).map(|i| row("val", "snare", &format!("b{i}.wav"), "repo:B", &format!("b{i}"))));
        rows.extend((0..2).map(|i| row("val", "tom", &format!("c{i}.wav"), "repo:C", ["cd", "c1"][i])));
        rows.extend((0..2).map(|i| row("val", "perc", &format!("d{i}.wav"), "repo:D", ["cd", "d1"][i])));
        rows
    }

    #[test]
    fn kits_sharing_a_near_duplicate_stay_together_and_folds_balance() {
        let fold_of = assign_folds(&rows(), 2);
        assert_eq!(fold_of.len(), 4, "every val kit, no train kit: {fold_of:?}");
        // C and D are one group of 4: A (4) to fold 0, C+D (4, after A by name) to fold 1, B (3)
        // to fold 0 (4 = 4, the lower fold), so the folds hold 7 and 4 files.
        assert_eq!(fold_of["repo:C"], fold_of["repo:D"], "{fold_of:?}");
        assert_eq!((fold_of["repo:A"], fold_of["repo:B"], fold_of["repo:C"]), (0, 0, 1));
        assert_eq!(assign_folds(&rows(), 2), fold_of, "the same on every run");
        // Without the shared cluster they are dealt one by one and split.
        let mut apart = rows();
        apart.iter_mut().filter(|r| r.dup_cluster == "cd").for_each(|r| r.dup_cluster = r.path.clone());
        let apart = assign_folds(&apart, 2);
        assert_ne!(apart["repo:C"], apart["repo:D"], "{apart:?}");
    }

    #[test]
    fn other_folds_join_train_and_the_held_out_fold_stays_val() {
        let rows = rows();
        let fold_of = assign_folds(&rows, 2);
        let new = fold_rows(&rows, &fold_of, 1).unwrap();
        assert_eq!(new.len(), rows.len());
        for (old, new) in rows.iter().zip(&new) {
            let held_out = old.split == "val" && fold_of[&old.source_group] == 1;
            let expect_split = if held_out { "val" } else { "train" };
            assert_eq!(new.split, expect_split, "{old:?}");
            assert!(new.path.starts_with(&format!("{expect_split}/")), "{new:?}");
            assert_eq!(new.path.split_once('/').unwrap().1, old.path.split_once('/').unwrap().1);
            assert_eq!(
                (&new.class, &new.source_group, &new.dup_cluster),
                (&old.class, &old.source_group, &old.dup_cluster)
            );
        }
        // A val row laid out otherwise than val/<class>/<file> cannot be moved to train.
        let mut odd = rows.clone();
        odd[1].path = "data/val/kick/a0.wav".into();
        assert!(fold_rows(&odd, &fold_of, 1).unwrap_err().to_string().contains("does not start with val/"));
    }

    #[test]
    fn manifest_text_reads_back_with_quoted_fields() {
        let mut rows = rows();
        rows[1].source_group = "repo:kit, \"live\"".into();
        let back = parse_manifest(&manifest_text(&rows)).unwrap();
        assert_eq!(back, rows);
    }

    /// A data folder with one file per row (its content the row's path) and a manifest listing
    /// `rows`, in a fresh temporary folder.
    fn data_folder(tag: &str, files: &[ManifestRow], listed: &[ManifestRow]) -> PathBuf {
        let tmp = std::env::temp_dir().join(format!("drumsort-kit-folds-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let data = tmp.join("data");
        for r in files {
            let p = data.join(&r.path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, r.path.as_bytes()).unwrap();
        }
        std::fs::write(data.join("MANIFEST.csv"), manifest_text(listed)).unwrap();
        tmp
    }

    /// Every file under `dir` with its content.
    fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut out = BTreeMap::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                out.extend(snapshot(&e.path()));
            } else {
                out.insert(e.path(), std::fs::read(e.path()).unwrap());
            }
        }
        out
    }

    #[test]
    fn run_links_files_without_touching_the_data_and_refuses_an_existing_folder() {
        let rows = rows();
        // One manifest row without a file: reported and left out, not fatal.
        let mut listed = rows.clone();
        listed.push(row("val", "kick", "gone.wav", "repo:A", "g"));
        let tmp = data_folder("run", &rows, &listed);
        let data = tmp.join("data");
        let before = snapshot(&data);
        let out = tmp.join("fold1");
        run(KitFoldsArgs { data: data.clone(), folds: 2, fold: 1, out: out.clone() }).unwrap();

        let written = parse_manifest(&std::fs::read_to_string(out.join("MANIFEST.csv")).unwrap()).unwrap();
        assert_eq!(written.len(), rows.len(), "the row without a file is left out: {written:?}");
        assert!(!written.iter().any(|r| r.path.ends_with("gone.wav")));
        for r in &written {
            let linked = out.join(&r.path);
            assert!(linked.symlink_metadata().unwrap().file_type().is_symlink(), "{}", r.path);
            // The link reads the original file, whose content is its original path.
            let content = std::fs::read_to_string(&linked).unwrap();
            assert_eq!(content.split_once('/').unwrap().1, r.path.split_once('/').unwrap().1);
        }
        let val = crate::dataset::list_labelled(&out.join("val")).unwrap();
        let train = crate::dataset::list_labelled(&out.join("train")).unwrap();
        // The listed-but-missing file makes A 5 rows, so B joins C+D in fold 1 (4 < 5).
        assert_eq!(val.len(), 3 + 2 + 2, "B, C and D: {val:?}");
        assert_eq!(train.len(), 1 + 4, "train plus A's four files: {train:?}");
        assert_eq!(snapshot(&data), before, "the data folder holds what it held");
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 2, "data and fold1, no partial folder left");

        let again = run(KitFoldsArgs { data, folds: 2, fold: 1, out });
        assert!(again.unwrap_err().to_string().contains("exists: remove it"));
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn a_folder_inside_the_data_or_two_files_meeting_are_refused_before_any_write() {
        let rows = rows();
        let tmp = data_folder("refuse", &rows, &rows);
        let data = tmp.join("data");
        let before = snapshot(&data);
        for out in [data.join("fold0"), data.join("val").join("fold0"), tmp.clone()] {
            let err = run(KitFoldsArgs { data: data.clone(), folds: 2, fold: 0, out: out.clone() });
            if out == tmp {
                assert!(err.unwrap_err().to_string().contains("exists"));
            } else {
                assert!(err.unwrap_err().to_string().contains("inside the data folder"), "{}", out.display());
            }
        }
        // A val file of kit A (moving to train with fold 1 held out) named like train's kick.
        let mut clash = rows.clone();
        clash[1].path = "val/kick/t.wav".into();
        std::fs::write(data.join("val/kick/t.wav"), b"val").unwrap();
        std::fs::write(data.join("MANIFEST.csv"), manifest_text(&clash)).unwrap();
        let before_clash = snapshot(&data);
        let out = tmp.join("fold1");
        let err = run(KitFoldsArgs { data: data.clone(), folds: 2, fold: 1, out: out.clone() }).unwrap_err();
        assert!(err.to_string().contains("two files would be laid out as train/kick/t.wav"), "{err}");
        assert!(!out.exists());
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 1, "nothing written beside the data");
        assert_eq!(snapshot(&data), before_clash);
        assert_ne!(before, before_clash, "the clash was set up by this test, not by run");
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
