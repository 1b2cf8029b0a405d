//! KenLM's `query` report: per word `word=id length log10p`, per line `Total: X OOV: N`, then
//! the corpus summary.
//!
//! Input: text, one sentence per line; words are separated by bytes 9, 11, 12, 13 and 32 (the
//! C locale's `isspace` without the newline, as KenLM's reader). Output, exactly as KenLM's
//! `query` prints it:
//!
//! ```text
//! word=id length log10p<TAB>...</s>=2 length log10p<TAB>Total: X OOV: N
//! ...
//! Perplexity including OOVs:<TAB>P
//! Perplexity excluding OOVs:<TAB>P
//! OOVs:<TAB>N
//! Tokens:<TAB>N
//! ```
//!
//! `f32` values are printed as the shortest decimal that reads back the same (`f64` likewise),
//! in exponent form below 1e-6 in magnitude, as KenLM's printer. With sentence context off (`-n`)
//! there is no `<s>` context and no `</s>`. Text after the last newline is scored word by word,
//! but, as in KenLM, gets no `</s>` and no `Total:` line, and its words count as tokens but not
//! in the total (KenLM's quirk, kept for identical figures).
//!
//! Memory: one line buffer and the output buffer.

use std::io::{BufRead, Write};

use crate::arpa::reader::is_arpa_space;
use crate::cancel::Cancel;
use crate::error::{IoContext, Result};
use crate::io::LineReader;

use super::{Model, State};

/// What to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryOptions {
    /// Wrap each line in `<s>` and `</s>` (KenLM's default; `-n` turns it off).
    pub sentence_context: bool,
    /// Print each word's score.
    pub print_words: bool,
    /// Print each line's `Total:` and `OOV:`.
    pub print_lines: bool,
    /// Print the corpus summary.
    pub print_summary: bool,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            sentence_context: true,
            print_words: true,
            print_lines: true,
            print_summary: true,
        }
    }
}

/// Corpus figures accumulated over every input, as KenLM's `query` keeps them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QueryTotals {
    /// Sum of line totals (each an `f32` sum), in `f64`.
    pub total: f64,
    /// Sum of the log10 p of OOV words.
    pub total_oov_only: f64,
    /// OOV words.
    pub oovs: u64,
    /// Words scored, `</s>` included.
    pub tokens: u64,
}

impl QueryTotals {
    /// `10^(-total / tokens)`.
    pub fn perplexity_including_oovs(&self) -> f64 {
        10f64.powf(-(self.total / self.tokens as f64))
    }

    /// `10^(-(total - total_oov_only) / (tokens - oovs))`.
    pub fn perplexity_excluding_oovs(&self) -> f64 {
        10f64.powf(-((self.total - self.total_oov_only) / (self.tokens - self.oovs) as f64))
    }
}

/// Formats an `f32` as KenLM prints it: shortest round-trip digits, exponent below 1e-6.
pub fn format_f32(x: f32) -> String {
    if x != 0.0 && x.is_finite() && x.abs() < 1e-6 {
        format!("{x:e}")
    } else if x.is_infinite() {
        if x < 0.0 { "-inf" } else { "inf" }.to_string()
    } else {
        format!("{x}")
    }
}

/// Formats an `f64` as KenLM prints it: shortest round-trip digits, exponent below 1e-6.
pub fn format_f64(x: f64) -> String {
    if x != 0.0 && x.is_finite() && x.abs() < 1e-6 {
        format!("{x:e}")
    } else if x.is_infinite() {
        if x < 0.0 { "-inf" } else { "inf" }.to_string()
    } else {
        format!("{x}")
    }
}

/// Scores the lines of `input` (named `name` in errors) and writes the report to `out`,
/// accumulating into `totals`. Call [`write_summary`] after the last input.
///
/// Args:
///     model: the language model.
///     input: the text.
///     name: its name for messages.
///     out: where the report goes.
///     options: what to print.
///     totals: corpus figures, updated.
///     cancel: polled every 4096 lines.
///
/// Example:
///     `query_input(&lm, stdin.lock(), "<stdin>", &mut out, QueryOptions::default(), &mut t, &c)?`
pub fn query_input(
    model: &Model,
    input: impl BufRead,
    name: &str,
    out: &mut dyn Write,
    options: QueryOptions,
    totals: &mut QueryTotals,
    cancel: &Cancel,
) -> Result<()> {
    let mut lines = LineReader::new(input, name);
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    let mut out_state = State::default();
    while let Some(line) = lines.next_line()? {
        if line.number % 4096 == 0 {
            cancel.check()?;
        }
        let mut state = if options.sentence_context {
            model.begin_sentence_state()
        } else {
            model.null_context_state()
        };
        let mut total = 0.0f32;
        let mut oov = 0u64;
        for word in line
            .bytes
            .split(|&b| is_arpa_space(b))
            .filter(|w| !w.is_empty())
        {
            let id = model.index_bytes(word);
            let s = model.full_score(&state, id, &mut out_state);
            if id == 0 {
                oov += 1;
                totals.total_oov_only += f64::from(s.prob);
            }
            total += s.prob;
            totals.tokens += 1;
            if options.print_words {
                buf.extend_from_slice(word);
                write_word_tail(&mut buf, id, s.ngram_length, s.prob);
            }
            std::mem::swap(&mut state, &mut out_state);
        }
        if line.terminated {
            if options.sentence_context {
                let eos = model.eos_id();
                let s = model.full_score(&state, eos, &mut out_state);
                total += s.prob;
                totals.tokens += 1;
                if options.print_words {
                    buf.extend_from_slice(b"</s>");
                    write_word_tail(&mut buf, eos, s.ngram_length, s.prob);
                }
            }
            if options.print_lines {
                buf.extend_from_slice(
                    format!("Total: {} OOV: {oov}\n", format_f32(total)).as_bytes(),
                );
            }
            totals.total += f64::from(total);
            totals.oovs += oov;
        }
        if buf.len() >= 1 << 16 {
            out.write_all(&buf).at_path("cannot write", "<output>")?;
            buf.clear();
        }
    }
    out.write_all(&buf).at_path("cannot write", "<output>")?;
    Ok(())
}

fn write_word_tail(buf: &mut Vec<u8>, id: u32, length: u8, prob: f32) {
    buf.extend_from_slice(format!("={id} {length} {}\t", format_f32(prob)).as_bytes());
}

/// Writes the corpus summary of `totals` as KenLM's `query` does.
pub fn write_summary(out: &mut dyn Write, totals: &QueryTotals) -> Result<()> {
    let text = format!(
        "Perplexity including OOVs:\t{}\nPerplexity excluding OOVs:\t{}\nOOVs:\t{}\nTokens:\t{}\n",
        format_f64(totals.perplexity_including_oovs()),
        format_f64(totals.perplexity_excluding_oovs()),
        totals.oovs,
        totals.tokens
    );
    out.write_all(text.as_bytes())
        .at_path("cannot write", "<output>")
}
