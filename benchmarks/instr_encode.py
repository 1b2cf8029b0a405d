"""Instructions per token of word-level encoding, counted by callgrind: kneser's
`Vocab.encode_batch` against the Python dict loop and huggingface tokenizers' `WordLevel`
(`encode_batch_fast`) on the same vocabulary and the same lines as bench_encode.py.

Wall and CPU time on a shared machine move with the load; instruction counts do not. Each
case runs in a fresh process under `valgrind --tool=callgrind` twice, encoding the lines once
and then `1 + --extra` times; the difference of the two totals over the extra tokens is the
cost of encoding alone (imports, loading the vocabulary, the first pass and the interpreter's
start cancel out). Every case runs on one thread (callgrind runs threads one at a time, and
the count is the work, whatever the thread count). With `--cache-sim` also the simulated D1
misses and last-level data misses per token: the vocabulary's table is larger than L1, and a
miss costs hundreds of cycles and no instruction, so read these next to bench_encode.py's
ratios.

Usage:
  python benchmarks/instr_encode.py [--lines 5000] [--max-size 50000] [--extra 2]
      [--only kneser python] [--cache-sim]

Needs valgrind and a release build (`make build-prod`).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from _common import callgrind_per_unit
from bench_encode import DEFAULT_CORPUS, read_lines

CHILD = r"""
import sys
case, vocab_path, text_path, reps = sys.argv[1:5]
import kneser
vocab = kneser.Vocab.load(vocab_path)
lines = open(text_path, encoding="utf-8").read().split("\n")
if case == "kneser":
    run = lambda: vocab.encode_batch(lines)
elif case == "python":
    table, unk = vocab.get_vocab(), vocab.unk_id
    def run():
        get, ids = table.get, []
        for line in lines:
            ids.extend([get(t, unk) for t in line.split()])
        return ids
else:
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import WhitespaceSplit
    hf = Tokenizer(WordLevel(vocab=vocab.get_vocab(), unk_token="<unk>"))
    hf.pre_tokenizer = WhitespaceSplit()
    run = lambda: hf.encode_batch_fast(lines, add_special_tokens=False)
for _ in range(int(reps)):
    run()
"""

CASES = ("python", "kneser", "tokenizers")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--max-size", type=int, default=50_000)
    parser.add_argument("--extra", type=int, default=2, help="extra passes over the lines")
    parser.add_argument("--only", nargs="+", choices=CASES, help="these cases only")
    parser.add_argument(
        "--cache-sim", action="store_true", help="also simulated D1 and LL data misses per token"
    )
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: nothing measured")
    import kneser

    cases = list(args.only or CASES)
    if "tokenizers" in cases:
        try:
            import tokenizers  # noqa: F401
        except ImportError:
            print("huggingface tokenizers not installed: its case skipped")
            cases.remove("tokenizers")
    # The lines the dict loop's str.split() splits as lmplz's rule does (see bench_encode.py).
    odd = set("\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2028\u2029\u202f\u205f\u3000")
    lines = [t for t in read_lines(args.corpus, args.lines) if not odd.intersection(t)]
    tokens = sum(len(t.split()) for t in lines)
    misses = f" {'D1 miss/token':>14} {'LLd miss/token':>15}" if args.cache_sim else ""
    print(f"{len(lines):,} lines, {tokens:,} tokens of {args.corpus.name}; vocab {args.max_size:,}")
    print(f"{'':12} {'instr/token':>12} {'python / this':>14}{misses}")
    base = None
    with tempfile.TemporaryDirectory() as tmp:
        text, vocab_path = Path(tmp) / "lines.txt", Path(tmp) / "vocab"
        text.write_text("\n".join(lines), encoding="utf-8")
        kneser.Vocab.build(texts=lines, max_size=args.max_size).save(vocab_path)
        for case in cases:
            counts = callgrind_per_unit(
                CHILD, [case, str(vocab_path), str(text)], units=tokens, extra=args.extra,
                cache_sim=args.cache_sim,
            )  # fmt: skip
            base = base or (counts["instr"] if case == "python" else None)
            ratio = f"{base / counts['instr']:13.2f}x" if base else f"{'':>14}"
            shown = f" {counts['D1']:14.3f} {counts['LLd']:15.4f}" if args.cache_sim else ""
            print(f"{case:12} {counts['instr']:12.1f} {ratio}{shown}", flush=True)


if __name__ == "__main__":
    main()
