//! A minimal protobuf reader for SentencePiece's `ModelProto` (the `.model` file).
//!
//! Only the fields the encoder needs are read; unknown fields are skipped by wire type, as
//! protobuf requires. Field numbers are those of `sentencepiece_model.proto`:
//! `ModelProto { 1: repeated SentencePiece pieces, 2: TrainerSpec, 3: NormalizerSpec }`,
//! `SentencePiece { 1: piece, 2: score (float), 3: type (enum, default NORMAL) }`,
//! `TrainerSpec { 3: model_type (default UNIGRAM), 24: treat_whitespace_as_suffix,
//! 26: allow_whitespace_only_pieces, 35: byte_fallback }`,
//! `NormalizerSpec { 1: name, 2: precompiled_charsmap, 3: add_dummy_prefix (default true),
//! 4: remove_extra_whitespaces (default true), 5: escape_whitespaces (default true) }`.

/// The type of a piece (`ModelProto.SentencePiece.Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PieceType {
    /// An ordinary piece.
    Normal,
    /// The unknown piece (`<unk>`).
    Unknown,
    /// A control symbol (`<s>`, `</s>`): never produced from text.
    Control,
    /// A user-defined symbol: always one piece, never normalized.
    UserDefined,
    /// An unused piece (kept in the vocabulary, never output).
    Unused,
    /// A byte piece `<0xXX>` for byte fallback.
    Byte,
}

impl PieceType {
    fn from_code(code: u64) -> Option<PieceType> {
        Some(match code {
            1 => PieceType::Normal,
            2 => PieceType::Unknown,
            3 => PieceType::Control,
            4 => PieceType::UserDefined,
            5 => PieceType::Unused,
            6 => PieceType::Byte,
            _ => return None,
        })
    }
}

/// The segmentation algorithm (`TrainerSpec.ModelType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelType {
    /// Unigram language model, Viterbi segmentation.
    Unigram,
    /// Byte-pair encoding by merge scores.
    Bpe,
    /// Whitespace-delimited words.
    Word,
    /// Characters.
    Char,
}

/// One vocabulary entry.
#[derive(Debug, Clone)]
pub struct ProtoPiece {
    /// The piece text.
    pub piece: String,
    /// Its score (log probability for unigram, merge rank for BPE).
    pub score: f32,
    /// Its type.
    pub kind: PieceType,
}

/// The parts of a `ModelProto` the encoder uses.
#[derive(Debug, Clone)]
pub struct ModelProto {
    /// The vocabulary, in id order.
    pub pieces: Vec<ProtoPiece>,
    /// The algorithm.
    pub model_type: ModelType,
    /// `TrainerSpec.treat_whitespace_as_suffix`.
    pub treat_whitespace_as_suffix: bool,
    /// `TrainerSpec.allow_whitespace_only_pieces`.
    pub allow_whitespace_only_pieces: bool,
    /// `TrainerSpec.byte_fallback`.
    pub byte_fallback: bool,
    /// `NormalizerSpec.name`.
    pub normalizer_name: String,
    /// `NormalizerSpec.precompiled_charsmap`.
    pub precompiled_charsmap: Vec<u8>,
    /// `NormalizerSpec.add_dummy_prefix`.
    pub add_dummy_prefix: bool,
    /// `NormalizerSpec.remove_extra_whitespaces`.
    pub remove_extra_whitespaces: bool,
    /// `NormalizerSpec.escape_whitespaces`.
    pub escape_whitespaces: bool,
}

/// A protobuf decoding failure, with the byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoError {
    /// Offset in the message where decoding failed.
    pub offset: usize,
    /// What was wrong.
    pub message: String,
}

type PResult<T> = Result<T, ProtoError>;

/// A field value by wire type.
enum Value<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32(u32),
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf` within the whole file, for messages.
    base: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], base: usize) -> Self {
        Reader { buf, pos: 0, base }
    }

    fn err<T>(&self, message: impl Into<String>) -> PResult<T> {
        Err(ProtoError {
            offset: self.base + self.pos,
            message: message.into(),
        })
    }

    fn varint(&mut self) -> PResult<u64> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let Some(&b) = self.buf.get(self.pos) else {
                return self.err("truncated varint");
            };
            self.pos += 1;
            if shift == 63 && b > 1 {
                return self.err("varint overflows 64 bits");
            }
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        self.err("varint longer than 10 bytes")
    }

    fn take(&mut self, n: usize) -> PResult<&'a [u8]> {
        if self.buf.len() - self.pos < n {
            return self.err(format!(
                "field of {n} bytes runs past the end of the message"
            ));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// The next (field number, value, offset of the value), or None at the end.
    fn field(&mut self) -> PResult<Option<(u64, Value<'a>, usize)>> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = key >> 3;
        let at = self.base + self.pos;
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                let b = self.take(8)?;
                let _ = b;
                Value::Fixed64
            }
            2 => {
                let len = self.varint()?;
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                Value::Bytes(self.take(len)?)
            }
            5 => {
                let b = self.take(4)?;
                Value::Fixed32(u32::from_le_bytes(b.try_into().unwrap_or([0; 4])))
            }
            w => return self.err(format!("unsupported wire type {w}")),
        };
        Ok(Some((number, value, at)))
    }
}

fn bool_of(v: &Value<'_>) -> Option<bool> {
    match v {
        Value::Varint(x) => Some(*x != 0),
        _ => None,
    }
}

fn wrong<T>(at: usize, what: &str) -> PResult<T> {
    Err(ProtoError {
        offset: at,
        message: format!("{what} has the wrong wire type"),
    })
}

fn string_of(bytes: &[u8], at: usize, what: &str) -> PResult<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| ProtoError {
        offset: at,
        message: format!("{what} is not valid UTF-8"),
    })
}

fn parse_piece(buf: &[u8], base: usize) -> PResult<ProtoPiece> {
    let mut r = Reader::new(buf, base);
    let mut piece = ProtoPiece {
        piece: String::new(),
        score: 0.0,
        kind: PieceType::Normal,
    };
    while let Some((number, value, at)) = r.field()? {
        match (number, &value) {
            (1, Value::Bytes(b)) => piece.piece = string_of(b, at, "piece")?,
            (2, Value::Fixed32(x)) => piece.score = f32::from_bits(*x),
            (3, Value::Varint(x)) => {
                piece.kind = PieceType::from_code(*x).ok_or(ProtoError {
                    offset: at,
                    message: format!("unknown piece type {x}"),
                })?
            }
            (1..=3, _) => return wrong(at, "a SentencePiece field"),
            _ => {}
        }
    }
    Ok(piece)
}

/// Decodes a serialized `ModelProto`.
pub fn parse_model(buf: &[u8]) -> PResult<ModelProto> {
    let mut model = ModelProto {
        pieces: Vec::new(),
        model_type: ModelType::Unigram,
        treat_whitespace_as_suffix: false,
        allow_whitespace_only_pieces: false,
        byte_fallback: false,
        normalizer_name: String::new(),
        precompiled_charsmap: Vec::new(),
        add_dummy_prefix: true,
        remove_extra_whitespaces: true,
        escape_whitespaces: true,
    };
    let mut r = Reader::new(buf, 0);
    while let Some((number, value, at)) = r.field()? {
        match (number, value) {
            (1, Value::Bytes(b)) => model.pieces.push(parse_piece(b, at)?),
            (2, Value::Bytes(b)) => {
                let mut t = Reader::new(b, at);
                while let Some((n, v, at)) = t.field()? {
                    match n {
                        3 => {
                            model.model_type = match v {
                                Value::Varint(1) => ModelType::Unigram,
                                Value::Varint(2) => ModelType::Bpe,
                                Value::Varint(3) => ModelType::Word,
                                Value::Varint(4) => ModelType::Char,
                                Value::Varint(x) => {
                                    return Err(ProtoError {
                                        offset: at,
                                        message: format!("unknown model type {x}"),
                                    })
                                }
                                _ => return wrong(at, "model_type"),
                            }
                        }
                        24 | 26 | 35 => {
                            let b = bool_of(&v).map_or_else(|| wrong(at, "a flag"), Ok)?;
                            match n {
                                24 => model.treat_whitespace_as_suffix = b,
                                26 => model.allow_whitespace_only_pieces = b,
                                _ => model.byte_fallback = b,
                            }
                        }
                        _ => {}
                    }
                }
            }
            (3, Value::Bytes(b)) => {
                let mut t = Reader::new(b, at);
                while let Some((n, v, at)) = t.field()? {
                    match (n, v) {
                        (1, Value::Bytes(s)) => {
                            model.normalizer_name = string_of(s, at, "normalizer name")?
                        }
                        (2, Value::Bytes(s)) => model.precompiled_charsmap = s.to_vec(),
                        (3..=5, v) => {
                            let b = bool_of(&v).map_or_else(|| wrong(at, "a flag"), Ok)?;
                            match n {
                                3 => model.add_dummy_prefix = b,
                                4 => model.remove_extra_whitespaces = b,
                                _ => model.escape_whitespaces = b,
                            }
                        }
                        (1 | 2, _) => return wrong(at, "a NormalizerSpec field"),
                        _ => {}
                    }
                }
            }
            (1..=3, _) => return wrong(at, "a ModelProto field"),
            _ => {}
        }
    }
    Ok(model)
}

/// A protobuf writer for tests that build `.model` files by hand (here and in `ccnet`'s tests).
#[cfg(test)]
pub(crate) mod test_writer {
    /// Appends `x` as a base-128 varint.
    pub(crate) fn varint(mut x: u64, out: &mut Vec<u8>) {
        while x >= 0x80 {
            out.push((x as u8) | 0x80);
            x >>= 7;
        }
        out.push(x as u8);
    }

    /// Appends field `n` with wire type 2 (length-delimited) holding `b`.
    pub(crate) fn bytes_field(n: u64, b: &[u8], out: &mut Vec<u8>) {
        varint(n << 3 | 2, out);
        varint(b.len() as u64, out);
        out.extend_from_slice(b);
    }

    /// A unigram model of `(piece, score, type)` pieces, type as in the proto (1 normal,
    /// 2 unknown, 3 control, 4 user-defined), with no normalizer spec: no charsmap (identity),
    /// a dummy prefix, extra whitespace removed, spaces as `▁`.
    pub(crate) fn unigram_model(pieces: &[(&str, f32, u64)]) -> Vec<u8> {
        let mut m = Vec::new();
        for &(text, score, kind) in pieces {
            let mut p = Vec::new();
            bytes_field(1, text.as_bytes(), &mut p);
            p.push(2 << 3 | 5);
            p.extend_from_slice(&score.to_le_bytes());
            varint(3 << 3, &mut p);
            varint(kind, &mut p);
            bytes_field(1, &p, &mut m);
        }
        let mut trainer = Vec::new();
        varint(3 << 3, &mut trainer);
        varint(1, &mut trainer); // unigram
        bytes_field(2, &trainer, &mut m);
        m
    }
}

#[cfg(test)]
mod tests {
    use super::test_writer::{bytes_field, varint};
    use super::*;

    #[test]
    fn reads_pieces_and_flags() {
        let mut p = Vec::new();
        bytes_field(1, "▁a".as_bytes(), &mut p);
        p.push(2 << 3 | 5);
        p.extend_from_slice(&(-1.5f32).to_le_bytes());
        let mut m = Vec::new();
        bytes_field(1, &p, &mut m);
        let mut t = Vec::new();
        varint(3 << 3, &mut t);
        varint(2, &mut t);
        varint(35 << 3, &mut t);
        varint(1, &mut t);
        bytes_field(2, &t, &mut m);
        let mut n = Vec::new();
        varint(3 << 3, &mut n);
        varint(0, &mut n);
        bytes_field(3, &n, &mut m);
        // An unknown fixed64 field is skipped.
        m.push(9 << 3 | 1);
        m.extend_from_slice(&[0; 8]);
        let model = parse_model(&m).unwrap();
        assert_eq!(model.pieces.len(), 1);
        assert_eq!(model.pieces[0].piece, "▁a");
        assert_eq!(model.pieces[0].score, -1.5);
        assert_eq!(model.pieces[0].kind, PieceType::Normal);
        assert_eq!(model.model_type, ModelType::Bpe);
        assert!(model.byte_fallback);
        assert!(!model.add_dummy_prefix);
        assert!(model.remove_extra_whitespaces);
    }

    #[test]
    fn truncated_is_an_error() {
        let mut m = Vec::new();
        bytes_field(1, b"abcdef", &mut m);
        m.truncate(4);
        assert!(parse_model(&m).is_err());
        assert!(parse_model(&[0x0f]).is_err()); // wire type 7
    }
}
