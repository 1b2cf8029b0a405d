"""kneser.Tokenizer: modes, lowercasing, stopwords, batches and arbitrary Unicode."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kneser

MODES = ["whitespace", "unicode-words", "cjk-chars", "punctuation"]


def test_whitespace_is_lmplz_rule():
    tok = kneser.Tokenizer("whitespace")
    assert tok.tokenize(" a\tb\u00a0c\r\nd\0e\u3000f ") == ["a", "b\u00a0c", "d", "e\u3000f"]
    assert kneser.Tokenizer().mode == "whitespace"


def test_unicode_words():
    tok = kneser.Tokenizer("unicode-words")
    assert tok.tokenize("Can't stop, won't stop! 3.14 — ok") == [
        "Can't",
        "stop",
        "won't",
        "stop",
        "3.14",
        "ok",
    ]


def test_cjk_chars():
    tok = kneser.Tokenizer("cjk-chars")
    assert tok.tokenize("我爱北京2024年，Hello-world！カナ 한국") == [
        *"我爱北京",
        "2024",
        "年",
        "，",
        "Hello",
        "-",
        "world",
        "！",
        "カ",
        "ナ",
        "한",
        "국",
    ]


def test_punctuation_splitting():
    tok = kneser.Tokenizer("punctuation")
    assert tok.tokenize("Hi, you!! (ok)") == ["Hi", ",", "you", "!", "!", "(", "ok", ")"]


def test_lowercase_and_builtin_stopwords():
    en = kneser.Tokenizer("unicode-words", lowercase=True, stopwords="en")
    assert en.tokenize("The cat and THE dog") == ["cat", "dog"]
    assert en.lowercase
    assert 'Tokenizer(mode="unicode-words", lowercase=True' in repr(en)
    zh = kneser.Tokenizer("cjk-chars", stopwords="zh")
    assert zh.tokenize("我的书") == ["书"]


def test_stopwords_from_iterable_and_file(tmp_path):
    tok = kneser.Tokenizer("whitespace", stopwords=["a", "b"])
    assert tok.tokenize("a b c a") == ["c"]
    path = tmp_path / "sw.txt"
    path.write_text("# my list\nfoo\n\n bar \n", encoding="utf-8")
    assert kneser.Tokenizer(stopwords=path).tokenize("foo bar baz") == ["baz"]
    assert kneser.Tokenizer(stopwords=str(path)).tokenize("foo x") == ["x"]
    with pytest.raises(kneser.NotFoundError):
        kneser.Tokenizer(stopwords=tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok\n\xff\n")
    with pytest.raises(kneser.FormatError, match=r"bad\.txt"):
        kneser.Tokenizer(stopwords=bad)
    with pytest.raises(TypeError):
        kneser.Tokenizer(stopwords=3)


def test_bad_mode():
    with pytest.raises(ValueError, match="unknown tokenizer mode"):
        kneser.Tokenizer("bpe")


def test_batch_keeps_order():
    tok = kneser.Tokenizer("cjk-chars", lowercase=True)
    texts = [f"Text {i} 中文" for i in range(30_000)]
    assert tok.tokenize_batch(iter(texts)) == [tok.tokenize(t) for t in texts]
    assert tok.tokenize_batch([]) == []


def test_lone_surrogate_is_a_clear_value_error():
    tok = kneser.Tokenizer("unicode-words")
    with pytest.raises(kneser.FormatError, match="lone surrogate"):
        tok.tokenize("a\ud83d")
    with pytest.raises(ValueError, match="text 2 of the batch"):
        tok.tokenize_batch(["a", "b", "\udc80"])


@settings(max_examples=300, deadline=None)
@given(st.text(), st.sampled_from(MODES), st.booleans())
def test_no_mode_panics_on_arbitrary_unicode(text, mode, lowercase):
    text = text.encode("utf-8", "replace").decode("utf-8")  # no surrogates here
    tokens = kneser.Tokenizer(mode, lowercase=lowercase, stopwords="en").tokenize(text + "\0x")
    assert all(tokens)
    assert all(t.strip("\0") == t for t in tokens)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8")), st.sampled_from(MODES))
def test_batch_equals_single_calls(text, mode):
    tok = kneser.Tokenizer(mode)
    assert tok.tokenize_batch([text, text[::-1]]) == [tok.tokenize(text), tok.tokenize(text[::-1])]


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1), st.integers(min_value=0, max_value=10))
def test_any_lone_surrogate_gives_format_error(text, pos):
    pos = min(pos, len(text))
    bad = text[:pos] + "\ud800" + text[pos:]
    with pytest.raises(kneser.FormatError):
        kneser.Tokenizer("cjk-chars").tokenize(bad)
    # The normalizer keeps it, as CCNet's does (tests/test_normalize.py has CCNet's outputs).
    assert kneser.Normalizer.ccnet().normalize(bad).count("\ud800") == 1


def test_segmenter_as_a_mode():
    seg = kneser.Segmenter()
    seg.add_word("北京", 1000)
    seg.add_word("大学", 1000)
    tok = kneser.Tokenizer(seg, lowercase=True, stopwords=["的"])
    assert tok.mode == "segmenter"
    words = tok.tokenize("北京大学的 NLP")
    assert words[:2] == ["北京", "大学"]
    assert "的" not in words and " " not in words and "nlp" in words
    seg.add_word("北京大学", 10**9)  # the tokenizer keeps its snapshot
    assert tok.tokenize("北京大学") == ["北京", "大学"]
    assert kneser.Tokenizer(seg).tokenize("北京大学") == ["北京大学"]
    with pytest.raises(TypeError, match="Segmenter"):
        kneser.Tokenizer(3)
