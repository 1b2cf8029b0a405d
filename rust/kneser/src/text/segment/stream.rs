//! Segmentation of many texts at once: batches in parallel (rayon) and line files streamed
//! through in parallel batches.
//!
//! Input: a slice of texts, or `\n`-separated lines from files (plain, gzip, xz, zstd, or `-`
//! for stdin). Output: one [`WordList`] per text, in input order; or per input line one output
//! line, the words joined by a delimiter, in input order, to a file (written atomically) or
//! stdout. Memory: for files, one batch of at most [`BATCH_LINES`] lines or [`BATCH_BYTES`]
//! bytes of input and its output; the output never depends on the number of threads.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::format::is_py_space;
use super::Segmenter;
use crate::cancel::Cancel;
use crate::error::{Error, IoContext, Location, Result};
use crate::io::{display_name, open_input, LineReader, OutputFile};

/// Most lines in one parallel batch of a file.
pub const BATCH_LINES: usize = 8192;
/// Most input bytes in one parallel batch of a file.
pub const BATCH_BYTES: usize = 4 << 20;

/// The words of one text, kept in one buffer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WordList {
    buf: String,
    ends: Vec<usize>,
    /// Each word's dictionary id ([`Segmenter::for_each_word_id`]).
    ids: Vec<u32>,
}

impl WordList {
    /// The words of `text` cut by `seg` (full mode when `cut_all`).
    pub fn cut(seg: &Segmenter, text: &str, cut_all: bool) -> Self {
        let mut list = WordList::default();
        seg.for_each_word_id(text, cut_all, &mut |w, id| {
            list.buf.push_str(w);
            list.ends.push(list.buf.len());
            list.ids.push(id);
        });
        list
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are no words.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The words in order, each with its dictionary id ([`Segmenter::for_each_word_id`]).
    pub fn iter_with_ids(&self) -> impl ExactSizeIterator<Item = (&str, u32)> + '_ {
        self.iter().zip(self.ids.iter().copied())
    }

    /// The words in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let w = &self.buf[start..end];
            start = end;
            w
        })
    }
}

/// The words of consecutive texts in one [`WordList`] (a few allocations for many texts):
/// text `i` of the batch has the words `text_ends[i - 1]..text_ends[i]` (from 0 for the first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WordBatch {
    /// The words of every text, in order.
    pub words: WordList,
    /// The number of words up to the end of each text.
    pub text_ends: Vec<usize>,
}

/// How a file is segmented and written.
#[derive(Debug, Clone)]
pub struct JoinOptions {
    /// Full mode (`cut_all`) instead of accurate mode.
    pub cut_all: bool,
    /// Written between the words of a line (a space by default).
    pub delimiter: String,
    /// Leave out words that are empty or only whitespace (Python's `str.isspace`), so that the
    /// delimiter alone separates words in the output.
    pub drop_whitespace: bool,
}

impl Default for JoinOptions {
    fn default() -> Self {
        JoinOptions {
            cut_all: false,
            delimiter: " ".to_string(),
            drop_whitespace: false,
        }
    }
}

/// What a file job did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SegmentStats {
    /// Lines read.
    pub lines: u64,
    /// Words written.
    pub words: u64,
}

/// One batch of input lines: their bytes, where each ends, their numbers and terminators.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    lines: Vec<(usize, usize, u64, bool)>,
}

impl Segmenter {
    /// Cuts every text, in parallel on rayon's pool; the result is in input order.
    pub fn cut_batch<S: AsRef<str> + Sync>(&self, texts: &[S], cut_all: bool) -> Vec<WordList> {
        texts
            .par_iter()
            .map(|t| WordList::cut(self, t.as_ref(), cut_all))
            .collect()
    }

    /// Cuts every text, in parallel on rayon's pool, into [`WordBatch`]es of consecutive texts
    /// (in input order): the same words as [`Segmenter::cut_batch`], in far fewer buffers.
    pub fn cut_batch_flat<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        cut_all: bool,
    ) -> Vec<WordBatch> {
        let chunk = texts
            .len()
            .div_ceil(rayon::current_num_threads() * 8)
            .max(64);
        texts
            .par_chunks(chunk)
            .map(|texts| {
                let mut batch = WordBatch::default();
                let list = &mut batch.words;
                for t in texts {
                    self.for_each_word_id(t.as_ref(), cut_all, &mut |w, id| {
                        list.buf.push_str(w);
                        list.ends.push(list.buf.len());
                        list.ids.push(id);
                    });
                    batch.text_ends.push(list.ends.len());
                }
                batch
            })
            .collect()
    }

    /// Segments every line of `input` into `out`: the words of each line joined by
    /// `opts.delimiter` (without the whitespace ones if `opts.drop_whitespace`), then `\n` if
    /// the input line had one. A `\r` before the `\n` counts as
    /// part of the line ending and is not segmented. Lines are processed in parallel batches
    /// and written in order; `cancel` is polled between batches.
    ///
    /// Errors: [`Error::InvalidUtf8`] naming `name` and the line; I/O errors of `out` are
    /// reported against `out_name`.
    pub fn segment_lines(
        &self,
        input: &mut dyn BufRead,
        name: &str,
        out: &mut dyn Write,
        out_name: &str,
        opts: &JoinOptions,
        cancel: &Cancel,
    ) -> Result<SegmentStats> {
        let mut reader = LineReader::new(input, name);
        let mut stats = SegmentStats::default();
        let mut batch = Batch::default();
        let mut outputs: Vec<Result<(String, u64)>> = Vec::new();
        loop {
            cancel.check()?;
            batch.bytes.clear();
            batch.lines.clear();
            while batch.lines.len() < BATCH_LINES && batch.bytes.len() < BATCH_BYTES {
                let Some(line) = reader.next_line()? else {
                    break;
                };
                let mut bytes = line.bytes;
                if line.terminated {
                    bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
                }
                let start = batch.bytes.len();
                batch.bytes.extend_from_slice(bytes);
                batch
                    .lines
                    .push((start, batch.bytes.len(), line.number, line.terminated));
            }
            if batch.lines.is_empty() {
                return Ok(stats);
            }
            let Batch { bytes, lines } = &batch;
            batch_outputs(self, bytes, lines, name, opts, &mut outputs);
            for result in outputs.drain(..) {
                let (text, words) = result?;
                out.write_all(text.as_bytes())
                    .at_path("cannot write", out_name)?;
                stats.words += words;
            }
            stats.lines += lines.len() as u64;
        }
    }

    /// Segments the lines of every file of `inputs` (`-` is stdin) into `output` (`-` is
    /// stdout), as [`Segmenter::segment_lines`] does. A file output appears only when complete.
    pub fn segment_files(
        &self,
        inputs: &[PathBuf],
        output: &Path,
        opts: &JoinOptions,
        cancel: &Cancel,
    ) -> Result<SegmentStats> {
        if inputs.is_empty() {
            return Err(Error::InvalidArgument("no input file given".into()));
        }
        let out_name = display_name(output);
        let out_name = if out_name == "<stdin>" {
            "<stdout>".to_string()
        } else {
            out_name
        };
        let mut total = SegmentStats::default();
        // Claimed before any work: stdout for `-`, refused when it is one of the inputs.
        let mut out = OutputFile::create_for(output, inputs)?;
        for path in inputs {
            let mut input = open_input(path)?;
            let s = self.segment_lines(
                &mut input,
                &display_name(path),
                &mut out,
                &out_name,
                opts,
                cancel,
            )?;
            total.lines += s.lines;
            total.words += s.words;
        }
        out.commit()?;
        Ok(total)
    }
}

/// Segments a batch in parallel into output chunks (about 64 lines each), in order.
fn batch_outputs(
    seg: &Segmenter,
    bytes: &[u8],
    lines: &[(usize, usize, u64, bool)],
    name: &str,
    opts: &JoinOptions,
    outputs: &mut Vec<Result<(String, u64)>>,
) {
    lines
        .par_chunks(64)
        .map(|chunk| {
            let mut text = String::new();
            let mut words = 0u64;
            for &(start, end, number, terminated) in chunk {
                let line =
                    std::str::from_utf8(&bytes[start..end]).map_err(|e| Error::InvalidUtf8 {
                        at: Location::new(name, number),
                        byte_offset: e.valid_up_to(),
                    })?;
                let mut first = true;
                seg.cut_with(line, opts.cut_all, &mut |w| {
                    if opts.drop_whitespace && w.chars().all(is_py_space) {
                        return;
                    }
                    if !first {
                        text.push_str(&opts.delimiter);
                    }
                    first = false;
                    text.push_str(w);
                    words += 1;
                });
                if terminated {
                    text.push('\n');
                }
            }
            Ok((text, words))
        })
        .collect_into_vec(outputs);
}
