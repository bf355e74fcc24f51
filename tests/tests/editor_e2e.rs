//! The plugin's editor end to end, through the CLAP API a DAW uses, on a private X server:
//! "drop a file onto the editor, it gets scanned, click its dot, hear it in the plugin's output".
//!
//! The test loads the built plugin with clack-host (`drumsort_tests::clap_host`, scratch
//! `DRUMSORT_DB`), activates it and runs `process()` on its own audio thread without pause, at
//! real-time pace, silence in, every output block kept. The main thread plays the DAW's GUI
//! thread: it opens the editor with the CLAP gui extension (`is_api_supported("x11", false)`,
//! `create`, `set_scale`, `get_size`, `set_parent` on an X11 window of its own, `show`) and
//! answers the plugin's `request_callback` with `on_main_thread`. Then:
//!
//! 1. a screenshot of the embedded editor must not be blank;
//! 2. a synthesized one-shot WAV is dropped onto the editor with the project's own XDND source
//!    (`drumsort_plugin::testing::start_drag`, carried in by xdotool pointer motion: a drop,
//!    not the "Add folder" field), and must show up analysed in the scratch index;
//! 3. its dot is found in a screenshot (the only blob of its class colour with a dot's size and
//!    shape) and clicked with xdotool;
//! 4. the plugin's output must be exactly silent before the click and afterwards contain the file:
//!    normalised cross-correlation with the WAV above 0.99, on both channels.
//!
//! Needs Xvfb, xdotool, xwd and netpbm (see `drumsort_tests::xvfb::PACKAGES`); a missing tool
//! fails the test. Screenshots go to `target/tmp/editor-e2e/`.

#![cfg(target_os = "linux")]

use std::ffi::c_ulong;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clack_extensions::gui::{GuiApiType, GuiConfiguration, PluginGui, Window};
use clack_host::prelude::{PluginInstance, StoppedPluginAudioProcessor};
use drumsort_core::index::{Index, Status};
use drumsort_core::synth::Demo;
use drumsort_plugin::testing::{class_colour, start_drag, DragOutcome, EDITOR_SIZE};
use drumsort_tests::clap_host::{self, StereoProcessor, TestHost, SAMPLE_RATE};
use drumsort_tests::poll;
use drumsort_tests::xvfb::{Picture, VirtualScreen};

/// Frames per `process()` call.
const BLOCK: usize = 256;
/// The virtual screen: larger than the editor, so a drag can start on bare root window.
const SCREEN: (u32, u32) = (1280, 800);
/// No sample frame yet.
const NONE: u64 = u64::MAX;

/// What the audio thread tells the main thread while it runs.
struct Tap {
    stop: AtomicBool,
    /// Frames processed so far.
    frames: AtomicU64,
    /// The first output frame that was not silent, or [`NONE`].
    first_sound: AtomicU64,
}

/// Stops the audio thread when dropped, also when the main thread panics (else the scope would
/// wait for it forever).
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// The host's audio thread: silent blocks in, real-time pace, until told to stop. Returns the
/// whole output (left, right).
fn audio_thread(
    processor: StoppedPluginAudioProcessor<TestHost>,
    tap: &Tap,
) -> (StoppedPluginAudioProcessor<TestHost>, [Vec<f32>; 2]) {
    let mut processor = StereoProcessor::start(processor);
    let mut output = [Vec::new(), Vec::new()];
    let (mut in_l, mut in_r) = ([0.0f32; BLOCK], [0.0f32; BLOCK]);
    let started = Instant::now();
    let mut frames = 0u64;
    while !tap.stop.load(Ordering::Acquire) {
        in_l.fill(0.0);
        in_r.fill(0.0);
        // NaN sentinels: output the plugin did not write fails the comparisons below.
        let (mut out_l, mut out_r) = ([f32::NAN; BLOCK], [f32::NAN; BLOCK]);
        processor.process([&mut in_l, &mut in_r], [&mut out_l, &mut out_r], frames);
        if tap.first_sound.load(Ordering::Relaxed) == NONE {
            if let Some(i) = out_l.iter().chain(&out_r).position(|x| *x != 0.0) {
                tap.first_sound.store(frames + (i % BLOCK) as u64, Ordering::Release);
            }
        }
        output[0].extend_from_slice(&out_l);
        output[1].extend_from_slice(&out_r);
        frames += BLOCK as u64;
        tap.frames.store(frames, Ordering::Release);
        let due = started + Duration::from_secs_f64(frames as f64 / SAMPLE_RATE);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    (processor.stop(), output)
}

/// How many main-thread callbacks the plugin asked for (reported at the end).
static CALLBACKS: AtomicU64 = AtomicU64::new(0);

/// Runs the plugin's `on_main_thread` if it asked for it.
fn service(instance: &mut PluginInstance<TestHost>) {
    if clap_host::run_main_thread_callbacks(instance) {
        CALLBACKS.fetch_add(1, Ordering::Relaxed);
    }
}

/// Runs the plugin's main-thread callbacks for `time`, as a DAW's event loop would.
fn pump(instance: &mut PluginInstance<TestHost>, time: Duration) {
    let until = Instant::now() + time;
    loop {
        service(instance);
        if Instant::now() >= until {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The best normalised cross-correlation of `played` with `file` over lags `lags`, and its lag.
fn best_match(played: &[f32], file: &[f32], lags: std::ops::Range<usize>) -> (f64, usize) {
    let n = file.len();
    let energy_file: f64 = file.iter().map(|&x| f64::from(x).powi(2)).sum();
    lags.filter(|lag| lag + n <= played.len())
        .map(|lag| {
            let window = &played[lag..lag + n];
            let dot: f64 = window.iter().zip(file).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum();
            let energy: f64 = window.iter().map(|&x| f64::from(x).powi(2)).sum();
            (dot / (energy * energy_file).sqrt().max(1e-12), lag)
        })
        .fold((f64::MIN, 0), |best, next| if next.0 > best.0 { next } else { best })
}

#[test]
fn a_dropped_sample_is_scanned_and_its_dot_auditions_through_the_clap_output() {
    let started = Instant::now();
    let screen = VirtualScreen::start(SCREEN.0, SCREEN.1);
    // SAFETY: this binary has this one test and no other thread yet reads the environment; the
    // plugin's window connects to this display, with Mesa's software GL.
    unsafe {
        std::env::set_var("DISPLAY", screen.name());
        std::env::set_var("LIBGL_ALWAYS_SOFTWARE", "1");
    }
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("editor-e2e");
    let folder = shots.join("samples");
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("cannot create the sample folder");
    let wav = folder.join("e2e kick #1.wav");
    let sound = Demo::Kick.render(SAMPLE_RATE as u32, 11);
    drumsort_tests::write_mono(&wav, &sound);

    let entry = clap_host::load_entry();
    let mut instance = clap_host::instantiate(&entry);
    let processor = clap_host::activate(&mut instance, BLOCK as u32);
    let tap = Tap { stop: AtomicBool::new(false), frames: AtomicU64::new(0), first_sound: AtomicU64::new(NONE) };

    let x11 = GuiConfiguration { api_type: GuiApiType::X11, is_floating: false };
    let gui: PluginGui = instance.plugin_handle().get_extension().expect("the plugin has no CLAP gui extension");

    let (processor, output, click_frame, class, dot) = std::thread::scope(|scope| {
        let audio = scope.spawn(|| audio_thread(processor, &tap));
        let stop = StopOnDrop(&tap.stop);

        // Open the editor the way a DAW does, embedded in a window of the host's.
        assert!(gui.is_api_supported(&instance.plugin_handle(), x11), "no embedded X11 editor");
        gui.create(&instance.plugin_handle(), x11).expect("gui.create failed");
        // nice-plug takes the scale on X11 only as a fallback for when it cannot ask the system;
        // it may refuse, which a host tolerates.
        let _ = gui.set_scale(&instance.plugin_handle(), 1.0);
        let size = gui.get_size(&instance.plugin_handle()).expect("gui.get_size gave no size");
        assert_eq!([size.width, size.height], EDITOR_SIZE, "the editor's size at scale 1");
        let parent = screen.parent_window(0, 0, size.width as u16, size.height as u16);
        // SAFETY: `parent` outlives the editor: gui.destroy runs before it is dropped.
        unsafe { gui.set_parent(&instance.plugin_handle(), Window::from_x11_handle(parent.id as c_ulong)) }
            .expect("gui.set_parent failed");
        gui.show(&instance.plugin_handle()).expect("gui.show failed");
        let embedded = poll(Duration::from_secs(20), Duration::from_millis(50), || {
            service(&mut instance);
            (!parent.children().is_empty()).then_some(())
        });
        assert!(embedded.is_some(), "no editor window appeared inside the host's window");

        // 1. It renders: many colours, no colour covering almost everything.
        let first = poll(Duration::from_secs(60), Duration::from_millis(250), || {
            pump(&mut instance, Duration::from_millis(50));
            let shot = screen.capture(parent.id);
            (shot.colour_count() > 30 && shot.dominant_share() < 0.9).then_some(shot)
        });
        let first = first.unwrap_or_else(|| {
            let shot = screen.capture(parent.id);
            shot.save_png(&shots.join("blank.png"));
            panic!("the embedded editor stayed blank: {shot:?}, dominant share {:.3}", shot.dominant_share())
        });
        first.save_png(&shots.join("embedded.png"));
        assert_eq!((first.width, first.height), (size.width as usize, size.height as usize));

        // 2. Drop the WAV: press on the bare root window, start the drag there, carry it in.
        let outside = (SCREEN.0 as i32 - 40, SCREEN.1 as i32 - 40);
        let middle = (size.width as i32 / 2, size.height as i32 / 2);
        let mut outcomes = Vec::new();
        for _attempt in 0..3 {
            screen.move_pointer(outside);
            screen.xdotool(&["mousedown", "1"]);
            let session = start_drag(vec![wav.clone()], None).expect("cannot start the XDND drag");
            screen.sweep_pointer(outside, middle, 20);
            for wiggle in [1, -1, 1, -1] {
                // XDND positions are sent on motion only; give the target a few.
                screen.xdotool(&["mousemove_relative", "--", &wiggle.to_string(), "0"]);
                pump(&mut instance, Duration::from_millis(100));
            }
            screen.xdotool(&["mouseup", "1"]);
            let outcome = session.wait();
            outcomes.push(outcome.clone());
            if matches!(outcome, Ok(DragOutcome::Dropped | DragOutcome::Unconfirmed)) {
                break;
            }
            pump(&mut instance, Duration::from_millis(500));
        }
        assert!(
            matches!(outcomes.last(), Some(Ok(DragOutcome::Dropped | DragOutcome::Unconfirmed))),
            "the editor did not take the drop: {outcomes:?}"
        );

        // The plugin scans it into the scratch index.
        let index_path = clap_host::scratch_index_path();
        let mut last_seen = None;
        let scanned = poll(Duration::from_secs(180), Duration::from_millis(100), || {
            // A second connection to the index now and then; the plugin's scan owns it.
            pump(&mut instance, Duration::from_millis(900));
            let entry = Index::open(&index_path).ok()?.entry(&wav).ok()??;
            last_seen = Some(format!("{:?} {:?}", entry.status, entry.error));
            (entry.status != Status::Pending).then_some(entry)
        });
        let scanned = scanned.unwrap_or_else(|| {
            screen.capture(parent.id).save_png(&shots.join("not-scanned.png"));
            panic!(
                "{} never got analysed in {} (see target/tmp/editor-e2e/not-scanned.png): {last_seen:?}",
                wav.display(),
                index_path.display()
            )
        });
        assert_eq!(scanned.status, Status::Analysed, "the dropped file failed to scan: {:?}", scanned.error);
        let class = scanned.class().expect("an analysed file has a class");
        let colour = class_colour(class);
        let colour = [colour.r(), colour.g(), colour.b()];

        // 3. Find its dot: the graph animates in, so wait for two equal shots with one dot.
        let mut previous: Option<Picture> = None;
        let mut last = None;
        let found = poll(Duration::from_secs(60), Duration::from_millis(300), || {
            pump(&mut instance, Duration::from_millis(50));
            let shot = screen.capture(parent.id);
            let candidates = shot.dots(colour);
            let settled = previous.as_ref() == Some(&shot);
            last = Some(candidates.clone());
            previous = Some(shot);
            (settled && candidates.len() == 1).then_some(candidates[0])
        });
        let graph = previous.expect("at least one screenshot was taken");
        graph.save_png(&shots.join("scanned.png"));
        let dot = found.unwrap_or_else(|| {
            panic!("no single {class:?} dot (colour {colour:?}) in target/tmp/editor-e2e/scanned.png: {last:?}")
        });

        // Nothing has played yet.
        assert_eq!(tap.first_sound.load(Ordering::Acquire), NONE, "the plugin made sound before any click");

        // 4. Click it: hover first (egui picks the dot under the pointer), then press and release.
        screen.move_pointer(dot);
        pump(&mut instance, Duration::from_millis(300));
        let click_frame = tap.frames.load(Ordering::Acquire);
        screen.xdotool(&["click", "1"]);
        let heard = poll(Duration::from_secs(20), Duration::from_millis(20), || {
            service(&mut instance);
            let first = tap.first_sound.load(Ordering::Acquire);
            (first != NONE).then_some(first)
        });
        let heard = heard.unwrap_or_else(|| {
            screen.capture(parent.id).save_png(&shots.join("clicked.png"));
            panic!("no sound within 20 s of clicking the dot at {dot:?}; see target/tmp/editor-e2e/clicked.png")
        });
        // Let the whole sample and a margin play out.
        let end = heard + sound.len() as u64 + SAMPLE_RATE as u64 / 2;
        let played_out = poll(Duration::from_secs(30), Duration::from_millis(20), || {
            service(&mut instance);
            (tap.frames.load(Ordering::Acquire) >= end).then_some(())
        });
        assert!(played_out.is_some(), "the audio thread stalled");
        screen.capture(parent.id).save_png(&shots.join("clicked.png"));

        drop(stop);
        let (processor, output) = audio.join().expect("the audio thread panicked");
        gui.destroy(&instance.plugin_handle());
        drop(parent);
        (processor, output, click_frame, class, dot)
    });
    instance.deactivate(processor);

    // Silence in and no audition: exactly silence out, until the click.
    let [left, right] = output;
    let click = click_frame as usize;
    for (side, channel) in [("left", &left), ("right", &right)] {
        if let Some(i) = channel[..click].iter().position(|x| *x != 0.0) {
            panic!("{side} output frame {i}, before the click, is {} instead of silence", channel[i]);
        }
    }
    assert_eq!(left, right, "a mono file auditions on both channels alike");

    // The file from its attack on (the decoder starts at the first onset), scaled by the
    // audition gain, somewhere after the click.
    let attack = sound.iter().position(|x| x.abs() > 1e-4).expect("the kick is not silent");
    let file = &sound[attack..(attack + SAMPLE_RATE as usize / 4).min(sound.len())];
    let (correlation, lag) = best_match(&left, file, click..left.len());
    assert!(
        correlation > 0.99,
        "the output after the click does not contain the file: best normalised correlation {correlation:.4} at frame {lag}"
    );
    let latency_ms = (lag - click) as f64 * 1000.0 / SAMPLE_RATE;
    let gain = left[lag..lag + file.len()].iter().map(|x| x.abs()).fold(0.0f32, f32::max)
        / file.iter().map(|x| x.abs()).fold(0.0f32, f32::max);
    assert!((0.05..=2.0).contains(&gain), "played at {gain:.3} times the file's level");
    eprintln!(
        "editor e2e: {class:?} dot at {dot:?}; heard {latency_ms:.0} ms after the click, correlation {correlation:.4}, \
         gain {gain:.3}; {} main-thread callbacks; {:.1} s in all",
        CALLBACKS.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
}
