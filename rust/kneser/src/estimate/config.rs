//! Estimation options with lmplz's semantics, checked before any work starts.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::text::whitespace::Rule;

/// Pruning thresholds, one per order (lmplz's `--prune`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneConfig {
    /// As given: non-decreasing; the last value applies to the remaining orders.
    pub thresholds: Vec<u64>,
}

impl PruneConfig {
    /// The threshold for `order` (1-based): an n-gram whose raw count is at or below it is
    /// pruned; 0 keeps everything.
    pub fn threshold(&self, order: usize) -> u64 {
        match self.thresholds.len() {
            0 => 0,
            n => self.thresholds[(order - 1).min(n - 1)],
        }
    }

    /// Whether any order prunes.
    pub fn any(&self) -> bool {
        self.thresholds.iter().any(|&t| t > 0)
    }
}

/// Everything `estimate` needs to know; see each field for its lmplz flag.
#[derive(Debug, Clone)]
pub struct EstimateConfig {
    /// Order of the model (`-o`), 1 to [`MAX_ORDER`].
    pub order: usize,
    /// Discounts to use for an order whose modified Kneser-Ney discounts cannot be estimated
    /// (`--discount_fallback`): one to three values for D1, D2, D3+, the last repeated. `None`
    /// makes such an order an error.
    pub discount_fallback: Option<Vec<f32>>,
    /// Pruning thresholds (`--prune`).
    pub prune: PruneConfig,
    /// Allowed words (`--limit_vocab_file`): n-grams holding any other word are pruned.
    pub limit_vocab: Option<Vec<String>>,
    /// Interpolate unigrams with the uniform distribution (`--interpolate_unigrams`, default
    /// on); off gives all of the unigram backoff mass to `<unk>`.
    pub interpolate_unigrams: bool,
    /// Pad the vocabulary size used by the uniform distribution to at least this (`--vocab_pad`).
    pub vocab_pad: u64,
    /// Treat `<s>`, `</s>` and `<unk>` in the text as whitespace instead of failing
    /// (`--skip_symbols`).
    pub skip_symbols: bool,
    /// Replace invalid UTF-8 with U+FFFD instead of failing with an error naming the line.
    pub replace_invalid_utf8: bool,
    /// Count text after the last newline as a sentence without `</s>`, as lmplz does (default);
    /// off closes it with `</s>` like every other line.
    pub lmplz_final_line: bool,
    /// Memory budget in bytes for the sort buffers (`-S`).
    pub memory: u64,
    /// Directory for temp files (`-T`).
    pub temp_dir: PathBuf,
    /// Worker threads; 0 means all cores.
    pub threads: usize,
    /// Print lmplz-style progress and statistics on stderr.
    pub verbose: bool,
    /// Start the ARPA with lmplz's comment lines (`--verbose_header`): the input file (`stdin`
    /// for `-`), the token count and the smoothing.
    pub verbose_header: bool,
    /// Write `q`, probability and backoff collapsed into one value, instead of both
    /// (`--collapse_values`; see [`super::interpolate::interpolate_order`]).
    pub collapse_values: bool,
    /// Number the vocabulary in MurmurHash64A order of the words, `<unk>` first (`--renumber`;
    /// see [`super::vocabulary::Vocabulary::renumbered`]); this orders the ARPA's n-grams.
    pub renumber: bool,
}

impl Default for EstimateConfig {
    fn default() -> Self {
        EstimateConfig {
            order: 3,
            discount_fallback: None,
            prune: PruneConfig::default(),
            limit_vocab: None,
            interpolate_unigrams: true,
            vocab_pad: 0,
            skip_symbols: false,
            replace_invalid_utf8: false,
            lmplz_final_line: true,
            memory: DEFAULT_MEMORY,
            temp_dir: std::env::temp_dir(),
            threads: 0,
            verbose: false,
            verbose_header: false,
            collapse_values: false,
            renumber: false,
        }
    }
}

/// The default sort-memory budget (`-S`): 1 GiB. lmplz's own default is 80% of physical
/// memory; kneser takes a fixed size so that a default run never competes with the machine.
/// Every default of kneser (the CLI, `kneser.estimate`, `kneser.count`, the Ray helpers) is
/// this one, exposed to Python as `kneser.DEFAULT_MEMORY`.
pub const DEFAULT_MEMORY: u64 = 1 << 30;

/// The largest order accepted: the model loader's limit ([`crate::model::MAX_ORDER`]), so that
/// every model kneser builds can be loaded and scored. (lmplz's limit is its compile-time
/// `KENLM_MAX_ORDER`, 6 by default.)
pub const MAX_ORDER: usize = crate::model::MAX_ORDER;

/// lmplz's default discount fallback.
pub const DEFAULT_FALLBACK: [f32; 3] = [0.5, 1.0, 1.5];

/// The smallest memory budget accepted.
pub const MIN_MEMORY: u64 = 1 << 20;

impl EstimateConfig {
    /// Checks the options; every problem is reported before any work starts.
    pub fn validate(&self) -> Result<()> {
        if self.order == 0 {
            return Err(Error::InvalidArgument(
                "order must be at least 1".to_string(),
            ));
        }
        if self.order > MAX_ORDER {
            return Err(Error::InvalidArgument(format!(
                "order {} is above the largest supported order {MAX_ORDER} (the limit of kneser's model loader, so that every model built can be loaded)",
                self.order
            )));
        }
        if let Some(f) = &self.discount_fallback {
            if f.is_empty() || f.len() > 3 {
                return Err(Error::InvalidArgument(format!(
                    "discount fallback takes one to three values (D1 D2 D3+), got {}",
                    f.len()
                )));
            }
            let full = expand_fallback(f);
            for (i, d) in full.iter().enumerate() {
                if !d.is_finite() || *d < 0.0 || *d > (i + 1) as f32 {
                    return Err(Error::InvalidArgument(format!(
                        "discount fallback D{} = {d} is outside [0, {}]",
                        i + 1,
                        i + 1
                    )));
                }
            }
        }
        let t = &self.prune.thresholds;
        if t.windows(2).any(|w| w[1] < w[0]) {
            return Err(Error::InvalidArgument(format!(
                "prune thresholds must be non-decreasing, got {t:?}"
            )));
        }
        if self.memory < MIN_MEMORY {
            return Err(Error::MemoryBudget {
                budget: self.memory,
                minimum: MIN_MEMORY,
            });
        }
        if self.vocab_pad > 0 && !self.interpolate_unigrams {
            return Err(Error::InvalidArgument(
                "vocab_pad requires interpolate_unigrams".to_string(),
            ));
        }
        Ok(())
    }

    /// The fallback discounts expanded to three values, if any.
    pub fn fallback(&self) -> Option<[f32; 3]> {
        self.discount_fallback.as_deref().map(expand_fallback)
    }
}

fn expand_fallback(f: &[f32]) -> [f32; 3] {
    let last = f.last().copied().unwrap_or(DEFAULT_FALLBACK[2]);
    [
        f.first().copied().unwrap_or(last),
        f.get(1).copied().unwrap_or(last),
        f.get(2).copied().unwrap_or(last),
    ]
}

/// Reads a `--limit_vocab_file`: the words separated by lmplz's separators ([`Rule::Lmplz`]:
/// space, tab, CR, LF, NUL), as lmplz reads it, so a word holding NBSP or U+3000 is kept whole
/// (and every file `Vocab::save_limit_vocab` writes reads back unchanged). Plain or compressed.
///
/// Errors: `NotFound`/`Io` for the file, `InvalidUtf8` naming the file and line.
pub fn read_limit_vocab(path: &std::path::Path) -> Result<Vec<String>> {
    let name = crate::io::display_name(path);
    let mut reader = crate::io::LineReader::new(crate::io::open_input(path)?, name.clone());
    let mut words = Vec::new();
    while let Some(line) = reader.next_line()? {
        words.extend(Rule::Lmplz.split(line.as_str(&name)?).map(str::to_string));
    }
    Ok(words)
}

/// Parses a memory size in lmplz's `-S` syntax: a number with an optional suffix `b`, `K`, `M`,
/// `G`, `T` (powers of 1024; bare numbers are KiB as in lmplz) or `%` of physical memory.
pub fn parse_memory(text: &str) -> Result<u64> {
    let t = Rule::Unicode.trim(text);
    let bad = || {
        Error::InvalidArgument(format!(
            "cannot parse memory size {text:?}: use e.g. 500M, 2G, 80%"
        ))
    };
    let (num, suffix) = match t.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => (&t[..i], Rule::Unicode.trim(&t[i..])),
        None => (t, ""),
    };
    let value: f64 = num.parse().map_err(|_| bad())?;
    let bytes = match suffix {
        "%" => value / 100.0 * physical_memory()? as f64,
        "b" | "B" => value,
        "" | "k" | "K" | "KB" | "KiB" => value * 1024.0,
        "m" | "M" | "MB" | "MiB" => value * 1024.0 * 1024.0,
        "g" | "G" | "GB" | "GiB" => value * 1024.0 * 1024.0 * 1024.0,
        "t" | "T" | "TB" | "TiB" => value * 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(bad()),
    };
    if !bytes.is_finite() || bytes < 0.0 {
        return Err(bad());
    }
    Ok(bytes as u64)
}

/// Total physical memory in bytes (from /proc/meminfo).
pub fn physical_memory() -> Result<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").map_err(|e| {
        Error::InvalidArgument(format!(
            "a percentage memory size needs /proc/meminfo ({e}); give a size such as 2G"
        ))
    })?;
    for line in info.lines() {
        if let Some(rest) = line.strip_prefix("MemTotal:") {
            let kb: u64 = Rule::Unicode
                .trim(Rule::Unicode.trim(rest).trim_end_matches("kB"))
                .parse()
                .map_err(|_| Error::InvalidArgument("unreadable MemTotal".to_string()))?;
            return Ok(kb * 1024);
        }
    }
    Err(Error::InvalidArgument(
        "no MemTotal in /proc/meminfo; give a size such as 2G".to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("500M").unwrap(), 500 << 20);
        assert_eq!(parse_memory("2G").unwrap(), 2 << 30);
        assert_eq!(parse_memory("1024").unwrap(), 1 << 20);
        assert_eq!(parse_memory("100b").unwrap(), 100);
        assert!(parse_memory("80%").unwrap() > 0);
        assert!(parse_memory("lots").is_err());
    }

    #[test]
    fn limit_vocab_splits_on_lmplz_separators_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.txt");
        std::fs::write(&path, "a\tb\r\nx\u{a0}y  全\u{3000}角\0c\x0bd\n").unwrap();
        assert_eq!(
            read_limit_vocab(&path).unwrap(),
            ["a", "b", "x\u{a0}y", "全\u{3000}角", "c\x0bd"]
        );
    }

    #[test]
    fn order_is_bounded_by_the_loader() {
        let mut c = EstimateConfig {
            order: MAX_ORDER,
            ..Default::default()
        };
        assert!(c.validate().is_ok());
        c.order = MAX_ORDER + 1;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("largest supported order 16"), "{e}");
    }

    #[test]
    fn prune_last_value_repeats() {
        let p = PruneConfig {
            thresholds: vec![0, 1],
        };
        assert_eq!((p.threshold(1), p.threshold(2), p.threshold(5)), (0, 1, 1));
    }

    #[test]
    fn rejects_bad_options() {
        let mut c = EstimateConfig {
            order: 0,
            ..Default::default()
        };
        assert!(c.validate().is_err());
        c.order = 3;
        c.prune.thresholds = vec![2, 1];
        assert!(c.validate().is_err());
        c.prune.thresholds = vec![0, 1];
        c.discount_fallback = Some(vec![0.5, 3.0]);
        assert!(c.validate().is_err());
        c.discount_fallback = Some(vec![0.3]);
        assert_eq!(c.fallback(), Some([0.3, 0.3, 0.3]));
        assert!(c.validate().is_ok());
    }
}
