//! Drumsort as a CLAP and VST3 plugin: a sample browser (the editor's bubble graph over the
//! shared library index) and a real-time drum-to-MIDI labeller for the track it sits on.
//!
//! This file holds the `Plugin` impl and the export macros. The audio thread's pieces live in
//! `audio.rs`, the worker threads in `worker.rs` and `library_worker.rs`, the parameters in
//! `params.rs`, what the GUI and the worker share in `shared.rs`, and the editor in `editor/`.
//! Every module is private: hosts see only the exported plugin. What the integration tests,
//! drumsort-tests, `cargo xtask bench` and the fuzz target need is re-exported by `testing.rs`,
//! compiled only with the `testing` feature.
//!
//! ```text
//! process(): input -> HitDetector --ring--> hit labeller thread --ring--> NoteScheduler -> notes
//!            input -> DelayLine (the reported latency) -> output
//!            output += AuditionPlayer <--ring-- library thread <--commands-- editor
//! ```

mod audio;
mod delay;
mod editor;
#[cfg(any(test, feature = "testing"))]
mod fuzz;
mod layout;
mod library_worker;
mod params;
mod realtime;
mod shared;
#[cfg(feature = "testing")]
pub mod testing;
mod view;
mod worker;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crossbeam_channel::Receiver;
use drumsort_core::hits::HitConfig;
use drumsort_core::onset::OnsetConfig;
use nice_plug::midi::{Channel, Key, VoiceID};
use nice_plug::prelude::*;

use crate::audio::NoteOut;
use crate::params::DrumsortParams;
use crate::realtime::{BlockControl, Realtime};
use crate::shared::{Command, Shared};
use crate::worker::{Activation, Worker};

/// The plugin instance hosts create, one per insert slot.
///
/// Built by `Default` while hosts scan, so it owns nothing expensive: the worker threads and the
/// model start on the first [`Plugin::activate`], the audio-thread state is rebuilt on each.
pub struct Drumsort {
    /// Shared with the wrapper, which reads and saves the parameters from the host's threads.
    params: Arc<DrumsortParams>,
    /// Shared by the editor and the worker threads.
    shared: Arc<Shared>,
    /// The command receiver, held until the worker starts and takes it.
    commands: Option<Receiver<Command>>,
    /// The worker threads; started on the first activation, joined on drop.
    worker: Option<Worker>,
    /// Audio-thread state, rebuilt on every activation.
    rt: Option<Realtime>,
}

impl Default for Drumsort {
    fn default() -> Self {
        let (shared, commands) = Shared::new();
        Self { params: Arc::default(), shared, commands: Some(commands), worker: None, rt: None }
    }
}

impl Drumsort {
    /// The detector settings the parameters ask for.
    fn hit_config(&self) -> HitConfig {
        HitConfig {
            lookahead_s: self.params.lookahead_ms.value() / 1000.0,
            onset: Self::onset_config(&self.params),
            ..HitConfig::default()
        }
    }

    fn onset_config(params: &DrumsortParams) -> OnsetConfig {
        OnsetConfig {
            sensitivity: params.sensitivity.value(),
            min_interval_s: params.min_interval_ms.value() / 1000.0,
            gate_dbfs: params.gate_dbfs.value(),
        }
    }
}

impl Plugin for Drumsort {
    const NAME: &'static str = "Drumsort";
    const VENDOR: &'static str = "Drumsort";
    /// No public home page yet; hosts show this only in plugin info dialogs.
    const URL: &'static str = "";
    /// No support address exists yet; hosts show this field only in plugin info dialogs.
    const EMAIL: &'static str = "";
    /// Hosts compare this against saved sessions, so it follows the crate version.
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    /// Stereo in and out only: drum busses and loops are stereo, and a single layout keeps the
    /// pass-through trivially bit-exact.
    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[AudioIOLayout {
        main_input_channels: NonZeroU32::new(2),
        main_output_channels: NonZeroU32::new(2),
        ..AudioIOLayout::const_default()
    }];

    /// The plugin listens to audio, not notes.
    const MIDI_INPUT: MidiConfig = MidiConfig::None;
    /// One note output port, on which detected hits will go out as General MIDI drum notes.
    const MIDI_OUTPUT: MidiConfig = MidiConfig::Basic;

    /// The parameters shape notes and detection per block; none needs sample accuracy.
    const SAMPLE_ACCURATE_AUTOMATION: bool = false;

    /// The sample browser and hit lane, egui on the project's own baseview window (which, unlike
    /// egui-baseview's, passes file drops to egui).
    type Editor = editor::window::EditorWindow<editor::EditorApp>;
    /// No SysEx in or out.
    type SysExMessage = ();
    /// nice-plug's background executor is one thread shared by every instance in the host, so
    /// scanning and classification run on the plugin's own worker threads instead.
    type BackgroundTask = ();

    fn filter_state(state: &mut PluginState) {
        params::sanitize_state(state);
    }

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        editor::window::create_editor(
            editor::window::EditorSize::in_mutex(Arc::clone(&self.params), |p| &p.editor_size),
            editor::EditorApp::new(Arc::clone(&self.shared), Arc::clone(&self.params)),
        )
    }

    fn activate(
        &mut self,
        _audio_io_layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        context: &mut impl ActivateContext<Self>,
    ) -> bool {
        let sample_rate = buffer_config.sample_rate.round() as u32;
        if sample_rate < 8_000 {
            return false;
        }
        if self.worker.is_none() {
            let Some(commands) = self.commands.take() else { return false };
            match Worker::start(Arc::clone(&self.shared), commands, Arc::clone(&self.params)) {
                Ok(worker) => self.worker = Some(worker),
                Err(e) => {
                    nice_error!("Drumsort could not start its worker threads: {e}");
                    return false;
                }
            }
        }
        let (mut rt, labeler, ends) =
            Realtime::new(sample_rate, buffer_config.max_buffer_size as usize, &self.hit_config());
        // Offline (a bounce, a freewheel export) the audio thread may wait for the labeller, so
        // every note is exact; hosts say so through CLAP's render extension or VST3's process
        // mode, and nice-plug restarts the plugin when it changes.
        rt.set_offline(buffer_config.process_mode == ProcessMode::Offline);
        let latency = rt.latency();
        context.set_latency_samples(latency);
        self.shared.latency_samples.store(latency, Ordering::Relaxed);
        self.shared.sample_rate.store(sample_rate, Ordering::Relaxed);
        self.params.lookahead_changed.store(false, Ordering::Release);
        if let Some(worker) = &self.worker {
            worker.activate(Activation { sample_rate, labeler, ends });
        }
        self.rt = Some(rt);
        true
    }

    fn reset(&mut self) {
        if let Some(rt) = &mut self.rt {
            rt.reset();
        }
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        // A new lookahead means a new latency, which hosts accept only through a restart; until
        // it happens the old detector keeps running.
        if self.params.lookahead_changed.swap(false, Ordering::AcqRel) {
            context.request_restart();
        }
        let channel = (self.params.midi_channel.value().clamp(1, 16) - 1) as u8;
        let sample_rate = context.transport().sample_rate;
        let Some(rt) = self.rt.as_mut() else { return ProcessStatus::Normal };
        let ctl = BlockControl {
            onset: Self::onset_config(&self.params),
            passthrough: self.params.passthrough.value(),
            audition_gain: util::db_to_gain(self.params.audition_gain_db.value()),
            notes: self.params.note_settings(rt.latency(), sample_rate),
        };
        rt.process(buffer.as_slice(), &ctl, |NoteOut { timing, key, velocity }| {
            let event = if velocity > 0 {
                NoteEvent::NoteOn {
                    timing,
                    voice_id: VoiceID::Wildcard,
                    channel: Channel::Number(channel),
                    key: Key::Number(key),
                    velocity: f32::from(velocity) / 127.0,
                }
            } else {
                NoteEvent::NoteOff {
                    timing,
                    voice_id: VoiceID::Wildcard,
                    channel: Channel::Number(channel),
                    key: Key::Number(key),
                    velocity: 0.0,
                }
            };
            // A full host event buffer loses the note; there is nothing better to do in real time.
            let _ = context.try_send_event(event);
        });
        self.shared.late_notes.store(rt.late_notes(), Ordering::Relaxed);
        ProcessStatus::Normal
    }
}

impl ClapPlugin for Drumsort {
    /// Hosts key saved sessions on this id: never change it.
    const CLAP_ID: &'static str = "com.drumsort.drumsort";
    const CLAP_DESCRIPTION: Option<&'static str> = Some(env!("CARGO_PKG_DESCRIPTION"));
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    /// An audio effect so hosts offer it on audio tracks, an analyzer because it listens rather
    /// than shapes sound, a utility because it is a tool for sorting and triggering; stereo is
    /// its only layout.
    const CLAP_FEATURES: &'static [ClapFeature] =
        &[ClapFeature::AudioEffect, ClapFeature::Analyzer, ClapFeature::Utility, ClapFeature::Stereo];
}

impl Vst3Plugin for Drumsort {
    /// Hosts key saved sessions on this id: never change it.
    const VST3_CLASS_ID: [u8; 16] = *b"DrumsortPlugin01";
    /// `Fx` so hosts list it with audio effects, `Analyzer` for the same reason as the CLAP
    /// feature.
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] = &[Vst3SubCategory::Fx, Vst3SubCategory::Analyzer];
}

nice_export_clap!(Drumsort);
nice_export_vst3!(Drumsort);
