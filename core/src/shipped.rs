//! The models in `assets/`, embedded so the CLI and the plugin work with no download: the
//! one-shot classifier (`assets/model/`, whole clips: scans, the library, `classify`) and the hit
//! model (`assets/hit-model/`, trained on the 50 ms windows the hit labeller classifies).
//! Behind the `shipped-model` feature so `cargo xtask train` can build before any weights exist.

/// safetensors weights of the one-shot classifier.
pub static WEIGHTS: &[u8] = include_bytes!("../../assets/model/drumsort.safetensors");
/// Its metadata JSON (`classifier::ModelMeta`).
pub static META: &str = include_str!("../../assets/model/drumsort.json");
/// safetensors weights of the hit model.
pub static HIT_WEIGHTS: &[u8] = include_bytes!("../../assets/hit-model/drumsort.safetensors");
/// Its metadata JSON.
pub static HIT_META: &str = include_str!("../../assets/hit-model/drumsort.json");
