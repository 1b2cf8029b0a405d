"""lmplz's ``-S``/``-T`` options (sort memory, temporary directory): one definition for every
command that sorts (``kneser build``, ``kneser count`` and ``kneser train-lm``)."""

from __future__ import annotations

import argparse

import kneser


def add_sort_options(parser: argparse.ArgumentParser) -> None:
    """Adds ``-S/--memory`` (to ``args.memory``) and ``-T/--temp_prefix/--temp-dir`` (to
    ``args.temp_dir``), with lmplz's spellings and kneser's default budget."""
    parser.add_argument(
        "-S",
        "--memory",
        default=kneser.DEFAULT_MEMORY,
        help=f"sort memory budget: 500M, 2G, 80%% (default {kneser.DEFAULT_MEMORY >> 20}M)",
    )
    parser.add_argument(
        "-T",
        "--temp_prefix",
        "--temp-dir",
        dest="temp_dir",
        default=None,
        help="directory for the sorter's temporary files (default: the system's)",
    )
