//! The plugin's editor: what it draws and how the user interacts ([`EditorApp`] and its
//! widgets), separate from the window that hosts it.

pub mod app;
#[cfg(any(test, feature = "testing"))]
pub mod bench;
pub mod bubble_graph;
#[cfg(any(test, feature = "testing"))]
pub mod demo;
pub mod drag;
pub mod hit_lane;
#[cfg(any(windows, test))]
pub mod ole;
pub mod palette;
pub mod toolbar;

pub use app::EditorApp;
pub mod window;
#[cfg(target_os = "linux")]
pub mod xdnd;
