"""Explicit corpus sources of `Vocab.build`, `estimate`, `count` and `encode_corpus`: a
positional path, `files=` or `texts=` (huggingface tokenizers' `train(files)` /
`train_from_iterator` split), every source type of every API, and the TypeError of an
ambiguous one; plus `Vocab.decode`'s checks of token ids."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import kneser

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], Path, Path, Path]:
    """The first 600 lines of book.txt: as lines, as one file, and as two files (a, b)."""
    d = tmp_path_factory.mktemp("sources")
    lines = (DATA / "lmplz" / "book.txt").read_text(encoding="utf-8").splitlines()[:600]
    whole, a, b = d / "whole.txt", d / "a.txt", d / "b.txt"
    whole.write_text("\n".join(lines) + "\n", encoding="utf-8")
    a.write_text("\n".join(lines[:250]) + "\n", encoding="utf-8")
    b.write_text("\n".join(lines[250:]) + "\n", encoding="utf-8")
    return lines, whole, a, b


def _file_sources(whole: Path, a: Path, b: Path) -> list[dict]:
    """Every way of naming the same files."""
    return [
        {"source": whole},
        {"source": str(whole)},
        {"files": whole},
        {"files": str(whole)},
        {"files": [a, b]},
        {"files": (str(a), str(b))},
        {"files": (p for p in (a, b))},
        {"files": iter([str(a), b])},
    ]


def _text_sources(lines: list[str]) -> list[dict]:
    """Every way of giving the same lines."""
    return [
        {"texts": lines},
        {"texts": tuple(lines)},
        {"texts": iter(lines)},
        {"texts": (line for line in lines)},
        {"texts": np.array(lines)},
    ]


class Bytesy:
    def __fspath__(self) -> bytes:
        return b"/tmp/x.txt"


# Sources a caller could mean either way, or that are no corpus at all: (kwargs, message).
AMBIGUOUS = [
    ({"source": ["a.txt", "b.txt"]}, r"a list could hold paths or lines of text.*files="),
    ({"source": ("a.txt", "b.txt")}, r"a tuple could hold paths or lines of text.*files="),
    ({"source": (x for x in ["a b"])}, r"a generator could hold paths.*texts="),
    ({"source": iter(["a b"])}, r"could hold paths or lines of text"),
    ({"source": b"corpus.txt"}, r"bytes could be a path or text"),
    ({"source": bytearray(b"a b")}, r"bytes could be a path or text"),
    ({"source": 3}, r"one path .*got int"),
    ({"files": b"corpus.txt"}, r"files= got bytes; give the path as str"),
    ({"files": [b"a.txt"]}, r"files= item 0 is bytes, not a path.*os\.fsdecode"),
    ({"files": ["a.txt", 3]}, r"files= item 1 is int"),
    ({"files": Bytesy()}, r"files= takes a path or an iterable of paths"),
    ({"files": 3.5}, r"files= takes a path or an iterable"),
    ({"texts": "the cat sat"}, r"single str .*character by character.*texts=\[text\]"),
    ({"texts": b"the cat sat"}, r"texts= takes an iterable of str, got bytes: decode it"),
    ({"texts": Path("corpus.txt")}, r"texts= got a path .*files="),
    ({"texts": 7}, r"texts= takes an iterable of str, got int"),
    ({"texts": ["a", 3]}, r"texts= item 1 is int, not str"),
    ({"texts": ["a", b"b c"]}, r"texts= item 1 is bytes, not str \(decode it first\)"),
    ({"source": "a.txt", "texts": ["a"]}, r"give the corpus once"),
    ({"files": ["a.txt"], "texts": ["a"]}, r"give the corpus once"),
    ({}, r"no corpus given"),
]


def _apis(tmp: Path, vocab: kneser.Vocab):
    """name -> call(kwargs) for the four APIs (with what else each needs)."""
    return {
        "Vocab.build": lambda kw: kneser.Vocab.build(**kw),
        "estimate": lambda kw: kneser.estimate(
            **kw, order=2, arpa=tmp / "x.arpa", discount_fallback=True
        ),
        "count": lambda kw: kneser.count(**kw, order=2, output=tmp / "x.counts"),
        "encode_corpus": lambda kw: kneser.encode_corpus(**kw, vocab=vocab, out_dir=tmp / "x"),
    }


@pytest.mark.parametrize("api", ["Vocab.build", "estimate", "count", "encode_corpus"])
@pytest.mark.parametrize(("kwargs", "message"), AMBIGUOUS)
def test_ambiguous_sources_are_type_errors(tmp_path, corpus, api, kwargs, message) -> None:
    vocab = kneser.Vocab.build(texts=corpus[0])
    call = _apis(tmp_path, vocab)[api]
    with pytest.raises(TypeError, match=message):
        call(dict(kwargs))
    # No file was written (encode_corpus may have made its output directory).
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("api", ["Vocab.build", "estimate", "count", "encode_corpus"])
def test_empty_files_is_an_argument_error(tmp_path, corpus, api) -> None:
    vocab = kneser.Vocab.build(texts=corpus[0])
    with pytest.raises(kneser.ArgumentError, match="files= holds no path"):
        _apis(tmp_path, vocab)[api]({"files": []})


def test_vocab_build_every_source(corpus) -> None:
    lines, whole, a, b = corpus
    want = kneser.Vocab.build(whole)
    for kw in _file_sources(whole, a, b) + _text_sources(lines):
        v = kneser.Vocab.build(**kw, min_count=1)
        assert v.tokens() == want.tokens(), kw
        assert v.counts().tolist() == want.counts().tolist(), kw


def test_estimate_summary_times_every_stage_in_turn(tmp_path, corpus) -> None:
    """``stage_seconds``: each stage's wall time, one entry a stage, in the order the stages
    run (the values are clock readings, not asserted beyond their sign)."""
    _, whole, _, _ = corpus
    for order in (1, 2, 4):
        summary = kneser.estimate(whole, order, tmp_path / f"o{order}.arpa")
        stages = summary["stage_seconds"]
        want = ["count", "adjust", "discount", *(["initial 2"] if order > 1 else []), "write 1"]
        for k in range(2, order + 1):
            want += [f"initial {k + 1}"] if k < order else []
            want.append(f"write {k}")
        assert list(stages) == [*want, "finish"]
        assert all(s >= 0 for s in stages.values())


def test_estimate_every_source(tmp_path, corpus) -> None:
    lines, whole, a, b = corpus
    ref = tmp_path / "ref.arpa"
    kneser.estimate(whole, 3, ref)  # positionally, as before
    want = ref.read_bytes()
    for i, kw in enumerate(_file_sources(whole, a, b) + _text_sources(lines)):
        out = tmp_path / f"{i}.arpa"
        summary = kneser.estimate(**kw, order=3, arpa=out)
        assert out.read_bytes() == want, kw
        assert summary["tokens"] > 0
    with pytest.raises(TypeError, match="missing required argument: 'order'"):
        kneser.estimate(whole, arpa=tmp_path / "y.arpa")
    with pytest.raises(ValueError, match="not both"):
        kneser.estimate(whole, 3, tmp_path / "y.arpa", from_counts=[tmp_path / "c"])


def test_count_every_source(tmp_path, corpus) -> None:
    lines, whole, a, b = corpus
    ref = tmp_path / "ref.counts"
    kneser.count(whole, 3, ref)
    kneser.estimate(order=3, arpa=tmp_path / "ref.arpa", from_counts=[ref])
    want = (tmp_path / "ref.arpa").read_bytes()
    for i, kw in enumerate(_file_sources(whole, a, b) + _text_sources(lines)):
        out = tmp_path / f"{i}.counts"
        info = kneser.count(**kw, order=3, output=out)
        assert info["order"] == 3
        arpa = tmp_path / f"{i}.arpa"
        kneser.estimate(order=3, arpa=arpa, from_counts=[out])
        assert arpa.read_bytes() == want, kw


def test_encode_corpus_every_source(tmp_path, corpus) -> None:
    lines, whole, a, b = corpus
    vocab = kneser.Vocab.build(texts=lines[:300], min_count=2)

    def shards(out: Path, index: dict) -> list[int]:
        return np.concatenate([np.load(out / s["file"]) for s in index["shards"]]).tolist()

    ref = kneser.encode_corpus(whole, vocab, tmp_path / "ref", shard_tokens=1000)
    want = shards(tmp_path / "ref", ref)
    for i, kw in enumerate(_file_sources(whole, a, b) + _text_sources(lines)):
        out = tmp_path / f"o{i}"
        index = kneser.encode_corpus(**kw, vocab=vocab, out_dir=out, shard_tokens=1000)
        assert shards(out, index) == want, kw
        assert (index["documents"], index["tokens"]) == (ref["documents"], ref["tokens"])
        on_disk = json.loads((out / "index.json").read_text())
        assert on_disk == index
        assert index["sources"] == (["<texts>"] if "texts" in kw else index["sources"])
    # An unknown token in texts is reported with the text's number.
    with pytest.raises(kneser.FormatError, match=r"<texts>:2: token \"zzqx\""):
        kneser.encode_corpus(
            texts=["the", "zzqx"], vocab=vocab, out_dir=tmp_path / "u", unk="raise"
        )


def test_a_broken_texts_iterable_propagates(tmp_path, corpus) -> None:
    def lines():
        yield "a b c"
        raise RuntimeError("source broke")

    vocab = kneser.Vocab.build(texts=corpus[0])
    for call in _apis(tmp_path, vocab).values():
        with pytest.raises(RuntimeError, match="source broke"):
            call({"texts": lines()})
    assert not (tmp_path / "x.arpa").exists() and not (tmp_path / "x.counts").exists()


def test_a_positional_path_that_is_text_is_not_found(tmp_path) -> None:
    # The positional source is always a path: text given there is never read as text.
    with pytest.raises(kneser.NotFoundError):
        kneser.Vocab.build("the cat sat on the mat")


# --- Vocab.decode: token ids checked as numpy users expect -------------------------------------


@pytest.fixture(scope="module")
def small_vocab() -> kneser.Vocab:
    return kneser.Vocab.build(texts=["a b c", "b c", "c"])


def test_decode_accepts_every_integer_form(small_vocab) -> None:
    ids = small_vocab.encode("c a b")
    want = "c a b"
    for form in [
        ids,
        ids.tolist(),
        tuple(ids.tolist()),
        iter(ids.tolist()),
        [np.int64(i) for i in ids],
        ids.astype(np.uint8),
        ids.astype(np.int8),
        ids.astype(np.int16),
        ids.astype(np.int64),
        ids.astype(np.uint64),
        ids.astype(object),
        ids[::-1][::-1],  # a strided view
    ]:
        assert small_vocab.decode(form) == want, form
    assert small_vocab.decode(np.array([], dtype=np.int64)) == ""


@pytest.mark.parametrize(
    ("ids", "error", "message"),
    [
        (np.array([3, -1]), OverflowError, r"id -1 at index 1 is out of range"),
        ([3, -1], OverflowError, r"id -1 at index 1 is out of range"),
        (np.array([2**32], dtype=np.int64), OverflowError, r"id 4294967296 at index 0"),
        (np.array([2**63], dtype=np.uint64), OverflowError, r"id 9223372036854775808"),
        ([2**70], OverflowError, r"id 1180591620717411303424 at index 0"),
        (np.array([3.0, 4.0]), TypeError, r"integers, got an array of dtype float64"),
        (np.array([3.7]), TypeError, r"dtype float64"),
        ([3, 4.0], TypeError, r"integers, got float at index 1"),
        ([np.float32(3)], TypeError, r"got float32 at index 0"),
        (np.array([True, False]), TypeError, r"dtype bool"),
        ([True], TypeError, r"integers, got bool at index 0"),
        (np.array(["3"]), TypeError, r"dtype <U1"),
        (["3"], TypeError, r"got str at index 0"),
        ("3 4", TypeError, r"got a str"),
        (np.array([1 + 2j]), TypeError, r"dtype complex128"),
        (np.zeros((2, 2), dtype=np.uint32), ValueError, r"one-dimensional, got an array of 2"),
        (5, TypeError, r"a sequence or a numpy array of integers, got int"),
    ],
)
def test_decode_refuses_what_would_wrap_or_truncate(small_vocab, ids, error, message) -> None:
    with pytest.raises(error, match=message):
        small_vocab.decode(ids)


def test_decode_ids_outside_the_vocabulary(small_vocab) -> None:
    with pytest.raises(kneser.ArgumentError, match="out of range"):
        small_vocab.decode([len(small_vocab)])
    with pytest.raises(kneser.ArgumentError):
        small_vocab.decode(np.array([2**32 - 1], dtype=np.uint32))


# --- tables (pyarrow.Table, datasets.Dataset) through the same rule ---------------------------


def _table_sources(lines: list[str]) -> list[dict]:
    """The same lines as tables: positional and as texts=, in several record batches, with a
    null to skip, a lone column not named "text", a datasets.Dataset and IterableDataset."""
    pa = pytest.importorskip("pyarrow")
    datasets = pytest.importorskip("datasets")
    table = pa.table({"text": lines, "n": list(range(len(lines)))})
    chunked = pa.concat_tables([table.slice(0, 100), table.slice(100, 77), table.slice(177)])
    assert chunked.column("text").num_chunks == 3
    with_null = pa.table({"text": [*lines[:10], None, *lines[10:]]})
    lone = pa.table({"body": pa.array(lines, type=pa.large_string())})
    dataset = datasets.Dataset.from_dict({"text": lines, "id": list(range(len(lines)))})
    return [
        {"source": table},
        {"texts": table},
        {"source": chunked},
        {"source": with_null},
        {"texts": lone},
        {"source": dataset},
        {"texts": dataset.to_iterable_dataset()},
    ]


@pytest.mark.parametrize("api", ["Vocab.build", "estimate", "count", "encode_corpus"])
def test_tables_are_sources_of_every_api(tmp_path, corpus, api) -> None:
    lines, whole, _, _ = corpus
    vocab = kneser.Vocab.build(texts=lines[:300], min_count=2)

    def result(kw: dict, out: Path) -> object:
        if api == "Vocab.build":
            v = kneser.Vocab.build(**kw)
            return v.tokens(), v.counts().tolist()
        if api == "estimate":
            kneser.estimate(**kw, order=3, arpa=out)
            return out.read_bytes()
        if api == "count":
            kneser.count(**kw, order=3, output=out)
            kneser.estimate(order=3, arpa=out.with_suffix(".arpa"), from_counts=[out])
            return out.with_suffix(".arpa").read_bytes()
        index = kneser.encode_corpus(**kw, vocab=vocab, out_dir=out, shard_tokens=1000)
        ids = np.concatenate([np.load(out / s["file"]) for s in index["shards"]]).tolist()
        return ids, index["documents"], index["tokens"]

    want = result({"source": whole}, tmp_path / "ref")
    for i, kw in enumerate(_table_sources(lines)):
        assert result(kw, tmp_path / f"t{i}") == want, kw


@pytest.mark.parametrize("api", ["Vocab.build", "estimate", "count", "encode_corpus"])
def test_tables_that_are_no_corpus_are_type_errors(tmp_path, corpus, api) -> None:
    pa = pytest.importorskip("pyarrow")
    lines = corpus[0]
    vocab = kneser.Vocab.build(texts=lines)
    call = _apis(tmp_path, vocab)[api]
    two = pa.table({"a": lines[:3], "b": lines[3:6]})
    numbers = pa.table({"text": [1, 2, 3]})
    cases = [
        ({"files": pa.table({"text": lines[:3]})}, r"files= takes paths, got a Table"),
        ({"source": two}, r"no column 'text' and several columns \(a, b\).*select"),
        ({"texts": two}, r"no column 'text'"),
        ({"source": numbers}, r"column 'text' of the Table holds int64, not strings"),
    ]
    for kwargs, message in cases:
        with pytest.raises(TypeError, match=message):
            call(dict(kwargs))
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
