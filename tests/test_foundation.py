"""The foundation: version, error mapping, GIL release and Ctrl-C handling."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

import kneser
from kneser import _kneser


def test_version_matches_package_metadata():
    from importlib.metadata import version

    assert kneser.__version__ == version("kneser")


@pytest.mark.parametrize(
    ("kind", "cls", "builtin", "fragment"),
    [
        ("not_found", kneser.NotFoundError, FileNotFoundError, "/no/such/file.txt"),
        ("io", kneser.KneserIOError, OSError, "/read-only/out.arpa"),
        ("format", kneser.FormatError, ValueError, "lm.arpa:7: expected 2 fields"),
        ("discount", kneser.DiscountError, ValueError, "discount_fallback"),
        ("argument", kneser.ArgumentError, ValueError, "order must be at least 1"),
    ],
)
def test_core_errors_reach_python_as_the_right_class(kind, cls, builtin, fragment):
    with pytest.raises(cls) as info:
        _kneser._raise_core_error(kind)
    assert isinstance(info.value, kneser.KneserError)
    assert isinstance(info.value, builtin)
    assert fragment in str(info.value)


def test_os_errors_carry_errno_and_filename():
    with pytest.raises(kneser.NotFoundError) as info:
        _kneser._raise_core_error("not_found")
    assert info.value.filename == "/no/such/file.txt"
    assert info.value.errno == 2
    with pytest.raises(kneser.KneserIOError) as info:
        _kneser._raise_core_error("io")
    assert info.value.errno == 13


def test_a_panic_becomes_internal_error_not_a_crash():
    with pytest.raises(kneser.InternalError, match="deliberate test panic"):
        _kneser._raise_core_error("panic")
    # A short call (SentencePiece, a segmenter, a normalizer on one text) panicking with
    # the GIL held is an InternalError too, not pyo3's PanicException.
    with pytest.raises(kneser.InternalError, match="deliberate test panic"):
        _kneser._raise_core_error("panic_held")
    # The interpreter is still alive and the module still works.
    assert _kneser._busy_wait(0.0) >= 0


def test_long_native_call_releases_the_gil():
    ticks = 0
    stop = threading.Event()

    def count():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    try:
        _kneser._busy_wait(0.5)
        during = ticks
    finally:
        stop.set()
        t.join()
    # With the GIL held for 0.5 s the other thread could not have run at all.
    assert during > 20


def test_ctrl_c_interrupts_a_long_native_call():
    code = (
        "import signal, threading, os, time\n"
        "from kneser import _kneser\n"
        "threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()\n"
        "t = time.monotonic()\n"
        "try:\n"
        "    _kneser._busy_wait(30)\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted after', round(time.monotonic() - t, 1))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=20, check=True
    )
    assert out.stdout.startswith("interrupted after")


def test_cli_version_and_help():
    out = subprocess.run(
        [sys.executable, "-m", "kneser.cli", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0
    assert out.stdout.strip() == f"kneser {kneser.__version__}"
    out = subprocess.run(
        [sys.executable, "-m", "kneser.cli", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0
    assert "usage: kneser" in out.stdout


def test_batches_leave_the_reference_counts_of_their_strings_as_they_were(tmp_path):
    """A batch holds each str it reads in place and lets it go: after encode_batch,
    score_batch, perplexity_batch and cut_batch on many distinct strings (more than the batch
    prefetches ahead, with repeats and a non-str item converted; a list, a tuple and a
    generator), every reference count is as before."""
    texts = [f"w{i % 50} x{i}" for i in range(300)]
    texts += texts[:40]  # the same objects twice
    counts = [sys.getrefcount(t) for t in texts]
    vocab = kneser.Vocab.build(texts=texts, max_size=100)
    arpa = tmp_path / "lm.arpa"
    arpa.write_text(
        "\\data\\\nngram 1=4\n\n\\1-grams:\n-1.0\t<unk>\n-99\t<s>\n-0.7\t</s>\n"
        "-0.4\tx0\n\n\\end\\\n"
    )
    model = kneser.Model(arpa)
    for _ in range(3):
        vocab.encode_batch(texts)
        model.score_batch(texts)
        model.score_batch(tuple(texts))
        model.perplexity_batch(t for t in texts)
        kneser.Segmenter().cut_batch([*texts, b"bytes"])
    assert [sys.getrefcount(t) for t in texts] == counts
