//! Translation of baseview's window events into egui's input vocabulary.
//!
//! Pure functions and small types only: the window handler owns all state and calls these, so the
//! mapping can be unit-tested without a display.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use baseview::{MouseButton, MouseCursor, ScrollDelta};
use keyboard_types::{Code, Key, Modifiers};

/// A file dropped on the editor, as egui 0.37 wants it (`RawInput::dropped_files` holds trait
/// objects so each integration brings its own file handle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedPath(pub PathBuf);

impl egui::DroppedFile for DroppedPath {
    fn path(&self) -> &Path {
        &self.0
    }

    /// Reads the whole file. Only for small files: the UI hands folders and audio to the worker
    /// by path instead.
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| format!("{}: {e}", self.0.display()))
    }
}

/// The dropped-files list egui reads, built from the paths baseview delivered.
pub fn dropped_files(paths: &[PathBuf]) -> Vec<egui::DroppedFileHandle> {
    paths.iter().map(|p| Arc::new(DroppedPath(p.clone())) as egui::DroppedFileHandle).collect()
}

/// The hovered-files list egui reads while a drag from another application is over the window.
pub fn hovered_files(paths: &[PathBuf]) -> Vec<egui::HoveredFile> {
    paths.iter().map(|p| egui::HoveredFile { path: Some(p.clone()), mime: String::new() }).collect()
}

/// egui's modifier set for baseview's (keyboard-types') modifier flags.
///
/// `command` is Cmd on macOS and Ctrl elsewhere, as egui expects.
pub fn modifiers(m: &Modifiers) -> egui::Modifiers {
    let mac_cmd = cfg!(target_os = "macos") && m.meta();
    egui::Modifiers {
        alt: m.alt(),
        ctrl: m.ctrl(),
        shift: m.shift(),
        mac_cmd,
        command: if cfg!(target_os = "macos") { mac_cmd } else { m.ctrl() },
    }
}

/// egui's pointer button for a baseview mouse button (egui has no use for the others).
pub fn pointer_button(button: MouseButton) -> Option<egui::PointerButton> {
    Some(match button {
        MouseButton::Left => egui::PointerButton::Primary,
        MouseButton::Right => egui::PointerButton::Secondary,
        MouseButton::Middle => egui::PointerButton::Middle,
        MouseButton::Back => egui::PointerButton::Extra1,
        MouseButton::Forward => egui::PointerButton::Extra2,
        _ => return None,
    })
}

/// egui's logical key for a keyboard-types key.
///
/// keyboard-types names keys after the W3C UI Events spec ("ArrowDown", "Enter", "a"), which is
/// the same vocabulary `egui::Key::from_name` parses.
pub fn logical_key(key: &Key) -> Option<egui::Key> {
    match key {
        Key::Character(s) => egui::Key::from_name(s),
        Key::Named(named) => egui::Key::from_name(&named.to_string()),
    }
}

/// egui's physical key for a keyboard-types scan code ("KeyA", "Digit1", "ArrowLeft").
pub fn physical_key(code: Code) -> Option<egui::Key> {
    egui::Key::from_name(&code.to_string())
}

/// The wheel event for a baseview scroll. Pixel deltas arrive in physical pixels and egui wants
/// points, hence `pixels_per_point`.
pub fn wheel(delta: &ScrollDelta, pixels_per_point: f32, modifiers: egui::Modifiers) -> egui::Event {
    let (unit, mut delta) = match *delta {
        ScrollDelta::Lines { x, y } => (egui::MouseWheelUnit::Line, egui::vec2(x, y)),
        ScrollDelta::Pixels { x, y } => (egui::MouseWheelUnit::Point, egui::vec2(x, y) / pixels_per_point.max(0.1)),
    };
    // AppKit reports horizontal scrolling with the opposite sign to what egui expects.
    if cfg!(target_os = "macos") {
        delta.x = -delta.x;
    }
    egui::Event::MouseWheel {
        unit,
        delta,
        modifiers,
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Unknown,
    }
}

/// Whether a key press is the platform's copy, cut or paste shortcut, which egui wants as its own
/// events rather than as key presses.
pub fn clipboard_event(modifiers: egui::Modifiers, code: Code) -> Option<egui::Event> {
    if !modifiers.command {
        return None;
    }
    match code {
        Code::KeyC => Some(egui::Event::Copy),
        Code::KeyX => Some(egui::Event::Cut),
        _ => None,
    }
}

/// baseview's cursor for the one egui asks for.
pub fn cursor(icon: egui::CursorIcon) -> MouseCursor {
    use egui::CursorIcon as C;
    match icon {
        C::Default => MouseCursor::Default,
        C::None => MouseCursor::Hidden,
        C::ContextMenu | C::Help => MouseCursor::Help,
        C::PointingHand => MouseCursor::Hand,
        C::Progress => MouseCursor::PtrWorking,
        C::Wait => MouseCursor::Working,
        C::Cell => MouseCursor::Cell,
        C::Crosshair => MouseCursor::Crosshair,
        C::Text => MouseCursor::Text,
        C::VerticalText => MouseCursor::VerticalText,
        C::Alias => MouseCursor::Alias,
        C::Copy => MouseCursor::Copy,
        C::Move => MouseCursor::Move,
        C::NoDrop | C::NotAllowed => MouseCursor::NotAllowed,
        C::Grab => MouseCursor::Hand,
        C::Grabbing => MouseCursor::HandGrabbing,
        C::AllScroll => MouseCursor::AllScroll,
        C::ResizeHorizontal | C::ResizeColumn => MouseCursor::EwResize,
        C::ResizeNeSw => MouseCursor::NeswResize,
        C::ResizeNwSe => MouseCursor::NwseResize,
        C::ResizeVertical | C::ResizeRow => MouseCursor::NsResize,
        C::ResizeEast => MouseCursor::EResize,
        C::ResizeSouthEast => MouseCursor::SeResize,
        C::ResizeSouth => MouseCursor::SResize,
        C::ResizeSouthWest => MouseCursor::SwResize,
        C::ResizeWest => MouseCursor::WResize,
        C::ResizeNorthWest => MouseCursor::NwResize,
        C::ResizeNorth => MouseCursor::NResize,
        C::ResizeNorthEast => MouseCursor::NeResize,
        C::ZoomIn => MouseCursor::ZoomIn,
        C::ZoomOut => MouseCursor::ZoomOut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyboard_types::NamedKey;

    #[test]
    fn keys_map_by_their_w3c_names() {
        assert_eq!(logical_key(&Key::Named(NamedKey::ArrowDown)), Some(egui::Key::ArrowDown));
        assert_eq!(logical_key(&Key::Named(NamedKey::Enter)), Some(egui::Key::Enter));
        assert_eq!(logical_key(&Key::Named(NamedKey::Escape)), Some(egui::Key::Escape));
        assert_eq!(logical_key(&Key::Character("a".into())), Some(egui::Key::A));
        assert_eq!(logical_key(&Key::Character(" ".into())), Some(egui::Key::Space));
        assert_eq!(logical_key(&Key::Named(NamedKey::Shift)), None);
        assert_eq!(physical_key(Code::KeyQ), Some(egui::Key::Q));
        assert_eq!(physical_key(Code::Digit3), Some(egui::Key::Num3));
    }

    #[test]
    fn ctrl_is_command_off_macos() {
        let m = modifiers(&Modifiers::CONTROL);
        assert!(m.ctrl);
        assert_eq!(m.command, !cfg!(target_os = "macos"));
        assert_eq!(clipboard_event(m, Code::KeyC).is_some(), !cfg!(target_os = "macos"));
        assert!(clipboard_event(egui::Modifiers::NONE, Code::KeyC).is_none());
    }

    #[test]
    fn drops_carry_their_paths() {
        let paths = vec![PathBuf::from("/tmp/kick one.wav"), PathBuf::from("/tmp/snare.wav")];
        let dropped = dropped_files(&paths);
        assert_eq!(dropped.len(), 2);
        assert_eq!(dropped[1].path(), Path::new("/tmp/snare.wav"));
        let hovered = hovered_files(&paths);
        assert_eq!(hovered[0].path.as_deref(), Some(Path::new("/tmp/kick one.wav")));
    }

    #[test]
    fn pixel_scroll_becomes_points() {
        let e = wheel(&ScrollDelta::Pixels { x: 0.0, y: 20.0 }, 2.0, egui::Modifiers::NONE);
        match e {
            egui::Event::MouseWheel { unit, delta, .. } => {
                assert_eq!(unit, egui::MouseWheelUnit::Point);
                assert_eq!(delta.y, 10.0);
            }
            other => panic!("expected a wheel event, got {other:?}"),
        }
    }
}
