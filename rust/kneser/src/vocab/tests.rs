//! Unit and property tests of the vocabulary stage.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::shards::npy_header;
use super::*;
use crate::text::tokenize::Tokenizer;
use crate::Cancel;

fn ws() -> Tokenizer {
    Tokenizer::whitespace()
}

fn build(texts: &[&str], config: &VocabConfig) -> Result<Vocab> {
    let mut c = TokenCounter::new();
    c.add_texts(&ws(), texts);
    c.into_vocab(config, "<test>")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn order_is_specials_then_count_desc_then_bytes() {
    let v = build(&["b c a c", "a c b\td", "Z"], &VocabConfig::default()).unwrap();
    // c:3, a:2, b:2, Z:1, d:1 ; ties by bytes: "Z" (0x5a) < "d".
    assert_eq!(
        v.tokens(),
        ["<unk>", "<s>", "</s>", "c", "a", "b", "Z", "d"]
    );
    assert_eq!(v.counts(), [0, 0, 0, 3, 2, 2, 1, 1]);
    assert_eq!(v.n_specials(), 3);
    assert_eq!(v.unk_id(), Some(0));
    assert_eq!(v.id_to_token(3), Some("c"));
    assert_eq!(v.id_to_token(8), None);
    assert_eq!(v.token_to_id("nope"), None);
}

#[test]
fn min_count_max_size_and_pad() {
    let config = VocabConfig {
        min_count: 2,
        max_size: Some(5),
        specials: default_specials(true),
    };
    let v = build(&["a a a b b c d d"], &config).unwrap();
    assert_eq!(v.tokens(), ["<unk>", "<s>", "</s>", "<pad>", "a"]);
    let config = VocabConfig {
        min_count: 2,
        ..VocabConfig::default()
    };
    let v = build(&["a a a b b c d d"], &config).unwrap();
    assert_eq!(v.tokens(), ["<unk>", "<s>", "</s>", "a", "b", "d"]);
}

#[test]
fn specials_in_text_are_counted_on_the_special() {
    let v = build(&["<s> a </s>", "</s>"], &VocabConfig::default()).unwrap();
    assert_eq!(v.tokens(), ["<unk>", "<s>", "</s>", "a"]);
    assert_eq!(v.counts(), [0, 1, 2, 1]);
}

#[test]
fn empty_corpus_and_high_min_count_are_errors() {
    let e = build(&["", "  \t "], &VocabConfig::default()).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    assert!(e.to_string().contains("empty corpus"), "{e}");
    let config = VocabConfig {
        min_count: 5,
        ..VocabConfig::default()
    };
    let e = build(&["a a b"], &config).unwrap_err();
    assert!(
        e.to_string()
            .contains("min_count 5 is above every token count"),
        "{e}"
    );
    assert!(e.to_string().contains("occurs 2 times"), "{e}");
}

#[test]
fn bad_configs_are_rejected() {
    for config in [
        VocabConfig {
            min_count: 0,
            ..VocabConfig::default()
        },
        VocabConfig {
            max_size: Some(3),
            ..VocabConfig::default()
        },
        VocabConfig {
            specials: vec!["<a>".into(), "<a>".into()],
            ..VocabConfig::default()
        },
        VocabConfig {
            specials: vec!["a b".into()],
            ..VocabConfig::default()
        },
    ] {
        assert!(
            matches!(config.validate(), Err(Error::InvalidArgument(_))),
            "{config:?}"
        );
    }
}

#[test]
fn files_are_counted_with_line_numbers_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.txt", "x y\ny z\n");
    let b = write(dir.path(), "b.txt", "z z");
    let v = build_from_files(
        &[a.clone(), b],
        &ws(),
        &VocabConfig::default(),
        &Cancel::new(),
    )
    .unwrap();
    assert_eq!(v.tokens()[3..], ["z", "y", "x"]);
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, b"ok\nfine\nbad \xff\n").unwrap();
    let e =
        build_from_files(&[a, bad], &ws(), &VocabConfig::default(), &Cancel::new()).unwrap_err();
    assert!(matches!(e, Error::InvalidUtf8 { .. }), "{e}");
    assert!(e.to_string().contains("bad.txt:3:"), "{e}");
    let e = build_from_files(
        &[dir.path().join("missing.txt")],
        &ws(),
        &VocabConfig::default(),
        &Cancel::new(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
}

#[test]
fn cancelled_build_stops() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.txt", "x y\n");
    let cancel = Cancel::new();
    cancel.cancel();
    let e = build_from_files(&[a], &ws(), &VocabConfig::default(), &cancel).unwrap_err();
    assert!(matches!(e, Error::Interrupted));
}

#[test]
fn text_and_json_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let config = VocabConfig {
        specials: default_specials(true),
        ..VocabConfig::default()
    };
    let v = build(&["b a \"q\\ b", "é 中 a b"], &config).unwrap();
    for name in ["v.txt", "v.json", "v.JSON"] {
        let p = dir.path().join(name);
        v.save(&p).unwrap();
        let w = Vocab::load(&p, None).unwrap();
        assert_eq!(w.tokens(), v.tokens(), "{name}");
        assert_eq!(w.counts(), v.counts(), "{name}");
        assert_eq!(w.n_specials(), 4, "{name}");
    }
    let text = std::fs::read_to_string(dir.path().join("v.txt")).unwrap();
    assert!(
        text.starts_with("<unk>\t0\n<s>\t0\n</s>\t0\n<pad>\t0\nb\t3\n"),
        "{text}"
    );
    v.save_limit_vocab(&dir.path().join("limit")).unwrap();
    let limit = std::fs::read_to_string(dir.path().join("limit")).unwrap();
    assert_eq!(
        crate::text::whitespace::Rule::Lmplz
            .split(&limit)
            .collect::<Vec<_>>(),
        &v.tokens()[4..]
    );
}

#[test]
fn bad_vocab_files_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("dup.txt", "<unk>\t0\na\t3\nb\t2\na\t1\n", ":4: duplicate token \"a\", first given on line 2"),
        ("notab.txt", "<unk>\t0\na 3\n", ":2: expected `token TAB count`"),
        ("count.txt", "a\t3\nb\tx\n", ":2: count \"x\""),
        ("neg.txt", "a\t-3\n", ":1: count \"-3\""),
        ("fields.txt", "a\t3\t4\n", ":1: expected `token TAB count`, found more than two"),
        ("emptytok.txt", "a\t3\n\t4\n", ":2: token \"\""),
        ("blank.txt", "a\t3\n\nb\t1\n", ":2: expected"),
        ("empty.txt", "", "empty vocabulary file"),
        ("bad.json", "{\"format\": \"kneser-vocab\",\n \"version\": 1, \"specials\": [], \"tokens\": [[\"a\", 1], [\"a\", 2]]}", "appears twice"),
        ("syntax.json", "{\n\"format\": ]", ":2: not a kneser vocabulary JSON"),
        ("other.json", "{\"vocab\": {}}", "\"format\" is not"),
    ];
    for (name, text, want) in cases {
        let p = write(dir.path(), name, text);
        let e = Vocab::load(&p, None).unwrap_err();
        assert!(matches!(e, Error::Format { .. }), "{name}: {e:?}");
        assert!(e.to_string().contains(want), "{name}: {e}");
        assert!(e.to_string().contains(name), "{name}: {e}");
    }
}

#[test]
fn text_load_takes_leading_specials_only() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "v.txt", "<unk>\t0\n<s>\t0\na\t5\n</s>\t1\n");
    let v = Vocab::load(&p, None).unwrap();
    assert_eq!(v.n_specials(), 2);
    assert_eq!(v.token_to_id("</s>"), Some(3));
    let p = write(dir.path(), "crlf.txt", "<mask>\t0\r\nx\t2\r\n");
    let v = Vocab::load(&p, Some(&["<mask>".to_string()])).unwrap();
    assert_eq!(
        (v.n_specials(), v.unk_id(), v.tokens()),
        (1, None, vec!["<mask>", "x"])
    );
}

#[test]
fn encode_decode_and_unknowns() {
    let v = build(&["a b c", "a"], &VocabConfig::default()).unwrap();
    let ids = v.encode(&ws(), " a  zz c ", Unknown::Unk).unwrap();
    assert_eq!(ids, [3, 0, 5]);
    assert_eq!(v.decode(&ids).unwrap(), "a <unk> c");
    let e = v.encode(&ws(), "a zz", Unknown::Raise).unwrap_err();
    assert!(
        e.to_string().contains("\"zz\" is not in the vocabulary"),
        "{e}"
    );
    let e = v
        .encode_batch(&ws(), &["a", "b", "a yy"], Unknown::Raise)
        .unwrap_err();
    assert!(e.to_string().contains("texts[2]: token \"yy\""), "{e}");
    assert!(v
        .decode(&[1, 99])
        .unwrap_err()
        .to_string()
        .contains("id 99 at position 1"));
    let no_unk = Vocab::from_entries(vec![("a".into(), 1)], 0).unwrap();
    assert!(no_unk.encode(&ws(), "a", Unknown::Unk).is_err());
    assert_eq!(no_unk.encode(&ws(), "a", Unknown::Raise).unwrap(), [0]);
}

#[test]
fn encode_batch_matches_one_by_one_on_many_texts() {
    let texts: Vec<String> = (0..5000)
        .map(|i| format!("w{} w{} x{}", i % 7, i % 13, i))
        .collect();
    let v = build(
        &texts.iter().map(|s| s.as_str()).collect::<Vec<_>>()[..2500],
        &VocabConfig::default(),
    )
    .unwrap();
    let batch = v.encode_batch(&ws(), &texts, Unknown::Unk).unwrap();
    assert_eq!(batch.offsets.len(), texts.len() + 1);
    for (i, t) in texts.iter().enumerate() {
        let (s, e) = (batch.offsets[i] as usize, batch.offsets[i + 1] as usize);
        assert_eq!(
            batch.ids[s..e],
            v.encode(&ws(), t, Unknown::Unk).unwrap()[..]
        );
    }
}

#[test]
fn encode_batches_reuse_buffers_without_leftovers() {
    // Each batch is large enough to be cut into chunks (above SEQUENTIAL_BYTES); the second and
    // third reuse the chunk buffers kept from the batches before and must hold only their ids.
    let long: Vec<String> = (0..6000)
        .map(|i| format!("w{} x{} w{}", i % 7, i, i % 5))
        .collect();
    let short: Vec<String> = (0..20_000).map(|i| format!("w{}", i % 11)).collect();
    assert!(!super::encode::is_small(&short) && !super::encode::is_small(&long));
    let v = build(
        &long.iter().map(|s| s.as_str()).collect::<Vec<_>>()[..3000],
        &VocabConfig::default(),
    )
    .unwrap();
    for texts in [&long, &short, &long] {
        let batch = v.encode_batch(&ws(), texts, Unknown::Unk).unwrap();
        let want: Vec<u32> = texts
            .iter()
            .flat_map(|t| v.encode(&ws(), t, Unknown::Unk).unwrap())
            .collect();
        assert_eq!(batch.ids, want);
        assert_eq!(batch.offsets.len(), texts.len() + 1);
    }
    // A small batch after them gets a buffer of its own size, not a kept one.
    let tiny = v.encode_batch(&ws(), &["w1 w2"], Unknown::Unk).unwrap();
    assert!(tiny.ids.capacity() < 1024, "{}", tiny.ids.capacity());
    let kept: usize = super::encode::SPARE
        .lock()
        .unwrap()
        .iter()
        .map(|b| b.capacity() * 4)
        .sum();
    assert!(kept <= super::encode::SPARE_BYTES);
}

fn read_npy(path: &Path) -> (String, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!((10 + hlen) % 64, 0);
    let header = String::from_utf8(bytes[10..10 + hlen].to_vec()).unwrap();
    (header, bytes[10 + hlen..].to_vec())
}

#[test]
fn corpus_to_shards_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.txt", "a b\n\nc a zz\n");
    let b = write(dir.path(), "b.txt", "b");
    let v = build(&["a b c"], &VocabConfig::default()).unwrap();
    let out = dir.path().join("out");
    let config = EncodeConfig {
        shard_tokens: 4,
        ..EncodeConfig::default()
    };
    let index = encode_corpus(
        &[a.clone(), b.clone()],
        &v,
        &ws(),
        &out,
        &config,
        &Cancel::new(),
    )
    .unwrap();
    // a=3 b=4 c=5 </s>=2 <unk>=0: [3 4 2 | 5 3 0 2 | 4 2]
    let want: Vec<u32> = vec![3, 4, 2, 5, 3, 0, 2, 4, 2];
    assert_eq!(
        (
            index.documents,
            index.tokens,
            index.empty_lines,
            index.unk_tokens
        ),
        (3, 9, 1, 1)
    );
    assert_eq!(index.dtype, ShardDtype::U16);
    let mut got = Vec::new();
    let mut docs = 0;
    for (k, shard) in index.shards.iter().enumerate() {
        assert_eq!(shard.file, format!("shard_{k:06}.npy"));
        let (header, data) = read_npy(&out.join(&shard.file));
        assert!(
            header.contains(&format!(
                "'descr': '<u2', 'fortran_order': False, 'shape': ({},)",
                shard.tokens
            )),
            "{header}"
        );
        got.extend(
            data.chunks(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]) as u32),
        );
        docs += shard.documents;
    }
    assert_eq!(
        index.shards.iter().map(|s| s.tokens).collect::<Vec<_>>(),
        [4, 4, 1]
    );
    assert_eq!(
        index.shards.iter().map(|s| s.documents).collect::<Vec<_>>(),
        [1, 1, 1]
    );
    assert_eq!((got, docs), (want.clone(), 3));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("index.json")).unwrap()).unwrap();
    assert_eq!(json["tokens"], 9);
    assert_eq!(json["dtype"], "uint16");
    // Raw .bin, uint32, no eod.
    let out2 = dir.path().join("out2");
    let config = EncodeConfig {
        format: ShardFormat::Bin,
        dtype: ShardDtype::U32,
        eod: None,
        ..EncodeConfig::default()
    };
    let index = encode_corpus(&[a.clone(), b], &v, &ws(), &out2, &config, &Cancel::new()).unwrap();
    let data = std::fs::read(out2.join("shard_000000.bin")).unwrap();
    let ids: Vec<u32> = data
        .chunks(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(ids, [3, 4, 5, 3, 0, 4]);
    assert_eq!((index.tokens, index.eod), (6, None));
    // Unknown tokens can be an error naming file and line; no index is left behind.
    let out3 = dir.path().join("out3");
    let config = EncodeConfig {
        unknown: Unknown::Raise,
        ..EncodeConfig::default()
    };
    let e = encode_corpus(&[a], &v, &ws(), &out3, &config, &Cancel::new()).unwrap_err();
    assert!(e.to_string().contains("a.txt:3: token \"zz\""), "{e}");
    assert!(!out3.join("index.json").exists());
    assert_eq!(std::fs::read_dir(&out3).unwrap().count(), 0);
}

#[test]
fn texts_encode_as_the_same_lines_in_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let lines = ["a b", "", "c a zz", "b"];
    let file = write(dir.path(), "a.txt", &lines.join("\n"));
    let v = build(&["a b c"], &VocabConfig::default()).unwrap();
    let config = EncodeConfig {
        shard_tokens: 4,
        ..EncodeConfig::default()
    };
    let from_file = dir.path().join("f");
    let from_texts = dir.path().join("t");
    let a = encode_corpus(&[file], &v, &ws(), &from_file, &config, &Cancel::new()).unwrap();
    // Two batches, the split inside the corpus.
    let batches = vec![
        Ok(vec![lines[0].to_string(), lines[1].to_string()]),
        Ok(vec![lines[2].to_string(), lines[3].to_string()]),
    ];
    let b = encode_texts(batches, &v, &ws(), &from_texts, &config, &Cancel::new()).unwrap();
    assert_eq!(
        (a.documents, a.tokens, a.empty_lines),
        (b.documents, b.tokens, b.empty_lines)
    );
    assert_eq!(b.sources, [TEXTS_SOURCE]);
    for shard in &a.shards {
        assert_eq!(
            std::fs::read(from_file.join(&shard.file)).unwrap(),
            std::fs::read(from_texts.join(&shard.file)).unwrap()
        );
    }
    // An unknown token is reported with the text's number.
    let config = EncodeConfig {
        unknown: Unknown::Raise,
        ..EncodeConfig::default()
    };
    let batches = vec![
        Ok(vec!["a".to_string()]),
        Ok(vec!["b".to_string(), "zz".to_string()]),
    ];
    let e = encode_texts(
        batches,
        &v,
        &ws(),
        &dir.path().join("u"),
        &config,
        &Cancel::new(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("<texts>:3: token \"zz\""), "{e}");
}

#[test]
fn an_error_early_in_a_large_file_does_not_hang_the_reader() {
    let dir = tempfile::tempdir().unwrap();
    let line = "a b c a b c a b c a b c a b c a b c a b c a b c a b c a b c\n";
    let mut text = String::from("a zz\n");
    while text.len() < 3 * count::BATCH_BYTES + 100 {
        text.push_str(line);
    }
    let p = write(dir.path(), "big.txt", &text);
    let v = build(&["a b c"], &VocabConfig::default()).unwrap();
    let config = EncodeConfig {
        unknown: Unknown::Raise,
        ..EncodeConfig::default()
    };
    let e = encode_corpus(
        std::slice::from_ref(&p),
        &v,
        &ws(),
        &dir.path().join("o"),
        &config,
        &Cancel::new(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("big.txt:1: token \"zz\""), "{e}");
    // And the whole file is counted when nothing fails.
    let v = build_from_files(&[p], &ws(), &VocabConfig::default(), &Cancel::new()).unwrap();
    let lines = (text.len() - 5) / line.len();
    assert_eq!(
        v.count(v.token_to_id("a").unwrap()),
        Some(10 * lines as u64 + 1)
    );
}

#[test]
fn shard_options_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.txt", "a\n");
    let v = build(&["a"], &VocabConfig::default()).unwrap();
    let run = |config: EncodeConfig| {
        encode_corpus(
            std::slice::from_ref(&a),
            &v,
            &ws(),
            dir.path(),
            &config,
            &Cancel::new(),
        )
    };
    assert!(run(EncodeConfig {
        shard_tokens: 0,
        ..EncodeConfig::default()
    })
    .is_err());
    let e = run(EncodeConfig {
        eod: Some("<eod>".into()),
        ..EncodeConfig::default()
    })
    .unwrap_err();
    assert!(
        e.to_string().contains("\"<eod>\" is not in the vocabulary"),
        "{e}"
    );
    let big: Vec<(String, u64)> = (0..70_000).map(|i| (format!("t{i}"), 1)).collect();
    let big = Vocab::from_entries(big, 0).unwrap();
    assert_eq!(
        ShardDtype::Auto.resolve(big.len()).unwrap(),
        ShardDtype::U32
    );
    assert_eq!(ShardDtype::Auto.resolve(65_536).unwrap(), ShardDtype::U16);
    assert!(ShardDtype::U16.resolve(65_537).is_err());
}

#[test]
fn npy_header_is_128_bytes_for_any_length() {
    for len in [0, 7, u64::MAX] {
        let h = npy_header(ShardDtype::U32, len);
        assert_eq!(h.len(), 128);
        assert_eq!(h[127], b'\n');
        let dict = std::str::from_utf8(&h[10..]).unwrap();
        assert!(dict.contains(&format!("({len},)")), "{dict}");
    }
}

#[test]
fn counting_a_gz_file_and_stdin_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.gz");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b"q r q\n").unwrap();
    std::fs::write(&p, e.finish().unwrap()).unwrap();
    let v = build_from_files(&[p], &ws(), &VocabConfig::default(), &Cancel::new()).unwrap();
    assert_eq!(v.tokens()[3..], ["q", "r"]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Counts equal a naive count; the order is sorted as documented; decode(encode(x)) is the
    /// tokenized text with <unk> for unknown tokens.
    #[test]
    fn build_matches_naive_count_and_round_trips(
        lines in proptest::collection::vec("[ab\u{e9} \t]{0,12}", 0..40),
        probe in "[abc\u{e9} ]{0,20}",
    ) {
        let texts: Vec<&str> = lines.iter().map(|s| s.as_str()).collect();
        let mut naive: HashMap<&str, u64> = HashMap::new();
        for l in &lines {
            for t in l.split([' ', '\t']).filter(|t| !t.is_empty()) {
                *naive.entry(t).or_default() += 1;
            }
        }
        let built = build(&texts, &VocabConfig::default());
        if naive.is_empty() {
            prop_assert!(built.is_err());
            return Ok(());
        }
        let v = built.unwrap();
        prop_assert_eq!(v.len(), naive.len() + 3);
        for (t, c) in &naive {
            let id = v.token_to_id(t).unwrap();
            prop_assert_eq!(v.count(id), Some(*c));
        }
        let body: Vec<(u64, &str)> = (3..v.len() as u32)
            .map(|id| (v.count(id).unwrap(), v.id_to_token(id).unwrap()))
            .collect();
        for w in body.windows(2) {
            prop_assert!(w[0].0 > w[1].0 || (w[0].0 == w[1].0 && w[0].1.as_bytes() < w[1].1.as_bytes()));
        }
        let ids = v.encode(&ws(), &probe, Unknown::Unk).unwrap();
        let want: Vec<&str> = probe
            .split(' ')
            .filter(|t| !t.is_empty())
            .map(|t| if naive.contains_key(t) { t } else { "<unk>" })
            .collect();
        prop_assert_eq!(v.decode(&ids).unwrap(), want.join(" "));
    }
}

#[test]
fn lookups_in_a_large_vocab() {
    let entries: Vec<(String, u64)> = (0..10_000).map(|i| (format!("t{i}"), 10_000 - i)).collect();
    let v = Vocab::from_entries(entries, 0).unwrap();
    for i in 0..10_000u32 {
        assert_eq!(v.token_to_id(&format!("t{i}")), Some(i));
        assert_eq!(v.id_to_token(i), Some(format!("t{i}").as_str()));
    }
    assert_eq!(v.token_to_id("t10000"), None);
    let e = Vocab::from_entries(vec![("a".into(), 1), ("b".into(), 1), ("a".into(), 1)], 0);
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("appears twice, at ids 0 and 2"));
}

#[test]
fn shard_sink_takes_ids_from_elsewhere_like_encode_corpus() {
    // The same ids through encode_corpus and through ShardSink give the same files and index
    // (up to the unk count, which only a Vocab knows).
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.txt", "a b\n\nc a zz\nb\n");
    let v = build(&["a b c"], &VocabConfig::default()).unwrap();
    let config = EncodeConfig {
        shard_tokens: 4,
        format: ShardFormat::Bin,
        ..EncodeConfig::default()
    };
    let via_vocab = dir.path().join("v");
    let want = encode_corpus(&[a], &v, &ws(), &via_vocab, &config, &Cancel::new()).unwrap();
    let via_sink = dir.path().join("s");
    let eos = v.token_to_id(EOS).unwrap();
    let mut sink = ShardSink::new(
        &via_sink,
        &config,
        v.len(),
        Some((EOS.into(), eos)),
        want.sources.clone(),
    )
    .unwrap();
    // [a b </s>] [c a <unk> </s> b </s>], one empty line, in two batches.
    let batch1 = IdBatch {
        ids: vec![3, 4, eos],
        doc_ends: vec![3],
        empty_lines: 1,
    };
    let batch2 = IdBatch {
        ids: vec![5, 3, 0, eos, 4, eos],
        doc_ends: vec![4, 6],
        empty_lines: 0,
    };
    sink.write(&batch1, 0, "a.txt").unwrap();
    sink.write(&batch2, 0, "a.txt").unwrap();
    let got = sink.finish().unwrap();
    assert_eq!(got.shards, want.shards);
    assert_eq!(
        (got.documents, got.tokens, got.empty_lines),
        (want.documents, want.tokens, want.empty_lines)
    );
    for s in &want.shards {
        assert_eq!(
            std::fs::read(via_sink.join(&s.file)).unwrap(),
            std::fs::read(via_vocab.join(&s.file)).unwrap()
        );
    }
    assert!(via_sink.join("index.json").exists());
}

#[test]
fn shard_sink_refuses_bad_batches() {
    let dir = tempfile::tempdir().unwrap();
    let config = EncodeConfig::default();
    let mut sink = ShardSink::new(dir.path(), &config, 10, None, vec!["x".into()]).unwrap();
    let bad = |ids: Vec<u32>, doc_ends: Vec<usize>| IdBatch {
        ids,
        doc_ends,
        empty_lines: 0,
    };
    for (batch, what) in [
        (bad(vec![1, 10], vec![2]), "not below the vocabulary size"),
        (bad(vec![1, 2], vec![0, 2]), "rise strictly"),
        (bad(vec![1, 2], vec![2, 1]), "rise strictly"),
        (bad(vec![1, 2], vec![1]), "must end at the batch's end"),
        (bad(vec![1, 2], vec![3]), "rise strictly"),
    ] {
        let e = sink.write(&batch, 0, "x").unwrap_err().to_string();
        assert!(e.contains(what), "{e}");
    }
    let e = ShardSink::new(dir.path(), &config, 10, Some(("x".into(), 10)), vec![])
        .err()
        .unwrap();
    assert!(e.to_string().contains("not below the vocabulary size"));
    let u16 = EncodeConfig {
        dtype: ShardDtype::U16,
        ..EncodeConfig::default()
    };
    assert!(ShardSink::new(dir.path(), &u16, 70_000, None, vec![]).is_err());
    assert!(!dir.path().join("index.json").exists());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The block reader gives exactly the lines (numbered from 1, in order, over several files)
    /// that reading line by line gives, for any block size, lines longer than a block included;
    /// invalid UTF-8 is the same error (file, line, offset in the line).
    #[test]
    fn block_reader_gives_the_lines_of_the_line_reader(
        files in proptest::collection::vec(
            proptest::collection::vec(
                prop_oneof![Just(b'a'), Just(b' '), Just(b'\n'), Just(b'\r'), Just(0xc3), Just(0xa9), Just(0xff)],
                0..60,
            ),
            1..4,
        ),
        block in 1usize..24,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = files
            .iter()
            .enumerate()
            .map(|(i, bytes)| {
                let p = dir.path().join(format!("f{i}.txt"));
                std::fs::write(&p, bytes).unwrap();
                p
            })
            .collect();
        // Line by line: (file, number, text) until the first invalid line.
        let mut want = Vec::new();
        let mut want_err = None;
        'files: for (i, p) in paths.iter().enumerate() {
            let mut r = crate::io::LineReader::new(crate::io::open_input(p).unwrap(), crate::io::display_name(p));
            while let Some(line) = r.next_line().unwrap() {
                match line.as_str(&crate::io::display_name(p)) {
                    Ok(s) => want.push((i, line.number, s.to_string())),
                    Err(e) => {
                        want_err = Some(e.to_string());
                        break 'files;
                    }
                }
            }
        }
        let mut got = Vec::new();
        let result = count::for_each_block(&paths, block, &Cancel::new(), |batch| {
            for i in 0..batch.len() {
                got.push((batch.file_index, batch.first_line + i as u64, batch.line(i).to_string()));
            }
            Ok(())
        });
        match want_err {
            None => {
                prop_assert!(result.is_ok(), "{:?}", result);
                prop_assert_eq!(got, want);
            }
            Some(e) => {
                prop_assert_eq!(result.unwrap_err().to_string(), e);
                // Whatever came before the error is a prefix of the lines.
                prop_assert!(got.len() <= want.len() && got[..] == want[..got.len()]);
            }
        }
    }
}
