//! build_binary's memory estimate: `build_binary [flags] model.arpa` without an output file
//! prints what each layout's search structures would take for the ARPA's counts, and exits 0
//! (KenLM's `lm/sizes.cc`).
//!
//! Input: the counts of an ARPA's `\data\` header (nothing past it is read, as KenLM reads
//! nothing past it) and build_binary's `-p`, `-q`, `-b`, `-a` (its defaults 1.5, 8, 8, 22
//! otherwise). Output: six sizes in bytes, the vocabulary table and the search structures of
//! each layout, header and vocabulary strings excluded: probing, probing with rest costs
//! (`-r`), trie, trie with `-q`/`-b`, trie with `-a`, trie with both; and the table KenLM prints
//! of them. The sizes are the layouts of the files kneser writes byte for byte
//! ([`Layout`], [`Geometry`]), so the estimate is what `build-binary` then takes.

use std::path::Path;

use super::binary::{header_size, Layout};
use super::probing::{buckets, DEFAULT_MULTIPLIER};
use super::trie::{Geometry, TrieOptions};
use crate::error::{Error, Result};
use crate::estimate::pipeline::format_g6;

/// build_binary's flags that change the estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryEstimateFlags {
    /// `-p`: buckets per entry of the probing tables.
    pub multiplier: f32,
    /// `-q`: probability bits of the quantized tries.
    pub prob_bits: u8,
    /// `-b`: backoff bits of the quantized tries (`-q`'s when only `-q` is given).
    pub backoff_bits: u8,
    /// `-a`: the most bits the pointer offsets array may chop.
    pub array_bits: u8,
}

impl Default for MemoryEstimateFlags {
    /// build_binary's defaults (`lm::ngram::Config`).
    fn default() -> Self {
        MemoryEstimateFlags {
            multiplier: DEFAULT_MULTIPLIER,
            prob_bits: 8,
            backoff_bits: 8,
            array_bits: 22,
        }
    }
}

impl MemoryEstimateFlags {
    /// The flags as given on build_binary's command line, each absent one at its default
    /// ([`Default`]); `-b` absent takes `-q`'s bits, as build_binary's `-q` sets both.
    pub fn given(
        multiplier: Option<f32>,
        prob_bits: Option<u8>,
        backoff_bits: Option<u8>,
        array_bits: Option<u8>,
    ) -> Self {
        let d = Self::default();
        let prob_bits = prob_bits.unwrap_or(d.prob_bits);
        MemoryEstimateFlags {
            multiplier: multiplier.unwrap_or(d.multiplier),
            prob_bits,
            backoff_bits: backoff_bits.unwrap_or(prob_bits),
            array_bits: array_bits.unwrap_or(d.array_bits),
        }
    }
}

/// The bytes rest costs add to a probing model: KenLM's `RestWeights` hold a third float
/// beside probability and backoff, in each unigram and each middle-order entry (the highest
/// order's entries keep only a probability).
fn rest_extra(counts: &[u64], multiplier: f32) -> Option<u64> {
    let float = 4u64;
    let mut extra = counts[0].checked_add(1)?.checked_mul(float)?;
    for &c in &counts[1..counts.len() - 1] {
        extra = extra.checked_add(buckets(c, multiplier).checked_mul(float)?)?;
    }
    Some(extra)
}

/// The six sizes of the module doc for `counts` (`name` names the ARPA in errors).
///
/// Errors: [`Error::InvalidArgument`] for a model below order 2 (KenLM's binary format holds
/// none) or bit widths build_binary refuses; [`Error::Format`] for counts too large to lay out.
pub fn memory_sizes(counts: &[u64], flags: &MemoryEstimateFlags, name: &str) -> Result<[u64; 6]> {
    super::binary::check_order(counts.len())?;
    let header = header_size(counts.len());
    let too_large = || {
        Error::format(
            name,
            0,
            "the \\data\\ header's counts are too large for KenLM's binary layouts",
        )
    };
    let probing = Layout::new(counts, flags.multiplier).ok_or_else(too_large)?;
    let probing = (probing.end - header) as u64;
    let rest = rest_extra(counts, flags.multiplier)
        .and_then(|e| probing.checked_add(e))
        .ok_or_else(too_large)?;
    let quantize = Some((flags.prob_bits, flags.backoff_bits));
    let array_bits = Some(flags.array_bits);
    let mut sizes = [probing, rest, 0, 0, 0, 0];
    for (i, options) in [
        TrieOptions::default(),
        TrieOptions {
            quantize,
            array_bits: None,
        },
        TrieOptions {
            quantize: None,
            array_bits,
        },
        TrieOptions {
            quantize,
            array_bits,
        },
    ]
    .into_iter()
    .enumerate()
    {
        options.check()?;
        let geometry = Geometry::new(header, counts, options).ok_or_else(too_large)?;
        sizes[i + 2] = (geometry.end - header) as u64;
    }
    Ok(sizes)
}

/// KenLM's table of [`memory_sizes`], as build_binary prints it to stderr: one unit for all
/// rows (bytes, kB, MB or GB: the largest that leaves the smallest size at 10 or more), the
/// numbers right-aligned to the digits of the largest.
pub fn memory_estimate(counts: &[u64], flags: &MemoryEstimateFlags, name: &str) -> Result<String> {
    let sizes = memory_sizes(counts, flags, name)?;
    let (max, min) = (
        sizes.iter().copied().max().unwrap_or(0),
        sizes.iter().copied().min().unwrap_or(0),
    );
    let (prefix, divide): (&str, u64) = if min < 10 << 10 {
        (" ", 1)
    } else if min < 10 << 20 {
        ("k", 1 << 10)
    } else if min < 10 << 30 {
        ("M", 1 << 20)
    } else {
        ("G", 1 << 30)
    };
    // std::max<long>(2, ceil(log10((double) max / divide))), as KenLM works the width out.
    let width = ((max as f64 / divide as f64).log10().ceil() as i64).max(2) as usize;
    let [probing, rest, trie, quant, array, both] = sizes.map(|s| s / divide);
    let (p, q, b, a) = (
        format_g6(flags.multiplier),
        flags.prob_bits,
        flags.backoff_bits,
        flags.array_bits,
    );
    let pad = " ".repeat(width - 2);
    Ok(format!(
        "Memory estimate for binary LM:\ntype    {pad}{prefix}B\n\
         probing {probing:>width$} assuming -p {p}\n\
         probing {rest:>width$} assuming -r models -p {p}\n\
         trie    {trie:>width$} without quantization\n\
         trie    {quant:>width$} assuming -q {q} -b {b} quantization \n\
         trie    {array:>width$} assuming -a {a} array pointer compression\n\
         trie    {both:>width$} assuming -a {a} -q {q} -b {b} array pointer compression and \
         quantization\n"
    ))
}

/// [`memory_estimate`] of the ARPA file at `path` (plain or compressed), from its `\data\`
/// header alone.
///
/// Errors: [`Error::Io`] when the file cannot be read, [`Error::Format`] (file and line) for a
/// missing or malformed header, and those of [`memory_sizes`].
pub fn arpa_memory_estimate(path: &Path, flags: &MemoryEstimateFlags) -> Result<String> {
    let counts = crate::arpa::reader::read_arpa_counts(path)?;
    memory_estimate(&counts, flags, &crate::io::display_name(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// build_binary 4cb443e's estimate for a 2-gram model of 7 unigrams and 7 bigrams (no
    /// output file; stderr verbatim).
    #[test]
    fn a_small_model_in_bytes() {
        let got = memory_estimate(&[7, 7], &MemoryEstimateFlags::default(), "m.arpa").unwrap();
        assert_eq!(
            got,
            "Memory estimate for binary LM:\ntype       B\n\
             probing  312 assuming -p 1.5\n\
             probing  344 assuming -r models -p 1.5\n\
             trie     250 without quantization\n\
             trie    1259 assuming -q 8 -b 8 quantization \n\
             trie     250 assuming -a 22 array pointer compression\n\
             trie    1259 assuming -a 22 -q 8 -b 8 array pointer compression and quantization\n"
        );
    }

    #[test]
    fn absent_flags_take_build_binarys_defaults_and_b_takes_q() {
        let d = MemoryEstimateFlags::default();
        assert_eq!(MemoryEstimateFlags::given(None, None, None, None), d);
        let q5 = MemoryEstimateFlags::given(Some(2.0), Some(5), None, Some(10));
        assert_eq!(
            (q5.multiplier, q5.prob_bits, q5.backoff_bits, q5.array_bits),
            (2.0, 5, 5, 10)
        );
        assert_eq!(
            MemoryEstimateFlags::given(None, Some(5), Some(3), None).backoff_bits,
            3
        );
    }

    #[test]
    fn below_order_two_is_refused_not_a_panic() {
        assert!(memory_sizes(&[5], &MemoryEstimateFlags::default(), "m").is_err());
        assert!(memory_sizes(&[], &MemoryEstimateFlags::default(), "m").is_err());
    }

    #[test]
    fn counts_past_the_address_space_are_a_format_error() {
        let e = memory_sizes(&[u64::MAX / 2, 3], &MemoryEstimateFlags::default(), "m").unwrap_err();
        assert!(matches!(e, Error::Format { .. }), "{e}");
    }
}
