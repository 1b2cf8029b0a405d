#![no_main]
//! `cargo +nightly fuzz run sentencepiece`: see ../bodies.rs.

#[path = "../bodies.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::sentencepiece(data));
