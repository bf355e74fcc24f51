//! `cargo xtask bundle` and `bundle-universal`: nice-plug's bundler, which builds the plugin and
//! lays out `target/bundled/<name>.clap` and `<name>.vst3` for the current platform.
//!
//! nice-plug-xtask parses its own arguments (`bundle <package> [cargo build options]`), so these
//! subcommands bypass the clap parser in `main.rs` and get the raw command line.

use anyhow::Result;

/// The first arguments nice-plug-xtask understands. `known-packages` lists the packages named in
/// a `bundler.toml`, which nice-plug's CI scripts use.
pub const SUBCOMMANDS: &[&str] = &["bundle", "bundle-universal", "known-packages"];

/// Whether `subcommand` (the first argument after `cargo xtask`) belongs to nice-plug-xtask.
pub fn handles(subcommand: &str) -> bool {
    SUBCOMMANDS.contains(&subcommand)
}

/// Runs nice-plug-xtask on this process's command line, e.g. `cargo xtask bundle
/// drumsort-plugin --release`.
///
/// It reads `std::env::args()` itself (skipping the program name), then changes the current
/// directory to the workspace root: the outermost ancestor of `$CARGO_MANIFEST_DIR` (set by
/// `cargo run`) or of the current directory that holds a `Cargo.toml`. It runs `cargo build` with
/// the given options and copies the cdylib into `target/bundled/`. Errors come back as
/// `anyhow::Error` with nice-plug-xtask's usage text where arguments were wrong.
pub fn run_nice_plug_xtask() -> Result<()> {
    nice_plug_xtask::main()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_subcommands_are_routed_to_nice_plug() {
        assert!(handles("bundle"));
        assert!(handles("bundle-universal"));
        assert!(!handles("train"));
    }
}
