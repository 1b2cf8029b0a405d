#![no_main]
//! `cargo +nightly fuzz run arpa_reader`: see ../bodies.rs.

#[path = "../bodies.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::arpa_reader(data));
