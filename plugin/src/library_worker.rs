//! The library thread: runs the editor's commands against the shared SQLite index (the CLI's
//! index, so a library scanned by either shows up in both) and publishes what the editor draws.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use drumsort_core::classifier::Classifier;
use drumsort_core::decode::{decode_file, DecodeOptions};
use drumsort_core::index::{Index, ListFilter, Phase, ScanModel, ScanOptions, ScanSummary, Sound};
use drumsort_core::library::similar;

use crate::audio::AuditionEnds;
use crate::audio::AuditionMsg;
use crate::editor::hit_lane::clip_bytes;
use crate::layout;
use crate::params::DrumsortParams;
use crate::shared::panic_message;
use crate::shared::{Command, LibrarySnapshot, SampleDot, Shared, SimilarResult};

/// How often the thread wakes to free retired buffers and check for shutdown.
const TICK: Duration = Duration::from_millis(50);
/// Longest audition, seconds: enough for a crash's tail, bounded for a mislabelled hour-long file.
const MAX_AUDITION_S: f32 = 30.0;
/// How often a running scan republishes the graph, so dropped folders appear while they scan.
const SNAPSHOT_EVERY: Duration = Duration::from_secs(2);
/// Neighbours listed by "Show similar".
const SIMILAR_COUNT: usize = 12;

/// The library thread's state. Built on the plugin thread, moved into its own thread by
/// [`crate::worker::Worker::start`].
pub struct LibraryWorker {
    shared: Arc<Shared>,
    params: Arc<DrumsortParams>,
    commands: Receiver<Command>,
    audition_setup: Receiver<AuditionEnds>,
    stop: Arc<AtomicBool>,
    /// Opened on the thread, on first use; `None` until then or if it cannot be opened.
    index: Option<Index>,
    /// Loaded on first need (a scan with new files, similarity for an unindexed file).
    classifier: Option<Classifier>,
    audition: Option<AuditionEnds>,
    generation: u64,
}

impl LibraryWorker {
    pub fn new(
        shared: Arc<Shared>,
        params: Arc<DrumsortParams>,
        commands: Receiver<Command>,
        audition_setup: Receiver<AuditionEnds>,
        stop: Arc<AtomicBool>,
    ) -> Self {
        Self {
            shared,
            params,
            commands,
            audition_setup,
            stop,
            index: None,
            classifier: None,
            audition: None,
            generation: 0,
        }
    }

    /// The thread's loop, until the plugin is dropped.
    pub fn run(mut self) {
        // The library is read when an editor opens (`Command::Reload`) or a command needs it, not
        // on activation: a host with many instances and no editor open pays nothing for it.
        while !self.stop.load(Ordering::Acquire) {
            let next = self.commands.recv_timeout(TICK);
            // Rings of a new activation (which may have raced this command) are taken first.
            self.service_audio();
            match next {
                Ok(command) => self.handle_contained(command),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
    }

    /// Takes new audition rings and frees buffers the audio thread handed back.
    fn service_audio(&mut self) {
        while let Ok(ends) = self.audition_setup.try_recv() {
            self.audition = Some(ends);
        }
        if let Some(ends) = self.audition.as_mut() {
            while ends.retired.pop().is_ok() {}
        }
    }

    /// Runs a command; a panic inside it (a bug, or a fault a test injects) is caught here, never
    /// reaches the host, and leaves the worker serving: the index is reopened, any scan is marked
    /// stopped, and the status line says what failed.
    fn handle_contained(&mut self, command: Command) {
        let what = command.describe();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.handle(command)));
        if let Err(payload) = result {
            self.index = None;
            self.shared.update_scan(|s| s.running = false);
            self.shared.set_status(Some(format!(
                "Internal error while {what}: {}. The library was reopened; please report this.",
                panic_message(payload.as_ref())
            )));
            self.publish();
        }
    }

    fn handle(&mut self, command: Command) {
        fail::fail_point!("library-command", |_| ());
        match command {
            Command::AddPaths(paths) => {
                let paths: Vec<PathBuf> = paths.iter().map(|p| std::path::absolute(p).unwrap_or(p.clone())).collect();
                {
                    let mut roots = lock(&self.params.roots);
                    for p in &paths {
                        if !roots.contains(p) {
                            roots.push(p.clone());
                        }
                    }
                }
                self.scan(&paths);
            }
            Command::RemoveRoot(root) => {
                lock(&self.params.roots).retain(|r| r != &root);
                self.publish();
            }
            Command::Rescan => {
                let mut roots = lock(&self.params.roots).clone();
                if let Some(index) = self.index() {
                    for r in index.roots().unwrap_or_default() {
                        if !roots.contains(&r) {
                            roots.push(r);
                        }
                    }
                }
                self.scan(&roots);
            }
            Command::Reload => self.publish(),
            Command::Audition(path) => self.audition(&path),
            Command::StopAudition => {
                if let Some(ends) = self.audition.as_mut() {
                    let _ = ends.audition.push(AuditionMsg::Stop);
                }
                self.shared.set_playing(None);
            }
            Command::Relabel(path, class) => {
                let result = match self.index() {
                    Some(index) => index.set_correction(&path, class).map(|_| ()).map_err(|e| e.to_string()),
                    None => Err("the library index is not available".into()),
                };
                match result {
                    Ok(()) => self.publish(),
                    Err(e) => self.shared.set_status(Some(format!("Relabel failed: {e}"))),
                }
            }
            Command::FindSimilar(path) => self.similar(&path),
            Command::ExportMidi(path) => self.export_midi(&path),
        }
    }

    /// The index, opened on first use. A damaged one is set aside by `Index::open`; the user is
    /// told.
    fn index(&mut self) -> Option<&mut Index> {
        if self.index.is_none() {
            match Index::open_default(None) {
                Ok(index) => {
                    if let Some(aside) = index.set_aside() {
                        self.shared.set_status(Some(aside.to_string()));
                    }
                    self.index = Some(index);
                }
                Err(e) => self.shared.set_status(Some(format!("Cannot open the library index: {e}"))),
            }
        }
        self.index.as_mut()
    }

    fn classifier(&mut self) -> Option<&Classifier> {
        if self.classifier.is_none() {
            match Classifier::shipped() {
                Ok(c) => self.classifier = Some(c),
                Err(e) => self.shared.set_status(Some(format!("The model failed to load: {e}"))),
            }
        }
        self.classifier.as_ref()
    }

    /// Scans `roots` into the index with progress; auditions keep working meanwhile, the graph is
    /// republished every few seconds, and dropping the plugin stops the scan after its batch.
    fn scan(&mut self, roots: &[PathBuf]) {
        if roots.is_empty() {
            return;
        }
        if self.index().is_none() || self.classifier().is_none() {
            return;
        }
        let started = Instant::now();
        self.shared.update_scan(|s| {
            s.running = true;
            s.phase = "finding files".into();
            s.done = 0;
            s.total = 0;
            s.files_per_s = 0.0;
        });
        let opts = ScanOptions { cancel: Some(Arc::clone(&self.stop)), ..ScanOptions::default() };
        let (Some(mut index), Some(classifier)) = (self.index.take(), self.classifier.take()) else { return };
        let mut last_publish = Instant::now();
        let db_path = index.path().to_path_buf();
        let result = {
            let mut model = ScanModel::loaded(&classifier);
            index.scan(roots, &mut model, &opts, |p| {
                let secs = started.elapsed().as_secs_f32().max(1e-3);
                self.shared.update_scan(|s| {
                    s.phase = match p.phase {
                        Phase::Walking => "finding files".into(),
                        Phase::Analysing => "analysing".into(),
                    };
                    s.done = p.done;
                    s.total = p.total.unwrap_or(0);
                    s.files_per_s = if p.phase == Phase::Analysing { p.done as f32 / secs } else { 0.0 };
                });
                // Quick commands are served between batches; the rest wait for the scan's end.
                self.serve_auditions_during_scan();
                if p.phase == Phase::Analysing && last_publish.elapsed() >= SNAPSHOT_EVERY {
                    last_publish = Instant::now();
                    // A second connection reads what the scan has committed so far.
                    if let Ok(reader) = Index::open(&db_path) {
                        self.publish_from(&reader);
                    }
                }
            })
        };
        self.index = Some(index);
        self.classifier = Some(classifier);
        let summary = match result {
            Ok(summary) => Some(describe(&summary)),
            Err(e) => {
                self.shared.set_status(Some(format!("Scan failed: {e}")));
                None
            }
        };
        self.shared.update_scan(|s| {
            s.running = false;
            s.last_summary = summary;
        });
        self.publish();
    }

    /// Runs audition commands that arrived during a scan; others are re-queued in order.
    fn serve_auditions_during_scan(&mut self) {
        self.service_audio();
        let mut later = Vec::new();
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::Audition(path) => self.audition(&path),
                Command::StopAudition => self.handle(Command::StopAudition),
                other => later.push(other),
            }
        }
        for command in later {
            self.shared.send(command);
        }
    }

    /// Decodes `path` at the host's rate and hands it to the audio thread.
    fn audition(&mut self, path: &Path) {
        let Some(ends) = self.audition.as_mut() else {
            self.shared.set_status(Some("Auditioning starts once the host activates the plugin".into()));
            return;
        };
        let opts = DecodeOptions {
            target_rate: ends.sample_rate,
            max_seconds: MAX_AUDITION_S,
            pre_roll_s: 0.0,
            ..DecodeOptions::default()
        };
        match decode_file(path, &opts) {
            Ok(decoded) => {
                let stereo: Box<[f32]> = decoded.samples.iter().flat_map(|&s| [s, s]).collect();
                if ends.audition.push(AuditionMsg::Play(stereo)).is_err() {
                    self.shared
                        .set_status(Some("The audio thread is not taking samples (is the host processing?)".into()));
                    return;
                }
                self.shared.set_playing(Some(path.to_path_buf()));
            }
            Err(e) => self.shared.set_status(Some(format!("Cannot play {}: {e}", path.display()))),
        }
    }

    /// Nearest neighbours of `path` by the model's embedding (cosine distance) in the library; a
    /// file outside the index is analysed first. The same search as `drumsort similar`.
    fn similar(&mut self, path: &Path) {
        let Some(index) = self.index() else { return };
        let found = similar::query(index, path, Classifier::shipped)
            .and_then(|q| similar::nearest(index, &q, SIMILAR_COUNT, None).map(|n| (q, n)));
        match found {
            Ok((q, neighbours)) => self.shared.set_similar(SimilarResult {
                query: q.path,
                neighbours: neighbours.into_iter().map(|n| (n.sound.entry.path, n.distance)).collect(),
            }),
            Err(e) => self.shared.set_status(Some(format!("Cannot find sounds like {}: {e}", path.display()))),
        }
    }

    /// Writes the recorded hits as a standard MIDI file with the plugin's keys and channel.
    fn export_midi(&mut self, path: &Path) {
        // The same file as the editor's draggable clip.
        let recorded = self.shared.with_hits(|log| log.recorded.clone());
        let bytes = clip_bytes(&recorded, &self.params);
        match std::fs::write(path, bytes) {
            Ok(()) => self.shared.set_status(Some(format!("Saved {}", path.display()))),
            Err(e) => self.shared.set_status(Some(format!("Cannot write {}: {e}", path.display()))),
        }
    }

    /// Rebuilds the editor's snapshot from the index.
    fn publish(&mut self) {
        if self.index().is_none() {
            return;
        }
        if let Some(index) = self.index.take() {
            self.publish_from(&index);
            self.index = Some(index);
        }
    }

    fn publish_from(&mut self, index: &Index) {
        let sounds = index.sounds(|_| true);
        let mut errors = Vec::new();
        let listed = index.for_each_entry(&ListFilter { errors: true, ..ListFilter::default() }, |entry| {
            if let Some(err) = &entry.error {
                errors.push((entry.path, err.message.clone()));
            }
            Ok::<(), drumsort_core::index::IndexError>(())
        });
        let sounds = match (sounds, listed) {
            (Ok(sounds), Ok(())) => sounds,
            (Err(e), _) | (_, Err(e)) => {
                self.shared.set_status(Some(format!("Cannot read the library index: {e}")));
                return;
            }
        };
        let mut samples = Vec::with_capacity(sounds.len());
        let mut embeddings = Vec::with_capacity(sounds.len());
        for Sound { entry, embedding } in sounds {
            let (Some(class), Some(pred)) = (entry.class(), entry.prediction.as_ref()) else { continue };
            samples.push(SampleDot {
                name: entry.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                class,
                corrected: entry.correction.is_some(),
                confidence: pred.scores[class.index()],
                duration_s: entry.info.as_ref().and_then(|i| i.duration_s).unwrap_or(0.0) as f32,
                pos: [0.0, 0.0],
                path: entry.path,
            });
            embeddings.push(embedding);
        }
        let bubbles = layout::layout(&mut samples, &embeddings);
        self.generation += 1;
        let roots = lock(&self.params.roots).clone();
        self.shared.set_library(LibrarySnapshot { generation: self.generation, roots, samples, bubbles, errors });
    }
}

/// One line about a finished scan for the status bar.
fn describe(s: &ScanSummary) -> String {
    let mut line = format!("{} files: {} new, {} unchanged", s.files, s.new + s.changed, s.unchanged);
    if s.moved > 0 {
        line += &format!(", {} moved", s.moved);
    }
    if s.missing > 0 {
        line += &format!(", {} missing", s.missing);
    }
    if s.errors > 0 {
        line += &format!(", {} unreadable", s.errors);
    }
    if s.interrupted {
        line += &format!(", stopped with {} to go", s.pending);
    }
    line + &format!(" ({:.1} s)", s.seconds)
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
