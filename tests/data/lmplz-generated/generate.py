"""Runs the real lmplz on small generated corpora and stores inputs and ARPA outputs here.

lmplz cannot run in CI, so its outputs on these corpora are kept in the repository and
tests/test_lmplz_generated.py compares kneser with them byte for byte.

    python tests/data/lmplz-generated/generate.py [path/to/lmplz]

(default: ~/.cache/kneser-anchors/kenlm-build/bin/lmplz, KenLM commit 4cb443e). Deterministic:
the corpora come from fixed seeds. Writes `cases.json` (name, input, lmplz arguments, and
whether lmplz failed), `NAME.txt`, `NAME.arpa` (or `NAME.stderr` when lmplz failed) and the
limit-vocab files.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
LMPLZ = Path.home() / ".cache/kneser-anchors/kenlm-build/bin/lmplz"

# Words with the characters lmplz keeps inside a token (NBSP, U+3000, VT, FF) and CJK.
SPECIAL = ["x\u00a0y", "全\u3000角", "v\x0bt", "f\x0cf", "日本", "語", "é"]


def vocabulary(rng: random.Random, size: int) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = {"".join(rng.choice(letters) for _ in range(rng.randint(1, 6))) for _ in range(size)}
    return sorted(words) + SPECIAL


def corpus(
    rng: random.Random, lines: int, vocab: int, zipf: float, tail: bool, open_end: bool = False
) -> str:
    words = vocabulary(rng, vocab)
    weights = [1.0 / (i + 1) ** zipf for i in range(len(words))]
    out = []
    for _ in range(lines):
        n = rng.randint(0, 12)
        seps = [rng.choice([" ", " ", " ", "\t", "  "]) for _ in range(n)]
        toks = rng.choices(words, weights, k=n)
        out.append("".join(s + t for s, t in zip(seps, toks)).lstrip(" "))
    if tail:
        # A new word (the last in suffix order) that recurs after several neighbours.
        for left in rng.sample(words, 4) + rng.sample(words, 2):
            out.append(f"{left} zyzzyva {rng.choice(words)}")
    if open_end:
        # The text ends without a newline, in a word seen before but never at a line's start:
        # lmplz gives that last line no </s>, so `<s> w` is an n-gram that is no context, and
        # lmplz's reading of the backoffs in step with the n-grams shifts past it.
        starts = {line.split()[0] for line in out if line.split()}
        seen = [w for w in words if w not in starts and any(w in line.split() for line in out)]
        return "\n".join(out) + "\n" + rng.choice(seen)
    return "\n".join(out) + "\n"


def cases() -> list[dict]:
    out = []
    first = ("fallback", "plain", "prune", "limit", "tail")
    later = ("open", "openlimit")  # seeds of their own, so that the first cases stay as made
    for order in (2, 3, 4, 5):
        seeds = [(v, 1001 + 5 * (order - 2) + i) for i, v in enumerate(first)]
        seeds += [(v, 2001 + 2 * (order - 2) + i) for i, v in enumerate(later)]
        for variant, seed in seeds:
            rng = random.Random(seed)
            small = variant == "fallback"
            text = corpus(
                rng,
                lines=rng.randint(5, 40) if small else rng.randint(300, 900),
                vocab=rng.randint(5, 20) if small else rng.randint(80, 400),
                zipf=rng.choice([0.8, 1.0, 1.2]),
                tail=variant == "tail",
                open_end=variant.startswith("open"),
            )
            args = ["-o", str(order)]
            if variant in ("fallback", "prune", "open"):
                args.append("--discount_fallback")
            if variant == "prune":
                args += ["--prune", *[str(min(i, 2)) for i in range(order)]]
            case = {"name": f"o{order}.{variant}.{seed}", "args": args, "text": text}
            if variant in ("limit", "openlimit"):
                toks = sorted({t for line in text.split("\n") for t in line.split()})
                keep = [*rng.sample(toks, len(toks) // 2), "x\u00a0y"]
                if variant == "openlimit":
                    keep.append(text.split()[-1])  # the last line's word stays in the model
                case["limit_vocab"] = " ".join(keep) + "\n"
                args.append("--discount_fallback")
            out.append(case)
    return out


def main() -> int:
    lmplz = Path(sys.argv[1]) if len(sys.argv) > 1 else LMPLZ
    manifest = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases():
            name = case["name"]
            (HERE / f"{name}.txt").write_text(case["text"], encoding="utf-8")
            args = list(case["args"])
            entry = {"name": name, "input": f"{name}.txt", "args": args}
            if "limit_vocab" in case:
                (HERE / f"{name}.vocab").write_text(case["limit_vocab"], encoding="utf-8")
                entry["limit_vocab"] = f"{name}.vocab"
                args = [*args, "--limit_vocab_file", str(HERE / f"{name}.vocab")]
            with open(HERE / f"{name}.txt", "rb") as stdin:
                run = subprocess.run(
                    [str(lmplz), "-S", "100M", "-T", tmp + "/", *args],
                    stdin=stdin,
                    capture_output=True,
                    check=False,
                )
            entry["fails"] = run.returncode != 0
            if entry["fails"]:
                (HERE / f"{name}.stderr").write_bytes(run.stderr)
            else:
                (HERE / f"{name}.arpa").write_bytes(run.stdout)
            manifest.append(entry)
            print(name, "fails" if entry["fails"] else f"{len(run.stdout)} bytes")
    (HERE / "cases.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
