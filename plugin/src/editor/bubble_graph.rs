//! The bubble graph: one bubble per class, one dot per sample, in world coordinates mapped to the
//! screen by the view's zoom and pan.
//!
//! Per frame the graph walks the filtered samples once: dots outside the view are skipped, the
//! rest are drawn and remembered with their screen position in a reused buffer, which then
//! serves hit-testing (hover, click, drag, context menu). Nothing is allocated per dot per
//! frame; the filtered list is rebuilt only when the library or the filters change.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use drumsort_core::class::DrumClass;
use drumsort_core::classifier::LOW_CONFIDENCE;
use egui::{Align2, Color32, CursorIcon, FontId, Key, Pos2, Rect, Sense, Stroke, Ui, Vec2};

use super::drag::DragGesture;
use super::palette::{self, class_colour, class_label, dot_colour};
use crate::shared::{Command, LibrarySnapshot, SampleDot, Shared};
use crate::view::{Filter, ViewState, MAX_ZOOM, MIN_ZOOM};

/// Zoom limits, relative to "fit everything".
/// Dot radius in world units (a bubble of n samples has radius √n), and its screen limits.
const DOT_RADIUS: f32 = 0.3;
const MIN_DOT_PX: f32 = 1.6;
const MAX_DOT_PX: f32 = 9.0;
/// Extra pointer slack when picking a dot, screen points.
const PICK_SLACK: f32 = 4.0;

/// Maps world coordinates to the screen for one frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transform {
    /// Screen position of the world point `pan`.
    center: Pos2,
    /// The world point at the centre of the view.
    pan: Vec2,
    /// Screen points per world unit.
    scale: f32,
}

impl Transform {
    /// The transform that shows `view` inside `rect` for a world spanning `bounds`.
    pub fn new(rect: Rect, bounds: Rect, view: &ViewState) -> Self {
        let fit = 0.94 * (rect.width() / bounds.width().max(1.0)).min(rect.height() / bounds.height().max(1.0));
        Self { center: rect.center(), pan: Vec2::from(view.pan), scale: fit * view.zoom }
    }

    /// Screen position of a world point.
    pub fn to_screen(self, world: [f32; 2]) -> Pos2 {
        self.center + (Vec2::from(world) - self.pan) * self.scale
    }

    /// World point under a screen position.
    pub fn to_world(self, screen: Pos2) -> Vec2 {
        self.pan + (screen - self.center) / self.scale
    }
}

/// What the graph asks of the rest of the editor after a frame.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GraphOutput {
    /// A dot was dragged out of the editor: start an OS drag of this file.
    pub drag_out: Option<PathBuf>,
    /// The user asked for similar samples: open the side panel.
    pub show_similar: bool,
}

/// The graph's state between frames.
#[derive(Debug)]
pub struct BubbleGraph {
    /// The snapshot drawn; replaced when the worker publishes a new one.
    library: Arc<LibrarySnapshot>,
    /// Lower-cased file names by sample index, for the text filter; rebuilt with the snapshot.
    lower_names: Vec<String>,
    /// Indices of the samples that pass the filters.
    visible: Vec<u32>,
    /// How many of each class (by [`DrumClass::index`]) pass the filters.
    visible_per_class: [usize; DrumClass::COUNT],
    /// The filter `visible` was computed with (`None`: recompute).
    filtered_with: Option<Filter>,
    /// World rectangle covering every bubble.
    bounds: Rect,
    /// Dots drawn this frame with their screen position; reused every frame for hit-testing.
    on_screen: Vec<(u32, Pos2)>,
    /// Dot radius on screen this frame.
    dot_px: f32,
    /// The transform of the last frame (tests and the window glue locate dots with it).
    transform: Option<Transform>,
    /// The dot a right-click opened the context menu on.
    menu_target: Option<u32>,
    /// The dot being dragged, if a drag started on one.
    dragged: Option<u32>,
    /// Tracks that drag leaving the editor.
    gesture: DragGesture,
}

impl Default for BubbleGraph {
    fn default() -> Self {
        Self {
            library: Arc::default(),
            lower_names: Vec::new(),
            visible: Vec::new(),
            visible_per_class: [0; DrumClass::COUNT],
            filtered_with: None,
            bounds: Rect::from_min_max(Pos2::new(-1.0, -1.0), Pos2::new(1.0, 1.0)),
            on_screen: Vec::new(),
            dot_px: MIN_DOT_PX,
            transform: None,
            menu_target: None,
            dragged: None,
            gesture: DragGesture::default(),
        }
    }
}

impl BubbleGraph {
    /// Adopts `library` if it is not the snapshot already drawn.
    pub fn set_library(&mut self, library: Arc<LibrarySnapshot>) {
        if Arc::ptr_eq(&library, &self.library) {
            return;
        }
        self.lower_names = library.samples.iter().map(|s| s.name.to_lowercase()).collect();
        self.bounds = library.bubbles.iter().fold(Rect::NOTHING, |r, b| {
            r.union(Rect::from_center_size(Pos2::from(b.center), Vec2::splat(2.0 * b.radius)))
        });
        if !self.bounds.is_positive() {
            self.bounds = Rect::from_min_max(Pos2::new(-1.0, -1.0), Pos2::new(1.0, 1.0));
        }
        self.library = library;
        self.filtered_with = None;
        self.menu_target = None;
        self.dragged = None;
    }

    /// The samples passing the current filters.
    pub fn visible_count(&self) -> usize {
        self.visible.len()
    }

    /// Where the dot of `path` was drawn last frame, if it was visible and on screen.
    pub fn dot_screen_pos(&self, path: &Path) -> Option<Pos2> {
        let i = self.index_of(path)?;
        self.on_screen.iter().find(|(j, _)| *j == i).map(|&(_, p)| p)
    }

    fn index_of(&self, path: &Path) -> Option<u32> {
        // Snapshots are sorted by path; fall back to a scan if one is not.
        let samples = &self.library.samples;
        match samples.binary_search_by(|s| s.path.as_path().cmp(path)) {
            Ok(i) => Some(i as u32),
            Err(_) => samples.iter().position(|s| s.path == path).map(|i| i as u32),
        }
    }

    fn sample(&self, i: u32) -> &SampleDot {
        &self.library.samples[i as usize]
    }

    fn refilter(&mut self, view: &ViewState) {
        let filter = view.filter();
        if self.filtered_with.as_ref() == Some(&filter) {
            return;
        }
        self.visible.clear();
        self.visible_per_class = [0; DrumClass::COUNT];
        for (i, (s, name)) in self.library.samples.iter().zip(&self.lower_names).enumerate() {
            if filter.shows(s.class, name) {
                self.visible.push(i as u32);
                self.visible_per_class[s.class.index()] += 1;
            }
        }
        self.filtered_with = Some(filter);
    }

    /// The drawn dot nearest `pos` within picking distance.
    fn pick(&self, pos: Pos2) -> Option<u32> {
        let reach = self.dot_px + PICK_SLACK;
        let mut best = None;
        let mut best_d2 = reach * reach;
        for &(i, p) in &self.on_screen {
            let d2 = p.distance_sq(pos);
            if d2 <= best_d2 {
                best_d2 = d2;
                best = Some(i);
            }
        }
        best
    }

    /// Draws the graph in the space left in `ui` and handles its interaction. `editor` is the
    /// whole editor's rectangle (a dot dragged past it becomes an OS drag).
    pub fn show(&mut self, ui: &mut Ui, shared: &Shared, view: &mut ViewState, editor: Rect) -> GraphOutput {
        let mut out = GraphOutput::default();
        self.refilter(view);
        let (rect, response) = ui.allocate_exact_size(ui.available_size(), Sense::click_and_drag());
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 4.0, ui.visuals().extreme_bg_color);

        // Zoom about the pointer, pan by dragging empty space.
        if let Some(hover) = response.hover_pos() {
            let (scroll, pinch) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
            let factor = (scroll * 0.002).exp() * pinch;
            if factor != 1.0 {
                let t = Transform::new(rect, self.bounds, view);
                let anchor = t.to_world(hover);
                view.zoom = (view.zoom * factor).clamp(MIN_ZOOM, MAX_ZOOM);
                let scaled = Transform::new(rect, self.bounds, view);
                let moved = anchor - scaled.to_world(hover);
                view.pan = [view.pan[0] + moved.x, view.pan[1] + moved.y];
            }
        }
        if response.drag_started() {
            let origin = ui.input(|i| i.pointer.press_origin());
            self.dragged = origin.and_then(|p| self.pick(p));
            if self.dragged.is_some() {
                self.gesture.start();
            }
        }
        if response.dragged() && self.dragged.is_none() {
            let t = Transform::new(rect, self.bounds, view);
            let d = response.drag_delta() / t.scale;
            view.pan = [view.pan[0] - d.x, view.pan[1] - d.y];
        }
        if response.double_clicked() && self.pick_at(&response).is_none() {
            view.zoom = 1.0;
            view.pan = self.bounds.center().into();
        }

        let t = Transform::new(rect, self.bounds, view);
        self.transform = Some(t);
        self.dot_px = (DOT_RADIUS * t.scale).clamp(MIN_DOT_PX, MAX_DOT_PX);
        let filter = view.filter();
        self.draw(ui, &painter, rect, &t, &filter);

        // Hit-testing uses this frame's drawn dots.
        let hovered = response.hover_pos().and_then(|p| self.pick(p));
        let selected = view.selected.as_deref().and_then(|p| self.index_of(p));
        let playing = shared.playing().and_then(|p| self.index_of(&p));
        self.draw_marks(&painter, selected, playing, hovered);

        if self.dragged.is_some() && self.gesture.update(ui.ctx(), editor) {
            out.drag_out = self.dragged.map(|i| self.sample(i).path.clone());
        }
        if let Some(i) = self.dragged.filter(|_| self.gesture.is_active() && !self.gesture.has_left()) {
            ui.ctx().set_cursor_icon(CursorIcon::Grabbing);
            if let Some(p) = ui.ctx().pointer_latest_pos() {
                let galley_pos = p + Vec2::new(12.0, -4.0);
                painter.text(
                    galley_pos,
                    Align2::LEFT_BOTTOM,
                    &self.sample(i).name,
                    FontId::proportional(12.0),
                    Color32::WHITE,
                );
            }
        }
        if !self.gesture.is_active() {
            self.dragged = None;
        }

        if response.clicked() {
            if let Some(i) = self.pick_at(&response) {
                self.click(i, shared, view, playing == Some(i));
            }
        }
        if let Some(i) = hovered.filter(|_| self.dragged.is_none()) {
            let s = self.sample(i).clone();
            ui.ctx().set_cursor_icon(CursorIcon::PointingHand);
            response.clone().on_hover_ui_at_pointer(|ui| dot_tooltip(ui, &s));
        }
        if response.secondary_clicked() {
            self.menu_target = self.pick_at(&response);
        }
        response.context_menu(|ui| self.context_menu(ui, shared, view, &mut out));
        self.step_with_arrows(ui, shared, view, rect);
        out
    }

    fn pick_at(&self, response: &egui::Response) -> Option<u32> {
        response.interact_pointer_pos().or(response.hover_pos()).and_then(|p| self.pick(p))
    }

    fn click(&self, i: u32, shared: &Shared, view: &mut ViewState, is_playing: bool) {
        let path = self.sample(i).path.clone();
        view.selected = Some(path.clone());
        shared.send(if is_playing { Command::StopAudition } else { Command::Audition(path) });
    }

    fn draw(&mut self, ui: &Ui, painter: &egui::Painter, rect: Rect, t: &Transform, filter: &Filter) {
        let text = ui.visuals().text_color();
        for b in &self.library.bubbles {
            let c = t.to_screen(b.center);
            let r = b.radius * t.scale;
            if !rect.expand(r).contains(c) {
                continue;
            }
            let colour = class_colour(b.class);
            let shown = filter.shows_class(b.class);
            let fill = if shown { colour.gamma_multiply(0.12) } else { Color32::TRANSPARENT };
            painter.circle(c, r, fill, Stroke::new(1.0, colour.gamma_multiply(if shown { 0.7 } else { 0.25 })));
            // The label sits inside the rim when the bubble is big enough, above it otherwise, on
            // a backdrop so dots under it do not garble it.
            let shown_n = self.visible_per_class[b.class.index()];
            let label = if shown_n == b.count || !shown {
                format!("{} {}", class_label(b.class), b.count)
            } else {
                format!("{} {shown_n} of {}", class_label(b.class), b.count)
            };
            let label_colour = if shown { text } else { text.gamma_multiply(0.4) };
            let galley = painter.layout_no_wrap(label, FontId::proportional(13.0), label_colour);
            let size = galley.size();
            let top = if r > 40.0 { c.y - r + 6.0 } else { c.y - r - 2.0 - size.y };
            let label_rect = Rect::from_min_size(Pos2::new(c.x - size.x / 2.0, top), size);
            if shown {
                painter.rect_filled(label_rect.expand2(Vec2::new(4.0, 1.0)), 4.0, Color32::from_black_alpha(150));
            }
            painter.galley(label_rect.min, galley, label_colour);
        }
        self.on_screen.clear();
        let cull = rect.expand(self.dot_px);
        let ring = Stroke::new((self.dot_px * 0.35).clamp(1.0, 2.0), palette::CORRECTED);
        for &i in &self.visible {
            let s = &self.library.samples[i as usize];
            let p = t.to_screen(s.pos);
            if !cull.contains(p) {
                continue;
            }
            if needs_check(s) {
                // A label to check: a hollow ring in the class colour, not a faint dot that reads
                // as "less important".
                let w = (self.dot_px * 0.4).clamp(1.0, 2.5);
                let fill = class_colour(s.class).gamma_multiply(0.12);
                painter.circle(p, self.dot_px - w / 2.0, fill, Stroke::new(w, class_colour(s.class)));
            } else {
                painter.circle_filled(p, self.dot_px, dot_colour(s.class, s.confidence));
            }
            if s.corrected {
                painter.circle_stroke(p, self.dot_px + 1.5, ring);
            }
            self.on_screen.push((i, p));
        }
    }

    fn draw_marks(&self, painter: &egui::Painter, selected: Option<u32>, playing: Option<u32>, hovered: Option<u32>) {
        let at = |i: u32| self.on_screen.iter().find(|(j, _)| *j == i).map(|&(_, p)| p);
        let r = self.dot_px;
        if let Some(p) = hovered.and_then(at) {
            painter.circle_stroke(p, r + 3.0, Stroke::new(1.0, Color32::from_white_alpha(160)));
        }
        if let Some(p) = selected.and_then(at) {
            painter.circle_stroke(p, r + 4.0, Stroke::new(2.0, palette::SELECTED));
        }
        if let Some(p) = playing.and_then(at) {
            painter.circle_filled(p, r + 1.0, palette::PLAYING);
            painter.circle_stroke(p, r + 7.0, Stroke::new(2.0, palette::PLAYING));
        }
    }

    fn context_menu(&mut self, ui: &mut Ui, shared: &Shared, view: &mut ViewState, out: &mut GraphOutput) {
        let Some(i) = self.menu_target else {
            if ui.button("Fit view").clicked() {
                view.zoom = 1.0;
                view.pan = self.bounds.center().into();
                ui.close();
            }
            return;
        };
        let s = self.sample(i).clone();
        ui.label(egui::RichText::new(&s.name).strong());
        ui.separator();
        ui.menu_button("Relabel", |ui| {
            for class in DrumClass::ALL {
                let text = egui::RichText::new(class_label(class)).color(class_colour(class));
                if ui.add(egui::Button::new(text).selected(class == s.class && s.corrected)).clicked() {
                    shared.send(Command::Relabel(s.path.clone(), Some(class)));
                    ui.close();
                }
            }
            ui.separator();
            if ui.add_enabled(s.corrected, egui::Button::new("Clear correction")).clicked() {
                shared.send(Command::Relabel(s.path.clone(), None));
                ui.close();
            }
        });
        if ui.button("Show similar").clicked() {
            shared.send(Command::FindSimilar(s.path.clone()));
            view.selected = Some(s.path.clone());
            out.show_similar = true;
            ui.close();
        }
        if ui.button("Reveal in file manager").clicked() {
            if let Err(e) = reveal(&s.path) {
                shared.set_status(Some(format!("Could not open the file manager: {e}")));
            }
            ui.close();
        }
        if ui.button("Copy path").clicked() {
            ui.ctx().copy_text(s.path.display().to_string());
            ui.close();
        }
    }

    /// Arrow keys: step from the selected dot to the nearest visible dot in that direction (the
    /// layout puts similar sounds near each other) and audition it.
    fn step_with_arrows(&mut self, ui: &Ui, shared: &Shared, view: &mut ViewState, rect: Rect) {
        if ui.ctx().egui_wants_keyboard_input() || self.visible.is_empty() {
            return;
        }
        let dir = ui.input(|i| {
            [
                (Key::ArrowLeft, Vec2::LEFT),
                (Key::ArrowRight, Vec2::RIGHT),
                (Key::ArrowUp, Vec2::UP),
                (Key::ArrowDown, Vec2::DOWN),
            ]
            .into_iter()
            .find(|(k, _)| i.key_pressed(*k))
            .map(|(_, d)| d)
        });
        let Some(dir) = dir else { return };
        let from = view.selected.as_deref().and_then(|p| self.index_of(p)).filter(|i| self.visible.contains(i));
        let next = match from {
            Some(i) => self.nearest_in_direction(i, dir),
            None => self.nearest_to(Vec2::from(view.pan)),
        };
        let Some(next) = next else { return };
        let s = self.sample(next);
        view.selected = Some(s.path.clone());
        shared.send(Command::Audition(s.path.clone()));
        // Keep the new selection in view.
        let t = Transform::new(rect, self.bounds, view);
        if !rect.shrink(20.0).contains(t.to_screen(s.pos)) {
            view.pan = s.pos;
        }
    }

    /// The visible dot nearest to `from` in direction `dir`: distance along `dir` plus twice the
    /// sideways distance, among dots ahead of it.
    pub fn nearest_in_direction(&self, from: u32, dir: Vec2) -> Option<u32> {
        let origin = Vec2::from(self.sample(from).pos);
        let mut best: Option<(u32, f32)> = None;
        for &i in &self.visible {
            let d = Vec2::from(self.sample(i).pos) - origin;
            let along = d.dot(dir);
            if i == from || along <= 1e-4 {
                continue;
            }
            let score = along + 2.0 * (d - dir * along).length();
            if best.is_none_or(|(_, b)| score < b) {
                best = Some((i, score));
            }
        }
        best.map(|(i, _)| i)
    }

    fn nearest_to(&self, world: Vec2) -> Option<u32> {
        self.visible.iter().copied().min_by(|&a, &b| {
            let da = (Vec2::from(self.sample(a).pos) - world).length_sq();
            let db = (Vec2::from(self.sample(b).pos) - world).length_sq();
            da.total_cmp(&db)
        })
    }
}

/// Whether a dot's label is worth checking: the model's own, with confidence below
/// [`LOW_CONFIDENCE`] (as `drumsort list --check` lists them). Drawn as a hollow ring.
fn needs_check(s: &SampleDot) -> bool {
    !s.corrected && s.confidence < LOW_CONFIDENCE
}

/// The hover card of a dot.
fn dot_tooltip(ui: &mut Ui, s: &SampleDot) {
    ui.label(egui::RichText::new(&s.name).strong());
    ui.horizontal(|ui| {
        ui.colored_label(class_colour(s.class), class_label(s.class));
        if s.corrected {
            ui.label("(corrected)");
        }
    });
    if needs_check(s) {
        ui.label(format!("confidence {:.0} %: check this label", s.confidence * 100.0));
    } else {
        ui.label(format!("confidence {:.0} %", s.confidence * 100.0));
    }
    ui.label(format!("duration {:.2} s", s.duration_s));
}

/// Shows `path` in the platform's file manager without waiting for it.
fn reveal(path: &Path) -> std::io::Result<()> {
    use std::process::{Command as Process, Stdio};
    let mut cmd = if cfg!(target_os = "macos") {
        let mut c = Process::new("open");
        c.arg("-R").arg(path);
        c
    } else if cfg!(target_os = "windows") {
        let mut c = Process::new("explorer");
        c.arg(format!("/select,{}", path.display()));
        c
    } else {
        let mut c = Process::new("xdg-open");
        c.arg(path.parent().unwrap_or(path));
        c
    };
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
    // Reap the child off the GUI thread so it does not linger as a zombie.
    std::thread::spawn(move || child.wait());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dot(confidence: f32, corrected: bool) -> SampleDot {
        SampleDot {
            path: PathBuf::from("a.wav"),
            name: "a.wav".into(),
            class: DrumClass::Kick,
            corrected,
            confidence,
            duration_s: 0.3,
            pos: [0.0, 0.0],
        }
    }

    #[test]
    fn unsure_model_labels_are_marked_and_corrections_never() {
        assert!(needs_check(&dot(0.2, false)));
        assert!(needs_check(&dot(LOW_CONFIDENCE - 0.01, false)));
        assert!(!needs_check(&dot(LOW_CONFIDENCE, false)));
        assert!(!needs_check(&dot(0.9, false)));
        assert!(!needs_check(&dot(0.2, true)), "the user has set this one");
    }
}
