//! Drumsort training and evaluation: everything that makes and measures the models, kept out of the
//! shipped runtime (`drumsort-core`, which the CLI and the plugin link). `cargo xtask train | eval |
//! make-performances | eval-hits | tune-hits` are thin wrappers over the commands here: each
//! command's module holds its clap arguments next to its `run`.
//!
//! - Data: [`dataset`] (labelled folders, the data's manifest), [`folder`] (decoding one with what
//!   failed printed), [`performances`] (annotated drum tracks played from the one-shots).
//! - Training: [`augment`] (audio augmentation), [`fit`] (the training loop), [`recipe`] (`cargo
//!   xtask train`: its flags, the hit model's preset, the command).
//! - Measuring: [`metrics`] (accuracy, F1, bootstrap intervals, calibration), [`eval`] (the
//!   one-shot classifier on a labelled folder), [`eval_hits`] (the real-time hit path on drum
//!   tracks), [`tune_hits`] (the hit labeller's per-class thresholds).

pub mod augment;
pub mod dataset;
pub mod eval;
pub mod eval_hits;
pub mod fit;
pub mod folder;
pub mod metrics;
pub mod performances;
pub mod recipe;
pub mod tune_hits;
