"""Documents per second of kneser's CCNet mode vs CCNet's own Python flow (cc_net's
MultiSentencePiece -> DocLM -> PerplexityBucket with the sentencepiece package and the kenlm
module), same models, same documents, one run: CCNet (one process, as one of its workers),
kneser on one core (RAYON_NUM_THREADS=1) and kneser on all cores. Model loading is excluded
from both (each child times its document loop: read JSON lines, score, write JSON lines); the
outputs are checked equal document for document.

    pip install cc_net==1.0.0 --no-deps && pip install ".[test]"
    python benchmarks/bench_ccnet.py                  # 20,000 documents from en-bench
    python benchmarks/bench_ccnet.py --docs 5000 --corpus some.txt
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

from _common import CACHE, corpus


def child_ccnet(work: Path) -> None:
    from cc_net import perplexity

    sp = perplexity.MultiSentencePiece(
        {"en": work / "lm" / "en.sp.model"}, field="raw_content", normalize=True
    )
    lm = perplexity.DocLM({"en": work / "lm" / "en.arpa.bin"}, field="tokenized", normalize=False)
    bucket = perplexity.PerplexityBucket(work / "cutoff.csv")
    drop = perplexity.DropKeys("tokenized")
    steps = [sp, lm, bucket, drop]
    for s in steps:
        s.__enter__()
    start = time.perf_counter()
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
    print(json.dumps({"docs": n, "seconds": time.perf_counter() - start}))


def child_kneser(work: Path, name: str) -> None:
    import kneser

    p = kneser.Pipeline.ccnet(work / "lm", work / "cutoff.csv")
    start = time.perf_counter()
    report = p.run(work / "docs.jsonl", work / f"{name}.jsonl")
    print(json.dumps({"docs": report.documents, "seconds": time.perf_counter() - start}))


def setup(work: Path, source: Path, ndocs: int) -> None:
    """The models as CCNet's recipe makes them, by ``kneser.train_lm``: a SentencePiece model
    (vocabulary 4000) on the normalized reference text, an order-5 model on its pieces,
    written as KenLM's probing binary ``en.arpa.bin`` (what CCNet's kenlm loads)."""
    import numpy as np

    import kneser

    (work / "lm").mkdir()
    with open(source, encoding="utf-8") as f:
        lines = [ln.rstrip("\n") for ln in itertools.islice(f, 50_000 + ndocs * 4)]
    (work / "ref.txt").write_text("\n".join(lines[:50_000]) + "\n", encoding="utf-8")
    kneser.train_lm(
        work / "ref.txt",
        5,
        binary=work / "lm" / "en.arpa.bin",
        sp_model=work / "lm" / "en.sp.model",
        sp_vocab_size=4000,
        sp_options={"input_sentence_size": 20_000, "shuffle_input_sentence": False},
        memory="1G",
        discount_fallback=[0.5, 1, 1.5],
    )
    rng = random.Random(0)
    rest = lines[50_000:]
    docs = []
    pos = 0
    for i in range(ndocs):
        k = rng.randint(1, 7)
        docs.append(
            {"url": f"d{i}", "raw_content": "\n".join(rest[pos : pos + k]), "language": "en"}
        )
        pos = (pos + k) % max(1, len(rest) - 8)
    with open(work / "docs.jsonl", "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    res = kneser.CcnetScorer(work / "lm").score_batch(
        [d["raw_content"] for d in docs[:5000]], ["en"] * min(5000, len(docs))
    )
    head, tail = np.nanpercentile(res["perplexity"], [30, 60])
    (work / "cutoff.csv").write_text(f",en\n30,{head:.1f}\n60,{tail:.1f}\n", encoding="utf-8")


def run_child(work: Path, mode: str, env: dict | None = None) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(work)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", default="en")
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--child", nargs=2, metavar=("MODE", "DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        mode, work = args.child[0], Path(args.child[1])
        if mode == "ccnet":
            child_ccnet(work)
        else:
            child_kneser(work, mode)
        return 0
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        work = Path(tmp)
        setup(work, corpus(args.corpus), args.docs)
        ccnet = run_child(work, "ccnet")
        one = run_child(work, "kneser1", dict(os.environ, RAYON_NUM_THREADS="1"))
        cores = os.cpu_count() or 1
        alln = run_child(work, "kneserN", dict(os.environ, RAYON_NUM_THREADS=str(cores)))
        ref = (work / "ccnet.jsonl").read_text(encoding="utf-8").splitlines()
        for name in ("kneser1", "kneserN"):
            got = (work / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
            same = all(json.loads(a) == json.loads(b) for a, b in zip(ref, got))
            if len(ref) != len(got) or not same:
                print(f"{name}: output differs from CCNet's", file=sys.stderr)
                return 1
        rate = {
            k: v["docs"] / v["seconds"]
            for k, v in {"ccnet": ccnet, "one": one, "all": alln}.items()
        }
        print(
            f"{args.docs:,} documents, order-5 KenLM probing binary, SentencePiece vocab 4000 "
            "(kneser train-lm); outputs equal"
        )
        print(f"CCNet (cc_net + sentencepiece + kenlm), 1 process  {rate['ccnet']:>10,.0f} docs/s")
        print(
            f"kneser Pipeline.ccnet, 1 core                     {rate['one']:>10,.0f} docs/s"
            f"   {rate['one'] / rate['ccnet']:.1f}x"
        )
        print(
            f"kneser Pipeline.ccnet, {cores} cores                    {rate['all']:>10,.0f} docs/s"
            f"   {rate['all'] / rate['ccnet']:.1f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
