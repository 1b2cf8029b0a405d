//! Modified Kneser-Ney estimation, reproducing KenLM's `lmplz` (Heafield et al. 2013, "Scalable
//! Modified Kneser-Ney Language Model Estimation"; Chen and Goodman 1998).
//!
//! The data flow, one stage per module, every stage a stream of fixed-size records:
//!
//! 1. [`count`]: text -> vocabulary ids -> order-N windows over `<s> ... </s>` (left-padded
//!    with `<s>`), counted and sorted in suffix order by the external [`crate::sort::Sorter`].
//! 2. [`adjust`]: suffix-order N-grams -> every order's n-grams with adjusted counts (the number
//!    of distinct left extensions; raw counts for n-grams starting with `<s>` and for the top
//!    order), prune marks, and count-of-counts. Output in suffix order, one file per order.
//! 3. [`discount`]: count-of-counts -> D1, D2, D3+ per order (Chen and Goodman eq. 26).
//! 4. [`initial`]: each order resorted in context order -> uninterpolated probabilities and the
//!    backoff mass (gamma) of each context; resorted to suffix order.
//! 5. [`interpolate`]: order by order in suffix order, joined with the order below ->
//!    interpolated probabilities, written as ARPA by [`crate::arpa::writer`].
//!
//! [`pipeline`] holds the configuration and runs the stages; its memory budget bounds every
//! sort buffer, and the output does not depend on the budget or the thread count.
//!
//! Memory, all of it: the sort buffers share the budget (the whole budget while counting; a
//! third each for the three sorts alive in stages 4-5), plus outside the budget the
//! [`vocabulary`] (one arena of the words, about 13 bytes a word beyond their text), the batch of
//! text chunks being tokenized (8 MiB of text and their ids), [`crate::sort::MERGE_BUFFER`] per
//! run being merged, the formatting block of stage 5 (32,768 lines) and the [`sink`]'s queue
//! (at most 16 blocks of about 256 KiB). Measured on en-bench (594,316 types), order 5: peak RSS
//! 260 MB with `-S 200M`, Python included.

pub mod adjust;
pub mod config;
pub mod count;
pub mod counts_file;
pub mod discount;
pub mod explain;
pub mod initial;
pub mod interpolate;
pub mod partition;
pub mod partitioned;
pub mod pipeline;
pub mod sink;
pub mod vocabulary;

pub use config::{EstimateConfig, PruneConfig};
pub use discount::Discount;
pub use pipeline::{estimate, Output, Source, Summary};

/// Id of `<unk>`.
pub const UNK: u32 = 0;
/// Id of `<s>`.
pub const BOS: u32 = 1;
/// Id of `</s>`.
pub const EOS: u32 = 2;
