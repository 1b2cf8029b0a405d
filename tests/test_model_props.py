"""Properties of scoring on arbitrary text: sums, bos/eos semantics, agreement with the kenlm
module, no panic on any Unicode."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kneser

DATA = Path(__file__).parent / "data" / "query"
MODEL = kneser.Model(DATA / "whitespace.o2.fallback.arpa")
VOCAB = ["a", "b", "c\xa0d", "e", "ab", "\u3000x", "yz", "c", "<s>", "</s>", "<unk>", "zz"]
SEPARATORS = [" ", "\t", "\r", "\x0b", "\x0c", "  ", "\xa0", "\u3000"]

words = st.lists(st.sampled_from(VOCAB), max_size=12)
texts = st.builds(
    lambda ws, seps: "".join(w + s for w, s in zip(ws, seps)),
    words,
    st.lists(st.sampled_from(SEPARATORS), min_size=12, max_size=12),
)


@settings(max_examples=200, deadline=None)
@given(texts, st.booleans(), st.booleans())
def test_full_scores_sum_to_score(text: str, bos: bool, eos: bool) -> None:
    scores = list(MODEL.full_scores(text, bos=bos, eos=eos))
    assert sum(p for p, _, _ in scores) == pytest.approx(
        MODEL.score(text, bos=bos, eos=eos), abs=1e-4
    )
    assert len(scores) == len(text.encode().split()) + int(eos)
    for p, n, oov in scores:
        assert p <= 0 and 1 <= n <= MODEL.order and isinstance(oov, bool)


@settings(max_examples=200, deadline=None)
@given(texts, st.booleans())
def test_bos_eos_semantics(text: str, bos: bool) -> None:
    with_eos = list(MODEL.full_scores(text, bos=bos, eos=True))
    without = list(MODEL.full_scores(text, bos=bos, eos=False))
    assert with_eos[:-1] == without
    assert with_eos[-1][2] is False  # </s> is never OOV
    # With bos, the first word is scored in the <s> context: the same as a sentence that
    # starts with an explicit "<s>" word scored without context, minus that word.
    explicit = list(MODEL.full_scores("<s> " + text, bos=False, eos=True))
    if bos:
        assert explicit[1:] == with_eos
    state, out = kneser.State(), kneser.State()
    (MODEL.BeginSentenceWrite if bos else MODEL.NullContextWrite)(state)
    total = 0.0
    for w in [*text.encode().split(), b"</s>"]:
        total += MODEL.BaseScore(state, w.decode(), out)
        state, out = out, state
    assert total == pytest.approx(MODEL.score(text, bos=bos, eos=True), abs=1e-4)


@settings(max_examples=150, deadline=None)
@given(texts, st.booleans(), st.booleans())
def test_agrees_with_kenlm_module(text: str, bos: bool, eos: bool) -> None:
    kenlm = pytest.importorskip("kenlm")
    theirs = _kenlm_model(kenlm)
    a = list(theirs.full_scores(text, bos=bos, eos=eos))
    b = list(MODEL.full_scores(text, bos=bos, eos=eos))
    assert [(round(p, 5), n, o) for p, n, o in a] == [(round(p, 5), n, o) for p, n, o in b]


_KENLM: dict[str, object] = {}


def _kenlm_model(kenlm):  # type: ignore[no-untyped-def]
    if "m" not in _KENLM:
        _KENLM["m"] = kenlm.Model(str(DATA / "whitespace.o2.fallback.arpa"))
    return _KENLM["m"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), st.booleans(), st.booleans())
def test_arbitrary_unicode_never_panics(text: str, bos: bool, eos: bool) -> None:
    score = MODEL.score(text, bos=bos, eos=eos)
    assert score <= 0
    assert MODEL.perplexity(text) >= 1.0
    assert MODEL.score_batch([text, text], bos=bos, eos=eos).tolist() == [score, score]
    _ = text in MODEL
