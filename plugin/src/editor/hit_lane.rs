//! The Hits tab: a scrolling lane of the hits the plugin labels on its track (one row per drum
//! class), hit counts, latency and dropped hits, recording, MIDI export and a "MIDI clip" handle
//! that drags the recording out as a .mid file.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use drumsort_core::class::DrumClass;
use drumsort_core::midi_file::{write_smf, Note, SmfOptions};
use egui::{Align2, Color32, CursorIcon, FontId, Pos2, Rect, RichText, Sense, Stroke, Ui, Vec2};

use super::drag::DragGesture;
use super::palette::{self, class_colour, class_label};
use crate::params::DrumsortParams;
use crate::shared::{Command, LaneHit, Shared};

/// Seconds of hits the lane shows.
const WINDOW_S: f64 = 8.0;
/// Width of the row labels, points.
const LABEL_W: f32 = 120.0;

/// The Hits tab's state between frames.
#[derive(Debug, Default)]
pub struct HitLane {
    /// The "Save MIDI…" path field.
    pub export_path: String,
    /// Newest hit time seen, and the egui time when it was first seen: the lane's clock runs on
    /// from there so it scrolls between hits.
    anchor: Option<(f64, f64)>,
    /// The MIDI clip handle's drag.
    gesture: DragGesture,
    /// Hits copied out of the log each frame (reused buffer).
    recent: Vec<LaneHit>,
}

/// What the lane asks of the editor after a frame.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LaneOutput {
    /// The clip was dragged out of the editor: start an OS drag of this .mid file.
    pub drag_out: Option<PathBuf>,
}

impl HitLane {
    /// Draws the tab; `editor` is the whole editor's rectangle (the clip dragged past it becomes
    /// an OS drag).
    pub fn show(&mut self, ui: &mut Ui, shared: &Shared, params: &DrumsortParams, editor: Rect) -> LaneOutput {
        let mut out = LaneOutput::default();
        let (counts, mut recording, recorded) = shared.with_hits(|log| {
            self.recent.clear();
            self.recent.extend(log.recent.iter().copied());
            (log.counts, log.recording, log.recorded.len())
        });
        ui.horizontal(|ui| {
            let was = recording;
            let colour = if recording { palette::ERROR } else { ui.visuals().text_color() };
            ui.toggle_value(&mut recording, RichText::new("Record").color(colour));
            if recording != was {
                shared.with_hits(|log| {
                    log.recording = recording;
                    if recording {
                        log.recorded.clear();
                    }
                });
            }
            ui.label(format!("{recorded} hits recorded"));
            ui.separator();
            ui.add(
                egui::TextEdit::singleline(&mut self.export_path)
                    .id_salt("midi-path")
                    .hint_text("/path/to/hits.mid")
                    .desired_width(200.0),
            );
            let can_save = recorded > 0 && !self.export_path.trim().is_empty();
            if ui.add_enabled(can_save, egui::Button::new("Save MIDI…")).clicked() {
                shared.send(Command::ExportMidi(PathBuf::from(self.export_path.trim())));
            }
            ui.separator();
            self.clip_handle(ui, shared, params, recorded, editor, &mut out);
        });
        ui.horizontal(|ui| {
            ui.label(format!("Latency {:.1} ms", shared.latency_ms()));
            ui.separator();
            let dropped = shared.dropped_hits.load(Ordering::Relaxed);
            let text = format!("{dropped} dropped hits");
            ui.label(if dropped > 0 { RichText::new(text).color(palette::ERROR) } else { RichText::new(text).weak() });
            // Only when it happened: notes sent after their time (the worker labelled the hit
            // after its note was due: a busy machine).
            let late = shared.late_notes.load(Ordering::Relaxed);
            if late > 0 {
                ui.separator();
                ui.label(RichText::new(format!("{late} late notes")).color(palette::ERROR))
                    .on_hover_text("Notes sent after their time because labelling the hit took longer than the latency allows: the machine is busy");
            }
        });
        self.lane(ui, &counts);
        out
    }

    /// The "MIDI clip" handle: dragging it out of the editor writes the recording as a .mid
    /// file and hands that to the OS drag.
    fn clip_handle(
        &mut self,
        ui: &mut Ui,
        shared: &Shared,
        params: &DrumsortParams,
        recorded: usize,
        editor: Rect,
        out: &mut LaneOutput,
    ) {
        let enabled = recorded > 0;
        let text = RichText::new("MIDI clip").color(if enabled { Color32::BLACK } else { Color32::GRAY });
        let handle = egui::Button::new(text)
            .fill(if enabled { palette::PLAYING } else { Color32::TRANSPARENT })
            .sense(Sense::drag());
        let response =
            ui.add_enabled(enabled, handle).on_hover_text("Drag onto a track to drop the recorded hits as MIDI");
        if response.hovered() || self.gesture.is_active() {
            ui.ctx().set_cursor_icon(if self.gesture.is_active() { CursorIcon::Grabbing } else { CursorIcon::Grab });
        }
        if response.drag_started() {
            self.gesture.start();
        }
        if self.gesture.update(ui.ctx(), editor) {
            let hits = shared.with_hits(|log| log.recorded.clone());
            match write_clip_file(&clip_bytes(&hits, params)) {
                Ok(path) => out.drag_out = Some(path),
                Err(e) => shared.set_status(Some(format!("Could not write the MIDI clip: {e}"))),
            }
        }
    }

    /// One row per drum class: label and count on the left, the last [`WINDOW_S`] seconds of hits
    /// to the right, newest at the right edge.
    fn lane(&mut self, ui: &mut Ui, counts: &[u64; DrumClass::COUNT]) {
        let now_ui = ui.input(|i| i.time);
        let newest = self.recent.last().map(|h| h.time_s);
        if newest.is_some() && newest != self.anchor.map(|a| a.0) {
            self.anchor = newest.map(|t| (t, now_ui));
        }
        let now = self.anchor.map_or(WINDOW_S, |(t, at)| t + (now_ui - at).min(WINDOW_S));
        if self.anchor.is_some_and(|(_, at)| now_ui - at < WINDOW_S) {
            ui.ctx().request_repaint();
        }

        let (rect, _) = ui.allocate_exact_size(ui.available_size(), Sense::hover());
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 4.0, ui.visuals().extreme_bg_color);
        let rows = DrumClass::DRUMS.len();
        let row_h = rect.height() / rows as f32;
        let lane = Rect::from_min_max(Pos2::new(rect.left() + LABEL_W, rect.top()), rect.max);
        let x_of = |t: f64| lane.right() - ((now - t) / WINDOW_S) as f32 * lane.width();
        let text = ui.visuals().text_color();
        // Second grid lines, moving with the clock.
        let mut s = (now - WINDOW_S).ceil();
        while s <= now {
            let x = x_of(s);
            painter.line_segment(
                [Pos2::new(x, rect.top()), Pos2::new(x, rect.bottom())],
                Stroke::new(1.0, Color32::from_white_alpha(14)),
            );
            s += 1.0;
        }
        for (row, class) in DrumClass::DRUMS.into_iter().enumerate() {
            let y = rect.top() + row as f32 * row_h;
            if row % 2 == 1 {
                painter.rect_filled(
                    Rect::from_min_size(Pos2::new(rect.left(), y), Vec2::new(rect.width(), row_h)),
                    0.0,
                    Color32::from_white_alpha(6),
                );
            }
            let label = format!("{}  {}", class_label(class), counts[class.index()]);
            painter.text(
                Pos2::new(rect.left() + 8.0, y + row_h / 2.0),
                Align2::LEFT_CENTER,
                label,
                FontId::proportional(12.0),
                text,
            );
            painter.circle_filled(Pos2::new(rect.left() + LABEL_W - 10.0, y + row_h / 2.0), 4.0, class_colour(class));
        }
        for hit in &self.recent {
            if hit.time_s < now - WINDOW_S || !hit.class.is_drum() {
                continue;
            }
            let row = hit.class.index();
            let centre = Pos2::new(x_of(hit.time_s), rect.top() + (row as f32 + 0.5) * row_h);
            let h = (row_h * 0.7).min(18.0) * (0.4 + 0.6 * f32::from(hit.velocity) / 127.0);
            let colour = class_colour(hit.class).gamma_multiply(0.4 + 0.6 * hit.confidence.clamp(0.0, 1.0));
            painter.rect_filled(Rect::from_center_size(centre, Vec2::new(4.0, h)), 1.0, colour);
        }
        if self.recent.is_empty() {
            painter.text(
                lane.center(),
                Align2::CENTER_CENTER,
                "No hits yet: play audio through the plugin.",
                FontId::proportional(14.0),
                text.gamma_multiply(0.6),
            );
        }
    }
}

/// A standard MIDI file of recorded hits, starting at the first hit, with each class on its
/// note from the parameters (disabled classes left out), on the parameters' channel and note
/// length.
pub fn clip_bytes(hits: &[LaneHit], params: &DrumsortParams) -> Vec<u8> {
    let start = hits.first().map_or(0.0, |h| h.time_s);
    let notes: Vec<Note> = hits
        .iter()
        .filter_map(|h| {
            let p = params.class(h.class).filter(|p| p.enabled.value())?;
            Some(Note {
                seconds: h.time_s - start,
                key: p.note.value().clamp(0, 127) as u8,
                velocity: h.velocity.max(1),
            })
        })
        .collect();
    let mut opts =
        SmfOptions { channel: (params.midi_channel.value() - 1).clamp(0, 15) as u8, ..SmfOptions::default() };
    opts.note_ticks = opts.ticks(f64::from(params.note_length_ms.value()) / 1000.0).max(1) as u32;
    write_smf(&notes, &opts)
}

/// Writes a clip under `temp_dir()/drumsort/` with a name unique to this moment (a DAW may keep
/// referring to the file after the drop, so an earlier clip is never overwritten).
pub fn write_clip_file(bytes: &[u8]) -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join("drumsort");
    std::fs::create_dir_all(&dir)?;
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let path = dir.join(format!("drumsort-hits-{stamp}.mid"));
    std::fs::write(&path, bytes)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(time_s: f64, class: DrumClass) -> LaneHit {
        LaneHit { time_s, class, velocity: 100, confidence: 0.9 }
    }

    #[test]
    fn clip_starts_at_the_first_hit_and_uses_the_class_notes() {
        let params = DrumsortParams::default();
        let bytes = clip_bytes(&[hit(10.0, DrumClass::Kick), hit(10.5, DrumClass::Snare)], &params);
        let notes = [Note { seconds: 0.0, key: 36, velocity: 100 }, Note { seconds: 0.5, key: 38, velocity: 100 }];
        let opts = SmfOptions { note_ticks: SmfOptions::default().ticks(0.05) as u32, ..SmfOptions::default() };
        assert_eq!(bytes, write_smf(&notes, &opts));
    }

    #[test]
    fn clip_files_land_in_the_temp_folder() {
        let path = write_clip_file(b"MThd").unwrap();
        assert!(path.starts_with(std::env::temp_dir().join("drumsort")));
        assert_eq!(std::fs::read(&path).unwrap(), b"MThd");
        std::fs::remove_file(path).unwrap();
    }
}
