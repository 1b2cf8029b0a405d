"""kneser's CCNet presets against CCNet's own Python normalizer, and tokenizer throughput.

Reads the first ``--lines`` lines of ``shared/corpora/en-bench.txt.xz`` (``$KNESER_SHARED``
or a ``shared`` folder beside the checkout), normalizes them with
``cc_net.text_normalizer`` (``normalize`` with its defaults, and ``normalize_for_dedup``) and with
``kneser.Normalizer.ccnet()`` / ``ccnet_dedup()``, checks that the outputs are equal, and prints
both throughputs and their ratio: one call per line (one core, as CCNet is used), and the batch
call (parallel, all cores). Then the throughput of each tokenizer mode, against ``str.split``.

CCNet's module comes from, in this order: an installed ``cc_net`` package; ``--ccnet-src``
(a ``text_normalizer.py`` file); a copy cached in ``benchmarks/out/ccnet``; or
``pip download --no-deps cc_net==1.0.0`` into that cache (cc_net's own dependencies are not
needed: ``text_normalizer`` imports only ``re`` and ``unicodedata``). The script says which.

Build with ``maturin develop --release`` first. Example:
    python benchmarks/bench_normalize.py --lines 100000
"""

from __future__ import annotations

import argparse
import importlib.util
import lzma
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from types import ModuleType

import kneser

HERE = Path(__file__).resolve().parent


def _shared() -> Path:
    """``$KNESER_SHARED``, else the first ``shared`` folder beside the checkout or above it."""
    if os.environ.get("KNESER_SHARED"):
        return Path(os.environ["KNESER_SHARED"])
    for parent in HERE.parents[1:]:
        if (parent / "shared" / "corpora").is_dir():
            return parent / "shared"
    return HERE.parent.parent / "shared"


DEFAULT_CORPUS = _shared() / "corpora" / "en-bench.txt.xz"
CACHE = HERE / "out" / "ccnet"


def _load_file(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("ccnet_text_normalizer", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_ccnet(src: Path | None) -> tuple[ModuleType, str]:
    """CCNet's text_normalizer module and a description of where it came from."""
    try:
        from cc_net import text_normalizer  # type: ignore[import-not-found]

        return text_normalizer, f"installed cc_net package ({text_normalizer.__file__})"
    except ImportError:
        pass
    if src is not None:
        return _load_file(src), f"--ccnet-src {src}"
    cached = CACHE / "text_normalizer.py"
    if not cached.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(CACHE)]
        subprocess.run(
            [*pip, "cc_net==1.0.0"],
            check=True,
            capture_output=True,
        )
        sdist = next(CACHE.glob("cc_net-*.tar.gz"))
        with tarfile.open(sdist) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith("text_normalizer.py"))
            data = tar.extractfile(member)
            assert data is not None
            cached.write_bytes(data.read())
    return _load_file(cached), f"cc_net 1.0.0 sdist (pip download --no-deps), {cached}"


def read_lines(path: Path, n: int) -> list[str]:
    lines = []
    with lzma.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            lines.append(line.rstrip("\n"))
            if len(lines) >= n:
                break
    return lines


def timed(fn, repeat: int = 1):
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def check_codepoints(ccnet: ModuleType) -> None:
    """Every code point, between two letters and between two capital sigmas, through both."""
    import unicodedata

    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    texts = [f"a{c}b" for c in chars] + [f"Σ{c}Σ" for c in chars]
    cases = [
        ("normalize", ccnet.normalize, kneser.Normalizer.ccnet()),
        ("punct=2", lambda s: ccnet.normalize(s, punct=2), kneser.Normalizer.ccnet(punct=2)),
        (
            "accent=False, case=False",
            lambda s: ccnet.normalize(s, accent=False, case=False),
            kneser.Normalizer.ccnet(accent=False, case=False),
        ),
        ("normalize_for_dedup", ccnet.normalize_for_dedup, kneser.Normalizer.ccnet_dedup()),
    ]
    print(f"every code point (Python's Unicode {unicodedata.unidata_version}):")
    for name, py_fn, norm in cases:
        ours = norm.normalize_batch(texts)
        bad = [t for t, o in zip(texts, ours) if py_fn(t) != o]
        assigned = sorted({f"U+{ord(t[1]):04X}" for t in bad if unicodedata.category(t[1]) != "Cn"})
        print(
            f"  {name:<26} {len(bad):5} of {len(texts):,} differ; "
            f"{len(bad) - sum(unicodedata.category(t[1]) != 'Cn' for t in bad)} involve code "
            f"points unassigned in Python's Unicode; assigned ones: {', '.join(assigned) or '-'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--ccnet-src", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3, help="every timing: best of N runs")
    parser.add_argument(
        "--codepoints",
        action="store_true",
        help="also compare the outputs on every Unicode code point (a parity check)",
    )
    args = parser.parse_args()

    ccnet, origin = load_ccnet(args.ccnet_src)
    if args.codepoints:
        check_codepoints(ccnet)
        print()
    lines = read_lines(args.corpus, args.lines)
    mb = sum(len(s.encode("utf-8")) for s in lines) / 1e6
    print(f"CCNet normalizer: {origin}")
    print(f"corpus: {args.corpus.name}, {len(lines):,} lines, {mb:.1f} MB")
    print()
    print(f"{'normalizer':<34}{'seconds':>9}{'lines/s':>12}{'MB/s':>9}{'x CCNet':>9}")

    def row(name: str, secs: float, base: float | None) -> None:
        ratio = f"{base / secs:9.1f}" if base else f"{'':>9}"
        print(f"{name:<34}{secs:9.3f}{len(lines) / secs:12,.0f}{mb / secs:9.1f}{ratio}")

    cases = [
        ("normalize", ccnet.normalize, kneser.Normalizer.ccnet()),
        ("normalize_for_dedup", ccnet.normalize_for_dedup, kneser.Normalizer.ccnet_dedup()),
    ]
    for name, py_fn, norm in cases:
        py_secs, expected = timed(lambda py_fn=py_fn: [py_fn(s) for s in lines], args.repeat)
        one_secs, one = timed(lambda norm=norm: [norm.normalize(s) for s in lines], args.repeat)
        batch_secs, batch = timed(lambda norm=norm: norm.normalize_batch(lines), args.repeat)
        bad = sum(a != b for a, b in zip(expected, one)) + sum(
            a != b for a, b in zip(expected, batch)
        )
        row(f"CCNet {name}", py_secs, None)
        row("  kneser, one call a line (1 core)", one_secs, py_secs)
        row("  kneser normalize_batch (parallel)", batch_secs, py_secs)
        print(f"  outputs differing from CCNet: {bad}")
        emit_rows(f"Normalizer.{norm_name(name)}() on {args.corpus.name}", lines, mb, py_secs,
                  one_secs, batch_secs, bad, name == "normalize")  # fmt: skip

    print()
    print(f"{'tokenizer':<34}{'seconds':>9}{'lines/s':>12}{'MB/s':>9}{'x split':>9}")
    split_secs, _ = timed(lambda: [s.split() for s in lines], args.repeat)
    print(
        f"{'python str.split()':<34}{split_secs:9.3f}{len(lines) / split_secs:12,.0f}"
        f"{mb / split_secs:9.1f}"
    )
    for mode in ("whitespace", "unicode-words", "cjk-chars", "punctuation"):
        for lower, sw in ((False, None), (True, "en")):
            tok = kneser.Tokenizer(mode, lowercase=lower, stopwords=sw)
            secs, _ = timed(lambda tok=tok: tok.tokenize_batch(lines), args.repeat)
            label = f"{mode}{' +lower +en stopwords' if lower else ''}"
            print(
                f"{label:<34}{secs:9.3f}{len(lines) / secs:12,.0f}{mb / secs:9.1f}"
                f"{split_secs / secs:9.1f}"
            )


def norm_name(ccnet_name: str) -> str:
    return "ccnet" if ccnet_name == "normalize" else "ccnet_dedup"


def emit_rows(label, lines, mb, py_secs, one_secs, batch_secs, bad, goal) -> None:  # type: ignore[no-untyped-def]
    """The rows of benchmarks/run_all.py's table (nothing when run standalone)."""
    from _common import emit_row

    ccnet = f"{mb / py_secs:.1f} MB/s"
    for how, secs in [("one call a line", one_secs), ("normalize_batch", batch_secs)]:
        emit_row(f"{label}, {how} vs CCNet text_normalizer", f"{mb / secs:.1f} MB/s", ccnet,
                 py_secs / secs, (">=", 20.0) if goal else None, identical=bad == 0)  # fmt: skip


if __name__ == "__main__":
    main()
