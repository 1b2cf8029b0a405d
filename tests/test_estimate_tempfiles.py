"""Temp files and I/O failures of estimation: nothing is left behind after an error, a
cancelled job or a signal; an unwritable temp dir or a full disk is an OSError naming the path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import kneser


def corpus(path, lines=20000, bad_line=None):
    """A corpus of `lines` varied sentences, with invalid UTF-8 at line `bad_line`."""
    with open(path, "wb") as f:
        for i in range(1, lines + 1):
            if i == bad_line:
                f.write(b"broken \xff line\n")
            else:
                words = [f"w{(i * 7 + j * 13) % 997}" for j in range(i % 11 + 3)]
                f.write((" ".join(words) + "\n").encode())
    return path


def test_error_late_in_the_corpus_leaves_no_temp_files(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    text = corpus(tmp_path / "bad.txt", lines=60000, bad_line=59000)
    with pytest.raises(kneser.KneserError) as err:
        # A tiny budget makes the count stage spill sorted runs before reaching the bad line.
        kneser.estimate(text, order=4, arpa=tmp_path / "lm.arpa", memory="1M", temp_dir=tmp)
    assert "59000" in str(err.value)
    assert list(tmp.iterdir()) == []
    assert not (tmp_path / "lm.arpa").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".lm.arpa")] == []


def test_unwritable_temp_dir_is_an_oserror_naming_it(tmp_path):
    if os.geteuid() == 0:
        # root writes anywhere but in sysfs
        tmp, restore = "/sys", None
    else:
        tmp = tmp_path / "ro"
        tmp.mkdir()
        tmp.chmod(0o500)
        restore = tmp
    try:
        with pytest.raises(OSError) as err:
            kneser.estimate(corpus(tmp_path / "c.txt", 100), order=3, arpa=tmp_path / "lm.arpa",
                            temp_dir=tmp, discount_fallback=True)  # fmt: skip
        assert str(tmp) in str(err.value)
        assert isinstance(err.value, kneser.KneserError)
    finally:
        if restore is not None:
            restore.chmod(0o700)


def test_missing_temp_dir_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        kneser.estimate(corpus(tmp_path / "c.txt", 100), order=3, arpa=tmp_path / "lm.arpa",
                        temp_dir=tmp_path / "nope", discount_fallback=True)  # fmt: skip
    assert "nope" in str(err.value)


FULL_DISK = textwrap.dedent(
    """
    import resource, signal, sys
    import kneser
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
    text, tmp, arpa = sys.argv[1:]
    try:
        kneser.estimate(text, order=4, arpa=arpa, memory="1M", temp_dir=tmp, discount_fallback=True)
    except OSError as e:
        print(type(e).__name__, e)
        sys.exit(3)
    """
)


def test_full_disk_is_an_oserror_naming_the_file_and_leaves_nothing(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    text = corpus(tmp_path / "c.txt", lines=40000)
    arpa = tmp_path / "lm.arpa"
    r = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(text), str(tmp), str(arpa)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 3, r.stderr
    assert str(tmp_path) in r.stdout
    assert list(tmp.iterdir()) == []
    assert not arpa.exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_cli_removes_temp_files_on_signal(tmp_path, signum):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    text = corpus(tmp_path / "c.txt", lines=300000)
    arpa = tmp_path / "lm.arpa"
    cmd = [sys.executable, "-m", "kneser.cli", "build", "-q", "-o", "5", "-S", "1M",
           "-T", str(tmp), "--text", str(text), "--arpa", str(arpa)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # Wait until the job has spilled runs to its temp dir, then interrupt it.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(any(d.iterdir()) for d in tmp.iterdir() if d.is_dir()):
            break
        time.sleep(0.02)
    if proc.poll() is not None:
        pytest.skip("the job finished before it could be interrupted")
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert list(tmp.iterdir()) == []
    assert not arpa.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".lm.arpa")] == []
