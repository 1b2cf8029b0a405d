"""Scoring benchmark: kneser.Model against the kenlm module, same model, same lines.

Prints, each measured in a fresh process:
  * load time and resident memory (RSS) of the ARPA and of KenLM's probing binary (written by
    `Model.save_binary`, the bytes `build_binary` writes), through kneser and through the kenlm
    module, right after loading and after scoring the text once (a mapped model has then paged
    in what it uses), with kneser/kenlm ratios; the same for KenLM's trie layout in the speech
    recognizers' recipe (`-a 255 -q 8 -b 7`, written by `save_binary(layout="trie")`), which
    both map and score in place;
  * scoring throughput in words per second: the kenlm module scoring the lines one call at a
    time (its only API), kneser's single calls, and kneser's `score_batch` (parallel, GIL
    released) with --threads threads; and the ratios.

Usage:
  python benchmarks/bench_query.py [--model ../shared/reference/lmplz/book.o5.arpa.xz]
      [--text ../shared/reference/query/book.heldout.txt] [--repeat 40] [--threads 2]
      [--lines N]

Build with `maturin develop --release` first. Figures vary between machines and runs: read the
ratios, measured side by side in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# ../shared beside the checkout (override with KNESER_SHARED, as the tests do).
SHARED = Path(os.environ.get("KNESER_SHARED", Path(__file__).resolve().parents[2] / "shared"))

CHILD = r"""
import json, os, sys, time
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
kind, path, text_path = sys.argv[1], sys.argv[2], sys.argv[3]
lines = open(text_path, encoding="utf-8").read().splitlines()
# The module is imported before the clock starts: load time and RSS are the model's alone.
if kind == "kenlm":
    import kenlm as mod
else:
    import kneser as mod
base = rss()
t0 = time.perf_counter()
lm = mod.Model(path)
load = time.perf_counter() - t0
after_load = rss() - base
total = sum(lm.score(line) for line in lines)
after_use = rss() - base
print(json.dumps({"load_s": load, "rss_load": after_load, "rss_used": after_use, "total": total}))
"""


def child(kind: str, path: Path, text: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, kind, str(path), str(text)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def best_of(n: int, fn) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def mb(n: float) -> str:
    return f"{n / 1e6:8.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=SHARED / "reference/lmplz/book.o5.arpa.xz")
    parser.add_argument("--text", type=Path, default=SHARED / "reference/query/book.heldout.txt")
    parser.add_argument("--repeat", type=int, default=40, help="repeat the text this many times")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=9, help="best of this many timings")
    parser.add_argument(
        "--lines", type=int, default=0, help="score only the first N lines (after --repeat)"
    )
    args = parser.parse_args()
    os.environ["RAYON_NUM_THREADS"] = str(args.threads)

    import kenlm

    import kneser

    with tempfile.TemporaryDirectory() as tmp:
        binary = Path(tmp) / "model.probing.bin"
        trie = Path(tmp) / "model.trie.bin"
        kneser.Model(args.model).save_binary(binary)
        kneser.Model(args.model).save_binary(trie, layout="trie", **TRIE)
        print(f"model: {args.model} ({args.model.stat().st_size / 1e6:.1f} MB compressed ARPA)")
        print(f"KenLM probing binary: {binary.stat().st_size / 1e6:.1f} MB")
        print(f"KenLM trie binary (-a 255 -q 8 -b 7): {trie.stat().st_size / 1e6:.1f} MB")
        print("\n== load (fresh process each; RSS growth over the interpreter) ==")
        print(f"{'':26} {'load s':>8} {'RSS after load':>16} {'RSS after scoring':>18}")
        rows = {}
        for fmt, path in [("ARPA", args.model), ("probing", binary), ("trie", trie)]:
            for kind in ("kenlm", "kneser"):
                name = f"{kind}, {fmt}"
                r = child(kind, path, args.text)
                rows[name] = r
                print(
                    f"{name:26} {r['load_s']:8.3f} {mb(r['rss_load']):>16} {mb(r['rss_used']):>18}"
                )
        for fmt in ("ARPA", "probing", "trie"):
            k, o = rows[f"kenlm, {fmt}"], rows[f"kneser, {fmt}"]
            print(
                f"{fmt}: kneser load time {o['load_s'] / k['load_s']:.2f}x kenlm's, "
                f"RSS after scoring {o['rss_used'] / max(k['rss_used'], 1):.2f}x"
            )
        # A single cold load of a binary takes a millisecond or less: the best of many loads in
        # this process (file in the page cache) says more than one sample.
        print("\n== binary load, 50 in one process, interleaved (page cache warm; goal <= 1x) ==")
        for fmt, path in [("probing", binary), ("trie", trie)]:
            k, o = [], []
            for _ in range(50):
                k.append(best_of(1, lambda p=path: kenlm.Model(str(p))))
                o.append(best_of(1, lambda p=path: kneser.Model(p)))
            km, om = statistics.median(k), statistics.median(o)
            print(
                f"{fmt}: best kenlm {min(k) * 1e3:.3f} ms, kneser {min(o) * 1e3:.3f} ms "
                f"({min(o) / min(k):.2f}x); median {km * 1e3:.3f} vs {om * 1e3:.3f} ms "
                f"({om / km:.2f}x)"
            )

    text = args.text.read_text(encoding="utf-8").splitlines()
    lines = text * args.repeat
    if args.lines:
        lines = lines[: args.lines]
    check = lines[: len(text)]  # the distinct lines, compared with kenlm
    words = sum(len(line.encode().split()) + 1 for line in lines)  # + </s>
    klm = kenlm.Model(str(args.model))
    lm = kneser.Model(args.model)
    probing = binary_copy(lm)
    mapped = kneser.Model(probing)
    klm_probing = kenlm.Model(str(probing))
    trie_path = Path(_TMP.name) / "model.trie.bin"
    lm.save_binary(trie_path, layout="trie", **TRIE)
    trie_lm = kneser.Model(trie_path)
    klm_trie = kenlm.Model(str(trie_path))
    print(f"\n== throughput: {len(lines)} lines, {words} words (</s> included) ==")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average before: {load} on {os.cpu_count()} cores")
    cases = [
        ("kenlm module, one call a line", lambda: [klm.score(line) for line in lines]),
        ("kneser, one call a line", lambda: [lm.score(line) for line in lines]),
        (f"kneser score_batch, {args.threads} threads", lambda: lm.score_batch(lines)),
        ("kenlm module, probing, one call a line", lambda: [klm_probing.score(x) for x in lines]),
        ("kneser, probing, one call a line", lambda: [mapped.score(x) for x in lines]),
        (f"kneser score_batch (probing), {args.threads} thr", lambda: mapped.score_batch(lines)),
        ("kenlm module, trie, one call a line", lambda: [klm_trie.score(x) for x in lines]),
        ("kneser, trie, one call a line", lambda: [trie_lm.score(x) for x in lines]),
        (f"kneser score_batch (trie), {args.threads} thr", lambda: trie_lm.score_batch(lines)),
        ("kenlm module perplexity, one call a line", lambda: [klm.perplexity(x) for x in lines]),
        (f"kneser perplexity_batch, {args.threads} threads", lambda: lm.perplexity_batch(lines)),
    ]
    wall = {name: float("inf") for name, _ in cases}
    cpu = {name: float("inf") for name, _ in cases}
    for _ in range(args.runs):  # interleaved, best of each: the machine is shared
        for name, fn in cases:
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall[name] = min(wall[name], time.perf_counter() - w0)
            cpu[name] = min(cpu[name], time.process_time() - c0)
    got = lm.score_batch(check)
    want = [klm.score(line) for line in check]
    worst = max(abs(a - b) for a, b in zip(got, want))
    print(f"{'':42} {'wall s':>8} {'M words/s':>10} {'CPU s':>8}")
    for name, _ in cases:
        print(f"{name:42} {wall[name]:8.4f} {words / wall[name] / 1e6:10.2f} {cpu[name]:8.4f}")
    base = cases[0][0]
    batch = cases[2][0]
    print(f"score_batch vs kenlm module (wall clock): {wall[base] / wall[batch]:.2f}x")
    print(f"score_batch vs kenlm module (CPU time): {cpu[base] / cpu[batch]:.2f}x")
    single = cases[1][0]
    print(f"kneser single calls vs kenlm module (wall clock): {wall[base] / wall[single]:.2f}x")
    for fmt, at in (("probing", 3), ("trie", 6)):
        k, one, batch = (cases[at + i][0] for i in range(3))
        print(
            f"{fmt}: kneser single calls vs kenlm module: {wall[k] / wall[one]:.2f}x wall, "
            f"{cpu[k] / cpu[one]:.2f}x CPU (goal >= 1.2x); score_batch: "
            f"{wall[k] / wall[batch]:.2f}x wall (goal >= 3x on {args.threads} threads), "
            f"{cpu[k] / cpu[batch]:.2f}x CPU"
        )
    k, batch = cases[9][0], cases[10][0]
    print(
        f"perplexity_batch vs kenlm perplexity per line: {wall[k] / wall[batch]:.2f}x wall "
        f"(goal >= 3x), {cpu[k] / cpu[batch]:.2f}x CPU"
    )
    pg = lm.perplexity_batch(check)
    pw = [klm.perplexity(x) for x in check]
    ppl_same = all(a == b for a, b in zip(pg, pw))
    print(f"perplexity_batch equal to kenlm's perplexity on every line: {ppl_same}")
    tw = [klm_trie.score(x) for x in check]
    tg = trie_lm.score_batch(check)
    trie_worst = max(abs(a - b) for a, b in zip(tg, tw))
    print(f"trie: largest score difference from kenlm: {trie_worst:.2e}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"largest score difference from kenlm: {worst:.2e}")
    emit_rows(words, wall, cpu, [name for name, _ in cases], rows, worst, trie_worst, ppl_same)


def emit_rows(words, wall, cpu, names, load_rows, worst, trie_worst, ppl_same) -> None:  # type: ignore[no-untyped-def]
    """The rows of benchmarks/run_all.py's table (nothing when run standalone)."""
    from _common import emit_row

    def rate(name: str) -> str:
        return f"{words / wall[name] / 1e6:.2f} M words/s"

    def rss(fmt: str) -> str:
        k, o = load_rows[f"kenlm, {fmt}"], load_rows[f"kneser, {fmt}"]
        return f"{o['rss_used'] / 1e6:.0f} / {k['rss_used'] / 1e6:.0f} MB"

    same = True if worst == 0 else f"max diff {worst:.1e}"
    for workload, ours, theirs, goal, fmt, diff in [
        ("score_batch (ARPA model) vs kenlm per line", names[2], names[0], 3.0, "ARPA", same),
        ("score single call vs kenlm per line", names[1], names[0], 1.2, "ARPA", same),
        ("score_batch on a KenLM probing binary", names[5], names[3], 3.0, "probing", None),
        ("score_batch on a KenLM trie binary", names[8], names[6], 3.0, "trie",
         True if trie_worst == 0 else f"max diff {trie_worst:.1e}"),
        ("perplexity_batch (ARPA model) vs kenlm perplexity per line", names[10], names[9],
         3.0, "ARPA", ppl_same),
    ]:  # fmt: skip
        emit_row(workload, rate(ours), rate(theirs), wall[theirs] / wall[ours], (">=", goal),
                 rss=rss(fmt), identical=diff, cpu_ratio=cpu[theirs] / cpu[ours])  # fmt: skip


_TMP = tempfile.TemporaryDirectory()
# The trie recipe of speech recognizers (DeepSpeech, pyctcdecode): build_binary -a 255 -q 8 -b 7.
TRIE = {"quantize": 8, "backoff_bits": 7, "array_bits": 255}


def binary_copy(lm) -> Path:  # type: ignore[no-untyped-def]
    path = Path(_TMP.name) / "model.probing.bin"
    lm.save_binary(path)
    return path


if __name__ == "__main__":
    main()
