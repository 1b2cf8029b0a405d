"""Vocabulary building, files and encoding (kneser.Vocab)."""

from __future__ import annotations

import collections
import lzma
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kneser
from kneser import _kneser

SEPARATORS = re.compile("[ \t\r\n\x00]+")
SPECIALS = ["<unk>", "<s>", "</s>"]


def lmplz_split(text: str) -> list[str]:
    """lmplz's whitespace rule: exactly space, tab, CR, LF and NUL separate tokens."""
    return [t for t in SEPARATORS.split(text) if t]


def counter_of(lines) -> collections.Counter:
    c: collections.Counter = collections.Counter()
    for line in lines:
        c.update(lmplz_split(line))
    return c


def expected_order(counts: collections.Counter) -> list[str]:
    body = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].encode("utf-8")))
    return SPECIALS + [t for t, _ in body]


def check_against_counter(vocab: kneser.Vocab, lines: list[str]) -> None:
    counts = counter_of(lines)
    assert len(vocab) == len(counts) + 3
    assert vocab.tokens() == expected_order(counts)
    for token, n in counts.items():
        assert vocab.count(token) == n, token
    assert int(vocab.counts()[3:].sum()) == sum(counts.values())


def test_counts_equal_counter_on_fixture(data_dir: Path):
    path = data_dir / "en-500.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    check_against_counter(kneser.Vocab.build(path), lines)
    check_against_counter(kneser.Vocab.build(str(path)), lines)
    check_against_counter(kneser.Vocab.build(texts=iter(lines)), lines)
    check_against_counter(kneser.Vocab.build(texts=(line for line in lines)), lines)


def test_counts_equal_counter_on_en_bench_slice(shared_dir: Path, tmp_path: Path):
    corpus = shared_dir / "corpora" / "en-bench.txt.xz"
    if not corpus.exists():
        pytest.skip(f"{corpus} is absent")
    with lzma.open(corpus, "rt", encoding="utf-8", newline="\n") as f:
        lines = [next(f).rstrip("\n") for _ in range(20_000)]
    path = tmp_path / "slice.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    from_file = kneser.Vocab.build(path)
    check_against_counter(from_file, lines)
    from_iter = kneser.Vocab.build(texts=lines)
    assert from_iter.tokens() == from_file.tokens()
    # Split across two files in the other order: the same vocabulary.
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("\n".join(lines[:7000]), encoding="utf-8")
    b.write_text("\n".join(lines[7000:]), encoding="utf-8")
    assert kneser.Vocab.build(files=[b, a]).tokens() == from_file.tokens()
    assert (kneser.Vocab.build(files=[str(a), str(b)]).counts() == from_file.counts()).all()


def test_order_is_deterministic_and_documented():
    lines = ["b c a c", "a c b\td", "Z"]
    v = kneser.Vocab.build(texts=iter(lines))
    assert v.tokens() == ["<unk>", "<s>", "</s>", "c", "a", "b", "Z", "d"]
    assert v.tokens() == kneser.Vocab.build(texts=iter(reversed(lines))).tokens()
    assert v.specials == SPECIALS
    assert v.unk_id == 0
    assert len(v) == 8
    assert "c" in v and "q" not in v and 3 not in v
    assert v.token_to_id("a") == 4 and v.token_to_id("q") is None
    assert v.id_to_token(4) == "a" and v.id_to_token(8) is None and v.id_to_token(-1) is None
    assert v.count("c") == 3 and v.count("q") is None
    assert v.get_vocab() == {t: i for i, t in enumerate(v.tokens())}
    assert v.counts().dtype == np.uint64
    assert "Vocab(size=8" in repr(v)


def test_min_count_max_size_specials_and_pad():
    text = ["a a a b b c d d"]
    v = kneser.Vocab.build(texts=iter(text), min_count=2)
    assert v.tokens() == ["<unk>", "<s>", "</s>", "a", "b", "d"]
    v = kneser.Vocab.build(texts=iter(text), max_size=5, pad=True)
    assert v.tokens() == ["<unk>", "<s>", "</s>", "<pad>", "a"]
    v = kneser.Vocab.build(texts=iter(text), specials=["<pad>", "<unk>", "<eos>"])
    assert v.tokens()[:3] == ["<pad>", "<unk>", "<eos>"] and v.unk_id == 1
    v = kneser.Vocab.build(texts=iter(text), specials=[])
    assert v.unk_id is None and v.tokens() == ["a", "b", "d", "c"]
    with pytest.raises(kneser.ArgumentError, match="no <unk> token"):
        v.encode("zz")
    assert v.encode("d", unk="raise").tolist() == [2]


def test_special_tokens_in_text_count_on_the_special():
    v = kneser.Vocab.build(texts=iter(["<s> a </s>", "</s>"]))
    assert v.tokens() == ["<unk>", "<s>", "</s>", "a"]
    assert v.counts().tolist() == [0, 1, 2, 1]


def test_tokenizer_argument():
    tok = _kneser.Tokenizer("whitespace")
    v = kneser.Vocab.build(texts=iter(["x y x"]), tokenizer=tok)
    assert v.tokens()[3:] == ["x", "y"]
    with pytest.raises(TypeError):
        kneser.Vocab.build(texts=iter(["x"]), tokenizer="whitespace")


@pytest.mark.parametrize(
    ("lines", "kwargs", "message"),
    [
        ([], {}, "empty corpus"),
        (["", "  \t "], {}, "empty corpus"),
        (["<s> </s>"], {}, "empty corpus"),
        (["a a b"], {"min_count": 5}, "min_count 5 is above every token count"),
        (["a"], {"min_count": 0}, "min_count must be at least 1"),
        (["a"], {"max_size": 3}, "max_size 3 leaves no room"),
        (["a"], {"specials": ["<x>", "<x>"]}, "given twice"),
        (["a"], {"specials": ["a b"]}, "cannot hold a space"),
    ],
)
def test_bad_builds_raise_argument_error(lines, kwargs, message):
    with pytest.raises(kneser.ArgumentError, match=message):
        kneser.Vocab.build(texts=iter(lines), **kwargs)


def test_bad_sources(tmp_path: Path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(kneser.ArgumentError, match=r"empty corpus: .*empty\.txt"):
        kneser.Vocab.build(empty)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine\nstill fine\nbad \xff byte\n")
    with pytest.raises(kneser.FormatError, match=r"bad\.txt:3: invalid UTF-8"):
        kneser.Vocab.build(bad)
    with pytest.raises(kneser.NotFoundError):
        kneser.Vocab.build(tmp_path / "missing.txt")
    with pytest.raises(TypeError, match="files="):
        kneser.Vocab.build([1, 2])
    with pytest.raises(TypeError, match=r"texts= item 1 is bytes, not str"):
        kneser.Vocab.build(texts=iter(["a", b"b"]))


def test_save_and_load_round_trip(tmp_path: Path):
    v = kneser.Vocab.build(texts=iter(['b a "q\\ b', "é 中 a b", "tab\u00a0nbsp"]), pad=True)
    for name in ["v.txt", "v.json", "v.vocab"]:
        path = tmp_path / name
        v.save(path)
        w = kneser.Vocab.load(path)
        assert w.tokens() == v.tokens(), name
        assert (w.counts() == v.counts()).all(), name
        assert w.specials == v.specials == ["<unk>", "<s>", "</s>", "<pad>"], name
    text = (tmp_path / "v.txt").read_text(encoding="utf-8")
    assert text.splitlines()[:5] == ["<unk>\t0", "<s>\t0", "</s>\t0", "<pad>\t0", "b\t3"]
    limit = tmp_path / "limit.txt"
    v.save_limit_vocab(limit)
    assert limit.read_text(encoding="utf-8").splitlines() == v.tokens()[4:]
    # Custom specials of a text file.
    custom = tmp_path / "custom.txt"
    custom.write_text("<mask>\t0\nx\t2\n")
    w = kneser.Vocab.load(custom, specials=["<mask>"])
    assert w.specials == ["<mask>"] and w.unk_id is None


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("dup.txt", "<unk>\t0\na\t3\nb\t2\na\t1\n", r'dup\.txt:4: duplicate token "a", .*line 2'),
        ("notab.txt", "<unk>\t0\na 3\n", r"notab\.txt:2: expected `token TAB count`"),
        ("count.txt", "a\t3\nb\tx\n", r'count\.txt:2: count "x"'),
        ("fields.txt", "a\t3\t4\n", r"fields\.txt:1: .*more than two fields"),
        ("blank.txt", "a\t3\n\nb\t1\n", r"blank\.txt:2: expected"),
        ("empty.txt", "", r"empty\.txt: empty vocabulary file"),
        (
            "dup.json",
            '{"format": "kneser-vocab", "version": 1, "specials": [],\n'
            '"tokens": [["a", 1], ["a", 2]]}',
            "appears twice",
        ),
        ("syntax.json", '{\n"format": ]', r"syntax\.json:2: not a kneser vocabulary JSON"),
    ],
)
def test_bad_vocab_files_raise_format_error(tmp_path: Path, name, text, message):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(kneser.FormatError, match=message):
        kneser.Vocab.load(path)


@pytest.fixture(scope="module")
def en_vocab(data_dir: Path) -> kneser.Vocab:
    # Half the fixture, so the other half has unknown words.
    lines = (data_dir / "en-500.txt").read_text(encoding="utf-8").splitlines()
    return kneser.Vocab.build(texts=iter(lines[:250]))


def test_encode_and_encode_batch(en_vocab: kneser.Vocab, data_dir: Path):
    lines = (data_dir / "en-500.txt").read_text(encoding="utf-8").splitlines()
    ids, offsets = en_vocab.encode_batch(lines)
    assert ids.dtype == np.uint32 and offsets.dtype == np.int64
    assert offsets.shape == (len(lines) + 1,) and offsets[0] == 0 and offsets[-1] == len(ids)
    as_list = en_vocab.encode_batch(lines, as_list=True)
    assert len(as_list) == len(lines)
    for i, line in enumerate(lines):
        one = en_vocab.encode(line)
        assert one.dtype == np.uint32
        assert ids[offsets[i] : offsets[i + 1]].tolist() == one.tolist()
        assert as_list[i].tolist() == one.tolist()
        expect = [en_vocab.token_to_id(t) for t in lmplz_split(line)]
        assert one.tolist() == [0 if e is None else e for e in expect]
    empty_ids, empty_offsets = en_vocab.encode_batch([])
    assert len(empty_ids) == 0 and empty_offsets.tolist() == [0]
    assert en_vocab.encode("").tolist() == []


def test_unknown_tokens_can_raise(en_vocab: kneser.Vocab):
    with pytest.raises(kneser.ArgumentError, match='"zzqx" is not in the vocabulary'):
        en_vocab.encode("the zzqx", unk="raise")
    with pytest.raises(kneser.ArgumentError, match=r'texts\[1\]: token "zzqx"'):
        en_vocab.encode_batch(["the", "the zzqx"], unk="raise")
    with pytest.raises(kneser.ArgumentError, match="unk must be"):
        en_vocab.encode("the", unk="ignore")


def test_decode(en_vocab: kneser.Vocab):
    ids = en_vocab.encode("the zzqx  of")
    assert en_vocab.decode(ids) == "the <unk> of"
    assert en_vocab.decode(ids.tolist()) == "the <unk> of"
    assert en_vocab.decode(ids.astype(np.uint16)) == "the <unk> of"
    assert en_vocab.decode([]) == ""
    with pytest.raises(kneser.ArgumentError, match="out of range"):
        en_vocab.decode([len(en_vocab)])


def test_long_text_is_encoded_detached(en_vocab: kneser.Vocab):
    text = "the of and zzqx " * 20_000
    ids = en_vocab.encode(text)
    assert len(ids) == 80_000 and ids[3] == 0


TOKEN = st.text(alphabet="ab\u00e9\u4e2d<>/\u00a0\u3000\x0b", min_size=1, max_size=4)
TEXT = st.lists(
    st.tuples(TOKEN, st.sampled_from([" ", "  ", "\t", "\r\n", "\x00", " \n "])), max_size=12
).map(lambda parts: "".join(t + s for t, s in parts))


@settings(max_examples=200, deadline=None)
@given(text=TEXT, corpus=st.lists(TEXT, min_size=1, max_size=5))
def test_round_trip_is_tokenized_text_with_unk(text: str, corpus: list[str]):
    if not counter_of(corpus) - collections.Counter(SPECIALS):
        return
    v = kneser.Vocab.build(texts=iter(corpus))
    expect = " ".join(t if t in v else "<unk>" for t in lmplz_split(text))
    assert v.decode(v.encode(text)) == expect
    ids, offsets = v.encode_batch([text, text])
    assert v.decode(ids[offsets[1] : offsets[2]]) == expect


# Tokens of every length around the 16-byte fast path, with bytes just below and above the
# separators (\x0b, \x1f, '!'), multi-byte characters and separators at the end of a text.
WIDE_TEXT = st.text(alphabet="ab!\x0b\x1f \t\r\n\x00\u00e9\u4e2d\U0001f600", max_size=80)


@settings(max_examples=300, deadline=None)
@given(
    corpus=st.lists(WIDE_TEXT, min_size=1, max_size=6),
    texts=st.lists(WIDE_TEXT, max_size=40),
    repeat=st.integers(1, 400),
)
def test_encode_batch_equals_a_dict_loop(corpus: list[str], texts: list[str], repeat: int):
    corpus = [*corpus, "x" * 17 + " " + "ab" * 9]
    v = kneser.Vocab.build(texts=iter(corpus))
    table = v.get_vocab()
    # Repeated so that some batches are large enough to be encoded in parallel.
    batch = texts * (repeat if sum(map(len, texts)) * repeat < 200_000 else 1)
    ids, offsets = v.encode_batch(batch)
    want: list[int] = []
    want_offsets = [0]
    for text in batch:
        want.extend(table.get(t, v.unk_id) for t in lmplz_split(text))
        want_offsets.append(len(want))
    assert ids.tolist() == want and offsets.tolist() == want_offsets
    gen_ids, gen_offsets = v.encode_batch(t for t in batch)
    assert gen_ids.tolist() == want and gen_offsets.tolist() == want_offsets


def test_encode_batch_refuses_non_text(en_vocab: kneser.Vocab):
    with pytest.raises(TypeError, match="item 1 is int"):
        en_vocab.encode_batch(["the", 3])
    with pytest.raises(TypeError, match="not a str"):
        en_vocab.encode_batch("the")
    with pytest.raises(ValueError, match="surrogate"):
        en_vocab.encode_batch(["the", "a\udc80b"])
