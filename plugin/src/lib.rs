//! Drumsort as a CLAP and VST3 plugin.
//!
//! For now the plugin is the shell the classifier will live in: it passes stereo audio through
//! untouched and declares a note output, so hosts already route its (still empty) MIDI stream to
//! a drum track and keep that routing once the plugin starts emitting one note per detected hit.
//! This file holds only the `Plugin` impl, its parameters and the export macros; DSP, the worker
//! and the editor get their own modules as they arrive.

pub mod shared;

use std::sync::Arc;

use nice_plug::prelude::*;

/// The plugin instance hosts create, one per insert slot.
///
/// Built by `Default` while hosts scan, so it owns nothing expensive: buffers, threads and the
/// model are set up in [`Plugin::activate`] once those exist.
#[derive(Default)]
pub struct Drumsort {
    /// Shared with the wrapper, which reads and saves the parameters from the host's threads.
    params: Arc<DrumsortParams>,
}

/// The plugin's parameters.
///
/// Empty on purpose: a pass-through has nothing to automate, and a placeholder parameter would
/// end up in users' sessions and automation lanes and could never be removed again. Real
/// parameters (sensitivity, output channel, ...) are added here with stable `#[id]`s.
#[derive(Default, Params)]
pub struct DrumsortParams {}

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

    /// Parameters cannot change mid-block because there are none.
    const SAMPLE_ACCURATE_AUTOMATION: bool = false;

    /// No editor yet: hosts show their generic (empty) parameter view.
    type Editor = ();
    /// No SysEx in or out.
    type SysExMessage = ();
    /// nice-plug's background executor is one thread shared by every instance in the host, so
    /// classification will run on the plugin's own worker instead and this stays empty.
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn process(
        &mut self,
        _buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        _context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        // The wrapper has already copied the host's input into the output buffers (or the host
        // processes in place), so leaving the buffer alone is a bit-exact pass-through.
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
