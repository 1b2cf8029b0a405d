"""Properties of the batch scoring path on an order-5 model in every layout (ARPA, KenLM
probing, KenLM trie with -a 255 -q 8 -b 7): `score_batch` and `perplexity_batch` equal the
single calls, which equal the kenlm module on the same file, exactly.

The sentences mix the words of book.heldout (so that long n-grams match and the walk reaches
the orders it keys on demand, above the ones it keys ahead), unknown words, words of 8 bytes
and more (hashed in blocks) and every separator byte."""

from __future__ import annotations

import itertools
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kneser

SHARED = Path(os.environ.get("KNESER_SHARED", Path(__file__).parents[2] / "shared"))
ARPA = SHARED / "reference/lmplz/book.o5.arpa.xz"
HELDOUT = SHARED / "reference/query/book.heldout.txt"
pytestmark = pytest.mark.skipif(not ARPA.is_file(), reason=f"{ARPA} is absent")

_MODELS: dict[str, tuple[kneser.Model, object]] = {}
_TMP = tempfile.TemporaryDirectory()


def _models() -> dict[str, tuple[kneser.Model, object]]:
    """(kneser model, kenlm model) per layout, built once."""
    if not _MODELS:
        kenlm = pytest.importorskip("kenlm")
        arpa = kneser.Model(ARPA)
        probing = Path(_TMP.name) / "o5.probing.bin"
        trie = Path(_TMP.name) / "o5.trie.bin"
        arpa.save_binary(probing)
        arpa.save_binary(trie, layout="trie", quantize=8, backoff_bits=7, array_bits=255)
        _MODELS["arpa"] = (arpa, kenlm.Model(str(ARPA)))
        for name, path in (("probing", probing), ("trie", trie)):
            _MODELS[name] = (kneser.Model(path), kenlm.Model(str(path)))
    return _MODELS


def _heldout_words() -> list[str]:
    if not HELDOUT.is_file():
        return ["the", "of", "and"]
    return sorted(set(HELDOUT.read_text(encoding="utf-8").split()))[:3000]


WORDS = _heldout_words()
ODD = ["qqqqqqqqqqzz", "unseenword", "é", "ab\x01cd", "<s>", "</s>", "<unk>", "x" * 17]
SEPARATORS = [" ", "\t", "\n", "\r", "\x0b", "\x0c", "  ", " \t "]

HELDOUT_LINES = (
    HELDOUT.read_text(encoding="utf-8").splitlines() if HELDOUT.is_file() else ["the of and"]
)


def _sentence(start: int, n: int, odd: list[str], seps: list[str], lead: str) -> str:
    words = [*HELDOUT_LINES[start % len(HELDOUT_LINES)].split()[:n], *odd]
    return lead + "".join(w + s for w, s in zip(words, itertools.cycle(seps)))


# Runs of consecutive heldout words (long n-grams found) with odd words and separators mixed in.
sentences = st.builds(
    _sentence,
    st.integers(0, 10_000),
    st.integers(0, 60),
    st.lists(st.sampled_from(WORDS + ODD), max_size=6),
    st.lists(st.sampled_from(SEPARATORS), min_size=1, max_size=4),
    st.sampled_from(["", " ", "\t"]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(sentences, max_size=40), st.booleans(), st.booleans())
@pytest.mark.parametrize("layout", ["arpa", "probing", "trie"])
def test_batches_equal_single_calls_and_kenlm(
    layout: str, texts: list[str], bos: bool, eos: bool
) -> None:
    ours, theirs = _models()[layout]
    single = [ours.score(t, bos=bos, eos=eos) for t in texts]
    assert ours.score_batch(texts, bos=bos, eos=eos).tolist() == single
    assert single == [theirs.score(t, bos=bos, eos=eos) for t in texts]  # type: ignore[attr-defined]
    ppl = [ours.perplexity(t) for t in texts]
    assert ours.perplexity_batch(texts).tolist() == ppl
    assert ppl == [theirs.perplexity(t) for t in texts]  # type: ignore[attr-defined]


OOV_ONLY = st.lists(st.sampled_from(["zzzq", "unseenword", "x" * 17, "<unk>"]), max_size=5).map(
    " ".join
)
LONG = st.builds(
    _sentence,
    st.integers(0, 10_000),
    st.integers(150, 400),
    st.just([]),
    st.just([" "]),
    st.just(""),
)
# Empty and blank lines, OOV-only lines and lines of very different lengths, so that lockstep
# lanes finish at different steps, are refilled and skip empty sentences.
mixed_lines = st.one_of(st.just(""), st.just(" \t "), OOV_ONLY, sentences, LONG)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 20).flatmap(lambda n: st.lists(mixed_lines, min_size=n, max_size=n)))
@pytest.mark.parametrize("layout", ["arpa", "probing", "trie"])
def test_lockstep_batches_of_any_size_equal_single_calls_and_kenlm(
    layout: str, texts: list[str]
) -> None:
    ours, theirs = _models()[layout]
    for bos, eos in ((True, True), (False, True), (True, False)):
        single = [ours.score(t, bos=bos, eos=eos) for t in texts]
        assert ours.score_batch(texts, bos=bos, eos=eos).tolist() == single
        assert single == [theirs.score(t, bos=bos, eos=eos) for t in texts]  # type: ignore[attr-defined]
    ppl = [ours.perplexity(t) for t in texts]
    assert ours.perplexity_batch(texts).tolist() == ppl
    assert ppl == [theirs.perplexity(t) for t in texts]  # type: ignore[attr-defined]


@pytest.mark.parametrize("n", [63, 64, 65, 300, 513, 1027, 5000])
@pytest.mark.parametrize("layout", ["arpa", "probing", "trie"])
def test_batches_split_over_threads_keep_every_score_in_its_place(layout: str, n: int) -> None:
    """Batches large enough to be shared out in tasks of every size the batch picks (64 to
    256 texts, the last one short), each text's score back at its index: equal to the single
    calls and to kenlm's."""
    ours, theirs = _models()[layout]
    lines = HELDOUT.read_text(encoding="utf-8").splitlines()
    texts = [f"{lines[i % len(lines)]} {i % 7}" if i % 5 else "" for i in range(n)]
    single = [ours.score(t) for t in texts]
    assert ours.score_batch(texts).tolist() == single
    assert single == [theirs.score(t) for t in texts]  # type: ignore[attr-defined]
    assert ours.perplexity_batch(texts).tolist() == [ours.perplexity(t) for t in texts]
