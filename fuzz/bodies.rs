//! The bodies of the fuzz targets, shared by `cargo fuzz` (fuzz_targets/*.rs, nightly) and the
//! stable replay and property test of the core (`rust/kneser/tests/fuzz_replay.rs`), so the
//! committed corpora and any crashing input found run in every `cargo test`.
//!
//! Each body takes arbitrary bytes and must return without panicking: a parser answers with a
//! value or a typed error whose message is not empty; a text stage returns valid text.

#![allow(dead_code)]

use std::io::Write;
use std::path::Path;

use kneser::estimate::{EstimateConfig, Output, Source};
use kneser::model::{LoadMethod, Model};
use kneser::text::normalize::{CcnetOptions, Normalizer};
use kneser::text::segment::Segmenter;
use kneser::text::tokenize::{Mode, Tokenizer};
use kneser::{Cancel, SentencePiece};

/// The names of the targets, as directories under `fuzz/corpus/`.
pub const TARGETS: [&str; 7] = [
    "arpa_reader",
    "binary_reader",
    "counts_reader",
    "normalizer",
    "tokenizer",
    "segmenter",
    "sentencepiece",
];

/// Runs the body named `target` on `data`.
pub fn run(target: &str, data: &[u8]) {
    match target {
        "arpa_reader" => arpa_reader(data),
        "binary_reader" => binary_reader(data),
        "counts_reader" => counts_reader(data),
        "normalizer" => normalizer(data),
        "tokenizer" => tokenizer(data),
        "segmenter" => segmenter(data),
        "sentencepiece" => sentencepiece(data),
        other => panic!("no fuzz target {other}"),
    }
}

fn checked<T>(result: kneser::Result<T>) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            assert!(!e.to_string().is_empty(), "an error without a message");
            None
        }
    }
}

fn score_some(model: &Model) {
    for text in ["", "the", "a b c d e", "<s> </s> <unk>", "zz qq"] {
        let _ = model.score(text, true, true);
    }
    // Every word id (of the first 64), in order and reversed: n-grams of the file's own words.
    let ids: Vec<u32> = (0..model.vocab_size().min(64) as u32).collect();
    let reversed: Vec<u32> = ids.iter().rev().copied().collect();
    for bos in [false, true] {
        let _ = model.score_ids(&ids, bos);
        let _ = model.score_ids(&reversed, bos);
    }
}

/// ARPA text, parsed into a model, then scored.
pub fn arpa_reader(data: &[u8]) {
    if let Some(model) = checked(Model::from_arpa_reader(data, "<fuzz>", &Cancel::new())) {
        score_some(&model);
    }
}

fn with_file(data: &[u8], f: impl FnOnce(&Path)) {
    let mut file = tempfile::NamedTempFile::new().expect("a temp file");
    file.write_all(data).expect("write the input");
    file.flush().expect("flush the input");
    f(file.path());
}

/// Any model file (kneser's binary, KenLM's probing or trie, ARPA), read into memory (every
/// check of `LoadMethod::Read`) and mapped (`Lazy`: only KenLM's checks, so corrupted entries
/// reach the scorer, which must clamp them), then scored. The temporary file is not changed
/// while mapped.
pub fn binary_reader(data: &[u8]) {
    with_file(data, |path| {
        for method in [LoadMethod::Read, LoadMethod::Lazy] {
            if let Some(model) = checked(Model::load_with(path, method, &Cancel::new())) {
                score_some(&model);
            }
        }
    });
}

/// A kneser count file, merged into a model of order 1 to 3 written to nowhere.
pub fn counts_reader(data: &[u8]) {
    with_file(data, |path| {
        let temp = tempfile::tempdir().expect("a temp dir");
        let config = EstimateConfig {
            discount_fallback: Some(kneser::estimate::config::DEFAULT_FALLBACK.to_vec()),
            memory: 4 << 20,
            temp_dir: temp.path().to_path_buf(),
            threads: 1,
            verbose: false,
            ..EstimateConfig::default()
        };
        let _ = checked(kneser::estimate::estimate(
            Source::Counts(vec![path.to_path_buf()]),
            &config,
            Output::Writer(Box::new(std::io::sink())),
            &Cancel::new(),
        ));
    });
}

/// CCNet's normalizer (every option combination the first byte picks) on the rest as text.
pub fn normalizer(data: &[u8]) {
    let (pick, rest) = data.split_first().unwrap_or((&0, &[]));
    let text = String::from_utf8_lossy(rest);
    let options = CcnetOptions {
        accent: pick & 1 != 0,
        case: pick & 2 != 0,
        numbers: pick & 4 != 0,
        punct: (pick >> 3) % 3,
    };
    let norm = Normalizer::ccnet(options);
    let once = norm.normalize(&text);
    // The surrogate-passing entry takes any bytes and answers text or a typed error.
    let _ = checked(norm.normalize_surrogate_utf8(rest, "<fuzz>"));
    let batch = norm.normalize_batch(&[text.as_ref(), once.as_str()]);
    assert_eq!(batch[0], once, "batch and single normalization differ");
}

/// Every tokenizer mode, lowercasing on or off; tokens are never empty and never hold the
/// whitespace of the lmplz rule in whitespace mode.
pub fn tokenizer(data: &[u8]) {
    let (pick, rest) = data.split_first().unwrap_or((&0, &[]));
    let text = String::from_utf8_lossy(rest);
    for mode in [
        Mode::Whitespace,
        Mode::UnicodeWords,
        Mode::CjkChars,
        Mode::Punctuation,
    ] {
        let whitespace = matches!(mode, Mode::Whitespace);
        let tok = Tokenizer::new(mode).with_lowercase(pick & 1 != 0);
        for t in tok.tokenize(&text) {
            assert!(!t.is_empty(), "an empty token");
            if whitespace {
                assert!(
                    !t.bytes()
                        .any(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0)),
                    "a separator inside token {t:?}"
                );
            }
        }
    }
}

/// A jieba dictionary (the bytes up to the first NUL) and text to cut (the rest): loading answers
/// a segmenter or a typed error; cutting covers the text exactly.
pub fn segmenter(data: &[u8]) {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (dict, text) = (&data[..split], data.get(split + 1..).unwrap_or(&[]));
    let text = String::from_utf8_lossy(text);
    let Some(seg) = checked(Segmenter::from_reader(dict, "<fuzz>")) else {
        return;
    };
    let words = seg.cut(&text, false);
    assert_eq!(
        words.concat(),
        text,
        "the words do not join back to the text"
    );
    let _ = seg.cut(&text, true);
}

/// A SentencePiece `.model` (the bytes after the text) and a text to encode (the first byte's
/// count of bytes after it): loading answers a model or a typed error; encoding gives ids of
/// the vocabulary, the same ids one piece at a time as all at once, and (without byte
/// fallback, whose pieces are `<0xXX>` names) pieces that spell the normalized text.
pub fn sentencepiece(data: &[u8]) {
    let (&k, rest) = data.split_first().unwrap_or((&0, &[]));
    let k = usize::from(k).min(rest.len());
    let (text, model) = rest.split_at(k);
    let Some(sp) = checked(SentencePiece::from_bytes(model, "<fuzz>")) else {
        return;
    };
    let text = String::from_utf8_lossy(text);
    for t in [
        text.as_ref(),
        "",
        " ",
        "a b  c",
        "\u{2581}ab\u{2581}",
        "<0x41>\0x",
    ] {
        let pieces = sp.encode_as_pieces(t);
        let ids = sp.encode_as_ids(t);
        assert!(
            ids.iter().all(|&id| (id as usize) < sp.len()),
            "an id past the vocabulary"
        );
        let mut scratch = String::new();
        let mut one = Vec::new();
        sp.for_each_piece_id(t, &mut scratch, &mut |_, id| one.push(id));
        assert_eq!(one, ids, "ids one piece at a time differ");
        let mut normalized = String::new();
        sp.normalize_into(t, &mut normalized);
        if !pieces.iter().any(|p| p.starts_with("<0x")) {
            assert_eq!(pieces.concat(), normalized, "pieces do not spell the text");
        }
    }
}
