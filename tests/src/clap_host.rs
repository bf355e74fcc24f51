//! A minimal in-process CLAP host (clack-host) for the plugin binary hosts actually load: the
//! `drumsort-plugin` cdylib.
//!
//! Which binary: `$DRUMSORT_PLUGIN_LIB` if set (point it at `target/bundled/drumsort-plugin.clap`
//! to test a release bundle), otherwise `lib{drumsort_plugin}.so` in the calling test binary's
//! profile directory, which [`plugin_library`] first brings up to date with
//! `cargo build -p drumsort-plugin` in the same profile. That is how `cargo xtask bundle` builds it
//! too; after `cargo test --workspace`, which unifies dependency features across the whole
//! workspace, it costs one relink (~3 s).
//!
//! Every test process gets its own scratch library index ([`scratch_index_path`]), set in
//! `DRUMSORT_DB` before the plugin is first loaded, so no test touches the user's library.

use std::ffi::CStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use clack_extensions::gui::{GuiSize, HostGui, HostGuiImpl};
use clack_extensions::state::{PluginState, StateError};
use clack_host::prelude::*;

/// The plugin's CLAP id.
pub const CLAP_ID: &CStr = c"com.drumsort.drumsort";
/// The sample rate every host test runs at.
pub const SAMPLE_RATE: f64 = 48_000.0;

// ---------------------------------------------------------------------------------------------
// Finding and loading the plugin binary
// ---------------------------------------------------------------------------------------------

/// The plugin library every test loads, built at most once per test process.
pub fn plugin_library() -> &'static Path {
    static LIBRARY: OnceLock<PathBuf> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        if let Some(path) = std::env::var_os("DRUMSORT_PLUGIN_LIB") {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "DRUMSORT_PLUGIN_LIB points at {}, which is not a file. Unset it to test the \
                 cdylib cargo builds, or run `cargo xtask bundle drumsort-plugin --release` to \
                 make target/bundled/drumsort-plugin.clap.",
                path.display()
            );
            return path;
        }
        let profile_dir = profile_dir();
        build_plugin(&profile_dir);
        let path = profile_dir.join(format!(
            "{}drumsort_plugin{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ));
        assert!(
            path.is_file(),
            "the plugin library {} is missing although `cargo build -p drumsort-plugin` \
             succeeded. Build it with `cargo build -p drumsort-plugin` (add `--release` for \
             `cargo test --release`) or set DRUMSORT_PLUGIN_LIB to a .clap file.",
            path.display()
        );
        path
    })
}

/// `target/<profile>`: cargo puts test binaries in `target/<profile>/deps/` and the cdylib of the
/// same profile in `target/<profile>/`, also under a custom `CARGO_TARGET_DIR`.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's own path is unknown");
    exe.parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("{} is not in target/<profile>/deps/", exe.display()))
        .to_path_buf()
}

/// Builds (or confirms fresh) the cdylib with the profile the test binary was built with, so the
/// tests never load a stale plugin after `cargo test -p drumsort-tests`.
pub fn build_plugin(profile_dir: &Path) {
    let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") => "dev",
        Some(name) => name,
        None => panic!("cannot tell the cargo profile from {}", profile_dir.display()),
    };
    let target_dir = profile_dir.parent().expect("target/<profile> has a parent");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--package", "drumsort-plugin", "--profile", profile])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(&workspace)
        .stdin(Stdio::null())
        .output()
        .expect("could not run cargo to build the plugin");
    assert!(
        output.status.success(),
        "`cargo build -p drumsort-plugin --profile {profile}` failed, so there is no plugin \
         library to test:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The library index the plugin uses in this test process: a scratch file, never the user's.
pub fn scratch_index_path() -> PathBuf {
    std::env::temp_dir().join(format!("drumsort-host-test-{}.sqlite", std::process::id()))
}

/// Loads the plugin library, after pointing `DRUMSORT_DB` at [`scratch_index_path`] (once per
/// process, before any plugin thread exists).
pub fn load_entry() -> PluginEntry {
    static PRIVATE_INDEX: std::sync::Once = std::sync::Once::new();
    PRIVATE_INDEX.call_once(|| {
        // The plugin opens the library index on activation: point it at a scratch file, never at
        // the user's library. SAFETY: set before any plugin thread exists in this process.
        unsafe { std::env::set_var("DRUMSORT_DB", scratch_index_path()) };
    });
    let path = plugin_library();
    // SAFETY: the library is our own plugin; loading it runs only nice-plug's CLAP entry point.
    unsafe { PluginEntry::load(path) }
        .unwrap_or_else(|err| panic!("could not load {} as a CLAP plugin: {err}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// The host
// ---------------------------------------------------------------------------------------------

/// Host callbacks. This host never restarts or reschedules, so those requests are ignored; a
/// request for a main-thread callback is remembered for [`run_main_thread_callbacks`]. The GUI
/// extension is offered because nice-plug's wrapper needs it to open an editor.
#[derive(Debug, Default)]
pub struct TestHostShared {
    callback_requested: AtomicBool,
}

impl SharedHandler<'_> for TestHostShared {
    fn request_restart(&self) {}
    fn request_process(&self) {}
    fn request_callback(&self) {
        self.callback_requested.store(true, Ordering::Release);
    }
}

impl HostGuiImpl for TestHostShared {
    fn resize_hints_changed(&self) {}
    /// The test's parent window keeps its size; the plugin keeps drawing at the size it has.
    fn request_resize(&self, _new_size: GuiSize) -> Result<(), HostError> {
        Err(HostError::Message("this test host does not resize its windows"))
    }
    fn request_show(&self) -> Result<(), HostError> {
        Ok(())
    }
    fn request_hide(&self) -> Result<(), HostError> {
        Ok(())
    }
    fn closed(&self, _was_destroyed: bool) {}
}

/// The host type of every test instance.
#[derive(Debug)]
pub struct TestHost;

impl HostHandlers for TestHost {
    type Shared<'a> = TestHostShared;
    type MainThread<'a> = ();
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        builder.register::<HostGui>();
    }
}

/// A new instance of the plugin.
pub fn instantiate(entry: &PluginEntry) -> PluginInstance<TestHost> {
    let host_info =
        HostInfo::new("drumsort-tests", "Drumsort", "https://example.invalid/drumsort", env!("CARGO_PKG_VERSION"))
            .expect("host info strings contain no NUL");
    PluginInstance::<TestHost>::new(|_| TestHostShared::default(), |_| (), entry, CLAP_ID, &host_info)
        .expect("the plugin failed to instantiate")
}

/// Runs the plugin's `on_main_thread` if it asked for it since the last call; returns whether it
/// ran. Call it from the main thread, as often as a host's event loop would.
pub fn run_main_thread_callbacks(instance: &mut PluginInstance<TestHost>) -> bool {
    let requested = instance.access_shared_handler(|shared| shared.callback_requested.swap(false, Ordering::AcqRel));
    if requested {
        instance.call_on_main_thread_callback();
    }
    requested
}

/// Activates `instance` at [`SAMPLE_RATE`] for blocks of 1 to `max_block` frames.
pub fn activate(instance: &mut PluginInstance<TestHost>, max_block: u32) -> StoppedPluginAudioProcessor<TestHost> {
    let config =
        PluginAudioConfiguration { sample_rate: SAMPLE_RATE, min_frames_count: 1, max_frames_count: max_block };
    instance.activate(|_, _| (), config).expect("the plugin failed to activate")
}

/// Tells `instance` (inactive) whether the host renders offline, through CLAP's render extension,
/// as a DAW does before a bounce: offline, the plugin may wait for its labeller, so every note is
/// exact.
pub fn set_offline(instance: &mut PluginInstance<TestHost>, offline: bool) {
    use clack_extensions::render::{PluginRender, RenderMode};
    let handle = instance.plugin_handle();
    let render = handle.get_extension::<PluginRender>().expect("the plugin has no render extension");
    let mode = if offline { RenderMode::Offline } else { RenderMode::Realtime };
    render.set(&handle, mode).expect("the plugin refused the render mode");
}

/// A started audio processor with the host-side buffers for one stereo input and output port.
/// Lives on the audio thread: the CLAP spec lets a host call `process()` from any thread but the
/// main one.
pub struct StereoProcessor {
    processor: StartedPluginAudioProcessor<TestHost>,
    inputs: AudioPorts,
    outputs: AudioPorts,
    events: EventBuffer,
}

impl StereoProcessor {
    /// Starts processing.
    pub fn start(processor: StoppedPluginAudioProcessor<TestHost>) -> Self {
        Self {
            processor: processor.start_processing().expect("the plugin failed to start processing"),
            inputs: AudioPorts::with_capacity(2, 1),
            outputs: AudioPorts::with_capacity(2, 1),
            events: EventBuffer::with_capacity(256),
        }
    }

    /// Runs one block: `input` (left, right) in, `output` written, no input events. Returns the
    /// events the plugin emitted in this block.
    ///
    /// # Panics
    ///
    /// If `process()` fails.
    pub fn process(&mut self, input: [&mut [f32]; 2], output: [&mut [f32]; 2], steady_time: u64) -> &EventBuffer {
        self.process_with_events(input, output, steady_time, &InputEvents::empty())
    }

    /// [`Self::process`] with `events` (parameter changes, as a host's automation sends them)
    /// delivered in the block.
    pub fn process_with_events(
        &mut self,
        input: [&mut [f32]; 2],
        output: [&mut [f32]; 2],
        steady_time: u64,
        events: &InputEvents,
    ) -> &EventBuffer {
        let frames = output[0].len();
        let [in_l, in_r] = input;
        let audio_in = self.inputs.with_input_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_input_only([InputChannel::variable(in_l), InputChannel::variable(in_r)]),
        }]);
        let mut audio_out = self.outputs.with_output_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_output_only(output),
        }]);
        self.events.clear();
        self.processor
            .process(&audio_in, &mut audio_out, events, &mut self.events.as_output(), Some(steady_time), None)
            .unwrap_or_else(|err| panic!("process() failed on a block of {frames} frames at {steady_time}: {err}"));
        &self.events
    }

    /// Stops processing, for `deactivate` on the main thread.
    pub fn stop(self) -> StoppedPluginAudioProcessor<TestHost> {
        self.processor.stop_processing()
    }
}

// ---------------------------------------------------------------------------------------------
// State and test signals
// ---------------------------------------------------------------------------------------------

/// The plugin's saved state as JSON. nice-plug's CLAP wrapper writes a little-endian u64 length
/// and then JSON (parameters plus persisted fields).
pub fn save_state(instance: &mut PluginInstance<TestHost>) -> serde_json::Value {
    let handle = instance.plugin_handle();
    let state = handle.get_extension::<PluginState>().expect("the plugin has no state extension");
    let mut bytes = Vec::new();
    state.save(&handle, &mut bytes).expect("saving the state failed");
    let (length, json) = bytes.split_at(8);
    assert_eq!(u64::from_le_bytes(length.try_into().unwrap()), json.len() as u64, "state length prefix");
    serde_json::from_slice(json).expect("the state is not JSON")
}

/// Loads `json` (with the wrapper's length prefix) into `instance`.
pub fn load_state(instance: &mut PluginInstance<TestHost>, json: &[u8]) -> Result<(), StateError> {
    let handle = instance.plugin_handle();
    let ext = handle.get_extension::<PluginState>().expect("the plugin has no state extension");
    let bytes: Vec<u8> = (json.len() as u64).to_le_bytes().iter().chain(json).copied().collect();
    ext.load(&handle, &mut bytes.as_slice())
}

/// Deterministic white noise in [-1, 1) (xorshift32), so a failure reproduces exactly.
pub fn noise(len: usize, mut state: u32) -> Vec<f32> {
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}
