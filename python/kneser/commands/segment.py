"""``kneser segment``: Chinese word segmentation with a jieba-format dictionary.

Plain text: each input line becomes one output line, its words joined by the delimiter (the
work is done in Rust, in parallel batches). JSON lines (``--jsonl``): the string in ``--field``
of each object is replaced by its segmented form (or written to ``--output-field``).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import lzma
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import IO

import kneser
from kneser._errors import ArgumentError, FormatError

# Lines of JSON segmented per parallel batch.
JSONL_BATCH = 4096


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "segment",
        help="segment Chinese text into words (jieba's algorithm, HMM off)",
        description="Segment Chinese text into words with a jieba-format dictionary, as "
        "jieba.cut(text, HMM=False) does (or jieba's full mode with --cut-all).",
    )
    p.add_argument(
        "inputs",
        nargs="*",
        default=["-"],
        metavar="INPUT",
        help="input files (plain, gz, xz; zst for plain text); '-' or none for stdin",
    )
    p.add_argument("-o", "--output", default="-", help="output file ('-' for stdout, the default)")
    p.add_argument(
        "--dict",
        metavar="PATH",
        help="dictionary in jieba's format (word freq [tag] a line); "
        "default: the dict.txt of the installed jieba package",
    )
    p.add_argument(
        "--user-dict",
        metavar="PATH",
        action="append",
        default=[],
        help="user dictionary in jieba's load_userdict format (repeatable)",
    )
    p.add_argument("--delimiter", default=" ", help="written between words (default: a space)")
    p.add_argument("--cut-all", action="store_true", help="jieba's full mode (overlapping words)")
    p.add_argument(
        "--drop-whitespace",
        action="store_true",
        help="leave out words that are empty or only whitespace (jieba keeps each space as a "
        "word, and yields empty strings in full mode)",
    )
    p.add_argument("--jsonl", action="store_true", help="input and output are JSON lines")
    p.add_argument("--field", default="text", help="with --jsonl: the field to segment")
    p.add_argument(
        "--output-field",
        metavar="NAME",
        help="with --jsonl: where to write the result (default: replace --field)",
    )
    p.set_defaults(func=run)


def _segmenter(args: argparse.Namespace) -> kneser.Segmenter:
    if args.dict is not None:
        seg = kneser.Segmenter.from_dict(args.dict)
    else:
        try:
            seg = kneser.Segmenter.jieba_default()
        except FileNotFoundError as err:
            raise ArgumentError(
                "no dictionary: pass --dict PATH (a jieba-format dict.txt) or install jieba"
            ) from err
    for path in args.user_dict:
        seg.load_userdict(path)
    return seg


def run(args: argparse.Namespace) -> int:
    seg = _segmenter(args)
    if args.jsonl:
        _run_jsonl(seg, args)
    else:
        seg.cut_file(
            args.inputs,
            args.output,
            cut_all=args.cut_all,
            delimiter=args.delimiter,
            drop_whitespace=args.drop_whitespace,
        )
    return 0


def _open_text(path: str) -> IO[str]:
    """Opens `path` ('-' for stdin) as UTF-8 text, decompressing gzip and xz by magic bytes."""
    if path == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", newline="\n")
    raw = open(path, "rb")  # closed with the wrapper
    head = raw.peek(6)[:6] if hasattr(raw, "peek") else b""
    if head.startswith(b"\x1f\x8b"):
        stream: IO[bytes] = gzip.GzipFile(fileobj=raw)
    elif head.startswith(b"\xfd7zXZ\x00"):
        stream = lzma.LZMAFile(raw)
    elif head.startswith(b"\x28\xb5\x2f\xfd"):
        raw.close()
        raise ArgumentError(f"{path}: zstd-compressed JSON lines are not supported; decompress it")
    else:
        stream = raw
    return io.TextIOWrapper(stream, encoding="utf-8", newline="\n")


def _records(paths: list[str], field: str) -> Iterator[tuple[dict, str]]:
    """Each JSON object of the inputs with the text of its field; errors name file and line."""
    for path in paths:
        name = "<stdin>" if path == "-" else path
        with _open_text(path) as f:
            lineno = 0
            while True:
                try:
                    line = f.readline()
                except UnicodeDecodeError as err:
                    raise FormatError(f"{name}:{lineno + 1}: invalid UTF-8: {err}") from err
                if not line:
                    break
                lineno += 1
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as err:
                    raise FormatError(f"{name}:{lineno}: invalid JSON: {err}") from err
                if not isinstance(obj, dict):
                    raise FormatError(f"{name}:{lineno}: expected a JSON object")
                text = obj.get(field)
                if not isinstance(text, str):
                    raise FormatError(f"{name}:{lineno}: field {field!r} is missing or not a str")
                yield obj, text


@contextlib.contextmanager
def _atomic_output(path: str) -> Iterator[IO[str]]:
    """stdout for '-'; otherwise a temporary sibling renamed over `path` on success only."""
    if path == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    directory = os.path.dirname(os.path.abspath(path))
    prefix = f".{os.path.basename(path)}."
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".partial", dir=directory)
    try:
        with open(fd, "w", encoding="utf-8", newline="\n") as out:
            yield out
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _run_jsonl(seg: kneser.Segmenter, args: argparse.Namespace) -> None:
    target = args.output_field or args.field
    records = _records(args.inputs, args.field)
    with _atomic_output(args.output) as out:
        while True:
            batch = [r for _, r in zip(range(JSONL_BATCH), records)]
            if not batch:
                break
            cut = seg.cut_batch([text for _, text in batch], cut_all=args.cut_all)
            for (obj, _), words in zip(batch, cut):
                if args.drop_whitespace:
                    words = [w for w in words if w and not w.isspace()]
                obj[target] = args.delimiter.join(words)
                out.write(json.dumps(obj, ensure_ascii=False))
                out.write("\n")
