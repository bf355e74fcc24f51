//! Restoring the plugin's saved state from arbitrary bytes (see drumsort_plugin::testing::plugin_state, in plugin/src/fuzz.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| drumsort_plugin::testing::plugin_state(data));
