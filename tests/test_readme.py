"""The README's Python examples, run as doctests: every ```python block is executed, in order,
in a directory holding the files it names; a line ``expression  # literal`` also checks that
the expression equals the literal (the README's shown results)."""

from __future__ import annotations

import ast
import gzip
import json
import random
import re
import shutil
from pathlib import Path

import pytest

import kneser

README = Path(__file__).parents[1] / "README.md"
DATA = Path(__file__).parent / "data"


def blocks() -> list[tuple[int, str]]:
    text = README.read_text(encoding="utf-8")
    out = []
    for m in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M):
        out.append((text[: m.start()].count("\n") + 1, m.group(1)))
    return out


def checks(source: str) -> list[tuple[str, object]]:
    """(expression, expected) for each one-line expression whose comment is a Python literal."""
    found = []
    for line in source.splitlines():
        code, sep, comment = line.partition("  #")
        if not sep or not code.strip():
            continue
        try:
            tree = ast.parse(code.strip(), mode="eval")
            expected = ast.literal_eval(comment.strip())
        except (SyntaxError, ValueError):
            continue
        if isinstance(expected, (str, list, tuple)) and not isinstance(tree.body, ast.Constant):
            found.append((code.strip(), expected))
    return found


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    pytest.importorskip("jieba")
    import jieba

    d = tmp_path_factory.mktemp("readme")
    # English text plus Zipf-distributed word sequences: enough repeated 5-grams for the
    # discounts of an order-5 model.
    rng = random.Random(0)
    words = [f"w{i}" for i in range(60)]
    weights = [1 / (i + 1) for i in range(60)]
    synthetic = "".join(
        " ".join(rng.choices(words, weights, k=rng.randint(6, 14))) + "\n" for _ in range(4000)
    )
    corpus = (DATA / "en-500.txt").read_text(encoding="utf-8") + synthetic
    (d / "corpus.txt").write_text(corpus, encoding="utf-8")
    (d / "train.txt").write_text(corpus, encoding="utf-8")
    every = corpus.splitlines(keepends=True)
    (d / "a.txt").write_text("".join(every[0::2]), encoding="utf-8")
    (d / "b.txt.gz").write_bytes(gzip.compress("".join(every[1::2]).encode()))
    (d / "in.txt").write_text("我来到北京清华大学\n", encoding="utf-8")
    (d / "user.txt").write_text("石墨烯 3 n\n", encoding="utf-8")
    shutil.copy(Path(jieba.__file__).parent / "dict.txt", d / "dict.txt")
    docs = "".join(json.dumps({"text": line}) + "\n" for line in corpus.splitlines()[:200])
    (d / "docs.jsonl.gz").write_bytes(gzip.compress(docs.encode()))
    arpa = d / "lm.arpa"
    kneser.estimate(d / "corpus.txt", order=3, arpa=arpa, discount_fallback=True, verbose=False)
    kneser.Model(arpa).save_binary(d / "lm.bin")
    kneser.Model(arpa).save_binary(d / "lm.kbin")
    return d


def _id(value: object) -> str:
    return f"line{value}" if isinstance(value, int) else ""


@pytest.mark.parametrize("line,source", blocks(), ids=_id)
def test_readme_example_runs(workdir, monkeypatch, line, source):
    monkeypatch.chdir(workdir)
    lines = (workdir / "corpus.txt").read_text(encoding="utf-8").splitlines()[:2000]
    namespace = {"kneser": kneser, "lines": lines, "lines_generator": iter(lines)}
    exec(compile(source, f"README.md:{line}", "exec"), namespace)
    for expression, expected in checks(source):
        got = eval(expression, namespace)
        if isinstance(expected, list) and not isinstance(got, list):
            got = list(got)
        assert got == expected, f"README.md:{line}: {expression}"


def test_the_readme_has_examples_with_checked_results():
    assert len(blocks()) >= 5
    assert sum(len(checks(src)) for _, src in blocks()) >= 2
