#![no_main]
//! `cargo +nightly fuzz run counts_reader`: see ../bodies.rs.

#[path = "../bodies.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::counts_reader(data));
