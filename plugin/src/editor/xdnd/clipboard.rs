//! The X11 CLIPBOARD for text the editor copies (a sample's path), served from a thread that
//! lives as long as the editor window.
//!
//! X11 has no clipboard storage: the copying client owns the CLIPBOARD selection and hands the
//! text to each application that pastes. baseview does not expose its connection, so this owns
//! the selection on a private connection. The owner stops with the window (as an X application's
//! clipboard does when it exits, unless a clipboard manager took a copy), so no thread outlives
//! the editor and the plugin can be unloaded safely.

use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use x11rb::connection::Connection;
use x11rb::protocol::Event;

use super::x11::{x11_error, X11};
use super::DragError;

/// How long the thread waits for new text before it serves pending requests.
const TICK: Duration = Duration::from_millis(20);

/// Owner of the CLIPBOARD selection while the editor is open. Dropping it gives the selection up
/// and joins the thread.
#[derive(Default)]
pub struct Clipboard {
    worker: Option<(Sender<Option<String>>, JoinHandle<()>)>,
}

impl Clipboard {
    /// Puts `text` on the clipboard, starting the owner thread on first use (or again if the X
    /// connection was lost). Returns at once.
    pub fn set(&mut self, text: String) -> Result<(), DragError> {
        if let Some((tx, _)) = &self.worker {
            if tx.send(Some(text.clone())).is_ok() {
                return Ok(());
            }
            self.stop();
        }
        let (tx, rx) = channel::<Option<String>>();
        let thread = std::thread::Builder::new()
            .name("drumsort-clipboard".into())
            .spawn(move || {
                if let Err(e) = serve(rx, text) {
                    nice_plug::nice_warn!("clipboard: {e}");
                }
            })
            .map_err(|e| DragError::Thread(e.to_string()))?;
        self.worker = Some((tx, thread));
        Ok(())
    }

    fn stop(&mut self) {
        if let Some((tx, thread)) = self.worker.take() {
            let _ = tx.send(None);
            let _ = thread.join();
        }
    }
}

impl Drop for Clipboard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Owns CLIPBOARD with `text` and answers paste requests until told to stop (a `None` or a
/// dropped sender).
fn serve(rx: std::sync::mpsc::Receiver<Option<String>>, text: String) -> Result<(), DragError> {
    let x11 = X11::open()?;
    let atoms = x11.atoms;
    let targets = [
        atoms.UTF8_STRING,
        atoms.TextPlainUtf8,
        atoms.TextPlain,
        atoms.TEXT,
        x11rb::protocol::xproto::AtomEnum::STRING.into(),
    ];
    let mut text = Some(text);
    x11.own_selection(atoms.CLIPBOARD)?;
    loop {
        match rx.recv_timeout(TICK) {
            Ok(Some(new)) => {
                text = Some(new);
                x11.own_selection(atoms.CLIPBOARD)?;
            }
            Ok(None) | Err(RecvTimeoutError::Disconnected) => return Ok(()),
            Err(RecvTimeoutError::Timeout) => {}
        }
        while let Some(event) = x11.conn.poll_for_event().map_err(x11_error)? {
            match event {
                Event::SelectionRequest(r) if r.selection == atoms.CLIPBOARD => {
                    let current = text.as_deref().map(str::as_bytes);
                    let offer = |_| current.map(<[u8]>::to_vec);
                    x11.answer_selection_request(&r, &targets, offer).map_err(x11_error)?;
                }
                // Another application copied something: ours is no longer the clipboard.
                Event::SelectionClear(c) if c.selection == atoms.CLIPBOARD => text = None,
                _ => {}
            }
        }
    }
}
