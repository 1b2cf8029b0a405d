//! Stage tests of the estimator, without Python: each stage on the seed's worked example
//! (`我 你 我 他 我 你`, order 2, discount fallback), and the whole pipeline against the lmplz
//! fixtures in `tests/data/lmplz` (run with `cargo test -p kneser`).

#![allow(clippy::unwrap_used)] // helpers of the tests below panic on failure, as tests do

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kneser::estimate::adjust::{adjust_counts, Adjusted, PruneRule, PRUNED};
use kneser::estimate::config::DEFAULT_FALLBACK;
use kneser::estimate::count::{Chunk, CountOptions, Counter};
use kneser::estimate::initial::initial_unigrams;
use kneser::estimate::pipeline::format_g6;
use kneser::estimate::vocabulary::Vocabulary;
use kneser::estimate::{estimate, Discount, EstimateConfig, Output, Source};
use kneser::sort::{get_u64, TempDir};
use kneser::{Cancel, Error};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/lmplz")
}

/// Stages 1 and 2 on `text`: the vocabulary and the adjusted n-grams.
fn count_and_adjust(text: &str, order: usize, temp: &TempDir) -> (Vocabulary, Adjusted) {
    let cancel = Cancel::new();
    let opts = CountOptions {
        order,
        skip_symbols: false,
        replace_invalid_utf8: false,
        lmplz_final_line: true,
    };
    let mut counter = Counter::new(opts, 1 << 24, temp, &cancel);
    let chunk = Chunk {
        text: text.as_bytes().to_vec(),
        first_line: 1,
        source: Arc::from("seed"),
    };
    counter.add_chunks(&[chunk]).unwrap();
    let (vocab, mut windows, tokens) = counter.finish().unwrap();
    assert_eq!(tokens, text.split(' ').count() as u64);
    let rule = PruneRule {
        thresholds: vec![0; order],
        allowed: None,
    };
    let adjusted = adjust_counts(&mut windows, order, &rule, true, temp, &cancel).unwrap();
    (vocab, adjusted)
}

/// `(words, adjusted count)` of every order-`k` n-gram, in the file's order.
fn grams(vocab: &Vocabulary, adjusted: &Adjusted, k: usize) -> Vec<(String, u64)> {
    let mut r = adjusted.files[k - 1].reader().unwrap();
    let mut rec = vec![0u32; k + 2];
    let mut out = Vec::new();
    while r.read(&mut rec).unwrap() {
        let words: Vec<String> = rec[..k]
            .iter()
            .map(|&w| String::from_utf8(vocab.word(w).to_vec()).unwrap())
            .collect();
        out.push((words.join(" "), get_u64(&rec[k..]) & !PRUNED));
    }
    out
}

#[test]
fn seed_adjusted_counts() {
    let base = tempfile::tempdir().unwrap();
    let temp = TempDir::new_in(base.path()).unwrap();
    let (vocab, adjusted) = count_and_adjust("我 你 我 他 我 你\n", 2, &temp);
    let mut unigrams = grams(&vocab, &adjusted, 1);
    unigrams.sort();
    let expected = [("</s>", 1), ("他", 1), ("你", 1), ("我", 3)];
    let expected: Vec<(String, u64)> = expected.iter().map(|(w, c)| (w.to_string(), *c)).collect();
    assert_eq!(unigrams, expected);
    // Bigrams keep raw counts: 我 你 twice, the others once.
    let bigrams = grams(&vocab, &adjusted, 2);
    assert!(bigrams.contains(&("我 你".to_string(), 2)), "{bigrams:?}");
    assert!(bigrams.contains(&("<s> 我".to_string(), 1)), "{bigrams:?}");
    assert_eq!(bigrams.len(), 6);
    // Count-of-counts: unigrams n1 = 3, n3 = 1 (no n2: the discounts cannot be estimated).
    assert_eq!(adjusted.stats[0].count_of_counts, [0, 3, 0, 1, 0]);
    assert_eq!(adjusted.stats[1].count_of_counts, [0, 5, 1, 0, 0]);
}

#[test]
fn seed_discounts_fail_without_fallback() {
    let base = tempfile::tempdir().unwrap();
    let temp = TempDir::new_in(base.path()).unwrap();
    let (_, adjusted) = count_and_adjust("我 你 我 他 我 你\n", 2, &temp);
    let e = Discount::estimate(1, &adjusted.stats[0].count_of_counts).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Discount {
                order: 1,
                count: 3,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn seed_initial_unigram_probabilities_and_gamma() {
    let base = tempfile::tempdir().unwrap();
    let temp = TempDir::new_in(base.path()).unwrap();
    let (vocab, adjusted) = count_and_adjust("我 你 我 他 我 你\n", 2, &temp);
    let mut counts = vec![0u64; vocab.len()];
    for (w, c) in grams(&vocab, &adjusted, 1) {
        counts[vocab.get(w.as_bytes()).unwrap() as usize] = c;
    }
    let d = Discount::from_values(DEFAULT_FALLBACK);
    let (p, gamma) = initial_unigrams(&d, &counts);
    // gamma = (D1 n1 + D3+ n3+) / total = (0.5 * 3 + 1.5 * 1) / 6.
    assert_eq!(gamma, 0.5);
    let id = |w: &str| vocab.get(w.as_bytes()).unwrap() as usize;
    assert_eq!(p[id("我")], (3.0 - 1.5) / 6.0);
    assert_eq!(p[id("你")], (1.0 - 0.5) / 6.0);
    // Interpolated with the uniform over the 5 unigrams but <s>: 0.25 + 0.5 / 5 = 0.35.
    assert!((p[id("我")] + gamma / 5.0 - 0.35).abs() < 1e-7);
}

fn estimate_file(input: &str, config: EstimateConfig) -> (Vec<u8>, kneser::estimate::Summary) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lm.arpa");
    let config = EstimateConfig {
        memory: 1 << 24,
        temp_dir: dir.path().to_path_buf(),
        threads: 2,
        ..config
    };
    let summary = estimate(
        Source::Paths(vec![fixtures().join(input)]),
        &config,
        Output::Path(out.clone()),
        &Cancel::new(),
    )
    .unwrap();
    (std::fs::read(out).unwrap(), summary)
}

fn with(order: usize, fallback: bool) -> EstimateConfig {
    EstimateConfig {
        order,
        discount_fallback: fallback.then(|| DEFAULT_FALLBACK.to_vec()),
        ..Default::default()
    }
}

#[test]
fn pipeline_reproduces_the_small_lmplz_references() {
    for (input, reference, config) in [
        ("seed.txt", "seed.o2.fallback.arpa", with(2, true)),
        ("empty.txt", "empty.o3.fallback.arpa", with(3, true)),
        (
            "edge.empty-lines.txt",
            "edge.empty-lines.o2.fallback.arpa",
            with(2, true),
        ),
        (
            "whitespace.txt",
            "whitespace.o2.fallback.arpa",
            with(2, true),
        ),
        ("book.txt", "book.o1.arpa", with(1, false)),
    ] {
        let (got, _) = estimate_file(input, config);
        let expected = std::fs::read(fixtures().join(reference)).unwrap();
        assert!(got == expected, "{reference} differs");
    }
}

/// lmplz's `Statistics:` lines: `(count, D1, D2, D3+)` per order.
fn statistics(log: &str) -> Vec<[String; 4]> {
    log.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let d = |i: usize, p: &str| f.get(i)?.strip_prefix(p).map(str::to_string);
            Some([
                f.get(1)?.to_string(),
                d(2, "D1=")?,
                d(3, "D2=")?,
                d(4, "D3+=")?,
            ])
        })
        .collect()
}

#[test]
fn discounts_equal_lmplz_statistics() {
    // lastword: lmplz's end-of-stream rule moves the unigram discounts.
    for (input, log, order) in [
        ("lastword.txt", "lastword.o2.stderr", 2),
        ("lastword.txt", "lastword.o4.stderr", 4),
        ("book.txt", "book.o3.stderr", 3),
        ("book.txt", "book.o5.stderr", 5),
    ] {
        let (_, summary) = estimate_file(input, with(order, false));
        let ours: Vec<[String; 4]> = summary
            .counts
            .iter()
            .zip(&summary.discounts)
            .map(|(c, d)| {
                [
                    c.to_string(),
                    format_g6(d[0]),
                    format_g6(d[1]),
                    format_g6(d[2]),
                ]
            })
            .collect();
        let text = std::fs::read_to_string(fixtures().join(log)).unwrap();
        assert_eq!(ours, statistics(&text), "{log}");
    }
}

#[test]
fn lastword_arpa_is_byte_identical() {
    let (got, _) = estimate_file("lastword.txt", with(2, false));
    let path = fixtures().join("lastword.o2.arpa.xz");
    let mut expected = Vec::new();
    let f = std::fs::File::open(path).unwrap();
    std::io::Read::read_to_end(&mut xz2::read::XzDecoder::new(f), &mut expected).unwrap();
    assert!(got == expected, "lastword.o2 differs");
}

#[test]
fn explain_seed_shows_what_the_estimator_used() {
    use kneser::estimate::explain::{explain_file, explain_text};
    let dir = tempfile::tempdir().unwrap();
    let config = EstimateConfig {
        memory: 1 << 24,
        temp_dir: dir.path().to_path_buf(),
        threads: 1,
        ..with(2, true)
    };
    let e = explain_file(&fixtures().join("seed.txt"), &config, &Cancel::new()).unwrap();
    let expected = std::fs::read_to_string(fixtures().join("seed.o2.fallback.arpa")).unwrap();
    assert_eq!(e.arpa, expected);
    assert_eq!(e.sentences[0].first().unwrap(), "<s>");
    let adjusted: Vec<(String, u64)> = e.adjusted[0]
        .iter()
        .map(|(w, c, _)| (w.join(" "), *c))
        .collect();
    for (w, c) in [("我", 3), ("你", 1), ("他", 1), ("</s>", 1)] {
        assert!(adjusted.contains(&(w.to_string(), c)), "{adjusted:?}");
    }
    assert_eq!(e.count_of_counts[0], [3, 0, 1, 0]);
    assert_eq!(e.fallback_orders, vec![1, 2]);
    assert_eq!(e.gammas[0], vec![(vec![], 0.5)]);
    let p = e.interpolated[0]
        .iter()
        .find(|(w, _)| w[0] == "我")
        .unwrap()
        .1;
    assert!((p - 0.35).abs() < 1e-6, "{p}");
    assert_eq!(e.interpolated[1].len(), 6);
    // The same text given as a string explains the same model.
    let text = std::fs::read_to_string(fixtures().join("seed.txt")).unwrap();
    let t = explain_text(&text, &config, &Cancel::new()).unwrap();
    assert_eq!(t.arpa, expected);
    // Too large a corpus is refused with a clear message.
    let big = "a ".repeat(3000);
    let err = explain_text(&big, &config, &Cancel::new()).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    assert!(err.to_string().contains("2000 tokens"), "{err}");
}

/// Stage 2 with its orders split over two passes on two threads (windows held in memory) is
/// one pass over the same windows: on one thread, and read back from a file; with and without
/// lmplz's end-of-stream rule, which this corpus triggers (see `lastword_arpa_is_byte_identical`).
#[test]
fn adjusting_in_two_passes_is_adjusting_in_one() {
    use kneser::estimate::adjust::OrderStats;
    use kneser::sort::SortedStream;
    let text = std::fs::read(fixtures().join("lastword.txt")).unwrap();
    let order = 4;
    let temp = TempDir::new_in(&std::env::temp_dir()).unwrap();
    let cancel = Cancel::new();
    let windows = || {
        let opts = CountOptions {
            order,
            skip_symbols: false,
            replace_invalid_utf8: false,
            lmplz_final_line: true,
        };
        let mut counter = Counter::new(opts, 1 << 26, &temp, &cancel);
        let chunk = Chunk {
            text: text.clone(),
            first_line: 1,
            source: Arc::from("lastword"),
        };
        counter.add_chunks(&[chunk]).unwrap();
        counter.finish().unwrap().1
    };
    let rule = PruneRule {
        thresholds: vec![0, 1, 1, 2],
        allowed: None,
    };
    let adjust = |mut stream: SortedStream, threads: usize, ends: bool| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| adjust_counts(&mut stream, order, &rule, ends, &temp, &cancel))
            .unwrap()
    };
    let records = |a: &Adjusted| -> Vec<Vec<u32>> {
        (1..=order)
            .map(|k| {
                let mut r = a.files[k - 1].reader().unwrap();
                let mut rec = vec![0u32; k + 2];
                let mut all = Vec::new();
                while r.read(&mut rec).unwrap() {
                    all.extend_from_slice(&rec);
                }
                all
            })
            .collect()
    };
    let stats = |a: &Adjusted| -> Vec<([u64; 5], u64, u64)> {
        a.stats
            .iter()
            .map(|s: &OrderStats| (s.count_of_counts, s.total, s.kept))
            .collect()
    };
    let mut by_rule = Vec::new();
    for ends in [true, false] {
        let two = adjust(windows(), 2, ends);
        let one = adjust(windows(), 1, ends);
        let file = SortedStream::from_run(windows().into_run(&temp).unwrap()).unwrap();
        let from_file = adjust(file, 2, ends);
        assert!(
            records(&two)[3].len() > 10_000,
            "a corpus with many 4-grams"
        );
        assert!(stats(&two).iter().any(|s| s.2 < s.1), "some n-grams pruned");
        for other in [&one, &from_file] {
            assert_eq!(records(&two), records(other));
            assert_eq!(stats(&two), stats(other));
        }
        by_rule.push(stats(&two));
    }
    assert_ne!(
        by_rule[0], by_rule[1],
        "the end-of-stream rule changes a count-of-counts"
    );
}
