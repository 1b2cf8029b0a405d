"""Encoding speed: kneser ``Vocab.encode_batch`` against a Python dict-lookup loop and against
huggingface ``tokenizers`` (``WordLevel`` model, ``WhitespaceSplit`` pre-tokenizer) on the same
vocabulary and the same lines of the English bench corpus.

Run (after ``maturin develop --release``; ``pip install tokenizers``, the ``bench`` extra)::

    python benchmarks/bench_encode.py [--corpus ../shared/corpora/en-bench.txt.xz]
                                      [--lines 200000] [--max-size 50000] [--repeat 3]

Prints tokens per second of each and the ratios (aims: >= 20x the Python loop, >= 1x tokenizers).
Every contender's ids are checked equal to kneser's before timing counts.

Then shards through a huggingface BPE tokenizer (trained on the first lines, 8,000 ids):
``kneser.encode_corpus(path, out, tokenizer=bpe, eos=...)`` against a hand-written loop
(``encode_batch`` per 8,192 lines, ids gathered to numpy, appended to a ``.bin``), each in its own
child process, whose peak RSS is its own (VmHWM: not ``ru_maxrss``, which Linux carries over
from the spawning process); the ids are checked equal. Aim: ratio >= 1, peak memory flat (not
growing with the corpus: compare ``--lines`` 50000 and 200000).
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
from _common import own_peak_rss_kib

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


BPE_LINES = 20_000
HF_BATCH = 8192


def _bpe(path: Path, out: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(vocab_size=8000, special_tokens=["[UNK]", "[EOS]"])
    tok.train_from_iterator(read_lines(path, BPE_LINES), trainer=trainer)
    tok.save(str(out))


def _child(kind: str, text: Path, tok_json: Path, out: Path) -> None:
    """One contender, timed in this process; prints ``seconds tokens``."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tok_json))
    eos = tok.token_to_id("[EOS]")
    t = time.perf_counter()
    if kind == "kneser":
        index = kneser.encode_corpus(str(text), out, tokenizer=tok, eos="[EOS]", format="bin")
        tokens = index["tokens"]
    else:
        tokens = 0
        with open(text, encoding="utf-8", newline="\n") as f, open(out / "ids.bin", "wb") as w:
            while True:
                batch = [line.rstrip("\n") for line in islice(f, HF_BATCH)]
                if not batch:
                    break
                seqs = [e.ids for e in tok.encode_batch(batch) if e.ids]
                n = sum(len(s) + 1 for s in seqs)
                ids = np.fromiter((i for s in seqs for i in (*s, eos)), dtype=np.uint16, count=n)
                ids.tofile(w)
                tokens += n
    secs = time.perf_counter() - t
    print(secs, tokens, own_peak_rss_kib())


def bench_bpe_shards(corpus: Path, lines: int, repeat: int) -> None:
    import subprocess
    import tempfile

    try:
        import tokenizers  # noqa: F401
    except ImportError:
        print("  huggingface tokenizers not installed: BPE shard benchmark skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        text = tmp_dir / "corpus.txt"
        text.write_text("".join(x + "\n" for x in read_lines(corpus, lines)), encoding="utf-8")
        tok_json = tmp_dir / "bpe.json"
        _bpe(corpus, tok_json)
        best: dict[str, tuple[float, int, int]] = {}
        for _ in range(repeat):
            for kind in ("kneser", "python"):
                out = tmp_dir / kind
                out.mkdir(exist_ok=True)
                stdout = subprocess.run(
                    [sys.executable, __file__, "--child", kind, str(text), str(tok_json), str(out)],
                    stdout=subprocess.PIPE,
                    text=True,
                    check=True,
                ).stdout
                secs, tokens, rss = stdout.split()
                prev = best.get(kind)
                if prev is None or float(secs) < prev[0]:
                    best[kind] = (float(secs), int(tokens), int(rss))
        a = np.fromfile(tmp_dir / "kneser" / "shard_000000.bin", dtype=np.uint16)
        b = np.fromfile(tmp_dir / "python" / "ids.bin", dtype=np.uint16)
        assert np.array_equal(a, b), "kneser's shards differ from encode_batch + numpy"
    (tk, nk, rk), (tp, np_, rp) = best["kneser"], best["python"]
    print(f"BPE shards ({lines:,} lines, {nk:,} ids, vocab 8000):")
    print(f"  kneser.encode_corpus(tokenizer=bpe)    {nk / tk / 1e6:8.2f} M tokens/s  {tk:.3f}s")
    print(f"  encode_batch + numpy by hand           {np_ / tp / 1e6:8.2f} M tokens/s  {tp:.3f}s")
    print(f"  ratio kneser / by hand: {(nk / tk) / (np_ / tp):.2f}x (aim >= 1x)")
    print(f"  peak RSS, fastest runs: kneser {rk / 1024:.0f} MiB, by hand {rp / 1024:.0f} MiB")


def read_and_copy(src: Path, dst: Path) -> int:
    """The floor for a file -> file pass: read the bytes and write them out, 4 MiB at a time."""
    buf = bytearray(4 << 20)
    view = memoryview(buf)
    n = 0
    with open(src, "rb", buffering=0) as f, open(dst, "wb", buffering=0) as w:
        while got := f.readinto(buf):
            w.write(view[:got])
            n += got
    return n


def bench_vocab_shards(lines: list[str], vocab, repeat: int) -> dict:
    """``encode_corpus(path, vocab, out)`` against a read-and-copy pass of the same file, timed
    in turn (the best of each); the figures go to the table too (:func:`emit_rows`)."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        text = tmp_dir / "corpus.txt"
        text.write_text("".join(x + "\n" for x in lines), encoding="utf-8")
        size = text.stat().st_size
        out = tmp_dir / "shards"
        best = {"kneser": float("inf"), "copy": float("inf")}
        index = {}
        copy = tmp_dir / "copy.txt"
        # Both take well under a second: ten turns at least, the same number for each. Each
        # writes new files: the last turn's outputs are removed before the clock starts (freeing
        # a file's cached pages is not part of either pass, and was most of a copy's time).
        for _ in range(max(repeat, 10)):
            shutil.rmtree(out, ignore_errors=True)
            t = time.perf_counter()
            index = kneser.encode_corpus(str(text), vocab, out, format="bin")
            best["kneser"] = min(best["kneser"], time.perf_counter() - t)
            copy.unlink(missing_ok=True)
            t = time.perf_counter()
            read_and_copy(text, copy)
            best["copy"] = min(best["copy"], time.perf_counter() - t)
        dtype = np.uint32 if len(vocab) > 65536 else np.uint16
        ids = np.concatenate([np.fromfile(p, dtype=dtype) for p in sorted(out.glob("*.bin"))])
        want, offsets = vocab.encode_batch(lines)
        eod = vocab.token_to_id("</s>")
        # Each non-empty line is a document, closed by `</s>`.
        ends = offsets[1:][np.diff(offsets) > 0]
        same = bool(np.array_equal(ids, np.insert(want, ends, eod).astype(dtype)))
    tk, tc = best["kneser"], best["copy"]
    ids_n = index["tokens"]
    print(f"encode_corpus(vocab) file -> .bin shards ({size / 1e6:.1f} MB, {ids_n:,} ids):")
    print(f"  kneser.encode_corpus(vocab)            {size / tk / 1e6:8.1f} MB/s       {tk:.3f}s")
    print(f"  read-and-copy of the same bytes        {size / tc / 1e6:8.1f} MB/s       {tc:.3f}s")
    print(
        f"  ratio kneser / read-and-copy time: {tk / tc:.2f}x (aim <= 3x); "
        f"ids as encode_batch: {same}"
    )
    return {"t_enc": tk, "t_copy": tc, "mb": size / 1e6, "same": same}


def main() -> int:
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        _child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--max-size", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only-bpe", action="store_true", help="run only the BPE shard benchmark")
    args = ap.parse_args()
    if not args.corpus.exists():
        print(f"corpus {args.corpus} not found; pass --corpus", file=sys.stderr)
        return 2
    if args.only_bpe:
        bench_bpe_shards(args.corpus, args.lines, args.repeat)
        return 0
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

    # Interleaved, five turns at least, the best of each: a drift in the machine's speed falls
    # on both.
    t_kn = t_py = float("inf")
    for _ in range(max(args.repeat, 5)):
        t, (ids, offsets) = best_of(1, lambda: vocab.encode_batch(lines))
        t_kn = min(t_kn, t)
        t, (py_ids, py_offsets) = best_of(1, lambda: python_loop(table, unk, lines))
        t_py = min(t_py, t)
    assert len(ids) == n_tokens
    assert np.array_equal(py_ids, ids) and np.array_equal(py_offsets, offsets)
    rate = {"kneser": n_tokens / t_kn, "python": n_tokens / t_py}
    for label, name, t in [
        ("kneser Vocab.encode_batch", "kneser", t_kn),
        ("Python loop", "python", t_py),
    ]:
        print(f"  {label:<34} {rate[name] / 1e6:8.2f} M tokens/s  {t:.3f}s")
    print(f"  ratio kneser / Python loop: {rate['kneser'] / rate['python']:.1f}x (aim >= 20x)")

    shards = bench_vocab_shards(lines, vocab, args.repeat)

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
    bench_bpe_shards(args.corpus, args.lines, args.repeat)
    emit_rows(rate, r_only, shards)
    return 0


def emit_rows(rate: dict, r_hf: float, shards: dict) -> None:
    """The rows of benchmarks/run_all.py's table, from the figures measured above:
    encode_batch against the Python loop and HF WordLevel, and ``encode_corpus`` (word-level,
    file to ``.bin`` shards) against a read-and-copy pass over the same bytes
    (:func:`bench_vocab_shards`). Nothing happens when run standalone."""
    from _common import ROWS_ENV, emit_row

    if not os.environ.get(ROWS_ENV):
        return
    mtok = lambda r: f"{r / 1e6:.1f} M tokens/s"  # noqa: E731
    emit_row("Vocab.encode_batch vs a Python dict loop", mtok(rate["kneser"]),
             mtok(rate["python"]), rate["kneser"] / rate["python"], (">=", 20.0),
             identical=True)  # fmt: skip
    emit_row("Vocab.encode_batch vs HF tokenizers WordLevel", mtok(rate["kneser"]), mtok(r_hf),
             rate["kneser"] / r_hf, (">=", 10.0), identical=True)  # fmt: skip
    mb, t_enc, t_copy = shards["mb"], shards["t_enc"], shards["t_copy"]
    emit_row("encode_corpus file -> .bin shards vs read-and-copy", f"{mb / t_enc:.0f} MB/s",
             f"{mb / t_copy:.0f} MB/s", t_enc / t_copy, ("<=", 3.0),
             identical=shards["same"])  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
