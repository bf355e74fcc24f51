//! What the GUI thread and the plugin's worker thread share: the library as the editor draws it,
//! scan progress, recent hits, status, and the command channel from the GUI to the worker.
//!
//! ```text
//! GUI thread --Command (crossbeam channel)--> worker
//! worker     --Arc<LibrarySnapshot> swap, small locked structs, repaint request--> GUI
//! ```
//!
//! The audio thread never touches anything here: its traffic with the worker goes through the
//! rtrb rings in `audio.rs`. The locks below are held for a copy or a swap only, by the worker or
//! the GUI, never across I/O or inference.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use drumsort_core::class::DrumClass;

/// Most recent hits the editor's lane keeps.
pub const LANE_CAPACITY: usize = 512;

/// What the GUI asks the worker to do. Sent through an unbounded channel: the GUI never blocks.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Add files or folders (dropped, or picked with "Add folder") to the library roots and scan
    /// them.
    AddPaths(Vec<PathBuf>),
    /// Stop following a library root (its entries stay in the index; it is no longer shown).
    RemoveRoot(PathBuf),
    /// Rescan every root (picks up new, changed, moved and deleted files).
    Rescan,
    /// Re-read the index (another process, e.g. the CLI, changed it).
    Reload,
    /// Decode this file at the host's rate and play it through the plugin's output, replacing
    /// whatever is playing.
    Audition(PathBuf),
    /// Stop the sample that is playing.
    StopAudition,
    /// Store a user correction (`None` clears it) in the index.
    Relabel(PathBuf, Option<DrumClass>),
    /// Find the nearest neighbours of this file by embedding; the answer lands in
    /// [`Shared::similar`].
    FindSimilar(PathBuf),
    /// Write the recorded hits as a standard MIDI file at this path.
    ExportMidi(PathBuf),
}

impl Command {
    /// What the command does, for the status line ("while adding files").
    pub fn describe(&self) -> &'static str {
        match self {
            Command::AddPaths(_) => "adding files",
            Command::RemoveRoot(_) => "removing a folder",
            Command::Rescan => "rescanning",
            Command::Reload => "reading the library",
            Command::Audition(_) => "auditioning",
            Command::StopAudition => "stopping the audition",
            Command::Relabel(..) => "relabelling",
            Command::FindSimilar(_) => "finding similar sounds",
            Command::ExportMidi(_) => "saving MIDI",
        }
    }
}

/// The message of a caught panic.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// One sample as the bubble graph draws it. Built by the worker from an index entry.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleDot {
    /// The file, as indexed.
    pub path: PathBuf,
    /// File name, for hover and text filtering.
    pub name: String,
    /// The class shown: the user's correction if there is one, else the model's.
    pub class: DrumClass,
    /// Whether `class` is a user correction.
    pub corrected: bool,
    /// The model's score for its class, 0..=1.
    pub confidence: f32,
    /// Duration of the file, seconds.
    pub duration_s: f32,
    /// Position in graph ("world") coordinates, inside its class bubble; from the layout.
    pub pos: [f32; 2],
}

/// One class bubble of the graph: area proportional to its sample count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClassBubble {
    pub class: DrumClass,
    /// Centre in world coordinates.
    pub center: [f32; 2],
    pub radius: f32,
    /// Samples inside.
    pub count: usize,
}

/// The library as the editor draws it: immutable once built, swapped whole by the worker so the
/// GUI thread only ever clones an `Arc`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LibrarySnapshot {
    /// Bumped on every rebuild, so the GUI can tell a new snapshot from the one it has.
    pub generation: u64,
    /// The roots the user added, in order.
    pub roots: Vec<PathBuf>,
    /// Every sample that decoded and was classified, in a stable order (by path).
    pub samples: Vec<SampleDot>,
    /// One bubble per class that has samples.
    pub bubbles: Vec<ClassBubble>,
    /// Files under the roots that could not be read, with their error.
    pub errors: Vec<(PathBuf, String)>,
}

/// Scan progress as the editor shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScanStatus {
    /// Whether a scan is running.
    pub running: bool,
    /// What is being done ("walking", "analysing", ...).
    pub phase: String,
    /// Files done and to do in the current phase.
    pub done: usize,
    pub total: usize,
    /// Files per second so far.
    pub files_per_s: f32,
    /// One line about the last finished scan ("1,204 files, 3 errors, 2.1 s").
    pub last_summary: Option<String>,
}

/// One labelled hit as the lane shows it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LaneHit {
    /// Time of the hit, seconds since the plugin was activated (or reset).
    pub time_s: f64,
    pub class: DrumClass,
    pub velocity: u8,
    pub confidence: f32,
}

/// Recent hits and counters for the editor's hit lane.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HitLog {
    /// The last [`LANE_CAPACITY`] hits, oldest first.
    pub recent: VecDeque<LaneHit>,
    /// Hits per class since activation, indexed by [`DrumClass::index`].
    pub counts: [u64; DrumClass::ALL.len()],
    /// Whether hits are being recorded for MIDI export.
    pub recording: bool,
    /// The hits of the current (or last) recording, for export.
    pub recorded: Vec<LaneHit>,
}

impl HitLog {
    /// Adds a hit to the lane, the counts and, while recording, the recording.
    pub fn push(&mut self, hit: LaneHit) {
        if self.recent.len() == LANE_CAPACITY {
            self.recent.pop_front();
        }
        self.recent.push_back(hit);
        self.counts[hit.class.index()] += 1;
        if self.recording {
            self.recorded.push(hit);
        }
    }
}

/// Neighbours of one file, as asked with [`Command::FindSimilar`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SimilarResult {
    pub query: PathBuf,
    /// Nearest first: path and embedding distance.
    pub neighbours: Vec<(PathBuf, f32)>,
}

/// State shared by the GUI and the worker (one per plugin instance, behind an `Arc`).
pub struct Shared {
    library: Mutex<Arc<LibrarySnapshot>>,
    scan: Mutex<ScanStatus>,
    hits: Mutex<HitLog>,
    similar: Mutex<Option<SimilarResult>>,
    /// The last error or notice for the status bar (a file that would not play, a corrupt index
    /// set aside, ...).
    status: Mutex<Option<String>>,
    /// The latency reported to the host, samples (written on `activate` and when the lookahead
    /// changes).
    pub latency_samples: AtomicU32,
    /// The host's sample rate, Hz (0 before the first `activate`).
    pub sample_rate: AtomicU32,
    /// Hits the audio thread dropped because the worker fell behind.
    pub dropped_hits: AtomicU64,
    /// Note-ons the audio thread sent after their time (at the start of a later block) because
    /// the worker labelled the hit after it was due, since the last `activate`.
    pub late_notes: AtomicU64,
    /// The path of the sample playing, if any (set by the worker when it hands a sample over).
    playing: Mutex<Option<PathBuf>>,
    commands: crossbeam_channel::Sender<Command>,
    /// Asks the open editor (if any) to repaint; set by the editor when it opens.
    repaint: Mutex<Option<Box<dyn Fn() + Send>>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("library_generation", &lock(&self.library).generation)
            .field("scan", &*lock(&self.scan))
            .field("latency_samples", &self.latency_samples)
            .finish_non_exhaustive()
    }
}

/// Locks a mutex even if a panicking thread poisoned it: the data here are plain snapshots that
/// are never left half-written.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// New shared state and the receiving end of its command channel (for the worker).
    pub fn new() -> (Arc<Self>, crossbeam_channel::Receiver<Command>) {
        let (commands, rx) = crossbeam_channel::unbounded();
        let shared = Self {
            library: Mutex::default(),
            scan: Mutex::default(),
            hits: Mutex::default(),
            similar: Mutex::default(),
            status: Mutex::default(),
            latency_samples: AtomicU32::new(0),
            sample_rate: AtomicU32::new(0),
            dropped_hits: AtomicU64::new(0),
            late_notes: AtomicU64::new(0),
            playing: Mutex::default(),
            commands,
            repaint: Mutex::default(),
        };
        (Arc::new(shared), rx)
    }

    /// Sends a command to the worker. Never blocks; a command sent while no worker runs waits in
    /// the channel until one does.
    pub fn send(&self, command: Command) {
        // The receiver lives as long as the plugin, which outlives every editor.
        let _ = self.commands.send(command);
    }

    /// The current library snapshot (an `Arc` clone).
    pub fn library(&self) -> Arc<LibrarySnapshot> {
        Arc::clone(&lock(&self.library))
    }

    /// Replaces the library snapshot (worker).
    pub fn set_library(&self, snapshot: LibrarySnapshot) {
        *lock(&self.library) = Arc::new(snapshot);
        self.request_repaint();
    }

    /// A copy of the scan status.
    pub fn scan(&self) -> ScanStatus {
        lock(&self.scan).clone()
    }

    /// Updates the scan status (worker).
    pub fn update_scan(&self, f: impl FnOnce(&mut ScanStatus)) {
        f(&mut lock(&self.scan));
        self.request_repaint();
    }

    /// Runs `f` on the hit log (worker pushes, GUI reads and toggles recording).
    pub fn with_hits<R>(&self, f: impl FnOnce(&mut HitLog) -> R) -> R {
        f(&mut lock(&self.hits))
    }

    /// The last similarity answer.
    pub fn similar(&self) -> Option<SimilarResult> {
        lock(&self.similar).clone()
    }

    /// Stores a similarity answer (worker).
    pub fn set_similar(&self, result: SimilarResult) {
        *lock(&self.similar) = Some(result);
        self.request_repaint();
    }

    /// The status-bar message, if any.
    pub fn status(&self) -> Option<String> {
        lock(&self.status).clone()
    }

    /// Sets (or clears) the status-bar message.
    pub fn set_status(&self, message: Option<String>) {
        *lock(&self.status) = message;
        self.request_repaint();
    }

    /// The sample being auditioned, if any.
    pub fn playing(&self) -> Option<PathBuf> {
        lock(&self.playing).clone()
    }

    /// Records which sample is playing (worker).
    pub fn set_playing(&self, path: Option<PathBuf>) {
        *lock(&self.playing) = path;
        self.request_repaint();
    }

    /// Latency reported to the host, milliseconds (0 before activation).
    pub fn latency_ms(&self) -> f32 {
        let rate = self.sample_rate.load(Ordering::Relaxed);
        if rate == 0 {
            return 0.0;
        }
        self.latency_samples.load(Ordering::Relaxed) as f32 * 1000.0 / rate as f32
    }

    /// Installs the editor's repaint callback (`None` when the editor closes).
    pub fn set_repaint(&self, repaint: Option<Box<dyn Fn() + Send>>) {
        *lock(&self.repaint) = repaint;
    }

    /// Asks the open editor, if any, to repaint.
    pub fn request_repaint(&self) {
        if let Some(repaint) = lock(&self.repaint).as_ref() {
            repaint();
        }
    }
}
