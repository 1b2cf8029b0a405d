"""The perplexity histogram with and without matplotlib: a PNG when it imports, else drawn in
the terminal (per bucket, cutoffs marked), from `kneser demo`, `kneser pipeline --histogram` and
Pipeline.run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import kneser
from kneser import pipeline as kp


@pytest.fixture
def no_matplotlib(monkeypatch):
    # None in sys.modules makes `import matplotlib` raise ImportError.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)


@pytest.fixture(scope="module")
def lm(tmp_path_factory, data_dir: Path) -> Path:
    out = tmp_path_factory.mktemp("lm") / "lm.arpa"
    kneser.estimate(data_dir / "lmplz" / "book.txt", order=3, arpa=out)
    return out


def docs_file(tmp_path: Path, data_dir: Path) -> Path:
    lines = (data_dir / "en-500.txt").read_text(encoding="utf-8").splitlines()[:300]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in lines), encoding="utf-8")
    return path


def bar_rows(text: str) -> list[tuple[float, float, str, list[int]]]:
    rows = []
    for line in text.splitlines():
        m = re.match(r"\s+([\d,]+)-([\d,]+)\s+([#=.]*)\s+(\d+)\s+(\d+)\s+(\d+)", line)
        if m:
            lo, hi = (float(x.replace(",", "")) for x in m.group(1, 2))
            rows.append((lo, hi, m.group(3), [int(x) for x in m.group(4, 5, 6)]))
    return rows


def test_terminal_histogram_without_matplotlib(no_matplotlib, lm, tmp_path, data_dir):
    report = kneser.Pipeline(lm, dedup=None).run(
        docs_file(tmp_path, data_dir), tmp_path / "out.jsonl", histogram=tmp_path / "h.png"
    )
    assert report.histogram is None and not (tmp_path / "h.png").exists()
    text = report.histogram_text
    rows = bar_rows(text)
    assert len(rows) >= 3
    # Every document is counted once, per bucket as the report says.
    for i, b in enumerate(kp.BUCKETS):
        assert sum(r[3][i] for r in rows) == report.buckets[b]
    # Bars: head '#', middle '=', tail '.', in that order within a row.
    assert all(re.fullmatch(r"#*=*\.*", r[2]) for r in rows)
    assert any("#" in r[2] for r in rows) and any("." in r[2] for r in rows)
    # Both cutoffs are marked on the row whose range holds them.
    for cut, label in zip(report.cutoffs, ("head/middle", "middle/tail")):
        marked = [ln for ln in text.splitlines() if f"<- {label} cutoff" in ln]
        assert len(marked) == 1
        lo, hi, *_ = bar_rows(marked[0])[0]
        assert lo - 1 <= cut < hi + 1


def test_demo_draws_the_histogram_in_the_terminal(no_matplotlib, tmp_path, capsys):
    report = kp.demo(tmp_path)
    out = capsys.readouterr().out
    assert report.histogram is None
    assert "matplotlib is not installed" in out and "<- head/middle cutoff" in out
    assert "<- middle/tail cutoff" in out and len(bar_rows(out)) >= 3


def test_pipeline_cli_prints_the_text_histogram(lm, tmp_path, data_dir):
    # The CLI in a child process where matplotlib cannot be imported (hidden if installed).
    docs, out, png = docs_file(tmp_path, data_dir), tmp_path / "o.jsonl", tmp_path / "h.png"
    args = ["pipeline", str(docs), "-m", str(lm), "-O", str(out), "--histogram", str(png), "-q"]
    code = (
        "import sys\nsys.modules['matplotlib'] = None\nimport kneser.cli\n"
        f"sys.exit(kneser.cli.main({args!r}))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "<- head/middle cutoff" in r.stdout and len(bar_rows(r.stdout)) >= 3
    assert not (tmp_path / "h.png").exists()


def test_png_with_matplotlib(lm, tmp_path, data_dir, capsys):
    pytest.importorskip("matplotlib")
    report = kneser.Pipeline(lm, dedup=None).run(
        docs_file(tmp_path, data_dir), tmp_path / "out.jsonl", histogram=tmp_path / "h.png"
    )
    assert report.histogram == str(tmp_path / "h.png") and report.histogram_text is None
    assert (tmp_path / "h.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    kp.demo(tmp_path / "demo")
    out = capsys.readouterr().out
    assert f"perplexity histogram (PNG): {tmp_path / 'demo' / 'perplexity.png'}" in out
    assert (tmp_path / "demo" / "perplexity.png").read_bytes()[:4] == b"\x89PNG"
