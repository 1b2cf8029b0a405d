"""Reliability (issue 15): no input overwritten, outputs claimed before work, special outputs
written in place, the umask honoured, compression by content, one-line CLI errors with the
system's errno, SIGHUP, a closed stdout, no stale shards."""

from __future__ import annotations

import bz2
import gzip
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import kneser
import kneser.cli
from kneser import _kneser

CORPUS = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\n" * 20


def cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kneser.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        **kw,
    )


def one_line_error(r: subprocess.CompletedProcess) -> str:
    """The CLI failed with exactly one `kneser: error:` line and no traceback."""
    assert r.returncode != 0, r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("kneser: error: "), r.stderr
    return lines[0]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    p = tmp_path / "corpus.txt"
    p.write_text(CORPUS)
    return p


@pytest.fixture
def arpa(tmp_path: Path, corpus: Path) -> Path:
    out = tmp_path / "model.arpa"
    kneser.estimate(corpus, order=2, arpa=out, discount_fallback=True, verbose=False)
    return out


# -- an input is never an output -------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["build", "-o", "2", "{c}", "--discount_fallback", "0.5", "--arpa", "{out}"],
        ["count", "-o", "2", "{c}", "-O", "{out}"],
        ["clean", "{c}", "-o", "{out}"],
        ["tokenize", "{c}", "-o", "{out}"],
        ["vocab", "{c}", "-o", "{out}"],
    ],
    ids=lambda c: c[0],
)
@pytest.mark.parametrize("alias", ["same", "symlink", "hardlink"])
def test_an_input_is_refused_as_output(tmp_path, corpus, command, alias):
    out = corpus
    if alias == "symlink":
        out = tmp_path / "alias.txt"
        out.symlink_to(corpus)
    elif alias == "hardlink":
        out = tmp_path / "hard.txt"
        os.link(corpus, out)
    args = [a.format(c=corpus, out=out) for a in command]
    r = cli(*args)
    assert "is the input" in one_line_error(r)
    assert corpus.read_text() == CORPUS


def test_build_binary_onto_an_input_is_refused_before_work(tmp_path, corpus):
    arpa = tmp_path / "lm.arpa"
    r = cli("build", "-o", "2", str(corpus), "--discount_fallback", "0.5", "--arpa", str(arpa),
            "--binary", str(corpus))  # fmt: skip
    assert "is the input" in one_line_error(r)
    assert corpus.read_text() == CORPUS
    assert not arpa.exists()


def test_query_output_onto_its_input_is_refused(tmp_path, corpus):
    arpa = tmp_path / "lm.arpa"
    kneser.estimate(corpus, order=2, arpa=arpa, discount_fallback=True, verbose=False)
    with pytest.raises(kneser.ArgumentError, match="is the input"):
        kneser.Model(arpa)._query([str(corpus)], str(corpus))
    assert corpus.read_text() == CORPUS


def test_pipeline_output_onto_its_input_is_refused(tmp_path, arpa):
    docs = tmp_path / "docs.jsonl"
    docs.write_text('{"text": "the cat sat"}\n')
    before = docs.read_bytes()
    r = cli("pipeline", str(docs), "-m", str(arpa), "-O", str(docs), "-q")
    assert "is the input" in one_line_error(r)
    assert docs.read_bytes() == before


# -- outputs that are not regular files --------------------------------------------------------


def test_a_fifo_output_is_written_in_place(tmp_path, corpus):
    fifo = tmp_path / "lm.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    kneser.estimate(corpus, order=2, arpa=fifo, discount_fallback=True, verbose=False)
    reader.join(timeout=60)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO was replaced by a regular file"
    assert got and b"\\data\\" in got[0][:20] and got[0].rstrip().endswith(b"\\end\\")


def test_dev_stdout_is_written_in_place(tmp_path, corpus):
    r = cli("clean", str(corpus), "-o", "/dev/stdout")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("\n") == CORPUS.count("\n")
    assert os.path.islink("/dev/stdout") or stat.S_ISCHR(os.stat("/dev/stdout").st_mode)


def test_a_symlink_output_replaces_its_target(tmp_path, corpus):
    real = tmp_path / "real.txt"
    real.write_text("old\n")
    link = tmp_path / "link.txt"
    link.symlink_to("real.txt")
    r = cli("clean", str(corpus), "-o", str(link))
    assert r.returncode == 0, r.stderr
    assert link.is_symlink()
    assert real.read_text().count("\n") == CORPUS.count("\n")


def test_new_outputs_honour_the_umask(tmp_path, corpus):
    outs = [tmp_path / "a.arpa", tmp_path / "b.txt", tmp_path / "v.tsv"]
    code = (
        "import os, sys; os.umask(0o027); from kneser.cli import main; "
        f"main(['build', '-q', '-o', '2', {str(corpus)!r}, '--discount_fallback', '0.5', "
        f"'--arpa', {str(outs[0])!r}]); "
        f"main(['clean', {str(corpus)!r}, '-o', {str(outs[1])!r}]); "
        f"main(['vocab', {str(corpus)!r}, '-o', {str(outs[2])!r}])"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for out in outs:
        assert stat.S_IMODE(os.stat(out).st_mode) == 0o640, out


# -- outputs checked before any work ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["directory", "missing-dir", "empty"])
def test_bad_outputs_fail_before_work(tmp_path, corpus, kind):
    target = {"directory": str(tmp_path), "missing-dir": str(tmp_path / "no" / "lm.arpa"),
              "empty": ""}[kind]  # fmt: skip
    tmp = tmp_path / "T"
    tmp.mkdir()
    r = cli("build", "-o", "3", "-T", str(tmp), str(corpus), "--discount_fallback", "0.5",
            "--arpa", target)  # fmt: skip
    line = one_line_error(r)
    # Failed at the claim: no counting was logged, nothing left behind.
    assert "Counting" not in r.stderr
    assert list(tmp.iterdir()) == []
    if kind != "empty":
        assert str(Path(target).parent if kind == "missing-dir" else target) in line


def test_count_output_checked_before_work(tmp_path, corpus):
    r = cli("count", "-o", "2", str(corpus), "-O", str(tmp_path))
    one_line_error(r)
    assert "Counting" not in r.stderr


# -- compression by content ------------------------------------------------------------------


def test_bz2_is_read_by_content_everywhere(tmp_path, corpus):
    hidden = tmp_path / "corpus.txt.data"  # no telling name
    hidden.write_bytes(bz2.compress(CORPUS.encode()))
    plain_arpa, bz_arpa = tmp_path / "p.arpa", tmp_path / "b.arpa"
    kneser.estimate(corpus, order=3, arpa=plain_arpa, discount_fallback=True, verbose=False)
    kneser.estimate(hidden, order=3, arpa=bz_arpa, discount_fallback=True, verbose=False)
    assert bz_arpa.read_bytes() == plain_arpa.read_bytes()
    # bz2 even with replacement on: never trained on compressed bytes.
    kneser.estimate(hidden, order=3, arpa=bz_arpa, discount_fallback=True, verbose=False,
                    replace_invalid_utf8=True)  # fmt: skip
    assert bz_arpa.read_bytes() == plain_arpa.read_bytes()
    r = cli("clean", str(hidden))
    assert r.returncode == 0 and r.stdout.count("\n") == CORPUS.count("\n"), r.stderr
    assert len(kneser.Vocab.build(str(hidden))) == len(kneser.Vocab.build(str(corpus)))
    # A compressed ARPA, by content too.
    bz_model = tmp_path / "lm.data"
    bz_model.write_bytes(bz2.compress(plain_arpa.read_bytes()))
    assert kneser.Model(bz_model).score("the cat") == kneser.Model(plain_arpa).score("the cat")


def test_truncated_gzip_is_a_one_line_error(tmp_path):
    whole = gzip.compress(CORPUS.encode() * 50)
    cut = tmp_path / "cut.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    for command in (["clean", str(cut)], ["build", "-q", "-o", "2", str(cut)]):
        line = one_line_error(cli(*command))
        assert str(cut) in line


# -- messages --------------------------------------------------------------------------------


def test_full_disk_has_its_errno_and_the_path_once(corpus):
    with pytest.raises(kneser.KneserIOError) as info:
        kneser.estimate(corpus, order=2, arpa="/dev/full", discount_fallback=True, verbose=False)
    assert info.value.errno == 28
    assert info.value.filename == "/dev/full"
    assert str(info.value).count("/dev/full") == 1, str(info.value)


def test_full_stdout_is_a_one_line_error(corpus):
    build = ["build", "-q", "-o", "2", str(corpus), "--discount_fallback", "0.5"]
    for command in (["clean", str(corpus)], build):
        with open("/dev/full", "w") as full:
            r = subprocess.run([sys.executable, "-m", "kneser.cli", *command], stdout=full,
                               stderr=subprocess.PIPE, text=True, timeout=300)  # fmt: skip
        line = one_line_error(r)
        assert "No space left" in line or "space" in line.lower(), line


def test_closed_stdout_fails(corpus):
    for command in (["build", "-o", "2", str(corpus), "--discount_fallback", "0.5"],
                    ["clean", str(corpus)]):  # fmt: skip
        r = subprocess.run(
            [sys.executable, "-m", "kneser.cli", *command],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
            # Close fd 1 in the child before exec.
            preexec_fn=lambda: os.close(1),
        )
        assert r.returncode != 0, r.stderr
        assert "Traceback" not in r.stderr, r.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["build", "-o", "-3", "{c}"],
        ["build", "-o", "99999999999999999999999", "{c}"],
        ["build", "-o", "2", "-S", "-5", "{c}"],
        ["pipeline", "{c}", "-m", "{arpa}", "-O", "{c}.out", "--tokenizer", "no-such", "-q"],
        ["clean", "--batch-size", "-1", "{c}"],
        ["build", "-o", "2", "{c}", "--arpa", "/no/such/dir/lm.arpa"],
    ],
    ids=["negative-order", "huge-order", "negative-memory", "tokenizer", "batch", "missing-dir"],
)
def test_ordinary_mistakes_are_one_line_errors(corpus, arpa, command):
    r = cli(*[a.format(c=corpus, arpa=arpa) for a in command])
    if r.returncode in (1, 2) and "usage:" in r.stderr:  # argparse's usage and one-line error
        assert "Traceback" not in r.stderr
        return
    one_line_error(r)


@pytest.mark.parametrize(
    "command",
    [
        ["build", "--bogus", "1"],
        ["build"],
        ["build", "-o", "3", "--prune", "0", "x"],
        ["build", "-o", "many"],
        ["query"],
        ["query", "-Z", "m.arpa"],
        ["build-binary"],
        ["build-binary", "-Z", "a.arpa", "b.bin"],
        ["build-binary", "foo", "a.arpa", "b.bin"],
        ["build-binary", "-b", "3", "a.arpa", "b.bin"],
        ["build-binary", "-q", "x", "a.arpa"],
        ["clean", "--bogus"],
        ["segment", "--no-such-flag"],
        ["bogus"],
        ["--bogus"],
    ],
)
def test_usage_mistakes_exit_as_the_program_stood_in_for(command):
    """lmplz, query and build_binary exit 1 on a usage mistake (an unknown option, a missing
    argument, a bad value; tests/oracle_sweep.py's ``usage`` sweep checks the programs
    themselves), and so do the kneser subcommands named after them; kneser's own commands keep
    argparse's 2. Either way: the subcommand's usage, then one error line naming it."""
    r = cli(*command)
    kenlm = command[0] in kneser.cli.KENLM_COMMANDS
    assert r.returncode == (1 if kenlm else 2), r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("usage: kneser"), r.stderr
    top = command[0].startswith("-") or command[0] == "bogus"
    prog = "kneser" if top else f"kneser {command[0]}"
    assert lines[-1].startswith(f"{prog}: error: "), r.stderr


# -- signals ---------------------------------------------------------------------------------


def test_sighup_removes_partial_output_and_temp_files(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    text = tmp_path / "c.txt"
    with text.open("w") as f:
        for i in range(300000):
            f.write(f"w{i % 5000} w{(i * 7) % 3001} w{(i * 13) % 2003} x{i % 97}\n")
    arpa = tmp_path / "lm.arpa"
    cmd = [sys.executable, "-m", "kneser.cli", "build", "-q", "-o", "5", "-S", "1M",
           "-T", str(tmp), str(text), "--arpa", str(arpa)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(any(d.iterdir()) for d in tmp.iterdir() if d.is_dir()):
            break
        time.sleep(0.02)
    if proc.poll() is not None:
        pytest.skip("the job finished before it could be interrupted")
    proc.send_signal(signal.SIGHUP)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert list(tmp.iterdir()) == []
    assert not arpa.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".lm.arpa")] == []


# -- shards ----------------------------------------------------------------------------------


def test_reencoding_into_a_directory_leaves_no_stale_shards(tmp_path, corpus):
    vocab = kneser.Vocab.build(str(corpus))
    out = tmp_path / "shards"
    first = kneser.encode_corpus(str(corpus), vocab, str(out), shard_tokens=7)
    assert len(first["shards"]) > 3
    (out / "notes.txt").write_text("mine")  # not a shard: kept
    second = kneser.encode_corpus(str(corpus), vocab, str(out), shard_tokens=10_000)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([s["file"] for s in second["shards"]] + ["index.json", "notes.txt"])


# -- the output layer from Python ------------------------------------------------------------


def test_output_file_commits_or_leaves_nothing(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with _kneser.OutputFile(str(target)) as out:
            out.write("partial\n")
            raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []
    with _kneser.OutputFile(str(target)) as out:
        out.write("whole\n")
        out.write(b"bytes\n")
    assert target.read_text() == "whole\nbytes\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


# -- the Python save methods never write onto their own input ----------------------------------


@pytest.mark.parametrize("alias", ["same", "symlink", "hardlink"])
def test_save_methods_refuse_their_own_input(tmp_path, corpus, arpa, alias):
    made = iter(range(1000))

    def aliased(path: Path) -> Path:
        if alias == "symlink":
            link = tmp_path / f"link{next(made)}-{path.name}"
            link.symlink_to(path)
            return link
        if alias == "hardlink":
            link = tmp_path / f"hard{next(made)}-{path.name}"
            os.link(path, link)
            return link
        return path

    # A model loaded from an ARPA file, then from a binary file.
    before = arpa.read_bytes()
    model = kneser.Model(str(arpa))
    with pytest.raises(kneser.ArgumentError, match="is the input"):
        model.save_binary(str(aliased(arpa)))
    with pytest.raises(kneser.ArgumentError, match="is the input"):
        model.save_binary(str(aliased(arpa)), layout="trie")
    assert arpa.read_bytes() == before
    binary = tmp_path / "lm.bin"
    model.save_binary(str(binary))
    image = binary.read_bytes()
    for method in (kneser.LoadMethod.LAZY, kneser.LoadMethod.READ):
        config = kneser.Config()
        config.load_method = method
        loaded = kneser.Model(str(binary), config)
        with pytest.raises(kneser.ArgumentError, match="is the input"):
            loaded.save_binary(str(aliased(binary)), include_vocab=False)
    assert binary.read_bytes() == image
    # A vocabulary loaded from a file, and one built from a corpus file.
    saved = tmp_path / "vocab.json"
    kneser.Vocab.build(str(corpus)).save(str(saved))
    text = saved.read_bytes()
    with pytest.raises(kneser.ArgumentError, match="is the input"):
        kneser.Vocab.load(str(saved)).save(str(aliased(saved)))
    with pytest.raises(kneser.ArgumentError, match="is the input"):
        kneser.Vocab.build(files=[str(corpus)]).save(str(aliased(corpus)))
    with pytest.raises(kneser.ArgumentError, match="is the input"):
        kneser.Vocab.build(str(corpus)).save_limit_vocab(str(aliased(corpus)))
    assert saved.read_bytes() == text and corpus.read_text() == CORPUS
    # Other paths are written as before.
    kneser.Vocab.load(str(saved)).save(str(tmp_path / "copy.json"))
    assert (tmp_path / "copy.json").read_bytes() == text


# -- resource limits: address space, open files, permissions -----------------------------------


def _limited(code: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, **kw
    )


def _vm_after_imports() -> int:
    """Bytes of address space a `kneser` CLI process holds once its modules are imported."""
    code = (
        "import kneser.cli\nkneser.cli.build_parser()\n"
        "print([l for l in open('/proc/self/status') if l.startswith('VmPeak')][0].split()[1])"
    )
    return int(_limited(code).stdout) * 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_an_address_space_limit_is_a_memory_error_not_an_abort(tmp_path):
    import random
    import resource

    rng = random.Random(7)
    text = tmp_path / "big.txt"
    with text.open("w") as f:
        for _ in range(400_000):
            f.write(" ".join(f"w{rng.randrange(200_000)}" for _ in range(6)) + "\n")
    base = _vm_after_imports()
    outcomes = []
    for extra in (60 << 20, 150 << 20):
        limit = base + extra
        tmp = tmp_path / f"tmp{extra}"
        tmp.mkdir()
        arpa = tmp_path / f"lm{extra}.arpa"

        def cap(limit: int = limit) -> None:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        # A sort budget of 8 GiB that the limit cannot give; the counts need ~50 MB.
        r = subprocess.run(
            [sys.executable, "-m", "kneser.cli", "build", "-q", "-o", "3", "-S", "8G",
             "-T", str(tmp), str(text), "--discount_fallback", "--arpa", str(arpa)],
            capture_output=True, text=True, timeout=600, preexec_fn=cap,
        )  # fmt: skip
        assert r.returncode >= 0, (r.returncode, r.stderr)  # an exit, never a signal (abort)
        if r.returncode == 0:
            assert arpa.exists()
        else:
            line = one_line_error(r)
            assert line.startswith("kneser: error: out of memory:"), line
            assert not arpa.exists()
        assert list(tmp.iterdir()) == []
        outcomes.append(r.returncode)
    assert 1 in outcomes, "no limit was tight enough to fail"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".lm")]


def _expected_errno(directory: Path) -> int | None:
    """The errno the system gives for creating a file in ``directory`` (None: it can)."""
    probe = directory / "kneser-probe"
    try:
        with open(probe, "w"):
            pass
    except OSError as e:
        return e.errno
    probe.unlink()
    return None


def test_permission_denied_has_its_errno_and_a_one_line_message(tmp_path, corpus):
    import errno

    if os.geteuid() == 0:
        # Root ignores modes; sysfs refuses new files even to root.
        directory = Path("/sys")
    else:
        directory = tmp_path / "ro"
        directory.mkdir()
        directory.chmod(0o500)
    want = _expected_errno(directory)
    if want is None:
        pytest.skip(f"{directory} is writable here")
    assert want in (errno.EACCES, errno.EPERM, errno.EROFS), want
    out = directory / "lm.arpa"
    with pytest.raises(kneser.KneserIOError) as info:
        kneser.estimate(corpus, order=2, arpa=out, discount_fallback=True, verbose=False)
    assert info.value.errno == want, info.value
    assert info.value.filename == str(out)
    assert str(info.value).count(str(directory)) == 1, str(info.value)  # no temp file named
    r = cli("build", "-q", "-o", "2", str(corpus), "--discount_fallback", "--arpa", str(out))
    assert os.strerror(want) in one_line_error(r)
    assert not out.exists()


def test_a_parent_that_is_a_file_is_enotdir(tmp_path, corpus):
    import errno

    out = corpus / "lm.arpa"  # corpus.txt is a regular file
    with pytest.raises(kneser.KneserIOError) as info:
        kneser.estimate(corpus, order=2, arpa=out, discount_fallback=True, verbose=False)
    assert info.value.errno == errno.ENOTDIR, info.value
    r = cli("build", "-q", "-o", "2", str(corpus), "--discount_fallback", "--arpa", str(out))
    assert os.strerror(errno.ENOTDIR) in one_line_error(r)
    assert corpus.read_text() == CORPUS


def test_too_many_open_files_has_its_errno_and_a_one_line_message(tmp_path, corpus):
    import errno

    arpa = tmp_path / "lm.arpa"
    # After the imports, the limit is set to the descriptors already open: the first file
    # kneser opens fails with EMFILE.
    prelude = (
        "import os, resource, sys, kneser, kneser.cli\n"
        "kneser.cli.build_parser()\n"
        "n = len(os.listdir('/proc/self/fd')) - 1\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (n, resource.getrlimit("
        "resource.RLIMIT_NOFILE)[1]))\n"
    )
    # The default temp dir (TMPDIR) is watched: the job's directory is made without a
    # descriptor, and removing it must not need one either.
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}
    args = ["build", "-q", "-o", "2", str(corpus), "--discount_fallback", "--arpa", str(arpa)]
    r = _limited(prelude + f"sys.exit(kneser.cli.main({args!r}))", env=env)
    assert os.strerror(errno.EMFILE) in one_line_error(r)
    assert list(temp.iterdir()) == []
    api = (
        prelude + "try:\n"
        f"    kneser.estimate({str(corpus)!r}, order=2, arpa={str(arpa)!r},"
        " discount_fallback=True, verbose=False)\n"
        "except kneser.KneserIOError as e:\n"
        "    print(e.errno)\n"
    )
    r = _limited(api, env=env)
    assert r.returncode == 0 and r.stdout.split() == [str(errno.EMFILE)], (r.stdout, r.stderr)
    assert not arpa.exists()
    assert list(temp.iterdir()) == []
