"""The ``kneser vocab`` and ``kneser encode`` commands, run as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

import kneser


def kneser_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kneser.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_vocab_then_encode(data_dir: Path, tmp_path: Path):
    corpus = data_dir / "en-500.txt"
    vocab_path = tmp_path / "vocab.txt"
    limit = tmp_path / "limit.txt"
    out = kneser_cli(
        "vocab",
        str(corpus),
        "-o",
        str(vocab_path),
        "--min-count",
        "2",
        "--max-size",
        "1000",
        "--pad",
        "--limit-vocab",
        str(limit),
    )
    assert out.returncode == 0, out.stderr
    assert "1000 tokens" in out.stderr
    vocab = kneser.Vocab.load(vocab_path)
    built = kneser.Vocab.build(corpus, min_count=2, max_size=1000, pad=True)
    assert vocab.tokens() == built.tokens() and len(vocab) == 1000
    assert vocab.specials == ["<unk>", "<s>", "</s>", "<pad>"]
    assert limit.read_text(encoding="utf-8").split() == vocab.tokens()[4:]

    shards = tmp_path / "shards"
    out = kneser_cli(
        "encode",
        str(corpus),
        "--vocab",
        str(vocab_path),
        "-o",
        str(shards),
        "--format",
        "bin",
        "--shard-tokens",
        "5000",
        "--no-progress",
    )
    assert out.returncode == 0, out.stderr
    index = json.loads((shards / "index.json").read_text())
    got = np.concatenate(
        [np.memmap(shards / s["file"], dtype=np.uint16, mode="r") for s in index["shards"]]
    )
    ids, offsets = vocab.encode_batch(corpus.read_text(encoding="utf-8").splitlines())
    want = []
    for i in range(len(offsets) - 1):
        if offsets[i + 1] > offsets[i]:
            want.extend([*ids[offsets[i] : offsets[i + 1]].tolist(), 2])
    assert got.tolist() == want
    assert f"{index['tokens']} tokens" in out.stderr


def test_errors_exit_1_with_a_message(tmp_path: Path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    out = kneser_cli("vocab", str(empty), "-o", str(tmp_path / "v.txt"))
    assert out.returncode == 1
    assert "kneser: error: invalid argument: empty corpus" in out.stderr
    bad = tmp_path / "bad.txt"
    bad.write_text("a\t1\na\t2\n")
    out = kneser_cli("encode", str(empty), "--vocab", str(bad), "-o", str(tmp_path / "o"))
    assert out.returncode == 1
    assert 'bad.txt:2: duplicate token "a"' in out.stderr
    out = kneser_cli("vocab", "--help")
    assert out.returncode == 0 and "--min-count" in out.stdout
