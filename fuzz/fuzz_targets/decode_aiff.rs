//! The decoder over arbitrary bytes named `*.aiff` (see drumsort_core::fuzz::decode).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| drumsort_core::fuzz::decode("aiff", data));
