//! Drumsort core: decoding, features, the classifier model and its training, the library index
//! and hit detection, shared by the CLI, the plugin and the developer tasks. Depends on no
//! plugin, GUI or CLI crate.

pub mod analyse;
pub mod augment;
pub mod class;
pub mod classifier;
pub mod dataset;
pub mod decode;
pub mod fuzz;
pub mod hits;
pub mod index;
pub mod library;
pub mod mel;
pub mod metrics;
pub mod midi_file;
pub mod model;
pub mod onset;
pub mod resample;
#[cfg(feature = "shipped-model")]
pub mod shipped;
pub mod synth;
pub mod train;
pub mod walk;

pub use class::DrumClass;
