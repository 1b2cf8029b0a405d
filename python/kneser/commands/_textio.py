"""Streaming line input and output shared by the text subcommands (clean, tokenize).

Input: the core's reader: files (plain, gzip, xz, zstd, bzip2, recognised by their magic bytes)
or standard input (``-`` or no file), decoded as strict UTF-8 (an error names the file and line,
or ``--errors replace`` replaces bad bytes), in batches, so memory is bounded by the batch size.
Output: the core's output layer (``kneser.OutputFile``). The one JSON-lines loop of the CLI is
:func:`process`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from kneser import _kneser
from kneser._errors import FormatError

DEFAULT_BATCH = 20_000


def add_io_arguments(parser: argparse.ArgumentParser) -> None:
    """The input, output, JSON-lines and batching options common to the text subcommands."""
    parser.add_argument(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help="input files (plain, gz, xz, zst, bz2; '-' or none: standard input)",
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


def read_lines(paths: list[str], errors: str) -> Iterator[tuple[str, int, str | None]]:
    """Yields (file name, 1-based line number, line without its newline) for every input.

    The core's reader (``kneser.read_lines``) does the work: compression by magic bytes, strict
    or replaced UTF-8, errors naming file and line, a truncated stream as an I/O error.
    """
    for path in paths or ["-"]:
        name = "<stdin>" if path == "-" else path
        for batch in _kneser.read_lines(path, DEFAULT_BATCH, errors):
            for number, line in batch:
                yield name, number, line


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
def open_output(path: str | None, inputs: Sequence[str] = ()) -> Iterator[_kneser.OutputFile]:
    """The core's output layer (``kneser.OutputFile``): stdout for ``-`` or None, a FIFO or
    device in place, a regular file under a temporary name renamed on success. Claimed before
    any work; refuses an output that is one of ``inputs``."""
    out = _kneser.OutputFile("-" if path is None else path, [p for p in inputs if p != "-"])
    try:
        yield out
    except BaseException:
        out.abort()
        raise
    out.commit()


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
    if not hasattr(args, "batch_size"):
        args.batch_size = DEFAULT_BATCH
    if args.batch_size < 1:
        raise SystemExit("kneser: error: --batch-size must be at least 1")
    out_field = getattr(args, "output_field", None) or args.field
    lines = read_lines(args.inputs, getattr(args, "errors", "strict"))
    with open_output(args.output, args.inputs) as out:
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
            produced = iter(batch_fn(texts))
            for obj in objects:
                if obj is None:
                    out.write("\n")
                    continue
                obj[out_field] = next(produced)
                out.write(json.dumps(obj, ensure_ascii=False) + "\n")
    return 0
