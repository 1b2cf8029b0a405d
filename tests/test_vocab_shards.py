"""kneser.encode_corpus: token-id shards read back with numpy, and the index."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kneser


def expected_ids(vocab: kneser.Vocab, paths: list[Path], eod: int | None) -> tuple[list[int], int]:
    ids: list[int] = []
    docs = 0
    for path in paths:
        for line in path.read_text(encoding="utf-8").split("\n"):
            one = vocab.encode(line).tolist()
            if not one:
                continue
            docs += 1
            ids.extend(one)
            if eod is not None:
                ids.append(eod)
    return ids, docs


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, data_dir: Path) -> tuple[list[Path], kneser.Vocab]:
    d = tmp_path_factory.mktemp("corpus")
    lines = (data_dir / "en-500.txt").read_text(encoding="utf-8").splitlines()
    a, b = d / "a.txt", d / "b.txt"
    a.write_text("\n".join(lines[:300]) + "\n\n\n", encoding="utf-8")
    b.write_text("\n".join(lines[300:]), encoding="utf-8")  # no final newline
    vocab = kneser.Vocab.build(texts=lines[:200], min_count=2)
    return [a, b], vocab


def read_shards(out: Path, index: dict) -> np.ndarray:
    parts = []
    for shard in index["shards"]:
        path = out / shard["file"]
        if index["file_format"] == "npy":
            arr = np.load(path, mmap_mode="r")
        else:
            arr = np.memmap(path, dtype=index["dtype"], mode="r")
        assert arr.dtype == np.dtype(index["dtype"])
        assert len(arr) == shard["tokens"]
        parts.append(np.array(arr))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=index["dtype"])


@pytest.mark.parametrize("fmt", ["npy", "bin"])
@pytest.mark.parametrize("shard_tokens", [1, 997, 10_000_000])
def test_shards_hold_the_ids_in_order(corpus, tmp_path: Path, fmt: str, shard_tokens: int):
    paths, vocab = corpus
    if shard_tokens == 1:  # one file per id: keep it small
        tiny = tmp_path / "tiny.txt"
        tiny.write_text("the of\n\nand zzqx\n", encoding="utf-8")
        paths = [tiny]
    out = tmp_path / "out"
    index = kneser.encode_corpus(
        files=paths, vocab=vocab, out_dir=out, format=fmt, shard_tokens=shard_tokens
    )
    want, docs = expected_ids(vocab, paths, vocab.token_to_id("</s>"))
    got = read_shards(out, index)
    assert got.dtype == np.uint16 and index["dtype"] == "uint16"
    assert got.tolist() == want
    assert index["tokens"] == len(want) == sum(s["tokens"] for s in index["shards"])
    assert index["documents"] == docs == sum(s["documents"] for s in index["shards"])
    assert all(s["tokens"] == shard_tokens for s in index["shards"][:-1])
    assert index["vocab_size"] == len(vocab)
    assert index["eod_id"] == 2 and index["eod_token"] == "</s>"
    assert index["unk_tokens"] == int((got == 0).sum())
    assert json.loads((out / "index.json").read_text()) == index
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [s["file"] for s in index["shards"]] + ["index.json"]
    )


def test_uint32_no_eod_custom_eod_and_prefix(corpus, tmp_path: Path):
    paths, vocab = corpus
    index = kneser.encode_corpus(
        paths[0], vocab, tmp_path / "u32", dtype="uint32", eod=False, prefix="train"
    )
    got = read_shards(tmp_path / "u32", index)
    assert got.dtype == np.uint32 and index["shards"][0]["file"] == "train_000000.npy"
    want, _ = expected_ids(vocab, paths[:1], None)
    assert got.tolist() == want and index["eod_id"] is None
    index = kneser.encode_corpus(
        files=[str(paths[0])], vocab=vocab, out_dir=tmp_path / "s", eod="<s>"
    )
    want, _ = expected_ids(vocab, paths[:1], 1)
    assert read_shards(tmp_path / "s", index).tolist() == want


def test_large_vocab_uses_uint32(tmp_path: Path):
    words = [f"w{i}" for i in range(70_000)]
    vocab = kneser.Vocab.build(texts=[" ".join(words)])
    corpus = tmp_path / "c.txt"
    corpus.write_text("w69999 w0 nope\nw5\n", encoding="utf-8")
    index = kneser.encode_corpus(corpus, vocab, tmp_path / "out", format="bin")
    assert index["dtype"] == "uint32"
    got = read_shards(tmp_path / "out", index)
    assert got.tolist() == [*vocab.encode("w69999 w0 nope").tolist(), 2, vocab.token_to_id("w5"), 2]
    assert got.max() >= 65_536
    with pytest.raises(kneser.ArgumentError, match="uint16"):
        kneser.encode_corpus(corpus, vocab, tmp_path / "out16", dtype="uint16")


def test_bad_options_and_unknown_raise(corpus, tmp_path: Path):
    paths, vocab = corpus
    with pytest.raises(kneser.ArgumentError, match="shard_tokens"):
        kneser.encode_corpus(files=paths, vocab=vocab, out_dir=tmp_path / "x", shard_tokens=0)
    with pytest.raises(kneser.ArgumentError, match="format"):
        kneser.encode_corpus(files=paths, vocab=vocab, out_dir=tmp_path / "x", format="pt")
    with pytest.raises(kneser.ArgumentError, match="dtype"):
        kneser.encode_corpus(files=paths, vocab=vocab, out_dir=tmp_path / "x", dtype="int8")
    with pytest.raises(kneser.ArgumentError, match='"<eod>" is not in the vocabulary'):
        kneser.encode_corpus(files=paths, vocab=vocab, out_dir=tmp_path / "x", eod="<eod>")
    with pytest.raises(kneser.NotFoundError):
        kneser.encode_corpus(tmp_path / "missing.txt", vocab, tmp_path / "x")
    with pytest.raises(TypeError):
        kneser.encode_corpus(iter(["a"]), vocab, tmp_path / "x")  # texts go by name
    out = tmp_path / "raise"
    with pytest.raises(kneser.FormatError, match=r"a\.txt:1: token .* is not in the vocabulary"):
        kneser.encode_corpus(files=paths, vocab=vocab, out_dir=out, unk="raise", shard_tokens=5)
    # Nothing is left under a final name: no index, no shard, no temp file.
    assert list(out.iterdir()) == []
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"the\n\xfe\n")
    with pytest.raises(kneser.FormatError, match=r"bad\.txt:2: invalid UTF-8"):
        kneser.encode_corpus(bad, vocab, tmp_path / "bad")


def test_progress_goes_to_stderr(corpus, tmp_path: Path):
    paths, _ = corpus
    vocab_path = tmp_path / "v.json"
    code = (
        "import kneser, sys\n"
        f"v = kneser.Vocab.build(files={[str(p) for p in paths]!r})\n"
        f"kneser.encode_corpus({str(paths[0])!r}, v, {str(tmp_path / 'o')!r}, progress=True)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == ""
    assert "kneser encode: done" in out.stderr and "tokens/s" in out.stderr
    assert not vocab_path.exists()
