use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

fn sort_all(
    records: &[(Vec<u32>, u64)],
    k: usize,
    order: KeyOrder,
    memory: usize,
) -> (Vec<(Vec<u32>, u64)>, TempDir) {
    let base = tempfile::tempdir().unwrap();
    let temp = TempDir::new_in(base.path()).unwrap();
    let cancel = Cancel::new();
    let layout = Layout {
        key_words: k,
        payload_words: 2,
    };
    let mut s = Sorter::new(layout, order, Some(add_counts), memory, &temp, &cancel);
    let mut rec = vec![0u32; k + 2];
    for (key, c) in records {
        rec[..k].copy_from_slice(key);
        set_u64(&mut rec[k..], *c);
        s.push(&rec).unwrap();
    }
    let mut stream = s.finish().unwrap();
    let mut out = Vec::new();
    while let Some(r) = stream.next().unwrap() {
        out.push((r[..k].to_vec(), get_u64(&r[k..])));
    }
    drop(stream);
    // Keep `base` alive by leaking it into the returned TempDir's parent lifetime.
    std::mem::forget(base);
    (out, temp)
}

fn expected(records: &[(Vec<u32>, u64)], order: KeyOrder) -> Vec<(Vec<u32>, u64)> {
    let mut m: BTreeMap<Vec<u32>, u64> = BTreeMap::new();
    for (k, c) in records {
        *m.entry(k.clone()).or_default() += c;
    }
    let mut v: Vec<_> = m.into_iter().collect();
    v.sort_by(|a, b| order.compare(&a.0, &b.0));
    v
}

fn records(k: usize) -> impl Strategy<Value = Vec<(Vec<u32>, u64)>> {
    prop::collection::vec((prop::collection::vec(0u32..6, k), 1u64..5), 0..400)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn external_equals_in_memory(
        k in 1usize..5,
        seed in records(4),
        budget_records in 1usize..40,
        context in any::<bool>(),
    ) {
        let order = if context { KeyOrder::Context } else { KeyOrder::Suffix };
        let recs: Vec<(Vec<u32>, u64)> =
            seed.into_iter().map(|(key, c)| (key[..k].to_vec(), c)).collect();
        let width = k + 2;
        let memory = budget_records * (width * 4);
        let (got, _t) = sort_all(&recs, k, order, memory);
        prop_assert_eq!(got, expected(&recs, order));
    }
}

#[test]
fn many_runs_take_several_merge_passes() {
    // One record per run: 500 runs need two merge passes at a fan-in of 64.
    let recs: Vec<(Vec<u32>, u64)> = (0..500u32)
        .map(|i| (vec![i % 7, (i * 31) % 11, i % 3], 1))
        .collect();
    let (got, temp) = sort_all(&recs, 3, KeyOrder::Suffix, 1);
    assert_eq!(got, expected(&recs, KeyOrder::Suffix));
    // Every run was consumed and deleted.
    assert_eq!(std::fs::read_dir(temp.path()).unwrap().count(), 0);
}

#[test]
fn temp_dir_is_removed_on_drop_even_mid_merge() {
    let base = tempfile::tempdir().unwrap();
    let temp = TempDir::new_in(base.path()).unwrap();
    let cancel = Cancel::new();
    let layout = Layout {
        key_words: 2,
        payload_words: 2,
    };
    let mut s = Sorter::new(
        layout,
        KeyOrder::Suffix,
        Some(add_counts),
        1,
        &temp,
        &cancel,
    );
    for i in 0..100u32 {
        s.push(&[i, i, 1, 0]).unwrap();
    }
    let mut stream = s.finish().unwrap();
    stream.next().unwrap();
    assert!(std::fs::read_dir(base.path()).unwrap().count() == 1);
    drop(stream);
    drop(temp);
    assert_eq!(std::fs::read_dir(base.path()).unwrap().count(), 0);
}

#[test]
fn cancel_stops_a_sort() {
    let base = tempfile::tempdir().unwrap();
    let temp = TempDir::new_in(base.path()).unwrap();
    let cancel = Cancel::new();
    let layout = Layout {
        key_words: 1,
        payload_words: 2,
    };
    let mut s = Sorter::new(layout, KeyOrder::Suffix, None, 1, &temp, &cancel);
    s.push(&[1, 1, 0]).unwrap();
    cancel.cancel();
    assert!(matches!(s.push(&[2, 1, 0]), Err(crate::Error::Interrupted)));
}

#[test]
fn missing_temp_dir_is_not_found() {
    let err = TempDir::new_in(std::path::Path::new("/no/such/tmp")).unwrap_err();
    assert!(matches!(err, crate::Error::NotFound { .. }));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every record shape (the unrolled u64-payload path and the generic ones) sorts like a
    /// plain comparison sort in both orders.
    #[test]
    fn sort_block_matches_a_comparison_sort(
        k in 1usize..7,
        payload in 0usize..4,
        seed in prop::collection::vec(prop::collection::vec(0u32..5, 10), 0..300),
        context in any::<bool>(),
    ) {
        let order = if context { KeyOrder::Context } else { KeyOrder::Suffix };
        let width = k + payload;
        let layout = Layout { key_words: k, payload_words: payload };
        let words: Vec<u32> = seed.iter().flat_map(|r| r[..width].iter().copied()).collect();
        let got = sort_block(words.clone(), layout, order, None);
        let mut want: Vec<&[u32]> = words.chunks(width).collect();
        want.sort_by(|a, b| order.compare(&a[..k], &b[..k]));
        let got_keys: Vec<&[u32]> = got.chunks(width).map(|r| &r[..k]).collect();
        let want_keys: Vec<&[u32]> = want.iter().map(|r| &r[..k]).collect();
        prop_assert_eq!(got_keys, want_keys);
        // The payloads travel with their keys: the multisets of records are equal.
        let mut a: Vec<&[u32]> = got.chunks(width).collect();
        let mut b: Vec<&[u32]> = words.chunks(width).collect();
        a.sort();
        b.sort();
        prop_assert_eq!(a, b);
    }
}

#[test]
fn a_refused_allocation_is_a_typed_error() {
    let mut buf: Vec<u32> = vec![1, 2, 3];
    // More than the address space: the allocator refuses, no abort.
    let e = reserve_words(&mut buf, usize::MAX / 2).unwrap_err();
    assert!(matches!(e, Error::OutOfMemory { .. }), "{e}");
    assert!(e.to_string().contains("--memory"), "{e}");
    assert_eq!(buf, [1, 2, 3]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A sorter collecting into a buffer an earlier sort left (stale records in it, a capacity
    /// above or below the budget) gives what a fresh sorter gives; the buffer comes back from
    /// a sort that spilled, and from the stream of one that did not.
    #[test]
    fn a_reused_buffer_sorts_like_a_fresh_one(
        k in 1usize..5,
        seed in records(4),
        budget_records in 1usize..40,
        stale_records in 0usize..80,
        context in any::<bool>(),
    ) {
        let order = if context { KeyOrder::Context } else { KeyOrder::Suffix };
        let recs: Vec<(Vec<u32>, u64)> =
            seed.into_iter().map(|(key, c)| (key[..k].to_vec(), c)).collect();
        let width = k + 2;
        let memory = budget_records * (width * 4);
        let base = tempfile::tempdir().unwrap();
        let temp = TempDir::new_in(base.path()).unwrap();
        let cancel = Cancel::new();
        let layout = Layout { key_words: k, payload_words: 2 };
        let stale: Vec<u32> = (0..stale_records * 7).map(|i| i as u32 % 5).collect();
        let mut s = Sorter::with_buffer(
            layout, order, Some(add_counts), memory, &temp, &cancel, stale,
        );
        let mut rec = vec![0u32; width];
        for (key, c) in &recs {
            rec[..k].copy_from_slice(key);
            set_u64(&mut rec[k..], *c);
            s.push(&rec).unwrap();
        }
        let spilled = recs.len() > budget_records;
        let (mut stream, buf) = s.finish_keeping_buffer().unwrap();
        prop_assert!(buf.is_empty());
        prop_assert!(buf.capacity() <= budget_records * width);
        prop_assert_eq!(buf.capacity() > 0, spilled && !recs.is_empty());
        let mut got = Vec::new();
        while let Some(r) = stream.next().unwrap() {
            got.push((r[..k].to_vec(), get_u64(&r[k..])));
        }
        prop_assert_eq!(got, expected(&recs, order));
        // Unspilled, the stream holds the sort buffer: the one it grew, or the stale one it was
        // given when nothing was pushed.
        let back = stream.into_buffer();
        prop_assert!(back.is_empty());
        prop_assert_eq!(
            back.capacity() > 0,
            !spilled && (!recs.is_empty() || stale_records > 0)
        );
    }
}

#[test]
fn spare_buffers_keep_the_larger_one() {
    let spare = SpareBuffers::default();
    assert_eq!(spare.take().capacity(), 0);
    spare.put(Vec::with_capacity(100));
    spare.put(vec![1, 2, 3]);
    let b = spare.take();
    assert!(b.capacity() >= 100 && b.is_empty());
    assert_eq!(spare.take().capacity(), 0);
}
