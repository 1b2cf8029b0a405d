"""Shared helpers of the benchmark scripts: corpora, child-process measurement, lmplz anchors."""

from __future__ import annotations

import lzma
import os
import re
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


def lmplz_anchors() -> dict[tuple[str, str], dict[str, float]]:
    """lmplz's recorded figures from ../shared/reference/README.md, keyed by (corpus, -S)."""
    text = (SHARED / "reference" / "README.md").read_text(encoding="utf-8")
    rows = {}
    num = r"([\d.]+)"
    pat = rf"^\| (en|zh)-bench \| `-o 5 -S (\S+)` \| {num} \| {num} \| {num} \| {num} (MB|GB) \|"
    for m in re.finditer(pat, text, re.M):
        rss = float(m.group(6)) * (1000 if m.group(7) == "GB" else 1)
        rows[(m.group(1), m.group(2))] = {
            "wall": float(m.group(3)),
            "user": float(m.group(4)),
            "sys": float(m.group(5)),
            "rss_mb": rss,
        }
    return rows
