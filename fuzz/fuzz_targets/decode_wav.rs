//! The decoder over arbitrary bytes named `*.wav` (see drumsort_core::fuzz::decode).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| drumsort_core::fuzz::decode("wav", data));
