//! The editor's content under egui_kittest: interaction tests (commands the worker receives)
//! and snapshot tests (PNGs in `tests/snapshots/`, rendered by wgpu on Mesa's llvmpipe; needs
//! Debian's `mesa-vulkan-drivers libvulkan1`). Regenerate the pictures with
//! `UPDATE_SNAPSHOTS=1 cargo test -p drumsort-plugin --features testing --test editor_ui`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crossbeam_channel::Receiver;
use drumsort_core::class::DrumClass;
use drumsort_plugin::testing::{
    demo_library, Command, DrumsortParams, EditorApp, LaneHit, LibrarySnapshot, Shared, Tab, ViewState,
};
use egui::{Event, Modifiers, PointerButton, Pos2, Vec2};
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;

/// Editor size of the pictures: the plugin's default editor size.
const SIZE: Vec2 = Vec2::new(960.0, 640.0);

struct Fixture {
    shared: Arc<Shared>,
    rx: Receiver<Command>,
    library: Arc<LibrarySnapshot>,
}

fn fixture(n: usize) -> Fixture {
    let (shared, rx) = Shared::new();
    shared.set_library(demo_library(n, 42));
    let library = shared.library();
    Fixture { shared, rx, library }
}

fn harness(f: &Fixture, view: ViewState) -> Harness<'static, EditorApp> {
    let params = Arc::new(DrumsortParams::default());
    *params.view.lock().unwrap() = view;
    let app = EditorApp::new(Arc::clone(&f.shared), params);
    let mut h = Harness::builder().with_size(SIZE).build_ui_state(|ui, app: &mut EditorApp| app.ui(ui), app);
    // The hit lane keeps repainting while its clock runs: do not insist on settling.
    h.run_ok();
    h
}

fn commands(rx: &Receiver<Command>) -> Vec<Command> {
    rx.try_iter().collect()
}

fn press(h: &mut Harness<'_, EditorApp>, pos: Pos2, button: PointerButton) {
    h.hover_at(pos);
    h.step();
    h.event(Event::PointerButton { pos, button, pressed: true, modifiers: Modifiers::NONE });
    h.step();
    h.event(Event::PointerButton { pos, button, pressed: false, modifiers: Modifiers::NONE });
    h.run();
}

/// Focuses the text field with this hint and types `text` into it.
fn type_into(h: &mut Harness<'_, EditorApp>, hint: &str, text: &str) {
    h.get_by(|n| n.placeholder() == Some(hint)).focus();
    h.run();
    h.get_by(|n| n.placeholder() == Some(hint)).type_text(text);
    h.run();
}

/// A sample whose dot is drawn, away from the graph's edges, with its screen position.
fn some_dot(h: &Harness<'_, EditorApp>, library: &LibrarySnapshot, class: DrumClass) -> (PathBuf, Pos2) {
    library
        .samples
        .iter()
        .filter(|s| s.class == class)
        .find_map(|s| h.state().dot_screen_pos(&s.path).map(|p| (s.path.clone(), p)))
        .unwrap_or_else(|| panic!("no {class:?} dot on screen"))
}

#[test]
fn clicking_a_dot_auditions_it_and_clicking_the_playing_dot_stops_it() {
    let f = fixture(300);
    let mut h = harness(&f, ViewState::default());
    let (path, pos) = some_dot(&h, &f.library, DrumClass::Snare);
    press(&mut h, pos, PointerButton::Primary);
    assert_eq!(commands(&f.rx), vec![Command::Audition(path.clone())]);
    assert_eq!(h.state().view().selected.as_ref(), Some(&path));

    f.shared.set_playing(Some(path.clone()));
    h.run();
    press(&mut h, pos, PointerButton::Primary);
    assert_eq!(commands(&f.rx), vec![Command::StopAudition]);
}

#[test]
fn right_click_relabel_sends_a_correction() {
    let f = fixture(300);
    let mut h = harness(&f, ViewState::default());
    let (path, pos) = some_dot(&h, &f.library, DrumClass::Kick);
    press(&mut h, pos, PointerButton::Secondary);
    h.get_by_label("Relabel").click();
    h.run();
    // The chips carry the same class names; the menu's entries come last.
    let entries = h.query_all_by_label("clap").collect::<Vec<_>>();
    assert!(entries.len() >= 2, "the relabel menu did not open");
    entries.last().unwrap().click();
    h.run();
    assert_eq!(commands(&f.rx), vec![Command::Relabel(path, Some(DrumClass::Clap))]);
}

#[test]
fn show_similar_asks_the_worker() {
    let f = fixture(300);
    let mut h = harness(&f, ViewState::default());
    let (path, pos) = some_dot(&h, &f.library, DrumClass::Tom);
    press(&mut h, pos, PointerButton::Secondary);
    h.get_by_label("Show similar").click();
    h.run();
    assert_eq!(commands(&f.rx), vec![Command::FindSimilar(path)]);
}

#[derive(Debug)]
struct TestDrop(PathBuf);

impl egui::DroppedFile for TestDrop {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn dropped_files_are_added_to_the_library() {
    let f = fixture(50);
    let mut h = harness(&f, ViewState::default());
    h.input_mut().dropped_files.push(Arc::new(TestDrop("/music/one-shots".into())));
    h.input_mut().dropped_files.push(Arc::new(TestDrop("/music/kick.wav".into())));
    h.run();
    assert_eq!(commands(&f.rx), vec![Command::AddPaths(vec!["/music/one-shots".into(), "/music/kick.wav".into()])]);
}

#[test]
fn add_folder_field_sends_add_paths() {
    let f = fixture(10);
    let mut h = harness(&f, ViewState::default());
    type_into(&mut h, "Folder or file path", "/samples/808");
    h.get_by_label("Add folder").click();
    h.run();
    assert_eq!(commands(&f.rx), vec![Command::AddPaths(vec!["/samples/808".into()])]);
}

#[test]
fn typing_in_the_filter_hides_dots() {
    let f = fixture(300);
    let mut h = harness(&f, ViewState::default());
    assert_eq!(h.state().visible_count(), 300);
    let (kick, _) = some_dot(&h, &f.library, DrumClass::Kick);
    type_into(&mut h, "Filter names", "snare_");
    let snares = f.library.samples.iter().filter(|s| s.name.starts_with("snare_")).count();
    assert_eq!(h.state().visible_count(), snares);
    assert!(h.state().dot_screen_pos(&kick).is_none(), "a filtered-out dot is still drawn");
    some_dot(&h, &f.library, DrumClass::Snare);
}

#[test]
fn class_chips_hide_a_class() {
    let f = fixture(300);
    let mut h = harness(&f, ViewState::default());
    // The first "ride" is the chip (the graph draws bubble labels, not widgets).
    h.get_all_by_label("ride").next().unwrap().click();
    h.run();
    assert_eq!(h.state().view().hidden, vec![DrumClass::Ride]);
    let rides = f.library.samples.iter().filter(|s| s.class == DrumClass::Ride).count();
    assert_eq!(h.state().visible_count(), 300 - rides);
}

#[test]
fn arrow_keys_step_to_a_neighbour_and_audition_it() {
    let f = fixture(300);
    let mut h = harness(&f, ViewState::default());
    let (path, pos) = some_dot(&h, &f.library, DrumClass::Kick);
    press(&mut h, pos, PointerButton::Primary);
    commands(&f.rx);
    h.key_press(egui::Key::ArrowRight);
    h.run();
    let sent = commands(&f.rx);
    let [Command::Audition(next)] = sent.as_slice() else { panic!("expected one audition, got {sent:?}") };
    assert_ne!(next, &path);
    let next_pos = h.state().dot_screen_pos(next).expect("the new selection is on screen");
    assert!(next_pos.x > pos.x, "stepped right from {pos:?} to {next_pos:?}");
    assert_eq!(h.state().view().selected.as_ref(), Some(next));
}

#[test]
fn dragging_a_dot_out_of_the_window_starts_an_os_drag() {
    let f = fixture(300);
    let mut h = harness(&f, ViewState::default());
    let started: Arc<Mutex<Vec<Vec<PathBuf>>>> = Arc::default();
    let sink = Arc::clone(&started);
    h.state_mut().drag_out = Some(Arc::new(move |paths| sink.lock().unwrap().push(paths)));
    let (path, pos) = some_dot(&h, &f.library, DrumClass::Crash);
    h.hover_at(pos);
    h.step();
    h.event(Event::PointerButton { pos, button: PointerButton::Primary, pressed: true, modifiers: Modifiers::NONE });
    h.step();
    for k in 1..=6 {
        h.hover_at(pos + Vec2::new(10.0 * k as f32, 0.0));
        h.step();
    }
    assert!(started.lock().unwrap().is_empty(), "fired while still inside the editor");
    h.event(Event::PointerGone);
    h.step();
    h.step();
    assert_eq!(*started.lock().unwrap(), vec![vec![path]]);
    assert!(commands(&f.rx).is_empty(), "a drag must not audition");
}

#[test]
fn view_changes_are_written_back_to_the_params() {
    let f = fixture(100);
    let params = Arc::new(DrumsortParams::default());
    let app = EditorApp::new(Arc::clone(&f.shared), Arc::clone(&params));
    let mut h = Harness::builder().with_size(SIZE).build_ui_state(|ui, app: &mut EditorApp| app.ui(ui), app);
    h.run();
    h.get_by_label("Hits").click();
    h.run_steps(2);
    assert_eq!(params.view.lock().unwrap().tab, Tab::Hits);
}

#[test]
fn late_notes_show_only_when_some_came_late() {
    let f = fixture(10);
    let mut h = harness(&f, ViewState { tab: Tab::Hits, ..ViewState::default() });
    assert!(h.query_by_label_contains("late notes").is_none(), "nothing to say while every note is on time");
    f.shared.late_notes.store(5, std::sync::atomic::Ordering::Relaxed);
    h.run_steps(2);
    assert!(h.query_by_label("5 late notes").is_some(), "the count shows once notes came late");
}

// ---- pictures ----

#[test]
fn snapshot_bubble_graph() {
    let f = fixture(300);
    let mut h = harness(&f, ViewState::default());
    h.snapshot("bubble_graph");
}

#[test]
fn snapshot_hover_tooltip() {
    let f = fixture(300);
    let mut h = harness(&f, ViewState::default());
    let (path, pos) = some_dot(&h, &f.library, DrumClass::OpenHat);
    f.shared.set_playing(Some(path));
    h.hover_at(pos);
    h.run_steps(4);
    h.snapshot("bubble_graph_hover");
}

#[test]
fn snapshot_filtered() {
    let f = fixture(300);
    let view = ViewState {
        query: "punchy".into(),
        hidden: vec![DrumClass::ClosedHat, DrumClass::OpenHat, DrumClass::Other],
        ..ViewState::default()
    };
    let mut h = harness(&f, view);
    h.snapshot("bubble_graph_filtered");
}

#[test]
fn snapshot_scanning() {
    let f = fixture(300);
    f.shared.update_scan(|s| {
        s.running = true;
        s.phase = "analysing".into();
        s.done = 1234;
        s.total = 4000;
        s.files_per_s = 212.0;
    });
    f.shared.set_status(Some("Could not decode /demo/broken.wav: not a RIFF file".into()));
    let mut h = harness(&f, ViewState { zoom: 2.5, pan: [10.0, -5.0], ..ViewState::default() });
    h.snapshot("scanning");
}

#[test]
fn snapshot_hits() {
    let f = fixture(10);
    f.shared.latency_samples.store(2205, std::sync::atomic::Ordering::Relaxed);
    f.shared.sample_rate.store(44_100, std::sync::atomic::Ordering::Relaxed);
    f.shared.dropped_hits.store(3, std::sync::atomic::Ordering::Relaxed);
    f.shared.with_hits(|log| {
        log.recording = true;
        let pattern = [DrumClass::Kick, DrumClass::ClosedHat, DrumClass::Snare, DrumClass::ClosedHat];
        for k in 0..28 {
            let class = pattern[k % 4];
            let velocity = 70 + (k * 13 % 57) as u8;
            log.push(LaneHit { time_s: 2.0 + k as f64 * 0.25, class, velocity, confidence: 0.9 });
            if k % 8 == 6 {
                log.push(LaneHit {
                    time_s: 2.0 + k as f64 * 0.25,
                    class: DrumClass::Crash,
                    velocity: 110,
                    confidence: 0.6,
                });
            }
        }
    });
    let mut h = harness(&f, ViewState { tab: Tab::Hits, ..ViewState::default() });
    h.snapshot("hits");
}

#[test]
fn snapshot_drop_overlay() {
    let f = fixture(300);
    let mut h = harness(&f, ViewState::default());
    h.input_mut().hovered_files.push(egui::HoveredFile { path: Some("/music/new-kit".into()), ..Default::default() });
    // egui keeps repainting while files hover the window.
    h.run_steps(2);
    h.snapshot("drop_overlay");
    // Hovering alone adds nothing.
    assert!(commands(&f.rx).is_empty());
}
