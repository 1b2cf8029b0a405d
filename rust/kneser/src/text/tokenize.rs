//! Tokenizers: lmplz's whitespace rule, Unicode words, CJK characters, punctuation splitting,
//! and a hook for custom splitters (a Chinese word segmenter).
//!
//! Input: text (`&str`). Output: its tokens in order, passed one by one to a callback (so no
//! token is allocated unless a transformation such as lowercasing needs it). Memory: one scratch
//! string per call.
//!
//! The contract other modules rely on (vocab, pipeline, bindings): [`Tokenizer`] is `Send +
//! Sync`, cheap to share in an `Arc`, and [`Tokenizer::for_each_token`] is deterministic.
//!
//! ## Modes
//!
//! * [`Mode::Whitespace`]: lmplz's rule: runs of space, tab, CR, LF and NUL separate tokens;
//!   nothing else does (NBSP and U+3000 stay inside tokens).
//! * [`Mode::UnicodeWords`]: the text is split on Unicode `White_Space`, then each piece into
//!   the words of UAX #29 word segmentation (`unicode-segmentation`'s `unicode_words`):
//!   segments holding at least one letter or digit; punctuation, symbols and spaces are
//!   dropped. `"can't stop."` gives `can't`, `stop`.
//! * [`Mode::CjkChars`]: every Han, kana or hangul character ([`is_cjk`]) is a token; runs of
//!   other letters and digits (Latin, Cyrillic, digits...) are kept whole; every other
//!   character (punctuation, symbols) is a token of its own; whitespace and control characters
//!   separate. Combining marks stay with the character before them.
//! * [`Mode::Punctuation`]: whitespace and control characters separate tokens, and every
//!   punctuation character ([`is_punctuation`]) is a token of its own (`"Hi, you!"` gives
//!   `Hi`, `,`, `you`, `!`).
//! * [`Mode::SentencePiece`]: the pieces of a SentencePiece model
//!   ([`super::sentencepiece`]), its own normalization included.
//! * [`Mode::Custom`]: the hook for another splitter, such as the dictionary-based Chinese
//!   segmenter: a shared function `Fn(&str, &mut dyn FnMut(&str))` that calls its second
//!   argument with each token. Build one with [`Tokenizer::custom`]; lowercasing and stopwords
//!   apply to its tokens as to any other mode. Empty tokens it emits are dropped.
//!
//! ## Options
//!
//! Lowercasing (Unicode full case mapping, per token) runs after splitting; stopword removal
//! runs last and matches the lowercased token exactly.

use std::fmt;
use std::sync::Arc;

use rayon::prelude::*;
use unicode_segmentation::UnicodeSegmentation;

use super::chars::{is_cjk, is_mark, is_punctuation};
use super::sentencepiece::SentencePiece;
use super::stopwords::Stopwords;
use super::whitespace::{lmplz_spans, Rule};

/// A custom splitting function: calls its second argument with each token of its first.
pub type SplitFn = Arc<dyn Fn(&str, &mut dyn FnMut(&str)) + Send + Sync>;

/// How text is split into tokens (see the module doc for the exact rules).
#[derive(Clone)]
pub enum Mode {
    /// lmplz's rule: runs of space, tab, CR, LF and NUL separate tokens.
    Whitespace,
    /// UAX #29 words (segments with a letter or digit).
    UnicodeWords,
    /// One token per Han, kana or hangul character; other letter and digit runs whole.
    CjkChars,
    /// Whitespace splitting with each punctuation character a token of its own.
    Punctuation,
    /// SentencePiece pieces of a loaded model (its own normalization included), exactly as
    /// `sentencepiece.SentencePieceProcessor.encode_as_pieces`.
    SentencePiece(Arc<SentencePiece>),
    /// A custom splitter, named for display.
    Custom {
        /// A name for messages and `repr` (e.g. `"segmenter"`).
        name: String,
        /// The splitting function.
        split: SplitFn,
    },
}

impl Mode {
    /// The mode named `name`: `whitespace`, `unicode-words`, `cjk-chars` or `punctuation`.
    pub fn from_name(name: &str) -> Option<Mode> {
        Some(match name {
            "whitespace" => Mode::Whitespace,
            "unicode-words" => Mode::UnicodeWords,
            "cjk-chars" => Mode::CjkChars,
            "punctuation" => Mode::Punctuation,
            _ => return None,
        })
    }

    /// The whitespace rule this mode splits on: no token holds a character that is whitespace
    /// under it ([`Rule::Lmplz`] for `whitespace`, [`Rule::Unicode`] for the others; the cjk-chars
    /// and punctuation modes also separate on control characters). `None` for a custom
    /// splitter and for SentencePiece, which follow their own rule (SentencePiece escapes only
    /// the space, as `▁`, after its model's normalization).
    pub fn whitespace_rule(&self) -> Option<Rule> {
        match self {
            Mode::Whitespace => Some(Rule::Lmplz),
            Mode::UnicodeWords | Mode::CjkChars | Mode::Punctuation => Some(Rule::Unicode),
            Mode::SentencePiece(_) | Mode::Custom { .. } => None,
        }
    }

    /// The name of the mode (a custom mode's own name).
    pub fn name(&self) -> &str {
        match self {
            Mode::Whitespace => "whitespace",
            Mode::UnicodeWords => "unicode-words",
            Mode::CjkChars => "cjk-chars",
            Mode::Punctuation => "punctuation",
            Mode::SentencePiece(_) => "sentencepiece",
            Mode::Custom { name, .. } => name,
        }
    }
}

impl fmt::Debug for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Custom { name, .. } => write!(f, "Custom({name:?})"),
            other => f.write_str(other.name()),
        }
    }
}

impl PartialEq for Mode {
    fn eq(&self, other: &Mode) -> bool {
        match (self, other) {
            (Mode::Custom { split: a, .. }, Mode::Custom { split: b, .. }) => Arc::ptr_eq(a, b),
            (Mode::SentencePiece(a), Mode::SentencePiece(b)) => Arc::ptr_eq(a, b),
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}

/// A configured tokenizer.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    mode: Mode,
    lowercase: bool,
    stopwords: Option<Arc<Stopwords>>,
}

/// How the character-class scanner treats a character.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Separates tokens and is dropped.
    Space,
    /// Joins the token before it.
    Mark,
    /// A token by itself.
    Single,
    /// Part of a run kept whole.
    Run,
}

/// Splits `text` by character classes (the cjk-chars and punctuation modes).
fn scan(text: &str, class: impl Fn(char) -> Class, f: &mut dyn FnMut(&str)) {
    let mut start: Option<usize> = None;
    let mut single = false;
    for (i, c) in text.char_indices() {
        let k = class(c);
        match k {
            Class::Mark if start.is_some() => continue,
            Class::Run if start.is_some() && !single => continue,
            _ => {}
        }
        if let Some(s) = start.take() {
            f(&text[s..i]);
        }
        if k != Class::Space {
            start = Some(i);
            single = k == Class::Single;
        }
    }
    if let Some(s) = start {
        f(&text[s..]);
    }
}

fn is_separator(c: char) -> bool {
    Rule::Unicode.is_space(c) || c.is_control()
}

fn cjk_class(c: char) -> Class {
    if is_separator(c) {
        Class::Space
    } else if is_mark(c) {
        Class::Mark
    } else if is_cjk(c) {
        Class::Single
    } else if c.is_alphanumeric() {
        Class::Run
    } else {
        Class::Single
    }
}

fn punct_class(c: char) -> Class {
    if is_separator(c) {
        Class::Space
    } else if is_punctuation(c) {
        Class::Single
    } else if is_mark(c) {
        Class::Mark
    } else {
        Class::Run
    }
}

/// Lowercases `tok`, borrowing it when it has nothing to lowercase.
fn lowercase<'a>(tok: &'a str, scratch: &'a mut String) -> &'a str {
    if tok.is_ascii() {
        if !tok.bytes().any(|b| b.is_ascii_uppercase()) {
            return tok;
        }
        scratch.clear();
        scratch.push_str(tok);
        scratch.make_ascii_lowercase();
    } else {
        *scratch = tok.to_lowercase();
    }
    scratch
}

impl Tokenizer {
    /// A tokenizer of the given mode, without lowercasing or stopwords.
    pub fn new(mode: Mode) -> Self {
        Tokenizer {
            mode,
            lowercase: false,
            stopwords: None,
        }
    }

    /// lmplz's whitespace tokenizer, no other processing.
    pub fn whitespace() -> Self {
        Tokenizer::new(Mode::Whitespace)
    }

    /// A tokenizer calling `split` to split text (the hook for a Chinese segmenter).
    ///
    /// Example:
    /// ```
    /// use kneser::text::tokenize::Tokenizer;
    /// let t = Tokenizer::custom("commas", |s: &str, f: &mut dyn FnMut(&str)| s.split(',').for_each(f));
    /// assert_eq!(t.tokenize("a,b,,c"), vec!["a", "b", "c"]);
    /// ```
    pub fn custom<F>(name: impl Into<String>, split: F) -> Self
    where
        F: Fn(&str, &mut dyn FnMut(&str)) + Send + Sync + 'static,
    {
        Tokenizer::new(Mode::Custom {
            name: name.into(),
            split: Arc::new(split),
        })
    }

    /// This tokenizer with lowercasing on or off.
    #[must_use]
    pub fn with_lowercase(mut self, lowercase: bool) -> Self {
        self.lowercase = lowercase;
        self
    }

    /// This tokenizer dropping the tokens in `stopwords` (after lowercasing).
    #[must_use]
    pub fn with_stopwords(mut self, stopwords: Option<Stopwords>) -> Self {
        self.stopwords = stopwords.map(Arc::new);
        self
    }

    /// The splitting mode.
    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    /// Whether tokens are lowercased.
    pub fn lowercases(&self) -> bool {
        self.lowercase
    }

    /// The stopwords removed, if any.
    pub fn stopwords(&self) -> Option<&Stopwords> {
        self.stopwords.as_deref()
    }

    /// Calls `f` with each raw token of `text` (before lowercasing and stopwords).
    fn split(&self, text: &str, f: &mut dyn FnMut(&str)) {
        match &self.mode {
            // Rule::Lmplz's split, as byte ranges (its separators are ASCII, so every range
            // is on character boundaries).
            Mode::Whitespace => {
                for (start, end) in lmplz_spans(text.as_bytes()) {
                    f(text.get(start..end).unwrap_or_default());
                }
            }
            // Split on White_Space first: UAX #29 attaches a combining mark to the space before
            // it (rule WB4), which would give a word holding a space (" \u{D46}").
            Mode::UnicodeWords => Rule::Unicode
                .split(text)
                .flat_map(UnicodeSegmentation::unicode_words)
                .for_each(f),
            Mode::CjkChars => scan(text, cjk_class, f),
            Mode::Punctuation => scan(text, punct_class, f),
            Mode::SentencePiece(sp) => {
                let mut scratch = String::new();
                sp.for_each_piece(text, &mut scratch, f)
            }
            Mode::Custom { split, .. } => split(text, &mut |t: &str| {
                if !t.is_empty() {
                    f(t)
                }
            }),
        }
    }

    /// Calls `f` with each token of `text`, in order.
    ///
    /// Example:
    /// ```
    /// use kneser::text::tokenize::{Mode, Tokenizer};
    /// let t = Tokenizer::new(Mode::CjkChars).with_lowercase(true);
    /// let mut toks = Vec::new();
    /// t.for_each_token("我爱NLP 2024!", &mut |s| toks.push(s.to_string()));
    /// assert_eq!(toks, vec!["我", "爱", "nlp", "2024", "!"]);
    /// ```
    pub fn for_each_token(&self, text: &str, f: &mut dyn FnMut(&str)) {
        if !self.lowercase && self.stopwords.is_none() {
            return self.split(text, f);
        }
        let mut scratch = String::new();
        self.split(text, &mut |tok: &str| {
            let tok = if self.lowercase {
                lowercase(tok, &mut scratch)
            } else {
                tok
            };
            if self.stopwords.as_ref().is_some_and(|sw| sw.contains(tok)) {
                return;
            }
            f(tok);
        });
    }

    /// The tokens of `text` as owned strings (convenience; prefer [`Tokenizer::for_each_token`]).
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.for_each_token(text, &mut |t| out.push(t.to_string()));
        out
    }

    /// The tokens of `text` in one allocation ([`FlatTokens`]).
    pub fn flat_tokens(&self, text: &str) -> FlatTokens {
        let mut flat = FlatTokens {
            text: String::with_capacity(text.len()),
            ends: Vec::new(),
        };
        self.for_each_token(text, &mut |t| {
            flat.text.push_str(t);
            flat.ends.push(flat.text.len());
        });
        flat
    }

    /// [`Tokenizer::flat_tokens`] of every text of `texts` in parallel (rayon); the output keeps
    /// the input order.
    pub fn flat_tokens_batch<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Vec<FlatTokens> {
        texts
            .par_iter()
            .with_min_len(64)
            .map(|t| self.flat_tokens(t.as_ref()))
            .collect()
    }
}

/// The tokens of one text, concatenated: token `i` is `text[ends[i-1]..ends[i]]` (from 0 for
/// the first), so a batch of texts costs two allocations a text, not one a token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlatTokens {
    /// The tokens, back to back.
    pub text: String,
    /// The byte offset in `text` where each token ends.
    pub ends: Vec<usize>,
}

impl FlatTokens {
    /// The tokens in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(self.ends.iter()).map(|(s, &e)| &self.text[s..e])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(mode: Mode, s: &str) -> Vec<String> {
        Tokenizer::new(mode).tokenize(s)
    }

    #[test]
    fn flat_tokens_hold_the_same_tokens_in_order() {
        let t = Tokenizer::new(Mode::CjkChars).with_lowercase(true);
        let texts = ["我爱NLP 2024!", "", "  ", "a  bc"];
        let flats = t.flat_tokens_batch(&texts);
        assert_eq!(flats.len(), texts.len());
        for (flat, text) in flats.iter().zip(texts) {
            assert_eq!(flat.iter().collect::<Vec<_>>(), t.tokenize(text));
            assert_eq!(*flat, t.flat_tokens(text));
        }
        assert_eq!(flats[2], FlatTokens::default());
    }

    #[test]
    fn whitespace_follows_lmplz() {
        let t = Tokenizer::whitespace();
        assert_eq!(t.tokenize(" a\tb\u{a0}c \r\n"), vec!["a", "b\u{a0}c"]);
    }

    #[test]
    fn unicode_words() {
        assert_eq!(
            toks(Mode::UnicodeWords, "Can't stop, won't stop! 3.14 — ok"),
            vec!["Can't", "stop", "won't", "stop", "3.14", "ok"]
        );
    }

    #[test]
    fn cjk_chars() {
        assert_eq!(
            toks(
                Mode::CjkChars,
                "我爱北京2024年，Hello-world！カタカナ 한국어"
            ),
            vec![
                "我", "爱", "北", "京", "2024", "年", "，", "Hello", "-", "world", "！", "カ",
                "タ", "カ", "ナ", "한", "국", "어"
            ]
        );
        assert_eq!(
            toks(Mode::CjkChars, "cafe\u{301} は\u{3099}"),
            vec!["cafe\u{301}", "は\u{3099}"]
        );
        assert_eq!(toks(Mode::CjkChars, "\u{301}x\0y"), vec!["\u{301}x", "y"]);
    }

    #[test]
    fn punctuation() {
        assert_eq!(
            toks(Mode::Punctuation, "Hi, you!! (ok)\u{3000}$5"),
            vec!["Hi", ",", "you", "!", "!", "(", "ok", ")", "$", "5"]
        );
    }

    #[test]
    fn lowercase_and_stopwords() {
        let t = Tokenizer::new(Mode::UnicodeWords)
            .with_lowercase(true)
            .with_stopwords(Some(Stopwords::english()));
        assert_eq!(t.tokenize("The CAT and the ΟΔΟΣ"), vec!["cat", "οδος"]);
        let zh = Tokenizer::new(Mode::CjkChars).with_stopwords(Some(Stopwords::chinese()));
        assert_eq!(zh.tokenize("我的书"), vec!["书"]);
    }

    #[test]
    fn custom_hook() {
        let t = Tokenizer::custom("pairs", |s: &str, f: &mut dyn FnMut(&str)| {
            let cs: Vec<(usize, char)> = s.char_indices().collect();
            for pair in cs.chunks(2) {
                let start = pair[0].0;
                let end = pair.last().map_or(start, |(i, c)| i + c.len_utf8());
                f(&s[start..end]);
            }
        })
        .with_lowercase(true);
        assert_eq!(t.tokenize("ABcde"), vec!["ab", "cd", "e"]);
        assert_eq!(t.mode().name(), "pairs");
        assert_eq!(t.mode(), &t.clone().mode().clone());
    }

    #[test]
    fn is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Tokenizer>();
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn no_mode_panics_and_no_token_is_empty(s in any::<String>(), lower in any::<bool>()) {
                for mode in [Mode::Whitespace, Mode::UnicodeWords, Mode::CjkChars, Mode::Punctuation] {
                    let t = Tokenizer::new(mode).with_lowercase(lower);
                    for tok in t.tokenize(&s) {
                        prop_assert!(!tok.is_empty());
                    }
                }
            }

            #[test]
            fn scanners_keep_every_non_separator(s in any::<String>()) {
                for mode in [Mode::CjkChars, Mode::Punctuation] {
                    let joined: String = Tokenizer::new(mode).tokenize(&s).concat();
                    let kept: String = s.chars().filter(|&c| !is_separator(c)).collect();
                    prop_assert_eq!(joined, kept);
                }
            }
        }
    }

    mod rules {
        use super::*;
        use proptest::prelude::*;

        const NAMED: [&str; 4] = ["whitespace", "unicode-words", "cjk-chars", "punctuation"];

        #[test]
        fn every_named_mode_names_its_rule() {
            let rules: Vec<&str> = NAMED
                .iter()
                .map(|n| {
                    Mode::from_name(n)
                        .unwrap()
                        .whitespace_rule()
                        .unwrap()
                        .name()
                })
                .collect();
            assert_eq!(rules, ["lmplz", "unicode", "unicode", "unicode"]);
            assert_eq!(
                toks(Mode::UnicodeWords, " \u{D46}"),
                vec!["\u{D46}".to_string()]
            );
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]
            #[test]
            fn no_token_holds_whitespace_of_its_rule(
                text in "[ \\t\\n\\r\\x00\\x0b\\x0c\\x1c\\u{85}\\u{a0}\\u{3000}\\u{2028}a-zA-Z0-9,.'\\u{300}\\u{D46}\\u{200D}我你ß\\u{1F600}-]{0,24}",
                name in proptest::sample::select(NAMED.to_vec()),
            ) {
                let mode = Mode::from_name(name).unwrap();
                let rule = mode.whitespace_rule().unwrap();
                let tokens = toks(mode.clone(), &text);
                for t in &tokens {
                    prop_assert!(!t.is_empty());
                    prop_assert!(!t.chars().any(|c| rule.is_space(c)), "{:?} in {:?}", t, name);
                }
                if mode == Mode::Whitespace {
                    let expected: Vec<String> = rule.split(&text).map(str::to_string).collect();
                    prop_assert_eq!(tokens, expected);
                }
            }
        }
    }
}
