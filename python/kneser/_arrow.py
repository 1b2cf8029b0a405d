"""Parquet and Arrow at kneser's Python edges, through ``pyarrow`` (the ``parquet`` extra).

- Inputs: a Parquet file is recognised by its content (the magic ``PAR1``, by the core's
  ``kneser.is_parquet``, where every input format is recognised), never by its name,
  and read streaming, one record batch of a row group at a time
  (``pyarrow.parquet.ParquetFile.iter_batches``); a ``pyarrow.Table`` or a huggingface
  ``datasets.Dataset`` is taken as a source as it is: by ``Pipeline.run`` (rows, the text in
  its ``field``) and, through the one source rule (``rust/kneser-py/src/sources.rs``), by
  ``Vocab.build``, ``estimate``, ``count`` and ``encode_corpus`` (:func:`table_texts`).
- The one converter between Arrow rows and the core's JSON-lines documents: :func:`documents`
  (rows to texts and JSON lines for ``PipelineJob.documents``) and :meth:`ParquetSink.add_lines`
  (the job's written lines back to rows).
- Output: :class:`ParquetSink` writes rows (dicts) in row groups through the core's output
  layer (``kneser.OutputFile``: a temp file renamed into place on commit, so a crash never
  leaves a half-written Parquet file under its name).

``pyarrow`` is imported only when one of these is used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

from ._errors import FormatError


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as e:
        raise ImportError(
            "Parquet/Arrow needs pyarrow, an optional extra: pip install 'kneser[parquet]'"
        ) from e
    return pyarrow


def documents(
    batches: Iterator[list[dict[str, Any]]], field: str
) -> Iterator[tuple[list[str], list[bytes]]]:
    """Parquet/Arrow rows as the core pipeline job's documents (``PipelineJob.documents``):
    each batch's texts (the str ``field``; a row whose ``field`` is null is skipped) and JSON
    lines (``json.dumps(row, ensure_ascii=False)``, what the job writes back with
    ``perplexity`` and ``bucket``)."""
    for rows in batches:
        kept = [r for r in rows if isinstance(r.get(field), str)]
        yield (
            [r[field] for r in kept],
            [json.dumps(r, ensure_ascii=False).encode("utf-8") for r in kept],
        )


def json_row(line: bytes) -> dict[str, Any]:
    """A document's JSON line (written by the core, so valid) as a :class:`ParquetSink` row."""
    row: dict[str, Any] = json.loads(line)
    return row


def is_arrow_source(obj: Any) -> bool:
    """A ``pyarrow.Table`` or a ``datasets.Dataset`` (checked without importing either)."""
    mod = type(obj).__module__
    name = type(obj).__name__
    return (mod.startswith("pyarrow") and name == "Table") or (
        mod.startswith("datasets") and name == "Dataset"
    )


#: Rows converted to Python str at once by :func:`table_texts`.
TABLE_BATCH = 8192


def text_column(names: list[str] | None, api: str, what: str) -> str:
    """The column a table's texts come from: ``"text"``, else its only column."""
    if names is None or "text" in names:
        return "text"
    if len(names) == 1:
        return names[0]
    raise TypeError(
        f"{api}: the {what} has no column 'text' and several columns ({', '.join(names)}): "
        f"select the one holding the texts, e.g. table.select([name]) or "
        f"dataset.select_columns([name])"
    )


def table_texts(obj: Any, api: str) -> Iterator[str]:
    """The texts of a ``pyarrow.Table``, ``datasets.Dataset`` or ``datasets.IterableDataset``
    as str, one record batch of :data:`TABLE_BATCH` rows converted at a time (the table is
    never copied whole); the column is chosen by :func:`text_column`; nulls are skipped.

    The column is checked when this is called, before any text is read: a column that is not
    of strings is a TypeError."""
    what = type(obj).__name__
    column = text_column(None if obj.column_names is None else list(obj.column_names), api, what)
    if type(obj).__module__.startswith("pyarrow"):
        pa = _pyarrow()
        kind = obj.schema.field(column).type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            raise TypeError(f"{api}: column {column!r} of the {what} holds {kind}, not strings")

        def arrow() -> Iterator[str]:
            for batch in obj.select([column]).to_batches(max_chunksize=TABLE_BATCH):
                for text in batch.column(0).to_pylist():
                    if text is not None:
                        yield text

        return arrow()
    features = getattr(obj, "features", None)
    if features is not None and column in features:
        dtype = getattr(features[column], "dtype", None)
        if dtype not in ("string", "large_string"):
            raise TypeError(f"{api}: column {column!r} of the {what} holds {dtype}, not strings")
    if not hasattr(obj, "select_columns"):
        raise TypeError(f"{api}: cannot read columns of a {what}")

    def dataset() -> Iterator[str]:
        for batch in obj.select_columns([column]).iter(batch_size=TABLE_BATCH):
            for text in batch[column]:
                if text is not None:
                    yield text

    return dataset()


def source_name(obj: Any) -> str:
    return os.fspath(obj) if isinstance(obj, (str, os.PathLike)) else f"<{type(obj).__name__}>"


def _check_column(names: list[str], column: str, where: str) -> None:
    if column not in names:
        raise FormatError(f"{where}: no column {column!r} (columns: {', '.join(names)})")


def parquet_rows(
    path: str | os.PathLike[str], batch_size: int, column: str
) -> Iterator[list[dict[str, Any]]]:
    """Rows of a Parquet file as dicts, one record batch at a time."""
    pa = _pyarrow()
    name = os.fspath(path)
    try:
        pf = pa.parquet.ParquetFile(name)
    except (pa.ArrowException, OSError) as e:
        raise FormatError(f"{name}: not a readable Parquet file: {e}") from None
    _check_column(pf.schema_arrow.names, column, name)
    for batch in pf.iter_batches(batch_size=batch_size):
        yield batch.to_pylist()


def arrow_rows(obj: Any, batch_size: int, column: str) -> Iterator[list[dict[str, Any]]]:
    """Rows of a ``pyarrow.Table`` or a ``datasets.Dataset`` as dicts, in batches."""
    where = source_name(obj)
    if type(obj).__module__.startswith("datasets"):
        _check_column(list(obj.column_names), column, where)
        for cols in obj.iter(batch_size=batch_size):
            keys = list(cols)
            yield [dict(zip(keys, vals)) for vals in zip(*(cols[k] for k in keys))]
        return
    _check_column(obj.column_names, column, where)
    for batch in obj.to_batches(max_chunksize=batch_size):
        yield batch.to_pylist()


def text_batches(
    path: str | os.PathLike[str], batch_size: int, column: str
) -> Iterator[list[tuple[int, str | None]]]:
    """``read_lines``' shape for a Parquet file: ``(row number, text)``, 1-based; a null text
    is None, as an invalid line with ``errors="skip"``."""
    pa = _pyarrow()
    name = os.fspath(path)
    pf = pa.parquet.ParquetFile(name)
    _check_column(pf.schema_arrow.names, column, name)
    row = 0
    for batch in pf.iter_batches(batch_size=batch_size, columns=[column]):
        texts = batch.column(0).to_pylist()
        yield [(row + i + 1, t) for i, t in enumerate(texts)]
        row += len(texts)


class _Stream:
    """The file-like face of a ``kneser.OutputFile`` that ``pyarrow`` writes to."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self.pos = 0
        self.closed = False

    def write(self, data: Any) -> int:
        b = bytes(data)
        self.out.write(b)
        self.pos += len(b)
        return len(b)

    def tell(self) -> int:
        return self.pos

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


class ParquetSink:
    """Rows (dicts) to Parquet through ``out`` (a ``kneser.OutputFile``), ``rows_per_group`` at
    a time; the schema is the first group's, later rows are cast to it."""

    def __init__(self, out: Any, rows_per_group: int = 10_000) -> None:
        self.pa = _pyarrow()
        self.stream = self.pa.PythonFile(_Stream(out), mode="w")
        self.rows: list[dict[str, Any]] = []
        self.rows_per_group = rows_per_group
        self.writer: Any = None
        self.schema: Any = None

    def add_lines(self, lines: bytes) -> None:
        """The core job's written documents (JSON lines, each with its ``perplexity`` and
        ``bucket``) as rows."""
        for line in lines.splitlines():
            if line:
                self.add(json_row(line))

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.rows_per_group:
            self._flush()

    def _flush(self) -> None:
        if not self.rows and self.writer is not None:
            return
        table = self.pa.Table.from_pylist(self.rows, schema=self.schema)
        if self.writer is None:
            self.schema = table.schema
            self.writer = self.pa.parquet.ParquetWriter(self.stream, self.schema)
        if self.rows:
            self.writer.write_table(table)
        self.rows = []

    def close(self) -> None:
        """Writes the rest and the footer (an empty file still gets a valid, empty table)."""
        self._flush()
        self.writer.close()
