//! The two cutting modes of jieba (HMM off) over one text, reproduced from its documented
//! behaviour and observed output.
//!
//! Input: a `&str` and the [`PrefixDict`]. Output: the words, passed in order to a callback.
//! Memory: scratch vectors proportional to the longest Han block of the text (a few words per
//! character), reused across blocks.
//!
//! The text is split into maximal runs of the class `[\u4E00-\u9FD5a-zA-Z0-9+#&._%-]` (jieba's
//! `re_han_default`, here "Han blocks") and the runs between them.
//!
//! * A Han block is cut on its word DAG: from position `k`, every `j` such that `block[k..=j]` is
//!   a dictionary word with a nonzero frequency, or `k` alone when there is none.
//! * Accurate mode takes the route of maximum log probability, computed from the end:
//!   `route[k] = max over j of (ln(freq(k..=j) or 1) - ln(total)) + route[j + 1]`, ties going to
//!   the largest `j` (jieba compares `(probability, j)` tuples). Consecutive one-character ASCII
//!   letters or digits on the route are glued into one word.
//! * Full mode emits every DAG edge longer than one character, and a one-character (or single
//!   edge) word only where no earlier word covers it, with jieba's buffering of words that start
//!   with an ASCII letter or digit.
//! * Between Han blocks, `\r\n` and each whitespace character (Python's `\s`) are words of their
//!   own; in accurate mode each other character is a word, in full mode each run between two
//!   whitespace matches is one word, empty runs included (jieba yields `""` there).

use super::format::is_py_space;
use super::trie::PrefixDict;

/// Whether `c` belongs to jieba's `re_han_default` class.
#[inline]
pub(crate) fn is_han_class(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fd5}' | 'a'..='z' | 'A'..='Z' | '0'..='9' | '+' | '#' | '&' | '.' | '_' | '%' | '-')
}

/// jieba's `re_eng.match`: the first character is an ASCII letter or digit.
#[inline]
fn starts_eng(s: &str) -> bool {
    s.as_bytes()
        .first()
        .is_some_and(|b| b.is_ascii_alphanumeric())
}

/// Reusable buffers for cutting one text.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// Characters of the current block.
    chars: Vec<char>,
    /// Byte offset of each character in the block, plus the block's length.
    offsets: Vec<usize>,
    /// Accurate mode: best log probability from each position to the end.
    route_prob: Vec<f64>,
    /// Accurate mode: end (inclusive) of the first word of the best route from each position.
    route_end: Vec<usize>,
    /// Accurate mode: the dictionary node of that word (0 when it is not a dictionary word).
    route_node: Vec<u32>,
    /// Full mode: the DAG edges from the current position, with their nodes (0: no word).
    ends: Vec<(usize, u32)>,
    /// Full mode: jieba's `eng_buf` (its words need not be contiguous in the text).
    eng_buf: String,
}

/// Segmentation over a dictionary; `log_total` is `ln(total)`.
pub(crate) struct Cutter<'a> {
    pub(crate) dict: &'a PrefixDict,
    pub(crate) log_total: f64,
}

impl Cutter<'_> {
    /// Cuts `text` in accurate (`cut_all == false`) or full mode; `f` gets each word with its
    /// dictionary node (a nonzero id naming the string, see [`PrefixDict::find`]) when the word
    /// is a dictionary word, else 0.
    pub(crate) fn cut(
        &self,
        text: &str,
        cut_all: bool,
        scratch: &mut Scratch,
        f: &mut dyn FnMut(&str, u32),
    ) {
        let mut rest = text;
        while let Some(first) = rest.chars().next() {
            let han = is_han_class(first);
            let len = rest
                .char_indices()
                .find(|&(_, c)| is_han_class(c) != han)
                .map_or(rest.len(), |(i, _)| i);
            let (block, tail) = rest.split_at(len);
            if han {
                self.load_block(block, scratch);
                if cut_all {
                    self.cut_full(block, scratch, f);
                } else {
                    self.cut_accurate(block, scratch, f);
                }
            } else {
                cut_other(block, cut_all, f);
            }
            rest = tail;
        }
    }

    fn load_block(&self, block: &str, s: &mut Scratch) {
        s.chars.clear();
        s.offsets.clear();
        for (i, c) in block.char_indices() {
            s.chars.push(c);
            s.offsets.push(i);
        }
        s.offsets.push(block.len());
    }

    /// Maximum-probability route, then emission with one-character ASCII words glued.
    fn cut_accurate(&self, block: &str, s: &mut Scratch, f: &mut dyn FnMut(&str, u32)) {
        let n = s.chars.len();
        s.route_prob.clear();
        s.route_prob.resize(n + 1, 0.0);
        s.route_end.clear();
        s.route_end.resize(n + 1, 0);
        s.route_node.clear();
        s.route_node.resize(n + 1, 0);
        for k in (0..n).rev() {
            // The fallback edge k..=k (no word starts here) has frequency `None or 1` -> ln 1 = 0.
            let mut best_prob = f64::NEG_INFINITY;
            let mut best_end = k;
            let mut best_node = 0;
            let mut any = false;
            let mut node = self.dict.root();
            for j in k..n {
                let Some(step) = self.dict.child(node, s.chars[j]) else {
                    break;
                };
                node = step.node;
                if step.is_word() {
                    let p = step.ln_freq - self.log_total + s.route_prob[j + 1];
                    // Candidates come in increasing j: `>=` gives ties to the largest j.
                    if !any || p >= best_prob {
                        best_prob = p;
                        best_end = j;
                        best_node = step.node;
                        any = true;
                    }
                }
                if !step.has_children {
                    break;
                }
            }
            if !any {
                best_prob = 0.0 - self.log_total + s.route_prob[k + 1];
            }
            s.route_prob[k] = best_prob;
            s.route_end[k] = best_end;
            s.route_node[k] = best_node;
        }
        let mut x = 0;
        let mut glued: Option<usize> = None; // start of pending one-character ASCII words
        while x < n {
            let y = s.route_end[x] + 1;
            if y == x + 1 && s.chars[x].is_ascii_alphanumeric() {
                glued.get_or_insert(x);
            } else {
                if let Some(g) = glued.take() {
                    f(&block[s.offsets[g]..s.offsets[x]], 0);
                }
                f(&block[s.offsets[x]..s.offsets[y]], s.route_node[x]);
            }
            x = y;
        }
        if let Some(g) = glued {
            f(&block[s.offsets[g]..], 0);
        }
    }

    /// jieba's full mode over the DAG, with its `old_j` and `eng_buf` bookkeeping.
    fn cut_full(&self, block: &str, s: &mut Scratch, f: &mut dyn FnMut(&str, u32)) {
        let n = s.chars.len();
        let mut old_j: isize = -1;
        let mut eng_scan = false;
        s.eng_buf.clear();
        for k in 0..n {
            s.ends.clear();
            let mut node = self.dict.root();
            for j in k..n {
                let Some(step) = self.dict.child(node, s.chars[j]) else {
                    break;
                };
                node = step.node;
                if step.is_word() {
                    s.ends.push((j, step.node));
                }
                if !step.has_children {
                    break;
                }
            }
            if s.ends.is_empty() {
                s.ends.push((k, 0));
            }
            if eng_scan && !s.chars[k].is_ascii_alphanumeric() {
                eng_scan = false;
                f(&s.eng_buf, 0);
            }
            if s.ends.len() == 1 && k as isize > old_j {
                let (j, node) = s.ends[0];
                let word = &block[s.offsets[k]..s.offsets[j + 1]];
                if starts_eng(word) {
                    if !eng_scan {
                        eng_scan = true;
                        s.eng_buf.clear();
                    }
                    s.eng_buf.push_str(word);
                }
                if !eng_scan {
                    f(word, node);
                }
                old_j = j as isize;
            } else {
                for &(j, node) in &s.ends {
                    if j > k {
                        f(&block[s.offsets[k]..s.offsets[j + 1]], node);
                        old_j = j as isize;
                    }
                }
            }
        }
        if eng_scan {
            f(&s.eng_buf, 0);
        }
    }
}

/// A run between Han blocks: whitespace matches (`\r\n` or one `\s` character) are words; the
/// pieces between them are split into characters (accurate mode) or kept whole, empty ones
/// included (full mode).
fn cut_other(block: &str, cut_all: bool, f: &mut dyn FnMut(&str, u32)) {
    let mut piece_start = 0;
    let mut iter = block.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if !is_py_space(c) {
            continue;
        }
        let end = if c == '\r' && iter.peek().is_some_and(|&(_, d)| d == '\n') {
            iter.next();
            i + 2
        } else {
            i + c.len_utf8()
        };
        emit_piece(&block[piece_start..i], cut_all, f);
        f(&block[i..end], 0);
        piece_start = end;
    }
    emit_piece(&block[piece_start..], cut_all, f);
}

fn emit_piece(piece: &str, cut_all: bool, f: &mut dyn FnMut(&str, u32)) {
    if cut_all {
        f(piece, 0);
    } else {
        for (i, c) in piece.char_indices() {
            f(&piece[i..i + c.len_utf8()], 0);
        }
    }
}

impl Scratch {
    /// The number of characters the buffers can hold without growing.
    pub(crate) fn capacity_chars(&self) -> usize {
        self.chars.capacity()
    }
}
