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
//! in exponent form below 1e-6 and from 1e21 in magnitude, as KenLM's printer. With sentence context off (`-n`)
//! there is no `<s>` context and no `</s>`. Text after the last newline is scored word by word,
//! but, as in KenLM, gets no `</s>` and no `Total:` line, and its words count as tokens but not
//! in the total (KenLM's quirk, kept for identical figures).
//!
//! Memory: one line buffer and the output buffer.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use crate::arpa::reader::is_arpa_space;
use crate::cancel::Cancel;
use crate::error::{IoContext, Result};
use crate::io::{display_name, open_input, LineReader, Output};

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
    /// Write and flush the report after every line instead of in 64 KiB blocks (`query -b`,
    /// "do not buffer output": a line's scores can be read before the next line is sent).
    pub flush: bool,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            sentence_context: true,
            print_words: true,
            print_lines: true,
            print_summary: true,
            flush: false,
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

/// Formats an `f32` as KenLM's `query` prints it: the digits of the one printer,
/// [`crate::arpa::writer::format_f32`] (shortest round-trip digits, exponent form below 1e-6 and
/// from 1e21), and the sign of a -0.0 (a log10 p of 0 read back from a model carries the sign
/// bit, and KenLM's printer, double-conversion without `UNIQUE_ZERO`, prints `-0`).
pub fn format_f32(x: f32) -> String {
    let mut out = Vec::with_capacity(16);
    if x == 0.0 && x.is_sign_negative() {
        out.push(b'-');
    }
    crate::arpa::writer::format_f32(x, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Formats an `f64` as KenLM prints it: shortest round-trip digits, exponent form below 1e-6
/// and from 1e21 in magnitude ([`crate::arpa::writer::is_fixed_exponent`]).
pub fn format_f64(x: f64) -> String {
    format_shortest(format!("{x}"), format!("{x:e}"), x)
}

/// Picks the fixed or exponent form, and breaks ties as double-conversion does.
///
/// Rust's shortest digits round a tie (the exact value halfway between two shortest
/// candidates, e.g. -3.16015625 between -3.1601562 and -3.1601563) up; KenLM's printer takes the
/// even last digit. `exact` is the value (an `f32` is exact in `f64`).
fn format_shortest(fixed: String, sci: String, exact: f64) -> String {
    if !exact.is_finite() {
        // KenLM's converter (util/float_to_string.cc) names them "inf" and "NaN": the
        // perplexity of an input without tokens is 0/0.
        return if exact.is_nan() {
            "NaN".to_string()
        } else if exact < 0.0 {
            "-inf".to_string()
        } else {
            "inf".to_string()
        };
    }
    // The shortest digits and exponent, from the scientific form `-d.ddde-N`.
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let use_sci = exact != 0.0 && !crate::arpa::writer::is_fixed_exponent(exp);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let k = digits.len();
    // A tie needs the exact value to have k + 1 significant digits, the last a 5: check cheaply
    // before expanding the value exactly.
    let quick = format!("{:.*e}", k, exact.abs());
    let maybe_tie = quick.split_once('e').is_some_and(|(m, _)| m.ends_with('5'))
        && quick.parse::<f64>().ok() == Some(exact.abs());
    if !maybe_tie {
        return if use_sci { sci } else { fixed };
    }
    // The exact expansion (an f64 has at most 767 significant digits).
    let full = format!("{:.*e}", k + 780, exact.abs());
    let (full_mantissa, full_exp) = full.split_once('e').unwrap_or((&full, "0"));
    let full_digits: String = full_mantissa
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    let tie = full_exp.parse::<i32>().ok() == Some(exp)
        && full_digits.as_bytes().get(k) == Some(&b'5')
        && full_digits[k + 1..].bytes().all(|b| b == b'0');
    let last_odd = digits.bytes().last().is_some_and(|d| (d - b'0') % 2 == 1);
    if tie && last_odd && full_digits[..k] != digits[..] {
        // Rust rounded up; take the truncated (even) candidate.
        let down = &full_digits[..k];
        return if use_sci {
            sci_form(negative, down, exp)
        } else {
            fixed_form(negative, down, exp)
        };
    }
    if use_sci {
        sci
    } else {
        fixed
    }
}

fn sci_form(negative: bool, digits: &str, exp: i32) -> String {
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let sign = if negative { "-" } else { "" };
    if digits.len() == 1 {
        format!("{sign}{digits}e{exp}")
    } else {
        format!("{sign}{}.{}e{exp}", &digits[..1], &digits[1..])
    }
}

fn fixed_form(negative: bool, digits: &str, exp: i32) -> String {
    let sign = if negative { "-" } else { "" };
    let point = exp + 1; // digits before the decimal point
    let (int, frac) = if point <= 0 {
        (
            "0".to_string(),
            format!("{}{digits}", "0".repeat(point.unsigned_abs() as usize)),
        )
    } else if point as usize >= digits.len() {
        (
            format!("{digits}{}", "0".repeat(point as usize - digits.len())),
            String::new(),
        )
    } else {
        (
            digits[..point as usize].to_string(),
            digits[point as usize..].to_string(),
        )
    };
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// KenLM's `query` over files: scores every line of `inputs` (paths, `-` for stdin, any
/// compression) in order, writes the report and, when asked, the corpus summary to `output`, and
/// returns the corpus figures. The output is claimed before any input is read (one of `inputs`
/// as the output is refused) and appears only when complete.
///
/// Args:
///     model: the language model.
///     inputs: the text files.
///     output: where the report goes ([`Output::Path`] `-` is stdout).
///     options: what to print.
///     cancel: polled every 4096 lines.
///
/// Example:
///     `let totals = run_query(&lm, &[PathBuf::from("-")], Output::Path("-".into()), QueryOptions::default(), &c)?;`
pub fn run_query(
    model: &Model,
    inputs: &[PathBuf],
    output: Output,
    options: QueryOptions,
    cancel: &Cancel,
) -> Result<QueryTotals> {
    let mut out = output.open(inputs)?;
    let mut totals = QueryTotals::default();
    for path in inputs {
        let input = open_input(path)?;
        query_input(
            model,
            input,
            &display_name(path),
            &mut out,
            options,
            &mut totals,
            cancel,
        )?;
    }
    if options.print_summary {
        write_summary(&mut out, &totals)?;
    }
    out.finish()?;
    Ok(totals)
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
        if line.number.is_multiple_of(4096) {
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
        if options.flush || buf.len() >= 1 << 16 {
            out.write_all(&buf).at_path("cannot write", "<output>")?;
            buf.clear();
        }
        if options.flush {
            out.flush().at_path("cannot write", "<output>")?;
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
