use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;
use crate::estimate::counts_file::read_counts;
use crate::estimate::pipeline::{count_to_file, estimate, Output, Source};
use crate::estimate::{EstimateConfig, PruneConfig};
use crate::sort::get_u64;

fn batches(lines: Vec<String>) -> Source {
    Source::Batches(Box::new(std::iter::once(Ok(lines))))
}

fn config(order: usize) -> EstimateConfig {
    EstimateConfig {
        order,
        memory: 1 << 20,
        threads: 1,
        ..Default::default()
    }
}

/// Counts each shard of `lines` (split at `cuts`) into a count file in `dir`.
fn count_shards(dir: &Path, lines: &[String], cuts: &[usize], order: usize) -> Vec<PathBuf> {
    let mut bounds = vec![0];
    bounds.extend(cuts.iter().copied());
    bounds.push(lines.len());
    let cancel = Cancel::new();
    bounds
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let path = dir.join(format!("shard{i}.counts"));
            let shard = lines[w[0]..w[1]].to_vec();
            count_to_file(batches(shard), &config(order), &path, &cancel).unwrap();
            path
        })
        .collect()
}

/// Vocabulary file and partition files of `shards`, split at the merged ids `cuts`.
fn partitions(dir: &Path, shards: &[PathBuf], cuts: &[u32]) -> Vec<PathBuf> {
    let cancel = Cancel::new();
    let temp = TempDir::new_in(dir).unwrap();
    let voc = dir.join("vocab.counts");
    let vh = merge_vocabularies(shards, &voc, &temp, &cancel).unwrap();
    assert_eq!(vh.records, 0);
    let mut bounds = vec![0u32];
    bounds.extend(cuts.iter().copied());
    bounds.push(u32::MAX);
    bounds
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let path = dir.join(format!("part{i}.counts"));
            merge_partition(shards, &voc, w[0]..w[1], &path, 1 << 12, &temp, &cancel).unwrap();
            path
        })
        .collect()
}

/// The merged vocabulary and windows of count files, as read by the one-node merge.
fn merged(paths: &[PathBuf]) -> (Vec<Vec<u8>>, Vec<Vec<u32>>, u64) {
    let base = tempfile::tempdir().unwrap();
    let temp = TempDir::new_in(base.path()).unwrap();
    let (vocab, mut stream, _, tokens) =
        read_counts(paths, 1 << 20, &temp, &Cancel::new()).unwrap();
    let words = (0..vocab.len() as u32)
        .map(|i| vocab.word(i).to_vec())
        .collect();
    let mut recs = Vec::new();
    while let Some(r) = stream.next().unwrap() {
        recs.push(r.to_vec());
    }
    (words, recs, tokens)
}

/// Records of one partition file, read in file order (no re-sorting).
fn raw_records(path: &Path) -> Vec<Vec<u32>> {
    let mut f = CountsFile::open(path).unwrap();
    f.for_each_word(|_| Ok(())).unwrap();
    let n = f.header.order;
    let mut bytes = vec![0u8; (n + 2) * 4];
    let mut rec = vec![0u32; n + 2];
    (0..f.header.records)
        .map(|_| {
            f.record(&mut bytes, &mut rec).unwrap();
            rec.clone()
        })
        .collect()
}

fn book() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/lmplz/book.txt");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn partitions_estimate_the_model_of_the_concatenated_corpus() {
    let lines = book();
    for (order, prune) in [(3, vec![]), (3, vec![0, 1, 1]), (5, vec![0, 1, 1])] {
        let dir = tempfile::tempdir().unwrap();
        let shards = count_shards(dir.path(), &lines, &[700, 1900, 2400], order);
        let parts = partitions(dir.path(), &shards, &[3, 40, 900]);
        let mut cfg = config(order);
        cfg.prune = PruneConfig { thresholds: prune };
        let cancel = Cancel::new();
        let whole = dir.path().join("whole.arpa");
        let from_parts = dir.path().join("parts.arpa");
        estimate(
            batches(lines.clone()),
            &cfg,
            Output::Path(whole.clone()),
            &cancel,
        )
        .unwrap();
        estimate(
            Source::Counts(parts),
            &cfg,
            Output::Path(from_parts.clone()),
            &cancel,
        )
        .unwrap();
        assert!(std::fs::read(&whole).unwrap() == std::fs::read(&from_parts).unwrap());
    }
}

#[test]
fn histograms_sum_to_the_records_of_each_shard() {
    let lines = book();
    let dir = tempfile::tempdir().unwrap();
    let shards = count_shards(dir.path(), &lines, &[1000], 3);
    let temp = TempDir::new_in(dir.path()).unwrap();
    let voc = dir.path().join("v.counts");
    let cancel = Cancel::new();
    let vh = merge_vocabularies(&shards, &voc, &temp, &cancel).unwrap();
    for shard in &shards {
        let h = last_word_histogram(shard, &voc, &cancel).unwrap();
        assert_eq!(h.len() as u64, vh.words);
        let f = CountsFile::open(shard).unwrap();
        assert_eq!(h.iter().sum::<u64>(), f.header.records);
        assert_eq!(h[BOS_ID], 0, "no window ends in <s>");
    }
}

const BOS_ID: usize = crate::estimate::BOS as usize;

#[test]
fn mismatched_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = Cancel::new();
    let temp = TempDir::new_in(dir.path()).unwrap();
    let a = dir.path().join("a.counts");
    let b = dir.path().join("b.counts");
    count_to_file(batches(vec!["x y".into()]), &config(2), &a, &cancel).unwrap();
    count_to_file(batches(vec!["z w".into()]), &config(3), &b, &cancel).unwrap();
    let voc = dir.path().join("v.counts");
    let e = merge_vocabularies(&[a.clone(), b.clone()], &voc, &temp, &cancel).unwrap_err();
    assert!(e.to_string().contains("different orders"), "{e}");
    merge_vocabularies(std::slice::from_ref(&a), &voc, &temp, &cancel).unwrap();
    let c = dir.path().join("c.counts");
    count_to_file(batches(vec!["x q".into()]), &config(2), &c, &cancel).unwrap();
    let out = dir.path().join("p.counts");
    let e = merge_partition(&[c], &voc, 0..10, &out, 1 << 12, &temp, &cancel).unwrap_err();
    assert!(
        e.to_string().contains("missing from the vocabulary file"),
        "{e}"
    );
    assert!(!out.exists());
    let e = merge_partition(
        std::slice::from_ref(&a),
        &voc,
        5..5,
        &out,
        1 << 12,
        &temp,
        &cancel,
    )
    .unwrap_err();
    assert!(e.to_string().contains("empty partition range"), "{e}");
    let e = merge_vocabularies(&[], &voc, &temp, &cancel).unwrap_err();
    assert!(e.to_string().contains("no count files"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Partitions read in range order are the merged windows, already sorted and combined,
    /// and merging them again changes nothing.
    #[test]
    fn partitions_concatenate_to_the_merged_windows(
        lines in prop::collection::vec(
            prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "d", "e", "f"]), 0..6)
                .prop_map(|ws| ws.join(" ")),
            1..30,
        ),
        order in 1usize..5,
        shard_cuts in prop::collection::btree_set(1usize..30, 0..4),
        id_cuts in prop::collection::btree_set(1u32..12, 0..5),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let cuts: Vec<usize> = shard_cuts.into_iter().filter(|&c| c < lines.len()).collect();
        let shards = count_shards(dir.path(), &lines, &cuts, order);
        let id_cuts: Vec<u32> = id_cuts.into_iter().collect();
        let parts = partitions(dir.path(), &shards, &id_cuts);
        let (words, recs, tokens) = merged(&shards);
        let concatenated: Vec<Vec<u32>> = parts.iter().flat_map(|p| raw_records(p)).collect();
        prop_assert_eq!(&concatenated, &recs);
        let (pwords, precs, ptokens) = merged(&parts);
        prop_assert_eq!(pwords, words);
        prop_assert_eq!(precs, recs);
        prop_assert_eq!(ptokens, tokens);
        let total: u64 = concatenated.iter().map(|r| get_u64(&r[order..])).sum();
        prop_assert!(total >= tokens);
    }
}
