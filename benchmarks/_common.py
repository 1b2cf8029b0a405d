"""Shared helpers of the benchmark scripts: corpora, child-process measurement, table rows."""

from __future__ import annotations

import lzma
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KNESER_SHARED", ROOT.parent / "shared"))
CACHE = Path(os.environ.get("KNESER_BENCH_CACHE", ROOT / "benchmarks" / "out"))

CORPORA = {"en": "en-bench.txt", "zh": "zh-bench.chars.txt"}


def corpus(name: str) -> Path:
    """A benchmark corpus as a plain file (decompressed once into the cache), or a given path."""
    if name not in CORPORA:
        return Path(name)
    target = CACHE / CORPORA[name]
    if not target.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        src = SHARED / "corpora" / f"{CORPORA[name]}.xz"
        tmp = target.with_suffix(".partial")
        with lzma.open(src, "rb") as fin, open(tmp, "wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
        tmp.rename(target)
    return target


@dataclass
class Measure:
    wall: float
    user: float
    sys: float
    rss_mb: float
    returncode: int

    def row(self) -> str:
        return (
            f"wall {self.wall:7.2f} s  user {self.user:7.2f} s  sys {self.sys:6.2f} s  "
            f"peak RSS {self.rss_mb:8.1f} MB"
        )


def measure(cmd: list[str], **kwargs) -> Measure:
    """Runs `cmd` and returns its own wall time, CPU time and peak RSS (wait4's rusage)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, **kwargs)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Measure(wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode)


# One row of `benchmarks/run_all.py`'s table. A script run by run_all gets the path of a
# JSON-lines file in $KNESER_BENCH_ROWS and appends its rows there; run standalone, nothing is
# written. `ratio` is kneser's figure over the anchor's in the sense of `goal` ("<=" for a time
# or a size ratio, ">=" for a speed-up), and `met` is worked out from them unless given;
# `cpu_ratio` is the same ratio in CPU time (user + sys), less disturbed by a busy machine.
ROWS_ENV = "KNESER_BENCH_ROWS"


def emit_row(
    workload: str,
    kneser: str,
    anchor: str,
    ratio: float | None,
    goal: tuple[str, float] | None = None,
    *,
    met: bool | None = None,
    rss: str = "",
    cpu_ratio: float | None = None,
    identical: bool | str | None = None,
    goal_text: str = "",
) -> None:
    """Appends one table row to $KNESER_BENCH_ROWS (if set); see the comment above."""
    import json

    path = os.environ.get(ROWS_ENV)
    if not path:
        return
    if met is None and goal is not None and ratio is not None:
        op, value = goal
        met = ratio <= value if op == "<=" else ratio >= value
    if not goal_text and goal is not None:
        goal_text = f"{goal[0]} {goal[1]:g}x"
    row = {
        "workload": workload,
        "kneser": kneser,
        "anchor": anchor,
        "ratio": ratio,
        "goal": goal_text,
        "met": met,
        "cpu_ratio": cpu_ratio,
        "rss": rss,
        "identical": identical,
    }
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")


def skip_row(workload: str, why: str, goal_text: str = "") -> None:
    """A row whose anchor (or input) is missing: printed as skipped, with the reason."""
    emit_row(workload, "-", f"skipped: {why}", None, met=None, goal_text=goal_text)


def callgrind_env() -> dict[str, str]:
    """The environment of a child counted by callgrind: one rayon thread, and no OpenBLAS thread
    server (numpy, imported by kneser, starts one; callgrind counts its idle loop, whose
    instructions grow with wall time, not with work)."""
    return dict(os.environ, RAYON_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
