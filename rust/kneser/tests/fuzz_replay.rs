//! The fuzz targets on stable: every committed corpus input (`fuzz/corpus/<target>/`) and
//! every regression input (`fuzz/regressions/<target>/`, crashes found and fixed) replayed, then
//! proptest mutations of the corpus (bytes flipped, inserted, removed, truncated, spliced; flips
//! in the first bytes, where a binary model keeps its header and counts; 8-byte words, counts
//! and pointers, overwritten by 0, 1, all ones, small or random values) and
//! random bytes. Cases per target: `KNESER_FUZZ_CASES` (default 256; `make fuzz-ci` runs more).
//! The bodies are the ones `cargo +nightly fuzz run <target>` runs (fuzz/bodies.rs).

#[path = "../../../fuzz/bodies.rs"]
mod bodies;

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn inputs(kind: &str, target: &str) -> Vec<Vec<u8>> {
    let dir = fuzz_dir().join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries.map(|e| e.expect("a corpus entry").path()).collect();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read(p).expect("a corpus file"))
        .collect()
}

fn cases() -> u32 {
    std::env::var("KNESER_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
    Truncate(usize),
    Splice(usize, usize, usize),
    /// A flip within the first bytes: a binary model's header and counts.
    FlipHead(usize, u8),
    /// 8 bytes overwritten (a count, a pointer, an offset) by an interesting value.
    Word(usize, u64),
}

/// Where a binary model's header and counts are (KenLM's: 108 + 8 * order bytes).
const HEAD: usize = 192;

fn apply(seed: &[u8], other: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for e in edits {
        let n = v.len().max(1);
        match e {
            Edit::Flip(i, x) => {
                if !v.is_empty() {
                    let i = i % v.len();
                    v[i] ^= x | 1;
                }
            }
            Edit::Insert(i, bytes) => {
                let i = i % n.min(v.len() + 1).max(1);
                let i = i.min(v.len());
                v.splice(i..i, bytes.iter().copied());
            }
            Edit::Remove(i, len) => {
                if !v.is_empty() {
                    let i = i % v.len();
                    let end = (i + len % 64).min(v.len());
                    v.drain(i..end);
                }
            }
            Edit::Truncate(i) => v.truncate(i % n),
            Edit::FlipHead(i, x) => {
                if !v.is_empty() {
                    let i = i % v.len().min(HEAD);
                    v[i] ^= x | 1;
                }
            }
            Edit::Word(i, value) => {
                if v.len() >= 8 {
                    let i = i % (v.len() - 7);
                    v[i..i + 8].copy_from_slice(&value.to_le_bytes());
                }
            }
            Edit::Splice(at, from, len) => {
                if !other.is_empty() {
                    let from = from % other.len();
                    let end = (from + len % 256).min(other.len());
                    let at = at % (v.len() + 1);
                    v.splice(at..at, other[from..end].iter().copied());
                }
            }
        }
    }
    v
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(i, x)| Edit::Flip(i, x)),
        2 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(i, l)| Edit::Remove(i, l)),
        1 => any::<usize>().prop_map(Edit::Truncate),
        1 => (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(a, f, l)| Edit::Splice(a, f, l)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(i, x)| Edit::FlipHead(i, x)),
        2 => (
            any::<usize>(),
            prop_oneof![
                Just(0u64),
                Just(1),
                Just(u64::MAX),
                Just(u64::from(u32::MAX)),
                0u64..1 << 20,
                any::<u64>()
            ]
        )
            .prop_map(|(i, x)| Edit::Word(i, x)),
    ]
}

fn fuzz(target: &str) {
    let corpus = inputs("corpus", target);
    assert!(!corpus.is_empty(), "no corpus for {target}");
    for input in corpus.iter().chain(inputs("regressions", target).iter()) {
        bodies::run(target, input);
    }
    let n = corpus.len();
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        0..n,
        0..n,
        proptest::collection::vec(edit(), 0..12),
        proptest::collection::vec(any::<u8>(), 0..64),
        any::<bool>(),
    );
    runner
        .run(&strategy, |(a, b, edits, random, pure_random)| {
            let data = if pure_random {
                random
            } else {
                apply(&corpus[a], &corpus[b], &edits)
            };
            bodies::run(target, &data);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{target}: {e}"));
}

#[test]
fn fuzz_arpa_reader() {
    fuzz("arpa_reader");
}

#[test]
fn fuzz_binary_reader() {
    fuzz("binary_reader");
}

#[test]
fn fuzz_counts_reader() {
    fuzz("counts_reader");
}

#[test]
fn fuzz_normalizer() {
    fuzz("normalizer");
}

#[test]
fn fuzz_tokenizer() {
    fuzz("tokenizer");
}

#[test]
fn fuzz_segmenter() {
    fuzz("segmenter");
}

#[test]
fn fuzz_sentencepiece() {
    fuzz("sentencepiece");
}

#[test]
fn every_target_has_a_test() {
    assert_eq!(bodies::TARGETS.len(), 7);
}
