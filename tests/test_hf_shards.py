"""Shards through huggingface ``tokenizers`` tokenizers (BPE, WordPiece, Unigram), trained here
on bundled text, and a kneser Vocab exported as a ``tokenizers`` WordLevel tokenizer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kneser

tokenizers = pytest.importorskip("tokenizers")
from tokenizers import Tokenizer, models, pre_tokenizers, trainers  # noqa: E402

SPECIALS = ["[UNK]", "[BOS]", "[EOS]"]


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:-1]


def train(kind: str, lines: list[str]) -> Tokenizer:
    if kind == "bpe":
        tok = Tokenizer(models.BPE(unk_token="[UNK]"))
        trainer = trainers.BpeTrainer(vocab_size=800, special_tokens=SPECIALS)
    elif kind == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        trainer = trainers.WordPieceTrainer(vocab_size=800, special_tokens=SPECIALS)
    else:
        tok = Tokenizer(models.Unigram())
        trainer = trainers.UnigramTrainer(
            vocab_size=600, special_tokens=SPECIALS, unk_token="[UNK]"
        )
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(lines, trainer=trainer)
    return tok


@pytest.fixture(scope="module")
def en(data_dir: Path) -> tuple[Path, list[str]]:
    path = data_dir / "en-500.txt"
    return path, lines_of(path)


@pytest.fixture(scope="module")
def bpe(en) -> Tokenizer:
    return train("bpe", en[1])


def read_back(out: Path, index: dict) -> np.ndarray:
    parts = []
    for shard in index["shards"]:
        path = out / shard["file"]
        if index["file_format"] == "npy":
            parts.append(np.load(path, mmap_mode="r"))
        else:
            parts.append(np.memmap(path, dtype=index["dtype"], mode="r"))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=index["dtype"])


def expected(tok: Tokenizer, lines: list[str], head: list[int], tail: list[int]) -> list[int]:
    out: list[int] = []
    for enc in tok.encode_batch(lines):
        if enc.ids:
            out += head + enc.ids + tail
    return out


@pytest.mark.parametrize("kind", ["bpe", "wordpiece", "unigram"])
@pytest.mark.parametrize(("fmt", "shard_tokens"), [("npy", 100_000_000), ("bin", 3001)])
def test_shards_equal_encode_batch_plus_eos(en, tmp_path: Path, kind: str, fmt: str, shard_tokens):
    path, lines = en
    tok = train(kind, lines)
    eos = tok.token_to_id("[EOS]")
    out = tmp_path / "shards"
    index = kneser.encode_corpus(
        str(path), out, tokenizer=tok, eos="[EOS]", format=fmt, shard_tokens=shard_tokens
    )
    want = expected(tok, lines, [], [eos])
    got = read_back(out, index)
    assert got.dtype == np.uint16  # vocabulary of at most 800 ids
    assert got.tolist() == want
    assert index == json.loads((out / "index.json").read_text())
    assert index["tokens"] == len(want)
    assert index["documents"] == sum(1 for e in tok.encode_batch(lines) if e.ids)
    assert index["eod_id"] == eos and index["eod_token"] == "[EOS]"
    assert index["vocab_size"] == tok.get_vocab_size(with_added_tokens=True)
    assert sum(s["tokens"] for s in index["shards"]) == len(want)
    if shard_tokens == 3001:
        assert len(index["shards"]) == -(-len(want) // 3001)
        assert all(s["tokens"] == 3001 for s in index["shards"][:-1])


def test_bos_and_eos_as_ids_texts_and_tokenizer_json(en, bpe, tmp_path: Path):
    _, lines = en
    saved = tmp_path / "tokenizer.json"
    bpe.save(str(saved))
    bos, eos = bpe.token_to_id("[BOS]"), bpe.token_to_id("[EOS]")
    texts = [*lines[:100], "", "   ", *lines[100:150]]
    index = kneser.encode_corpus(
        texts=iter(texts), out_dir=tmp_path / "s", tokenizer=saved, bos=bos, eos=eos
    )
    assert read_back(tmp_path / "s", index).tolist() == expected(bpe, texts, [bos], [eos])
    assert index["empty_lines"] == 2 and index["sources"] == ["<texts>"]


def test_uint32_when_the_vocabulary_is_large(tmp_path: Path):
    words = [f"w{i}" for i in range(70_000)]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="w0"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    texts = ["w69999 w1 w65536", "w3"]
    index = kneser.encode_corpus(texts=texts, out_dir=tmp_path, tokenizer=tok, eos=0)
    got = read_back(tmp_path, index)
    assert index["dtype"] == "uint32" and got.dtype == np.uint32
    assert got.tolist() == [69999, 1, 65536, 0, 3, 0]


def test_bad_arguments(en, bpe, tmp_path: Path):
    path, _ = en
    with pytest.raises(kneser.ArgumentError, match="not a token of the tokenizer"):
        kneser.encode_corpus(str(path), tmp_path / "a", tokenizer=bpe, eos="</s>")
    with pytest.raises(kneser.ArgumentError, match="not an id of the tokenizer"):
        kneser.encode_corpus(str(path), tmp_path / "a", tokenizer=bpe, eos=10**6)
    junk = tmp_path / "junk.json"
    junk.write_text('{"model": 3}')
    with pytest.raises(kneser.FormatError, match=r"junk\.json: not a tokenizers tokenizer\.json"):
        kneser.encode_corpus(str(path), tmp_path / "a", tokenizer=junk)
    with pytest.raises(TypeError, match="eos="):
        kneser.encode_corpus(str(path), tmp_path / "a", tokenizer=bpe, eod="[EOS]")
    with pytest.raises(TypeError, match="files="):
        kneser.encode_corpus([str(path)], tmp_path / "a", tokenizer=bpe)
    with pytest.raises(TypeError, match=r"tokenizers\.Tokenizer"):
        kneser.encode_corpus(str(path), tmp_path / "a", tokenizer=42)
    with pytest.raises(FileNotFoundError):
        kneser.encode_corpus(str(path), tmp_path / "a", tokenizer=tmp_path / "missing.json")
    assert not (tmp_path / "a" / "index.json").exists()


def test_cli_encode_with_tokenizer_json(en, bpe, tmp_path: Path):
    path, lines = en
    saved = tmp_path / "tokenizer.json"
    bpe.save(str(saved))
    out = tmp_path / "cli"
    r = subprocess.run(
        [sys.executable, "-m", "kneser.cli", "encode", str(path), "--tokenizer", str(saved),
         "--eos", "[EOS]", "--format", "bin", "-o", str(out)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    index = json.loads((out / "index.json").read_text())
    eos = bpe.token_to_id("[EOS]")
    assert read_back(out, index).tolist() == expected(bpe, lines, [], [eos])
    r = subprocess.run(
        [sys.executable, "-m", "kneser.cli", "encode", str(path), "--tokenizer", str(saved),
         "--eos", "nope", "-o", str(tmp_path / "bad")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert r.returncode != 0 and "not a token of the tokenizer" in r.stderr
    assert "Traceback" not in r.stderr


def test_pipeline_shards_through_a_tokenizer(en, bpe, tmp_path: Path):
    _, lines = en
    docs = tmp_path / "docs.txt"
    docs.write_text("\n".join(lines[:200]) + "\n", encoding="utf-8")
    kneser.estimate(order=2, files=[docs], arpa=tmp_path / "lm.arpa")
    pipe = kneser.Pipeline(kneser.Model(tmp_path / "lm.arpa"), dedup=None)
    report = pipe.run(
        docs, tmp_path / "kept.jsonl", format="text", shards=tmp_path / "sh",
        shard_tokenizer=bpe, shard_eos="[EOS]",
    )  # fmt: skip
    kept = [json.loads(x)["text"] for x in (tmp_path / "kept.jsonl").read_text().splitlines()]
    index = json.loads((tmp_path / "sh" / "index.json").read_text())
    eos = bpe.token_to_id("[EOS]")
    assert read_back(tmp_path / "sh", index).tolist() == expected(bpe, kept, [], [eos])
    assert report.shards is not None and report.shards["tokens"] == index["tokens"]


def test_vocab_to_tokenizers_round_trip(data_dir: Path, tmp_path: Path):
    for name in ["en-500.txt", "zh-sample.txt"]:
        lines = lines_of(data_dir / name)
        vocab = kneser.Vocab.build(texts=lines[: len(lines) // 2])  # unknown words in the rest
        tok = vocab.to_tokenizers()
        vocab.save_tokenizer_json(tmp_path / "tokenizer.json")
        loaded = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
        extra = ["a\tb\x00c  \r d", " <s> x </s> ", "\u00a0nbsp\u3000kept"]
        for line in lines + extra:
            want = vocab.encode(line).tolist()
            assert tok.encode(line).ids == want, line
            assert loaded.encode(line).ids == want, line
    assert loaded.get_vocab() == vocab.get_vocab()
    without_unk = kneser.Vocab.build(texts=["a b"], specials=["[UNK]"])
    with pytest.raises(kneser.ArgumentError, match="no unknown token; WordLevel needs one"):
        without_unk.to_tokenizers()


def unk_of(tok: Tokenizer) -> int | None:
    model = json.loads(tok.to_str())["model"]
    if model.get("unk_token") is not None:
        return tok.token_to_id(model["unk_token"])
    return model.get("unk_id")


@pytest.mark.parametrize("kind", ["bpe", "wordpiece", "unigram"])
def test_unknown_tokens_are_counted(en, tmp_path: Path, kind: str):
    _, lines = en
    tok = train(kind, lines)
    unk = unk_of(tok)
    assert unk is not None
    # Characters the tokenizer never saw become its unknown token.
    texts = [*lines[:50], "ǂ ǃ ʘ", "the ǂ cat", *lines[50:80]]
    eos = tok.token_to_id("[EOS]")
    index = kneser.encode_corpus(texts=texts, out_dir=tmp_path / "s", tokenizer=tok, eos=eos)
    ids = read_back(tmp_path / "s", index).tolist()
    assert ids == expected(tok, texts, [], [eos])
    assert index["unk_tokens"] == ids.count(unk) > 0
    # Known text only: none.
    known = kneser.encode_corpus(texts=lines[:50], out_dir=tmp_path / "k", tokenizer=tok)
    assert known["unk_tokens"] == read_back(tmp_path / "k", known).tolist().count(unk) == 0


def test_a_tokenizer_without_unknown_token_counts_none(tmp_path: Path):
    tok = Tokenizer(models.WordPiece({"[UNK]": 0, "a": 1, "b": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    index = kneser.encode_corpus(texts=["a zz b", "zz"], out_dir=tmp_path / "w", tokenizer=tok)
    assert read_back(tmp_path / "w", index).tolist() == [1, 0, 2, 0]
    assert index["unk_tokens"] == 2
    # Byte-level BPE has no unknown token: 0 is id 0, not an unknown.
    bl = Tokenizer(models.BPE())
    bl.pre_tokenizer = pre_tokenizers.ByteLevel()
    bl.train_from_iterator(["a b c"] * 10, trainers.BpeTrainer(vocab_size=300, show_progress=False,
                           initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))  # fmt: skip
    index = kneser.encode_corpus(texts=["a b ǂ"], out_dir=tmp_path / "b", tokenizer=bl)
    assert index["tokens"] > 0 and index["unk_tokens"] == 0


def test_tables_through_a_tokenizer(en, bpe, tmp_path: Path):
    pa = pytest.importorskip("pyarrow")
    datasets = pytest.importorskip("datasets")
    _, lines = en
    eos = bpe.token_to_id("[EOS]")
    want = expected(bpe, lines, [], [eos])
    for i, table in enumerate(
        [pa.table({"text": lines}), datasets.Dataset.from_dict({"text": lines})]
    ):
        index = kneser.encode_corpus(table, tmp_path / f"t{i}", tokenizer=bpe, eos="[EOS]")
        assert read_back(tmp_path / f"t{i}", index).tolist() == want
