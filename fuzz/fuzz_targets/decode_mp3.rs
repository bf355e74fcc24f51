//! The decoder over arbitrary bytes named `*.mp3` (see drumsort_core::fuzz::decode).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| drumsort_core::fuzz::decode("mp3", data));
