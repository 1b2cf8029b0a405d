"""KenLM's own `python/example.py` runs unchanged with `import kneser as kenlm`, and prints what
it prints with the real kenlm module, on bundled models placed where the example looks.

The example is read at test time from KenLM's source archive in `../shared/tools` (or an unpacked
KenLM beside the checkout); it is KenLM's code (LGPL) and is not copied into this repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import kneser

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parents[2]
ARCHIVES = sorted((ROOT / "shared" / "tools").glob("kenlm-*.tar.xz"))
UNPACKED = ROOT / "kenlm-src" / "kenlm"

# Runs a file as a script with `kenlm` bound to the module named on the command line.
RUNNER = """
import runpy, sys
module, script = sys.argv[1], sys.argv[2]
sys.modules["kenlm"] = __import__(module)
sys.argv = [script]
runpy.run_path(script, run_name="__main__")
"""


def _kenlm_file(member: str) -> bytes | None:
    """A file of KenLM's source tree (`python/example.py`, `lm/test.arpa`), or None."""
    for archive in ARCHIVES:
        with tarfile.open(archive) as tar:
            for info in tar.getmembers():
                if info.name.split("/", 1)[-1] == member:
                    f = tar.extractfile(info)
                    if f is not None:
                        return f.read()
    path = UNPACKED / member
    return path.read_bytes() if path.exists() else None


@pytest.fixture(scope="module")
def example() -> bytes:
    text = _kenlm_file("python/example.py")
    if text is None:
        pytest.skip("KenLM's python/example.py is not available (../shared/tools)")
    return text


def _models(tmp: Path) -> dict[str, bytes]:
    book5 = tmp / "book.o5.arpa"
    kneser.estimate(DATA / "lmplz" / "book.txt", order=5, arpa=book5, temp_dir=tmp)
    models = {
        "whitespace.o2": (DATA / "query" / "whitespace.o2.fallback.arpa").read_bytes(),
        "book.o5": book5.read_bytes(),
    }
    theirs = _kenlm_file("lm/test.arpa")  # KenLM's own test model, when the archive is here
    if theirs is not None:
        models["kenlm-test"] = theirs
    return models


def _run(module: str, script: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUNNER, module, str(script)],
        capture_output=True,
        text=True,
        cwd=script.parent,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        check=False,
    )


def test_example_runs_unchanged(example: bytes, tmp_path: Path) -> None:
    for name, arpa in _models(tmp_path).items():
        # The layout the example expects: python/example.py and lm/test.arpa beside it.
        root = tmp_path / name
        (root / "python").mkdir(parents=True)
        (root / "lm").mkdir()
        script = root / "python" / "example.py"
        script.write_bytes(example)
        (root / "lm" / "test.arpa").write_bytes(arpa)
        ours = _run("kneser", script)
        assert ours.returncode == 0, ours.stderr
        assert ours.stdout.startswith(f"{kneser.Model(root / 'lm' / 'test.arpa').order}-gram")
        assert "language modeling is fun ." in ours.stdout
        try:
            import kenlm  # noqa: F401
        except ImportError:
            continue
        theirs = _run("kenlm", script)
        assert theirs.returncode == 0, theirs.stderr
        assert ours.stdout == theirs.stdout, name
