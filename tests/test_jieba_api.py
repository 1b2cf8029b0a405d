"""The jieba API that `kneser.Segmenter` mirrors (``jieba.Tokenizer`` with HMM off), each call
compared with jieba itself: cut / lcut, cut_for_search, tokenize, bytes input, add_word and
suggest_freq semantics (tuples, tune), del_word, load_userdict from paths and file objects."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kneser

jieba = pytest.importorskip("jieba")
jieba.setLogLevel(60)

JIEBA_DICT = Path(jieba.__file__).parent / "dict.txt"
DATA = Path(__file__).parent / "data"
SMALL = DATA / "segment-small-dict.txt"

_DEFAULT: list[tuple[kneser.Segmenter, object]] = []


def _default() -> tuple[kneser.Segmenter, object]:
    """kneser and jieba on jieba's own dictionary (loaded once; never modified)."""
    if not _DEFAULT:
        ref = jieba.Tokenizer(str(JIEBA_DICT))
        ref.initialize()
        _DEFAULT.append((kneser.Segmenter.from_dict(JIEBA_DICT), ref))
    return _DEFAULT[0]


def _small() -> tuple[kneser.Segmenter, object]:
    """A fresh pair on the small dictionary, for tests that change it."""
    ref = jieba.Tokenizer(str(SMALL))
    ref.initialize()
    return kneser.Segmenter(SMALL), ref


TEXTS = [
    "",
    "我来到北京清华大学",
    "小明硕士毕业于中国科学院计算所，后在日本京都大学深造",
    "永和服装饰品有限公司",
    "中华人民共和国万岁 iPhone6s的价格是5288元！",
    "工信处女干事每月经过下属科室都要亲口交代24口交换机等技术性器件的安装工作",
    "  \t\r\n混合English和中文mixed 123\u3000text\xa0nbsp 😀",
    "结婚的和尚未结婚的",
]


def test_cut_is_an_iterator_and_lcut_a_list() -> None:
    seg, ref = _default()
    for text in TEXTS:
        it = seg.cut(text)
        assert iter(it) is it  # an iterator, as jieba's generator
        assert list(it) == list(ref.cut(text, HMM=False))
        assert seg.lcut(text) == ref.lcut(text, HMM=False)
        assert seg.lcut(text, True) == ref.lcut(text, True)
        assert seg.lcut(text, cut_all=True, HMM=True) == ref.lcut(text, cut_all=True, HMM=True)
        assert seg.lcut(text, False, False) == ref._lcut_no_hmm(text)
        assert seg.lcut(text, use_paddle=True) == ref.lcut(text, HMM=False, use_paddle=True)


def test_search_mode_and_tokenize() -> None:
    seg, ref = _default()
    for text in TEXTS:
        assert list(seg.cut_for_search(text)) == list(ref.cut_for_search(text, HMM=False))
        assert seg.lcut_for_search(text) == ref.lcut_for_search(text, HMM=False)
        for mode in ("default", "search", "anything-else"):
            ours = seg.tokenize(text, mode=mode)
            assert iter(ours) is ours
            assert list(ours) == list(ref.tokenize(text, mode=mode, HMM=False))
    with pytest.raises(ValueError, match="should be unicode"):
        list(ref.tokenize(b"abc", HMM=False))
    with pytest.raises(ValueError, match="should be unicode"):
        seg.tokenize(b"abc")


def test_hmm_is_refused_where_jieba_would_use_it() -> None:
    seg, _ = _default()
    for call in (
        lambda: seg.lcut("北京", HMM=True),
        lambda: seg.cut("北京", False, True),
        lambda: seg.lcut_for_search("北京", HMM=True),
        lambda: seg.tokenize("北京", HMM=True),
    ):
        with pytest.raises(kneser.ArgumentError, match="HMM"):
            call()


BYTES = [
    "北京大学".encode(),
    "北京大学".encode("gbk"),
    "我来到北京清华大学".encode("gb18030"),
    b"\xff\xfeabc \xe5\x8c\x97",  # neither UTF-8 nor clean GBK: jieba drops what GBK cannot read
    b"\x80\x81\x82 plain ascii",
    bytearray("结婚的和尚未结婚的".encode()),
]


def test_bytes_are_decoded_as_jieba_decodes_them() -> None:
    seg, ref = _default()
    for raw in BYTES:
        assert seg.lcut(raw) == ref.lcut(raw, HMM=False), raw
        assert seg.lcut(raw, cut_all=True) == ref.lcut(raw, cut_all=True), raw
        assert seg.lcut_for_search(raw) == ref.lcut_for_search(raw, HMM=False), raw
        assert seg.word_freq(raw) == ref.FREQ.get(jieba.strdecode(raw)), raw
    assert seg.cut_batch([BYTES[1], "北京"]) == [ref.lcut(BYTES[1], HMM=False), ["北京"]]
    with pytest.raises(TypeError, match="expected str or bytes"):
        seg.lcut(42)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40))
def test_generated_bytes_decode_as_jieba(raw: bytes) -> None:
    seg, ref = _default()
    assert seg.lcut(raw) == ref.lcut(raw, HMM=False)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_generated_text_search_and_tokenize(text: str) -> None:
    seg, ref = _default()
    assert seg.lcut_for_search(text) == ref.lcut_for_search(text, HMM=False)
    assert list(seg.tokenize(text, mode="search")) == list(
        ref.tokenize(text, mode="search", HMM=False)
    )


def test_suggest_freq_tune_defaults_to_false() -> None:
    seg, ref = _small()
    for word in ["研究生命", "北京大学", "北京大", "命的"]:
        before = (seg.total, seg.word_freq(word))
        assert seg.suggest_freq(word) == ref.suggest_freq(word)
        assert (seg.total, seg.word_freq(word)) == before  # the default tune=False changes nothing
    for pieces in [("北京", "大学"), ("研究", "生命"), ("大学", "生"), ("天安", "门"), ("北京",)]:
        assert seg.suggest_freq(pieces) == ref.suggest_freq(pieces), pieces
        assert seg.suggest_freq(list(pieces)) == ref.suggest_freq(pieces)
        assert seg.suggest_freq(p.encode() for p in pieces) == ref.suggest_freq(
            tuple(p.encode() for p in pieces)
        )


def test_suggest_freq_tune_forces_a_split_or_a_join() -> None:
    seg, ref = _small()
    for pieces in [("北京", "大学"), ("大学", "生"), "研究生命", ("研究", "生命"), "天安门"]:
        assert seg.suggest_freq(pieces, True) == ref.suggest_freq(pieces, True)
        assert seg.total == ref.total
        word = pieces if isinstance(pieces, str) else "".join(pieces)
        assert seg.word_freq(word) == ref.FREQ.get(word)
        for text in ["北京大学生活", "研究生命的起源", "天安门", "大学生"]:
            assert seg.lcut(text) == ref.lcut(text, HMM=False), (pieces, text)
    # The split really happens: jieba's own example of forcing 北京大学 apart.
    assert seg.lcut("北京大学") == ["北京", "大学"]


def test_add_word_freq_and_tag_as_jieba() -> None:
    seg, ref = _small()
    cases = [
        ("石墨烯", None, None),
        ("云计算", "12", "n"),
        ("创新办", 3.9, "j"),
        ("凯特琳", True, "nz"),
    ]
    for word, freq, tag in cases:
        seg.add_word(word, freq, tag)
        ref.add_word(word, freq, tag)
        assert seg.word_freq(word) == ref.FREQ[word] and seg.total == ref.total
    seg.add_word(b"\xe5\x8f\xb0\xe4\xb8\xad", freq=7)  # bytes, as jieba's strdecode
    ref.add_word(b"\xe5\x8f\xb0\xe4\xb8\xad", freq=7)
    assert seg.word_freq("台中") == ref.FREQ["台中"] == 7
    seg.del_word("台中".encode())
    ref.del_word("台中".encode())
    assert seg.word_freq("台中") == ref.FREQ["台中"] == 0 and seg.total == ref.total
    for bad in ("x", "1e3"):
        with pytest.raises(ValueError):
            ref.add_word("词", bad)
        with pytest.raises(ValueError):
            seg.add_word("词", bad)
    with pytest.raises(kneser.ArgumentError, match="freq must be"):
        seg.add_word("词", -2)


USER_DICT = "\ufeff研究生命 50 n\n\n云 计算 3\n创新办 i\nkneser\n  石墨烯  \n台中\u3000 9\n"


def test_load_userdict_from_paths_and_file_objects(tmp_path: Path) -> None:
    path = tmp_path / "user.txt"
    path.write_text(USER_DICT, encoding="utf-8")
    words = [
        "研究生命",
        "云 计算",
        "创新办",
        "kneser",
        "石墨烯",
        "台中",
        "台中\u3000",
        "\ufeff研究生命",
    ]
    sources = [
        lambda: str(path),
        lambda: path,
        lambda: open(path, "rb"),
        lambda: open(path, encoding="utf-8"),  # text lines: jieba keeps the BOM
        lambda: io.BytesIO(USER_DICT.encode()),
        lambda: io.StringIO(USER_DICT),
    ]
    for make in sources:
        seg, ref = _small()
        ours_src, ref_src = make(), make()
        seg.load_userdict(ours_src)
        if isinstance(ref_src, (str, Path)):
            # What jieba does with a path (it leaves the file open; we close it).
            ref_src = open(ref_src, "rb")
        ref.load_userdict(ref_src)
        for f in (ours_src, ref_src):
            if hasattr(f, "close"):
                f.close()
        assert seg.total == ref.total, make
        for w in words:
            assert seg.word_freq(w) == ref.FREQ.get(w), (make, w)
        for text in ["研究生命的起源", "创新办kneser云 计算石墨烯"]:
            assert seg.lcut(text) == ref.lcut(text, HMM=False)


def test_bad_userdict_changes_nothing(tmp_path: Path) -> None:
    seg, _ = _small()
    before = seg.total
    with pytest.raises(kneser.FormatError, match=r"<_io\.BytesIO object at .*>:2"):
        seg.load_userdict(io.BytesIO(b"ok 3\n\xff\xfe 2\n"))
    assert seg.total == before and seg.word_freq("ok") is None
    with pytest.raises(TypeError, match="not bytes or str"):
        seg.load_userdict([b"a 1", 3])


def test_segmenter_takes_a_dictionary_like_jieba_tokenizer() -> None:
    seg, ref = _small()
    assert seg.total == ref.total
    assert kneser.Segmenter().total == 0
    with pytest.raises(kneser.NotFoundError):
        kneser.Segmenter(DATA / "missing-dict.txt")
