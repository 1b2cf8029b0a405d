//! Stopword sets: a user list (from a file or an iterable) or a built-in English or Chinese list.
//!
//! Input: words. Output: a set answering "is this token a stopword?" by exact match. Memory:
//! the words themselves (a hash set of owned strings).
//!
//! The built-in lists are our own: English function words (articles, pronouns, auxiliaries,
//! prepositions, conjunctions, common adverbs and contractions) and Chinese function words
//! (structural and aspect particles, pronouns, prepositions, conjunctions, common adverbs and
//! measure words). Both are lowercase; use them with the tokenizer's lowercasing, since
//! matching is exact.
//!
//! A stopword file has one word per line; surrounding whitespace is trimmed, and empty lines
//! and lines starting with `#` are skipped. It may be compressed (gz, xz, zst).

use std::collections::HashSet;
use std::path::Path;

use crate::error::Result;
use crate::io::{display_name, open_input, LineReader};
use crate::text::whitespace::Rule;

/// A set of stopwords, matched exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stopwords {
    words: HashSet<String>,
}

const ENGLISH: &str = "
a an the this that these those
i me my mine myself we us our ours ourselves you your yours yourself yourselves
he him his himself she her hers herself it its itself they them their theirs themselves
one ones oneself
who whom whose which what whatever whoever when where why how
am is are was were be been being
have has had having do does did doing done
will would shall should can could may might must ought
not no nor never
and or but if then else so because as until while although though unless whether
of at by for with about against between into through during before after above below
to from up down in out on off over under again further once upon within without
toward towards across along among around behind beside besides beyond near onto per
since than via
here there all any both each few more most other some such only own same too very
just also even still already yet ever quite rather almost else
again s t d ll m o re ve y
can't cannot couldn't didn't doesn't don't hadn't hasn't haven't isn't aren't wasn't
weren't won't wouldn't shouldn't mustn't mightn't needn't shan't
i'm i've i'd i'll you're you've you'd you'll he's he'd he'll she's she'd she'll
it's it'd it'll we're we've we'd we'll they're they've they'd they'll
that's there's here's what's who's where's when's why's how's let's
";

const CHINESE: &str = "
的 地 得 之 了 着 过 吗 呢 吧 啊 呀 哦 嘛 啦 哇 么 嘿 呗 罢了 而已
我 你 您 他 她 它 我们 你们 他们 她们 它们 咱们 大家 自己 人家 别人
这 那 这个 那个 这些 那些 这里 那里 这儿 那儿 这样 那样 这么 那么 这种 那种
哪 哪个 哪些 哪里 哪儿 什么 怎么 怎样 怎么样 为什么 谁 几 多少
是 有 在 为 和 与 及 以及 或 或者 还是 而 并 并且 而且 但 但是 可是 然而 不过
因为 所以 因此 于是 如果 假如 要是 虽然 尽管 即使 既然 只要 只有 除非 无论 不管
把 被 让 给 对 对于 关于 从 自 自从 向 往 朝 到 于 按 按照 根据 通过 由 由于
比 跟 同 以 用 将 就 才 都 也 还 又 再 再次 已 已经 曾 曾经 正 正在 刚 刚才
很 太 更 最 非常 十分 特别 比较 越 挺 极 极其 稍 稍微 几乎 差不多
不 没 没有 别 不要 未 无 非 否
一 一个 一些 一种 一样 一直 一定 一般 一下 一起
个 些 种 次 件 位 条 只 本 样
上 下 里 中 内 外 前 后 间 时 时候 以后 以前 之后 之前 之间 当 当时
会 能 能够 可以 可能 应该 应当 必须 要 想 愿意 需要
还有 其 其中 其他 其它 另外 此外 此 该 各 每 某 本身
然后 接着 总之 例如 比如 即 就是 也是 只是 还是 或是 并不 并非
啊呀 哎 哎呀 喂 嗯 噢
";

impl Stopwords {
    /// An empty set.
    pub fn new() -> Self {
        Stopwords::default()
    }

    /// The set of the given words.
    pub fn from_words<I, S>(words: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Stopwords {
            words: words.into_iter().map(Into::into).collect(),
        }
    }

    /// Our built-in English list (about 240 lowercase function words and contractions).
    ///
    /// Example:
    /// ```
    /// let sw = kneser::text::stopwords::Stopwords::english();
    /// assert!(sw.contains("the") && !sw.contains("house"));
    /// ```
    pub fn english() -> Self {
        Stopwords::from_words(Rule::Unicode.split(ENGLISH))
    }

    /// Our built-in Chinese list (about 250 function words, simplified characters).
    pub fn chinese() -> Self {
        Stopwords::from_words(Rule::Unicode.split(CHINESE))
    }

    /// The built-in list named `name`: `"en"`/`"english"` or `"zh"`/`"chinese"`.
    pub fn builtin(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "en" | "english" => Some(Stopwords::english()),
            "zh" | "chinese" => Some(Stopwords::chinese()),
            _ => None,
        }
    }

    /// Reads a stopword file: one word per line, `#` comments and empty lines skipped.
    ///
    /// Errors: `NotFound`/`Io` for the file, `InvalidUtf8` naming the file and line.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let name = display_name(path);
        let mut reader = LineReader::new(open_input(path)?, name.clone());
        let mut words = HashSet::new();
        while let Some(line) = reader.next_line()? {
            let word = Rule::Unicode.trim(line.as_str(&name)?);
            if !word.is_empty() && !word.starts_with('#') {
                words.insert(word.to_string());
            }
        }
        Ok(Stopwords { words })
    }

    /// Adds `word` to the set.
    pub fn insert(&mut self, word: impl Into<String>) {
        self.words.insert(word.into());
    }

    /// Whether `word` is in the set (exact match).
    #[inline]
    pub fn contains(&self, word: &str) -> bool {
        self.words.contains(word)
    }

    /// The number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The words in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.words.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn builtins() {
        let en = Stopwords::builtin("en").unwrap();
        assert!(en.len() > 200);
        for w in ["the", "and", "don't", "ourselves"] {
            assert!(en.contains(w), "{w}");
        }
        assert!(!en.contains("The"));
        let zh = Stopwords::builtin("Chinese").unwrap();
        assert!(zh.len() > 250);
        for w in ["的", "了", "我们", "因为"] {
            assert!(zh.contains(w), "{w}");
        }
        assert!(!zh.contains("中国"));
        assert!(Stopwords::builtin("fr").is_none());
    }

    #[test]
    fn from_file_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sw.txt");
        std::fs::File::create(&p)
            .unwrap()
            .write_all(b"# comment\n foo \n\nbar\r\nbaz")
            .unwrap();
        let sw = Stopwords::from_file(&p).unwrap();
        let mut words: Vec<&str> = sw.iter().collect();
        words.sort_unstable();
        assert_eq!(words, vec!["bar", "baz", "foo"]);

        let bad = dir.path().join("bad.txt");
        std::fs::write(&bad, b"ok\n\xff\n").unwrap();
        let err = Stopwords::from_file(&bad).unwrap_err().to_string();
        assert!(err.contains("bad.txt") && err.contains('2'), "{err}");
        assert!(matches!(
            Stopwords::from_file(dir.path().join("none.txt")),
            Err(crate::Error::NotFound { .. })
        ));
    }
}
