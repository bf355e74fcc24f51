//! Scan behaviour over synthesised libraries: incremental rescans, moves, deletions, edits,
//! corrections, model upgrades and interruption. Class names are never asserted: the shipped
//! model may be a placeholder.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use super::super::tests::temp_dir;
use super::super::{content_hash, Entry, ListFilter, Relabelled, Status};
use super::indexing::below;
use super::*;
use crate::class::DrumClass;
use crate::synth::Demo;

/// A randomly initialised network named `version`: the scan needs a model that runs, not one that
/// is right, and `assets/model/` may lag behind the network code while a new model trains.
fn model(version: &str) -> Classifier {
    crate::classifier::untrained(version)
}

fn classifier() -> Classifier {
    model(&format!("test-{:?}", std::thread::current().id()).replace(['(', ')'], ""))
}

fn write_wav(path: &Path, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for v in samples {
        w.write_sample((v * 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
}

/// Every demo sound under `dir/lib` (half of them in a subfolder) plus one garbage `.wav`.
fn library(dir: &Path) -> PathBuf {
    let lib = dir.join("lib");
    std::fs::create_dir_all(lib.join("sub")).unwrap();
    for (i, d) in Demo::ALL.iter().enumerate() {
        let sub = if i % 2 == 0 { "" } else { "sub" };
        write_wav(&lib.join(sub).join(format!("{}.wav", d.file_stem())), &d.render(44_100, 7));
    }
    std::fs::write(lib.join("garbage.wav"), b"definitely not a RIFF file, just text".repeat(20)).unwrap();
    lib
}

fn scan(index: &mut Index, root: &Path, classifier: &Classifier) -> ScanSummary {
    index.scan(&[root.to_path_buf()], &mut ScanModel::loaded(classifier), &ScanOptions::default(), |_| {}).unwrap()
}

fn entry(index: &Index, path: &Path) -> Entry {
    index.entry(path).unwrap().unwrap_or_else(|| panic!("{} not indexed", path.display()))
}

#[test]
fn scans_are_incremental_and_follow_moves_deletions_and_edits() {
    let dir = temp_dir("incremental");
    let lib = library(&dir);
    let n = Demo::ALL.len() + 1;
    let c = classifier();
    let mut index = Index::open(&dir.join("db.sqlite")).unwrap();

    let first = scan(&mut index, &lib, &c);
    assert_eq!((first.files, first.new, first.analysed, first.errors), (n, n, n, 1), "{first:?}");
    let all = index.list(&ListFilter::default()).unwrap();
    assert_eq!(all.len(), n);
    let garbage = entry(&index, &lib.join("garbage.wav"));
    assert_eq!(garbage.status, Status::Failed);
    assert!(["not_audio", "corrupt"].contains(&garbage.error.as_ref().unwrap().kind.as_str()), "{garbage:?}");
    let kick = lib.join("boom_01.wav");
    let before = entry(&index, &kick);
    assert_eq!(before.status, Status::Analysed);
    assert_eq!(before.model_version.as_deref(), Some(c.meta().model_version.as_str()));
    assert_eq!(index.embedding(&kick).unwrap().unwrap().len(), c.meta().model.embed_dim);

    let again = scan(&mut index, &lib, &c);
    assert_eq!((again.new, again.changed, again.unchanged, again.analysed, again.errors), (0, 0, n, 0, 1), "{again:?}");

    // Move (rename into another folder, mtime kept) a file the user corrected.
    index.set_correction(&kick, Some(DrumClass::Cowbell)).unwrap();
    let moved_to = lib.join("sub/renamed kick.wav");
    std::fs::rename(&kick, &moved_to).unwrap();
    let moved = scan(&mut index, &lib, &c);
    assert_eq!((moved.new, moved.moved, moved.missing, moved.analysed), (0, 1, 0, 0), "{moved:?}");
    assert!(index.entry(&kick).unwrap().is_none(), "the old path is gone from the index");
    let after = entry(&index, &moved_to);
    assert_eq!(after.prediction, before.prediction, "a move keeps the analysis");
    assert_eq!(after.correction, Some(DrumClass::Cowbell));
    assert_eq!(after.class(), Some(DrumClass::Cowbell), "the user's class wins");

    // Delete one: marked missing, kept, and back when the file returns.
    let snare = lib.join("sub/crack_02.wav");
    let snare_bytes = std::fs::read(&snare).unwrap();
    std::fs::remove_file(&snare).unwrap();
    let deleted = scan(&mut index, &lib, &c);
    assert_eq!((deleted.missing, deleted.unchanged), (1, n - 1), "{deleted:?}");
    assert_eq!(index.list(&ListFilter::default()).unwrap().len(), n - 1);
    let missing = index.list(&ListFilter { missing: true, ..Default::default() }).unwrap();
    assert_eq!(missing.iter().map(|e| e.path.clone()).collect::<Vec<_>>(), std::slice::from_ref(&snare));
    assert!(missing[0].missing && missing[0].prediction.is_some());

    // Edit one (shorter audio, same name): analysed again.
    let hat = lib.join("sub/tick_04.wav");
    let old = entry(&index, &hat);
    write_wav(&hat, &Demo::ClosedHat.render(44_100, 7)[..4_410]);
    let edited = scan(&mut index, &lib, &c);
    assert_eq!((edited.changed, edited.analysed), (1, 1), "{edited:?}");
    let new = entry(&index, &hat);
    assert_ne!(new.hash, old.hash);
    assert_ne!(new.info.as_ref().unwrap().duration_s, old.info.as_ref().unwrap().duration_s);

    std::fs::write(&snare, snare_bytes).unwrap();
    let back = scan(&mut index, &lib, &c);
    assert_eq!((back.missing, back.analysed, back.changed, back.unchanged), (0, 0, 0, n), "{back:?}");
    assert!(!entry(&index, &snare).missing);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn corrections_survive_model_upgrades_edits_and_apply_before_a_scan() {
    let dir = temp_dir("corrections");
    let lib = library(&dir);
    let n = Demo::ALL.len() + 1;
    let c = classifier();
    let mut index = Index::open(&dir.join("db.sqlite")).unwrap();

    // Relabelled before it is ever scanned: stored by content, applied by the scan.
    let pad = lib.join("sub/keys_13.wav");
    assert!(matches!(index.set_correction(&pad, Some(DrumClass::Ride)).unwrap(), Relabelled::NotIndexed(_)));
    scan(&mut index, &lib, &c);
    assert_eq!(entry(&index, &pad).class(), Some(DrumClass::Ride));
    let rides = index.list(&ListFilter { class: Some(DrumClass::Ride), ..Default::default() }).unwrap();
    assert!(rides.iter().any(|e| e.path == pad));

    // A new model analyses everything again; the correction stays.
    let v2 = model("test-upgrade-2");
    let up = scan(&mut index, &lib, &v2);
    assert_eq!((up.reanalysed, up.analysed, up.unchanged), (n, n, 0), "{up:?}");
    assert_eq!(entry(&index, &pad).model_version.as_deref(), Some("test-upgrade-2"));
    assert_eq!(entry(&index, &pad).correction, Some(DrumClass::Ride));

    // Edited content keeps the user's class; clearing it returns to the model's.
    write_wav(&pad, &Demo::SynthPad.render(44_100, 7)[..22_050]);
    let edited = scan(&mut index, &lib, &v2);
    assert_eq!(edited.changed, 1, "{edited:?}");
    assert_eq!(entry(&index, &pad).correction, Some(DrumClass::Ride));
    index.set_correction(&pad, None).unwrap();
    let e = entry(&index, &pad);
    assert_eq!((e.correction, e.class()), (None, e.prediction.as_ref().map(|p| p.class)));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_cancelled_scan_keeps_finished_batches_and_the_next_one_resumes() {
    let dir = temp_dir("cancel");
    let lib = library(&dir);
    let n = Demo::ALL.len() + 1;
    let c = classifier();
    let mut index = Index::open(&dir.join("db.sqlite")).unwrap();
    let cancel = Arc::new(AtomicBool::new(false));
    let opts = ScanOptions { batch_size: 4, cancel: Some(cancel.clone()), ..Default::default() };
    let first = index
        .scan(std::slice::from_ref(&lib), &mut ScanModel::loaded(&c), &opts, |p| {
            if p.phase == Phase::Analysing && p.done > 0 {
                cancel.store(true, Ordering::Relaxed);
            }
        })
        .unwrap();
    assert!(first.interrupted, "{first:?}");
    assert_eq!((first.analysed, first.pending), (4, n - 4), "{first:?}");
    let entries = index.list(&ListFilter::default()).unwrap();
    assert_eq!(entries.len(), n, "every file is indexed before analysis starts");
    assert_eq!(entries.iter().filter(|e| e.status == Status::Pending).count(), n - 4);
    let errors = index.list(&ListFilter { errors: true, ..Default::default() }).unwrap();
    assert!(errors.len() >= n - 4, "pending files are listed as not analysed");

    cancel.store(false, Ordering::Relaxed);
    let second = index.scan(std::slice::from_ref(&lib), &mut ScanModel::loaded(&c), &opts, |_| {}).unwrap();
    assert!(!second.interrupted);
    assert_eq!((second.resumed, second.analysed, second.new), (n - 4, n - 4, 0), "{second:?}");
    assert!(index.list(&ListFilter::default()).unwrap().iter().all(|e| e.status != Status::Pending));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unchanged_rescan_never_loads_the_model_and_copies_are_not_decoded() {
    let dir = temp_dir("lazy");
    let lib = library(&dir);
    let c = classifier();
    let mut index = Index::open(&dir.join("db.sqlite")).unwrap();
    scan(&mut index, &lib, &c);
    // Age the files past the timestamp-doubt window so the rescan is a pure stat comparison.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for e in index.list(&ListFilter::default()).unwrap() {
        std::fs::File::options().write(true).open(&e.path).unwrap().set_modified(old).unwrap();
    }
    scan(&mut index, &lib, &c); // records the new times (same bytes: copied, not decoded)
    let loads = AtomicUsize::new(0);
    let version = c.meta().model_version.clone();
    let mut lazy = ScanModel::lazy(version.clone(), || {
        loads.fetch_add(1, Ordering::Relaxed);
        Ok(model(&version))
    });
    let again = index.scan(std::slice::from_ref(&lib), &mut lazy, &ScanOptions::default(), |_| {}).unwrap();
    assert_eq!((again.unchanged, again.analysed), (Demo::ALL.len() + 1, 0), "{again:?}");
    assert_eq!(loads.load(Ordering::Relaxed), 0);

    // A copy of a known sound gets its analysis from the twin without decoding.
    std::fs::copy(lib.join("boom_01.wav"), lib.join("copy of boom.wav")).unwrap();
    let copied = index.scan(std::slice::from_ref(&lib), &mut lazy, &ScanOptions::default(), |_| {}).unwrap();
    assert_eq!((copied.new, copied.moved, copied.analysed), (1, 0, 0), "{copied:?}");
    assert_eq!(loads.load(Ordering::Relaxed), 0);
    assert_eq!(
        entry(&index, &lib.join("copy of boom.wav")).prediction,
        entry(&index, &lib.join("boom_01.wav")).prediction
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn only_files_under_the_scanned_roots_are_marked_missing() {
    let dir = temp_dir("roots");
    let lib = library(&dir);
    let c = classifier();
    let mut index = Index::open(&dir.join("db.sqlite")).unwrap();
    scan(&mut index, &lib, &c);
    // A sibling folder whose name extends the root's ("lib" vs "lib2") is not under it.
    let other = dir.join("lib2");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::remove_file(lib.join("boom_01.wav")).unwrap();
    let s = scan(&mut index, &lib.join("sub"), &c);
    assert_eq!(s.missing, 0, "boom_01.wav is outside lib/sub: {s:?}");
    let s = scan(&mut index, &other, &c);
    assert_eq!((s.files, s.missing), (0, 0), "{s:?}");
    let s = scan(&mut index, &lib, &c);
    assert_eq!(s.missing, 1, "{s:?}");
    assert_eq!(index.roots().unwrap()[0], lib.canonicalize().unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn key_ranges_cover_exactly_the_paths_below_a_root() {
    let (lo, hi) = below(b"/a/lib");
    for (p, inside) in [
        (&b"/a/lib/x.wav"[..], true),
        (b"/a/lib/sub/y.wav", true),
        (b"/a/lib2/x.wav", false),
        (b"/a/lib", false),
        (b"/a/lia/x", false),
    ] {
        assert_eq!(p >= &lo[..] && p < &hi[..], inside, "{}", String::from_utf8_lossy(p));
    }
    assert_eq!(below(b"/"), (b"/".to_vec(), b"0".to_vec()));
}

#[cfg(unix)]
#[test]
fn files_in_an_unreadable_folder_are_not_marked_missing() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("unreadable");
    let lib = library(&dir);
    let c = classifier();
    let mut index = Index::open(&dir.join("db.sqlite")).unwrap();
    scan(&mut index, &lib, &c);
    let sub = lib.join("sub");
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o000)).unwrap();
    let readable = std::fs::read_dir(&sub).is_ok(); // root ignores permissions
    let s = scan(&mut index, &lib, &c);
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o755)).unwrap();
    if readable {
        assert_eq!(s.missing, 0, "{s:?}");
    } else {
        assert_eq!((s.missing, s.problems.len()), (0, 1), "{s:?}");
    }
    // A root that is gone altogether is different: its files are missing.
    std::fs::rename(&lib, dir.join("elsewhere")).unwrap();
    let s = scan(&mut index, &lib, &c);
    assert_eq!(s.missing, Demo::ALL.len() + 1, "{s:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The deterministic half of the fault library's "files that vanish or change during a scan"
/// (cli/tests/faults.rs races them): between the walk and the read, one file is deleted and
/// another rewritten. The deleted one gets a clear I/O error on its entry and the scan goes on;
/// the rewritten one is stored with the hash of the bytes actually analysed. The next scan marks
/// the deleted one missing and finds nothing else to do.
#[test]
fn files_vanishing_or_changing_between_walk_and_read() {
    let dir = temp_dir("vanish");
    let lib = library(&dir);
    let c = classifier();
    let gone = lib.join(format!("{}.wav", Demo::ALL[0].file_stem()));
    let edited = lib.join(format!("sub/{}.wav", Demo::ALL[1].file_stem()));
    let mut index = Index::open(&dir.join("index.sqlite")).unwrap();
    let mut hooked = false;
    let summary = index
        .scan(std::slice::from_ref(&lib), &mut ScanModel::loaded(&c), &ScanOptions::default(), |p| {
            if p.phase == Phase::Analysing && !hooked {
                hooked = true;
                std::fs::remove_file(&gone).unwrap();
                write_wav(&edited, &Demo::ALL[5].render(44_100, 1));
            }
        })
        .unwrap();
    assert!(hooked, "the scan never reached analysis");
    assert!(!summary.interrupted);
    let e = entry(&index, &gone);
    let err = e.error.expect("the vanished file has an error");
    assert_eq!((e.status, err.kind.as_str()), (Status::Failed, "io"));
    assert!(err.message.contains("No such file"), "{}", err.message);
    let e = entry(&index, &edited);
    assert_eq!(e.status, Status::Analysed);
    assert_eq!(e.hash, Some(content_hash(&edited).unwrap()), "stored hash is of the bytes analysed");
    assert_eq!(e.size, std::fs::metadata(&edited).unwrap().len());

    let again = scan(&mut index, &lib, &c);
    assert_eq!((again.missing, again.new, again.analysed), (1, 0, 0), "{again:?}");
    assert!(index.list(&ListFilter::default()).unwrap().iter().all(|e| e.path != gone));
    std::fs::remove_dir_all(&dir).unwrap();
}
