//! The baseview window handler that runs egui: input in, egui pass, egui_glow paint out.
//!
//! Lives on baseview's window thread (its own thread on X11, the host's GUI thread on Windows and
//! macOS). baseview calls the handler through `&self`, so the mutable parts sit in `RefCell`s that
//! are borrowed with `try_borrow_mut`: a re-entrant call is skipped and logged, never a panic
//! across the plugin boundary.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use baseview::dpi::PhysicalPosition;
use baseview::{
    DropData, DropEffect, Event, EventStatus, HandlerError, MouseCursor, MouseEvent, WindowContext, WindowEvent,
    WindowHandler, WindowSize,
};
use egui_glow::glow;
use nice_plug::context::gui::GuiContext;
use nice_plug::prelude::*;

use super::input;
use super::{Clipboard, DragOut, EditorShared, EditorUi};

/// Locks the UI even if a previous frame panicked while holding it: a half-drawn frame leaves
/// nothing inconsistent that the next frame does not redraw.
fn lock_ui<U>(ui: &Mutex<U>) -> MutexGuard<'_, U> {
    ui.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The GL side: the context's function table and egui's painter. Only touched with the window's
/// GL context current.
struct Gl {
    glow: Arc<glow::Context>,
    painter: egui_glow::Painter,
}

/// What the event callbacks accumulate for the next egui pass.
struct InputState {
    /// Events, screen rect and files for the next pass; `take`n by `draw`.
    raw: egui::RawInput,
    /// Last pointer position, points; button events carry no position in baseview.
    pointer: Option<egui::Pos2>,
    modifiers: egui::Modifiers,
    /// Files of an external drag currently over the window (copied into every pass until the drag
    /// leaves or drops, as egui expects).
    hovering: Vec<PathBuf>,
    /// Physical pixels per point, from the last resize.
    scale: f64,
    /// The cursor last set on the window, so it is only changed when egui asks for another.
    cursor: MouseCursor,
}

impl InputState {
    fn to_points(&self, position: PhysicalPosition<f64>) -> egui::Pos2 {
        let s = self.scale.max(0.1);
        egui::pos2((position.x / s) as f32, (position.y / s) as f32)
    }

    fn set_modifiers(&mut self, m: &keyboard_types::Modifiers) {
        let m = input::modifiers(m);
        if m != self.modifiers {
            self.modifiers = m;
            self.raw.events.push(egui::Event::ModifiersChanged(m));
        }
    }

    fn set_size(&mut self, size: WindowSize) {
        self.scale = size.scale_factor;
        let rect = egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(size.logical.width as f32, size.logical.height as f32),
        );
        self.raw.screen_rect = Some(rect);
        let viewport = self.raw.viewports.entry(self.raw.viewport_id).or_default();
        viewport.native_pixels_per_point = Some(size.scale_factor as f32);
        viewport.inner_rect = Some(rect);
    }
}

/// The window's handler: one per open editor window.
pub(super) struct Handler<U: EditorUi> {
    window: WindowContext,
    ui: Arc<Mutex<U>>,
    shared: Arc<EditorShared>,
    ctx: egui::Context,
    gl: RefCell<Option<Gl>>,
    input: RefCell<InputState>,
    /// Owner of the text the UI copies; lives (and serves pastes) while the window is open.
    clipboard: RefCell<Clipboard>,
    /// Texture uploads and frees egui produced that are not on the GPU yet.
    pending_textures: RefCell<egui::epaint::textures::TexturesDelta>,
    /// egui's clock starts with the window.
    start: Instant,
}

impl<U: EditorUi> Handler<U> {
    /// Creates the painter on the window's GL context, the egui context, and tells the UI it is
    /// shown. Fails (and baseview closes the window) if the window has no GL context or the
    /// painter's shaders do not compile.
    pub(super) fn new(
        window: WindowContext,
        ui: Arc<Mutex<U>>,
        shared: Arc<EditorShared>,
        gui_context: GuiContext,
        drag_out: Option<DragOut>,
    ) -> Result<Self, HandlerError> {
        let context = window.gl_context().ok_or_else(|| handler_error("the editor window has no OpenGL context"))?;
        // SAFETY: the context belongs to this window and is only made current on its thread.
        unsafe { context.make_current()? };
        // SAFETY: the loader resolves symbols of the context that is current on this thread.
        let glow = Arc::new(unsafe { glow::Context::from_loader_function_cstr(|s| context.get_proc_address(s)) });
        let painter = egui_glow::Painter::new(Arc::clone(&glow), "", None, true);
        // SAFETY: as above.
        unsafe { context.make_not_current()? };
        let painter = painter.map_err(|e| handler_error(format!("egui_glow painter: {e}")))?;

        let ctx = egui::Context::default();
        let waker = window.waker();
        ctx.set_request_repaint_callback(move |info| {
            if info.delay.is_zero() {
                waker.request_redraw();
            } else {
                waker.request_redraw_after(info.delay);
            }
        });

        let mut input = InputState {
            raw: egui::RawInput { max_texture_side: Some(painter.max_texture_side()), ..Default::default() },
            pointer: None,
            modifiers: egui::Modifiers::NONE,
            hovering: Vec::new(),
            scale: 1.0,
            cursor: MouseCursor::Default,
        };
        let size = window.size();
        input.set_size(size);
        shared.scale_bits.store((size.scale_factor as f32).to_bits(), Ordering::Relaxed);

        {
            let mut app = lock_ui(&ui);
            app.opened(&ctx, &gui_context);
            if let Some(drag_out) = drag_out {
                app.set_drag_out(drag_out);
            }
        }
        shared.open.store(true, Ordering::Release);

        Ok(Self {
            window,
            ui,
            shared,
            ctx,
            gl: RefCell::new(Some(Gl { glow, painter })),
            input: RefCell::new(input),
            clipboard: RefCell::default(),
            pending_textures: RefCell::default(),
            start: Instant::now(),
        })
    }

    /// Runs the platform side of egui's output: cursor and clipboard.
    fn apply_platform_output(&self, output: &mut egui::PlatformOutput) {
        let cursor = input::cursor(output.cursor_icon);
        if let Ok(mut input) = self.input.try_borrow_mut() {
            if input.cursor != cursor {
                input.cursor = cursor;
                if let Err(e) = self.window.set_mouse_cursor(cursor) {
                    nice_warn!("editor: cannot set the cursor: {e}");
                }
            }
        }
        for command in output.commands.drain(..) {
            if let egui::OutputCommand::CopyText(text) = command {
                let copied = match self.clipboard.try_borrow_mut() {
                    Ok(mut clipboard) => clipboard.set(text).map_err(|e| e.to_string()),
                    Err(_) => Err("clipboard busy".to_string()),
                };
                if let Err(e) = copied {
                    nice_warn!("copy: {e}");
                }
            }
        }
    }

    /// Tessellates and paints one egui output with the window's GL context current.
    ///
    /// Texture updates that could not be applied (no context this frame) are kept for the next
    /// frame: dropping the font atlas's first upload would leave every later frame without text.
    fn paint(&self, mut output: egui::FullOutput, size: WindowSize) -> Result<(), HandlerError> {
        let Ok(mut textures) = self.pending_textures.try_borrow_mut() else {
            output.textures_delta.clear();
            return Ok(());
        };
        textures.append(std::mem::take(&mut output.textures_delta));
        let Some(context) = self.window.gl_context() else {
            return Err(handler_error("the editor window lost its OpenGL context"));
        };
        let Ok(mut gl) = self.gl.try_borrow_mut() else { return Ok(()) };
        let Some(gl) = gl.as_mut() else { return Ok(()) };
        let fill = self.ctx.global_style().visuals.panel_fill;
        let ppp = output.pixels_per_point;
        let primitives = self.ctx.tessellate(std::mem::take(&mut output.shapes), ppp);
        let dims = [size.physical.width, size.physical.height];

        // SAFETY: current only for this block, on the window's thread.
        unsafe { context.make_current()? };
        egui_glow::painter::clear(&gl.glow, dims, egui::Rgba::from(fill).to_array());
        for (id, deltas) in textures.set.drain() {
            for delta in deltas {
                gl.painter.set_texture(id, &delta);
            }
        }
        gl.painter.paint_primitives(dims, ppp, &primitives);
        for id in textures.free.drain() {
            gl.painter.free_texture(id);
        }
        let swapped = context.swap_buffers();
        // SAFETY: as above.
        unsafe { context.make_not_current()? };
        swapped?;
        Ok(())
    }

    /// Files of an external drag: pointer position and the list egui sees as hovered.
    fn on_drag(&self, input: &mut InputState, position: PhysicalPosition<f64>, data: &DropData, dropped: bool) {
        let pos = input.to_points(position);
        input.pointer = Some(pos);
        input.raw.events.push(egui::Event::PointerMoved(pos));
        let DropData::Files(paths) = data else {
            input.hovering.clear();
            return;
        };
        if dropped {
            input.hovering.clear();
            input.raw.dropped_files.extend(input::dropped_files(paths));
        } else if input.hovering != *paths {
            input.hovering = paths.clone();
        }
    }

    fn on_mouse(&self, input: &mut InputState, event: &MouseEvent) -> EventStatus {
        match event {
            MouseEvent::CursorMoved { position, modifiers } => {
                input.set_modifiers(modifiers);
                let pos = input.to_points(*position);
                input.pointer = Some(pos);
                input.raw.events.push(egui::Event::PointerMoved(pos));
            }
            MouseEvent::ButtonPressed { button, modifiers } | MouseEvent::ButtonReleased { button, modifiers } => {
                input.set_modifiers(modifiers);
                let pressed = matches!(event, MouseEvent::ButtonPressed { .. });
                if pressed && !self.window.has_focus() {
                    // Embedded windows do not take keyboard focus on their own.
                    if let Err(e) = self.window.focus() {
                        nice_warn!("editor: cannot take keyboard focus: {e}");
                    }
                }
                if let (Some(pos), Some(button)) = (input.pointer, input::pointer_button(*button)) {
                    let modifiers = input.modifiers;
                    input.raw.events.push(egui::Event::PointerButton { pos, button, pressed, modifiers });
                }
            }
            MouseEvent::WheelScrolled { delta, modifiers } => {
                input.set_modifiers(modifiers);
                let event = input::wheel(delta, input.scale as f32, input.modifiers);
                input.raw.events.push(event);
            }
            MouseEvent::CursorLeft => {
                input.pointer = None;
                input.raw.events.push(egui::Event::PointerGone);
            }
            MouseEvent::DragEntered { position, data, .. } | MouseEvent::DragMoved { position, data, .. } => {
                self.on_drag(input, *position, data, false);
                return EventStatus::AcceptDrop(DropEffect::Copy);
            }
            MouseEvent::DragDropped { position, data, .. } => {
                self.on_drag(input, *position, data, true);
                return EventStatus::AcceptDrop(DropEffect::Copy);
            }
            MouseEvent::DragLeft => input.hovering.clear(),
            _ => return EventStatus::Ignored,
        }
        EventStatus::Captured
    }

    fn on_key(&self, input: &mut InputState, event: &keyboard_types::KeyboardEvent) -> EventStatus {
        input.set_modifiers(&event.modifiers);
        let pressed = event.state == keyboard_types::KeyState::Down;
        let modifiers = input.modifiers;
        let key = input::logical_key(&event.key);
        if let Some(key) = key {
            let physical_key = input::physical_key(event.code);
            input.raw.events.push(egui::Event::Key { key, physical_key, pressed, repeat: event.repeat, modifiers });
        }
        if pressed {
            if let Some(clip) = input::clipboard_event(modifiers, event.code) {
                input.raw.events.push(clip);
            } else if let keyboard_types::Key::Character(text) = &event.key {
                if !modifiers.ctrl && !modifiers.command && !text.chars().any(char::is_control) {
                    input.raw.events.push(egui::Event::Text(text.clone()));
                }
            }
        }
        // Keys the editor does not need go back to the host, so its transport shortcuts keep
        // working while the editor has focus.
        let wanted = self.ctx.egui_wants_keyboard_input() || key.is_some_and(|k| lock_ui(&self.ui).captures_key(k));
        if wanted {
            EventStatus::Captured
        } else {
            EventStatus::Ignored
        }
    }
}

impl<U: EditorUi> WindowHandler for Handler<U> {
    fn draw(&self) -> Result<(), HandlerError> {
        let size = self.window.size();
        let raw = {
            let Ok(mut input) = self.input.try_borrow_mut() else {
                nice_warn!("editor: draw re-entered; frame skipped");
                return Ok(());
            };
            let mut raw = input.raw.take();
            raw.time = Some(self.start.elapsed().as_secs_f64());
            raw.hovered_files = input::hovered_files(&input.hovering);
            raw
        };
        let mut output = {
            let mut app = lock_ui(&self.ui);
            self.ctx.run_ui(raw, |ui| app.ui(ui))
        };
        self.apply_platform_output(&mut output.platform_output);
        self.paint(output, size)
    }

    fn resized(&self, new_size: WindowSize) -> Result<(), HandlerError> {
        if let Ok(mut input) = self.input.try_borrow_mut() {
            input.set_size(new_size);
        }
        self.shared.scale_bits.store((new_size.scale_factor as f32).to_bits(), Ordering::Relaxed);
        let logical = [new_size.logical.width.round() as u32, new_size.logical.height.round() as u32];
        if logical[0] > 0 && logical[1] > 0 {
            self.shared.size.set(logical);
        }
        self.window.request_redraw();
        Ok(())
    }

    fn on_event(&self, event: Event) -> EventStatus {
        let Ok(mut input) = self.input.try_borrow_mut() else {
            nice_warn!("editor: event during a frame; dropped");
            return EventStatus::Ignored;
        };
        let status = match &event {
            Event::Mouse(mouse) => self.on_mouse(&mut input, mouse),
            Event::Keyboard(key) => self.on_key(&mut input, key),
            Event::Window(WindowEvent::Focused | WindowEvent::Unfocused) => {
                let focused = matches!(event, Event::Window(WindowEvent::Focused));
                input.raw.focused = focused;
                input.raw.events.push(egui::Event::WindowFocused(focused));
                EventStatus::Captured
            }
            _ => EventStatus::Ignored,
        };
        drop(input);
        self.window.request_redraw();
        status
    }
}

impl<U: EditorUi> Drop for Handler<U> {
    fn drop(&mut self) {
        self.shared.open.store(false, Ordering::Release);
        lock_ui(&self.ui).closed();
        // Whatever was never uploaded goes with the painter.
        self.pending_textures.get_mut().clear();
        let Some(mut gl) = self.gl.get_mut().take() else { return };
        match self.window.gl_context() {
            Some(context) => {
                // SAFETY: the painter's GL objects belong to this context; destroying them needs
                // it current on this thread.
                if unsafe { context.make_current() }.is_ok() {
                    gl.painter.destroy();
                    // SAFETY: as above.
                    let _ = unsafe { context.make_not_current() };
                }
            }
            None => nice_warn!("editor: GL context gone before the painter; GL objects leak with it"),
        }
    }
}

/// A handler error with a message (baseview wants a boxed `std::error::Error`).
fn handler_error(message: impl Into<String>) -> HandlerError {
    let message: String = message.into();
    HandlerError::from_boxed(message.into())
}
