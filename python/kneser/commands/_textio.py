"""Streaming line input and output shared by the text subcommands (clean, tokenize).

Input: files (plain, gzip, xz, bzip2, or zstd when the ``zstandard`` module is installed,
recognised by their magic bytes) or standard input (``-`` or no file). Lines are read as bytes,
decoded as strict UTF-8 (an error names the file and line, or ``--errors replace`` replaces bad
bytes) and yielded in batches, so memory is bounded by the batch size. Output goes to standard
output or to a file written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import argparse
import bz2
import contextlib
import gzip
import io
import json
import lzma
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from kneser._errors import FormatError, NotFoundError

DEFAULT_BATCH = 20_000


def add_io_arguments(parser: argparse.ArgumentParser) -> None:
    """The input, output, JSON-lines and batching options common to the text subcommands."""
    parser.add_argument(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help="input files (plain, gz, xz, bz2; '-' or none: standard input)",
    )
    parser.add_argument(
        "-o", "--output", metavar="PATH", help="output file (default: standard output)"
    )
    parser.add_argument(
        "--jsonl", action="store_true", help="the input is JSON lines; process one field"
    )
    parser.add_argument("--field", default="text", help="the JSON field to process (default: text)")
    parser.add_argument(
        "--errors",
        choices=("strict", "replace"),
        default="strict",
        help="invalid UTF-8: stop with an error naming file and line (default) or replace it",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH,
        metavar="N",
        help=f"lines per parallel batch (default: {DEFAULT_BATCH})",
    )


def _open_binary(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    try:
        raw = open(path, "rb")  # closed by the caller
    except FileNotFoundError as err:
        raise NotFoundError(2, f"no such file: {path}", path) from err
    head = raw.peek(6)[:6] if isinstance(raw, io.BufferedReader) else b""
    if head.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    if head.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(raw)  # type: ignore[return-value]
    if head.startswith(b"BZh"):
        return bz2.BZ2File(raw)  # type: ignore[return-value]
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        try:
            import zstandard  # type: ignore[import-not-found]
        except ImportError as err:
            raw.close()
            raise FormatError(
                f"{path} is zstd-compressed; install the zstandard module or decompress it"
            ) from err
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw))
    return raw


def read_lines(paths: list[str], errors: str) -> Iterator[tuple[str, int, str]]:
    """Yields (file name, 1-based line number, line without its newline) for every input."""
    for path in paths or ["-"]:
        name = "<stdin>" if path == "-" else path
        stream = _open_binary(path)
        try:
            for number, raw in enumerate(stream, 1):
                if raw.endswith(b"\n"):
                    raw = raw[:-1]
                try:
                    line = raw.decode("utf-8", errors)
                except UnicodeDecodeError as err:
                    raise FormatError(
                        f"{name}:{number}: invalid UTF-8 at byte {err.start} "
                        "(use --errors replace to replace it)"
                    ) from None
                yield name, number, line
        finally:
            if path != "-":
                stream.close()


def batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive lists of at most ``size`` items."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@contextlib.contextmanager
def open_output(path: str | None) -> Iterator[IO[str]]:
    """Standard output, or ``path`` written under a temporary name and renamed on success."""
    if path is None or path == "-":
        out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")
        try:
            yield out
            out.flush()
        finally:
            out.detach()
        return
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            yield out
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def process(
    args: argparse.Namespace,
    batch_fn: Callable[[list[str]], list[Any]],
    format_plain: Callable[[Any], str],
) -> int:
    """Streams the inputs through ``batch_fn`` in batches and writes the results.

    Plain text: each output line is ``format_plain(result)``. JSON lines: the field
    ``args.field`` of each object is replaced by the result (or ``args.output_field`` is set,
    when the command has that option); empty lines are kept empty.
    """
    if args.batch_size < 1:
        raise SystemExit("kneser: error: --batch-size must be at least 1")
    out_field = getattr(args, "output_field", None) or args.field
    lines = read_lines(args.inputs, args.errors)
    with open_output(args.output) as out:
        for batch in batches(lines, args.batch_size):
            if not args.jsonl:
                results = batch_fn([line for _, _, line in batch])
                out.write("".join(format_plain(r) + "\n" for r in results))
                continue
            objects: list[Any] = []
            texts: list[str] = []
            for name, number, line in batch:
                if not line.strip():
                    objects.append(None)
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as err:
                    raise FormatError(f"{name}:{number}: invalid JSON: {err.msg}") from None
                value = obj.get(args.field) if isinstance(obj, dict) else None
                if not isinstance(value, str):
                    raise FormatError(
                        f"{name}:{number}: no string field {args.field!r} in this JSON line"
                    )
                objects.append(obj)
                texts.append(value)
            results = iter(batch_fn(texts))
            for obj in objects:
                if obj is None:
                    out.write("\n")
                    continue
                obj[out_field] = next(results)
                out.write(json.dumps(obj, ensure_ascii=False) + "\n")
    return 0
