"""Properties of estimation on random small corpora (hypothesis)."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kneser

WORDS = ["a", "b", "c", "d", "e", "the", "cat", "日本", "x\u00a0y"]

corpora = st.lists(
    st.lists(st.sampled_from(WORDS), min_size=0, max_size=8).map(" ".join),
    min_size=1,
    max_size=25,
)


def read_arpa(path):
    probs: dict[tuple[str, ...], float] = {}
    backoffs: dict[tuple[str, ...], float] = {}
    order = 0
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.endswith("-grams:"):
            order = int(line[1 : line.index("-")])
        elif order and line and not line.startswith("\\"):
            f = line.split("\t")
            gram = tuple(f[1].split(" "))
            probs[gram] = float(f[0])
            if len(f) > 2:
                backoffs[gram] = float(f[2])
    return probs, backoffs, order


def prob(probs, backoffs, context, word):
    """p(word | context) by backoff, as a decoder reads the ARPA."""
    penalty = 0.0
    ctx = tuple(context)
    while True:
        if (*ctx, word) in probs:
            return 10 ** (probs[(*ctx, word)] + penalty)
        penalty += backoffs.get(ctx, 0.0) if ctx else 0.0
        if not ctx:
            raise AssertionError(f"{word} is not a unigram")
        ctx = ctx[1:]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=corpora, order=st.integers(1, 4), prune=st.sampled_from([None, [0, 1], [0, 0, 1]]))
def test_every_context_distribution_sums_to_one(tmp_path, lines, order, prune):
    out = tmp_path / "lm.arpa"
    kneser.estimate(texts=lines, order=order, arpa=out, discount_fallback=True, prune=prune)
    probs, backoffs, n = read_arpa(out)
    assert n == order
    vocab = [g[0] for g in probs if len(g) == 1 and g[0] != "<s>"]
    contexts = [g for g in probs if len(g) < order] + [()]
    for ctx in contexts:
        if ctx and ctx[-1] == "</s>":
            continue
        total = sum(prob(probs, backoffs, ctx, w) for w in vocab)
        assert math.isclose(total, 1.0, abs_tol=1e-4), (ctx, total)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=corpora, order=st.integers(2, 5))
def test_output_does_not_depend_on_threads_or_memory(tmp_path, lines, order):
    outs = []
    for i, (threads, memory) in enumerate([(1, "1G"), (2, "1G"), (2, "1M")]):
        out = tmp_path / f"{i}.arpa"
        kneser.estimate(
            texts=lines,
            order=order,
            arpa=out,
            discount_fallback=True,
            threads=threads,
            memory=memory,
        )
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]


def test_spilling_to_disk_gives_the_same_model(tmp_path, data_dir):
    book = data_dir / "lmplz" / "book.txt"
    kneser.estimate(book, order=4, arpa=tmp_path / "big.arpa", memory="1G")
    # 1 MiB forces every sort to spill many runs.
    kneser.estimate(book, order=4, arpa=tmp_path / "small.arpa", memory="1M", temp_dir=tmp_path)
    assert (tmp_path / "big.arpa").read_bytes() == (tmp_path / "small.arpa").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.arpa", "small.arpa"]


def test_bad_options_are_argument_errors(tmp_path, data_dir):
    seed = data_dir / "lmplz" / "seed.txt"
    with pytest.raises(kneser.ArgumentError, match="order must be at least 1"):
        kneser.estimate(seed, order=0, arpa=tmp_path / "x.arpa")
    with pytest.raises(kneser.ArgumentError, match="non-decreasing"):
        kneser.estimate(seed, order=3, arpa=tmp_path / "x.arpa", prune=[2, 1])
    with pytest.raises(kneser.ArgumentError, match="too small"):
        kneser.estimate(seed, order=3, arpa=tmp_path / "x.arpa", memory=1000)


def test_missing_input_and_temp_dir_are_not_found(tmp_path):
    with pytest.raises(kneser.NotFoundError) as info:
        kneser.estimate(tmp_path / "nope.txt", order=2, arpa=tmp_path / "x.arpa")
    assert info.value.filename == str(tmp_path / "nope.txt")
    with pytest.raises(FileNotFoundError):
        kneser.estimate(texts=["a b"], order=2, arpa=tmp_path / "x.arpa", temp_dir=tmp_path / "no")
    assert list(tmp_path.iterdir()) == []


def test_invalid_utf8_names_the_line_or_is_replaced(tmp_path):
    corpus = tmp_path / "bad.txt"
    corpus.write_bytes(b"a b c\nd \xff e\n")
    with pytest.raises(kneser.FormatError, match=r"bad\.txt:2: invalid UTF-8"):
        kneser.estimate(corpus, order=2, arpa=tmp_path / "x.arpa", discount_fallback=True)
    assert not (tmp_path / "x.arpa").exists()
    kneser.estimate(
        corpus, order=2, arpa=tmp_path / "x.arpa", discount_fallback=True, replace_invalid_utf8=True
    )
    assert "\ufffd" in (tmp_path / "x.arpa").read_text(encoding="utf-8")


def test_unwritable_output_is_an_os_error(tmp_path):
    with pytest.raises(kneser.NotFoundError):
        kneser.estimate(texts=["a b"], order=2, arpa=tmp_path / "no" / "x.arpa")
