"""benchmarks/run_all.py's table on a tiny corpus: the estimation rows are collected from
bench_estimate.py, with lmplz side by side, and the two ARPA files found byte-identical. No
timing is asserted (speed belongs in the benchmarks); skipped when lmplz is not built."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LMPLZ = Path.home() / ".cache/kneser-anchors/kenlm-build/bin/lmplz"


@pytest.mark.skipif(not LMPLZ.exists(), reason="lmplz not built (../shared/tools/build-kenlm.sh)")
def test_run_all_quick_estimate_table(tmp_path):
    text = tmp_path / "tiny.txt"  # real prose: artificial text has no Kneser-Ney discounts
    text.write_bytes((ROOT / "tests" / "data" / "en-500.txt").read_bytes())
    rows_json = tmp_path / "rows.json"
    cmd = [
        sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--quick", "--only", "estimate",
        "--skip-large", "--estimate-corpus", str(text), "--estimate-order", "3",
        "--estimate-memory", "100M",
        "--estimate-memory", "200M", "--json", str(rows_json),
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout
    rows = json.loads(rows_json.read_text(encoding="utf-8"))
    assert [r["workload"] for r in rows] == [
        "build -o 3 -S 100M, tiny (first 60,000 lines)",
        "build -o 3 -S 200M, tiny (first 60,000 lines)",
    ]
    for r in rows:
        assert r["identical"] is True, r
        assert r["ratio"] > 0 and r["cpu_ratio"] > 0
        assert r["workload"] in out  # the printed table has the row
    assert "| workload" in out and "identical" in out


def test_measure_reports_the_childs_own_peak_rss(tmp_path):
    """benchmarks/_common.measure gives the command's own peak RSS: a program started by a process
    with a large peak used to report that peak as its own (Linux carries ru_maxrss over exec),
    which made flat-memory rows read the benchmark's own size. Also: exit status and redirected
    output reach the caller as before."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from _common import measure
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    big = bytearray(300 << 20)
    big[:: 1 << 12] = b"\x01" * len(range(0, len(big), 1 << 12))  # resident, not just reserved
    small = measure([sys.executable, "-c", "pass"])
    assert small.returncode == 0
    assert small.rss_mb < 100, small
    grow = "b = bytearray(200 << 20); b[::4096] = b'\\x01' * len(range(0, len(b), 4096))"
    large = measure([sys.executable, "-c", grow])
    assert 200 <= large.rss_mb < 300, large
    out = tmp_path / "out.txt"
    with open(out, "w") as f:
        failed = measure([sys.executable, "-c", "print('hi'); raise SystemExit(3)"], stdout=f)
    assert failed.returncode == 3 and out.read_text() == "hi\n"
    assert failed.wall > 0 and failed.user >= 0
    del big
