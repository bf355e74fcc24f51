//! What the plugin's integration tests (`plugin/tests/`), the end-to-end tests (`tests/`),
//! `cargo xtask bench` and `fuzz-seeds`, and the `plugin_state` fuzz target reach from outside
//! the crate. Only compiled with the `testing` feature, which those users turn on; the shipped
//! plugin (`cargo xtask bundle`) keeps every module private.
//!
//! Everything here is a re-export: the items live in their modules and keep their docs there.
//! Add an item only when a test, benchmark or fuzz target outside the crate needs it.

// The audio thread's side and the worker threads, driven as the plugin drives them (the test rig,
// load and fault tests, the real-time benchmark).
pub use crate::audio::{HitNote, NoteOut};
pub use crate::params::{DrumsortParams, EDITOR_SIZE};
pub use crate::realtime::{BlockControl, Realtime};
pub use crate::shared::{Command, LaneHit, LibrarySnapshot, Shared};
pub use crate::view::{Tab, ViewState};
pub use crate::worker::{Activation, Worker};

// The editor: snapshot tests, the real window under Xvfb, the editor benchmark.
pub use crate::editor::bench::{bench_frames, bench_frames_of, bench_layout};
pub use crate::editor::demo::demo_library;
pub use crate::editor::palette::{class_colour, PLAYING};
pub use crate::editor::window::{DragOut, EditorSize, EditorUi, EditorWindow};
#[cfg(target_os = "linux")]
pub use crate::editor::xdnd::{file_uri, start_drag, DragOutcome};
pub use crate::editor::EditorApp;

// The saved-state fuzz harness and the seeds it starts from.
pub use crate::fuzz::{plugin_state, saved_state};
