//! Tokenizers: lmplz's whitespace rule, Unicode words, CJK characters and more.
//!
//! Input: text (`&str`). Output: its tokens in order, passed one by one to a callback (so no
//! token is allocated unless a transformation such as lowercasing needs it). Memory: one scratch
//! string per call.
//!
//! The contract other modules rely on (vocab, pipeline, bindings): [`Tokenizer`] is `Send +
//! Sync`, cheap to share in an `Arc`, and [`Tokenizer::for_each_token`] is deterministic.

/// How text is split into tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// lmplz's rule: runs of space, tab, CR, LF and NUL separate tokens.
    Whitespace,
}

/// A configured tokenizer.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    mode: Mode,
    lowercase: bool,
}

impl Tokenizer {
    /// lmplz's whitespace tokenizer, no other processing.
    pub fn whitespace() -> Self {
        Tokenizer {
            mode: Mode::Whitespace,
            lowercase: false,
        }
    }

    /// The splitting mode.
    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    /// Calls `f` with each token of `text`, in order.
    pub fn for_each_token(&self, text: &str, f: &mut dyn FnMut(&str)) {
        match self.mode {
            Mode::Whitespace => {
                for tok in text
                    .split([' ', '\t', '\r', '\n', '\0'])
                    .filter(|t| !t.is_empty())
                {
                    if self.lowercase {
                        f(&tok.to_lowercase());
                    } else {
                        f(tok);
                    }
                }
            }
        }
    }

    /// The tokens of `text` as owned strings (convenience; prefer [`Tokenizer::for_each_token`]).
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.for_each_token(text, &mut |t| out.push(t.to_string()));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_follows_lmplz() {
        let t = Tokenizer::whitespace();
        assert_eq!(t.tokenize(" a\tb\u{a0}c \r\n"), vec!["a", "b\u{a0}c"]);
    }
}
