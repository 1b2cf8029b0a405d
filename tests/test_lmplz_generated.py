"""kneser build equals lmplz byte for byte on generated corpora.

The stored cases (tests/data/lmplz-generated, made by its generate.py with the real lmplz) run
everywhere; when lmplz is installed, fresh random corpora are also compared with it directly.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

import kneser

HERE = Path(__file__).parent / "data" / "lmplz-generated"
CASES = json.loads((HERE / "cases.json").read_text(encoding="utf-8"))
LMPLZ = Path.home() / ".cache/kneser-anchors/kenlm-build/bin/lmplz"


def options(args: list[str]) -> dict:
    """kneser.estimate's options for lmplz arguments (the subset generate.py uses)."""
    out: dict = {}
    i = 0
    while i < len(args):
        a = args[i]
        if a == "-o":
            out["order"] = int(args[i + 1])
            i += 2
        elif a == "--discount_fallback":
            out["discount_fallback"] = True
            i += 1
        elif a == "--renumber":
            out["renumber"] = True
            i += 1
        elif a == "--prune":
            j = i + 1
            while j < len(args) and not args[j].startswith("-"):
                j += 1
            out["prune"] = [int(x) for x in args[i + 1 : j]]
            i = j
        else:
            raise AssertionError(f"unexpected lmplz argument {a}")
    return out


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_stored_lmplz_output_is_reproduced(tmp_path, case):
    opts = options(case["args"])
    if "limit_vocab" in case:
        opts["limit_vocab"] = HERE / case["limit_vocab"]
    out = tmp_path / "lm.arpa"
    if case["fails"]:
        assert "discount" in (HERE / f"{case['name']}.stderr").read_text().lower()
        with pytest.raises(kneser.DiscountError):
            kneser.estimate(HERE / case["input"], arpa=out, temp_dir=tmp_path, **opts)
        assert not out.exists()
        return
    kneser.estimate(HERE / case["input"], arpa=out, temp_dir=tmp_path, **opts)
    assert out.read_bytes() == (HERE / f"{case['name']}.arpa").read_bytes()


def test_the_stored_cases_cover_the_flags():
    args = [" ".join(c["args"]) for c in CASES]
    assert {c["args"][1] for c in CASES} == {"2", "3", "4", "5"}
    assert any("--prune" in a for a in args)
    assert any("limit_vocab" in c for c in CASES)
    assert any("--discount_fallback" not in a for a in args)
    assert any(c["fails"] for c in CASES) and not all(c["fails"] for c in CASES)
    # Texts whose last line has no newline, with and without a vocabulary limit.
    open_end = [c for c in CASES if not (HERE / c["input"]).read_bytes().endswith(b"\n")]
    assert any("limit_vocab" in c for c in open_end)
    assert any("limit_vocab" not in c and not c["fails"] for c in open_end)


@pytest.mark.skipif(not LMPLZ.exists(), reason="lmplz is not built")
@pytest.mark.parametrize("seed", range(18))
def test_fresh_random_corpora_equal_lmplz(tmp_path, seed):
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(rng.randint(3, 60))] + ["x\u00a0y", "日本"]
    lines = [
        " ".join(rng.choices(words, k=rng.randint(0, 10))) for _ in range(rng.randint(20, 400))
    ]
    lines += [f"{w} zyzzyva" for w in rng.sample(words, 3)]
    corpus = tmp_path / "c.txt"
    # Every third corpus ends without a newline: lmplz gives that line no </s>, and when its
    # last n-gram is no context the backoffs after it shift (kneser.estimate does the same).
    corpus.write_text("\n".join(lines) + ("" if seed % 3 == 2 else "\n"), encoding="utf-8")
    order = rng.randint(2, 5)
    args = ["-o", str(order), "--discount_fallback"]
    if seed % 2:
        args += ["--prune", "0", "1"]
    if seed >= 6:
        args.append("--renumber")
    (tmp_path / "t").mkdir()
    with corpus.open("rb") as stdin:
        ref = subprocess.run(
            [str(LMPLZ), "-S", "100M", "-T", f"{tmp_path}/t/", *args],
            stdin=stdin,
            capture_output=True,
            check=True,
        ).stdout
    shutil.rmtree(tmp_path / "t")
    out = tmp_path / "lm.arpa"
    kneser.estimate(corpus, arpa=out, temp_dir=tmp_path, **options(args))
    assert out.read_bytes() == ref
