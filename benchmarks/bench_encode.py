"""Encoding speed: kneser ``Vocab.encode_batch`` against a Python dict-lookup loop and against
huggingface ``tokenizers`` (``WordLevel`` model, ``WhitespaceSplit`` pre-tokenizer) on the same
vocabulary and the same lines of the English bench corpus.

Run (after ``maturin develop --release``; ``pip install tokenizers``, the ``bench`` extra)::

    python benchmarks/bench_encode.py [--corpus ../shared/corpora/en-bench.txt.xz]
                                      [--lines 200000] [--max-size 50000] [--repeat 3]

Prints tokens per second of each and the ratios (aims: >= 20x the Python loop, >= 1x tokenizers).
Every contender's ids are checked equal to kneser's before timing counts.
"""

from __future__ import annotations

import argparse
import lzma
import os
import sys
import time
from itertools import islice
from pathlib import Path

import numpy as np

import kneser

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = Path(
    os.environ.get("KNESER_SHARED", ROOT.parent / "shared"), "corpora", "en-bench.txt.xz"
)


def read_lines(path: Path, n: int) -> list[str]:
    opener = lzma.open if path.suffix == ".xz" else open
    with opener(path, "rt", encoding="utf-8", newline="\n") as f:
        return [line.rstrip("\n") for line in islice(f, n)]


def best_of(repeat: int, fn):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def python_loop(table: dict[str, int], unk: int, lines: list[str]):
    """What a hand-written encoder does: split, look each token up, flatten with offsets."""
    get = table.get
    ids: list[int] = []
    offsets = [0]
    for line in lines:
        ids.extend([get(t, unk) for t in line.split()])
        offsets.append(len(ids))
    return np.array(ids, dtype=np.uint32), np.array(offsets, dtype=np.int64)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--max-size", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not args.corpus.exists():
        print(f"corpus {args.corpus} not found; pass --corpus", file=sys.stderr)
        return 2
    lines = read_lines(args.corpus, args.lines)
    # The Python loop splits with str.split(), which also splits on VT, FF, NBSP...; keep only
    # lines where that agrees with lmplz's rule (all of en-bench in practice).
    odd = set("\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2028\u2029\u202f\u205f\u3000")
    lines = [line for line in lines if not odd.intersection(line)]
    n_tokens = sum(len(line.split()) for line in lines)
    t_build = time.perf_counter()
    vocab = kneser.Vocab.build(texts=lines, max_size=args.max_size)
    t_build = time.perf_counter() - t_build
    table = vocab.get_vocab()
    unk = vocab.unk_id
    print(
        f"corpus: {args.corpus.name}, {len(lines):,} lines, {n_tokens:,} tokens; "
        f"vocab {len(vocab):,} (built in {t_build:.2f}s); threads: {os.cpu_count()} cpus"
    )

    t_kn, (ids, offsets) = best_of(args.repeat, lambda: vocab.encode_batch(lines))
    assert len(ids) == n_tokens
    t_py, (py_ids, py_offsets) = best_of(args.repeat, lambda: python_loop(table, unk, lines))
    assert np.array_equal(py_ids, ids) and np.array_equal(py_offsets, offsets)
    rate = {"kneser": n_tokens / t_kn, "python": n_tokens / t_py}
    for label, name, t in [
        ("kneser Vocab.encode_batch", "kneser", t_kn),
        ("Python loop", "python", t_py),
    ]:
        print(f"  {label:<34} {rate[name] / 1e6:8.2f} M tokens/s  {t:.3f}s")
    print(f"  ratio kneser / Python loop: {rate['kneser'] / rate['python']:.1f}x (aim >= 20x)")

    try:
        from tokenizers import Tokenizer
        from tokenizers.models import WordLevel
        from tokenizers.pre_tokenizers import WhitespaceSplit
    except ImportError:
        print("  huggingface tokenizers not installed (pip install tokenizers): skipped")
        return 0
    hf = Tokenizer(WordLevel(vocab=table, unk_token="<unk>"))
    hf.pre_tokenizer = WhitespaceSplit()

    def hf_ids(batch_fn):
        encs = batch_fn(lines, add_special_tokens=False)
        return np.fromiter((i for e in encs for i in e.ids), dtype=np.uint32, count=n_tokens)

    contenders = [("encode_batch", hf.encode_batch), ("encode_batch_fast", hf.encode_batch_fast)]
    for name, fn in contenders:
        t_hf_only, encs = best_of(args.repeat, lambda fn=fn: fn(lines, add_special_tokens=False))
        assert np.array_equal(
            np.fromiter((i for e in encs for i in e.ids), dtype=np.uint32, count=n_tokens), ids
        )
        del encs
        t_hf_np, _ = best_of(args.repeat, lambda fn=fn: hf_ids(fn))
        r_only, r_np = n_tokens / t_hf_only, n_tokens / t_hf_np
        print(
            f"  tokenizers {name:<18}      {r_only / 1e6:8.2f} M tokens/s  {t_hf_only:.3f}s "
            f"(Encoding objects only); {r_np / 1e6:.2f} M tokens/s with ids gathered to numpy"
        )
        print(
            f"  ratio kneser / tokenizers {name}: {rate['kneser'] / r_only:.1f}x "
            f"(vs. objects only), {rate['kneser'] / r_np:.1f}x (vs. ids in numpy) (aim >= 1x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
