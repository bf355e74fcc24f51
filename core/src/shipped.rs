//! The model in `assets/model/`, embedded so the CLI and the plugin work with no download.
//! Behind the `shipped-model` feature so `cargo xtask train` can build before any weights exist.

/// safetensors weights.
pub static WEIGHTS: &[u8] = include_bytes!("../../assets/model/drumsort.safetensors");
/// Metadata JSON (`classifier::ModelMeta`).
pub static META: &str = include_str!("../../assets/model/drumsort.json");
