//! Stage 3: modified Kneser-Ney discounts from count-of-counts (Chen and Goodman 1998, eq. 26).
//!
//! Input: n1..n4 of an order (adjusted counts). Output: D1, D2, D3+ computed in f32 as lmplz
//! does: `Y = n1 / (n1 + 2 n2)`, `Dk = k - (k + 1) Y n(k+1) / nk`. An order with n1, n2 or n3
//! zero, or a Dk outside [0, k], fails with [`Error::Discount`] unless a fallback is given.

use crate::error::{Error, Result};

/// The discounts of one order: `amount[c]` is subtracted from an adjusted count `c` (3 and more
/// share `amount[3]`; `amount[0]` is 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Discount {
    /// D0 (always 0), D1, D2, D3+.
    pub amount: [f32; 4],
}

/// Chen and Goodman's `Y = n1 / (n1 + 2 n2)` from count-of-counts `n[1..=4]`, in f32 as lmplz.
pub fn y_of(n: &[u64; 5]) -> f32 {
    n[1] as f32 / (n[1] as f64 + 2.0 * n[2] as f64) as f32
}

impl Discount {
    /// D1, D2, D3+ (as [`super::pipeline::Summary`] reports them).
    pub fn d123(&self) -> [f32; 3] {
        [self.amount[1], self.amount[2], self.amount[3]]
    }

    /// Discounts from fixed values (a fallback).
    pub fn from_values(d: [f32; 3]) -> Self {
        Discount {
            amount: [0.0, d[0], d[1], d[2]],
        }
    }

    /// The discount of an adjusted count.
    #[inline]
    pub fn get(&self, count: u64) -> f32 {
        self.amount[count.min(3) as usize]
    }

    /// The discounted count, `count - D(count)`, in f32.
    #[inline]
    pub fn apply(&self, count: u64) -> f32 {
        count as f32 - self.get(count)
    }

    /// Chen and Goodman's estimate from count-of-counts `n[1..=4]` of `order`.
    pub fn estimate(order: usize, n: &[u64; 5]) -> Result<Self> {
        for (j, &nj) in n.iter().enumerate().take(4).skip(1) {
            if nj == 0 {
                return Err(Error::Discount {
                    order,
                    count: j + 1,
                    reason: format!("no {order}-grams with adjusted count {j} were observed"),
                });
            }
        }
        let y = y_of(n);
        let mut amount = [0.0f32; 4];
        for j in 1..=3usize {
            let d = j as f32 - (j + 1) as f32 * y * n[j + 1] as f32 / n[j] as f32;
            if !(0.0..=j as f32).contains(&d) {
                return Err(Error::Discount {
                    order,
                    count: j,
                    reason: format!(
                        "the estimated discount D{}{} = {d} is outside [0, {j}] (n{j} = {}, n{} = {})",
                        j,
                        if j == 3 { "+" } else { "" },
                        n[j],
                        j + 1,
                        n[j + 1]
                    ),
                });
            }
            amount[j] = d;
        }
        Ok(Discount { amount })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chen_goodman_on_a_small_table() {
        let d = Discount::estimate(2, &[0, 100, 40, 20, 10]).unwrap();
        let y = 100.0f32 / 180.0;
        assert!((d.amount[1] - (1.0 - 2.0 * y * 40.0 / 100.0)).abs() < 1e-6);
        assert!((d.amount[2] - (2.0 - 3.0 * y * 20.0 / 40.0)).abs() < 1e-6);
        assert!((d.amount[3] - (3.0 - 4.0 * y * 10.0 / 20.0)).abs() < 1e-6);
        assert_eq!(d.get(7), d.amount[3]);
        assert_eq!(d.apply(1), 1.0 - d.amount[1]);
    }

    #[test]
    fn zero_count_of_counts_names_the_order() {
        let err = Discount::estimate(1, &[0, 3, 0, 1, 0]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("1-grams with adjusted count 3"), "{msg}");
        assert!(msg.contains("discount_fallback"), "{msg}");
    }

    #[test]
    fn out_of_range_discount_fails() {
        // n2 tiny relative to n1 pushes D1 above... compute a case with D2 < 0
        let err = Discount::estimate(6, &[0, 10, 1, 100, 1]).unwrap_err();
        assert!(matches!(err, Error::Discount { order: 6, .. }), "{err}");
    }
}
