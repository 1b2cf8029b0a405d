//! SentencePiece encoding in pure Rust: loads a SentencePiece `.model` file and splits text
//! into the pieces `sentencepiece.SentencePieceProcessor.encode_as_pieces` gives for the same
//! model and text.
//!
//! Written from the SentencePiece paper (Kudo and Richardson 2018, Kudo 2018 for the unigram
//! model) and the documented model format (`sentencepiece_model.proto`), with no C++ in the
//! build. Input: a `&str`. Output: pieces as borrowed slices of the normalized text (or byte
//! pieces `<0xXX>` for byte fallback), passed to a callback. Memory: the normalized text and
//! one lattice entry per byte.
//!
//! The steps, as SentencePiece does them:
//! 1. Normalization (`normalizer`): the model's `precompiled_charsmap` (NFKC-like rules for
//!    `nmt_nfkc`, none for `identity`), longest rule first; user-defined symbols untouched;
//!    leading, trailing and repeated spaces removed (`remove_extra_whitespaces`); a space
//!    prepended (`add_dummy_prefix`); spaces written as `▁` (`escape_whitespaces`).
//! 2. Segmentation by the model type:
//!    * unigram: Viterbi over all pieces matching at each character (a trie of the normal,
//!      user-defined and unused pieces; unused ones never chosen); a user-defined piece of
//!      `length` bytes scores `0.1 * (length - 1)` so it always wins; where no piece covers a
//!      character, that character is one unknown piece scoring `min_score - 10`. Ties keep the
//!      first path found. Path scores are `f32` sums; once the best score into the position
//!      being extended passes 100,000 in magnitude, it is subtracted from the scores of every
//!      position reached so far (SentencePiece's reset, which keeps a long text's sums
//!      where `f32` still tells pieces apart). This is `EncodeOptimized` as sentencepiece 0.2.2
//!      and later have it; 0.2.1 and earlier sum a piece's path in `f64` (a tie between
//!      equal-scoring splits can go the other way) with no reset, and score a user-defined
//!      piece `length * max_score - 0.1`.
//!      A unigram model with a NaN or infinite score is refused, as SentencePiece refuses it.
//!    * BPE: characters (user-defined symbols whole and frozen), then repeatedly the adjacent
//!      pair whose merge is a piece with the highest score (the leftmost on ties) is merged;
//!      merged unused pieces are split back into their parts.
//!    * word: split before each `▁` (also with `treat_whitespace_as_suffix`, as sentencepiece
//!      does).
//!    * char: one piece per character (user-defined symbols whole).
//! 3. Consecutive unknown pieces are output as one (for every model type).
//! 4. With `byte_fallback`, an unknown piece is written as the `<0xXX>` pieces of its bytes.

mod normalizer;
pub mod proto;

use std::collections::BinaryHeap;
use std::path::Path;

use rustc_hash::FxHashMap;

pub use normalizer::{SpNormalizer, SPACE_SYMBOL};
pub use proto::{ModelType, PieceType};

use crate::{Error, Location, Result};

/// Longest-match of user-defined symbols at the start of a text.
#[derive(Debug, Clone, Default)]
pub struct PrefixMatcher {
    trie: Trie,
}

impl PrefixMatcher {
    /// Whether there are no user-defined symbols.
    pub fn is_empty(&self) -> bool {
        self.trie.is_empty()
    }

    /// (bytes of the match, true) for the longest user-defined symbol starting `text`, or
    /// (bytes of the first character, false).
    pub fn prefix_match(&self, text: &str) -> (usize, bool) {
        if !self.trie.is_empty() {
            let mut best = 0;
            self.trie.prefixes(text.as_bytes(), |len, _, _| best = len);
            if best > 0 {
                return (best, true);
            }
        }
        (text.chars().next().map_or(0, char::len_utf8), false)
    }
}

/// A byte trie as a double array: the child of the node in slot `s` by byte `b` is slot
/// `base(s) + b` when that slot's `check` is `s`. A step is one load of one 8-byte node (the
/// walk's dependent chain touches 8 bytes a byte of text, half the cache of a slot holding its
/// value too); where a key ends (a flag in `base`) its value, a (piece id, score) pair, is in
/// the parallel `values`, loaded off that chain.
#[derive(Debug, Clone, Default)]
struct Trie {
    /// Slot 0 is the root; empty when there are no keys.
    nodes: Vec<Node>,
    /// Per slot: the (id, score) of the key ending there (read where [`HAS_VALUE`] is set).
    values: Vec<(u32, f32)>,
}

/// One slot of [`Trie`]: `base` (with [`HAS_VALUE`]) and `check` (the parent's slot,
/// [`Slot::FREE`] for an unused slot).
#[derive(Debug, Clone, Copy)]
struct Node {
    base: u32,
    check: u32,
}

/// In [`Node::base`]: a key ends at this slot. Bases stay below it (a trie of 2^31 slots
/// would take 32 GB).
const HAS_VALUE: u32 = 1 << 31;

/// A slot while the trie is built.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Where this node's children start (child by byte `b` at `base + b`).
    base: u32,
    /// The parent's slot ([`Slot::FREE`] for an unused slot).
    check: u32,
    /// The key ending here: its id ([`NO_VALUE`] for none) and score.
    id: u32,
    score: f32,
}

impl Slot {
    const FREE: u32 = u32::MAX;
    const UNUSED: Slot = Slot {
        base: 0,
        check: Slot::FREE,
        id: NO_VALUE,
        score: 0.0,
    };
}

const NO_VALUE: u32 = u32::MAX;

impl Trie {
    /// A trie of `(key, id, score)`; the first of equal keys is kept.
    fn build(keys: &[(&[u8], u32, f32)]) -> Trie {
        // A pointer trie first, then laid out as a double array.
        #[derive(Default)]
        struct N {
            children: Vec<(u8, usize)>,
            value: Option<(u32, f32)>,
        }
        if keys.is_empty() {
            return Trie::default();
        }
        let mut nodes: Vec<N> = vec![N::default()];
        for &(key, id, score) in keys {
            let mut at = 0;
            for &b in key {
                at = match nodes[at].children.iter().find(|(c, _)| *c == b) {
                    Some(&(_, n)) => n,
                    None => {
                        nodes.push(N::default());
                        let n = nodes.len() - 1;
                        nodes[at].children.push((b, n));
                        n
                    }
                };
            }
            if nodes[at].value.is_none() {
                nodes[at].value = Some((id, score));
            }
        }
        let mut slots = vec![Slot::UNUSED; 256];
        // `next[i]` leads to the first free slot at or after `i` (a union-find of the taken
        // slots, compressed as it is walked); slots past its end are free.
        let mut next: Vec<u32> = (0..256).collect();
        fn free_from(next: &mut [u32], mut i: usize) -> usize {
            while i < next.len() && next[i] as usize != i {
                let j = next[i] as usize;
                if j < next.len() {
                    next[i] = next[j];
                }
                i = j;
            }
            i
        }
        // The root is never anyone's child.
        slots[0].check = 0;
        next[0] = 1;
        let value = |n: &N| n.value.unwrap_or((NO_VALUE, 0.0));
        (slots[0].id, slots[0].score) = value(&nodes[0]);
        // (pointer node, its slot), breadth first.
        let mut queue = std::collections::VecDeque::from([(0usize, 0usize)]);
        // Free slots tried per node before its children go past the end of the array.
        const TRIES: usize = 64;
        while let Some((node, slot)) = queue.pop_front() {
            let children = &mut nodes[node].children;
            if children.is_empty() {
                continue;
            }
            children.sort_unstable();
            let children = &nodes[node].children;
            let lowest = usize::from(children[0].0);
            let fits = |base: usize, slots: &[Slot]| {
                children.iter().all(|&(b, _)| {
                    slots
                        .get(base + usize::from(b))
                        .is_none_or(|s| s.check == Slot::FREE)
                })
            };
            // The first base, over the free slots the lowest child could take, at which every
            // child's slot is free.
            let mut at = free_from(&mut next, lowest + 1);
            let mut tries = 0;
            let base = loop {
                if fits(at - lowest, &slots) {
                    break at - lowest;
                }
                tries += 1;
                if tries == TRIES || at >= slots.len() {
                    break slots.len().max(lowest + 1) - lowest;
                }
                at = free_from(&mut next, at + 1);
            };
            let top = base + usize::from(children[children.len() - 1].0);
            if top >= slots.len() {
                let len = top + 256;
                slots.resize(len, Slot::UNUSED);
                next.extend(next.len() as u32..len as u32);
            }
            slots[slot].base = base as u32;
            for &(b, child) in children {
                let at = base + usize::from(b);
                let (id, score) = value(&nodes[child]);
                slots[at] = Slot {
                    base: 0,
                    check: slot as u32,
                    id,
                    score,
                };
                next[at] = at as u32 + 1;
                queue.push_back((child, at));
            }
        }
        while slots.last().is_some_and(|s| s.check == Slot::FREE) {
            slots.pop();
        }
        Trie {
            nodes: slots
                .iter()
                .map(|s| Node {
                    base: s.base | if s.id == NO_VALUE { 0 } else { HAS_VALUE },
                    check: s.check,
                })
                .collect(),
            values: slots.iter().map(|s| (s.id, s.score)).collect(),
        }
    }

    fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Calls `f(length, id, score)` for every key that is a prefix of `text`, shortest first.
    #[inline]
    fn prefixes(&self, text: &[u8], mut f: impl FnMut(usize, u32, f32)) {
        let Some(root) = self.nodes.first() else {
            return;
        };
        let mut node = 0u32;
        let mut base = (root.base & !HAS_VALUE) as usize;
        for (i, &b) in text.iter().enumerate() {
            let at = base + usize::from(b);
            let Some(slot) = self.nodes.get(at) else {
                return;
            };
            if slot.check != node {
                return;
            }
            if slot.base & HAS_VALUE != 0 {
                if let Some(&(id, score)) = self.values.get(at) {
                    f(i + 1, id, score);
                }
            }
            node = at as u32;
            base = (slot.base & !HAS_VALUE) as usize;
        }
    }
}

/// One entry of the vocabulary.
#[derive(Debug, Clone)]
struct Piece {
    text: String,
    score: f32,
    kind: PieceType,
}

/// A loaded SentencePiece model.
#[derive(Debug, Clone)]
pub struct SentencePiece {
    pieces: Vec<Piece>,
    /// Normal, user-defined and unused pieces (SentencePiece's `pieces_`).
    index: FxHashMap<String, u32>,
    /// Other pieces (unknown, control, byte): SentencePiece's reserved ids.
    reserved: FxHashMap<String, u32>,
    model_type: ModelType,
    unk_id: u32,
    byte_fallback: bool,
    byte_ids: Vec<Option<u32>>,
    min_score: f32,
    normalizer: SpNormalizer,
    matcher: PrefixMatcher,
    /// Unigram: all normal, user-defined and unused pieces.
    trie: Trie,
    name: String,
}

/// One piece of an encoding: a slice of the normalized text, or a byte-fallback piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Out<'a> {
    /// A piece: its text (a slice of the normalized input holding it, not necessarily at the
    /// piece's own position) and its id.
    Text(&'a str, u32),
    /// A byte-fallback piece: its id in the vocabulary.
    Id(u32),
}

const UNK_PENALTY: f32 = 10.0;

/// Pieces of this many bytes or more are refused (sentencepiece's `kMaxPieceSize`).
const MAX_PIECE_BYTES: usize = 8000;

/// How deep BPE's resegmentation of merged unused pieces goes (sentencepiece's
/// `kMaxBpeResegmentDepth`).
const MAX_RESEGMENT_DEPTH: usize = 100;

/// The magnitude of a best path's score past which the unigram Viterbi rebases the scores
/// (SentencePiece's `kScoreResetThreshold`).
const SCORE_RESET: f32 = 100_000.0;

/// The best path into one position of the unigram lattice.
#[derive(Debug, Clone, Copy)]
struct Best {
    /// The last piece's id ([`NO_VALUE`] while no path reaches here).
    id: u32,
    score: f32,
    /// Where the last piece starts.
    start: u32,
}

impl Best {
    const UNSET: Best = Best {
        id: NO_VALUE,
        score: 0.0,
        start: 0,
    };
}

/// The unigram lattice and the best path's (start, end, id) pieces.
type UnigramScratch = (Vec<Best>, Vec<(u32, u32, u32)>);

thread_local! {
    /// Per thread: the unigram lattice and the best path, reused between texts.
    static UNIGRAM_SCRATCH: std::cell::RefCell<UnigramScratch> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

impl SentencePiece {
    /// Loads a `.model` file.
    pub fn load(path: &Path) -> Result<SentencePiece> {
        let bytes = std::fs::read(path).map_err(|e| Error::io("cannot open", path, e))?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }

    /// Loads a serialized `ModelProto`; `name` appears in error messages.
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<SentencePiece> {
        let fail = |message: String| Error::Format {
            at: Location::new(name, 0),
            message: format!("not a SentencePiece model: {message}"),
        };
        let mut proto = proto::parse_model(bytes)
            .map_err(|e| fail(format!("{} at byte {}", e.message, e.offset)))?;
        if proto.byte_fallback {
            // A NUL piece beside byte fallback (which has `<0x00>`) is taken as unused, as
            // sentencepiece 0.2.2+ takes it (a conversion scripts' slip, its issue 1308).
            for p in proto.pieces.iter_mut().filter(|p| p.piece == "\0") {
                p.kind = PieceType::Unused;
            }
        }
        if proto.pieces.is_empty() {
            return Err(fail("no pieces".into()));
        }
        let mut index = FxHashMap::default();
        let mut reserved = FxHashMap::default();
        let mut unk_id = None;
        let mut byte_ids = vec![None; 256];
        // SentencePiece's start (FLT_MAX), kept when no normal piece lowers it.
        let mut min_score = f32::MAX;
        let mut user_keys: Vec<(&[u8], u32, f32)> = Vec::new();
        let mut trie_keys: Vec<(&[u8], u32, PieceType, f32)> = Vec::new();
        if let Some((id, p)) =
            (proto.pieces.iter().enumerate()).find(|(_, p)| p.piece.len() >= MAX_PIECE_BYTES)
        {
            let n = p.piece.len();
            return Err(fail(format!("piece {id} is too long ({n} bytes)")));
        }
        // A BPE model keeps every piece in one map (sentencepiece 0.2.2+), so a control piece
        // may not share its text with a normal one there.
        let one_map = proto.model_type == ModelType::Bpe;
        for (id, p) in proto.pieces.iter().enumerate() {
            let id = id as u32;
            if p.piece.is_empty() {
                return Err(fail(format!("piece {id} is empty")));
            }
            // An unused NUL piece is skipped (a placeholder); any other NUL is refused.
            if p.piece == "\0" && p.kind == PieceType::Unused {
                continue;
            }
            if p.piece.contains('\0') {
                return Err(fail(format!("piece {id} holds a NUL character")));
            }
            let normal = matches!(
                p.kind,
                PieceType::Normal | PieceType::UserDefined | PieceType::Unused
            );
            let (map, other) = if normal {
                (&mut index, &reserved)
            } else {
                (&mut reserved, &index)
            };
            if (one_map && other.contains_key(&p.piece))
                || map.insert(p.piece.clone(), id).is_some()
            {
                return Err(fail(format!("piece {:?} is defined twice", p.piece)));
            }
            match p.kind {
                PieceType::Unknown => {
                    if unk_id.is_some() {
                        return Err(fail("more than one unknown piece".into()));
                    }
                    unk_id = Some(id)
                }
                PieceType::UserDefined => user_keys.push((p.piece.as_bytes(), id, 0.0)),
                PieceType::Byte => {
                    if !proto.byte_fallback {
                        return Err(fail(format!(
                            "byte piece {:?} but byte_fallback is off",
                            p.piece
                        )));
                    }
                    let Some(b) = parse_byte_piece(&p.piece) else {
                        return Err(fail(format!("byte piece {:?} is invalid", p.piece)));
                    };
                    byte_ids[b as usize] = Some(id);
                }
                PieceType::Normal => min_score = min_score.min(p.score),
                _ => {}
            }
            if normal {
                trie_keys.push((p.piece.as_bytes(), id, p.kind, p.score));
            }
        }
        let unk_id = unk_id.ok_or_else(|| fail("no unknown piece".into()))?;
        if proto.byte_fallback && byte_ids.iter().any(Option::is_none) {
            return Err(fail(
                "byte_fallback is on but not all 256 byte pieces exist".into(),
            ));
        }
        let normalizer = SpNormalizer::new(
            &proto.precompiled_charsmap,
            proto.add_dummy_prefix,
            proto.remove_extra_whitespaces,
            proto.escape_whitespaces,
            proto.treat_whitespace_as_suffix,
        )
        .map_err(fail)?;
        let matcher = PrefixMatcher {
            trie: Trie::build(&user_keys),
        };
        let trie = if proto.model_type == ModelType::Unigram {
            if let Some((id, p)) = proto
                .pieces
                .iter()
                .enumerate()
                .find(|(_, p)| !p.score.is_finite())
            {
                return Err(fail(format!(
                    "piece {id} ({:?}) scores {}",
                    p.piece, p.score
                )));
            }
            // The pieces Viterbi may choose, with the score it gives them: unused pieces are
            // never chosen (SentencePiece skips them), a user-defined piece scores
            // `0.1 * (length - 1)` (an f64 product, kept as f32) so it always wins.
            let keys: Vec<(&[u8], u32, f32)> = trie_keys
                .iter()
                .filter(|k| k.2 != PieceType::Unused)
                .map(|&(key, id, kind, score)| {
                    let score = if kind == PieceType::UserDefined {
                        (0.1 * (key.len() as f64 - 1.0)) as f32
                    } else {
                        score
                    };
                    (key, id, score)
                })
                .collect();
            Trie::build(&keys)
        } else {
            Trie::default()
        };
        let pieces = proto
            .pieces
            .into_iter()
            .map(|p| Piece {
                text: p.piece,
                score: p.score,
                kind: p.kind,
            })
            .collect();
        Ok(SentencePiece {
            pieces,
            index,
            reserved,
            model_type: proto.model_type,
            unk_id,
            byte_fallback: proto.byte_fallback,
            byte_ids,
            min_score,
            normalizer,
            matcher,
            trie,
            name: proto.normalizer_name,
        })
    }

    /// The number of pieces.
    pub fn len(&self) -> usize {
        self.pieces.len()
    }

    /// Whether the vocabulary is empty (never, for a loaded model).
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// The model type.
    pub fn model_type(&self) -> ModelType {
        self.model_type
    }

    /// The normalizer's name in the model (`nmt_nfkc`, `identity`, ...).
    pub fn normalizer_name(&self) -> &str {
        &self.name
    }

    /// The text of piece `id`.
    pub fn id_to_piece(&self, id: u32) -> Option<&str> {
        self.pieces.get(id as usize).map(|p| p.text.as_str())
    }

    /// The id of `piece` (the unknown id when it is not in the vocabulary).
    pub fn piece_to_id(&self, piece: &str) -> u32 {
        self.index
            .get(piece)
            .or_else(|| self.reserved.get(piece))
            .copied()
            .unwrap_or(self.unk_id)
    }

    /// SentencePiece's normalization of `text` into `out`.
    pub fn normalize_into(&self, text: &str, out: &mut String) {
        self.normalizer.normalize_into(text, &self.matcher, out)
    }

    /// Calls `f` with each piece of `text` (`encode_as_pieces`), using `scratch` for the
    /// normalized text.
    pub fn for_each_piece(&self, text: &str, scratch: &mut String, f: &mut dyn FnMut(&str)) {
        self.normalize_into(text, scratch);
        self.encode_normalized(scratch, &mut |o| match o {
            Out::Text(s, _) => f(s),
            Out::Id(id) => f(&self.pieces[id as usize].text),
        });
    }

    /// Calls `f(piece, id)` with each piece of `text` and its id (the unknown id for an
    /// unknown piece, whose text is then the unknown span), using `scratch` for the normalized
    /// text.
    pub fn for_each_piece_id(
        &self,
        text: &str,
        scratch: &mut String,
        f: &mut dyn FnMut(&str, u32),
    ) {
        self.normalize_into(text, scratch);
        self.encode_normalized(scratch, &mut |o| match o {
            Out::Text(s, id) => f(s, id),
            Out::Id(id) => f(&self.pieces[id as usize].text, id),
        });
    }

    /// The id of the unknown piece.
    pub fn unk_id(&self) -> u32 {
        self.unk_id
    }

    /// The pieces of `text` as owned strings.
    pub fn encode_as_pieces(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut scratch = String::new();
        self.for_each_piece(text, &mut scratch, &mut |p| out.push(p.to_string()));
        out
    }

    /// The ids of `text`'s pieces (`encode_as_ids`).
    pub fn encode_as_ids(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        let mut scratch = String::new();
        self.normalize_into(text, &mut scratch);
        self.encode_normalized(&scratch, &mut |o| match o {
            Out::Text(_, id) | Out::Id(id) => out.push(id),
        });
        out
    }

    /// Segments already-normalized text, then applies byte fallback to unknown pieces.
    fn encode_normalized<'a>(&self, normalized: &'a str, f: &mut dyn FnMut(Out<'a>)) {
        // A run of unknown pieces, as a byte range of `normalized`. The pieces spell the text
        // in order, so a piece covers the bytes after the ones before it; its slice may lie
        // elsewhere (BPE resegments a merged unused piece into parts taken where that piece
        // was first merged), so the range is counted, not read off the slices.
        let mut pending: Option<(usize, usize)> = None;
        let mut covered = 0usize;
        let flush = |range: (usize, usize), f: &mut dyn FnMut(Out<'a>)| {
            let s = &normalized[range.0..range.1];
            if self.byte_fallback {
                for &b in s.as_bytes() {
                    if let Some(bid) = self.byte_ids[b as usize] {
                        f(Out::Id(bid));
                    }
                }
            } else {
                f(Out::Text(s, self.unk_id));
            }
        };
        let mut emit = |s: &'a str, id: u32| {
            let start = covered;
            covered += s.len();
            if id == self.unk_id {
                pending = Some(match pending {
                    Some((ps, _)) => (ps, start + s.len()),
                    None => (start, start + s.len()),
                });
                return;
            }
            if let Some(range) = pending.take() {
                flush(range, f);
            }
            f(Out::Text(s, id));
        };
        match self.model_type {
            ModelType::Unigram => self.unigram(normalized, &mut emit),
            ModelType::Bpe => self.bpe(normalized, &mut emit),
            ModelType::Char => {
                let mut rest = normalized;
                while !rest.is_empty() {
                    let (n, _) = self.matcher.prefix_match(rest);
                    let w = &rest[..n];
                    emit(w, self.encodable_id(w));
                    rest = &rest[n..];
                }
            }
            ModelType::Word => {
                for w in split_words(normalized) {
                    emit(w, self.encodable_id(w));
                }
            }
        }
        if let Some(range) = pending {
            flush(range, f);
        }
    }

    /// The id a char or word model gives the piece `w`: a normal or user-defined piece's,
    /// else the unknown id (an unused piece, or a control or byte piece's text, is unknown
    /// there since sentencepiece 0.2.2).
    fn encodable_id(&self, w: &str) -> u32 {
        match self.index.get(w) {
            Some(&id) if !self.is_unused(id) => id,
            _ => self.unk_id,
        }
    }

    fn is_unused(&self, id: u32) -> bool {
        self.pieces[id as usize].kind == PieceType::Unused
    }

    fn unigram<'a>(&self, text: &'a str, emit: &mut dyn FnMut(&'a str, u32)) {
        UNIGRAM_SCRATCH.with(|cell| {
            let mut scratch = cell.borrow_mut();
            let (best, path) = &mut *scratch;
            self.unigram_with(text, best, path, emit);
        });
    }

    fn unigram_with<'a>(
        &self,
        text: &'a str,
        best: &mut Vec<Best>,
        path: &mut Vec<(u32, u32, u32)>,
        emit: &mut dyn FnMut(&'a str, u32),
    ) {
        let size = text.len();
        let bytes = text.as_bytes();
        best.clear();
        best.resize(size + 1, Best::UNSET);
        let unk_score = self.min_score - UNK_PENALTY;
        // The furthest position a path has reached.
        let mut frontier = 0usize;
        let mut start = 0;
        while start < size {
            let mut till_here = best[start].score;
            // Two comparisons, as the C++ (a NaN score, reachable from a model without normal
            // pieces, passes neither).
            #[allow(clippy::manual_range_contains)]
            let far = till_here < -SCORE_RESET || till_here > SCORE_RESET;
            if far {
                // Rebase every position reached so far on this one (SentencePiece's reset).
                let offset = till_here;
                for (i, b) in best.iter_mut().enumerate().take(frontier + 1).skip(start) {
                    if i == start || b.id != Best::UNSET.id {
                        b.score -= offset;
                    }
                }
                till_here = 0.0;
            }
            let mblen = one_char_len(bytes[start]).min(size - start);
            let mut single = false;
            // Scores and path sums are single-precision floats, as in SentencePiece (the
            // rounding decides between paths of equal exact score).
            self.trie.prefixes(&bytes[start..], |len, id, score| {
                frontier = frontier.max(start + len);
                let candidate = score + till_here;
                let target = &mut best[start + len];
                if target.id == Best::UNSET.id || candidate > target.score {
                    *target = Best {
                        id,
                        score: candidate,
                        start: start as u32,
                    };
                }
                single |= len == mblen;
            });
            if !single {
                frontier = frontier.max(start + mblen);
                let candidate = unk_score + till_here;
                let target = &mut best[start + mblen];
                if target.id == Best::UNSET.id || candidate > target.score {
                    *target = Best {
                        id: self.unk_id,
                        score: candidate,
                        start: start as u32,
                    };
                }
            }
            start += mblen;
        }
        path.clear();
        let mut end = size;
        while end > 0 {
            let node = best[end];
            path.push((node.start, end as u32, node.id));
            end = node.start as usize;
        }
        for &(s, e, id) in path.iter().rev() {
            emit(&text[s as usize..e as usize], id);
        }
    }

    fn bpe<'a>(&self, text: &'a str, emit: &mut dyn FnMut(&'a str, u32)) {
        struct Symbol {
            start: usize,
            len: usize,
            prev: isize,
            next: isize,
            freeze: bool,
        }
        #[derive(PartialEq)]
        struct Pair {
            score: f32,
            left: usize,
            right: usize,
            size: usize,
        }
        impl Eq for Pair {}
        impl PartialOrd for Pair {
            fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(o))
            }
        }
        impl Ord for Pair {
            // The greatest pops first: the highest score, then the leftmost. Scores compare as
            // sentencepiece 0.2.2+ compares them, by their bits (IEEE total order: -0.0 below
            // 0.0, NaNs at the ends).
            fn cmp(&self, o: &Self) -> std::cmp::Ordering {
                self.score
                    .total_cmp(&o.score)
                    .then_with(|| o.left.cmp(&self.left))
            }
        }
        let mut symbols: Vec<Symbol> = Vec::new();
        let mut rest = text;
        let mut pos = 0;
        while !rest.is_empty() {
            let (n, freeze) = self.matcher.prefix_match(rest);
            let i = symbols.len() as isize;
            rest = &rest[n..];
            symbols.push(Symbol {
                start: pos,
                len: n,
                prev: i - 1,
                next: if rest.is_empty() { -1 } else { i + 1 },
                freeze,
            });
            pos += n;
        }
        if symbols.is_empty() {
            return;
        }
        let mut agenda = BinaryHeap::new();
        let mut rev_merge: FxHashMap<&'a str, (&'a str, &'a str)> = FxHashMap::default();
        let add = |left: isize,
                   right: isize,
                   symbols: &Vec<Symbol>,
                   agenda: &mut BinaryHeap<Pair>,
                   rev: &mut FxHashMap<&'a str, (&'a str, &'a str)>| {
            if left < 0 || right < 0 {
                return;
            }
            let (l, r) = (&symbols[left as usize], &symbols[right as usize]);
            if l.freeze || r.freeze {
                return;
            }
            let piece = &text[l.start..l.start + l.len + r.len];
            let Some(&id) = self.index.get(piece) else {
                return;
            };
            agenda.push(Pair {
                score: self.pieces[id as usize].score,
                left: left as usize,
                right: right as usize,
                size: piece.len(),
            });
            if self.is_unused(id) {
                rev.insert(
                    piece,
                    (
                        &text[l.start..l.start + l.len],
                        &text[r.start..r.start + r.len],
                    ),
                );
            }
        };
        for i in 1..symbols.len() {
            add(
                i as isize - 1,
                i as isize,
                &symbols,
                &mut agenda,
                &mut rev_merge,
            );
        }
        while let Some(top) = agenda.pop() {
            let (l, r) = (&symbols[top.left], &symbols[top.right]);
            if l.len == 0 || r.len == 0 || l.len + r.len != top.size {
                continue;
            }
            let right_next = r.next;
            symbols[top.left].len += symbols[top.right].len;
            symbols[top.left].next = right_next;
            if right_next >= 0 {
                symbols[right_next as usize].prev = top.left as isize;
            }
            symbols[top.right].len = 0;
            let prev = symbols[top.left].prev;
            add(
                prev,
                top.left as isize,
                &symbols,
                &mut agenda,
                &mut rev_merge,
            );
            add(
                top.left as isize,
                right_next,
                &symbols,
                &mut agenda,
                &mut rev_merge,
            );
        }
        // A merged unused piece goes back to the two it was merged from, at most
        // `MAX_RESEGMENT_DEPTH` levels down (deeper, it stays whole); a piece that is not a
        // normal, user-defined or unused one (a character that is the text of a control or
        // byte piece, or of none), and an unused piece never merged, is unknown.
        fn resegment<'a>(
            sp: &SentencePiece,
            w: &'a str,
            rev: &FxHashMap<&'a str, (&'a str, &'a str)>,
            depth: usize,
            emit: &mut dyn FnMut(&'a str, u32),
        ) {
            let id = sp.index.get(w).copied();
            if depth > MAX_RESEGMENT_DEPTH {
                return emit(w, id.unwrap_or(sp.unk_id));
            }
            let Some(id) = id else {
                return emit(w, sp.unk_id);
            };
            if !sp.is_unused(id) {
                return emit(w, id);
            }
            match rev.get(w) {
                Some(&(a, b)) => {
                    resegment(sp, a, rev, depth + 1, emit);
                    resegment(sp, b, rev, depth + 1, emit);
                }
                None => emit(w, sp.unk_id),
            }
        }
        let mut i = 0isize;
        while i >= 0 {
            let s = &symbols[i as usize];
            resegment(self, &text[s.start..s.start + s.len], &rev_merge, 0, emit);
            i = s.next;
        }
    }
}

/// The byte of a `<0xXX>` piece.
fn parse_byte_piece(piece: &str) -> Option<u8> {
    // Exactly `<0x%02X>`: two upper-case hex digits, as sentencepiece writes and reads them.
    let hex = piece.strip_prefix("<0x")?.strip_suffix('>')?;
    let upper = |c: &u8| c.is_ascii_digit() || (b'A'..=b'F').contains(c);
    if hex.len() != 2 || !hex.as_bytes().iter().all(upper) {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}

/// The length of the UTF-8 sequence a lead byte starts (SentencePiece's `OneCharLen`).
#[inline]
fn one_char_len(b: u8) -> usize {
    const LEN: [usize; 16] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4];
    LEN[(b >> 4) as usize]
}

/// Words of normalized text: a new word at each `▁`. A word model splits so whatever
/// `treat_whitespace_as_suffix` says (sentencepiece's `SplitIntoWords` with its defaults), a
/// suffix model's `▁` then starting the next word.
fn split_words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c == '\u{2581}' && i > start {
            out.push(&text[start..i]);
            start = i;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::proto::test_writer::unigram_model;
    use super::*;

    #[test]
    fn a_unigram_model_scoring_nan_or_infinity_is_refused() {
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let m = unigram_model(&[("<unk>", 0.0, 2), ("\u{2581}a", bad, 1), ("a", -1.0, 1)]);
            let err = SentencePiece::from_bytes(&m, "m.model")
                .unwrap_err()
                .to_string();
            assert!(err.contains("m.model") && err.contains("piece 1"), "{err}");
        }
        let good = unigram_model(&[("<unk>", 0.0, 2), ("\u{2581}a", -2.0, 1), ("a", -1.0, 1)]);
        assert!(SentencePiece::from_bytes(&good, "m.model").is_ok());
    }

    /// Past a best score of 100,000 in magnitude the Viterbi rebases every score reached on
    /// the position it extends (sentencepiece's parity on long texts is in
    /// tests/test_sentencepiece.py): 30,000 `a` (-142,500 in all) still split into `aa`
    /// pieces (-9.5, better than two `a`), and the best path goes on through a user-defined
    /// piece after them.
    #[test]
    fn long_texts_keep_their_best_path_across_the_score_reset() {
        let m = unigram_model(&[
            ("<unk>", 0.0, 2),
            ("a", -5.0, 1),
            ("aa", -9.5, 1),
            ("\u{2581}", -1.0, 1),
            ("<u>", 0.0, 4),
        ]);
        let sp = SentencePiece::from_bytes(&m, "m.model").unwrap();
        let text = format!("{}<u>a", "a".repeat(30_000));
        let mut pieces = Vec::new();
        sp.encode_normalized(&text, &mut |o| {
            if let Out::Text(t, _) = o {
                pieces.push(t.to_string());
            }
        });
        let mut want = vec!["aa".to_string(); 15_000];
        want.extend(["<u>", "a"].map(String::from));
        assert_eq!(pieces, want);
    }

    /// Trie keys for `keys`: each key's id is its index, its score 0.
    fn key_refs(keys: &[Vec<u8>]) -> Vec<(&[u8], u32, f32)> {
        keys.iter()
            .enumerate()
            .map(|(i, k)| (&k[..], i as u32, 0.0))
            .collect()
    }

    #[test]
    fn trie_prefixes() {
        let t = Trie::build(&[
            (b"a", 1, 0.5),
            (b"ab", 2, 1.5),
            (b"abc", 3, 0.0),
            (b"b", 4, 0.0),
        ]);
        let mut got = Vec::new();
        t.prefixes(b"abd", |l, v, s| got.push((l, v, s)));
        assert_eq!(got, vec![(1, 1, 0.5), (2, 2, 1.5)]);
        // A node with many children finds them through its table.
        let keys: Vec<Vec<u8>> = (0u8..40).map(|b| vec![b'x', b]).collect();
        let t = Trie::build(&key_refs(&keys));
        for (i, k) in keys.iter().enumerate() {
            let mut got = Vec::new();
            t.prefixes(k, |l, v, _| got.push((l, v)));
            assert_eq!(got, vec![(2, i as u32)]);
        }
        let mut got = Vec::new();
        t.prefixes(b"x\xff", |l, v, _| got.push((l, v)));
        assert!(got.is_empty());
    }

    #[test]
    fn large_trie_builds_and_finds_every_key() {
        // 200,000 keys shaped like the pieces of a large multilingual vocabulary: `▁` and
        // 1 to 4 characters of 1 to 3 bytes.
        let mut state = 7u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut keys: Vec<Vec<u8>> = (0..200_000)
            .map(|_| {
                let mut k = Vec::new();
                if next() % 2 == 0 {
                    k.extend_from_slice("▁".as_bytes());
                }
                for _ in 0..1 + next() % 4 {
                    let c = match next() % 3 {
                        0 => char::from(b'a' + (next() % 26) as u8),
                        1 => char::from_u32(0x400 + (next() % 64) as u32).unwrap_or('x'),
                        _ => char::from_u32(0x4e00 + (next() % 3000) as u32).unwrap_or('x'),
                    };
                    k.extend_from_slice(c.to_string().as_bytes());
                }
                k
            })
            .collect();
        keys.sort();
        keys.dedup();
        let t = Trie::build(&key_refs(&keys));
        for (i, k) in keys.iter().enumerate() {
            let mut last = None;
            t.prefixes(k, |l, v, _| last = Some((l, v)));
            assert_eq!(last, Some((k.len(), i as u32)));
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn trie_prefixes_are_the_keys_that_start_the_text(
                keys in proptest::collection::vec(
                    proptest::collection::vec(prop_oneof![0u8..4, any::<u8>()], 1..6), 0..60),
                text in proptest::collection::vec(prop_oneof![0u8..4, any::<u8>()], 0..12),
            ) {
                let refs: Vec<(&[u8], u32, f32)> = keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| (&k[..], i as u32, i as f32 * 0.5))
                    .collect();
                let t = Trie::build(&refs);
                let mut got = Vec::new();
                t.prefixes(&text, |l, v, s| got.push((l, v, s)));
                // The first key of each length that starts the text, shortest first.
                let mut want: Vec<(usize, u32, f32)> = Vec::new();
                for (k, v, s) in &refs {
                    if text.starts_with(k) && !want.iter().any(|w| w.0 == k.len()) {
                        want.push((k.len(), *v, *s));
                    }
                }
                want.sort_by_key(|w| w.0);
                prop_assert_eq!(got, want);
            }
        }
    }

    #[test]
    fn words() {
        assert_eq!(split_words("▁a▁bc"), vec!["▁a", "▁bc"]);
        assert_eq!(split_words("a▁bc▁"), vec!["a", "▁bc", "▁"]);
        assert_eq!(parse_byte_piece("<0x0A>"), Some(10));
    }

    #[test]
    fn not_a_model() {
        assert!(SentencePiece::from_bytes(b"hello world", "x").is_err());
        assert!(SentencePiece::from_bytes(b"", "x").is_err());
    }
}
