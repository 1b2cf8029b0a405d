//! Backoff scoring, as KenLM's probing model does it.
//!
//! Input: a [`State`] (the recent words, newest first, each context's backoff) and a word id.
//! Output: log10 p(word | context), the length of the n-gram that matched, and the state after
//! the word. The rule (Katz backoff over an ARPA model; Heafield 2011, section 4):
//!
//! 1. Start from the unigram of the word (`<unk>`'s entry for an unknown word): length 1.
//! 2. Walk back through the context, newest word first, looking up ever longer n-grams ending in
//!    the word; stop at the first that is missing. The last found gives the probability and the
//!    length `L`.
//! 3. Add the backoffs of the contexts longer than the one used: `backoff[j]` for
//!    `j >= L - 1` (in increasing `j`, in `f32`, the order KenLM adds them).
//! 4. The new state is the word followed by the context words whose n-grams were found, at most
//!    `order - 1` words, each with the backoff of its n-gram, cut after the longest n-gram that
//!    is the context of some longer n-gram (KenLM's minimal state: a longer context could only
//!    lead to lookups that fail, and its backoff is 0).
//!
//! Sentences: words are split on bytes 9 to 13 and 32 (Python's `bytes.split()`, which the
//! kenlm module uses, and KenLM's `query`); scores are summed in `f32` as the kenlm module does.
//!
//! Memory: a state is a fixed 128-byte value; scoring allocates nothing.

use crate::arpa::reader::{is_arpa_space, ArpaSpaces};
use crate::text::whitespace::spans;

use super::probing::{
    combine, extends, f32_at, murmur_hash_64a_within, vocab_hash, with_sign, Table, UNIGRAM_ENTRY,
};
use super::MAX_ORDER;

/// The context of the next word: up to `order - 1` recent words, newest first, and the backoff
/// of each context (`backoff[i]` belongs to the n-gram `words[i] ... words[0]`).
#[derive(Debug, Clone, Copy)]
pub struct State {
    pub(crate) len: u8,
    pub(crate) words: [u32; MAX_ORDER - 1],
    pub(crate) backoff: [f32; MAX_ORDER - 1],
}

impl Default for State {
    fn default() -> Self {
        State {
            len: 0,
            words: [0; MAX_ORDER - 1],
            backoff: [0.0; MAX_ORDER - 1],
        }
    }
}

impl State {
    /// The number of context words held.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether no context is held (the null context).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The context word ids, newest first.
    pub fn words(&self) -> &[u32] {
        &self.words[..self.len()]
    }

    /// The backoffs of the contexts, shortest first.
    pub fn backoffs(&self) -> &[f32] {
        &self.backoff[..self.len()]
    }

    pub(crate) fn single(word: u32, backoff: f32) -> Self {
        let mut s = State {
            len: 1,
            ..State::default()
        };
        s.words[0] = word;
        s.backoff[0] = backoff;
        s
    }
}

impl PartialEq for State {
    fn eq(&self, other: &Self) -> bool {
        self.words() == other.words()
            && self
                .backoffs()
                .iter()
                .zip(other.backoffs())
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }
}

impl Eq for State {}

impl std::hash::Hash for State {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.words().hash(h);
    }
}

/// The score of one word.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FullScore {
    /// log10 p(word | context), backoffs included.
    pub prob: f32,
    /// The length of the n-gram that matched (1 for a unigram).
    pub ngram_length: u8,
    /// Whether the word is out of the vocabulary (scored as `<unk>`).
    pub oov: bool,
}

/// The words of `text` under the scoring rule (bytes 9 to 13 and 32 separate words).
pub fn split_words(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|&b| is_arpa_space(b)).filter(|w| !w.is_empty())
}

/// Calls `f` with the vocabulary key ([`vocab_hash`]) of each word of `text`, the words of
/// [`split_words`] in order, found 64 bytes at a time ([`crate::text::whitespace::Spans`]) and
/// hashed in place.
#[inline]
pub(crate) fn for_each_word_key(text: &[u8], mut f: impl FnMut(u64)) {
    for (start, end) in spans::<ArpaSpaces>(text) {
        f(murmur_hash_64a_within(text, start, end, 0));
    }
}

/// Read access to the tables of a model (its probing image, owned or memory-mapped).
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub order: usize,
    pub bos: u32,
    pub eos: u32,
    pub vocab: Table<'a>,
    pub unigrams: &'a [u8],
    /// `tables[n]` holds the n-grams of order `n` (2..=order); 0 and 1 are unused.
    pub tables: [Table<'a>; MAX_ORDER + 1],
}

impl Lookup for View<'_> {
    #[inline]
    fn bos(&self) -> u32 {
        self.bos
    }

    #[inline]
    fn eos(&self) -> u32 {
        self.eos
    }

    #[inline]
    fn prefetch_vocab(&self, hash: u64) -> usize {
        let first = self.vocab.first_bucket(hash);
        self.vocab.prefetch_bucket(first);
        first
    }

    /// Each key probed from the first bucket [`Lookup::prefetch_vocab`] worked out for it.
    #[inline]
    fn ids_of_keys(&self, keys: &[u64], firsts: &[usize], mut f: impl FnMut(u32)) {
        for (&key, &first) in keys.iter().zip(firsts) {
            f(self
                .vocab
                .find_from(key, first)
                .map_or(0, |at| self.vocab.u32(at)));
        }
    }

    fn search_bytes(&self) -> usize {
        let tables: usize = self.tables.iter().map(Table::byte_len).sum();
        self.vocab.byte_len() + self.unigrams.len() + tables
    }

    #[inline]
    fn id_of_hash(&self, hash: u64) -> u32 {
        self.vocab.find(hash).map_or(0, |at| self.vocab.u32(at))
    }

    /// The stored log10 probability and backoff of the unigram `id` (0.0 past the end).
    #[inline]
    fn unigram(&self, id: u32) -> (f32, f32) {
        let at = id as usize * UNIGRAM_ENTRY;
        (f32_at(self.unigrams, at), f32_at(self.unigrams, at + 4))
    }

    /// Scores `word` after `state`, writing the next state to `out`.
    #[inline]
    fn full_score(&self, state: &State, word: u32, out: &mut State) -> FullScore {
        walk(self, state, word, out)
    }

    /// The keys and first buckets of every n-gram the walk of the next word may probe.
    type Next = WordKeys<{ MAX_ORDER - 1 }>;

    /// Works out the key and first bucket of each n-gram `word` and the context of `state`
    /// make (orders 2 to the state's length plus one, as [`walk`] would) and prefetches the
    /// buckets.
    #[inline]
    fn prepare(&self, state: &State, word: u32, next: &mut Self::Next) {
        let in_len = state.len().min(self.order - 1);
        let mut key = u64::from(word);
        for i in 0..in_len {
            key = combine(key, state.words[i]);
            let table = &self.tables[i + 2];
            let first = table.first_bucket(key);
            table.prefetch_bucket(first);
            next.key[i] = key;
            next.bucket[i] = first;
        }
    }

    #[inline]
    fn prefetch_word(&self, word: u32) {
        self.prefetch_unigram(word);
    }

    #[inline]
    fn score_prepared(
        &self,
        next: &Self::Next,
        state: &State,
        word: u32,
        out: &mut State,
    ) -> FullScore {
        walk(
            &Ahead {
                view: self,
                keys: next,
            },
            state,
            word,
            out,
        )
    }

    /// [`Lookup::score_ids`] with each word's n-gram keys and first buckets worked out once,
    /// a few words ahead ([`View::keys_of`], which prefetches the buckets), and read back by
    /// the walk ([`Ahead`]) instead of being combined and reduced again.
    fn score_ids(&self, ids: &[u32], bos: bool) -> f32 {
        // Words whose buckets are in flight while one is scored, plus that one.
        const RING: usize = 4;
        let mut ring = [WordKeys::<KEYS_AHEAD>::default(); RING];
        for (j, slot) in ring.iter_mut().enumerate().take(ids.len().min(RING - 1)) {
            self.keys_of(ids, j, bos, slot);
        }
        // Two states, the references swapped after each word (not the 128-byte values).
        let (mut first, mut second) = (self.start(bos), State::default());
        let (mut state, mut out) = (&mut first, &mut second);
        let mut total = 0.0f32;
        for (j, &id) in ids.iter().enumerate() {
            let ahead = j + RING - 1;
            if ahead < ids.len() {
                self.keys_of(ids, ahead, bos, &mut ring[ahead % RING]);
            }
            let probe = Ahead {
                view: self,
                keys: &ring[j % RING],
            };
            total += walk(&probe, state, id, out).prob;
            std::mem::swap(&mut state, &mut out);
        }
        total
    }
}

/// The orders whose keys [`View::keys_of`] works out ahead (2 and 3): on running text most
/// walks stop there (the longer n-grams are missing), so working out the keys of every order
/// ahead costs more than the misses their prefetch would hide.
const KEYS_AHEAD: usize = 2;

/// The keys of the n-grams ending in one word of a sentence (`key[i]` for order `i + 2`: the
/// word and the `i + 1` words before it, `<s>` included) and their first buckets, for the
/// lowest `K` orders ([`View::keys_of`]: [`KEYS_AHEAD`]; [`Lookup::prepare`] in lockstep: every
/// order the state can reach). A state holds the most recent words (only its length depends
/// on the lookups), so these are the keys the walk would make from the state; the walk asks
/// for no order above the state's length plus one, and these cover it.
#[derive(Clone, Copy)]
pub(crate) struct WordKeys<const K: usize> {
    key: [u64; K],
    bucket: [usize; K],
}

impl<const K: usize> Default for WordKeys<K> {
    fn default() -> Self {
        WordKeys {
            key: [0; K],
            bucket: [0; K],
        }
    }
}

impl View<'_> {
    /// The keys and first buckets of the n-grams of orders 2 to `KEYS_AHEAD + 1` ending in
    /// `ids[j]` that the words before it (and `<s>` with `bos`) make, into `out`; the buckets
    /// and the word's unigram are prefetched.
    #[inline(always)]
    fn keys_of(&self, ids: &[u32], j: usize, bos: bool, out: &mut WordKeys<KEYS_AHEAD>) {
        let word = ids[j];
        self.prefetch_unigram(word);
        let mut key = u64::from(word);
        let known = (self.order - 1).min(j + usize::from(bos)).min(KEYS_AHEAD);
        for i in 0..known {
            let older = if i < j { ids[j - 1 - i] } else { self.bos };
            key = combine(key, older);
            let table = &self.tables[i + 2];
            let first = table.first_bucket(key);
            table.prefetch_bucket(first);
            out.key[i] = key;
            out.bucket[i] = first;
        }
    }
}

/// The probing tables with one word's keys of the lowest orders worked out beforehand
/// ([`View::keys_of`]): the walk reads those keys and first buckets, and extends the last one
/// for the orders above, as [`View`] does.
struct Ahead<'v, 'a, const K: usize> {
    view: &'v View<'a>,
    keys: &'v WordKeys<K>,
}

impl<const K: usize> Probe for Ahead<'_, '_, K> {
    /// The key of the last n-gram probed (the word's id before any).
    type Cursor = u64;

    #[inline]
    fn order(&self) -> usize {
        self.view.order
    }

    #[inline]
    fn begin(&self, _state: &State, word: u32, _in_len: usize) -> ((f32, f32), Self::Cursor) {
        let (prob, backoff) = self.view.unigram(word);
        ((with_sign(prob), backoff), u64::from(word))
    }

    #[inline]
    fn find(&self, key: &mut u64, n: usize, older: u32, _more: bool) -> Option<(f32, f32)> {
        let table = &self.view.tables[n];
        let at = if let (Some(&k), Some(&first)) =
            (self.keys.key.get(n - 2), self.keys.bucket.get(n - 2))
        {
            *key = k;
            table.find_from(k, first)?
        } else {
            *key = combine(*key, older);
            table.find(*key)?
        };
        Some(self.view.values(table, at, n))
    }
}

/// The part of the backoff walk that depends on the search structure: where the n-grams
/// ending in a word are. [`walk`], the rule itself, is written once on top and compiled for
/// each structure (KenLM's probing tables here, the trie in [`super::trie_search`]).
pub(crate) trait Probe {
    /// Where the walk stands between two orders (probing: the key of the last n-gram probed;
    /// trie: the range of the children of the last n-gram found).
    type Cursor;
    /// The model's order.
    fn order(&self) -> usize;
    /// The log10 probability of the unigram `word` as KenLM reads it and its backoff, and the
    /// cursor for the n-grams `state.words[..in_len] ... word`. KenLM's probing tables keep
    /// "independent left" in the sign bit of a probability and read it with the sign set, so
    /// a stored 0 comes back as -0.0; its trie reads a unigram's probability as stored (a 0,
    /// such as `<s>`'s, stays 0; `query` prints `0` there and `-0` for probing).
    fn begin(&self, state: &State, word: u32, in_len: usize) -> ((f32, f32), Self::Cursor);
    /// The n-gram of order `n`: the one found at order `n - 1` extended by the older word
    /// `older`. Its log10 probability (sign set, as KenLM reads it) and backoff (KenLM's "no
    /// extension" `-0.0` at the highest order); `more` says whether order `n + 1` will be
    /// looked for.
    fn find(
        &self,
        cursor: &mut Self::Cursor,
        n: usize,
        older: u32,
        more: bool,
    ) -> Option<(f32, f32)>;
}

/// Scores `word` after `state` by the rule of the module doc (steps 1 to 4) over the n-grams
/// `probe` finds, writing the next state to `out`.
#[inline(always)]
pub(crate) fn walk<P: Probe>(probe: &P, state: &State, word: u32, out: &mut State) -> FullScore {
    let order = probe.order();
    let in_len = state.len().min(order - 1);
    let ((mut prob, backoff), mut cursor) = probe.begin(state, word, in_len);
    let mut length = 1usize;
    out.words[0] = word;
    out.backoff[0] = backoff;
    // The state keeps the context up to the longest matched n-gram that extends (KenLM's
    // minimal state): a longer one could only lead to probes that fail.
    let mut out_len = usize::from(extends(backoff));
    for i in 0..in_len {
        let n = i + 2;
        let Some((p, b)) = probe.find(&mut cursor, n, state.words[i], i + 1 < in_len) else {
            break;
        };
        length = n;
        prob = p;
        if i + 1 < order - 1 {
            out.words[i + 1] = state.words[i];
            out.backoff[i + 1] = b;
            if extends(b) {
                out_len = i + 2;
            }
        }
    }
    for j in (length - 1)..in_len {
        prob += state.backoff[j];
    }
    out.len = out_len.min(order - 1) as u8;
    FullScore {
        prob,
        ngram_length: length as u8,
        oov: word == 0,
    }
}

impl Probe for View<'_> {
    /// The key of the last n-gram probed (the word's id before any).
    type Cursor = u64;

    #[inline]
    fn order(&self) -> usize {
        self.order
    }

    #[inline]
    fn begin(&self, _state: &State, word: u32, _in_len: usize) -> ((f32, f32), Self::Cursor) {
        let (prob, backoff) = self.unigram(word);
        ((with_sign(prob), backoff), u64::from(word))
    }

    #[inline]
    fn find(
        &self,
        key: &mut Self::Cursor,
        n: usize,
        older: u32,
        _more: bool,
    ) -> Option<(f32, f32)> {
        *key = combine(*key, older);
        let table = &self.tables[n];
        let at = table.find(*key)?;
        Some(self.values(table, at, n))
    }
}

impl View<'_> {
    /// The log10 probability (sign set) and backoff of the entry at `at` of order `n`'s table
    /// (KenLM's "no extension" `-0.0` at the highest order).
    #[inline]
    fn values(&self, table: &Table<'_>, at: usize, n: usize) -> (f32, f32) {
        let b = if n < self.order {
            table.f32(at + 4)
        } else {
            -0.0
        };
        (with_sign(table.f32(at)), b)
    }

    #[inline]
    fn prefetch_unigram(&self, id: u32) {
        if let Some(b) = self.unigrams.get(id as usize * UNIGRAM_ENTRY) {
            super::probing::prefetch(b);
        }
    }
}

/// The ids of the vocabulary keys this thread looked up last in a trie, direct-mapped by the
/// key's low bits and tagged with the trie's [`id_cache::new_tag`]: words repeat (a few hundred
/// make up half of any text), so most words skip the trie vocabulary's interpolation search. A
/// key's id in one model never changes, and no two models share a tag, so a hit is exact.
///
/// Memory: 24 KiB per thread that scored a trie.
pub(crate) mod id_cache {
    use std::cell::RefCell;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Slots of a thread's cache (24 bytes each: 384 KiB, inside a core's L2 on this project's
    /// machine, allocated on the thread's first trie lookup). Each miss is an interpolation
    /// search of the sorted vocabulary, and 1,024 slots could not hold the 4,268 distinct
    /// words of book.heldout; four times as many slots again (1.5 MB a thread, all of it
    /// touched by a real vocabulary) gained little more there.
    const SLOTS: usize = 1 << 14;

    #[derive(Clone, Copy)]
    struct Slot {
        key: u64,
        /// 0: empty.
        tag: u64,
        id: u32,
    }

    const EMPTY: Slot = Slot {
        key: 0,
        tag: 0,
        id: 0,
    };

    thread_local! {
        static SLOTS_OF_THREAD: RefCell<Vec<Slot>> = const { RefCell::new(Vec::new()) };
    }

    /// A tag no other model of this process has had (never 0).
    pub(crate) fn new_tag() -> u64 {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }

    /// Calls `f` with the id of each of `keys` in order, from this thread's cache or from
    /// `find` (then remembered), for the model tagged `tag`.
    #[inline]
    pub(crate) fn ids_of_keys(
        tag: u64,
        keys: &[u64],
        find: impl Fn(u64) -> u32,
        mut f: impl FnMut(u32),
    ) {
        SLOTS_OF_THREAD.with(|slots| match slots.try_borrow_mut() {
            Ok(mut slots) => {
                if slots.is_empty() {
                    slots.resize(SLOTS, EMPTY);
                }
                for &key in keys {
                    let slot = &mut slots[key as usize % SLOTS];
                    if slot.key == key && slot.tag == tag {
                        f(slot.id);
                    } else {
                        let id = find(key);
                        *slot = Slot { key, tag, id };
                        f(id);
                    }
                }
            }
            // Only if `f` itself scored with a trie on this thread: look up without the cache.
            Err(_) => keys.iter().for_each(|&key| f(find(key))),
        });
    }
}

/// Sentences [`Lookup::score_lockstep`] scores in lockstep.
pub(crate) const LANES: usize = 8;

/// Whether a search over `bytes` of model fits in half this machine's last-level cache, so
/// that [`Lookup::score_lines`] scores a sentence at a time. Half the cache leaves room for
/// the text, the ids and the other thread; on this project's machine (32 MiB L3) the two ways
/// came out even on models of 20 and 33 MB.
pub(crate) fn cache_resident(bytes: usize) -> bool {
    static LIMIT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    bytes <= *LIMIT.get_or_init(|| last_level_cache().unwrap_or(8 << 20) / 2)
}

/// The size of the largest CPU cache Linux reports for cpu0 (`/sys/devices/system/cpu/cpu0/
/// cache/index*/size`, as `32768K`), `None` where none is reported.
fn last_level_cache() -> Option<usize> {
    let dir = std::fs::read_dir("/sys/devices/system/cpu/cpu0/cache").ok()?;
    dir.filter_map(|e| {
        let size = std::fs::read_to_string(e.ok()?.path().join("size")).ok()?;
        parse_cache_size(size.strip_suffix('\n').unwrap_or(&size))
    })
    .max()
}

/// `32768K` -> 33554432 bytes (sysfs writes K, M or plain bytes).
fn parse_cache_size(s: &str) -> Option<usize> {
    let (digits, unit) = match s.as_bytes().last()? {
        b'K' => (&s[..s.len() - 1], 1 << 10),
        b'M' => (&s[..s.len() - 1], 1 << 20),
        b'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    digits.parse::<usize>().ok()?.checked_mul(unit)
}

/// Word ids a sentence keeps on the stack while scored (a longer one allocates).
const IDS_ON_STACK: usize = 256;

/// What scoring needs of a model's search structure (KenLM's probing tables, [`View`], or its
/// trie, [`super::trie_search::TrieView`]); the sentence loops are written once, on top.
pub(crate) trait Lookup: Sync {
    /// The id of `<s>`.
    fn bos(&self) -> u32;
    /// The id of `</s>`.
    fn eos(&self) -> u32;
    /// The id of the word with vocabulary key `hash` (0 when unknown).
    fn id_of_hash(&self, hash: u64) -> u32;
    /// Calls `f` with the id of each of `keys` in order ([`Lookup::id_of_hash`]; probing tables
    /// start from `firsts`, what [`Lookup::prefetch_vocab`] gave for each key; a trie answers
    /// repeated words from the thread's [`id_cache`]).
    #[inline]
    fn ids_of_keys(&self, keys: &[u64], _firsts: &[usize], mut f: impl FnMut(u32)) {
        for &key in keys {
            f(self.id_of_hash(key));
        }
    }
    /// A hint that the word with key `hash` will be looked up soon; returns what
    /// [`Lookup::ids_of_keys`] takes for it (probing tables: its first bucket, worked out once).
    fn prefetch_vocab(&self, _hash: u64) -> usize {
        0
    }
    /// The stored log10 probability and backoff of the unigram `id`.
    fn unigram(&self, id: u32) -> (f32, f32);
    /// Scores `word` after `state`, writing the next state to `out`.
    fn full_score(&self, state: &State, word: u32, out: &mut State) -> FullScore;
    /// A hint that `word` will be scored after `state` soon.
    fn prefetch(&self, _state: &State, _word: u32) {}
    /// A hint that `ids[j]` will be scored after `ids[..j]` (preceded by `<s>` with `bos`).
    fn prefetch_ngrams(&self, _ids: &[u32], _j: usize, _bos: bool) {}

    /// What [`Lookup::prepare`] works out for [`Lookup::score_prepared`].
    type Next: Copy + Default;
    /// Works out what scoring `word` after `state` needs first and asks the CPU for the memory
    /// it will read (the lockstep of [`Lookup::score_lines`] does this for one sentence, then
    /// scores the other sentences' words while the misses are in flight).
    fn prepare(&self, state: &State, word: u32, next: &mut Self::Next);
    /// A hint that `word` will be prepared soon (its unigram record is brought in).
    fn prefetch_word(&self, word: u32);
    /// [`Lookup::full_score`] with `next` from [`Lookup::prepare`] of the same state and word.
    fn score_prepared(
        &self,
        next: &Self::Next,
        state: &State,
        word: u32,
        out: &mut State,
    ) -> FullScore;

    /// The bytes of the model this search reads (its tables, or the whole trie file): what
    /// decides between [`Lookup::score_each`] and [`Lookup::score_lockstep`].
    fn search_bytes(&self) -> usize;

    /// Scores many sentences of ids at once: sentence `i` is `ids[ends[i - 1]..ends[i]]`
    /// (`ids[..ends[0]]` for the first), scored from the start state (`<s>` with `bos`), its
    /// sum into `out[i]`: the same `f32` sum in the same order as [`Lookup::score_ids`].
    /// `ends` must be nondecreasing and at most `ids.len()`, `out` as long as `ends`.
    ///
    /// A model that fits in half the last-level cache ([`cache_resident`]) is scored a
    /// sentence at a time ([`Lookup::score_each`]): its misses are cache hits that the
    /// prefetch a few words ahead hides, and the lockstep's bookkeeping would cost more than it
    /// saves (book.o5, 12 MB; figures in the README's scoring row). A larger one is scored in
    /// lockstep ([`Lookup::score_lockstep`]), whose overlapped misses to memory pay.
    fn score_lines(&self, ids: &[u32], ends: &[usize], bos: bool, out: &mut [f32]) {
        if cache_resident(self.search_bytes()) {
            self.score_each(ids, ends, bos, out);
        } else {
            self.score_lockstep(ids, ends, bos, out);
        }
    }

    /// [`Lookup::score_lines`] by [`Lookup::score_ids`] of each sentence in turn.
    fn score_each(&self, ids: &[u32], ends: &[usize], bos: bool, out: &mut [f32]) {
        let mut start = 0;
        for (o, &end) in out.iter_mut().zip(ends) {
            *o = self.score_ids(&ids[start..end], bos);
            start = end;
        }
    }

    /// [`Lookup::score_lines`] with [`LANES`] sentences scored in lockstep: each step scores
    /// one word of every sentence, and right after a sentence's word is scored the next word's
    /// lookups are prepared ([`Lookup::prepare`]: keys worked out, memory prefetched) and the
    /// word after it prefetched, so the misses of one sentence are in flight while the others
    /// are scored instead of queueing.
    fn score_lockstep(&self, ids: &[u32], ends: &[usize], bos: bool, out: &mut [f32]) {
        #[derive(Clone, Copy)]
        struct Lane<N> {
            line: usize,
            at: usize,
            end: usize,
            total: f32,
            next: N,
            states: [State; 2],
            cur: usize,
        }
        let start_state = self.start(bos);
        let mut lanes = [Lane {
            line: 0,
            at: 0,
            end: 0,
            total: 0.0,
            next: Self::Next::default(),
            states: [start_state, State::default()],
            cur: 0,
        }; LANES];
        let mut next_line = 0usize;
        // Puts the next sentence with words into `lane` (empty ones score 0); false when none
        // is left.
        let mut refill = |lane: &mut Lane<Self::Next>, out: &mut [f32]| -> bool {
            while next_line < ends.len() {
                let line = next_line;
                next_line += 1;
                let start = if line == 0 { 0 } else { ends[line - 1] };
                let end = ends[line];
                if start >= end {
                    out[line] = 0.0;
                    continue;
                }
                lane.line = line;
                lane.at = start;
                lane.end = end;
                lane.total = 0.0;
                lane.states[0] = start_state;
                lane.cur = 0;
                self.prefetch_word(ids[start]);
                self.prepare(&start_state, ids[start], &mut lane.next);
                if start + 1 < end {
                    self.prefetch_word(ids[start + 1]);
                }
                return true;
            }
            false
        };
        let mut active = 0;
        while active < LANES && refill(&mut lanes[active], out) {
            active += 1;
        }
        while active > 0 {
            let mut k = 0;
            while k < active {
                let lane = &mut lanes[k];
                let id = ids[lane.at];
                let [a, b] = &mut lane.states;
                let (state, after) = if lane.cur == 0 { (&*a, b) } else { (&*b, a) };
                lane.total += self.score_prepared(&lane.next, state, id, after).prob;
                lane.cur ^= 1;
                lane.at += 1;
                if lane.at < lane.end {
                    let state = &lane.states[lane.cur];
                    self.prepare(state, ids[lane.at], &mut lane.next);
                    if lane.at + 1 < lane.end {
                        self.prefetch_word(ids[lane.at + 1]);
                    }
                    k += 1;
                    continue;
                }
                out[lane.line] = lane.total;
                if refill(lane, out) {
                    k += 1;
                } else {
                    active -= 1;
                    lanes[k] = lanes[active];
                }
            }
        }
    }

    /// The id of `word`, 0 (`<unk>`) when unknown.
    #[inline]
    fn index(&self, word: &[u8]) -> u32 {
        self.id_of_hash(vocab_hash(word))
    }

    /// The state after `<s>`.
    fn begin_sentence(&self) -> State {
        let (_, backoff) = self.unigram(self.bos());
        State::single(self.bos(), backoff)
    }

    fn start(&self, bos: bool) -> State {
        if bos {
            self.begin_sentence()
        } else {
            State::default()
        }
    }

    /// The log10 probability of `text`, summed in `f32` as the kenlm module does.
    fn score(&self, text: &[u8], bos: bool, eos: bool) -> f32 {
        let mut stack = [0u32; IDS_ON_STACK];
        let mut heap = Vec::new();
        let ids = self.ids_of(text, eos, &mut stack, &mut heap);
        self.score_ids(ids, bos)
    }

    /// The ids of the words of `text` (then `</s>`'s with `eos`), in `stack` or, past its
    /// length, in `heap`. The words are hashed a block at a time and their vocabulary buckets
    /// prefetched before any is looked up: the probes are independent, so their cache misses
    /// overlap instead of queueing.
    fn ids_of<'b>(
        &self,
        text: &[u8],
        eos: bool,
        stack: &'b mut [u32; IDS_ON_STACK],
        heap: &'b mut Vec<u32>,
    ) -> &'b [u32] {
        let mut n = 0usize;
        let mut push = |id: u32, stack: &mut [u32; IDS_ON_STACK], heap: &mut Vec<u32>| {
            if n < IDS_ON_STACK {
                stack[n] = id;
            } else {
                if heap.is_empty() {
                    heap.extend_from_slice(&stack[..]);
                }
                heap.push(id);
            }
            n += 1;
        };
        let mut hashes = [0u64; 64];
        let mut firsts = [0usize; 64];
        let mut m = 0;
        for_each_word_key(text, |h| {
            firsts[m] = self.prefetch_vocab(h);
            hashes[m] = h;
            m += 1;
            if m == hashes.len() {
                self.ids_of_keys(&hashes, &firsts, |id| push(id, stack, heap));
                m = 0;
            }
        });
        self.ids_of_keys(&hashes[..m], &firsts[..m], |id| push(id, stack, heap));
        if eos {
            push(self.eos(), stack, heap);
        }
        if heap.is_empty() {
            &stack[..n]
        } else {
            &heap[..]
        }
    }

    /// The sum of the scores of `ids` from the start state (`<s>` with `bos`). The n-grams a
    /// word may need are fixed by the words before it (a state holds the most recent words,
    /// and only its length depends on the lookups), so those of a word a few places ahead are
    /// prefetched while the current one is scored.
    fn score_ids(&self, ids: &[u32], bos: bool) -> f32 {
        const AHEAD: usize = 3;
        let (mut first, mut second) = (self.start(bos), State::default());
        let (mut state, mut out) = (&mut first, &mut second);
        let mut total = 0.0f32;
        for j in 0..ids.len().min(AHEAD) {
            self.prefetch_ngrams(ids, j, bos);
        }
        for (j, &id) in ids.iter().enumerate() {
            if j + AHEAD < ids.len() {
                self.prefetch_ngrams(ids, j + AHEAD, bos);
            }
            total += self.full_score(state, id, out).prob;
            std::mem::swap(&mut state, &mut out);
        }
        total
    }

    /// Scores `texts` into `out` (same length) and counts their words into `words`: every
    /// word's id first (their vocabulary probes overlapping), then the sentences in lockstep
    /// by [`Lookup::score_lines`], the same `f32` sum in the same order as [`Lookup::score`].
    fn score_block(
        &self,
        texts: &[&[u8]],
        bos: bool,
        eos: bool,
        out: &mut [f32],
        words: &mut [usize],
    ) {
        // Every word's id first: hash every word and prefetch its vocabulary bucket, then look
        // the keys up (the probes are independent, so their misses overlap).
        let mut ids: Vec<u32> = Vec::with_capacity(texts.len() * 24);
        let mut ends: Vec<usize> = Vec::with_capacity(texts.len());
        let mut keys: Vec<u64> = Vec::with_capacity(texts.len() * 24);
        let mut firsts: Vec<usize> = Vec::with_capacity(texts.len() * 24);
        for text in texts {
            for_each_word_key(text, |key| {
                firsts.push(self.prefetch_vocab(key));
                keys.push(key);
            });
            if eos {
                keys.push(0); // </s>, known
                firsts.push(0);
            }
            ends.push(keys.len());
        }
        self.ids_of_keys(&keys, &firsts, |id| ids.push(id));
        if eos {
            // Each sentence's last key stands for `</s>`.
            let eos_id = self.eos();
            for &end in &ends {
                ids[end - 1] = eos_id;
            }
        }
        self.score_lines(&ids, &ends, bos, out);
        let mut start = 0;
        for (w, &end) in words.iter_mut().zip(&ends) {
            *w = end - start - usize::from(eos);
            start = end;
        }
    }

    /// Every word's score (and `</s>`'s with `eos`).
    fn full_scores(&self, text: &[u8], bos: bool, eos: bool) -> Vec<FullScore> {
        let mut scores = Vec::new();
        let ids = split_words(text).map(|w| self.index(w));
        self.sentence_scores(ids, bos, eos, |s| scores.push(s));
        scores
    }

    /// Walks `ids` from the start state, calling `f` with each word's score and then with
    /// `</s>`'s when `eos`: the kenlm module's `full_scores`, which flags the `</s>` it adds as
    /// in the vocabulary even in a model without `</s>` (built with `build_binary -s`), where
    /// it is scored as `<unk>`.
    fn sentence_scores(
        &self,
        ids: impl Iterator<Item = u32>,
        bos: bool,
        eos: bool,
        mut f: impl FnMut(FullScore),
    ) {
        let mut state = self.start(bos);
        let mut out = State::default();
        for id in ids {
            f(self.full_score(&state, id, &mut out));
            std::mem::swap(&mut state, &mut out);
        }
        if eos {
            let end = self.full_score(&state, self.eos(), &mut out);
            f(FullScore { oov: false, ..end });
        }
    }
}

/// The kenlm module's perplexity: `10^(-score(text, bos, eos) / (words + 1))`, the `+ 1` for
/// `</s>`.
pub fn perplexity_of(score: f32, text: &[u8]) -> f64 {
    perplexity_of_words(score, split_words(text).count())
}

/// [`perplexity_of`] for a text of `words` words.
pub(crate) fn perplexity_of_words(score: f32, words: usize) -> f64 {
    10f64.powf(-f64::from(score) / (words as f64 + 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Bytes around every edge of the word scan: each separator, the non-separators below
    /// 0x21 (NUL, 0x01, 0x1f), 0x21, ASCII letters and UTF-8 lead/continuation bytes.
    fn text() -> impl Strategy<Value = Vec<u8>> {
        let alphabet: &[u8] = b"ab\t\n\x0b\x0c\r \x00\x01\x1f\x21\x7f\x80\xc3\xa9\xff";
        proptest::collection::vec(proptest::sample::select(alphabet), 0..200)
    }

    #[test]
    fn cache_sizes_parse_as_sysfs_writes_them() {
        assert_eq!(parse_cache_size("32768K"), Some(32 << 20));
        assert_eq!(parse_cache_size("1M"), Some(1 << 20));
        assert_eq!(parse_cache_size("4096"), Some(4096));
        assert_eq!(parse_cache_size(""), None);
        assert_eq!(parse_cache_size("K"), None);
        assert_eq!(parse_cache_size("12x"), None);
        // A tiny model is cache-resident wherever the limit lies; a terabyte never is.
        assert!(cache_resident(4096));
        assert!(!cache_resident(1 << 40));
    }

    proptest! {
        #[test]
        fn word_keys_are_the_hashes_of_split_words(text in text(), cut in 0usize..200) {
            let want: Vec<u64> = split_words(&text).map(vocab_hash).collect();
            let mut got = Vec::new();
            for_each_word_key(&text, |k| got.push(k));
            prop_assert_eq!(&got, &want);
            // A prefix of a longer buffer (the words run up to its end).
            let prefix = &text[..cut.min(text.len())];
            let want: Vec<u64> = split_words(prefix).map(vocab_hash).collect();
            let mut got = Vec::new();
            for_each_word_key(prefix, |k| got.push(k));
            prop_assert_eq!(got, want);
        }

        #[test]
        fn hash_within_a_buffer_is_the_hash_of_the_slice(
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
            a in 0usize..64,
            b in 0usize..64,
        ) {
            let (start, end) = (a.min(b).min(bytes.len()), a.max(b).min(bytes.len()));
            prop_assert_eq!(
                murmur_hash_64a_within(&bytes, start, end, 7),
                super::super::probing::murmur_hash_64a(&bytes[start..end], 7)
            );
        }
    }
}
