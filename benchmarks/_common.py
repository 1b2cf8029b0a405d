"""Shared helpers of the benchmark scripts: corpora, child-process measurement, table rows."""

from __future__ import annotations

import json
import lzma
import os
import re
import shutil
import subprocess
import sys
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


def own_peak_rss_kib() -> int:
    """This process's peak RSS in KiB since its program started (VmHWM, which belongs to the
    process image; `ru_maxrss` starts at the spawning process's peak, see `measure`)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


# Runs the command given after the report fd as a child of this small process, waits for it and
# writes its own rusage to the fd. See `measure` for why a launcher is needed.
_LAUNCHER = r"""
import json, os, sys, time
fd, cmd = int(sys.argv[1]), sys.argv[2:]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.close(fd)
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
code = os.waitstatus_to_exitcode(status)
os.write(fd, json.dumps([wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss, code]).encode())
"""


def measure(cmd: list[str], **kwargs) -> Measure:
    """Runs `cmd` and returns its own wall time, CPU time and peak RSS (wait4's rusage).

    Linux starts a new program's peak RSS (`ru_maxrss`) at the peak of the process image it
    replaces. A child that this process spawns directly inherits this process's peak (the
    benchmark's corpora, a model trained in-process) and reports it when its own is lower. So
    `cmd` runs as the child of a small launcher process, and its peak starts at the launcher's
    (about 10 MB). `kwargs` go to `subprocess.Popen` (stdout, stderr, env, ...): the command
    inherits them. `test_measure_reports_the_childs_own_peak_rss` checks this.
    """
    read, write = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, str(write), *cmd], pass_fds=(write,), **kwargs
        )
    finally:
        os.close(write)
    with os.fdopen(read, "rb") as f:
        report = f.read()
    launcher = proc.wait()
    if launcher != 0 or not report:
        raise RuntimeError(f"the benchmark launcher failed (exit {launcher}): {cmd}")
    wall, user, sys_, maxrss_kib, code = json.loads(report)
    return Measure(wall, user, sys_, maxrss_kib / 1024, code)


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


_CALLGRIND = {
    "instr": re.compile(r"Collected : (\d+)"),
    "D1": re.compile(r"D1  misses: +([\d,]+)"),
    "LL": re.compile(r"LL misses: +([\d,]+)"),
    "LLd": re.compile(r"LLd misses: +([\d,]+)"),
}
_MISPREDICTS = re.compile(r"Mispredicts: +[\d,]+ +\( *([\d,]+) cond \+ *([\d,]+) ind\)")


def callgrind_counts(
    child: str, args: list[str], *, cache_sim: bool = False, branch_sim: bool = False
) -> dict[str, int]:
    """The counts of one run of ``python -c child *args`` under callgrind, in
    :func:`callgrind_env`: ``instr`` (instructions); with ``cache_sim`` the simulated D1 misses
    (``D1``), last-level misses (``LL``) and last-level data misses (``LLd``); with
    ``branch_sim`` the mispredicted conditional (``cond``) and indirect (``ind``) branches."""
    sim = ["--cache-sim=yes"] if cache_sim else []
    sim += ["--branch-sim=yes"] if branch_sim else []
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *sim,
         sys.executable, "-c", child, *args],
        check=True, capture_output=True, text=True, env=callgrind_env(),
    )  # fmt: skip
    wanted = ["instr"] + (["D1", "LL", "LLd"] if cache_sim else [])
    counts = {}
    for name in wanted:
        found = _CALLGRIND[name].search(out.stderr)
        if found is None:
            raise SystemExit(f"no {name} count in callgrind's output:\n{out.stderr[-2000:]}")
        counts[name] = int(found.group(1).replace(",", ""))
    if branch_sim:
        found = _MISPREDICTS.search(out.stderr)
        if found is None:
            raise SystemExit(f"no branch counts in callgrind's output:\n{out.stderr[-2000:]}")
        counts["cond"], counts["ind"] = (int(g.replace(",", "")) for g in found.groups())
    return counts


def callgrind_per_unit(
    child: str,
    args: list[str],
    *,
    units: int,
    extra: int = 2,
    cache_sim: bool = False,
    branch_sim: bool = False,
) -> dict[str, float]:
    """Counts per unit of work (word, line, token) of the work alone: ``child`` runs twice
    under :func:`callgrind_counts`, with ``args`` followed by ``1`` and then by ``1 + extra``
    (its passes over an input of ``units`` units); the difference of the two runs' counts over
    the ``extra * units`` units leaves out imports, loading, the first pass's warm-up and the
    interpreter's start."""
    one = callgrind_counts(child, [*args, "1"], cache_sim=cache_sim, branch_sim=branch_sim)
    more = callgrind_counts(
        child, [*args, str(1 + extra)], cache_sim=cache_sim, branch_sim=branch_sim
    )
    return {name: (more[name] - one[name]) / (extra * units) for name in one}
