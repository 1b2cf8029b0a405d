"""``kneser clean`` and ``kneser tokenize`` run as subprocesses."""

from __future__ import annotations

import gzip
import json
import lzma
import subprocess
import sys

import pytest

import kneser


def kneser_cli(*args: str, stdin: bytes = b"", check: bool = True):
    proc = subprocess.run(
        [sys.executable, "-m", "kneser.cli", *args],
        input=stdin,
        capture_output=True,
        check=False,
    )
    if check:
        assert proc.returncode == 0, proc.stderr.decode()
    return proc


LINES = ["Héllo, World! 123", "  «Ça» — 42 ", "", "中文，标点。", "\tTab\x00NUL"]


def test_clean_stdin_to_stdout_matches_the_binding():
    out = kneser_cli("clean", stdin="\n".join(LINES).encode() + b"\n").stdout.decode()
    norm = kneser.Normalizer.ccnet()
    assert out.split("\n")[:-1] == [norm.normalize(line) for line in LINES]


@pytest.mark.parametrize(
    ("flags", "norm"),
    [
        (["--preset", "ccnet-dedup"], kneser.Normalizer.ccnet_dedup()),
        (["--punct", "2", "--keep-case"], kneser.Normalizer.ccnet(punct=2, case=False)),
        (
            ["--lowercase", "--digits", "run", "--collapse-whitespace", "--strip"],
            kneser.Normalizer(lowercase=True, digits="run", collapse_whitespace=True, strip=True),
        ),
    ],
)
def test_clean_files_with_options(tmp_path, flags, norm):
    src = tmp_path / "in.txt.gz"
    with gzip.open(src, "wt", encoding="utf-8") as f:
        f.write("\n".join(LINES))  # no final newline
    out = tmp_path / "out.txt"
    kneser_cli("clean", str(src), str(src), "-o", str(out), "--batch-size", "2", *flags)
    expected = [norm.normalize(line) for line in LINES] * 2
    assert out.read_text(encoding="utf-8").split("\n")[:-1] == expected


def test_clean_jsonl_keeps_other_fields(tmp_path):
    src = tmp_path / "in.jsonl.xz"
    rows = [{"id": i, "text": t, "meta": {"x": "É"}} for i, t in enumerate(LINES)]
    with lzma.open(src, "wt", encoding="utf-8") as f:
        f.write("\n".join(json.dumps(r) for r in rows) + "\n\n")
    out = kneser_cli("clean", "--jsonl", str(src)).stdout.decode().split("\n")
    norm = kneser.Normalizer.ccnet()
    got = [json.loads(line) for line in out if line]
    assert got == [{**r, "text": norm.normalize(r["text"])} for r in rows]
    assert out[-2:] == ["", ""]  # the empty input line is kept


def test_tokenize_plain_and_jsonl(tmp_path):
    stdin = "The CAT sat\n我的书 2024年\n".encode()
    out = kneser_cli(
        "tokenize", "--mode", "cjk-chars", "--lowercase", "--stopwords", "en", stdin=stdin
    ).stdout.decode()
    assert out == "cat sat\n我 的 书 2024 年\n"
    sw = tmp_path / "sw.txt"
    sw.write_text("书\n", encoding="utf-8")
    jsonl = json.dumps({"text": "我的书 ok", "n": 1}).encode() + b"\n"
    out = kneser_cli(
        "tokenize",
        "--jsonl",
        "--mode",
        "cjk-chars",
        "--stopwords",
        str(sw),
        "--output-field",
        "tokens",
        stdin=jsonl,
    ).stdout.decode()
    assert json.loads(out) == {"text": "我的书 ok", "n": 1, "tokens": ["我", "的", "ok"]}


def test_errors_name_file_and_line_and_leave_no_output(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine\nbad \xff byte\n")
    out = tmp_path / "out.txt"
    proc = kneser_cli("clean", str(bad), "-o", str(out), check=False)
    assert proc.returncode == 1
    assert f"{bad}:2: invalid UTF-8" in proc.stderr.decode()
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]
    replaced = kneser_cli("clean", str(bad), "--errors", "replace").stdout.decode()
    assert replaced == "fine\nbad \ufffd byte\n"

    proc = kneser_cli("tokenize", str(tmp_path / "missing.txt"), check=False)
    assert proc.returncode == 1 and "missing.txt" in proc.stderr.decode()

    proc = kneser_cli("clean", "--jsonl", stdin=b'{"text": 1}\n', check=False)
    assert proc.returncode == 1 and "<stdin>:1: no string field 'text'" in proc.stderr.decode()
    proc = kneser_cli("clean", "--jsonl", stdin=b"{oops\n", check=False)
    assert proc.returncode == 1 and "<stdin>:1: invalid JSON" in proc.stderr.decode()
    proc = kneser_cli("clean", "--preset", "ccnet", "--lowercase", check=False)
    assert proc.returncode != 0 and "cannot be combined" in proc.stderr.decode()
