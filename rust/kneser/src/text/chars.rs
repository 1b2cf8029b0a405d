//! Character classes shared by the normalizer and the tokenizers.
//!
//! Input: one `char`. Output: whether it belongs to a class, or its CCNet punctuation
//! replacement. Memory: static tables only.
//!
//! The classes follow Python's definitions where CCNet relies on them, so that the CCNet
//! presets of [`crate::text::normalize`] give the same strings as `cc_net.text_normalizer`:
//!
//! * [`is_python_space`]: `str.isspace()` / `str.strip()`, defined in
//!   [`crate::text::whitespace`] with the other whitespace rules.
//! * [`is_decimal_digit`]: the `\d` of Python's `re` on `str` patterns, i.e. general category Nd.
//! * [`is_nonspacing_mark`]: general category Mn (what CCNet's `strip_accents` drops after NFD).
//! * [`is_ccnet_control`]: CCNet's `NON_PRINTING_CHARS_RE`: U+0000..U+001F and U+007F..U+009F.
//! * [`ccnet_punct`]: CCNet's `UNICODE_PUNCT` table (34 characters mapped to ASCII).
//!
//! Unicode versions: the general categories come from the `unicode-properties` crate, case
//! mapping from Rust's standard library and normalization from `unicode-normalization`; each may
//! be a newer Unicode version than the Python that runs CCNet (Python 3.11 has Unicode 14.0).
//! Only characters assigned after Unicode 14 can differ.

use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

pub use super::whitespace::is_python_space;

/// Whether `c` is a decimal digit (general category Nd): what `\d` matches in Python's `re`.
#[inline]
pub fn is_decimal_digit(c: char) -> bool {
    if c < '\u{660}' {
        // The first decimal digit beyond ASCII is U+0660 ARABIC-INDIC DIGIT ZERO.
        c.is_ascii_digit()
    } else {
        c.general_category() == GeneralCategory::DecimalNumber
    }
}

/// Whether `c` is a non-spacing mark (general category Mn), such as U+0301 COMBINING ACUTE.
#[inline]
pub fn is_nonspacing_mark(c: char) -> bool {
    // The first non-spacing mark is U+0300 COMBINING GRAVE ACCENT.
    c >= '\u{300}' && c.general_category() == GeneralCategory::NonspacingMark
}

/// Whether `c` is a mark of any kind (Mn, Mc or Me): it belongs to the character before it.
#[inline]
pub fn is_mark(c: char) -> bool {
    !c.is_ascii() && c.general_category_group() == GeneralCategoryGroup::Mark
}

/// Whether `c` is one of CCNet's non-printing characters: U+0000..U+001F or U+007F..U+009F.
#[inline]
pub fn is_ccnet_control(c: char) -> bool {
    matches!(c, '\0'..='\x1f' | '\x7f'..='\u{9f}')
}

/// Whether `c` is punctuation for the tokenizers: any Unicode P* category, or an ASCII
/// character that is neither alphanumeric, whitespace nor a control (so `$`, `+`, `<`, `=`,
/// `>`, `^`, `` ` ``, `|` and `~`, which Unicode files as symbols, count too).
#[inline]
pub fn is_punctuation(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_punctuation()
    } else {
        c.general_category_group() == GeneralCategoryGroup::Punctuation
    }
}

/// Whether `c` is a Han ideograph, a kana or a hangul character (the characters that the
/// `cjk-chars` tokenizer makes one token each).
///
/// Han: the CJK Unified Ideographs block and its extensions A to J, the compatibility
/// ideographs and their supplement, and U+3005..U+3007 (々, 〆, 〇). Kana: Hiragana,
/// Katakana, Katakana Phonetic Extensions, the half-width katakana and the kana supplements
/// (U+1AFF0..U+1B16F). Hangul: Jamo, Compatibility Jamo, Jamo Extended A and B, syllables and
/// the half-width hangul letters.
#[inline]
pub fn is_cjk(c: char) -> bool {
    let u = c as u32;
    if u < 0x1100 {
        return false;
    }
    matches!(u,
        0x4E00..=0x9FFF       // CJK Unified Ideographs
        | 0x3400..=0x4DBF     // Extension A
        | 0x20000..=0x2A6DF   // Extension B
        | 0x2A700..=0x2EE5F   // Extensions C, D, E, F, I
        | 0x30000..=0x323AF   // Extensions G, H
        | 0x31350..=0x33479   // Extension J (beyond H)
        | 0xF900..=0xFAFF     // Compatibility Ideographs
        | 0x2F800..=0x2FA1F   // Compatibility Ideographs Supplement
        | 0x3005..=0x3007     // 々 〆 〇
        | 0x3041..=0x309F     // Hiragana (with its iteration marks)
        | 0x30A0..=0x30FF     // Katakana
        | 0x31F0..=0x31FF     // Katakana Phonetic Extensions
        | 0xFF66..=0xFF9F     // Half-width katakana
        | 0x1AFF0..=0x1B16F   // Kana Extended B, Kana Supplement, Extended A, Small Kana Ext.
        | 0x1100..=0x11FF     // Hangul Jamo
        | 0x3130..=0x318F     // Hangul Compatibility Jamo
        | 0xA960..=0xA97F     // Hangul Jamo Extended-A
        | 0xAC00..=0xD7AF     // Hangul Syllables
        | 0xD7B0..=0xD7FF     // Hangul Jamo Extended-B
        | 0xFFA0..=0xFFDC // Half-width hangul
    )
}

/// CCNet's `UNICODE_PUNCT` table: the ASCII replacement of a Unicode punctuation character,
/// or `None` when `c` is not in the table.
///
/// Note that the table maps U+FF11 FULLWIDTH DIGIT ONE to `"` (as CCNet does); with digit
/// replacement on, the digit step runs first and turns it into `0`.
#[inline]
pub fn ccnet_punct(c: char) -> Option<&'static str> {
    if (c as u32) < 0xA0 {
        return None;
    }
    Some(match c {
        '，' | '、' => ",",
        '。' => ".",
        '„' | '”' | '“' | '«' | '»' | '１' | '」' | '「' | '《' | '》' => "\"",
        '´' | '’' => "'",
        '∶' | '：' => ":",
        '？' => "?",
        '！' => "!",
        '（' => "(",
        '）' => ")",
        '；' => ";",
        '–' | '━' | '►' => "-",
        '—' => " - ",
        '．' => ". ",
        '～' => "~",
        '…' => "...",
        '〈' => "<",
        '〉' => ">",
        '【' => "[",
        '】' => "]",
        '％' => "%",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_space_adds_information_separators() {
        for c in [
            '\x1c', '\x1d', '\x1e', '\x1f', '\u{85}', '\u{a0}', '\u{3000}', '\u{2028}',
        ] {
            assert!(is_python_space(c), "{c:?}");
        }
        for c in ['\0', '\u{200b}', '\u{180e}', 'a', '\x7f'] {
            assert!(!is_python_space(c), "{c:?}");
        }
    }

    #[test]
    fn digits_are_category_nd() {
        for c in ['0', '9', '٣', '१', '１', '𝟘'] {
            assert!(is_decimal_digit(c), "{c:?}");
        }
        for c in ['½', '²', 'Ⅻ', 'a', '〇'] {
            assert!(!is_decimal_digit(c), "{c:?}");
        }
    }

    #[test]
    fn table_has_34_entries() {
        let n = (0xA0..0x10000u32)
            .filter_map(char::from_u32)
            .filter(|&c| ccnet_punct(c).is_some())
            .count();
        assert_eq!(n, 34);
        assert_eq!(ccnet_punct('—'), Some(" - "));
        assert_eq!(ccnet_punct('-'), None);
    }

    #[test]
    fn cjk_classes() {
        for c in ['中', 'あ', 'カ', 'ｶ', '한', 'ᄀ', '𠀀', '々'] {
            assert!(is_cjk(c), "{c:?}");
        }
        for c in ['a', '1', '，', '。', '\u{3000}', 'é'] {
            assert!(!is_cjk(c), "{c:?}");
        }
    }
}
