"""`kneser explain` / `kneser.explain`: the tables are the estimator's own outputs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kneser
from kneser.cli import main

DATA = Path(__file__).parent / "data" / "lmplz"
SHARED = Path("/work/shared/reference/lmplz/seed.o2.fallback.arpa")
SEED = "我 你 我 他 我 你\n"


def _reference() -> str:
    path = SHARED if SHARED.exists() else DATA / "seed.o2.fallback.arpa"
    return path.read_text(encoding="utf-8")


def test_seed_tables_on_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "small.txt"
    corpus.write_text(SEED, encoding="utf-8")
    assert main(["explain", "-o", "2", "--discount_fallback", str(corpus)]) == 0
    out = capsys.readouterr().out
    assert "<s> 我 你 我 他 我 你 </s>" in out
    assert out.endswith(_reference())
    e = kneser.explain(corpus, 2, discount_fallback=True)
    adjusted = {r["ngram"]: r["count"] for r in e["adjusted"] if r["order"] == 1}
    assert adjusted == {"我": 3, "你": 1, "他": 1, "</s>": 1}
    gammas = {(r["order"], r["context"]): r["gamma"] for r in e["gammas"]}
    assert gammas[(1, "")] == 0.5
    assert gammas[(2, "<s>")] == 0.5
    p = {r["ngram"]: r["p"] for r in e["interpolated"] if r["order"] == 1}
    assert math.isclose(p["我"], 0.35, rel_tol=1e-6)
    assert [d["fallback"] for d in e["discounts"]] == [True, True]
    assert e["arpa"] == _reference()


def test_too_large_a_corpus_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("a b c d\n" * 600, encoding="utf-8")
    with pytest.raises(kneser.ArgumentError, match="2000 tokens"):
        kneser.explain(big, 2, discount_fallback=True)
    assert main(["explain", "-o", "2", str(big)]) == 1


def test_one_corpus_exactly() -> None:
    with pytest.raises(TypeError, match="exactly one corpus"):
        kneser.explain(order=2)


def _log10(p: float) -> float:
    return math.log10(p)


words = st.sampled_from(["a", "b", "c", "d", "e"])
corpora = st.lists(st.lists(words, min_size=1, max_size=8), min_size=1, max_size=8)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(corpus=corpora, order=st.integers(1, 3))
def test_tables_agree_with_estimate(tmp_path: Path, corpus: list[list[str]], order: int) -> None:
    text = "".join(" ".join(s) + "\n" for s in corpus)
    arpa = tmp_path / "lm.arpa"
    summary = kneser.estimate(
        texts=text.splitlines(), order=order, arpa=arpa, discount_fallback=True
    )
    e = kneser.explain(text=text, order=order, discount_fallback=True)
    assert e["arpa"] == arpa.read_text(encoding="utf-8")
    ds = [tuple(d[k] for k in ("D1", "D2", "D3+")) for d in e["discounts"]]
    assert ds == [tuple(d) for d in summary["discounts"]]
    assert [d["order"] for d in e["discounts"] if d["fallback"]] == summary["fallback_orders"]
    # Each ARPA line's log10 p is the log of the interpolated table's p (<s> aside).
    section: dict[str, float] = {}
    for line in e["arpa"].splitlines():
        fields = line.split("\t")
        if len(fields) >= 2:
            section[fields[1]] = float(fields[0])
    for r in e["interpolated"]:
        if r["ngram"] == "<s>":
            continue
        assert math.isclose(section[r["ngram"]], _log10(r["p"]), abs_tol=1e-6)


def test_the_docs_show_the_real_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = (Path(__file__).parents[1] / "docs" / "explain.md").read_text(encoding="utf-8")
    shown = doc.split("```text\n", 1)[1].split("```", 1)[0]
    corpus = tmp_path / "seed.txt"
    corpus.write_text(SEED, encoding="utf-8")
    assert main(["explain", "-o", "2", "--discount_fallback", str(corpus)]) == 0
    assert capsys.readouterr().out == shown
