//! The editor's top bar: tabs, adding and removing library roots, rescan, class and text
//! filters, scan progress and the status line.

use std::path::PathBuf;

use drumsort_core::class::DrumClass;
use egui::{Color32, RichText, Ui};

use super::palette::{self, class_colour, class_label};
use crate::shared::{Command, LibrarySnapshot, ScanStatus};
use crate::view::{Tab, ViewState};

/// Text fields of the top bar that live between frames but not in the project.
#[derive(Clone, Debug, Default)]
pub struct Toolbar {
    /// The "Add folder" path field.
    pub add_path: String,
}

/// Everything the top bar shows, read from [`crate::shared::Shared`] once per frame.
pub struct ToolbarInput<'a> {
    /// The library (roots, errors).
    pub library: &'a LibrarySnapshot,
    /// Scan progress.
    pub scan: &'a ScanStatus,
    /// Status-bar message.
    pub status: Option<&'a str>,
    /// Samples passing the filters, for "n of m shown".
    pub shown: usize,
}

impl Toolbar {
    /// Draws the bar; commands for the worker are pushed onto `commands`.
    pub fn show(&mut self, ui: &mut Ui, input: &ToolbarInput<'_>, view: &mut ViewState, commands: &mut Vec<Command>) {
        ui.horizontal(|ui| {
            ui.selectable_value(&mut view.tab, Tab::Library, RichText::new("Library").strong());
            ui.selectable_value(&mut view.tab, Tab::Hits, RichText::new("Hits").strong());
            ui.separator();
            let field = ui.add(
                egui::TextEdit::singleline(&mut self.add_path)
                    .id_salt("add-path")
                    .hint_text("Folder or file path")
                    .desired_width(220.0),
            );
            let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if (ui.button("Add folder").clicked() || entered) && !self.add_path.trim().is_empty() {
                commands.push(Command::AddPaths(vec![PathBuf::from(self.add_path.trim())]));
                self.add_path.clear();
            }
            if ui.add_enabled(!input.scan.running, egui::Button::new("Rescan")).clicked() {
                commands.push(Command::Rescan);
            }
            if view.tab == Tab::Library {
                ui.separator();
                ui.add(
                    egui::TextEdit::singleline(&mut view.query)
                        .id_salt("name-filter")
                        .hint_text("Filter names")
                        .desired_width(150.0),
                );
                if !view.query.is_empty() && ui.small_button("Clear").clicked() {
                    view.query.clear();
                }
            }
        });
        if view.tab == Tab::Library {
            class_chips(ui, view, input);
        }
        roots(ui, input.library, commands);
        status_line(ui, input);
    }
}

/// One toggle chip per class, filled with the class colour when shown.
fn class_chips(ui: &mut Ui, view: &mut ViewState, input: &ToolbarInput<'_>) {
    let filter = view.filter();
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 4.0;
        for class in DrumClass::ALL {
            let shown = filter.shows_class(class);
            let colour = class_colour(class);
            let (fill, text) = if shown { (colour, Color32::BLACK) } else { (Color32::TRANSPARENT, colour) };
            let chip = egui::Button::new(RichText::new(class_label(class)).color(text).size(12.0))
                .fill(fill)
                .stroke(egui::Stroke::new(1.0, colour))
                .corner_radius(8.0);
            let response = ui.add(chip).on_hover_text("Click: show or hide. Right-click: show only this class.");
            if response.clicked() {
                view.toggle_class(class);
            } else if response.secondary_clicked() {
                let solo: Vec<DrumClass> = DrumClass::ALL.into_iter().filter(|&c| c != class).collect();
                view.hidden = if view.hidden == solo { Vec::new() } else { solo };
            }
        }
        if !view.hidden.is_empty() && ui.small_button("All").clicked() {
            view.hidden.clear();
        }
        let total = input.library.samples.len();
        ui.label(RichText::new(format!("{} of {total} shown", input.shown)).weak());
    });
}

/// The library roots with a remove button each, and the count of unreadable files.
fn roots(ui: &mut Ui, library: &LibrarySnapshot, commands: &mut Vec<Command>) {
    ui.horizontal_wrapped(|ui| {
        if library.roots.is_empty() && library.samples.is_empty() {
            ui.label(RichText::new("No library yet: drop folders here or add one above.").weak());
        } else if library.roots.is_empty() {
            // The index has files this project never added (a `drumsort scan`, another project).
            ui.label(RichText::new("Showing the whole index; add a folder to keep it in this project.").weak());
        } else {
            ui.label("Roots:");
        }
        for root in &library.roots {
            ui.label(RichText::new(root.display().to_string()).monospace().size(11.0));
            if ui.small_button("×").on_hover_text("Stop showing this root").clicked() {
                commands.push(Command::RemoveRoot(root.clone()));
            }
        }
        if !library.errors.is_empty() {
            let n = library.errors.len();
            let label = ui.label(
                RichText::new(format!("{n} file{} could not be read", if n == 1 { "" } else { "s" }))
                    .color(palette::ERROR),
            );
            label.on_hover_ui(|ui| {
                for (path, error) in library.errors.iter().take(20) {
                    ui.label(format!("{}: {error}", path.display()));
                }
                if n > 20 {
                    ui.label(format!("... and {} more", n - 20));
                }
            });
        }
    });
}

/// Scan progress while scanning, else the last scan's summary; then the status message.
fn status_line(ui: &mut Ui, input: &ToolbarInput<'_>) {
    let scan = input.scan;
    ui.horizontal(|ui| {
        if scan.running {
            let fraction = if scan.total > 0 { scan.done as f32 / scan.total as f32 } else { 0.0 };
            let text = if scan.total > 0 {
                format!("{}: {} / {} files, {:.0} files/s", scan.phase, scan.done, scan.total, scan.files_per_s)
            } else {
                format!("{}: {} files", scan.phase, scan.done)
            };
            ui.add(egui::ProgressBar::new(fraction).desired_width(360.0).text(text));
        } else if let Some(summary) = &scan.last_summary {
            ui.label(RichText::new(summary).weak());
        }
        if let Some(status) = input.status {
            ui.label(RichText::new(status).color(palette::ERROR));
        }
    });
}
