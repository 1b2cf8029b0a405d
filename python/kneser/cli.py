"""The ``kneser`` command line: ``kneser SUBCOMMAND --help`` for each subcommand."""

from __future__ import annotations

import argparse
import errno
import importlib
import signal
import sys
from collections.abc import Sequence
from typing import NoReturn

import kneser
from kneser._errors import KneserError, KneserIOError

# The subcommands that stand in for KenLM's programs (lmplz, query, build_binary): a usage
# mistake (an unknown or missing option, a bad value) exits with status 1 as those programs do,
# so that a script written for them behaves the same after the rename; kneser's own
# subcommands keep argparse's usage status, 2.
KENLM_COMMANDS: frozenset[str] = frozenset({"build", "query", "build-binary"})
KENLM_USAGE_STATUS = 1
# lmplz's long options (`lmplz --help`, KenLM 4cb443e). lmplz parses them with boost's
# program_options, which takes any prefix of exactly one of them for it (`--skip`,
# `--interp 0`, `--verb`); `kneser build` resolves such a prefix to the same option even where
# it also begins one of kneser's own.
LMPLZ_LONG_OPTIONS: tuple[str, ...] = (
    "help", "order", "interpolate_unigrams", "skip_symbols", "temp_prefix", "memory",
    "minimum_block", "sort_block", "block_count", "vocab_estimate", "vocab_pad",
    "verbose_header", "text", "arpa", "intermediate", "renumber", "collapse_values", "prune",
    "limit_vocab_file", "discount_fallback",
)  # fmt: skip

# Modules under kneser.commands, in the order `kneser --help` lists them.
COMMANDS: tuple[str, ...] = (
    "build",
    "query",
    "build_binary",
    "clean",
    "tokenize",
    "segment",
    "vocab",
    "encode",
    "pipeline",
    "explain",
)


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


class _Parser(argparse.ArgumentParser):
    """argparse's parser with the exit status of a usage mistake set per subcommand."""

    usage_status = 2
    # The long options of the KenLM program the subcommand stands in for, if it takes them.
    kenlm_long_options: tuple[str, ...] = ()
    # The top-level parser's subcommands, by name.
    commands: dict[str, argparse.ArgumentParser] | None = None

    def _get_option_tuples(self, option_string: str) -> list:
        """The options an abbreviation may mean: one option under several spellings
        (``--skip_symbols``, ``--skip-symbols``) counts once, and a prefix of exactly one of
        the KenLM program's long options means that one, as boost resolves it there."""
        matches, seen = [], set()
        for match in super()._get_option_tuples(option_string):
            if id(match[0]) not in seen:
                seen.add(id(match[0]))
                matches.append(match)
        if len(matches) > 1 and option_string.startswith("--"):
            name = option_string[2:].split("=", 1)[0]
            kenlm = [o for o in self.kenlm_long_options if o.startswith(name)]
            if len(kenlm) == 1:
                chosen = [m for m in matches if m[1] == f"--{kenlm[0]}"]
                if chosen:
                    return chosen
        return matches

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(self.usage_status, f"{self.prog}: error: {message}\n")


def build_parser() -> _Parser:
    parser = _Parser(
        prog="kneser",
        description="Corpus preprocessing and modified Kneser-Ney language models.",
    )
    parser.add_argument("--version", action="version", version=f"kneser {kneser.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"kneser.commands.{name}").register(sub)
    for name, command in sub.choices.items():
        if name in KENLM_COMMANDS:
            command.usage_status = KENLM_USAGE_STATUS
    sub.choices["build"].kenlm_long_options = LMPLZ_LONG_OPTIONS
    parser.commands = dict(sub.choices)
    return parser


def _parse(parser: _Parser, argv: Sequence[str] | None) -> argparse.Namespace:
    """`parser.parse_args`, with arguments no option takes refused by the subcommand they were
    given to (its usage, its exit status) rather than by the top-level parser."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        command = (parser.commands or {}).get(getattr(args, "command", None) or "", parser)
        command.error(f"unrecognized arguments: {' '.join(extras)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = _parse(parser, argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    # SIGTERM and SIGHUP (a closed terminal or ssh session) are handled like Ctrl-C, so a
    # killed job still removes its temp files and partial outputs.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, _raise_keyboard_interrupt)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("kneser: interrupted", file=sys.stderr)
        return 130
    except (BrokenPipeError, KneserIOError) as err:
        if err.errno == errno.EPIPE:  # the reader went away (e.g. `| head`): not an error
            return 141
        return _fail(err)
    except (KneserError, OSError, EOFError, ValueError, OverflowError, TypeError) as err:
        # Ordinary mistakes (a bad number or name, a missing directory, a truncated file, a
        # full disk): one line and a non-zero exit, never a traceback.
        return _fail(err)


def _fail(err: BaseException) -> int:
    message = str(err) or type(err).__name__
    if isinstance(err, OSError) and not isinstance(err, KneserIOError) and err.filename:
        message = f"{err.filename}: {err.strerror or message}"
    print(f"kneser: error: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
