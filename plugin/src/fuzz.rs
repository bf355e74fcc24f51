//! The fuzz harness for restoring the plugin's saved state: `fuzz/fuzz_targets/plugin_state.rs`
//! runs it under libFuzzer (`cargo xtask fuzz --target plugin_state`) and
//! plugin/tests/fuzz_regressions.rs replays every kept input through it.
//!
//! It takes what a host hands `clap_plugin_state.load` (nice-plug's format: a little-endian u64
//! length, then the JSON of a [`PluginState`]), restores it into fresh parameters the way
//! nice-plug's wrapper does (values through the public parameter API, persisted fields through
//! `Params::deserialize_fields`), then runs everything of ours that consumes restored state: the
//! note settings `process()` reads, the window size the editor opens at, and a full editor frame
//! drawn with the restored view over a demo library. Whatever the bytes, nothing may panic.

use std::sync::Arc;

use nice_plug::plugin::ParamValue;
use nice_plug::prelude::*;

use crate::editor::demo::demo_library;
use crate::editor::window::{window_size, MIN_SIZE};
use crate::editor::EditorApp;
use crate::params::DrumsortParams;
use crate::shared::Shared;

/// nice-plug's CLAP wrapper refuses larger states; so does the harness.
const MAX_STATE_BYTES: u64 = 1 << 28;

/// The JSON inside a CLAP state blob, or the bytes themselves when they do not start with a
/// plausible length (VST3 hosts hand the JSON alone).
fn json_part(data: &[u8]) -> &[u8] {
    match data.split_first_chunk::<8>() {
        Some((len, rest)) if u64::from_le_bytes(*len) <= MAX_STATE_BYTES.min(rest.len() as u64) => {
            &rest[..u64::from_le_bytes(*len) as usize]
        }
        _ => data,
    }
}

/// Restores `data` into new parameters as the host's state load would, then draws with them.
pub fn plugin_state(data: &[u8]) {
    let Ok(mut state) = serde_json::from_slice::<PluginState>(json_part(data)) else { return };
    let params = Arc::new(DrumsortParams::default());
    // The wrapper's order: the plugin's filter first, then the values, then the fields.
    crate::params::sanitize_state(&mut state);
    restore(&params, &state);

    let _ = params.note_settings(4_800, 48_000.0);
    let size = window_size(*params.editor_size.lock().unwrap_or_else(|e| e.into_inner()), MIN_SIZE);
    let (shared, _commands) = Shared::new();
    shared.set_library(demo_library(40, 7));
    let mut app = EditorApp::new(shared, Arc::clone(&params));
    let ctx = egui::Context::default();
    let input = egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(size[0] as f32, size[1] as f32))),
        ..Default::default()
    };
    let mut output = ctx.run_ui(input, |ui| app.ui(ui));
    // Tessellate as the window would (the restored zoom and pan reach the shapes' coordinates).
    let _ = ctx.tessellate(std::mem::take(&mut output.shapes), output.pixels_per_point);
    output.textures_delta.clear();
}

/// The blob nice-plug's CLAP wrapper saves for `params`: fuzzing seeds and tests.
pub fn saved_state(params: &DrumsortParams) -> Vec<u8> {
    let state = PluginState {
        version: env!("CARGO_PKG_VERSION").into(),
        params: params
            .param_map()
            .into_iter()
            .map(|(id, ptr, _)| {
                // SAFETY: `ptr` points into `params`, alive for this call.
                let plain = unsafe { ptr.unmodulated_plain_value() };
                let value = match ptr {
                    ParamPtr::IntParam(_) => ParamValue::I32(plain.round() as i32),
                    ParamPtr::BoolParam(_) => ParamValue::Bool(plain >= 0.5),
                    _ => ParamValue::F32(plain),
                };
                (id, value)
            })
            .collect(),
        fields: params.serialize_fields(),
    };
    let json = serde_json::to_vec(&state).unwrap_or_default();
    [(json.len() as u64).to_le_bytes().to_vec(), json].concat()
}

/// What nice-plug's wrapper does with a parsed and filtered state: each known parameter set from
/// its plain value, then the persisted fields.
fn restore(params: &DrumsortParams, state: &PluginState) {
    let map = params.param_map();
    for (id, value) in &state.params {
        let Some((_, ptr, _)) = map.iter().find(|(pid, _, _)| pid == id) else { continue };
        let plain = match value {
            ParamValue::F32(v) => *v,
            ParamValue::I32(v) => *v as f32,
            ParamValue::Bool(v) => f32::from(u8::from(*v)),
            ParamValue::String(_) => continue,
        };
        // SAFETY: `ptr` points into `params`, which outlives this loop; nothing else touches the
        // parameters meanwhile.
        unsafe {
            let normalized = ptr.preview_normalized(plain);
            ptr._internal_set_normalized_value(normalized);
        }
    }
    params.deserialize_fields(&state.fields);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filtering_clamps_values_and_drops_fields_that_do_not_parse() {
        let json = br#"{"params":{"channel":{"i32":-2147483648},"sensitivity":{"f32":1e38}},
            "fields":{"view":"not json","editor-size":"[1200,800]","roots":"[1]"}}"#;
        let mut state: PluginState = serde_json::from_slice(json).unwrap();
        crate::params::sanitize_state(&mut state);
        assert!(matches!(state.params["channel"], ParamValue::I32(1)), "{:?}", state.params["channel"]);
        assert!(matches!(state.params["sensitivity"], ParamValue::F32(v) if v == 1.0));
        assert_eq!(state.fields.keys().collect::<Vec<_>>(), ["editor-size"]);
        let params = DrumsortParams::default();
        restore(&params, &state);
        assert_eq!(params.midi_channel.value(), 1);
        assert_eq!(*params.editor_size.lock().unwrap(), [1200, 800]);
    }

    #[test]
    fn a_session_saved_before_a_parameter_existed_restores_it_to_its_default() {
        // An instance whose gate, pass-through and a class key were changed, then a session from
        // before the gate existed (and lacking the other two) is loaded into it.
        let params = DrumsortParams::default();
        let mut changed =
            PluginState { version: String::new(), params: Default::default(), fields: Default::default() };
        changed.params.insert("gate".into(), ParamValue::F32(-20.0));
        changed.params.insert("passthrough".into(), ParamValue::Bool(false));
        changed.params.insert("note_1".into(), ParamValue::I32(40));
        restore(&params, &changed);
        assert_eq!(params.gate_dbfs.value(), -20.0, "the instance's gate was raised");
        let mut old: PluginState =
            serde_json::from_slice(br#"{"params":{"sensitivity":{"f32":0.7}},"fields":{}}"#).unwrap();
        crate::params::sanitize_state(&mut old);
        assert_eq!(old.params.len(), params.param_map().len(), "every parameter has a value");
        restore(&params, &old);
        assert_eq!(params.sensitivity.value(), 0.7, "what the session holds wins");
        assert_eq!(params.gate_dbfs.value(), drumsort_core::onset::GATE_DBFS);
        assert!(params.passthrough.value());
        assert_eq!(params.classes[0].note.value(), i32::from(drumsort_core::DrumClass::Kick.gm_note().unwrap()));
    }

    #[test]
    fn a_saved_state_restores_and_hostile_ones_do_not_panic() {
        let good = saved_state(&DrumsortParams::default());
        plugin_state(&good);
        assert_eq!(json_part(&good), &good[8..]);
        let hostile = [
            br#"{"params":{"sensitivity":{"f32":1e38},"channel":{"i32":-2147483648}},"fields":{}}"#.to_vec(),
            br#"{"params":{},"fields":{"view":"{\"zoom\":-1e38,\"pan\":[1e38,-1e38],\"query\":\"\",\"tab\":\"Hits\"}","editor-size":"[4294967295,0]"}}"#.to_vec(),
            br#"{"params":{},"fields":{"view":"{\"zoom\":0,\"selected\":\"/nonexistent\"}","roots":"[\"\",\"/\"]"}}"#.to_vec(),
            br#"{"params":{},"fields":{"view":"not json","editor-size":"[1]"}}"#.to_vec(),
            vec![0xff; 16],
            Vec::new(),
        ];
        for blob in hostile {
            plugin_state(&blob);
        }
    }
}
