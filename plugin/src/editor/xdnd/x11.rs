//! The X11 plumbing the drag source and the clipboard share: a private connection with its atoms,
//! an invisible helper window that owns selections, the server's clock, and answering
//! `SelectionRequest`s.

use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::errors::{ConnectionError, ReplyError, ReplyOrIdError};
use x11rb::protocol::xproto::{
    Atom, AtomEnum, ClientMessageEvent, ConnectionExt as _, CreateWindowAux, EventMask, PropMode, SelectionNotifyEvent,
    SelectionRequestEvent, Timestamp, Window, WindowClass, SELECTION_NOTIFY_EVENT,
};
use x11rb::protocol::Event;
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;
use x11rb::NONE;

use super::DragError;

x11rb::atom_manager! {
    /// Every atom the drag source and the clipboard use, interned once per connection.
    pub Atoms: AtomsCookie {
        XdndAware,
        XdndProxy,
        XdndTypeList,
        XdndSelection,
        XdndEnter,
        XdndPosition,
        XdndStatus,
        XdndLeave,
        XdndDrop,
        XdndFinished,
        XdndActionCopy,
        CLIPBOARD,
        TARGETS,
        UTF8_STRING,
        TEXT,
        TextUriList: b"text/uri-list",
        TextPlain: b"text/plain",
        TextPlainUtf8: b"text/plain;charset=utf-8",
        DrumsortClock: b"_DRUMSORT_CLOCK",
    }
}

/// Largest reply written in one `ChangeProperty`; bigger payloads would need the INCR protocol,
/// which a list of file URIs or a copied path never does.
const MAX_PAYLOAD: usize = 256 * 1024;

/// A private X connection with an unmapped helper window that can own selections.
pub struct X11 {
    pub conn: RustConnection,
    pub atoms: Atoms,
    pub root: Window,
    /// The helper window: selection owner and the source window XDND messages name.
    pub window: Window,
    /// Server time at `start`, ms, and when it was read: messages carry server timestamps,
    /// extrapolated from this pair.
    server_time: Timestamp,
    start: Instant,
}

impl X11 {
    /// Connects to `$DISPLAY`, interns the atoms, creates the helper window and reads the
    /// server's clock.
    pub fn open() -> Result<Self, DragError> {
        let (conn, screen) = RustConnection::connect(None).map_err(|e| DragError::X11(format!("connect: {e}")))?;
        let root = conn.setup().roots.get(screen).map(|s| s.root).ok_or_else(|| DragError::X11("no screen".into()))?;
        let atoms = Atoms::new(&conn).map_err(x11_error)?.reply().map_err(x11_error)?;
        let window = conn.generate_id().map_err(x11_error)?;
        let aux = CreateWindowAux::new().override_redirect(1).event_mask(EventMask::PROPERTY_CHANGE);
        conn.create_window(0, window, root, -10, -10, 1, 1, 0, WindowClass::INPUT_ONLY, 0, &aux)
            .map_err(x11_error)?
            .check()
            .map_err(x11_error)?;
        let mut x11 = Self { conn, atoms, root, window, server_time: 0, start: Instant::now() };
        x11.server_time = x11.read_server_time()?;
        x11.start = Instant::now();
        Ok(x11)
    }

    /// The server's current time, ms: an empty append to a property of our own window makes the
    /// server send a `PropertyNotify` stamped with its clock (ICCCM's recipe for a timestamp).
    fn read_server_time(&self) -> Result<Timestamp, DragError> {
        let clock = self.atoms.DrumsortClock;
        self.conn.change_property8(PropMode::APPEND, self.window, clock, AtomEnum::STRING, &[]).map_err(x11_error)?;
        self.conn.flush().map_err(x11_error)?;
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            match self.conn.poll_for_event().map_err(x11_error)? {
                Some(Event::PropertyNotify(e)) if e.window == self.window && e.atom == clock => return Ok(e.time),
                Some(_) => {}
                None => std::thread::sleep(Duration::from_millis(2)),
            }
        }
        Err(DragError::X11("the X server did not answer a property change".into()))
    }

    /// Server time now, extrapolated from the clock read at `open` (wraps like X's clock does).
    pub fn now(&self) -> Timestamp {
        self.server_time.wrapping_add(self.start.elapsed().as_millis() as u32)
    }

    /// Becomes the owner of `selection`; fails if the server gave it to someone else.
    pub fn own_selection(&self, selection: Atom) -> Result<Timestamp, DragError> {
        let time = self.now();
        self.conn.set_selection_owner(self.window, selection, time).map_err(x11_error)?;
        let owner = self.conn.get_selection_owner(selection).map_err(x11_error)?.reply().map_err(x11_error)?;
        if owner.owner == self.window {
            Ok(time)
        } else {
            Err(DragError::X11("could not take selection ownership".into()))
        }
    }

    /// Sends a 32-bit client message of type `kind` naming `window` to `destination`.
    pub fn send_client_message(
        &self,
        destination: Window,
        window: Window,
        kind: Atom,
        data: [u32; 5],
    ) -> Result<(), ConnectionError> {
        let event = ClientMessageEvent::new(32, window, kind, data);
        self.conn.send_event(false, destination, EventMask::NO_EVENT, event)?;
        self.conn.flush()
    }

    /// Answers a request for our selection with the payload `offer` gives for the requested
    /// target (or a refusal), following ICCCM: the data go into the requestor's property, then a
    /// `SelectionNotify` names that property (or `NONE` for a refusal).
    pub fn answer_selection_request(
        &self,
        request: &SelectionRequestEvent,
        targets: &[Atom],
        offer: impl Fn(Atom) -> Option<Vec<u8>>,
    ) -> Result<(), ReplyError> {
        // Obsolete clients leave the property empty and mean the target's name.
        let property = if request.property == NONE { request.target } else { request.property };
        let mut answered = NONE;
        if request.target == self.atoms.TARGETS {
            let mut list = vec![self.atoms.TARGETS];
            list.extend_from_slice(targets);
            self.conn.change_property32(PropMode::REPLACE, request.requestor, property, AtomEnum::ATOM, &list)?;
            answered = property;
        } else if targets.contains(&request.target) {
            if let Some(bytes) = offer(request.target).filter(|b| b.len() <= MAX_PAYLOAD) {
                self.conn.change_property8(PropMode::REPLACE, request.requestor, property, request.target, &bytes)?;
                answered = property;
            }
        }
        let notify = SelectionNotifyEvent {
            response_type: SELECTION_NOTIFY_EVENT,
            sequence: 0,
            time: request.time,
            requestor: request.requestor,
            selection: request.selection,
            target: request.target,
            property: answered,
        };
        self.conn.send_event(false, request.requestor, EventMask::NO_EVENT, notify)?;
        self.conn.flush()?;
        Ok(())
    }

    /// The first 32-bit value of a window's property, if it is set with the given type.
    pub fn property_u32(&self, window: Window, property: Atom, kind: impl Into<Atom>) -> Option<u32> {
        let reply = self.conn.get_property(false, window, property, kind, 0, 1).ok()?.reply().ok()?;
        let first = reply.value32()?.next();
        first
    }
}

impl Drop for X11 {
    fn drop(&mut self) {
        // Destroying the window also gives up every selection it owns.
        let _ = self.conn.destroy_window(self.window);
        let _ = self.conn.flush();
    }
}

/// A failed X request or lost connection, as the drag's error.
pub fn x11_error(e: impl Into<X11Failure>) -> DragError {
    DragError::X11(e.into().0)
}

/// Any of x11rb's error types, reduced to its message.
pub struct X11Failure(String);

impl From<ConnectionError> for X11Failure {
    fn from(e: ConnectionError) -> Self {
        Self(e.to_string())
    }
}

impl From<ReplyError> for X11Failure {
    fn from(e: ReplyError) -> Self {
        Self(e.to_string())
    }
}

impl From<ReplyOrIdError> for X11Failure {
    fn from(e: ReplyOrIdError) -> Self {
        Self(e.to_string())
    }
}
