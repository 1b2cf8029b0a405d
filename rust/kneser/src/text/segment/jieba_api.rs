//! The rest of jieba's `Tokenizer` API on top of the segmenter: user-dictionary lines read as
//! bytes or as text, `suggest_freq` for a forced split, `cut_for_search` and `tokenize`.
//!
//! Input: text (`&str`) and dictionary lines. Output: words (with their character offsets for
//! `tokenize`) passed to a callback, in jieba's order; frequencies. Memory: the words of one
//! accurate-mode word at a time. Each function states the jieba 0.42.1 code it reproduces.

use super::format::{parse_user_line, parse_user_text_line, UserEntry};
use super::Segmenter;
use crate::error::{Error, Result};

/// One line of a user dictionary as the caller read it.
#[derive(Debug, Clone, Copy)]
pub enum UserDictLine<'a> {
    /// Raw bytes, as jieba reads a path (opened `'rb'`) or a binary file object: stripped of
    /// ASCII whitespace, decoded as UTF-8, leading byte-order marks dropped.
    Bytes(&'a [u8]),
    /// Text, from a file object opened in text mode: stripped with Python's `str.strip()`;
    /// byte-order marks are kept (jieba drops them only from bytes).
    Text(&'a str),
}

/// The frequency of a piece for `suggest_freq`: `FREQ.get(piece, 1)`.
fn freq_or_one(seg: &Segmenter, piece: &str) -> f64 {
    seg.table_freq(piece).unwrap_or(1) as f64
}

impl Segmenter {
    /// Adds one line of a user dictionary, as jieba's `load_userdict` does for each line:
    /// blank lines are skipped; the entry `word [freq] [tag]` is added with `add_word` (a
    /// missing frequency suggested from the dictionary as it is at that line). Tags are
    /// accepted and not kept (kneser has no part-of-speech tagging).
    ///
    /// Errors: [`Error::Format`] naming `source` and `number` for invalid UTF-8 or a frequency
    /// that is not an integer; [`Error::InvalidArgument`] is never returned for a parsed line.
    pub fn add_userdict_line(
        &mut self,
        line: UserDictLine<'_>,
        source: &str,
        number: u64,
    ) -> Result<()> {
        let parsed = match line {
            UserDictLine::Bytes(bytes) => parse_user_line(bytes),
            UserDictLine::Text(text) => parse_user_text_line(text),
        };
        match parsed {
            Ok(Some(UserEntry { word, freq, .. })) => {
                let freq = match freq {
                    Some(f) => f,
                    None => self.suggest_freq(word),
                };
                self.insert(word, freq, source, number)
            }
            Ok(None) => Ok(()),
            Err(message) => Err(Error::format(source, number, message)),
        }
    }

    /// The frequency jieba's `suggest_freq(segments)` gives for a tuple: low enough that the
    /// concatenated word is cut into `segments`. It is `min(int(P * total), freq(word))` where
    /// `P` is the product of `freq(s) / total` over the segments (a segment absent from the
    /// table counting 1, a prefix 0) and `freq(word)` is 0 when the word is absent.
    ///
    /// Example:
    /// ```
    /// use kneser::text::segment::Segmenter;
    /// let mut seg = Segmenter::new();
    /// for (w, f) in [("中", 50), ("将", 30), ("中将", 40)] {
    ///     seg.add_word(w, Some(f)).unwrap();
    /// }
    /// assert_eq!(seg.suggest_split_freq(&["中", "将"]), 12);  // int(50 * 30 / 120)
    /// ```
    pub fn suggest_split_freq(&self, segments: &[&str]) -> u64 {
        let total = self.total as f64;
        let mut p = 1.0f64;
        for s in segments {
            p *= freq_or_one(self, s) / total;
        }
        let word: String = segments.concat();
        // Python's int() truncates; NaN (an empty dictionary) becomes 0 here.
        let split = (p * total) as u64;
        split.min(self.table_freq(&word).unwrap_or(0))
    }

    /// Calls `f` with the words of jieba's `cut_for_search(text, HMM=False)`: each accurate-mode
    /// word, preceded (when it has more than 2 characters) by its 2-character pieces that are
    /// words of the dictionary (frequency above 0), then (more than 3 characters) its
    /// 3-character ones, left to right.
    pub fn for_each_word_search(&self, text: &str, f: &mut dyn FnMut(&str)) {
        self.for_each_token(text, true, &mut |w, _, _| f(w));
    }

    /// Calls `f` with jieba's `tokenize(text, mode, HMM=False)`: each word with its start and
    /// end offsets in characters (Python's `str` indices). `search` is jieba's `mode="search"`:
    /// the dictionary words of 2 and 3 characters inside longer words come first, as in
    /// [`Segmenter::for_each_word_search`].
    pub fn for_each_token(&self, text: &str, search: bool, f: &mut dyn FnMut(&str, usize, usize)) {
        let mut start = 0usize;
        let mut bounds: Vec<usize> = Vec::new();
        self.for_each_word(text, &mut |w| {
            // Byte offsets of the word's characters, and its end.
            bounds.clear();
            bounds.extend(w.char_indices().map(|(i, _)| i));
            let width = bounds.len();
            bounds.push(w.len());
            if search {
                for n in [2usize, 3] {
                    if width > n {
                        for i in 0..=width - n {
                            let piece = &w[bounds[i]..bounds[i + n]];
                            if self.table_freq(piece).unwrap_or(0) > 0 {
                                f(piece, start + i, start + i + n);
                            }
                        }
                    }
                }
            }
            f(w, start, start + width);
            start += width;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    // Expected values from jieba 0.42.1 on the same dictionary
    // (`jieba.Tokenizer(dictionary=...)`).
    const DICT: &str = "中 50\n将 30\n中将 40\n中华 10\n华人 8\n人民 20\n中华人民 5\n\
共和国 6\n共和 4\n和国 1\n中华人民共和国 3\n";

    fn seg() -> Segmenter {
        Segmenter::from_reader(Cursor::new(DICT), "d.txt").expect("dictionary")
    }

    #[test]
    fn split_frequency() {
        let s = seg();
        assert_eq!(s.total(), 177);
        // int(50/177 * 30/177 * 177) = int(8.47...) = 8, below freq(中将) = 40.
        assert_eq!(s.suggest_split_freq(&["中", "将"]), 8);
        // The word is absent: freq(word) counts 0.
        assert_eq!(s.suggest_split_freq(&["将", "中"]), 0);
        let mut s = s;
        let f = s.suggest_split_freq(&["中", "将"]);
        s.add_word("中将", Some(f)).expect("add");
        assert_eq!(s.cut("中将", false), ["中", "将"]);
    }

    #[test]
    fn search_mode_and_offsets() {
        let s = seg();
        let mut words = Vec::new();
        s.for_each_word_search("中华人民共和国万岁", &mut |w| {
            words.push(w.to_string())
        });
        assert_eq!(
            words,
            [
                "中华",
                "华人",
                "人民",
                "共和",
                "和国",
                "共和国",
                "中华人民共和国",
                "万",
                "岁"
            ]
        );
        let tokens = |search| {
            let mut out = Vec::new();
            s.for_each_token("ab中华人民共和国", search, &mut |w, a, b| {
                out.push((w.to_string(), a, b))
            });
            out
        };
        let owned = |v: &[(&str, usize, usize)]| -> Vec<(String, usize, usize)> {
            v.iter().map(|&(w, a, b)| (w.to_string(), a, b)).collect()
        };
        assert_eq!(
            tokens(false),
            owned(&[("ab", 0, 2), ("中华人民共和国", 2, 9)])
        );
        assert_eq!(
            tokens(true),
            owned(&[
                ("ab", 0, 2),
                ("中华", 2, 4),
                ("华人", 3, 5),
                ("人民", 4, 6),
                ("共和", 6, 8),
                ("和国", 7, 9),
                ("共和国", 6, 9),
                ("中华人民共和国", 2, 9),
            ])
        );
    }

    #[test]
    fn user_lines_as_bytes_and_text() {
        let mut s = seg();
        s.add_userdict_line(
            UserDictLine::Bytes("\u{feff}云计算 7 n\r\n".as_bytes()),
            "u",
            1,
        )
        .expect("line");
        assert_eq!(s.table_freq("云计算"), Some(7));
        s.add_userdict_line(UserDictLine::Text("\u{3000}石墨烯 9\n"), "u", 2)
            .expect("line");
        assert_eq!(s.table_freq("石墨烯"), Some(9));
        s.add_userdict_line(UserDictLine::Text("\u{feff}词 2"), "u", 3)
            .expect("line");
        assert_eq!(s.table_freq("\u{feff}词"), Some(2));
        s.add_userdict_line(UserDictLine::Bytes(b"  \n"), "u", 4)
            .expect("blank");
        let e = s
            .add_userdict_line(UserDictLine::Bytes(b"\xff 1"), "u.txt", 5)
            .expect_err("bad utf-8");
        assert!(e.to_string().contains("u.txt:5"), "{e}");
    }
}
