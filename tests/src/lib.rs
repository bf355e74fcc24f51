//! Shared pieces of the end-to-end tests: an in-process CLAP host for the built plugin
//! ([`clap_host`]), a private X server with the command-line tools that drive it ([`xvfb`]), and
//! Ardour sessions built, rendered and rolled by Ardour's own command-line tools ([`ardour`]), and
//! the Windows cross-build ([`windows_build`], shared with `cargo xtask bundle-windows`) run under
//! Wine ([`wine`]).

pub mod ardour;
pub mod clap_host;
pub mod wine;
#[path = "../../xtask/src/windows_build.rs"]
pub mod windows_build;
pub mod xvfb;

use std::time::{Duration, Instant};

/// Calls `probe` every `every` until it returns `Some` or `timeout` has passed.
pub fn poll<T>(timeout: Duration, every: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = probe() {
            return Some(found);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(every);
    }
}
