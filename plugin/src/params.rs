//! The plugin's parameters and the state it saves with the DAW project.
//!
//! IDs (`#[id = ...]`, `#[persist = ...]`) are stored in users' sessions and automation: never
//! rename or reuse one.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use drumsort_core::class::DrumClass;
use drumsort_core::hits::{MAX_LOOKAHEAD_S, MIN_LOOKAHEAD_S};
use drumsort_core::onset::{GATE_DBFS, GATE_RANGE_DBFS};
use nice_plug::prelude::*;

use crate::audio::NoteSettings;
use crate::view::ViewState;

/// Default editor size, logical pixels.
pub const EDITOR_SIZE: [u32; 2] = [960, 640];

/// Everything the host automates or saves.
#[derive(Params)]
pub struct DrumsortParams {
    /// 0..=1: how soft a hit may be and still count (the onset detector's threshold).
    #[id = "sensitivity"]
    pub sensitivity: FloatParam,
    /// Shortest time between two hits, ms: a flam or a clap's bursts closer than this are one hit.
    #[id = "min-interval"]
    pub min_interval_ms: FloatParam,
    /// Quietest hit, dBFS (RMS just after its onset): raise it above hiss or bleed that makes
    /// false hits between the real ones.
    #[id = "gate"]
    pub gate_dbfs: FloatParam,
    /// How much audio after a hit the classifier hears before naming it, ms. Longer is more
    /// accurate and adds latency; a change takes effect through a host restart (the latency the
    /// host compensates must only change then), so it is not automatable.
    #[id = "lookahead"]
    pub lookahead_ms: FloatParam,
    /// Whether the input audio reaches the output (off: only auditioned samples are heard).
    #[id = "passthrough"]
    pub passthrough: BoolParam,
    /// MIDI channel of the notes, 1..=16 (10 is General MIDI's drum channel).
    #[id = "channel"]
    pub midi_channel: IntParam,
    /// Length of each note, ms (drum samplers ignore note-offs, piano rolls do not).
    #[id = "note-length"]
    pub note_length_ms: FloatParam,
    /// Peak level that gives velocity 1, dBFS (0 dBFS gives 127).
    #[id = "velocity-floor"]
    pub velocity_floor_db: FloatParam,
    /// Shape of the level-to-velocity curve: above 1 favours soft velocities, below 1 loud ones.
    #[id = "velocity-curve"]
    pub velocity_curve: FloatParam,
    /// Level of auditioned samples, dB.
    #[id = "audition-gain"]
    pub audition_gain_db: FloatParam,
    /// Per drum class: whether it sends notes and which key. In `DrumClass::DRUMS` order.
    #[nested(array, group = "Classes")]
    pub classes: [ClassParams; DrumClass::DRUMS.len()],

    /// The folders and files the user added to this instance's library view.
    #[persist = "roots"]
    pub roots: Mutex<Vec<PathBuf>>,
    /// Zoom, pan, filters, selection and tab of the editor.
    #[persist = "view"]
    pub view: Mutex<ViewState>,
    /// Editor window size, logical pixels.
    #[persist = "editor-size"]
    pub editor_size: Mutex<[u32; 2]>,

    /// Set by the lookahead parameter's callback; the audio thread then asks the host for a
    /// restart so the new latency is reported the way CLAP and VST3 require.
    pub lookahead_changed: Arc<AtomicBool>,
}

/// Note settings of one drum class.
#[derive(Params)]
pub struct ClassParams {
    /// Whether hits of this class send notes.
    #[id = "on"]
    pub enabled: BoolParam,
    /// The MIDI key of this class (General MIDI drum map by default).
    #[id = "note"]
    pub note: IntParam,
}

impl ClassParams {
    fn new(class: DrumClass) -> Self {
        let name = class.as_str();
        Self {
            enabled: BoolParam::new(format!("{name} on"), true),
            note: IntParam::new(
                format!("{name} note"),
                i32::from(class.gm_note().unwrap_or(0)),
                IntRange::Linear { min: 0, max: 127 },
            ),
        }
    }
}

impl Default for DrumsortParams {
    fn default() -> Self {
        let lookahead_changed = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&lookahead_changed);
        let ms = |v: f32| format!("{v:.0} ms");
        Self {
            sensitivity: FloatParam::new("Sensitivity", 0.5, FloatRange::Linear { min: 0.0, max: 1.0 })
                .with_step_size(0.01),
            min_interval_ms: FloatParam::new("Min. interval", 50.0, FloatRange::Linear { min: 20.0, max: 200.0 })
                .with_step_size(1.0)
                .with_unit(" ms"),
            gate_dbfs: FloatParam::new(
                "Gate",
                GATE_DBFS,
                FloatRange::Linear { min: GATE_RANGE_DBFS.0, max: GATE_RANGE_DBFS.1 },
            )
            .with_step_size(1.0)
            .with_unit(" dBFS"),
            lookahead_ms: FloatParam::new(
                "Lookahead",
                50.0,
                FloatRange::Linear { min: MIN_LOOKAHEAD_S * 1000.0, max: MAX_LOOKAHEAD_S * 1000.0 },
            )
            .with_step_size(1.0)
            .with_value_to_string(Arc::new(ms))
            .with_callback(Arc::new(move |_| flag.store(true, Ordering::Release)))
            .non_automatable(),
            passthrough: BoolParam::new("Pass audio through", true),
            midi_channel: IntParam::new("MIDI channel", 10, IntRange::Linear { min: 1, max: 16 }),
            note_length_ms: FloatParam::new(
                "Note length",
                50.0,
                FloatRange::Skewed { min: 10.0, max: 1000.0, factor: FloatRange::skew_factor(-1.0) },
            )
            .with_step_size(1.0)
            .with_unit(" ms"),
            velocity_floor_db: FloatParam::new("Velocity floor", -40.0, FloatRange::Linear { min: -72.0, max: -6.0 })
                .with_step_size(0.5)
                .with_unit(" dB"),
            velocity_curve: FloatParam::new(
                "Velocity curve",
                1.0,
                FloatRange::Skewed { min: 0.25, max: 4.0, factor: FloatRange::skew_factor(-1.5) },
            )
            .with_step_size(0.01),
            audition_gain_db: FloatParam::new("Audition gain", -6.0, FloatRange::Linear { min: -36.0, max: 6.0 })
                .with_step_size(0.5)
                .with_unit(" dB"),
            classes: DrumClass::DRUMS.map(ClassParams::new),
            roots: Mutex::default(),
            view: Mutex::default(),
            editor_size: Mutex::new(EDITOR_SIZE),
            lookahead_changed,
        }
    }
}

impl DrumsortParams {
    /// Note keys per class (`None` for disabled classes and `Other`) and the note length, for a
    /// block at `sample_rate` with `latency` samples between a hit and its note.
    pub fn note_settings(&self, latency: u32, sample_rate: f32) -> NoteSettings {
        let mut keys = [None; DrumClass::ALL.len()];
        for (class, p) in DrumClass::DRUMS.iter().zip(&self.classes) {
            keys[class.index()] = p.enabled.value().then(|| p.note.value().clamp(0, 127) as u8);
        }
        let length = (self.note_length_ms.value() / 1000.0 * sample_rate) as u64;
        NoteSettings { latency: u64::from(latency), length, keys }
    }

    /// The note settings of `class`, `None` for `Other` (never a note).
    pub fn class(&self, class: DrumClass) -> Option<&ClassParams> {
        DrumClass::DRUMS.iter().position(|&c| c == class).map(|i| &self.classes[i])
    }
}

/// Makes a state the host is about to restore safe for nice-plug to apply (`Plugin::filter_state`),
/// two problems found while writing the `plugin_state` fuzz harness (its hostile inputs are kept in
/// plugin/tests/fuzz_regressions/plugin_state):
/// - nice-plug normalises an integer with `value - min`, which overflows (a panic in debug
///   builds, garbage in release) for a saved value near `i32::MIN`: values are clamped into their
///   parameter's range (a non-finite float becomes the default);
/// - nice-plug's derived `deserialize_fields` fails a debug assertion on a persisted field that
///   does not parse: such fields are dropped, so the default stays.
///
/// A parameter the state lacks (a session saved before the parameter existed, such as `gate`)
/// gets its default: nice-plug restores only the parameters a state holds, so otherwise it would
/// keep whatever this instance had before the session was loaded. Values of unknown parameters
/// and unknown fields are left alone (nice-plug skips them).
pub fn sanitize_state(state: &mut nice_plug::plugin::PluginState) {
    use nice_plug::plugin::ParamValue;
    let params = DrumsortParams::default();
    fn parses<T: serde::de::DeserializeOwned>(_field: &Mutex<T>, json: &str) -> bool {
        serde_json::from_str::<T>(json).is_ok()
    }
    state.fields.retain(|key, json| match key.as_str() {
        "roots" => parses(&params.roots, json),
        "view" => parses(&params.view, json),
        "editor-size" => parses(&params.editor_size, json),
        _ => true,
    });
    let map = params.param_map();
    for (id, value) in state.params.iter_mut() {
        let Some((_, ptr, _)) = map.iter().find(|(pid, _, _)| pid == id) else { continue };
        // SAFETY: `ptr` points into `params`, alive until the end of this function.
        let (lo, hi) = unsafe { (ptr.preview_plain(0.0), ptr.preview_plain(1.0)) };
        let (lo, hi) = (lo.min(hi), lo.max(hi));
        match value {
            ParamValue::F32(v) => {
                *v = if v.is_finite() { v.clamp(lo, hi) } else { unsafe { ptr.default_plain_value() } }
            }
            ParamValue::I32(v) => *v = (*v).clamp(lo.round() as i32, hi.round() as i32),
            ParamValue::Bool(_) | ParamValue::String(_) => {}
        }
    }
    for (id, ptr, _) in &map {
        if state.params.contains_key(id) {
            continue;
        }
        // SAFETY: as above.
        let default = unsafe { ptr.default_plain_value() };
        let value = match ptr {
            ParamPtr::FloatParam(_) => ParamValue::F32(default),
            ParamPtr::BoolParam(_) => ParamValue::Bool(default >= 0.5),
            ParamPtr::IntParam(_) | ParamPtr::EnumParam(_) => ParamValue::I32(default.round() as i32),
        };
        state.params.insert(id.clone(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_notes_default_to_the_general_midi_drum_map() {
        let params = DrumsortParams::default();
        for class in DrumClass::DRUMS {
            let p = params.class(class).unwrap();
            assert_eq!(p.note.value(), i32::from(class.gm_note().unwrap()), "{class:?}");
            assert!(p.enabled.value());
        }
        assert!(params.class(DrumClass::Other).is_none());
    }

    #[test]
    fn parameter_ids_are_unique_and_stable() {
        let params = DrumsortParams::default();
        let ids: Vec<String> = params.param_map().into_iter().map(|(id, _, _)| id).collect();
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
        // Saved sessions refer to these.
        for id in ["sensitivity", "gate", "lookahead", "passthrough", "channel", "on_1", "note_1", "note_12"] {
            assert!(ids.iter().any(|i| i == id), "missing {id} in {ids:?}");
        }
    }
}
