//! The prefix dictionary of the segmenter: jieba's `FREQ` table as a character trie.
//!
//! Input: words with their frequencies, one at a time (from the parsers in [`super::format`] or
//! `add_word`). Output: a trie whose nodes are exactly the keys of jieba's `FREQ` table (every
//! prefix of every word ever added), each with its frequency (0 for a prefix that is not a word,
//! or a deleted word), walked one character at a time by the cutter.
//! Memory: 8 bytes per distinct prefix, a 24-byte slot per trie edge in a table at most 5/8
//! full (plus a Bloom filter of 8 bits per slot), and 1 MiB for the root's children in the
//! Basic Multilingual Plane. jieba's own `dict.txt` (349,046 words, 498,113 prefixes) takes
//! about 30 MB, 45 MB at the peak of loading (when the table doubles).

/// Node 0 is the root (the empty string, never a word).
const ROOT: u32 = 0;
/// Size of the direct table of the root's children (code points below it).
const ROOT_TABLE: usize = 0x1_0000;
/// `ln_freq` of a node that is not a word (the logarithm of a frequency >= 1 is >= 0).
const NOT_A_WORD: f64 = -1.0;

/// A step of a walk down the trie: the node reached, whether it has children (a walk can stop
/// at a leaf without looking further) and, if its string is a word (nonzero frequency),
/// `ln(freq)` as Python's `math.log` computes it from the integer converted to `f64`; otherwise
/// a negative value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Step {
    /// The node reached.
    pub node: u32,
    /// Whether some longer key extends this one.
    pub has_children: bool,
    /// `ln(freq)`, or negative when the node is not a word.
    pub ln_freq: f64,
}

impl Step {
    const NONE: Step = Step {
        node: ROOT,
        has_children: false,
        ln_freq: NOT_A_WORD,
    };

    /// Whether the node's string is a word with a nonzero frequency.
    #[inline]
    pub(crate) fn is_word(&self) -> bool {
        self.ln_freq >= 0.0
    }
}

/// One slot of the edge table: key `parent << 32 | char` (0 marks an empty slot: that key would
/// be the root's NUL child, which lives in the root table) and the child's [`Step`].
#[derive(Debug, Clone, Copy)]
struct Slot {
    key: u64,
    step: Step,
}

const EMPTY: Slot = Slot {
    key: 0,
    step: Step::NONE,
};

/// An open-addressing hash table (linear probing, Fibonacci hashing, at most 5/8 full) from
/// edge keys to child steps, with a blocked Bloom filter in front (two bits in one `u64` per
/// key, 8 bits per slot: 1 MiB for jieba's dictionary, small enough to stay in cache).
/// A lookup of an absent edge, the end of nearly every walk, usually stops at the filter; a
/// present one touches one or two adjacent cache lines, the child's id and log frequency
/// coming with the key.
#[derive(Debug, Clone)]
struct EdgeTable {
    slots: Vec<Slot>,
    shift: u32,
    len: usize,
    /// One `u64` per 8 slots.
    filter: Vec<u64>,
    filter_shift: u32,
}

/// Slots per filter word (so 8 filter bits per slot, 12.8 or more per key).
const SLOTS_PER_FILTER_WORD: usize = 8;

impl EdgeTable {
    fn new() -> Self {
        let bits = 10;
        EdgeTable {
            slots: vec![EMPTY; 1 << bits],
            shift: 64 - bits,
            len: 0,
            filter: vec![0; (1 << bits) / SLOTS_PER_FILTER_WORD],
            filter_shift: 64 - (bits - SLOTS_PER_FILTER_WORD.trailing_zeros()),
        }
    }

    #[inline]
    fn index(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// The filter word of `key` and the two bits set in it.
    #[inline]
    fn filter_bits(&self, key: u64) -> (usize, u64) {
        let h = key.wrapping_mul(0xff51_afd7_ed55_8ccd);
        let word = (h >> self.filter_shift) as usize;
        let h2 = (key ^ (key >> 29)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        (word, (1u64 << (h2 >> 58)) | (1u64 << ((h2 >> 52) & 63)))
    }

    #[inline]
    fn get(&self, key: u64) -> Option<Step> {
        let (word, bits) = self.filter_bits(key);
        if self.filter[word] & bits != bits {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.index(key);
        loop {
            let slot = &self.slots[i];
            if slot.key == key {
                return Some(slot.step);
            }
            if slot.key == 0 {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    /// The slot of `key`, or the empty slot where it belongs.
    fn slot_mut(&mut self, key: u64) -> &mut Slot {
        let mask = self.slots.len() - 1;
        let mut i = self.index(key);
        while self.slots[i].key != key && self.slots[i].key != 0 {
            i = (i + 1) & mask;
        }
        &mut self.slots[i]
    }

    fn insert(&mut self, key: u64, step: Step) {
        if (self.len + 1) * 8 > self.slots.len() * 5 {
            self.grow();
        }
        let slot = self.slot_mut(key);
        let new = slot.key == 0;
        *slot = Slot { key, step };
        self.len += usize::from(new);
        let (word, bits) = self.filter_bits(key);
        self.filter[word] |= bits;
    }

    /// The step stored for `key`, to update in place.
    fn get_mut(&mut self, key: u64) -> Option<&mut Step> {
        let slot = self.slot_mut(key);
        (slot.key == key).then_some(&mut slot.step)
    }

    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        self.slots = vec![EMPTY; old.len() * 2];
        self.shift -= 1;
        self.filter = vec![0; self.slots.len() / SLOTS_PER_FILTER_WORD];
        self.filter_shift -= 1;
        for slot in old.into_iter().filter(|s| s.key != 0) {
            *self.slot_mut(slot.key) = slot;
            let (word, bits) = self.filter_bits(slot.key);
            self.filter[word] |= bits;
        }
    }
}

/// A character trie holding jieba's `FREQ` table: node ids are `u32`, the root is 0.
#[derive(Debug, Clone)]
pub(crate) struct PrefixDict {
    /// Frequency of each node's string; 0 when the string is only a prefix (or deleted).
    freq: Vec<u64>,
    /// Children of the root for code points below [`ROOT_TABLE`] (node 0 means none).
    root_children: Vec<Step>,
    /// Every other edge.
    edges: EdgeTable,
}

#[inline]
fn edge_key(parent: u32, c: char) -> u64 {
    (u64::from(parent) << 32) | u64::from(u32::from(c))
}

impl PrefixDict {
    /// An empty dictionary (only the root).
    pub(crate) fn new() -> Self {
        PrefixDict {
            freq: vec![0],
            root_children: vec![Step::NONE; ROOT_TABLE],
            edges: EdgeTable::new(),
        }
    }

    /// The step from `node` by `c`, if the extended string is a key.
    #[inline]
    pub(crate) fn child(&self, node: u32, c: char) -> Option<Step> {
        let code = u32::from(c) as usize;
        if node == ROOT && code < ROOT_TABLE {
            let step = self.root_children[code];
            (step.node != ROOT).then_some(step)
        } else {
            self.edges.get(edge_key(node, c))
        }
    }

    /// The root node, from which [`PrefixDict::child`] walks.
    #[inline]
    pub(crate) fn root(&self) -> u32 {
        ROOT
    }

    /// The frequency stored at `node` (0 for a prefix that is not a word).
    pub(crate) fn freq(&self, node: u32) -> u64 {
        self.freq[node as usize]
    }

    /// The node of `word`, if `word` is a key (a word or a prefix of one).
    pub(crate) fn find(&self, word: &str) -> Option<u32> {
        let mut node = ROOT;
        for c in word.chars() {
            node = self.child(node, c)?.node;
        }
        Some(node)
    }

    /// Number of keys (distinct prefixes), the root excluded.
    pub(crate) fn len(&self) -> usize {
        self.freq.len() - 1
    }

    /// Sets the frequency of `word` to `freq`, inserting it and all its prefixes (with frequency
    /// 0 when they are new), as jieba's `FREQ[word] = freq` followed by its prefix loop does.
    /// An empty `word` changes nothing (the root is never a word).
    pub(crate) fn set(&mut self, word: &str, freq: u64) {
        let mut node = ROOT;
        // The edge that led to `node`, once it is not the root.
        let mut last: Option<(u32, char)> = None;
        for c in word.chars() {
            let next = match self.child(node, c) {
                Some(step) => step.node,
                None => {
                    if let Some((parent, pc)) = last {
                        if let Some(step) = self.edge_mut(parent, pc) {
                            step.has_children = true;
                        }
                    }
                    self.add_child(node, c)
                }
            };
            last = Some((node, c));
            node = next;
        }
        let Some((parent, c)) = last else {
            return;
        };
        self.freq[node as usize] = freq;
        if let Some(step) = self.edge_mut(parent, c) {
            step.ln_freq = if freq == 0 {
                NOT_A_WORD
            } else {
                (freq as f64).ln()
            };
        }
    }

    fn add_child(&mut self, node: u32, c: char) -> u32 {
        // Node ids fit in u32: a dictionary with 4 billion prefixes would not fit in memory.
        let id = self.freq.len() as u32;
        self.freq.push(0);
        let step = Step {
            node: id,
            has_children: false,
            ln_freq: NOT_A_WORD,
        };
        let code = u32::from(c) as usize;
        if node == ROOT && code < ROOT_TABLE {
            self.root_children[code] = step;
        } else {
            self.edges.insert(edge_key(node, c), step);
        }
        id
    }

    fn edge_mut(&mut self, parent: u32, c: char) -> Option<&mut Step> {
        let code = u32::from(c) as usize;
        if parent == ROOT && code < ROOT_TABLE {
            Some(&mut self.root_children[code])
        } else {
            self.edges.get_mut(edge_key(parent, c))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trie_keys_are_all_prefixes() {
        let mut d = PrefixDict::new();
        d.set("北京大学", 5);
        d.set("北京", 10);
        assert_eq!(d.find("北").map(|n| d.freq(n)), Some(0));
        assert_eq!(d.find("北京").map(|n| d.freq(n)), Some(10));
        assert_eq!(d.find("北京大").map(|n| d.freq(n)), Some(0));
        assert_eq!(d.find("北京大学").map(|n| d.freq(n)), Some(5));
        assert_eq!(d.find("京"), None);
        assert_eq!(d.len(), 4);
        let step = d.child(d.find("北").unwrap(), '京').unwrap();
        assert!(step.is_word());
        assert_eq!(step.ln_freq, 10f64.ln());
        assert!(!d.child(d.root(), '北').unwrap().is_word());
        assert!(d.child(d.root(), '北').unwrap().has_children);
        let leaf = d.child(d.find("北京大").unwrap(), '学').unwrap();
        assert!(!leaf.has_children && leaf.is_word());
        for i in 0..5000u32 {
            let w: String = ['x', char::from_u32(0x4e00 + i).unwrap(), 'y']
                .iter()
                .collect();
            d.set(&w, u64::from(i) + 1);
        }
        for i in 0..5000u32 {
            let w: String = ['x', char::from_u32(0x4e00 + i).unwrap(), 'y']
                .iter()
                .collect();
            assert_eq!(d.find(&w).map(|n| d.freq(n)), Some(u64::from(i) + 1));
        }
        d.set("北京", 0);
        assert!(!d.child(d.find("北").unwrap(), '京').unwrap().is_word());
        d.set("😀x", 3);
        assert_eq!(d.find("😀x").map(|n| d.freq(n)), Some(3));
        assert_eq!(d.find("😀").map(|n| d.freq(n)), Some(0));
    }
}
