//! Drumsort core: decoding, features, the classifier model, the library index and hit
//! detection, shared by the CLI, the plugin and the developer tasks. Training and evaluation live
//! in `drumsort-train` (`train/`), out of the shipped runtime. Depends on no plugin, GUI or CLI
//! crate.

pub mod analyse;
pub mod canonical;
pub mod class;
pub mod classifier;
pub mod decode;
pub mod dsp;
pub mod fuzz;
pub mod hits;
pub mod index;
pub mod library;
pub mod mel;
pub mod midi_file;
pub mod model;
pub mod onset;
pub mod resample;
#[cfg(feature = "shipped-model")]
pub mod shipped;
pub mod synth;
pub mod walk;

pub use class::DrumClass;

/// How an executable runs its forward passes, for [`pin_compute_threads`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compute {
    /// One graph at a time (training): candle parallelises inside every operation.
    InsideOps,
    /// Many batches at once (classifying, scanning, evaluating): batches run in parallel on
    /// rayon and candle's element-wise operations stay on the calling thread, so its barrier
    /// pool's workers do not spin against the batches (0.71-0.81 instead of 1.1-1.2 ms per
    /// one-second clip here; `CANDLE_NUM_THREADS=1` is what does it).
    AcrossBatches,
}

/// Pins the thread counts candle and rayon use, for executables to call first thing in `main`,
/// before any thread exists.
///
/// Without `RAYON_NUM_THREADS` (or `CANDLE_NUM_THREADS`) in the environment, candle 0.11 asks
/// `num_cpus::get_physical()` on every matrix product, which re-reads `/proc/cpuinfo` each time:
/// `strace` counted 34,541 opens in a few seconds of inference. Setting the variable once makes
/// the small batches of the hit labeller about three times faster (0.35 -> 0.13 ms per 50 ms
/// window at batch 32). Respects values the user set. Not for the plugin: a library must not
/// change its host's environment.
pub fn pin_compute_threads(compute: Compute) {
    if std::env::var_os("RAYON_NUM_THREADS").is_some() || std::env::var_os("CANDLE_NUM_THREADS").is_some() {
        return;
    }
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    // SAFETY: called at the start of `main`, before the program has spawned any thread, so no
    // other thread can be reading the environment.
    unsafe {
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
        if compute == Compute::AcrossBatches {
            std::env::set_var("CANDLE_NUM_THREADS", "1");
        }
    }
}
