//! Tests of the model on small hand-written ARPA files.

use std::path::Path;

use super::*;

/// A bigram model with hand-picked numbers; `b` has no `<s> b` bigram.
const ARPA: &str = "\\data\\
ngram 1=5
ngram 2=3

\\1-grams:
-1.5\t<unk>\t0
0\t<s>\t-0.5
-0.75\t</s>\t0
-0.5\ta\t-0.25
-1\tb\t-0.125

\\2-grams:
-0.25\t<s> a
-0.125\ta b
-0.0625\tb </s>

\\end\\
";

pub(super) fn model() -> Model {
    Model::from_arpa_reader(ARPA.as_bytes(), "t.arpa", &Cancel::new()).unwrap()
}

#[test]
fn ids_follow_the_unigram_list() {
    let m = model();
    assert_eq!(m.order(), 2);
    assert_eq!(m.vocab_size(), 5);
    assert_eq!(m.index("<unk>"), 0);
    assert_eq!(m.index("<s>"), 1);
    assert_eq!(m.index("</s>"), 2);
    assert_eq!(m.index("a"), 3);
    assert_eq!(m.index("b"), 4);
    assert_eq!(m.index("zzz"), 0);
    assert!(m.contains("a") && !m.contains("<unk>") && !m.contains("zzz"));
    assert!(!m.unk_missing());
}

#[test]
fn backoff_rule() {
    let m = model();
    // <s> a: bigram found.
    let s = m.full_scores("a b", true, true);
    assert_eq!(s[0].prob, -0.25);
    assert_eq!(s[0].ngram_length, 2);
    // a b: bigram found.
    assert_eq!(s[1].prob, -0.125);
    // b </s>: bigram found.
    assert_eq!(s[2].prob, -0.0625);
    assert_eq!(m.score("a b", true, true), -0.25 - 0.125 - 0.0625);
    // <s> b: no bigram, backoff(<s>) + p(b).
    let s = m.full_scores("b zzz", true, true);
    assert_eq!((s[0].prob, s[0].ngram_length), (-0.5 - 1.0, 1));
    // b zzz: p(<unk>) + backoff(b).
    assert_eq!(
        (s[1].prob, s[1].ngram_length, s[1].oov),
        (-1.5 - 0.125, 1, true)
    );
    // zzz </s>: p(</s>) + backoff(<unk>) = -0.75.
    assert_eq!(s[2].prob, -0.75);
    // No context.
    let s = m.full_scores("a", false, false);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].prob, -0.5);
    let ppl = m.perplexity("a b");
    assert!((ppl - 10f64.powf(0.4375 / 3.0)).abs() < 1e-9);
}

#[test]
fn missing_unk_gets_minus_100() {
    let text = ARPA
        .replace("ngram 1=5", "ngram 1=4")
        .replace("-1.5\t<unk>\t0\n", "");
    let m = Model::from_arpa_reader(text.as_bytes(), "t.arpa", &Cancel::new()).unwrap();
    assert!(m.unk_missing());
    assert_eq!(m.index("a"), 3);
    assert_eq!(m.full_scores("zzz", false, false)[0].prob, -100.0);
}

#[test]
fn missing_suffix_is_filled_with_a_blank_as_kenlm_does() {
    // The trigram `<s> b </s>` has no bigram `b </s>` (SRILM's pruning leaves such holes).
    let text = "\\data\\\nngram 1=4\nngram 2=4\nngram 3=1\n\n\\1-grams:\n-1\t<unk>\t0\n0\t<s>\t-0.5\n-1\t</s>\t0\n-0.5\tb\t-0.25\n\n\\2-grams:\n-0.3\t<s> b\t-0.1\n-0.4\t<s> </s>\n-0.6\tb b\n-0.7\t<unk> b\n\n\\3-grams:\n-0.2\t<s> b </s>\n\n\\end\\\n";
    let m = Model::from_arpa_reader(text.as_bytes(), "t.arpa", &Cancel::new()).unwrap();
    let s = m.full_scores("b", true, true);
    assert_eq!((s[0].prob, s[0].ngram_length), (-0.3, 2));
    // The trigram is reachable through the blank `b </s>`.
    assert_eq!((s[1].prob, s[1].ngram_length), (-0.2, 3));
    // The blank has the backed-off probability: b </s> = backoff(b) + p(</s>).
    let s = m.full_scores("b", false, true);
    assert_eq!((s[1].prob, s[1].ngram_length), (-0.25 + -1.0, 2));
}

#[test]
fn missing_context_is_refused_naming_the_line() {
    // The trigram `<s> b </s>` has no bigram `<s> b` (its context): KenLM refuses the file.
    let text = "\\data\\\nngram 1=4\nngram 2=1\nngram 3=1\n\n\\1-grams:\n-1\t<unk>\t0\n0\t<s>\t-0.5\n-1\t</s>\t0\n-0.5\tb\t-0.25\n\n\\2-grams:\n-0.3\tb </s>\t-0.1\n\n\\3-grams:\n-0.2\t<s> b </s>\n\n\\end\\\n";
    let e = error_of(text);
    assert!(e.starts_with("t.arpa:16: the context \"<s> b\""), "{e}");
}

#[test]
fn upper_case_unk_is_the_unknown_word() {
    let m = Model::from_arpa_reader(
        ARPA.replace("<unk>", "<UNK>").as_bytes(),
        "t.arpa",
        &Cancel::new(),
    )
    .unwrap();
    assert!(!m.unk_missing());
    assert_eq!(m.index("<UNK>"), 0);
    assert_eq!(m.full_scores("zzz", false, false)[0].prob, -1.5);
}

#[test]
fn non_finite_and_positive_values() {
    let inf_backoff = ARPA.replace("-0.5\ta\t-0.25", "-0.5\ta\tinf");
    assert!(error_of(&inf_backoff).contains("bad backoff inf"));
    let pos = ARPA.replace("-0.5\ta\t-0.25", "0.5\ta\t-0.25");
    assert!(error_of(&pos).starts_with("t.arpa:9: positive log10 probability"));
    let config = BuildConfig {
        map_positive_to_zero: true,
        ..BuildConfig::default()
    };
    let m = build::from_arpa_reader(pos.as_bytes(), "t.arpa", &config, &Cancel::new()).unwrap();
    assert_eq!(
        m.full_scores("a", false, false)[0].prob.to_bits(),
        (-0.0f32).to_bits()
    );
    let top_backoff = ARPA.replace("-0.125\ta b", "-0.125\ta b\t-0.5");
    let e = error_of(&top_backoff);
    assert!(
        e.contains("non-zero backoff -0.5 on an n-gram of the top order"),
        "{e}"
    );
    // An explicit zero there is accepted, as KenLM accepts it.
    let zero = ARPA.replace("-0.125\ta b", "-0.125\ta b\t0");
    let m = build::from_arpa_reader(
        zero.as_bytes(),
        "t.arpa",
        &BuildConfig::default(),
        &Cancel::new(),
    )
    .unwrap();
    assert_eq!(m.full_scores("a b", false, false)[1].prob, -0.125);
}

#[test]
fn header_counts_beyond_the_file_are_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.arpa");
    std::fs::write(&path, ARPA.replace("ngram 2=3", "ngram 2=4000000000000")).unwrap();
    let e = Model::load(&path, &Cancel::new())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("more than a file of this size can hold"), "{e}");
}

fn error_of(text: &str) -> String {
    match Model::from_arpa_reader(text.as_bytes(), "t.arpa", &Cancel::new()) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn corrupt_models_are_refused_with_the_line() {
    let no_s = ARPA.replace("0\t<s>\t-0.5", "0\t<x>\t-0.5");
    assert!(error_of(&no_s).contains("no <s> unigram"));
    let dup = ARPA.replace("-1\tb\t-0.125", "-1\ta\t-0.125");
    assert!(error_of(&dup).starts_with("t.arpa:10: duplicate unigram"));
    let unknown = ARPA.replace("-0.125\ta b", "-0.125\ta c");
    assert!(error_of(&unknown).starts_with("t.arpa:14: the word \"c\""));
    let positive = ARPA.replace("-0.125\ta b", "0.125\ta b");
    assert!(error_of(&positive).contains("positive"));
    let dup2 = ARPA.replace("-0.0625\tb </s>", "-0.0625\ta b");
    assert!(error_of(&dup2).starts_with("t.arpa:15: duplicate 2-gram"));
}

#[test]
fn binary_round_trip_and_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.bin");
    let m = model();
    m.save_binary(&path).unwrap();
    let b = Model::load(&path, &Cancel::new()).unwrap();
    assert!(b.is_mapped());
    assert_eq!(b.order(), 2);
    assert_eq!(b.vocab_size(), 5);
    for text in ["a b", "b zzz", "", "a a a b b </s> <s>"] {
        assert_eq!(
            m.full_scores(text, true, true),
            b.full_scores(text, true, true)
        );
        assert_eq!(
            m.full_scores(text, false, false),
            b.full_scores(text, false, false)
        );
    }
    // Saving a mapped model gives the same bytes.
    let again = dir.path().join("again.kbin");
    b.save_binary(&again).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(&again).unwrap()
    );

    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.path().join("cut.kbin");
    for len in [10, 40, 60, bytes.len() - 8] {
        std::fs::write(&cut, &bytes[..len]).unwrap();
        let e = Model::load(&cut, &Cancel::new()).err().unwrap().to_string();
        assert!(e.contains("KenLM binary model at byte"), "{e}");
    }
    // A byte-swapped sanity block (a big-endian writer): 1.0f is 00 00 80 3f here.
    let mut foreign = bytes.clone();
    foreign[60..64].reverse();
    std::fs::write(&cut, &foreign).unwrap();
    let e = Model::load(&cut, &Cancel::new()).err().unwrap().to_string();
    assert!(e.contains("at byte 60") && e.contains("byte order"), "{e}");
    let mut version = bytes.clone();
    version[49] = b'4';
    std::fs::write(&cut, &version).unwrap();
    let e = Model::load(&cut, &Cancel::new()).err().unwrap().to_string();
    assert!(
        e.contains("expected format version 5, found version \"4\""),
        "{e}"
    );
    // A middle NUL of the strings replaced: scoring never reads them, so the load (which checks
    // their ends) succeeds and scores the same; reading the words names the strings' offset.
    let start = bytes.len() - b"<unk>\0<s>\0</s>\0a\0b\0".len();
    assert_eq!(&bytes[start..start + 6], b"<unk>\0");
    let mut merged = bytes.clone();
    merged[start + 14] = b'x';
    std::fs::write(&cut, &merged).unwrap();
    let b = Model::load(&cut, &Cancel::new()).unwrap();
    for text in ["a b", "b zzz", "a a a b b </s> <s>"] {
        assert_eq!(
            m.full_scores(text, true, true),
            b.full_scores(text, true, true)
        );
    }
    let e = b.vocab_words().err().unwrap().to_string();
    let want = format!("expected 5 NUL-terminated vocabulary words after byte {start}, found 4");
    assert!(e.contains(&want), "{e}");
    let e = b.save_binary(&again).err().unwrap().to_string();
    assert!(e.contains(&want), "{e}");
    b.save_binary_with(&again, false).unwrap();
    // Cut inside the last word, or one word longer: refused at load (the strings' ends).
    for blob in [
        &merged[..merged.len() - 1],
        &[&merged[..], b"c\0"].concat()[..],
    ] {
        std::fs::write(&cut, blob).unwrap();
        let e = Model::load(&cut, &Cancel::new()).err().unwrap().to_string();
        assert!(e.contains("NUL-terminated vocabulary words"), "{e}");
    }
}

#[test]
fn query_report() {
    let m = model();
    let mut out = Vec::new();
    let mut totals = query::QueryTotals::default();
    query::query_input(
        &m,
        "a b\nzzz\nb".as_bytes(),
        "in",
        &mut out,
        query::QueryOptions::default(),
        &mut totals,
        &Cancel::new(),
    )
    .unwrap();
    query::write_summary(&mut out, &totals).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "a=3 2 -0.25\tb=4 2 -0.125\t</s>=2 2 -0.0625\tTotal: -0.4375 OOV: 0"
    );
    assert_eq!(lines[1], "zzz=0 1 -2\t</s>=2 1 -0.75\tTotal: -2.75 OOV: 1");
    // The unterminated last line: words printed, no </s>, no Total.
    assert!(lines[2].starts_with("b=4 1 -1.5\tPerplexity including OOVs:\t"));
    assert_eq!(totals.tokens, 6);
    assert_eq!(totals.oovs, 1);
    assert_eq!(query::format_f32(-3.1063172e-7), "-3.1063172e-7");
    let _ = Path::new("");
}

#[test]
fn run_query_over_files_writes_the_report_and_returns_the_totals() {
    let m = model();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
    std::fs::write(&a, "a b\n").unwrap();
    std::fs::write(&b, "zzz\nb").unwrap();
    let report = dir.path().join("report.txt");
    let inputs = [a.clone(), b.clone()];
    let options = query::QueryOptions::default();
    let totals = query::run_query(
        &m,
        &inputs,
        crate::io::Output::Path(report.clone()),
        options,
        &Cancel::new(),
    )
    .unwrap();
    // The same bytes as the stream function over the concatenation, summary included.
    let mut expected = Vec::new();
    let mut t = query::QueryTotals::default();
    for input in ["a b\n", "zzz\nb"] {
        query::query_input(
            &m,
            input.as_bytes(),
            "in",
            &mut expected,
            options,
            &mut t,
            &Cancel::new(),
        )
        .unwrap();
    }
    query::write_summary(&mut expected, &t).unwrap();
    assert_eq!(std::fs::read(&report).unwrap(), expected);
    assert_eq!(totals, t);
    assert_eq!((totals.tokens, totals.oovs), (6, 1));
    // An input as the output is refused before anything is written, and the input is intact.
    let e = query::run_query(
        &m,
        &inputs,
        crate::io::Output::Path(a.clone()),
        options,
        &Cancel::new(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("a.txt"), "{e}");
    assert_eq!(std::fs::read_to_string(&a).unwrap(), "a b\n");
    // A missing input leaves no report behind.
    let missing = dir.path().join("missing.txt");
    let fresh = dir.path().join("fresh.txt");
    assert!(query::run_query(
        &m,
        &[a, missing],
        crate::io::Output::Path(fresh.clone()),
        options,
        &Cancel::new(),
    )
    .is_err());
    assert!(!fresh.exists());
}

#[test]
fn float_formatting_matches_kenlm() {
    use query::{format_f32, format_f64};
    assert_eq!(format_f32(-3.160_156_2), "-3.1601562"); // a tie: the even digit
    assert_eq!(format_f32(-2.5718565), "-2.5718565");
    assert_eq!(format_f32(0.0), "0");
    assert_eq!(format_f32(-0.0), "-0");
    assert_eq!(format_f32(-8.522675e22), "-8.522675e22");
    assert_eq!(format_f32(-3.160_156_2), "-3.1601562"); // the f32 -3.16015625, a tie
    assert_eq!(format_f32(-0.5), "-0.5");
    assert_eq!(format_f32(-131.04475), "-131.04475");
    assert_eq!(format_f32(-100.0), "-100");
    assert_eq!(format_f64(713.888051884589), "713.888051884589");
    // As KenLM's query printed a perplexity (oracle sweep, query seed 4004, case 4027).
    assert_eq!(format_f64(1.4315022724370332e35), "1.4315022724370332e35");
    assert_eq!(format_f64(1e21), "1e21");
    assert_eq!(format_f64(-2.5e21), "-2.5e21");
    assert_eq!(format_f64(999999999999999900000.0), "999999999999999900000");
    assert_eq!(format_f64(1e-7), "1e-7");
    assert_eq!(format_f64(1e-6), "0.000001");
    assert_eq!(format_f64(f64::NAN), "NaN");
    assert_eq!(format_f64(f64::NEG_INFINITY), "-inf");
}

#[test]
fn long_sentences_score_as_their_words() {
    let m = model();
    let words = ["a", "b", "zzz", "</s>", "<s>"];
    for len in [0usize, 1, 63, 64, 65, 128, 200] {
        let text: Vec<&str> = (0..len).map(|i| words[(i * 7 + i / 3) % 5]).collect();
        let text = text.join(" ");
        for (bos, eos) in [(true, true), (false, false), (true, false)] {
            let sum = m
                .full_scores(&text, bos, eos)
                .iter()
                .fold(0.0f32, |acc, s| acc + s.prob);
            assert_eq!(m.score(&text, bos, eos), sum, "len {len}");
        }
    }
}

#[test]
fn batches_equal_single_scores() {
    let m = model();
    let words = ["a", "b", "zzz", "</s>", "<s>"];
    let texts: Vec<String> = (0..700usize)
        .map(|i| {
            let len = (i * 13) % 37;
            (0..len)
                .map(|j| words[(i + j * 3) % 5])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    for (bos, eos) in [(true, true), (false, false), (true, false), (false, true)] {
        let batch = m.score_batch(&texts, bos, eos, &Cancel::new()).unwrap();
        let single: Vec<f32> = texts.iter().map(|t| m.score(t, bos, eos)).collect();
        assert_eq!(batch, single);
    }
    let ppl = m.perplexity_batch(&texts, &Cancel::new()).unwrap();
    assert_eq!(ppl[5], m.perplexity(&texts[5]));
}

/// A trigram model whose walks reach every order and back off at each.
const ARPA3: &str = "\\data\\
ngram 1=6
ngram 2=5
ngram 3=3

\\1-grams:
-1.5\t<unk>\t0
0\t<s>\t-0.5
-0.75\t</s>\t0
-0.5\ta\t-0.25
-1\tb\t-0.125
-1.25\tc\t-0.375

\\2-grams:
-0.25\t<s> a\t-0.1
-0.125\ta b\t-0.2
-0.0625\tb c\t-0.3
-0.5\tc </s>
-0.75\tb a\t-0.05

\\3-grams:
-0.03125\t<s> a b
-0.015625\ta b c
-0.0078125\tb c </s>

\\end\\
";

/// The trigram model as ARPA, KenLM probing and KenLM trie (quantized, array-compressed).
fn layouts(dir: &Path) -> Vec<Model> {
    let arpa = dir.join("m.arpa");
    std::fs::write(&arpa, ARPA3).unwrap();
    let m = Model::load(&arpa, &Cancel::new()).unwrap();
    let (probing, trie) = (dir.join("m.probing"), dir.join("m.trie"));
    m.save_binary(&probing).unwrap();
    let options = TrieOptions {
        quantize: Some((8, 7)),
        array_bits: Some(255),
    };
    m.save_trie(&trie, options, true).unwrap();
    let probing = Model::load(&probing, &Cancel::new()).unwrap();
    let trie = Model::load(&trie, &Cancel::new()).unwrap();
    vec![m, probing, trie]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Lockstep scoring (`score_lockstep`: lanes refilled as sentences end, empty sentences
    /// between), sentence-at-a-time scoring (`score_each`) and `score_lines` (one of them,
    /// by the model's size) give each sentence the sum `score_ids` gives it alone, in every
    /// layout.
    #[test]
    fn score_lines_equals_score_ids_per_line(
        lines in proptest::collection::vec(
            proptest::collection::vec(0usize..7, 0..40), 0..21),
        long in 0usize..3,
        bos: bool,
    ) {
        let words = ["a", "b", "c", "</s>", "<s>", "zzz", "qq"];
        let dir = tempfile::tempdir().unwrap();
        let mut lines = lines;
        // A few sentences far longer than the others, so that lanes finish at different steps.
        for i in 0..long.min(lines.len()) {
            lines[i] = (0..300).map(|j| (j * 5 + i) % 7).collect();
        }
        for m in layouts(dir.path()) {
            with_view!(&m, v => {
                let mut ids = Vec::new();
                let mut ends = Vec::new();
                for line in &lines {
                    ids.extend(line.iter().map(|&w| v.index(words[w].as_bytes())));
                    ends.push(ids.len());
                }
                let mut lockstep = vec![f32::NAN; ends.len()];
                v.score_lockstep(&ids, &ends, bos, &mut lockstep);
                let mut each = vec![f32::NAN; ends.len()];
                v.score_each(&ids, &ends, bos, &mut each);
                let mut lines = vec![f32::NAN; ends.len()];
                v.score_lines(&ids, &ends, bos, &mut lines);
                let mut start = 0;
                for (i, &end) in ends.iter().enumerate() {
                    let alone = v.score_ids(&ids[start..end], bos).to_bits();
                    proptest::prop_assert_eq!(lockstep[i].to_bits(), alone, "lockstep line {}", i);
                    proptest::prop_assert_eq!(each[i].to_bits(), alone, "each line {}", i);
                    proptest::prop_assert_eq!(lines[i].to_bits(), alone, "line {}", i);
                    start = end;
                }
            });
        }
    }
}

/// `Model::score_lines` gives each sentence its `score_ids` sum and refuses, before scoring,
/// ends that decrease or pass the ids, a wrong number of sums and ids past the vocabulary.
#[test]
fn model_score_lines_checks_its_arguments() {
    let m = model();
    let ids = [m.index("a"), m.index("b"), m.eos_id()];
    let mut out = [f32::NAN; 3];
    m.score_lines(&ids, &[1, 1, 3], true, &mut out).unwrap();
    let want = [
        m.score_ids(&ids[..1], true),
        0.0,
        m.score_ids(&ids[1..], true),
    ];
    assert_eq!(out.map(f32::to_bits), want.map(f32::to_bits));
    for (ids, ends, sums) in [
        (&ids[..], &[2usize, 1, 3][..], 3),
        (&ids[..], &[1, 2, 4][..], 3),
        (&ids[..], &[1, 3][..], 3),
        (&[0u32, 99, 1][..], &[1, 2, 3][..], 3),
    ] {
        let mut out = vec![f32::NAN; sums];
        assert!(
            m.score_lines(ids, ends, true, &mut out).is_err(),
            "{ids:?} {ends:?}"
        );
        assert!(out.iter().all(|s| s.is_nan()), "nothing is scored");
    }
}

/// The thread's cache of trie vocabulary ids ([`score::id_cache`]) answers for one model only:
/// two tries in which the same words have other ids, scored in turn on one thread (single calls
/// and batches), each score as its ARPA's.
#[test]
fn trie_id_cache_keeps_models_apart() {
    let dir = tempfile::tempdir().unwrap();
    let extra: Vec<String> = (0..24).map(|i| format!("w{i}")).collect();
    let mut arpa_b = ARPA.replace("ngram 1=5", &format!("ngram 1={}", 5 + extra.len()));
    let unigrams: String = extra.iter().map(|w| format!("-2\t{w}\t0\n")).collect();
    arpa_b = arpa_b.replace("-1\tb\t-0.125\n", &format!("-1\tb\t-0.125\n{unigrams}"));
    let mut models = Vec::new();
    for (name, text) in [("a", ARPA.to_string()), ("b", arpa_b)] {
        let arpa = dir.path().join(format!("{name}.arpa"));
        std::fs::write(&arpa, text).unwrap();
        let m = Model::load(&arpa, &Cancel::new()).unwrap();
        let trie = dir.path().join(format!("{name}.trie"));
        m.save_trie(&trie, TrieOptions::default(), true).unwrap();
        models.push((m, Model::load(&trie, &Cancel::new()).unwrap()));
    }
    let (ta, tb) = (&models[0].1, &models[1].1);
    assert!(
        ["a", "b", "</s>"]
            .iter()
            .any(|w| ta.index(w) != tb.index(w)),
        "the test needs words whose ids differ between the tries"
    );
    let texts = ["a b a b", "b a zz a", "", "w3 a b w7"];
    for _ in 0..3 {
        for (arpa, trie) in &models {
            for text in texts {
                assert_eq!(
                    trie.score(text, true, true),
                    arpa.score(text, true, true),
                    "{text}"
                );
            }
            let want: Vec<f32> = texts.iter().map(|t| arpa.score(t, true, true)).collect();
            let got = trie
                .score_batch(&texts, true, true, &Cancel::new())
                .unwrap();
            assert_eq!(got, want);
        }
    }
}
