//! Source safety: every command that writes is run over a generated library whose blake3
//! checksums are taken before and after; no source byte may change, and nothing may appear in
//! or vanish from the library. Prints the figures for the README's reliability section.
//!
//! A new writing command is one more line in [`COMMANDS`].

mod support;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use support::{drumsort, library, model_dir, ok, temp_dir, Checksums};

/// Where a command runs: the library, the index, the model and a folder outside the library it
/// may write to.
struct Setup {
    lib: PathBuf,
    db: PathBuf,
    out: PathBuf,
}

impl Setup {
    /// A file of the library (the first demo sound, first variant).
    fn sample(&self) -> PathBuf {
        self.lib.join(format!("{}-0.wav", drumsort_core::synth::Demo::ALL[0].file_stem()))
    }
}

fn args(parts: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<OsString> {
    parts.iter().map(|p| p.as_ref().to_os_string()).collect()
}

/// Every writing command, with the arguments it gets, in the order they run (later commands see
/// the index the earlier ones wrote). One line per command.
#[allow(clippy::type_complexity)]
const COMMANDS: &[(&str, fn(&Setup) -> Vec<OsString>)] = &[
    ("scan", |s| args(&[&"scan", &"--db", &s.db, &"--model", &model_dir(), &s.lib])),
    ("relabel", |s| args(&[&"relabel", &s.sample(), &"snare", &"--db", &s.db])),
    ("relabel --clear", |s| args(&[&"relabel", &s.sample(), &"--clear", &"--db", &s.db])),
    ("scan (rescan)", |s| args(&[&"scan", &"--db", &s.db, &"--model", &model_dir(), &s.lib])),
    ("hits --out (mid)", |s| {
        args(&[&"hits", &s.sample(), &"--model", &model_dir(), &"--out", &s.out.join("hits.mid")])
    }),
    ("hits --out (csv)", |s| {
        args(&[&"hits", &s.sample(), &"--model", &model_dir(), &"--out", &s.out.join("hits.csv")])
    }),
    ("organize (copy)", |s| args(&[&"organize", &"--into", &s.out.join("copy"), &"--db", &s.db])),
    ("organize (hardlink)", |s| {
        args(&[&"organize", &"--into", &s.out.join("hard"), &"--mode", &"hardlink", &"--db", &s.db])
    }),
    ("organize (symlink)", |s| {
        args(&[&"organize", &"--into", &s.out.join("sym"), &"--mode", &"symlink", &"--db", &s.db])
    }),
    ("kit", |s| {
        args(&[&"kit", &"--from", &s.lib, &"--out", &s.out.join("kit"), &"--model", &model_dir(), &"--db", &s.db])
    }),
];

#[test]
fn no_writing_command_changes_a_source_byte() {
    let dir = temp_dir("source-safety");
    let (lib, n) = library(&dir, 3);
    // Odd citizens of a real library: a file that is not audio, a read-only one, a symlink.
    std::fs::write(lib.join("notes.txt"), b"kick: 909\n").unwrap();
    std::fs::write(lib.join("junk.wav"), b"not a wave").unwrap();
    let ro = lib.join("a/read-only.wav");
    std::fs::copy(lib.join(Path::new("a")).read_dir().unwrap().next().unwrap().unwrap().path(), &ro).unwrap();
    let mut perm = std::fs::metadata(&ro).unwrap().permissions();
    perm.set_readonly(true);
    std::fs::set_permissions(&ro, perm).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(lib.join("a"), lib.join("link-to-a")).unwrap();
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let setup = Setup { lib: lib.clone(), db: dir.join("index/library.sqlite"), out };

    let before = Checksums::take(&lib);
    assert!(before.files() >= n + 3, "the library has {} files", before.files());
    let mut changed_bytes = 0;
    for (name, make) in COMMANDS {
        ok(drumsort().args(make(&setup)).output().unwrap());
        let after = Checksums::take(&lib);
        let (changes, bytes) = after.changes_since(&before);
        assert!(changes.is_empty(), "`drumsort {name}` changed the library: {changes:#?}");
        changed_bytes += bytes;
    }
    for made in ["hits.mid", "hits.csv", "copy", "hard", "sym", "kit"] {
        assert!(setup.out.join(made).exists(), "{made} was not written: the command did nothing");
    }
    println!(
        "source safety: {} commands over {} files ({} bytes), bytes changed: {changed_bytes}",
        COMMANDS.len(),
        before.files(),
        before.bytes()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The checker itself must see a one-byte change, a new file and a removed one.
#[test]
fn checksums_see_every_kind_of_change() {
    let dir = temp_dir("checksums");
    let (lib, _) = library(&dir, 1);
    let before = Checksums::take(&lib);
    let victim = lib.join(format!("{}-0.wav", drumsort_core::synth::Demo::ALL[0].file_stem()));
    let mut bytes = std::fs::read(&victim).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&victim, &bytes).unwrap();
    let (changes, changed) = Checksums::take(&lib).changes_since(&before);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changed, bytes.len() as u64);
    std::fs::write(lib.join("new.wav"), b"x").unwrap();
    std::fs::remove_file(&victim).unwrap();
    let (changes, _) = Checksums::take(&lib).changes_since(&before);
    assert!(changes.iter().any(|c| c.starts_with("added")) && changes.iter().any(|c| c.starts_with("removed")));
    std::fs::remove_dir_all(&dir).unwrap();
}
