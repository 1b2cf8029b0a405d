"""Instructions per scored word, kneser against the kenlm module, counted by callgrind.

Wall and CPU time on a shared machine move with the load; instruction counts do not. Each
case runs in a fresh process under `valgrind --tool=callgrind` twice, scoring the text once
and then `1 + --extra` times; the difference of the two totals over the extra words is the
cost of scoring alone (loading, imports and the interpreter's start cancel out). Python's
per-call overhead is inside the figure for both tools (a `score` call per line).

Cases: the kenlm module and kneser's single calls and `score_batch` (one thread: callgrind
runs threads one at a time, and the count is the work, whatever the thread count) on KenLM's
probing binary and its trie in the speech recognizers' recipe (`-a 255 -q 8 -b 7`), both
written by `Model.save_binary` (build_binary's bytes). Instructions are not time (a cache miss
costs hundreds of cycles and no instruction): read these next to bench_query.py's ratios.

Usage:
  python benchmarks/instr_query.py [--model ../shared/reference/lmplz/book.o5.arpa.xz]
      [--text ../shared/reference/query/book.heldout.txt] [--extra 2] [--only trie]

Needs valgrind and a release build (`make build-prod`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from _common import callgrind_per_unit

SHARED = Path(os.environ.get("KNESER_SHARED", Path(__file__).resolve().parents[2] / "shared"))

CHILD = r"""
import sys
kind, mode, path, text_path, reps = sys.argv[1:6]
lines = open(text_path, encoding="utf-8").read().splitlines()
if kind == "kenlm":
    import kenlm as mod
    lm = mod.Model(path)
else:
    import kneser as mod
    lm = mod.Model(path)
for _ in range(int(reps)):
    if mode == "batch":
        lm.score_batch(lines)
    else:
        for line in lines:
            lm.score(line)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=SHARED / "reference/lmplz/book.o5.arpa.xz")
    parser.add_argument("--text", type=Path, default=SHARED / "reference/query/book.heldout.txt")
    parser.add_argument("--extra", type=int, default=2, help="extra passes over the text")
    parser.add_argument("--only", choices=("probing", "trie"), help="one layout only")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: nothing measured")

    import kneser

    lines = args.text.read_text(encoding="utf-8").splitlines()
    words = sum(len(line.encode().split()) + 1 for line in lines)  # + </s>
    with tempfile.TemporaryDirectory() as tmp:
        model = kneser.Model(args.model)
        layouts = {
            "probing": (Path(tmp) / "model.probing.bin", {}),
            "trie": (
                Path(tmp) / "model.trie.bin",
                {"layout": "trie", "quantize": 8, "backoff_bits": 7, "array_bits": 255},
            ),
        }
        if args.only:
            layouts = {args.only: layouts[args.only]}
        print(f"model: {args.model}; text: {args.text} ({words} words, </s> included)")
        print(f"{'':34} {'instr/word':>11} {'vs kenlm':>9}")
        for fmt, (path, options) in layouts.items():
            model.save_binary(path, **options)
            base = None
            for kind, mode in (("kenlm", "single"), ("kneser", "single"), ("kneser", "batch")):
                per_word = callgrind_per_unit(
                    CHILD, [kind, mode, str(path), str(args.text)], units=words, extra=args.extra
                )["instr"]
                base = base or per_word
                name = f"{fmt}: {kind} {mode}"
                print(f"{name:34} {per_word:11.0f} {base / per_word:8.2f}x", flush=True)


if __name__ == "__main__":
    main()
