//! Frame-time benchmark of the editor: [`EditorApp::ui`] over a generated library in a headless
//! egui context (layout, painting and tessellation on the CPU, no GPU), while panning and
//! zooming. `cargo xtask bench` prints its figures.

use std::sync::Arc;
use std::time::Instant;

use egui::{Event, MouseWheelUnit, Pos2, Rect, Vec2};

use super::demo::{demo_library, demo_samples};
use super::EditorApp;
use crate::params::{DrumsortParams, EDITOR_SIZE};
use crate::shared::Shared;

/// CPU time per frame, milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameStats {
    /// Frames measured.
    pub frames: usize,
    /// Mean time per frame.
    pub mean_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest frame.
    pub max_ms: f64,
}

/// Runs `frames` frames of the editor over a library of `n_samples`, each frame panning (a
/// drag across the graph) or zooming (scroll wheel about the pointer), and measures
/// `Context::run_ui` plus `Context::tessellate` per frame. The first frames, which build fonts
/// and the filtered list, are run before measuring.
pub fn bench_frames(n_samples: usize, frames: usize) -> FrameStats {
    let (shared, _rx) = Shared::new();
    shared.set_library(demo_library(n_samples, 1));
    bench_frames_of(shared, frames)
}

/// [`bench_frames`] over whatever library `shared` holds (a real one the worker published).
pub fn bench_frames_of(shared: Arc<Shared>, frames: usize) -> FrameStats {
    let mut app = EditorApp::new(shared, Arc::new(DrumsortParams::default()));
    let ctx = egui::Context::default();
    let size = Vec2::new(EDITOR_SIZE[0] as f32, EDITOR_SIZE[1] as f32);
    let screen = Rect::from_min_size(Pos2::ZERO, size);
    let centre = screen.center() + Vec2::new(0.0, 40.0);
    let mut frame = |events: Vec<Event>, time: f64| {
        let input = egui::RawInput { screen_rect: Some(screen), events, time: Some(time), ..Default::default() };
        let start = Instant::now();
        let mut output = ctx.run_ui(input, |ui| app.ui(ui));
        let prims = ctx.tessellate(output.shapes, output.pixels_per_point);
        // No GPU to upload font atlas changes to.
        output.textures_delta.clear();
        std::hint::black_box(prims);
        start.elapsed().as_secs_f64() * 1e3
    };
    for k in 0..5 {
        frame(vec![Event::PointerMoved(centre)], k as f64 / 60.0);
    }
    let mut times = Vec::with_capacity(frames);
    let mut pointer = centre;
    let mut pressed = false;
    for k in 0..frames {
        let phase = (k / 60) % 3;
        let mut events = Vec::new();
        match phase {
            // Pan: hold the button and move in a circle.
            0 => {
                if !pressed {
                    events.push(Event::PointerButton {
                        pos: pointer,
                        button: egui::PointerButton::Primary,
                        pressed: true,
                        modifiers: Default::default(),
                    });
                    pressed = true;
                }
                let a = k as f32 * 0.1;
                pointer = centre + Vec2::new(a.cos(), a.sin()) * 120.0;
                events.push(Event::PointerMoved(pointer));
            }
            // Zoom in, then out, about the pointer.
            _ => {
                if pressed {
                    events.push(Event::PointerButton {
                        pos: pointer,
                        button: egui::PointerButton::Primary,
                        pressed: false,
                        modifiers: Default::default(),
                    });
                    pressed = false;
                }
                let dy = if phase == 1 { 40.0 } else { -40.0 };
                events.push(Event::MouseWheel {
                    unit: MouseWheelUnit::Point,
                    delta: Vec2::new(0.0, dy),
                    modifiers: Default::default(),
                    phase: egui::TouchPhase::Move,
                    source: egui::MouseWheelSource::Unknown,
                });
            }
        }
        times.push(frame(events, (k + 5) as f64 / 60.0));
    }
    stats(&mut times)
}

/// Wall time of [`crate::layout::layout`] over a generated library of `n_samples`
/// (16-wide embeddings), milliseconds: what the worker spends after each library change.
pub fn bench_layout(n_samples: usize) -> f64 {
    let (mut samples, embeddings) = demo_samples(n_samples, 1);
    let start = Instant::now();
    let bubbles = crate::layout::layout(&mut samples, &embeddings);
    std::hint::black_box(bubbles);
    start.elapsed().as_secs_f64() * 1e3
}

fn stats(times: &mut [f64]) -> FrameStats {
    times.sort_by(f64::total_cmp);
    let n = times.len().max(1);
    let mean_ms = times.iter().sum::<f64>() / n as f64;
    let p99_ms = times.get(((n as f64 * 0.99).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0.0);
    FrameStats { frames: times.len(), mean_ms, p99_ms, max_ms: times.last().copied().unwrap_or(0.0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_runs_and_reports_every_frame() {
        let s = bench_frames(2_000, 30);
        println!("2,000 samples: {s:?}");
        assert_eq!(s.frames, 30);
        assert!(s.mean_ms > 0.0 && s.p99_ms >= s.mean_ms * 0.5 && s.max_ms >= s.p99_ms);
    }

    #[test]
    fn layout_bench_times_a_real_layout() {
        let ms = bench_layout(1_000);
        println!("layout of 1,000 samples: {ms:.1} ms");
        assert!(ms > 0.0);
    }

    #[test]
    fn percentiles() {
        let mut t: Vec<f64> = (1..=100).map(f64::from).collect();
        let s = stats(&mut t);
        assert_eq!((s.mean_ms, s.p99_ms, s.max_ms), (50.5, 99.0, 100.0));
    }
}
