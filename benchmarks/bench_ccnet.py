"""Documents per second of kneser's CCNet mode vs CCNet's own Python flow (cc_net's
MultiSentencePiece -> DocLM -> PerplexityBucket with the sentencepiece package and the kenlm
module), same models, same documents, one run: CCNet (one process, as one of its workers),
kneser on one core (RAYON_NUM_THREADS=1) and kneser on all cores. Model loading is excluded
from both (each child times its document loop: read JSON lines, score, write JSON lines); the
outputs are checked equal document for document.

Document sets (``--set``, repeatable): ``en`` (paragraphs of en-bench), ``zh`` (Chinese reviews
of zh-bench, its one-character-a-token spaces removed) and ``en+zh`` (both, interleaved); each
language gets its own SentencePiece model and order-5 KenLM binary, trained by
``kneser.train_lm`` as CCNet's recipe makes them. Each set is one row of
``benchmarks/run_all.py``'s table per kneser run (one core, all cores).

    pip install cc_net==1.0.0 --no-deps && pip install ".[test]"
    python benchmarks/bench_ccnet.py                  # 20,000 documents, en and en+zh
    python benchmarks/bench_ccnet.py --docs 5000 --set zh
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import CACHE, corpus, emit_row, skip_row

# The languages of each document set.
SETS = {"en": ["en"], "zh": ["zh"], "en+zh": ["en", "zh"]}


def child_ccnet(work: Path) -> None:
    from cc_net import perplexity

    langs = sorted(p.name.split(".")[0] for p in (work / "lm").glob("*.sp.model"))
    sp = perplexity.MultiSentencePiece(
        {lang: work / "lm" / f"{lang}.sp.model" for lang in langs},
        field="raw_content",
        normalize=True,
    )
    lm = perplexity.DocLM(
        {lang: work / "lm" / f"{lang}.arpa.bin" for lang in langs},
        field="tokenized",
        normalize=False,
    )
    bucket = perplexity.PerplexityBucket(work / "cutoff.csv")
    drop = perplexity.DropKeys("tokenized")
    steps = [sp, lm, bucket, drop]
    for s in steps:
        s.__enter__()
    start, cpu = time.perf_counter(), time.process_time()
    n = 0
    with (
        open(work / "docs.jsonl", encoding="utf-8") as fin,
        open(work / "ccnet.jsonl", "w", encoding="utf-8") as fout,
    ):
        for line in fin:
            d = json.loads(line)
            for s in steps:
                d = s(d)
            fout.write(json.dumps(d, ensure_ascii=False) + "\n")
            n += 1
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"docs": n, "seconds": wall, "cpu": cpu}))


def child_kneser(work: Path, name: str) -> None:
    import kneser

    p = kneser.Pipeline.ccnet(work / "lm", work / "cutoff.csv")
    start, cpu = time.perf_counter(), time.process_time()
    report = p.run(work / "docs.jsonl", work / f"{name}.jsonl")
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"docs": report.documents, "seconds": wall, "cpu": cpu}))


def reference_lines(lang: str, n: int) -> list[str]:
    """The first `n` lines of the language's corpus as running text (zh-bench has one
    character a token: the spaces go)."""
    with open(corpus(lang), encoding="utf-8") as f:
        lines = [ln.rstrip("\n") for ln in itertools.islice(f, n)]
    return [ln.replace(" ", "") for ln in lines] if lang == "zh" else lines


def train(work: Path, lang: str, lines: list[str]) -> None:
    """The models as CCNet's recipe makes them, by ``kneser.train_lm``: a SentencePiece model
    (vocabulary 4000) on the normalized reference text, an order-5 model on its pieces,
    written as KenLM's probing binary ``{lang}.arpa.bin`` (what CCNet's kenlm loads)."""
    import kneser

    (work / f"ref.{lang}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    kneser.train_lm(
        work / f"ref.{lang}.txt",
        5,
        binary=work / "lm" / f"{lang}.arpa.bin",
        sp_model=work / "lm" / f"{lang}.sp.model",
        sp_vocab_size=4000,
        sp_options={"input_sentence_size": 20_000, "shuffle_input_sentence": False},
        memory="1G",
        discount_fallback=[0.5, 1, 1.5],
    )


def setup(work: Path, langs: list[str], ndocs: int, ref_lines: int = 50_000) -> None:
    """Models per language (trained on the first `ref_lines` lines, 3/5 of them for zh), then
    `ndocs` documents of 1 to 7 further lines, the languages taking turns, and a cutoff.csv
    at kneser's 30th and 60th percentiles of each language's first documents."""
    import numpy as np

    import kneser

    (work / "lm").mkdir()
    rng = random.Random(0)
    rests = {}
    for lang in langs:
        n_ref = ref_lines * 3 // 5 if lang == "zh" else ref_lines
        lines = reference_lines(lang, n_ref + ndocs * 4)
        train(work, lang, lines[:n_ref])
        rests[lang] = lines[n_ref:]
    docs = []
    pos = dict.fromkeys(langs, 0)
    for i in range(ndocs):
        lang = langs[i % len(langs)]
        rest = rests[lang]
        k = rng.randint(1, 7)
        p = pos[lang]
        docs.append({"url": f"d{i}", "raw_content": "\n".join(rest[p : p + k]), "language": lang})
        pos[lang] = (p + k) % max(1, len(rest) - 8)
    with open(work / "docs.jsonl", "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    sample = docs[:5000]
    res = kneser.CcnetScorer(work / "lm").score_batch(
        [d["raw_content"] for d in sample], [d["language"] for d in sample]
    )
    cut = {}
    for lang in langs:
        ppl = [p for p, d in zip(res["perplexity"], sample) if d["language"] == lang]
        cut[lang] = np.nanpercentile(ppl, [30, 60])
    (work / "cutoff.csv").write_text(
        "," + ",".join(langs) + "\n"
        + "".join(f"{q}," + ",".join(f"{cut[lang][k]:.1f}" for lang in langs) + "\n"
                  for k, q in enumerate((30, 60))),
        encoding="utf-8",
    )  # fmt: skip


def run_child(work: Path, mode: str, env: dict | None = None) -> dict:
    # numpy (imported by both flows, used by neither's document loop) starts OpenBLAS threads
    # that spin for a while after the import: up to 0.15 CPU-s that would land in either
    # child's timed loop. One BLAS thread for both.
    env = dict(os.environ if env is None else env, OPENBLAS_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(work)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_set(name: str, ndocs: int, ref_lines: int, keep: Path | None = None) -> bool:
    """One document set: setup, the three children, the comparison, the printout and rows.
    With `keep`, the models, documents and outputs are left in `keep/name` (for profiling a
    child: `python benchmarks/bench_ccnet.py --child kneser1 DIR`)."""
    langs = SETS[name]
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        work = Path(tmp)
        if keep is not None:
            work = keep / name
            work.mkdir(parents=True)
        setup(work, langs, ndocs, ref_lines)
        ccnet = run_child(work, "ccnet")
        one = run_child(work, "kneser1", dict(os.environ, RAYON_NUM_THREADS="1"))
        cores = os.cpu_count() or 1
        alln = run_child(work, "kneserN", dict(os.environ, RAYON_NUM_THREADS=str(cores)))
        ref = (work / "ccnet.jsonl").read_text(encoding="utf-8").splitlines()
        same = {}
        for mode in ("kneser1", "kneserN"):
            got = (work / f"{mode}.jsonl").read_text(encoding="utf-8").splitlines()
            same[mode] = len(ref) == len(got) and all(
                json.loads(a) == json.loads(b) for a, b in zip(ref, got)
            )
            if not same[mode]:
                print(f"{mode}: output differs from CCNet's", file=sys.stderr)
        runs = {"ccnet": ccnet, "one": one, "all": alln}
        rate = {k: v["docs"] / v["seconds"] for k, v in runs.items()}
        # Documents per CPU second: less disturbed by other work on a busy machine.
        cpu_rate = {k: v["docs"] / max(v["cpu"], 1e-9) for k, v in runs.items()}
        print(
            f"{name}: {ndocs:,} documents, order-5 KenLM probing binary per language, "
            f"SentencePiece vocab 4000 (kneser train-lm); load {os.getloadavg()[0]:.2f}"
        )
        print(
            f"CCNet (cc_net + sentencepiece + kenlm), 1 process  {rate['ccnet']:>10,.0f} docs/s"
            f"         {cpu_rate['ccnet']:>10,.0f} docs/cpu-s"
        )
        for key, label, cpus in (("one", "1 core", 1), ("all", f"{cores} cores", cores)):
            ratio, cpu_ratio = rate[key] / rate["ccnet"], cpu_rate[key] / cpu_rate["ccnet"]
            print(
                f"kneser Pipeline.ccnet, {label:<26}{rate[key]:>10,.0f} docs/s {ratio:5.1f}x"
                f"   {cpu_rate[key]:>10,.0f} docs/cpu-s {cpu_ratio:5.1f}x"
            )
            emit_row(
                f"CCNet mode ({name} documents), {label} vs CCNet's Python flow",
                f"{rate[key]:,.0f} docs/s",
                f"{rate['ccnet']:,.0f} docs/s",
                ratio,
                (">=", 10.0) if cpus == 1 else None,
                cpu_ratio=cpu_ratio,
                identical=same["kneser1" if cpus == 1 else "kneserN"],
            )
        print()
    return all(same.values())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--set", action="append", choices=sorted(SETS), help="document sets")
    ap.add_argument("--ref-lines", type=int, default=50_000, help="training lines per language")
    ap.add_argument("--keep", type=Path, help="leave each set's files in KEEP/SET (must not exist)")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        mode, work = args.child[0], Path(args.child[1])
        if mode == "ccnet":
            child_ccnet(work)
        else:
            child_kneser(work, mode)
        return 0
    sets = args.set or ["en", "en+zh"]
    try:
        import kenlm  # noqa: F401
        import sentencepiece  # noqa: F401
        from cc_net import perplexity  # noqa: F401
    except ImportError as e:
        for name in sets:
            for label in ("1 core", f"{os.cpu_count() or 1} cores"):
                skip_row(
                    f"CCNet mode ({name} documents), {label} vs CCNet's Python flow",
                    f"{e.name} is not installed",
                    ">= 10x" if label == "1 core" else "",
                )
        print(f"skipped: {e.name} is not installed (pip install cc_net==1.0.0 --no-deps, ...)")
        return 0
    ok = True
    for name in sets:
        ok &= bench_set(name, args.docs, args.ref_lines, args.keep)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
