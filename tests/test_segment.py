"""kneser.Segmenter and `kneser segment`: parity with jieba (HMM off) and properties."""

from __future__ import annotations

import json
import lzma
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kneser
from kneser.cli import main

jieba = pytest.importorskip("jieba")
jieba.setLogLevel(60)  # silence "Building prefix dict ..."

JIEBA_DICT = Path(jieba.__file__).parent / "dict.txt"
PARITY_LINES = 20_000


@pytest.fixture(scope="module")
def seg() -> kneser.Segmenter:
    return kneser.Segmenter.from_dict(JIEBA_DICT)


@pytest.fixture(scope="module")
def small(data_dir: Path) -> kneser.Segmenter:
    return kneser.Segmenter.from_dict(data_dir / "segment-small-dict.txt")


def _jieba_small(data_dir: Path) -> jieba.Tokenizer:
    ref = jieba.Tokenizer(str(data_dir / "segment-small-dict.txt"))
    ref.initialize()
    return ref


def _parity_lines(lines: list[str], seg: kneser.Segmenter) -> tuple[int, int, list[str]]:
    """Counts lines equal to jieba in accurate and full mode; returns some that differ."""
    same_accurate = same_full = 0
    differing: list[str] = []
    for line in lines:
        if seg.lcut(line) == list(jieba.cut(line, HMM=False)):
            same_accurate += 1
        else:
            differing.append(line)
        if seg.lcut(line, cut_all=True) == list(jieba.cut(line, cut_all=True)):
            same_full += 1
        else:
            differing.append(line)
    return same_accurate, same_full, differing[:5]


def test_parity_on_sample(seg: kneser.Segmenter, data_dir: Path) -> None:
    lines = (data_dir / "zh-sample.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 300
    accurate, full, differing = _parity_lines(lines, seg)
    assert (accurate, full, differing) == (300, 300, [])


def test_parity_on_20000_corpus_lines(seg: kneser.Segmenter, shared_dir: Path) -> None:
    path = shared_dir / "corpora" / "zh-bench.chars.txt.xz"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    lines = []
    with lzma.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            lines.append(line.rstrip("\n").replace(" ", ""))
            if len(lines) == PARITY_LINES:
                break
    accurate, full, differing = _parity_lines(lines, seg)
    assert (accurate, full, differing) == (PARITY_LINES, PARITY_LINES, [])
    # The batch call gives the same words as one call per line.
    assert seg.cut_batch(lines[:2000]) == [seg.lcut(t) for t in lines[:2000]]


CRAFTED = [
    "",
    " ",
    "  \t\r\n\r\r\n\n",
    "\x00",
    "北京\x00大学",
    "我爱北京天安门",
    "iPhone6s的价格是5288元，比iPhone 6贵了100%！",
    "C++和C#是编程语言, Python3.11也是; e-mail: a_b.c@example.com",
    "这是一个测试😀😀emoji🇨🇳结束",
    "ｆｕｌｌｗｉｄｔｈ　全角空格　１２３",
    "混合English和中文mixed 123 text\u3000with\u00a0nbsp",
    "他说：“今天天气不错。”然后——走了……",
    "长春市长春节讲话",
    "结婚的和尚未结婚的",
    "工信处女干事每月经过下属科室都要亲口交代24口交换机等技术性器件的安装工作",
    "ab-cd_e.f%g&h#i+j",
    "\u9fd5\u9fd6\u4e00\u3400\U00020000",
    "a\u0301e\u0301 combining",
    "\ufeff开头有BOM",
    "\u2028\u2029\x1c\x1d\x1e\x1f\x85\x0b\x0c",
]


@pytest.mark.parametrize("text", CRAFTED)
def test_crafted_cases_match_jieba(seg: kneser.Segmenter, text: str) -> None:
    assert seg.lcut(text) == list(jieba.cut(text, HMM=False))
    assert seg.lcut(text, cut_all=True) == list(jieba.cut(text, cut_all=True))
    assert "".join(seg.lcut(text)) == text


def test_long_text_is_cut_without_the_gil(seg: kneser.Segmenter) -> None:
    part = "我爱北京天安门abc 123。"
    long = part * 10_000  # well above the size cut with the GIL released
    assert seg.lcut(long) == seg.lcut(part) * 10_000
    assert seg.lcut(long, cut_all=True) == seg.lcut(part, cut_all=True) * 10_000


def test_tokenizer_from_segmenter(seg: kneser.Segmenter) -> None:
    text = "我的朋友 在 Beijing 工作。"
    words = [w for w in seg.lcut(text) if not w.isspace()]
    assert seg.tokenizer().tokenize(text) == words
    lowered = seg.tokenizer(lowercase=True, stopwords=["的", "。"]).tokenize(text)
    assert lowered == [w.lower() for w in words if w not in ("的", "。")]
    full = seg.tokenizer(cut_all=True).tokenize(text)
    assert full == [w for w in seg.lcut(text, cut_all=True) if w and not w.isspace()]
    batch = seg.tokenizer().tokenize_batch([text, "北京"])
    assert batch == [words, ["北京"]]


def test_small_dictionary_matches_jieba(small: kneser.Segmenter, data_dir: Path) -> None:
    ref = _jieba_small(data_dir)
    assert small.total == ref.total == 507
    for text in [
        "北京大学生活",
        "研究生命的起源",
        "abc a股 ab1",
        "天安天安门",
        " 北京 \r\n 大学\t",
    ]:
        assert small.lcut(text) == list(ref.cut(text, HMM=False))
        assert small.lcut(text, cut_all=True) == list(ref.cut(text, cut_all=True))


def test_user_words_match_jieba(data_dir: Path) -> None:
    ours = kneser.Segmenter.from_dict(data_dir / "segment-small-dict.txt")
    ref = _jieba_small(data_dir)
    for word in ["北京大", "大学生", "命的", "研究生命的起源", "abc"]:
        assert ours.suggest_freq(word) == ref.suggest_freq(word)
    assert (
        ours.add_word("研究生命") == ref.FREQ["研究生命"] if ref.add_word("研究生命") is None else 0
    )
    assert ours.total == ref.total
    text = "研究生命的起源"
    assert ours.lcut(text) == list(ref.cut(text, HMM=False)) == ["研究生命", "的", "起源"]
    ours.del_word("研究生命")
    ref.del_word("研究生命")
    assert ours.lcut(text) == list(ref.cut(text, HMM=False)) == ["研究", "生命", "的", "起源"]
    ours.add_word("起源", 1)
    ref.add_word("起源", 1)
    assert ours.total == ref.total
    assert ours.word_freq("起源") == ref.FREQ["起源"] == 1
    assert ours.word_freq("研究生") == ref.FREQ.get("研究生")
    assert ours.word_freq("北京大") == ref.FREQ.get("北京大") == 0
    assert ours.word_freq("上海") is None


def test_userdict_matches_jieba(data_dir: Path) -> None:
    ours = kneser.Segmenter.from_dict(data_dir / "segment-small-dict.txt")
    ref = _jieba_small(data_dir)
    user = data_dir / "segment-user-dict.txt"
    ours.load_userdict(user)
    with open(user, "rb") as f:
        ref.load_userdict(f)
    assert ours.total == ref.total
    for word in ["研究生命", "云 计算", "创新办", "kneser", "创新"]:
        assert ours.word_freq(word) == ref.FREQ.get(word), word
    for text in ["研究生命的起源", "创新办kneser云 计算"]:
        assert ours.lcut(text) == list(ref.cut(text, HMM=False))
        assert ours.lcut(text, cut_all=True) == list(ref.cut(text, cut_all=True))


def test_errors(tmp_path: Path, small: kneser.Segmenter) -> None:
    with pytest.raises(kneser.NotFoundError):
        kneser.Segmenter.from_dict(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("北京 3\n大学\n", encoding="utf-8")
    with pytest.raises(kneser.FormatError, match=r"bad\.txt:2:"):
        kneser.Segmenter.from_dict(bad)
    with pytest.raises(kneser.ArgumentError):
        small.add_word("", 3)
    with pytest.raises(kneser.ArgumentError):
        small.add_word("词", -1)
    with pytest.raises(kneser.FormatError, match="surrogate"):
        small.lcut("a\ud800b")
    with pytest.raises(kneser.FormatError, match="text 1 of the batch"):
        small.cut_batch(["ok", "a\ud800b"])
    with pytest.raises(TypeError):
        small.cut_batch("北京")


def test_jieba_default(seg: kneser.Segmenter) -> None:
    default = kneser.Segmenter.jieba_default()
    jieba.initialize()
    assert default.total == seg.total == jieba.dt.total
    assert default.lcut("我来到北京清华大学") == ["我", "来到", "北京", "清华大学"]


def test_cut_batch_and_threads(seg: kneser.Segmenter, data_dir: Path) -> None:
    lines = (data_dir / "zh-sample.txt").read_text(encoding="utf-8").splitlines()
    expected = [seg.lcut(t) for t in lines]
    assert seg.cut_batch(lines) == expected
    assert seg.cut_batch(iter(lines)) == expected
    assert seg.cut_batch(lines, cut_all=True) == [seg.lcut(t, cut_all=True) for t in lines]
    results: list[list[list[str]]] = []
    threads = [
        threading.Thread(target=lambda: results.append(seg.cut_batch(lines))) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 3


def test_cut_file(seg: kneser.Segmenter, data_dir: Path, tmp_path: Path) -> None:
    src = data_dir / "zh-sample.txt"
    out = tmp_path / "out.txt"
    lines, words = seg.cut_file(src, out)
    texts = src.read_text(encoding="utf-8").splitlines()
    expected = [" ".join(seg.lcut(t)) for t in texts]
    assert out.read_text(encoding="utf-8").splitlines() == expected
    assert lines == len(texts)
    assert words == sum(len(seg.lcut(t)) for t in texts)
    seg.cut_file([src, src], out, cut_all=True, delimiter="|")
    full = ["|".join(seg.lcut(t, cut_all=True)) for t in texts]
    assert out.read_text(encoding="utf-8").splitlines() == full * 2
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok\n\xff\xfe\n")
    with pytest.raises(kneser.FormatError, match=r"bad\.txt:2"):
        seg.cut_file(bad, tmp_path / "never.txt")
    assert not (tmp_path / "never.txt").exists()
    assert list(tmp_path.glob(".never*")) == []


def test_cli_plain_and_jsonl(data_dir: Path, tmp_path: Path, seg: kneser.Segmenter) -> None:
    src = data_dir / "zh-sample.txt"
    texts = src.read_text(encoding="utf-8").splitlines()[:50]
    plain = tmp_path / "in.txt"
    plain.write_text("\n".join(texts) + "\n", encoding="utf-8")
    out = tmp_path / "out.txt"
    assert main(["segment", "--dict", str(JIEBA_DICT), str(plain), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8").splitlines() == [" ".join(seg.lcut(t)) for t in texts]

    jl = tmp_path / "in.jsonl"
    jl.write_text(
        "".join(
            json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(texts)
        ),
        encoding="utf-8",
    )
    out_jl = tmp_path / "out.jsonl"
    args = ["segment", "--dict", str(JIEBA_DICT), "--jsonl", "--field", "text", "--cut-all"]
    assert main([*args, "--delimiter", "/", str(jl), "-o", str(out_jl)]) == 0
    rows = [json.loads(line) for line in out_jl.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == list(range(len(texts)))
    assert [r["text"] for r in rows] == ["/".join(seg.lcut(t, cut_all=True)) for t in texts]

    spaced = tmp_path / "spaced.jsonl"
    spaced.write_text('{"text": "hello  世界\\u3000abc"}\n', encoding="utf-8")
    out_sp = tmp_path / "spaced.out.jsonl"
    assert main([*args, "--drop-whitespace", str(spaced), "-o", str(out_sp)]) == 0
    assert json.loads(out_sp.read_text(encoding="utf-8"))["text"] == "hello 世界 abc"
    spaced_txt = tmp_path / "spaced.txt"
    spaced_txt.write_text("hello  世界\u3000abc\n", encoding="utf-8")
    out_txt = tmp_path / "spaced.out.txt"
    assert main([*args[:3], "--drop-whitespace", str(spaced_txt), "-o", str(out_txt)]) == 0
    assert out_txt.read_text(encoding="utf-8") == "hello 世界 abc\n"

    missing = tmp_path / "missing.jsonl"
    missing.write_text('{"text": "好"}\n{"other": 1}\n', encoding="utf-8")
    assert main([*args, str(missing), "-o", str(tmp_path / "x.jsonl")]) == 1
    assert not (tmp_path / "x.jsonl").exists()


def test_cli_stdin_to_stdout(data_dir: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kneser.cli", "segment", "--dict", str(JIEBA_DICT)],
        input="我爱北京天安门\n结婚的和尚未结婚的\n".encode(),
        capture_output=True,
        check=True,
    )
    assert proc.stdout.decode() == "我 爱 北京 天安门\n结婚 的 和 尚未 结婚 的\n"


ALPHABET = st.sampled_from(
    list("我爱北京天安门大学生活研究命的起源长春市节讲话和尚未结婚中华人民共和国")
    + list("abcXYZ019+#&._%-")
    + [" ", "\t", "\r", "\n", "\r\n", "\u3000", "\u00a0", "\x00", "，", "。", "😀", "\ud7ff"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(ALPHABET, max_size=40).map("".join) | st.text(max_size=40))
def test_matches_jieba_on_generated_text(text: str) -> None:
    seg = _default_segmenter()
    assert seg.lcut(text) == list(jieba.cut(text, HMM=False))
    assert seg.lcut(text, cut_all=True) == list(jieba.cut(text, cut_all=True))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_words_concatenate_back_and_never_panic(text: str) -> None:
    seg = _default_segmenter()
    words = seg.lcut(text)
    assert "".join(words) == text
    assert all(words)
    seg.lcut(text, cut_all=True)


_DEFAULT: list[kneser.Segmenter] = []


def _default_segmenter() -> kneser.Segmenter:
    if not _DEFAULT:
        _DEFAULT.append(kneser.Segmenter.from_dict(JIEBA_DICT))
    return _DEFAULT[0]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(ALPHABET, max_size=30).map("".join), max_size=80))
def test_cut_batch_matches_jieba_on_generated_text(texts: list[str]) -> None:
    seg = _default_segmenter()
    assert seg.cut_batch(texts) == [list(jieba.cut(t, HMM=False)) for t in texts]
    assert seg.cut_batch(texts, cut_all=True) == [list(jieba.cut(t, cut_all=True)) for t in texts]


WORD_CHARS = list("我爱北京天安门大学生活和尚未结婚")
WORD = st.lists(st.sampled_from(WORD_CHARS), min_size=1, max_size=4).map("".join)


@settings(max_examples=60, deadline=None)
@given(
    edits=st.lists(st.tuples(st.booleans(), WORD, st.integers(1, 200)), max_size=8),
    texts=st.lists(st.lists(ALPHABET, max_size=20).map("".join), min_size=1, max_size=6),
)
def test_words_follow_dictionary_edits(
    edits: list[tuple[bool, str, int]], texts: list[str]
) -> None:
    # The bindings cache each dictionary word's str by its id in the dictionary: after words are
    # added and deleted (new ids, ids whose word stops being a word) the output must still be
    # jieba's, from the per-call and the batch paths alike.
    data_dir = Path(__file__).parent / "data"
    ours = kneser.Segmenter.from_dict(data_dir / "segment-small-dict.txt")
    ref = _jieba_small(data_dir)
    for add, word, freq in [(True, "x", 1), *edits]:
        ours.cut_batch(texts)
        if add:
            ours.add_word(word, freq)
            ref.add_word(word, freq)
        else:
            ours.del_word(word)
            ref.del_word(word)
        want = [list(ref.cut(t, HMM=False)) for t in texts]
        assert [ours.lcut(t) for t in texts] == want
        assert ours.cut_batch(texts) == want
