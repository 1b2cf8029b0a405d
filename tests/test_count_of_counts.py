"""kneser's discounts equal lmplz's rules recomputed in plain Python (tests/lmplz_rules.py).

The oracle was checked against lmplz itself on the `lastword` references (see
test_the_oracle_reproduces_lmplz_statistics) and, when the binaries are present, on random
corpora in test_lmplz_generated.py.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lmplz_rules import FALLBACK, expected_discounts

import kneser
from conftest import DATA

LOCAL = DATA / "lmplz"

# Few words, so that every word recurs (a vocabulary-limited corpus), U+00A0 inside a word.
WORDS = ["a", "b", "c", "d", "e", "the", "x\u00a0y", "日本"]

plain = st.lists(
    st.lists(st.sampled_from(WORDS), min_size=0, max_size=9).map(" ".join),
    min_size=1,
    max_size=30,
)


@st.composite
def last_word_recurs(draw):
    """A corpus whose newest word (the last in suffix order) recurs after varied neighbours."""
    lines = draw(plain)
    left = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=6))
    right = draw(st.lists(st.sampled_from(["", "sang", "a"]), min_size=len(left), max_size=6))
    for i, w in enumerate(left):
        tail = right[i] if i < len(right) else ""
        lines.append(f"{w} zyzzyva {tail}".strip())
    return lines


def kneser_discounts(tmp_path, lines, order):
    summary = kneser.estimate(
        texts=lines, order=order, arpa=tmp_path / "lm.arpa", discount_fallback=True
    )
    return summary


def check(tmp_path, lines, order):
    expected = expected_discounts(lines, order)
    summary = kneser_discounts(tmp_path, lines, order)
    for k, (e, got) in enumerate(zip(expected, summary["discounts"]), start=1):
        if e is None:
            assert k in summary["fallback_orders"], (k, got)
            assert tuple(got) == FALLBACK
        else:
            assert k not in summary["fallback_orders"], (k, e)
            assert tuple(got) == e, (k, got, e)


SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(lines=plain, order=st.integers(1, 4))
def test_discounts_equal_the_plain_rules(tmp_path, lines, order):
    check(tmp_path, lines, order)


@SETTINGS
@given(lines=last_word_recurs(), order=st.integers(2, 4))
def test_discounts_equal_the_plain_rules_when_the_last_word_recurs(tmp_path, lines, order):
    check(tmp_path, lines, order)


@pytest.mark.parametrize("order", [2, 3, 4])
def test_the_oracle_reproduces_lmplz_statistics(order):
    corpus = LOCAL / "lastword.txt"
    lines = corpus.read_text(encoding="utf-8").split("\n")
    if lines[-1] == "":
        lines.pop()
    log = (LOCAL / f"lastword.o{order}.stderr").read_text()
    rows = re.findall(r"^\d+ \S+ D1=(\S+) D2=(\S+) D3\+=(\S+)$", log, re.M)
    ours = [[f"{d:g}" for d in e] for e in expected_discounts(lines, order)]
    assert ours == [list(r) for r in rows]
    # Without the end-of-stream rule the unigram discounts differ: the rule is not vacuous.
    plain = [[f"{d:g}" for d in e] for e in expected_discounts(lines, order, False)]
    assert plain[0] != list(rows[0])
