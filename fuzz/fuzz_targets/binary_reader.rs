#![no_main]
//! `cargo +nightly fuzz run binary_reader`: see ../bodies.rs.

#[path = "../bodies.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::binary_reader(data));
