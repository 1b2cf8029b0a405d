"""`kneser build` accepts every flag of `lmplz --help` with lmplz's meaning."""

from __future__ import annotations

import lzma
import subprocess
import sys

import pytest

import kneser
from conftest import DATA, SHARED

BOOK = DATA / "lmplz" / "book.txt"
SEED = DATA / "lmplz" / "seed.txt"
REMOTE = SHARED / "reference" / "lmplz"


def build(*args: str, stdin: bytes = b"", check: bool = True):
    proc = subprocess.run(
        [sys.executable, "-m", "kneser.cli", "build", *args],
        input=stdin,
        capture_output=True,
        check=False,
    )
    if check:
        assert proc.returncode == 0, proc.stderr.decode()
    return proc


def test_ccnet_command_line_is_accepted(tmp_path):
    """CCNet's Makefile: lmplz -o 5 -S 8G -T /tmp --vocab_estimate N --discount_fallback."""
    out = build(
        "-o",
        "5",
        "-S",
        "8G",
        "-T",
        str(tmp_path),
        "--vocab_estimate",
        "1000",
        "--discount_fallback",
        "-q",
        stdin=SEED.read_bytes(),
    ).stdout
    plain = build("-o", "5", "--discount_fallback", "-q", stdin=SEED.read_bytes()).stdout
    assert out == plain and out.startswith(b"\\data\\\n")


def test_memory_plan_hints_change_nothing(tmp_path):
    base = build("-o", "2", "--discount_fallback", "-q", stdin=SEED.read_bytes()).stdout
    hinted = build(
        "-o",
        "2",
        "--discount_fallback",
        "-q",
        "--minimum_block",
        "8K",
        "--sort_block",
        "64M",
        "--block_count",
        "2",
        "--vocab_estimate",
        "1000000",
        stdin=SEED.read_bytes(),
    ).stdout
    assert hinted == base


def test_verbose_header_equals_lmplz(tmp_path):
    reference = REMOTE / "book.o3.verbose_header.arpa.xz"
    if not reference.exists():
        pytest.skip("shared reference absent")
    got = build("-o", "3", "-q", "--verbose_header", stdin=BOOK.read_bytes()).stdout
    with lzma.open(reference, "rb") as f:
        assert got == f.read()


def test_verbose_header_names_the_input_file(tmp_path):
    """lmplz names its input by the file its descriptor is open on (KenLM's NameFromFD:
    /proc/self/fd, absolute, symlinks resolved): ``--text`` given relative or through a
    symlink, and stdin redirected from a file, all give the file's canonical path; a pipe on
    stdin gives ``stdin`` (as in the reference book.o3.verbose_header.arpa)."""
    real = tmp_path / "dir" / "seed.txt"
    real.parent.mkdir()
    real.write_bytes(SEED.read_bytes())
    (tmp_path / "link.txt").symlink_to(real)
    flags = ["-o", "2", "--discount_fallback", "-q", "--verbose_header"]

    def header(name: str) -> bytes:
        text = f"# Input file: {name}\n# Token count: 6\n# Smoothing: Modified Kneser-Ney\n"
        return text.encode() + b"\\data\\\n"

    canonical = str(real.resolve())
    for given, cwd in [(str(real), None), ("seed.txt", real.parent), ("link.txt", tmp_path)]:
        got = subprocess.run(
            [sys.executable, "-m", "kneser.cli", "build", *flags, "--text", given],
            capture_output=True,
            check=True,
            cwd=cwd,
        ).stdout
        assert got.startswith(header(canonical)), (given, got[:80])
    with (tmp_path / "link.txt").open("rb") as stdin:
        got = subprocess.run(
            [sys.executable, "-m", "kneser.cli", "build", *flags],
            stdin=stdin,
            capture_output=True,
            check=True,
        ).stdout
    assert got.startswith(header(canonical))
    assert build(*flags, stdin=SEED.read_bytes()).stdout.startswith(header("stdin"))


def test_collapse_values_equals_lmplz(tmp_path):
    reference = REMOTE / "book.o3.collapse_values.arpa.xz"
    if not reference.exists():
        pytest.skip("shared reference absent")
    got = build("-o", "3", "-q", "--collapse_values", stdin=BOOK.read_bytes()).stdout
    with lzma.open(reference, "rb") as f:
        assert got == f.read()


def test_renumber_equals_lmplz(tmp_path):
    reference = REMOTE / "book.o3.renumber.arpa.xz"
    if not reference.exists():
        pytest.skip("shared reference absent")
    got = build("-o", "3", "-q", "--renumber", stdin=BOOK.read_bytes()).stdout
    with lzma.open(reference, "rb") as f:
        assert got == f.read()


@pytest.mark.parametrize("flag", [["--intermediate", "x"]])
def test_unsupported_output_flags_fail_clearly(tmp_path, flag):
    out = tmp_path / "lm.arpa"
    proc = build(
        "-o",
        "2",
        "--discount_fallback",
        "--arpa",
        str(out),
        *flag,
        check=False,
        stdin=SEED.read_bytes(),
    )
    assert proc.returncode != 0
    assert b"not supported" in proc.stderr
    assert b"Traceback" not in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize("command", [["build", "-o", "3"], ["count", "-o", "3", "-O", "x.counts"]])
def test_sort_options_have_one_definition(command):
    """-S/-T mean the same in every command that sorts: one helper defines them."""
    from kneser.cli import build_parser

    parser = build_parser()
    for flags, memory, temp in [
        ([], kneser.DEFAULT_MEMORY, None),
        (["-S", "2G", "-T", "/tmp/x"], "2G", "/tmp/x"),
        (["--memory", "80%", "--temp_prefix", "/tmp/y"], "80%", "/tmp/y"),
        (["--temp-dir", "/tmp/z"], kneser.DEFAULT_MEMORY, "/tmp/z"),
    ]:
        args = parser.parse_args([*command, *flags])
        assert (args.memory, args.temp_dir) == (memory, temp)


# A value for each of lmplz's long options that takes one (or more).
LMPLZ_VALUES = {
    "order": ["4"],
    "interpolate_unigrams": ["0"],
    "temp_prefix": ["/tmp/x"],
    "memory": ["1G"],
    "minimum_block": ["8K"],
    "sort_block": ["64M"],
    "block_count": ["2"],
    "vocab_estimate": ["5"],
    "vocab_pad": ["5"],
    "text": ["x.txt"],
    "arpa": ["o.arpa"],
    "intermediate": ["x"],
    "prune": ["0", "1"],
    "limit_vocab_file": ["v.txt"],
    "discount_fallback": ["0.5"],
}


def test_lmplz_abbreviations_resolve_as_boost_resolves_them(capsys):
    """lmplz (boost's program_options) takes any prefix of exactly one of its long options for
    that option, and refuses one that begins several: `kneser build` resolves every prefix of
    every lmplz long option the same way, kneser's own options and second spellings
    (``--skip-symbols``, ``--output``) notwithstanding; `lmplz --help`'s list is
    kneser.cli.LMPLZ_LONG_OPTIONS (tests/oracle_sweep.py's estimate sweep runs lmplz itself)."""
    from kneser.cli import LMPLZ_LONG_OPTIONS, build_parser

    parser = build_parser()
    for option in LMPLZ_LONG_OPTIONS:
        if option == "help":
            continue
        full = vars(
            parser.parse_args(["build", "-o", "3", f"--{option}", *LMPLZ_VALUES.get(option, [])])
        )
        for n in range(1, len(option)):
            prefix = option[:n]
            matches = [o for o in LMPLZ_LONG_OPTIONS if o.startswith(prefix)]
            argv = ["build", "-o", "3", f"--{prefix}", *LMPLZ_VALUES.get(option, [])]
            if prefix in LMPLZ_LONG_OPTIONS or len(matches) == 1:
                got = vars(parser.parse_args(argv))
                assert got == full, (prefix, option)
            else:
                with pytest.raises(SystemExit) as exit_info:
                    parser.parse_args(argv)
                assert exit_info.value.code == 1, prefix
                assert "ambiguous" in capsys.readouterr().err, prefix
