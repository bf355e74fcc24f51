//! The plugin's own background threads: all decoding, scanning and inference happens here, never
//! on the audio thread, the GUI thread or nice-plug's shared background executor.
//!
//! Two threads, started on the first `activate()` and stopped and joined when the plugin is
//! dropped:
//! - the hit labeller: takes hit windows from the audio thread's ring, runs the shipped hit model
//!   on them and sends notes back (latency-critical, so nothing else runs on it);
//! - the library thread (`library_worker.rs`): the GUI's commands (scan, audition, relabel,
//!   similar, MIDI export) against the shared SQLite index.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use drumsort_core::classifier::Classifier;
use drumsort_core::hits::{HitLabeler, HitWindow, VelocityCurve};

use crate::audio::{AuditionEnds, HitNote, WorkerEnds};
use crate::library_worker::LibraryWorker;
use crate::params::DrumsortParams;
use crate::shared::{panic_message, Command, LaneHit, Shared};

/// How long the hit labeller sleeps when no window is waiting. Windows arrive once per host
/// block; a millisecond keeps the reaction well inside the latency margin at little CPU.
const HIT_POLL: Duration = Duration::from_millis(1);

/// What `activate()` hands the worker: the far ends of the rings it just made.
#[derive(Debug)]
pub struct Activation {
    pub sample_rate: u32,
    pub labeler: HitLabeler,
    pub ends: WorkerEnds,
}

/// The hit labeller's ends of one activation's rings.
#[derive(Debug)]
struct HitEnds {
    labeler: HitLabeler,
    notes: rtrb::Producer<HitNote>,
    /// Windows finished with, for an offline `process()` that waits on them.
    handled: Arc<AtomicU64>,
}

/// Handle to the worker threads; dropping it stops and joins them.
#[derive(Debug)]
pub struct Worker {
    stop: Arc<AtomicBool>,
    hits: Sender<HitEnds>,
    audition: Sender<AuditionEnds>,
    threads: Vec<JoinHandle<()>>,
}

impl Worker {
    /// Starts both threads. `commands` is the receiving end of [`Shared`]'s channel.
    pub fn start(
        shared: Arc<Shared>,
        commands: Receiver<Command>,
        params: Arc<DrumsortParams>,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let (hits, hits_rx) = crossbeam_channel::unbounded();
        let (audition, audition_rx) = crossbeam_channel::unbounded();
        let mut threads = Vec::new();
        {
            let (stop, shared, params) = (Arc::clone(&stop), Arc::clone(&shared), Arc::clone(&params));
            threads.push(
                std::thread::Builder::new()
                    .name("drumsort-hits".into())
                    .spawn(move || hit_loop(&stop, &shared, &params, &hits_rx))?,
            );
        }
        {
            let stop = Arc::clone(&stop);
            let worker = LibraryWorker::new(shared, params, commands, audition_rx, Arc::clone(&stop));
            threads.push(std::thread::Builder::new().name("drumsort-library".into()).spawn(move || worker.run())?);
        }
        Ok(Self { stop, hits, audition, threads })
    }

    /// Hands the rings of a new activation to the threads (they drop the old ones).
    pub fn activate(&self, activation: Activation) {
        let Activation { sample_rate, labeler, ends } = activation;
        let WorkerEnds { audition, retired, notes, handled } = ends;
        // The receivers live until the threads are joined in `drop`.
        let _ = self.hits.send(HitEnds { labeler, notes, handled });
        let _ = self.audition.send(AuditionEnds { sample_rate, audition, retired });
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// The hit labeller's loop: windows in, notes out, lane updated.
fn hit_loop(stop: &AtomicBool, shared: &Shared, params: &DrumsortParams, setup: &Receiver<HitEnds>) {
    let classifier = match Classifier::shipped_hits() {
        Ok(c) => Some(c),
        Err(e) => {
            shared.set_status(Some(format!("The model failed to load, hits are not labelled: {e}")));
            None
        }
    };
    let mut current: Option<HitEnds> = None;
    let mut windows: Vec<HitWindow> = Vec::new();
    // Hits lost after the detector (notes that found the ring to the audio thread full, windows
    // lost to a labelling failure): counted with the detector's drops.
    let mut undelivered = 0u64;
    while !stop.load(Ordering::Acquire) {
        while let Ok(next) = setup.try_recv() {
            if let Some(classifier) = classifier.as_ref() {
                // Paid now, not by the first hit. A failure (or a panic) here shows again, and is
                // reported, on the first real window.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| next.labeler.warm_up(classifier)));
            }
            current = Some(next);
        }
        let Some(HitEnds { labeler, notes, handled }) = current.as_mut() else {
            std::thread::sleep(HIT_POLL * 10);
            continue;
        };
        labeler.velocity =
            VelocityCurve { floor_db: params.velocity_floor_db.value(), exponent: params.velocity_curve.value() };
        windows.clear();
        labeler.pop_all(&mut windows);
        shared.dropped_hits.store(labeler.dropped() + undelivered, Ordering::Relaxed);
        if windows.is_empty() {
            std::thread::sleep(HIT_POLL);
            continue;
        }
        // Whatever happens to these windows below, they are finished with once this pass ends:
        // an offline `process()` waiting on them must not wait forever.
        let _done = Handled { counter: handled, windows: windows.len() as u64 };
        let Some(classifier) = classifier.as_ref() else { continue };
        // A panic while labelling (a bug, or a fault a test injects) costs these windows, counted
        // as dropped hits, and never the thread or the host.
        let labelled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            fail::fail_point!("hit-label");
            labeler.label(classifier, &windows)
        }));
        let labelled = match labelled {
            Ok(result) => result,
            Err(payload) => {
                undelivered += windows.len() as u64;
                shared.set_status(Some(format!(
                    "Internal error while labelling hits: {}; {} hit(s) dropped",
                    panic_message(payload.as_ref()),
                    windows.len()
                )));
                continue;
            }
        };
        match labelled {
            Ok(hits) => {
                let rate = f64::from(labeler.sample_rate());
                shared.with_hits(|log| {
                    for hit in &hits {
                        for &(class, confidence) in &hit.classes {
                            let note = HitNote { sample: hit.sample, class, velocity: hit.velocity };
                            if notes.push(note).is_err() {
                                undelivered += 1;
                            }
                            log.push(LaneHit {
                                time_s: hit.sample as f64 / rate,
                                class,
                                velocity: hit.velocity,
                                confidence,
                            });
                        }
                    }
                });
                shared.request_repaint();
            }
            Err(e) => shared.set_status(Some(format!("Labelling hits failed: {e}"))),
        }
    }
}

/// Adds a batch of windows to the handled count when dropped: after the batch's notes are in the
/// ring (`Release`, paired with the audio thread's `Acquire`), on every path out of the batch.
struct Handled<'a> {
    counter: &'a AtomicU64,
    windows: u64,
}

impl Drop for Handled<'_> {
    fn drop(&mut self) {
        self.counter.fetch_add(self.windows, Ordering::Release);
    }
}
