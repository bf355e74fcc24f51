//! The editor's content: the top bar and the open tab (bubble graph or hit lane), drawn from the
//! shared state and the view state, plus dropped files and drags out of the window.
//!
//! Everything is a function of `(ui, shared, view)`, so the window glue, the snapshot tests and
//! the frame-time benchmark all drive the same [`EditorApp::ui`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use egui::{Align2, Color32, FontId, Pos2, RichText, Ui};

use super::bubble_graph::BubbleGraph;
use super::drag::DragOut;
use super::hit_lane::HitLane;
use super::palette::{class_colour, class_label};
use super::toolbar::{Toolbar, ToolbarInput};
use crate::params::DrumsortParams;
use crate::shared::{Command, Shared};
use crate::view::{Tab, ViewState};

/// Width of the "similar samples" side panel, points.
const SIMILAR_PANEL_W: f32 = 240.0;

/// The editor's content. One per open editor window; built on the GUI thread when it opens.
pub struct EditorApp {
    /// State shared with the worker (library, scan, hits) and the command channel.
    shared: Arc<Shared>,
    /// The plugin's parameters: the persisted view state and the class notes for MIDI clips.
    params: Arc<DrumsortParams>,
    /// The working copy of the view, read from `params.view` when the editor opens.
    view: ViewState,
    /// The view as last written back to `params.view`, to write only on change.
    saved_view: ViewState,
    /// Set by the window glue: starts an OS-level drag of these files. Called when a dot or the
    /// MIDI clip is dragged past the editor's edge; `None` where the window cannot drag out.
    pub drag_out: Option<DragOut>,
    graph: BubbleGraph,
    lane: HitLane,
    toolbar: Toolbar,
    /// Whether the similar-samples panel is open.
    similar_open: bool,
}

impl std::fmt::Debug for EditorApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EditorApp").field("view", &self.view).finish_non_exhaustive()
    }
}

/// The view the host restored (or the editor last saved), made safe to draw.
fn saved_view(params: &DrumsortParams) -> ViewState {
    params.view.lock().map(|v| v.clone()).unwrap_or_else(|e| e.into_inner().clone()).sanitized()
}

impl EditorApp {
    /// Called by the window when it opens: takes the view from `params.view` (the host may have
    /// restored a session since this editor was built), lets the worker wake the editor (new
    /// library snapshot, scan progress, hits) through `ctx`, and asks it to read the library.
    pub fn opened(&mut self, ctx: &egui::Context) {
        let view = saved_view(&self.params);
        self.saved_view = view.clone();
        self.view = view;
        let ctx = ctx.clone();
        self.shared.set_repaint(Some(Box::new(move || ctx.request_repaint())));
        // Re-read the index: it may be new to this instance, or the CLI may have changed it.
        self.shared.send(Command::Reload);
    }

    /// Called by the window when it closes: the worker stops waking it.
    pub fn closed(&self) {
        self.shared.set_repaint(None);
    }

    /// The editor's content for one plugin instance; the view comes from `params.view`.
    pub fn new(shared: Arc<Shared>, params: Arc<DrumsortParams>) -> Self {
        let view = saved_view(&params);
        Self {
            shared,
            params,
            saved_view: view.clone(),
            view,
            drag_out: None,
            graph: BubbleGraph::default(),
            lane: HitLane::default(),
            toolbar: Toolbar::default(),
            similar_open: false,
        }
    }

    /// The current view (zoom, pan, filters, selection, tab).
    pub fn view(&self) -> &ViewState {
        &self.view
    }

    /// Where the dot of `path` was drawn in the last frame, if visible: for tests and for the
    /// window glue's drag tests.
    pub fn dot_screen_pos(&self, path: &Path) -> Option<Pos2> {
        self.graph.dot_screen_pos(path)
    }

    /// Samples passing the filters in the last frame.
    pub fn visible_count(&self) -> usize {
        self.graph.visible_count()
    }

    /// Draws the whole editor into `ui` (the window's root ui) and handles its input.
    pub fn ui(&mut self, ui: &mut Ui) {
        let editor = ui.max_rect();
        let library = self.shared.library();
        self.graph.set_library(Arc::clone(&library));
        let scan = self.shared.scan();
        let status = self.shared.status();
        let mut commands = Vec::new();

        let dropped: Vec<PathBuf> =
            ui.ctx().input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        if !dropped.is_empty() {
            commands.push(Command::AddPaths(dropped));
        }

        let input = ToolbarInput {
            library: &library,
            scan: &scan,
            status: status.as_deref(),
            shown: self.graph.visible_count(),
        };
        self.toolbar.show(ui, &input, &mut self.view, &mut commands);
        ui.separator();
        let drag_out = match self.view.tab {
            Tab::Library => {
                if self.similar_open {
                    egui::Panel::right("similar").exact_size(SIMILAR_PANEL_W).resizable(false).show(ui, |ui| {
                        self.similar_panel(ui);
                    });
                }
                let out = self.graph.show(ui, &self.shared, &mut self.view, editor);
                self.similar_open |= out.show_similar;
                out.drag_out
            }
            Tab::Hits => self.lane.show(ui, &self.shared, &self.params, editor).drag_out,
        };
        for command in commands {
            self.shared.send(command);
        }
        if let (Some(path), Some(start)) = (drag_out, &self.drag_out) {
            start(vec![path]);
        }
        drop_overlay(ui);
        self.save_view();
    }

    /// The neighbours of the last "Show similar", nearest first; click one to audition it.
    fn similar_panel(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            ui.strong("Similar samples");
            if ui.small_button("×").on_hover_text("Close").clicked() {
                self.similar_open = false;
            }
        });
        let Some(similar) = self.shared.similar() else {
            ui.label(RichText::new("Searching…").weak());
            return;
        };
        let name =
            |p: &Path| p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned());
        ui.label(RichText::new(format!("like {}", name(&similar.query))).weak());
        let library = self.shared.library();
        let playing = self.shared.playing();
        egui::ScrollArea::vertical().show(ui, |ui| {
            for (path, distance) in &similar.neighbours {
                let class = library.samples.iter().find(|s| &s.path == path).map(|s| s.class);
                ui.horizontal(|ui| {
                    if let Some(class) = class {
                        ui.colored_label(class_colour(class), class_label(class));
                    }
                    let selected = playing.as_ref() == Some(path);
                    let row =
                        ui.selectable_label(selected, name(path)).on_hover_text(format!("distance {distance:.3}"));
                    if row.clicked() {
                        self.view.selected = Some(path.clone());
                        self.shared.send(if selected {
                            Command::StopAudition
                        } else {
                            Command::Audition(path.clone())
                        });
                    }
                });
            }
        });
    }

    /// Writes the view back to the params (persisted with the project) when it changed.
    fn save_view(&mut self) {
        if self.view != self.saved_view {
            let mut stored = self.params.view.lock().unwrap_or_else(|e| e.into_inner());
            *stored = self.view.clone();
            self.saved_view = self.view.clone();
        }
    }
}

/// While files are dragged over the window: a veil and "Drop to add to the library".
fn drop_overlay(ui: &Ui) {
    let hovering = ui.ctx().input(|i| !i.raw.hovered_files.is_empty());
    if !hovering {
        return;
    }
    let rect = ui.ctx().content_rect();
    let painter =
        ui.ctx().layer_painter(egui::LayerId::new(egui::Order::Foreground, egui::Id::unique("drumsort-drop-overlay")));
    painter.rect_filled(rect, 0.0, Color32::from_black_alpha(170));
    painter.rect_stroke(rect.shrink(8.0), 12.0, egui::Stroke::new(2.0, Color32::WHITE), egui::StrokeKind::Inside);
    painter.text(
        rect.center(),
        Align2::CENTER_CENTER,
        "Drop to add to the library",
        FontId::proportional(24.0),
        Color32::WHITE,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::Tab;

    #[test]
    fn opening_takes_the_view_a_restored_session_put_in_the_params() {
        let (shared, _rx) = Shared::new();
        let params = Arc::new(DrumsortParams::default());
        // The host builds the editor first and restores the session's state afterwards.
        let mut app = EditorApp::new(Arc::clone(&shared), Arc::clone(&params));
        {
            let mut view = params.view.lock().unwrap();
            view.zoom = 3.0;
            view.tab = Tab::Hits;
        }
        let ctx = egui::Context::default();
        app.opened(&ctx);
        assert_eq!(app.view().zoom, 3.0);
        assert_eq!(app.view().tab, Tab::Hits);
        // The worker can now wake the editor; closing unhooks it.
        shared.request_repaint();
        app.closed();
    }
}
