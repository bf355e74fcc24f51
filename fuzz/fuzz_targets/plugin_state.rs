//! Restoring the plugin's saved state from arbitrary bytes (see drumsort_plugin::fuzz).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| drumsort_plugin::fuzz::plugin_state(data));
