"""Parquet and Arrow in and out: the same kept documents and perplexities as the JSON-lines
run of the same data; read_lines on Parquet; a pyarrow.Table (and datasets.Dataset) as a
source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import kneser

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


@pytest.fixture(scope="module")
def data(tmp_path_factory, data_dir: Path):
    d = tmp_path_factory.mktemp("pq")
    kneser.estimate(data_dir / "lmplz" / "book.txt", order=3, arpa=d / "lm.arpa")
    lines = (data_dir / "lmplz" / "book.txt").read_text(encoding="utf-8").splitlines()[:400]
    docs = [
        {"id": i, "url": f"u{i}", "text": t + ("\n" + lines[i - 1] if i % 7 == 0 else "")}
        for i, t in enumerate(lines)
        if t.strip()
    ]
    docs += docs[:5]  # duplicates, dropped by both runs
    with open(d / "in.jsonl", "w", encoding="utf-8") as f:
        for doc in docs:
            f.write(json.dumps(doc) + "\n")
    # Several row groups, and a name that does not say Parquet: detected by content.
    pq.write_table(pa.Table.from_pylist(docs), d / "in.data", row_group_size=50)
    return d, docs


def run(d: Path, source, output: Path):
    pipe = kneser.Pipeline(kneser.Model(d / "lm.arpa"), percentiles=(30, 60), batch_size=64)
    return pipe.run(source, output)


def read_jsonl(path: Path):
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_parquet_in_and_out_equal_the_jsonl_run(data, tmp_path: Path):
    d, _ = data
    r_json = run(d, d / "in.jsonl", tmp_path / "out.jsonl")
    r_pq = run(d, d / "in.data", tmp_path / "out.parquet")
    want = read_jsonl(tmp_path / "out.jsonl")
    got = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert len(want) > 50 and got == want
    assert r_pq.kept == r_json.kept and r_pq.cutoffs == r_json.cutoffs
    assert r_pq.duplicates == r_json.duplicates == 5
    # Parquet in, JSON lines out; JSON lines in, Parquet out.
    run(d, d / "in.data", tmp_path / "mixed.jsonl")
    assert read_jsonl(tmp_path / "mixed.jsonl") == want


def test_a_pyarrow_table_and_a_dataset_as_sources(data, tmp_path: Path):
    d, docs = data
    run(d, d / "in.jsonl", tmp_path / "out.jsonl")
    want = read_jsonl(tmp_path / "out.jsonl")
    run(d, pa.Table.from_pylist(docs), tmp_path / "t.jsonl")
    assert read_jsonl(tmp_path / "t.jsonl") == want
    datasets = pytest.importorskip("datasets")
    run(d, datasets.Dataset.from_list(docs), tmp_path / "ds.jsonl")
    assert read_jsonl(tmp_path / "ds.jsonl") == want


def test_read_lines_on_parquet(data, tmp_path: Path):
    d, docs = data
    got = [pair for batch in kneser.read_lines(d / "in.data", batch_size=33) for pair in batch]
    assert got == [(i + 1, doc["text"]) for i, doc in enumerate(docs)]
    with pytest.raises(kneser.FormatError, match="no column 'body'"):
        next(iter(kneser.read_lines(d / "in.data", column="body")))
    # Plain files still go to the core reader.
    (tmp_path / "a.txt").write_text("x\ny\n", encoding="utf-8")
    assert list(kneser.read_lines(tmp_path / "a.txt")) == [[(1, "x"), (2, "y")]]


def test_a_missing_text_column_names_the_file(data, tmp_path: Path):
    d, _ = data
    pq.write_table(pa.table({"body": ["a b"]}), tmp_path / "b.parquet")
    with pytest.raises(kneser.FormatError, match=r"b\.parquet: no column 'text'"):
        run(d, tmp_path / "b.parquet", tmp_path / "o.jsonl")
    assert not (tmp_path / "o.jsonl").exists()
