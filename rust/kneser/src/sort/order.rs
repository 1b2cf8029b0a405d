//! Sort orders of n-gram keys (after KenLM's builder, which names them the same way).

use std::cmp::Ordering;

/// The order n-gram records are sorted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrder {
    /// By the last word, then the one before it, and so on: `w[k-1], w[k-2], ..., w[0]`.
    /// N-grams sharing a suffix are contiguous; this is the order of the ARPA's higher orders.
    Suffix,
    /// By the context read backwards, then the predicted word: `w[k-2], ..., w[0], w[k-1]`.
    /// N-grams sharing a context are contiguous, and the contexts come in [`KeyOrder::Suffix`]
    /// order of the (k-1)-grams.
    Context,
}

impl KeyOrder {
    /// Compares two keys of equal length in this order.
    #[inline]
    pub fn compare(self, a: &[u32], b: &[u32]) -> Ordering {
        match self {
            KeyOrder::Suffix => compare_suffix(a, b),
            KeyOrder::Context => compare_context(a, b),
        }
    }

    /// The two most significant words of `key` in this order, packed so that comparing prefixes
    /// agrees with [`KeyOrder::compare`] whenever the prefixes differ.
    #[inline]
    pub fn prefix(self, key: &[u32]) -> u64 {
        let k = key.len();
        let (hi, lo) = match self {
            KeyOrder::Suffix => (key[k - 1], if k >= 2 { key[k - 2] } else { 0 }),
            KeyOrder::Context => {
                if k == 1 {
                    (key[0], 0)
                } else if k == 2 {
                    (key[0], key[1])
                } else {
                    (key[k - 2], key[k - 3])
                }
            }
        };
        (u64::from(hi) << 32) | u64::from(lo)
    }
}

/// [`KeyOrder::Suffix`] comparison. Keys of different lengths compare as reversed words, so a
/// suffix sorts before every longer n-gram ending with it.
#[inline]
pub fn compare_suffix(a: &[u32], b: &[u32]) -> Ordering {
    a.iter().rev().cmp(b.iter().rev())
}

/// [`KeyOrder::Context`] comparison of keys of equal length.
#[inline]
pub fn compare_context(a: &[u32], b: &[u32]) -> Ordering {
    let k = a.len();
    debug_assert_eq!(k, b.len());
    if k == 0 {
        return Ordering::Equal;
    }
    a[..k - 1]
        .iter()
        .rev()
        .cmp(b[..k - 1].iter().rev())
        .then(a[k - 1].cmp(&b[k - 1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_order_compares_from_the_end() {
        assert_eq!(compare_suffix(&[9, 1], &[1, 2]), Ordering::Less);
        assert_eq!(compare_suffix(&[1, 2], &[3, 2]), Ordering::Less);
        assert_eq!(compare_suffix(&[2], &[1, 2]), Ordering::Less);
    }

    #[test]
    fn context_order_groups_contexts() {
        // contexts (5,1) < (1,2) in suffix order; the predicted word breaks ties
        assert_eq!(compare_context(&[5, 1, 9], &[1, 2, 0]), Ordering::Less);
        assert_eq!(compare_context(&[1, 2, 0], &[1, 2, 3]), Ordering::Less);
    }

    #[test]
    fn prefixes_agree_with_comparison() {
        let keys: Vec<Vec<u32>> = vec![
            vec![1, 2, 3],
            vec![3, 2, 1],
            vec![2, 2, 3],
            vec![1, 3, 3],
            vec![0, 0, 0],
        ];
        for order in [KeyOrder::Suffix, KeyOrder::Context] {
            for a in &keys {
                for b in &keys {
                    let (pa, pb) = (order.prefix(a), order.prefix(b));
                    if pa != pb {
                        assert_eq!(pa.cmp(&pb), order.compare(a, b), "{order:?} {a:?} {b:?}");
                    }
                }
            }
        }
    }
}
