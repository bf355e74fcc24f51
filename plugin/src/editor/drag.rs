//! Dragging something out of the editor: a drag that starts on a dot (or the MIDI clip handle)
//! becomes an OS-level file drag once the pointer leaves the editor. The window glue behind
//! [`DragOut`] then takes over; egui only has to notice the moment.

use std::path::PathBuf;
use std::sync::Arc;

use egui::{Context, Rect};

/// Starts an OS-level drag of these files; set by the window glue, called on the GUI thread.
pub type DragOut = Arc<dyn Fn(Vec<PathBuf>) + Send + Sync>;

/// One drag gesture that may leave the editor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DragGesture {
    /// A drag that started on the draggable item is in progress.
    active: bool,
    /// The pointer already left the editor during this drag (fire only once per gesture).
    left: bool,
}

impl DragGesture {
    /// Starts tracking a drag.
    pub fn start(&mut self) {
        *self = Self { active: true, left: false };
    }

    /// Whether a drag is being tracked.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Call every frame. Returns true on the one frame the pointer leaves `editor` (or vanishes
    /// from the window) while the drag is in progress; ends the gesture when no button is down.
    pub fn update(&mut self, ctx: &Context, editor: Rect) -> bool {
        if !self.active {
            return false;
        }
        let (down, pos) = ctx.input(|i| (i.pointer.primary_down(), i.pointer.latest_pos()));
        if !down {
            *self = Self::default();
            return false;
        }
        let outside = pos.is_none_or(|p| !editor.contains(p));
        if outside && !self.left {
            self.left = true;
            return true;
        }
        false
    }

    /// Whether the pointer has left the editor during this drag (the OS drag owns it now).
    pub fn has_left(&self) -> bool {
        self.left
    }
}
