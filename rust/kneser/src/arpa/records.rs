//! An ARPA's content without its text: n-gram records handed from a writer (the estimator) to a
//! reader's consumer (the binary model builders) with nothing formatted or parsed.
//!
//! Input: the `\data\` counts, then blocks of n-grams ([`GramBlock`]: one order, each n-gram's
//! words as bytes, log10 p and log10 backoff as the estimator computed them), in the order the
//! ARPA would list them. Output: the same calls on an [`ArpaVisitor`] that
//! [`read_arpa_from`](super::reader::read_arpa_from) makes on the text of that ARPA: `header`,
//! `ngram` per line, `end_order` per section ([`Replay`]). The values are passed through
//! [`printed`] (the print-parse rounding, defined next to the float printer), so a visitor sees
//! exactly the f32 it would read from the text; a count that differs from the header is an
//! error, as in the text.
//!
//! Line numbers in errors (a builder naming a duplicate n-gram, say) are those the n-gram would
//! have in the ARPA kneser prints without `--verbose_header`.
//!
//! Memory: a block holds its n-grams' words and values (the writer bounds its size).

use super::reader::{ArpaVisitor, LineRef};
use super::writer::printed;
use crate::error::{Error, Result};

/// Where the records of an estimate go (instead of ARPA text): see the module doc. Errors of the
/// consumer come back from [`GramSink::grams`] or [`GramSink::finish`].
pub trait GramSink: Send {
    /// The n-gram counts per order (the `\data\` header); called once, first.
    fn header(&mut self, counts: &[u64]) -> Result<()>;
    /// An empty block for n-grams of `order` (a consumed one when available).
    fn block(&mut self, order: usize) -> GramBlock;
    /// The next n-grams, after every block sent before.
    fn grams(&mut self, block: GramBlock) -> Result<()>;
    /// The model is complete: the consumer finishes its output and reports.
    fn finish(self: Box<Self>) -> Result<()>;
}

/// N-grams of one order, in ARPA order: each n-gram's words (bytes, end offsets) and its
/// log10 p and log10 backoff (`None` where the ARPA line has no backoff field).
#[derive(Debug, Default)]
pub struct GramBlock {
    order: usize,
    words: Vec<u8>,
    ends: Vec<u32>,
    values: Vec<(f32, Option<f32>)>,
}

impl GramBlock {
    /// An empty block of `order`.
    pub fn new(order: usize) -> Self {
        GramBlock {
            order,
            ..Default::default()
        }
    }

    /// Empties the block for n-grams of `order`, keeping its memory.
    pub fn reset(&mut self, order: usize) {
        self.order = order;
        self.words.clear();
        self.ends.clear();
        self.values.clear();
    }

    /// The order of its n-grams.
    pub fn order(&self) -> usize {
        self.order
    }

    /// How many n-grams it holds.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Appends an n-gram: `order` words, each appended to the buffer by `word` from its id.
    pub fn push(
        &mut self,
        ids: &[u32],
        word: impl Fn(u32, &mut Vec<u8>),
        log10p: f32,
        backoff: Option<f32>,
    ) {
        debug_assert_eq!(ids.len(), self.order);
        for &id in ids {
            word(id, &mut self.words);
            self.ends.push(self.words.len() as u32);
        }
        self.values.push((log10p, backoff));
    }

    /// Calls `visitor.ngram` for each n-gram, the first at ARPA line `first_line` of `source`.
    fn replay(&self, visitor: &mut dyn ArpaVisitor, source: &str, first_line: u64) -> Result<()> {
        let k = self.order;
        if k == 0 || k > super::reader::MAX_ARPA_ORDER || self.ends.len() != k * self.len() {
            return Err(Error::Internal(format!(
                "a block of {} n-grams of order {k} holds {} words",
                self.len(),
                self.ends.len()
            )));
        }
        let mut words: [&[u8]; super::reader::MAX_ARPA_ORDER] =
            [&[]; super::reader::MAX_ARPA_ORDER];
        let mut start = 0usize;
        for (i, &(p, b)) in self.values.iter().enumerate() {
            let at = LineRef {
                source,
                line: first_line + i as u64,
            };
            for (j, w) in words[..k].iter_mut().enumerate() {
                let end = self.ends[i * k + j] as usize;
                *w = &self.words[start..end];
                start = end;
            }
            let number = |what: &str, v: f32| {
                printed(v).ok_or_else(|| {
                    at.error(format!(
                        "the {what} is {v}, which the ARPA text cannot hold (no reader accepts it)"
                    ))
                })
            };
            let log10p = number("probability", p)?;
            // The reader gives 0 for a line without a backoff field.
            let backoff = match b {
                Some(b) => number("backoff", b)?,
                None => 0.0,
            };
            visitor.ngram(&words[..k], log10p, backoff, at)?;
        }
        Ok(())
    }
}

/// Feeds records into an [`ArpaVisitor`] as [`read_arpa_from`](super::reader::read_arpa_from)
/// would feed the ARPA's text: see the module doc.
pub struct Replay<'a> {
    source: &'a str,
    counts: Vec<u64>,
    /// The order being read (1-based); `counts.len() + 1` once every section is closed.
    order: usize,
    /// N-grams of `order` seen so far.
    seen: u64,
    /// The ARPA line of the last n-gram (or section header) passed.
    line: u64,
}

impl<'a> Replay<'a> {
    /// Starts with the header: `visitor.header(counts)`. `source` names the model in errors.
    pub fn start(source: &'a str, counts: &[u64], visitor: &mut dyn ArpaVisitor) -> Result<Self> {
        // `\data\`, one line per order, then the blank line (where the reader reports the
        // header) and `\1-grams:`.
        let header_end = 1 + counts.len() as u64;
        visitor.header(
            counts,
            LineRef {
                source,
                line: header_end + 1,
            },
        )?;
        Ok(Replay {
            source,
            counts: counts.to_vec(),
            order: 1,
            seen: 0,
            line: header_end + 2,
        })
    }

    /// Closes the section of the current order: its count must be the header's.
    fn close(&mut self, visitor: &mut dyn ArpaVisitor) -> Result<()> {
        let order = self.order;
        let expected = self.counts[order - 1];
        if self.seen != expected {
            return Err(Error::Internal(format!(
                "{}: the estimate gave {} {order}-grams but its header {expected}",
                self.source, self.seen
            )));
        }
        // The reader reports a section's end at the blank line after it.
        visitor.end_order(
            order,
            LineRef {
                source: self.source,
                line: self.line + 1,
            },
        )?;
        self.order += 1;
        self.seen = 0;
        // The blank line and the next section's header.
        self.line += 2;
        Ok(())
    }

    /// The n-grams of `block`, after the sections below its order are closed.
    pub fn block(&mut self, block: &GramBlock, visitor: &mut dyn ArpaVisitor) -> Result<()> {
        if block.is_empty() {
            return Ok(());
        }
        let k = block.order();
        if k < self.order || k > self.counts.len() {
            return Err(Error::Internal(format!(
                "{}: n-grams of order {k} after those of order {} (of {})",
                self.source,
                self.order,
                self.counts.len()
            )));
        }
        while self.order < k {
            self.close(visitor)?;
        }
        let n = block.len() as u64;
        if self.seen + n > self.counts[k - 1] {
            return Err(Error::Internal(format!(
                "{}: the estimate gives more {k}-grams than the {} of its header",
                self.source,
                self.counts[k - 1]
            )));
        }
        block.replay(visitor, self.source, self.line + 1)?;
        self.seen += n;
        self.line += n;
        Ok(())
    }

    /// The end of the model: every remaining section closed.
    pub fn end(mut self, visitor: &mut dyn ArpaVisitor) -> Result<()> {
        while self.order <= self.counts.len() {
            self.close(visitor)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arpa::reader::read_arpa_from;
    use crate::arpa::writer::format_f32;
    use crate::cancel::Cancel;

    /// Every visitor call, with the line it names.
    #[derive(Default, Debug, PartialEq)]
    struct Calls(Vec<String>);

    impl ArpaVisitor for Calls {
        fn header(&mut self, counts: &[u64], at: LineRef<'_>) -> Result<()> {
            self.0.push(format!("header {counts:?} @{}", at.line));
            Ok(())
        }
        fn ngram(&mut self, words: &[&[u8]], p: f32, b: f32, at: LineRef<'_>) -> Result<()> {
            let w: Vec<_> = words.iter().map(|w| String::from_utf8_lossy(w)).collect();
            let (p, b) = (p.to_bits(), b.to_bits());
            self.0.push(format!("{w:?} {p:#x} {b:#x} @{}", at.line));
            Ok(())
        }
        fn end_order(&mut self, order: usize, at: LineRef<'_>) -> Result<()> {
            self.0.push(format!("end {order} @{}", at.line));
            Ok(())
        }
    }

    type Gram = (Vec<&'static str>, f32, Option<f32>);

    /// The ARPA text kneser's estimator prints for these n-grams (per order).
    fn text(orders: &[Vec<Gram>]) -> Vec<u8> {
        let mut t = b"\\data\\\n".to_vec();
        for (i, o) in orders.iter().enumerate() {
            t.extend_from_slice(format!("ngram {}={}\n", i + 1, o.len()).as_bytes());
        }
        for (i, o) in orders.iter().enumerate() {
            t.extend_from_slice(format!("\n\\{}-grams:\n", i + 1).as_bytes());
            for (words, p, b) in o {
                format_f32(*p, &mut t);
                t.push(b'\t');
                t.extend_from_slice(words.join(" ").as_bytes());
                if let Some(b) = b {
                    t.push(b'\t');
                    format_f32(*b, &mut t);
                }
                t.push(b'\n');
            }
        }
        t.extend_from_slice(b"\n\\end\\\n");
        t
    }

    fn replayed(orders: &[Vec<Gram>], per_block: usize) -> Result<Calls> {
        let counts: Vec<u64> = orders.iter().map(|o| o.len() as u64).collect();
        let mut calls = Calls::default();
        let mut r = Replay::start("m", &counts, &mut calls)?;
        for (i, o) in orders.iter().enumerate() {
            for chunk in o.chunks(per_block.max(1)) {
                let mut b = GramBlock::new(i + 1);
                for (words, p, bo) in chunk {
                    let ids: Vec<u32> = (0..words.len() as u32).collect();
                    b.push(
                        &ids,
                        |id, out| out.extend_from_slice(words[id as usize].as_bytes()),
                        *p,
                        *bo,
                    );
                }
                r.block(&b, &mut calls)?;
            }
        }
        r.end(&mut calls)?;
        Ok(calls)
    }

    fn sample() -> Vec<Vec<Gram>> {
        vec![
            vec![
                (vec!["<unk>"], -1.5, Some(0.0)),
                (vec!["<s>"], 0.0, Some(-0.703_926_9)),
                (vec!["</s>"], -0.25, Some(-0.0)),
                (vec!["a"], -3.1063172e-7, Some(-1e-6)),
            ],
            vec![],
            vec![(vec!["<s>", "a", "</s>"], -0.0, None)],
        ]
    }

    #[test]
    fn replay_makes_the_readers_calls_on_the_printed_text() {
        let orders = sample();
        let mut from_text = Calls::default();
        read_arpa_from(&text(&orders)[..], "m", &mut from_text, &Cancel::new()).unwrap();
        for per_block in [1, 2, 100] {
            assert_eq!(replayed(&orders, per_block).unwrap(), from_text);
        }
    }

    #[test]
    fn a_count_off_the_header_is_an_error() {
        let mut calls = Calls::default();
        let mut r = Replay::start("m", &[2, 1], &mut calls).unwrap();
        let mut b = GramBlock::new(1);
        b.push(&[0], |_, o| o.push(b'x'), -1.0, Some(0.0));
        r.block(&b, &mut calls).unwrap();
        let mut b2 = GramBlock::new(2);
        b2.push(&[0, 0], |_, o| o.push(b'x'), -1.0, None);
        let e = r.block(&b2, &mut calls).unwrap_err().to_string();
        assert!(e.contains("gave 1 1-grams but its header 2"), "{e}");
        let nan = {
            let mut calls = Calls::default();
            let mut r = Replay::start("m", &[1], &mut calls).unwrap();
            let mut b = GramBlock::new(1);
            b.push(&[0], |_, o| o.push(b'x'), f32::NAN, Some(0.0));
            r.block(&b, &mut calls).unwrap_err().to_string()
        };
        assert!(
            nan.contains("m:5") && nan.contains("probability is NaN"),
            "{nan}"
        );
    }
}
