//! Vocabulary files: plain text, JSON, and KenLM's limit-vocab list.
//!
//! * Text (any name not ending in `.json`): one entry per line in id order, `token TAB count`.
//!   The special tokens are the leading lines whose token is one of the specials named at load
//!   time (default `<unk>`, `<s>`, `</s>`, `<pad>`).
//! * JSON (`.json`): `{"format": "kneser-vocab", "version": 1, "specials": [...],
//!   "tokens": [[token, count], ...]}`, ids in list order; the specials are stored.
//! * Limit vocab ([`Vocab::save_limit_vocab`]): the ordinary tokens one per line, specials omitted, as
//!   `lmplz --limit_vocab_file` reads (whitespace-separated words).
//!
//! Output files are written through [`AtomicFile`]: they appear only when complete. Loading
//! rejects duplicate tokens, malformed lines, tokens holding whitespace and empty files with a
//! `Format` error naming the file and line. Memory: the vocabulary, plus (JSON) its parsed tree.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, IoContext, Result};
use crate::io::{display_name, open_input, AtomicFile, LineReader};

use super::{check_token, default_specials, Vocab};

/// The format of a vocabulary file, chosen by the file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VocabFormat {
    /// `token TAB count` lines.
    Text,
    /// The JSON document described in the module doc.
    Json,
}

impl VocabFormat {
    /// JSON for names ending in `.json` (any case), text otherwise.
    pub fn from_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("json") => VocabFormat::Json,
            _ => VocabFormat::Text,
        }
    }
}

impl Vocab {
    /// Saves the vocabulary in the format its name asks for (see [`VocabFormat::from_path`]).
    /// A path that is one of [`Vocab::inputs`] (the same file, through any link) is refused
    /// with `InvalidArgument`, leaving it untouched.
    ///
    /// Example:
    /// ```no_run
    /// # let vocab: kneser::vocab::Vocab = unimplemented!();
    /// vocab.save("vocab.json".as_ref()).unwrap();
    /// ```
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut out = AtomicFile::create_for(path, &self.inputs)?;
        match VocabFormat::from_path(path) {
            VocabFormat::Text => self.write_text(&mut out),
            VocabFormat::Json => self.write_json(&mut out),
        }
        .at_path("cannot write", path)?;
        out.commit()
    }

    /// Loads a vocabulary saved by [`Vocab::save`] (or written by hand). For text files,
    /// `specials` names the tokens that count as special when they lead the file (`None`: the
    /// defaults, `<pad>` included); JSON files store their specials and ignore it.
    ///
    /// Errors: `NotFound`/`Io`, `InvalidUtf8`, and `Format` (naming file and line) for an empty
    /// file, a line that is not `token TAB count`, a bad count, an empty or whitespace-holding
    /// token, or a token given twice.
    pub fn load(path: &Path, specials: Option<&[String]>) -> Result<Self> {
        let vocab = match VocabFormat::from_path(path) {
            VocabFormat::Text => {
                let defaults = default_specials(true);
                load_text(path, specials.unwrap_or(&defaults))
            }
            VocabFormat::Json => load_json(path),
        }?;
        Ok(if path.as_os_str() == "-" {
            vocab
        } else {
            vocab.with_inputs(vec![path.to_path_buf()])
        })
    }

    /// Writes the KenLM limit-vocab list: the ordinary tokens one per line in id order.
    pub fn save_limit_vocab(&self, path: &Path) -> Result<()> {
        let mut out = AtomicFile::create_for(path, &self.inputs)?;
        (|| -> std::io::Result<()> {
            for token in &self.tokens()[self.n_specials..] {
                out.write_all(token.as_bytes())?;
                out.write_all(b"\n")?;
            }
            Ok(())
        })()
        .at_path("cannot write", path)?;
        out.commit()
    }

    /// Writes the text format to `out`.
    pub fn write_text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for (token, count) in self.tokens().iter().zip(&self.counts) {
            writeln!(out, "{token}\t{count}")?;
        }
        Ok(())
    }

    /// Writes the JSON format to `out` (one entry per line, for readable diffs).
    pub fn write_json(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let specials = serde_json::to_string(&self.specials())?;
        write!(
            out,
            "{{\"format\": \"kneser-vocab\", \"version\": 1, \"specials\": {specials}, \"tokens\": ["
        )?;
        for (i, (token, count)) in self.tokens().iter().zip(&self.counts).enumerate() {
            let sep = if i == 0 { "" } else { "," };
            let token = serde_json::to_string(token)?;
            write!(out, "{sep}\n  [{token}, {count}]")?;
        }
        writeln!(out, "\n]}}")
    }
}

fn load_text(path: &Path, specials: &[String]) -> Result<Vocab> {
    let name = display_name(path);
    let mut reader = LineReader::new(open_input(path)?, name.clone());
    let mut entries: Vec<(String, u64)> = Vec::new();
    let mut first_line = rustc_hash::FxHashMap::<String, u64>::default();
    let mut n_specials = 0;
    while let Some(line) = reader.next_line()? {
        let number = line.number;
        let text = line.as_str(&name)?;
        let text = text.strip_suffix('\r').unwrap_or(text);
        let bad = |message: String| Error::format(name.clone(), number, message);
        let (token, count) = text.split_once('\t').ok_or_else(|| {
            bad(format!(
                "expected `token TAB count`, found {text:?} (no tab); a vocabulary file has one token and its count per line"
            ))
        })?;
        if count.contains('\t') {
            return Err(bad(format!(
                "expected `token TAB count`, found more than two fields in {text:?}"
            )));
        }
        let count: u64 = count.parse().map_err(|_| {
            bad(format!(
                "count {count:?} of token {token:?} is not a non-negative integer"
            ))
        })?;
        check_token(token).map_err(|why| bad(format!("token {token:?}: {why}")))?;
        if let Some(first) = first_line.insert(token.to_string(), number) {
            return Err(bad(format!(
                "duplicate token {token:?}, first given on line {first}"
            )));
        }
        if n_specials == entries.len() && specials.iter().any(|s| s == token) {
            n_specials += 1;
        }
        entries.push((token.to_string(), count));
    }
    if entries.is_empty() {
        return Err(Error::format(name, 0, "empty vocabulary file"));
    }
    Vocab::from_entries(entries, n_specials)
}

fn load_json(path: &Path) -> Result<Vocab> {
    let name = display_name(path);
    let value: serde_json::Value = serde_json::from_reader(open_input(path)?).map_err(|e| {
        if e.is_io() {
            Error::io("cannot read", path, e.into())
        } else {
            Error::format(
                name.clone(),
                e.line() as u64,
                format!("not a kneser vocabulary JSON: {e}"),
            )
        }
    })?;
    let bad = |message: String| Error::format(name.clone(), 0, message);
    if value.get("format").and_then(|f| f.as_str()) != Some("kneser-vocab") {
        return Err(bad(
            "not a kneser vocabulary JSON: \"format\" is not \"kneser-vocab\"".into(),
        ));
    }
    if value.get("version").and_then(|v| v.as_u64()) != Some(1) {
        return Err(bad(
            "unsupported kneser vocabulary version (this kneser reads version 1)".into(),
        ));
    }
    let specials: Vec<&str> = value
        .get("specials")
        .and_then(|s| s.as_array())
        .and_then(|a| a.iter().map(|s| s.as_str()).collect::<Option<Vec<_>>>())
        .ok_or_else(|| bad("\"specials\" must be a list of strings".into()))?;
    let tokens = value
        .get("tokens")
        .and_then(|t| t.as_array())
        .ok_or_else(|| bad("\"tokens\" must be a list of [token, count] pairs".into()))?;
    if tokens.is_empty() {
        return Err(bad("empty vocabulary: \"tokens\" is an empty list".into()));
    }
    let mut entries = Vec::with_capacity(tokens.len());
    for (id, entry) in tokens.iter().enumerate() {
        let pair = entry.as_array().filter(|a| a.len() == 2);
        let token = pair.and_then(|a| a[0].as_str());
        let count = pair.and_then(|a| a[1].as_u64());
        match (token, count) {
            (Some(t), Some(c)) => entries.push((t.to_string(), c)),
            _ => {
                return Err(bad(format!(
                    "tokens[{id}] is {entry}, expected [token, count]"
                )))
            }
        }
    }
    if specials.len() > entries.len() || specials.iter().zip(&entries).any(|(s, (t, _))| s != t) {
        return Err(bad(
            "\"specials\" must be the first tokens of \"tokens\", in order".into(),
        ));
    }
    Vocab::from_entries(entries, specials.len()).map_err(|e| match e {
        Error::InvalidArgument(m) => bad(m),
        other => other,
    })
}
