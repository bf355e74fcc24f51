//! Features and the real-time hit path over arbitrary sample values (see
//! drumsort_core::fuzz::features).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| drumsort_core::fuzz::features(data));
