//! One XDND drag session, run on its own thread with its own connection.
//!
//! The pointer is tracked by polling `QueryPointer` instead of grabbing it: the drag starts while
//! the user holds a button down in the plugin window, so the X server has given baseview's
//! connection an implicit grab, and a grab from this connection would fail with
//! `AlreadyGrabbed`. Polling sees the position, the window under it and the button state all the
//! same; Escape is read from the keymap the same way.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{AtomEnum, ConnectionExt as _, KeyButMask, PropMode, Window};
use x11rb::protocol::Event;
use x11rb::wrapper::ConnectionExt as _;
use x11rb::NONE;

use super::x11::{x11_error, X11};
use super::{DragError, DragOutcome};

/// How often the pointer is polled.
const TICK: Duration = Duration::from_millis(8);
/// A drag still in the air after this long is abandoned (the user walked away, or the button
/// release was missed).
const MAX_DRAG: Duration = Duration::from_secs(60);
/// How long a target may take to answer the last position before the release decides without it.
const STATUS_WAIT: Duration = Duration::from_millis(500);
/// How long a target may take to fetch the data and send `XdndFinished` after the drop.
const FINISH_WAIT: Duration = Duration::from_secs(5);
/// XDND versions this source speaks (targets announce theirs in `XdndAware`).
const XDND_VERSION: u32 = 5;

/// The XdndAware window under the pointer and where its messages go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Target {
    /// The window the messages name.
    window: Window,
    /// Where they are sent: the window itself, or its `XdndProxy`.
    destination: Window,
    version: u32,
}

/// The session's state between polls.
struct Session<'a> {
    x11: &'a X11,
    /// Payload per offered type: the `text/uri-list` and its plain-text twin.
    uri_list: Vec<u8>,
    plain: Vec<u8>,
    /// The plugin's own window: never a target.
    exclude: Option<Window>,
    target: Option<Target>,
    /// The target has not answered our last `XdndPosition` yet (XDND: send no other until it does).
    awaiting_status: bool,
    accepted: bool,
    /// Position last sent, root coordinates; a new one is sent when the pointer moves.
    sent_position: Option<(i16, i16)>,
    finished: Option<bool>,
    /// XdndAware version and proxy per window seen, so each is asked once.
    aware: HashMap<Window, Option<(u32, Window)>>,
}

/// Runs a whole drag: from the first poll until drop, release outside a target, Escape, cancel
/// or timeout. Never panics; X errors end the drag with an error.
pub fn run(paths_uri_list: String, exclude: Option<Window>, cancel: Arc<AtomicBool>) -> Result<DragOutcome, DragError> {
    let x11 = X11::open()?;
    let atoms = x11.atoms;
    let types = [atoms.TextUriList, atoms.UTF8_STRING, atoms.TextPlain];
    x11.conn
        .change_property32(PropMode::REPLACE, x11.window, atoms.XdndTypeList, AtomEnum::ATOM, &types)
        .map_err(x11_error)?;
    x11.own_selection(atoms.XdndSelection)?;
    let escape = escape_keycodes(&x11);
    let plain = paths_uri_list.replace("\r\n", "\n").into_bytes();
    let mut s = Session {
        x11: &x11,
        uri_list: paths_uri_list.into_bytes(),
        plain,
        exclude,
        target: None,
        awaiting_status: false,
        accepted: false,
        sent_position: None,
        finished: None,
        aware: HashMap::new(),
    };

    let start = Instant::now();
    let mut released_at: Option<Instant> = None;
    let mut dropped_at: Option<Instant> = None;
    loop {
        s.drain_events(&types)?;
        if let Some(success) = s.finished {
            return Ok(if success { DragOutcome::Dropped } else { DragOutcome::Rejected });
        }
        if cancel.load(Ordering::Relaxed) || start.elapsed() > MAX_DRAG {
            s.leave()?;
            return Ok(DragOutcome::Cancelled);
        }
        if let Some(at) = dropped_at {
            if at.elapsed() > FINISH_WAIT {
                // The target took the drop but never confirmed; it may still have the data.
                return Ok(DragOutcome::Unconfirmed);
            }
            std::thread::sleep(TICK);
            continue;
        }
        if escape_down(&x11, &escape) {
            s.leave()?;
            return Ok(DragOutcome::Cancelled);
        }
        let pointer = x11.conn.query_pointer(x11.root).map_err(x11_error)?.reply().map_err(x11_error)?;
        let buttons = KeyButMask::BUTTON1 | KeyButMask::BUTTON2 | KeyButMask::BUTTON3;
        let buttons_down = u16::from(pointer.mask) & u16::from(buttons) != 0;
        if released_at.is_none() && !buttons_down {
            released_at = Some(Instant::now());
        }
        match released_at {
            None => {
                let target = s.find_target(pointer.child, pointer.root_x, pointer.root_y);
                s.track(target, (pointer.root_x, pointer.root_y))?;
            }
            Some(at) => {
                if s.target.is_none() {
                    return Ok(DragOutcome::NoTarget);
                }
                if s.awaiting_status && at.elapsed() < STATUS_WAIT {
                    std::thread::sleep(TICK);
                    continue;
                }
                if !s.accepted {
                    s.leave()?;
                    return Ok(DragOutcome::Rejected);
                }
                s.drop_on_target()?;
                dropped_at = Some(Instant::now());
            }
        }
        std::thread::sleep(TICK);
    }
}

impl Session<'_> {
    /// Handles everything the server sent since the last poll: target answers and data requests.
    fn drain_events(&mut self, types: &[u32]) -> Result<(), DragError> {
        let atoms = self.x11.atoms;
        while let Some(event) = self.x11.conn.poll_for_event().map_err(x11_error)? {
            match event {
                Event::ClientMessage(m) if m.type_ == atoms.XdndStatus => {
                    let d = m.data.as_data32();
                    if self.target.is_some_and(|t| t.window == d[0]) {
                        self.awaiting_status = false;
                        self.accepted = d[1] & 1 == 1;
                    }
                }
                Event::ClientMessage(m) if m.type_ == atoms.XdndFinished => {
                    let d = m.data.as_data32();
                    if self.target.is_some_and(|t| t.window == d[0]) {
                        // Version 5 targets say whether they succeeded; older ones just finish.
                        let version = self.target.map_or(0, |t| t.version);
                        self.finished = Some(version < 5 || d[1] & 1 == 1);
                    }
                }
                Event::SelectionRequest(r) if r.selection == atoms.XdndSelection => {
                    let (uri_list, plain) = (&self.uri_list, &self.plain);
                    let offer = |target| {
                        if target == atoms.TextUriList {
                            Some(uri_list.clone())
                        } else {
                            Some(plain.clone())
                        }
                    };
                    self.x11.answer_selection_request(&r, types, offer).map_err(x11_error)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The outermost XdndAware window under the pointer, walking down from the root's child.
    fn find_target(&mut self, mut window: Window, x: i16, y: i16) -> Option<Target> {
        while window != NONE {
            if window == self.x11.window || Some(window) == self.exclude {
                return None;
            }
            if let Some((version, destination)) = self.aware(window) {
                return Some(Target { window, destination, version });
            }
            let next = self.x11.conn.translate_coordinates(self.x11.root, window, x, y).ok()?.reply().ok()?;
            window = next.child;
        }
        None
    }

    /// A window's XDND version (capped at ours) and where to send its messages, if it is aware.
    fn aware(&mut self, window: Window) -> Option<(u32, Window)> {
        if let Some(known) = self.aware.get(&window) {
            return *known;
        }
        let atoms = self.x11.atoms;
        let known = self.x11.property_u32(window, atoms.XdndAware, AtomEnum::ATOM).map(|version| {
            let proxy = self.x11.property_u32(window, atoms.XdndProxy, AtomEnum::WINDOW).filter(|&p| p != NONE);
            (version.min(XDND_VERSION), proxy.unwrap_or(window))
        });
        self.aware.insert(window, known);
        known
    }

    /// Follows the pointer: leave/enter on a change of target, a position when it moved and the
    /// target has answered the previous one.
    fn track(&mut self, target: Option<Target>, position: (i16, i16)) -> Result<(), DragError> {
        if target != self.target {
            self.leave()?;
            if let Some(t) = target {
                let atoms = self.x11.atoms;
                let data = [self.x11.window, t.version << 24, atoms.TextUriList, atoms.UTF8_STRING, atoms.TextPlain];
                self.x11.send_client_message(t.destination, t.window, atoms.XdndEnter, data).map_err(x11_error)?;
                self.target = Some(t);
            }
        }
        let Some(t) = self.target else { return Ok(()) };
        if self.awaiting_status || self.sent_position == Some(position) {
            return Ok(());
        }
        let (x, y) = (position.0 as u16 as u32, position.1 as u16 as u32);
        let atoms = self.x11.atoms;
        let data = [self.x11.window, 0, (x << 16) | y, self.x11.now(), atoms.XdndActionCopy];
        self.x11.send_client_message(t.destination, t.window, atoms.XdndPosition, data).map_err(x11_error)?;
        self.sent_position = Some(position);
        self.awaiting_status = true;
        Ok(())
    }

    /// Tells the current target the drag left it, and forgets it.
    fn leave(&mut self) -> Result<(), DragError> {
        if let Some(t) = self.target.take() {
            let data = [self.x11.window, 0, 0, 0, 0];
            self.x11.send_client_message(t.destination, t.window, self.x11.atoms.XdndLeave, data).map_err(x11_error)?;
        }
        self.awaiting_status = false;
        self.accepted = false;
        self.sent_position = None;
        Ok(())
    }

    fn drop_on_target(&mut self) -> Result<(), DragError> {
        let Some(t) = self.target else { return Ok(()) };
        let data = [self.x11.window, 0, self.x11.now(), 0, 0];
        self.x11.send_client_message(t.destination, t.window, self.x11.atoms.XdndDrop, data).map_err(x11_error)
    }
}

/// The keycodes that produce Escape on this keyboard (usually just 9).
fn escape_keycodes(x11: &X11) -> Vec<u8> {
    const XK_ESCAPE: u32 = 0xff1b;
    let setup = x11.conn.setup();
    let (min, max) = (setup.min_keycode, setup.max_keycode);
    let Ok(Ok(map)) = x11.conn.get_keyboard_mapping(min, max - min + 1).map(|c| c.reply()) else {
        return vec![9];
    };
    let per = usize::from(map.keysyms_per_keycode.max(1));
    map.keysyms
        .chunks(per)
        .enumerate()
        .filter(|(_, syms)| syms.contains(&XK_ESCAPE))
        .map(|(i, _)| min.wrapping_add(i as u8))
        .collect()
}

/// Whether any Escape key is held now.
fn escape_down(x11: &X11, keycodes: &[u8]) -> bool {
    let Ok(Ok(keymap)) = x11.conn.query_keymap().map(|c| c.reply()) else { return false };
    keycodes.iter().any(|&k| keymap.keys.get(usize::from(k / 8)).is_some_and(|byte| byte & (1 << (k % 8)) != 0))
}
