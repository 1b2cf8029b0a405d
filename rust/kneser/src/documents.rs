//! The documents of the generic perplexity pipeline (`kneser.Pipeline`): JSON lines (or plain
//! text lines) read from any input kneser reads, and the kept documents written back.
//!
//! Reading and writing are CCNet's JSON-lines rules ([`crate::ccnet::jsonl`]), the one home of
//! them: a line is a document when it is a JSON object with a string `field`; a blank line is
//! skipped; anything else (invalid UTF-8, invalid JSON, JSON nested deeper than 128, a lone
//! surrogate escape in any string, no string `field`) is a bad line, recorded with its file and
//! line or an [`Error::Format`] naming them. A kept document is written as its input line, byte
//! for byte, with `, "perplexity": P, "bucket": "B"` inserted before its closing brace (`P` as
//! Python's `repr(float)`); a plain text line is written as `{"field": "...", ...}` in
//! `json.dumps(..., ensure_ascii=False)` form.
//!
//! Memory: one batch of lines and its documents.

use std::io::BufRead;
use std::str::FromStr;

use crate::ccnet::jsonl::{
    parse, python_json_string, write_document, JsonlOptions, LineBatch, Parsed,
};
use crate::ccnet::{Bucket, DocScore};
use crate::io::LineReader;
use crate::{Error, Result};

/// How documents are read.
#[derive(Debug, Clone)]
pub struct DocumentOptions {
    /// The text field.
    pub field: String,
    /// Plain text input: each line is a document's text.
    pub text: bool,
    /// A bad line is an [`Error::Format`] instead of being skipped and recorded.
    pub raise: bool,
}

impl DocumentOptions {
    fn jsonl(&self) -> JsonlOptions {
        JsonlOptions {
            field: self.field.clone(),
            language_field: String::new(),
            keep: [true; 4],
            dedup: false,
            text: self.text,
            raise: self.raise,
        }
    }
}

/// A document read: its line number, its text (the decoded `field`) and its line: the input
/// line of a JSON document, `{"field": "text"}` (as `json.dumps`) for a plain text line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The line number in its file (from 1).
    pub number: u64,
    /// The text.
    pub text: String,
    /// The JSON line, without its line end.
    pub line: Vec<u8>,
}

/// The documents of a batch of lines, and its bad lines: (file, line, reason).
#[derive(Debug, Default)]
pub struct DocumentBatch {
    /// The documents, in input order.
    pub documents: Vec<Document>,
    /// The bad lines (always empty with [`DocumentOptions::raise`]).
    pub malformed: Vec<(String, u64, String)>,
}

/// Reads the documents of up to `max` lines of `reader`; None at the end of the input. With
/// `raise`, the first bad line is an [`Error::Format`] naming the file and line.
pub fn read_documents<R: BufRead>(
    reader: &mut LineReader<R>,
    max: usize,
    opts: &DocumentOptions,
) -> Result<Option<DocumentBatch>> {
    let lines = LineBatch::read(reader, max)?;
    if lines.is_empty() {
        return Ok(None);
    }
    let jsonl = opts.jsonl();
    let mut batch = DocumentBatch::default();
    for i in 0..lines.len() {
        let (number, line) = lines.get(i);
        match parse(line, &jsonl) {
            Parsed::Blank => {}
            Parsed::Doc { text, .. } => {
                let line = if opts.text {
                    let mut json = vec![b'{'];
                    python_json_string(&opts.field, &mut json);
                    json.extend_from_slice(b": ");
                    python_json_string(&text, &mut json);
                    json.push(b'}');
                    json
                } else {
                    line.to_vec()
                };
                batch.documents.push(Document {
                    number,
                    text: text.into_owned(),
                    line,
                })
            }
            Parsed::Bad(m) if opts.raise => {
                let kind = if opts.text {
                    "malformed line"
                } else {
                    "malformed JSON line"
                };
                return Err(Error::format(reader.name(), number, format!("{kind}: {m}")));
            }
            Parsed::Bad(m) => batch.malformed.push((reader.name().to_string(), number, m)),
        }
    }
    Ok(Some(batch))
}

/// Appends the output lines of kept documents to `out`: each [`Document::line`] with its
/// `perplexity` and `bucket` (see the module doc).
pub fn write_documents(docs: &[(&[u8], f64, Bucket)], out: &mut Vec<u8>) {
    let jsonl = DocumentOptions {
        field: String::new(),
        text: false,
        raise: false,
    }
    .jsonl();
    for &(line, perplexity, bucket) in docs {
        let score = DocScore {
            perplexity: Some(perplexity),
            bucket,
            tokens: 0,
            dedup_hash: 0,
        };
        write_document(line, &jsonl, &score, out);
    }
}

impl FromStr for Bucket {
    type Err = Error;

    /// `head`, `middle`, `tail` or `all` ([`Bucket::name`]).
    fn from_str(s: &str) -> Result<Bucket> {
        [Bucket::Head, Bucket::Middle, Bucket::Tail, Bucket::All]
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| Error::InvalidArgument(format!("unknown bucket {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &[u8], opts: &DocumentOptions) -> Result<Vec<DocumentBatch>> {
        let mut reader = LineReader::new(input, "in.jsonl".to_string());
        let mut out = Vec::new();
        while let Some(b) = read_documents(&mut reader, 2, opts)? {
            out.push(b);
        }
        Ok(out)
    }

    fn opts(text: bool, raise: bool) -> DocumentOptions {
        DocumentOptions {
            field: "text".into(),
            text,
            raise,
        }
    }

    #[test]
    fn documents_and_bad_lines_with_their_numbers() {
        let input = b"{\"text\": \"a\\u00e9\", \"id\": 1}\r\n{not json\n\n{\"other\": 1}\n[1]\n{\"text\": \"b\"}";
        let batches = read(input, &opts(false, false)).unwrap();
        assert_eq!(batches.len(), 3);
        let docs: Vec<_> = batches.iter().flat_map(|b| &b.documents).collect();
        assert_eq!(docs[0].text, "a\u{e9}");
        assert_eq!(docs[0].line, br#"{"text": "a\u00e9", "id": 1}"#);
        assert_eq!((docs[1].number, docs[1].text.as_str()), (6, "b"));
        let bad: Vec<u64> = batches
            .iter()
            .flat_map(|b| b.malformed.iter().map(|m| m.1))
            .collect();
        assert_eq!(bad, [2, 4, 5]);
        let err = read(input, &opts(false, true)).unwrap_err().to_string();
        assert!(err.contains("in.jsonl:2: malformed JSON line"), "{err}");
    }

    #[test]
    fn text_lines_are_documents_and_written_as_json() {
        let batches = read(b"x\"y\n\n", &opts(true, true)).unwrap();
        let docs = &batches[0].documents;
        assert_eq!(docs.len(), 2);
        let mut out = Vec::new();
        write_documents(
            &[
                (&docs[0].line, 12.5, Bucket::Head),
                (&docs[1].line, 3.0, Bucket::Tail),
            ],
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"text\": \"x\\\"y\", \"perplexity\": 12.5, \"bucket\": \"head\"}\n\
             {\"text\": \"\", \"perplexity\": 3.0, \"bucket\": \"tail\"}\n"
        );
    }

    #[test]
    fn kept_lines_keep_their_bytes() {
        let mut out = Vec::new();
        write_documents(
            &[(
                br#"{"text":"\u00e9", "n": 1.0e5} "#,
                1234.57,
                Bucket::Middle,
            )],
            &mut out,
        );
        assert_eq!(
            out,
            b"{\"text\":\"\\u00e9\", \"n\": 1.0e5, \"perplexity\": 1234.57, \"bucket\": \"middle\"}\n"
        );
        assert_eq!("tail".parse::<Bucket>().unwrap(), Bucket::Tail);
        assert!("x".parse::<Bucket>().is_err());
    }
}
