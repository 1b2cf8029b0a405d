"""Parity with KenLM's lmplz: every reference ARPA reproduced byte for byte.

Small references live in tests/data/lmplz; the large ones are read from ../shared/reference
(present in CI) and skipped when absent.
"""

from __future__ import annotations

import lzma
import re
from pathlib import Path

import pytest

import kneser
from conftest import DATA, SHARED

LOCAL = DATA / "lmplz"
REMOTE = SHARED / "reference" / "lmplz"

# (reference name, input, options) exactly as in ../shared/reference/README.md
CASES = [
    ("seed.o2.fallback", "seed.txt", {"order": 2, "discount_fallback": True}),
    (
        "seed.o2.fallback_0.3_0.8_1.2",
        "seed.txt",
        {"order": 2, "discount_fallback": [0.3, 0.8, 1.2]},
    ),
    (
        "seed.o2.fallback.interpolate_unigrams_0",
        "seed.txt",
        {"order": 2, "discount_fallback": True, "interpolate_unigrams": False},
    ),
    (
        "edge.empty-lines.o2.fallback",
        "edge.empty-lines.txt",
        {"order": 2, "discount_fallback": True},
    ),
    (
        "edge.no-final-newline.o2.fallback",
        "edge.no-final-newline.txt",
        {"order": 2, "discount_fallback": True},
    ),
    ("whitespace.o2.fallback", "whitespace.txt", {"order": 2, "discount_fallback": True}),
    (
        "specials.o2.skip_symbols",
        "specials.txt",
        {"order": 2, "discount_fallback": True, "skip_symbols": True},
    ),
    ("empty.o3.fallback", "empty.txt", {"order": 3, "discount_fallback": True}),
    ("book.o1", "book.txt", {"order": 1}),
    ("book.o2", "book.txt", {"order": 2}),
    ("book.o3", "book.txt", {"order": 3}),
    ("book.o4", "book.txt", {"order": 4}),
    ("book.o5", "book.txt", {"order": 5}),
    ("book.o6.fallback", "book.txt", {"order": 6, "discount_fallback": True}),
    ("book.o3.prune_0_1_1", "book.txt", {"order": 3, "prune": [0, 1, 1]}),
    ("book.o4.prune_0_1_2_3", "book.txt", {"order": 4, "prune": [0, 1, 2, 3]}),
    ("book.o3.prune_1", "book.txt", {"order": 3, "prune": [1]}),
    ("book.o4.limit_vocab", "book.txt", {"order": 4, "limit_vocab": "book.top2000.vocab"}),
    ("book.o3.interpolate_unigrams_0", "book.txt", {"order": 3, "interpolate_unigrams": False}),
    ("book.o3.vocab_pad_50000", "book.txt", {"order": 3, "vocab_pad": 50000}),
    ("zh.chars.o3", "zh.chars.txt", {"order": 3}),
    ("zh.chars.o5", "zh.chars.txt", {"order": 5}),
    ("lastword.o2", "lastword.txt", {"order": 2}),
    ("lastword.o3", "lastword.txt", {"order": 3}),
    ("lastword.o4", "lastword.txt", {"order": 4}),
]


def find(name: str) -> Path | None:
    for base in (LOCAL, REMOTE):
        for candidate in (base / name, base / f"{name}.xz"):
            if candidate.exists():
                return candidate
    return None


def read_bytes(path: Path) -> bytes:
    if path.suffix == ".xz":
        with lzma.open(path, "rb") as f:
            return f.read()
    return path.read_bytes()


def parse_arpa(text: str) -> tuple[list[int], dict[int, dict[str, tuple[float, float | None]]]]:
    counts: list[int] = []
    sections: dict[int, dict[str, tuple[float, float | None]]] = {}
    order = 0
    for line in text.split("\n"):
        if line.startswith("ngram "):
            counts.append(int(line.split("=")[1]))
        elif re.fullmatch(r"\\\d+-grams:", line):
            order = int(line[1 : line.index("-")])
            sections[order] = {}
        elif order and line and not line.startswith("\\"):
            f = line.split("\t")
            sections[order][f[1]] = (float(f[0]), float(f[2]) if len(f) > 2 else None)
    return counts, sections


def statistics(stderr: str) -> list[tuple[str, str, str, str]]:
    """The `Statistics:` lines of an lmplz log: (count, D1, D2, D3+) per order."""
    rows = re.findall(r"^(\d+) (\S+) D1=(\S+) D2=(\S+) D3\+=(\S+)$", stderr, re.M)
    return [(c, d1, d2, d3) for _, c, d1, d2, d3 in rows]


@pytest.mark.parametrize(("name", "source", "options"), CASES, ids=[c[0] for c in CASES])
def test_reference_arpa_is_reproduced(tmp_path, name, source, options):
    reference = find(f"{name}.arpa")
    corpus = find(source)
    if reference is None or corpus is None:
        pytest.skip(f"{name} is not available")
    options = dict(options)
    if "limit_vocab" in options:
        vocab = find(options["limit_vocab"])
        assert vocab is not None
        options["limit_vocab"] = vocab
    out = tmp_path / "out.arpa"
    summary = kneser.estimate(corpus, arpa=out, memory="64M", temp_dir=tmp_path, **options)
    got = out.read_bytes()
    expected = read_bytes(reference)
    if got != expected:
        # Fall back to the bar to say precisely what differs.
        gc, gs = parse_arpa(got.decode())
        ec, es = parse_arpa(expected.decode())
        assert gc == ec, "header counts differ"
        for order, grams in es.items():
            assert set(gs[order]) == set(grams), f"order {order} n-gram sets differ"
            for gram, (p, b) in grams.items():
                gp, gb = gs[order][gram]
                assert abs(gp - p) <= 1e-5, (order, gram, gp, p)
                assert (b is None) == (gb is None)
                if b is not None:
                    assert abs(gb - b) <= 1e-5, (order, gram, gb, b)
        pytest.fail(f"{name}: values within 1e-5 but not byte-identical")
    # The unigram order is the id order; the counts equal the header.
    assert summary["counts"] == parse_arpa(got.decode())[0]
    log = find(f"{name}.stderr")
    if log is not None:
        expected_stats = statistics(log.read_text())
        ours = [
            (str(c), *(f"{d:g}" for d in ds))
            for c, ds in zip(summary["counts"], summary["discounts"])
        ]
        if options.get("prune") or options.get("limit_vocab"):
            expected_stats = [(c.split("/")[0], *ds) for c, *ds in expected_stats]
        assert ours == expected_stats


def test_seed_without_fallback_fails_with_discount_error(tmp_path):
    out = tmp_path / "lm.arpa"
    with pytest.raises(kneser.DiscountError, match=r"1-grams with adjusted count 3") as info:
        kneser.estimate(LOCAL / "seed.txt", order=2, arpa=out, temp_dir=tmp_path)
    assert "discount_fallback" in str(info.value)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_book_order_6_without_fallback_fails_naming_the_order(tmp_path):
    out = tmp_path / "lm.arpa"
    with pytest.raises(kneser.DiscountError, match=r"6-grams .* D2 = -0\.833"):
        kneser.estimate(LOCAL / "book.txt", order=6, arpa=out, temp_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_specials_without_skip_symbols_fail_naming_the_line(tmp_path):
    out = tmp_path / "lm.arpa"
    with pytest.raises(kneser.FormatError, match=r"specials\.txt:1: special word <s>"):
        kneser.estimate(
            LOCAL / "specials.txt", order=2, arpa=out, discount_fallback=True, temp_dir=tmp_path
        )
    assert list(tmp_path.iterdir()) == []


def test_iterable_source_equals_file_source(tmp_path):
    lines = (LOCAL / "book.txt").read_text(encoding="utf-8").splitlines()
    kneser.estimate(LOCAL / "book.txt", order=3, arpa=tmp_path / "a.arpa")
    kneser.estimate(texts=lines, order=3, arpa=tmp_path / "b.arpa")
    assert (tmp_path / "a.arpa").read_bytes() == (tmp_path / "b.arpa").read_bytes()


def test_an_exception_in_the_iterable_propagates_and_leaves_nothing(tmp_path):
    def lines():
        yield "a b c"
        raise RuntimeError("source broke")

    with pytest.raises(RuntimeError, match="source broke"):
        kneser.estimate(texts=lines(), order=2, arpa=tmp_path / "lm.arpa", discount_fallback=True)
    assert not (tmp_path / "lm.arpa").exists()


def test_order_above_the_loader_limit_is_refused_before_any_work(tmp_path):
    out = tmp_path / "lm.arpa"
    (tmp_path / "t").mkdir()
    with pytest.raises(kneser.ArgumentError, match=r"largest supported order 16"):
        kneser.estimate(LOCAL / "seed.txt", order=17, arpa=out, temp_dir=tmp_path / "t")
    assert not out.exists()
    assert list((tmp_path / "t").iterdir()) == []
    kneser.estimate(
        LOCAL / "seed.txt", order=16, arpa=out, discount_fallback=True, temp_dir=tmp_path / "t"
    )
    assert kneser.Model(out).order == 16


def test_memory_error_is_typed():
    assert issubclass(kneser.KneserMemoryError, MemoryError)
    assert issubclass(kneser.KneserMemoryError, kneser.KneserError)
