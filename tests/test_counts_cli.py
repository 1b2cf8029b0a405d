"""Count files (sharded counting) and the `kneser build` / `kneser count` command lines."""

from __future__ import annotations

import lzma
import subprocess
import sys

import pytest

import kneser
from conftest import SHARED


def kneser_cli(*args, **kw):
    return subprocess.run(
        [sys.executable, "-m", "kneser.cli", *map(str, args)], capture_output=True, **kw
    )


@pytest.mark.parametrize("prune", [None, [0, 1, 1]])
def test_merged_count_files_equal_the_concatenated_corpus(tmp_path, data_dir, prune):
    lines = (data_dir / "lmplz" / "book.txt").read_text(encoding="utf-8").splitlines(True)
    shards = []
    for i, (a, b) in enumerate([(0, 1000), (1000, 2500), (2500, len(lines))]):
        shard = tmp_path / f"shard{i}.txt"
        shard.write_text("".join(lines[a:b]), encoding="utf-8")
        counts = tmp_path / f"shard{i}.counts"
        info = kneser.count(shard, order=3, output=counts, memory="2M")
        assert info["order"] == 3
        shards.append(counts)
    kneser.estimate(
        data_dir / "lmplz" / "book.txt", order=3, arpa=tmp_path / "whole.arpa", prune=prune
    )
    kneser.estimate(
        None, order=3, arpa=tmp_path / "merged.arpa", from_counts=shards, memory="2M", prune=prune
    )
    assert (tmp_path / "whole.arpa").read_bytes() == (tmp_path / "merged.arpa").read_bytes()


def test_count_files_of_another_order_or_corrupt_are_rejected(tmp_path, data_dir):
    counts = tmp_path / "a.counts"
    kneser.count(data_dir / "lmplz" / "seed.txt", order=2, output=counts)
    with pytest.raises(kneser.ArgumentError, match="2-grams but order 3"):
        kneser.estimate(None, order=3, arpa=tmp_path / "x.arpa", from_counts=[counts])
    truncated = tmp_path / "t.counts"
    truncated.write_bytes(counts.read_bytes()[:-5])
    with pytest.raises(kneser.FormatError, match="truncated count file"):
        kneser.estimate(
            None, order=2, arpa=tmp_path / "x.arpa", from_counts=[truncated], discount_fallback=True
        )
    foreign = tmp_path / "f.counts"
    foreign.write_bytes(b"\\data\\\nngram 1=3\n")
    with pytest.raises(kneser.FormatError, match="not a kneser count file"):
        kneser.estimate(None, order=2, arpa=tmp_path / "x.arpa", from_counts=[foreign])
    assert not (tmp_path / "x.arpa").exists()


def test_build_is_a_drop_in_for_lmplz(tmp_path, data_dir):
    book = data_dir / "lmplz" / "book.txt"
    with book.open("rb") as stdin:
        out = kneser_cli(
            "build", "-o", 3, "-S", "100M", "-T", tmp_path, "--prune", 0, 1, 1, stdin=stdin
        )
    assert out.returncode == 0, out.stderr.decode()
    ref = SHARED / "reference" / "lmplz" / "book.o3.prune_0_1_1.arpa.xz"
    if ref.exists():
        assert out.stdout == lzma.open(ref).read()
    stderr = out.stderr.decode()
    assert "=== 1/5 Counting and sorting n-grams ===" in stderr
    assert "3 9442/132688 D1=" in stderr or "Statistics:" in stderr
    # lmplz's other spellings
    out = kneser_cli(
        "build",
        "--order",
        2,
        "--text",
        data_dir / "lmplz" / "seed.txt",
        "--arpa",
        tmp_path / "s.arpa",
        "--discount_fallback",
        "0.3",
        "0.8",
        "1.2",
        "--interpolate_unigrams",
        "1",
        "-q",
    )
    assert out.returncode == 0, out.stderr.decode()
    assert (tmp_path / "s.arpa").read_bytes() == (
        data_dir / "lmplz" / "seed.o2.fallback_0.3_0.8_1.2.arpa"
    ).read_bytes()


def test_build_errors_are_clear_and_leave_nothing(tmp_path, data_dir):
    out = kneser_cli(
        "build",
        "-o",
        2,
        "--text",
        data_dir / "lmplz" / "seed.txt",
        "--arpa",
        tmp_path / "s.arpa",
        "-T",
        tmp_path,
    )
    assert out.returncode == 1
    assert "kneser: error: could not calculate Kneser-Ney discounts for 1-grams" in (
        out.stderr.decode()
    )
    assert list(tmp_path.iterdir()) == []


def test_count_then_build_from_counts_on_the_command_line(tmp_path, data_dir):
    seed = data_dir / "lmplz" / "seed.txt"
    assert kneser_cli("count", "-o", 2, "-O", tmp_path / "a.counts", seed, "-q").returncode == 0
    out = kneser_cli(
        "build", "-o", 2, "--from-counts", tmp_path / "a.counts", "--discount_fallback", "-q"
    )
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout == (data_dir / "lmplz" / "seed.o2.fallback.arpa").read_bytes()


def _words_end(data: bytes) -> int:
    """Offset just past the last word of a count file (header: magic, order, tokens, words,
    records = 36 bytes; each word: u32 length and bytes)."""
    words = int.from_bytes(data[20:28], "little")
    at = 36
    for _ in range(words):
        at += 4 + int.from_bytes(data[at : at + 4], "little")
    return at


def test_a_corrupted_count_file_is_a_format_error_naming_the_offset(tmp_path, data_dir):
    counts = tmp_path / "a.counts"
    kneser.count(data_dir / "lmplz" / "seed.txt", order=2, output=counts)
    data = counts.read_bytes()
    assert data[:8] == b"KNESERC\x02"
    vocab_sum = _words_end(data)

    def estimate(path):
        kneser.estimate(
            None, order=2, arpa=tmp_path / "x.arpa", from_counts=[path], discount_fallback=True
        )

    estimate(counts)
    good = (tmp_path / "x.arpa").read_bytes()
    (tmp_path / "x.arpa").unlink()
    # One flipped byte in a record's count: the records checksum (the last 8 bytes) fails.
    bad = bytearray(data)
    bad[-8 - 8] ^= 0x02  # a count of 1 becomes 3: plausible, only the checksum tells
    (tmp_path / "b.counts").write_bytes(bytes(bad))
    with pytest.raises(kneser.FormatError, match=rf"checksum of the records at byte offset "
                       rf"{len(data) - 8}"):  # fmt: skip
        estimate(tmp_path / "b.counts")
    # In a word of the vocabulary: the vocabulary checksum fails.
    bad = bytearray(data)
    bad[vocab_sum - 1] ^= 0x20
    (tmp_path / "v.counts").write_bytes(bytes(bad))
    with pytest.raises(kneser.FormatError, match=rf"checksum of the vocabulary at byte offset "
                       rf"{vocab_sum}"):  # fmt: skip
        estimate(tmp_path / "v.counts")
    # Every single flipped byte, anywhere, is an error (the order field: another order).
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x04
        (tmp_path / "f.counts").write_bytes(bytes(bad))
        error = (kneser.FormatError, kneser.ArgumentError) if 8 <= i < 12 else kneser.FormatError
        with pytest.raises(error):
            estimate(tmp_path / "f.counts")
    # Bytes after the checksum, or a version this kneser does not know.
    (tmp_path / "t.counts").write_bytes(data + b"\0")
    with pytest.raises(kneser.FormatError, match="1 unexpected bytes after the records checksum"):
        estimate(tmp_path / "t.counts")
    (tmp_path / "n.counts").write_bytes(b"KNESERC\x03" + data[8:])
    with pytest.raises(kneser.FormatError, match="format version 3 is not known"):
        estimate(tmp_path / "n.counts")
    assert not (tmp_path / "x.arpa").exists()
    # A version-1 file (no checksums) is still read, to the same model.
    v1 = b"KNESERC\x01" + data[8:vocab_sum] + data[vocab_sum + 8 : -8]
    (tmp_path / "v1.counts").write_bytes(v1)
    estimate(tmp_path / "v1.counts")
    assert (tmp_path / "x.arpa").read_bytes() == good
