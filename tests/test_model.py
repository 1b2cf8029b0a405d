"""Scoring parity with KenLM: the recorded kenlm-module figures, `query`'s report, the live
kenlm module, binary models and corrupt inputs."""

from __future__ import annotations

import json
import lzma
import select
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kneser
import kneser.cli

TOL = 1e-4


@pytest.fixture(scope="module")
def book_o5_path(shared_dir: Path) -> Path:
    path = shared_dir / "reference" / "lmplz" / "book.o5.arpa.xz"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="module")
def book_o5(book_o5_path: Path) -> kneser.Model:
    return kneser.Model(book_o5_path)


@pytest.fixture(scope="module")
def heldout(data_dir: Path) -> list[str]:
    return (data_dir / "query" / "book.heldout.txt").read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def kenlm_records(data_dir: Path) -> list[dict]:
    path = data_dir / "query" / "book.o5.heldout.kenlm-python.jsonl.xz"
    with lzma.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_recorded_kenlm_figures(book_o5: kneser.Model, kenlm_records: list[dict]) -> None:
    assert len(kenlm_records) == 500
    for rec in kenlm_records:
        text = rec["text"]
        assert book_o5.score(text, bos=True, eos=True) == pytest.approx(
            rec["score_bos_eos"], abs=TOL
        )
        assert book_o5.score(text, bos=False, eos=False) == pytest.approx(
            rec["score_no_bos_no_eos"], abs=TOL
        )
        assert book_o5.perplexity(text) == pytest.approx(rec["perplexity"], rel=TOL)
        ours = list(book_o5.full_scores(text))
        assert len(ours) == len(rec["full_scores"])
        for (p, n, oov), (rp, rn, roov) in zip(ours, rec["full_scores"]):
            assert p == pytest.approx(rp, abs=TOL)
            assert (n, oov) == (rn, roov)


def test_batch_equals_single_calls(book_o5: kneser.Model, kenlm_records: list[dict]) -> None:
    texts = [r["text"] for r in kenlm_records]
    scores = book_o5.score_batch(texts)
    assert isinstance(scores, np.ndarray) and scores.dtype == np.float64
    assert scores.tolist() == [book_o5.score(t) for t in texts]
    raw = book_o5.score_batch(iter(texts), bos=False, eos=False)
    assert raw.tolist() == [book_o5.score(t, bos=False, eos=False) for t in texts]
    ppl = book_o5.perplexity_batch(texts)
    np.testing.assert_allclose(ppl, [r["perplexity"] for r in kenlm_records], rtol=TOL)
    assert book_o5.score_batch([]).shape == (0,)


def _parse_query(text: str) -> list[list[str]]:
    return [line.split("\t") for line in text.splitlines()]


def _assert_query_equal(ours: str, ref: str) -> None:
    a, b = _parse_query(ours), _parse_query(ref)
    assert len(a) == len(b)
    for la, lb in zip(a, b):
        assert len(la) == len(lb)
        if la[0].endswith(":"):  # the summary: label, value
            assert la[0] == lb[0]
            assert float(la[1]) == pytest.approx(float(lb[1]), rel=TOL)
            continue
        for fa, fb in zip(la, lb):
            if fa.startswith("Total:"):
                ta, tb = fa.split(), fb.split()
                assert ta[::2] == tb[::2] and ta[3] == tb[3]
                assert float(ta[1]) == pytest.approx(float(tb[1]), abs=TOL)
            elif "=" in fa:
                wa, rest_a = fa.rsplit("=", 1)
                wb, rest_b = fb.rsplit("=", 1)
                ida, na, pa = rest_a.split(" ")
                idb, nb, pb = rest_b.split(" ")
                assert (wa, ida, na) == (wb, idb, nb)
                assert float(pa) == pytest.approx(float(pb), abs=TOL)
            else:
                assert fa == fb


def test_query_cli_matches_kenlm(book_o5_path: Path, data_dir: Path, tmp_path: Path) -> None:
    ref_path = data_dir / "query" / "book.o5.heldout.query.txt.xz"
    with lzma.open(ref_path, "rt", encoding="utf-8") as f:
        ref = f.read()
    heldout = data_dir / "query" / "book.heldout.txt"
    with heldout.open("rb") as stdin:
        run = subprocess.run(
            [sys.executable, "-m", "kneser.cli", "query", str(book_o5_path)],
            stdin=stdin,
            capture_output=True,
            check=True,
        )
    ours = run.stdout.decode("utf-8")
    _assert_query_equal(ours, ref)
    assert ours == ref  # in fact byte for byte, KenLM's float printing included
    # Files as arguments and an output file give the same report.
    out = tmp_path / "q.txt"
    assert kneser.cli.main(["query", str(book_o5_path), str(heldout), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == ref


def test_query_cli_flags(data_dir: Path, tmp_path: Path) -> None:

    arpa = data_dir / "query" / "seed.o2.fallback.arpa"
    text = tmp_path / "in.txt"
    text.write_text("我 你\n他 zz\n", encoding="utf-8")
    out = tmp_path / "out.txt"
    kneser.cli.main(["query", "-n", "-v", "sentence", str(arpa), str(text), "-o", str(out)])
    lines = out.read_text(encoding="utf-8").splitlines()
    lm = kneser.Model(arpa)
    assert len(lines) == 2
    total, oov = lines[1].split(" ")[1::2]
    assert float(total) == pytest.approx(lm.score("他 zz", False, False), abs=1e-6)
    assert oov == "1"
    kneser.cli.main(["query", "-v", "summary", str(arpa), str(text), "-o", str(out)])
    summary = out.read_text(encoding="utf-8").splitlines()
    assert [s.split("\t")[0] for s in summary] == [
        "Perplexity including OOVs:",
        "Perplexity excluding OOVs:",
        "OOVs:",
        "Tokens:",
    ]
    assert summary[3] == "Tokens:\t6"


def test_query_b_flushes_each_line(data_dir: Path, tmp_path: Path) -> None:
    """`query -b` ("do not buffer output"): a line's report can be read before the next line is
    sent, and the report is the same bytes as without -b (and as KenLM's `query -b`)."""
    arpa = data_dir / "query" / "seed.o2.fallback.arpa"
    with subprocess.Popen(
        [sys.executable, "-m", "kneser.cli", "query", "-b", str(arpa)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("我 你\n".encode())
        proc.stdin.flush()
        # The input is still open: only a flushed report can be read now (the timeout only
        # keeps a regression from hanging the suite).
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        if not ready:
            proc.kill()
        assert ready, "no output before the input ended"
        first = proc.stdout.readline()
        assert first.endswith(b" OOV: 0\n") and first.startswith("我=".encode())
        proc.stdin.write("他 zz\n".encode())
        proc.stdin.close()
        rest = proc.stdout.read()
    assert proc.returncode == 0
    text = tmp_path / "in.txt"
    text.write_text("我 你\n他 zz\n", encoding="utf-8")
    out = tmp_path / "out.txt"
    assert kneser.cli.main(["query", str(arpa), str(text), "-o", str(out)]) == 0
    assert first + rest == out.read_bytes()
    query = Path.home() / ".cache/kneser-anchors/kenlm-build/bin/query"
    if query.exists():
        with text.open("rb") as stdin:
            theirs = subprocess.run(
                [str(query), "-b", str(arpa)], stdin=stdin, capture_output=True, check=True
            )
        assert first + rest == theirs.stdout


def test_live_kenlm_module_agrees(book_o5_path: Path, heldout: list[str], data_dir: Path) -> None:
    kenlm = pytest.importorskip("kenlm")
    paths = [book_o5_path, *sorted((data_dir / "query").glob("*.arpa"))]
    extra = ["<s> </s> <unk>", "", "  ", "a\x0bb c\xa0d", "我 你 他", "the the the"]
    for path in paths:
        theirs = kenlm.Model(str(path))
        ours = kneser.Model(path)
        assert ours.order == theirs.order
        for text in heldout[:200] + extra:
            for bos in (True, False):
                for eos in (True, False):
                    a = list(theirs.full_scores(text, bos=bos, eos=eos))
                    b = list(ours.full_scores(text, bos=bos, eos=eos))
                    assert [(n, o) for _, n, o in a] == [(n, o) for _, n, o in b]
                    np.testing.assert_allclose([p for p, _, _ in b], [p for p, _, _ in a], atol=TOL)
                    assert ours.score(text, bos=bos, eos=eos) == pytest.approx(
                        theirs.score(text, bos=bos, eos=eos), abs=TOL
                    )
            assert ours.perplexity(text) == pytest.approx(theirs.perplexity(text), rel=TOL)
        for word in ["the", "<s>", "</s>", "<unk>", "zzzz", "我"]:
            assert (word in ours) == (word in theirs)


def test_state_api_matches_kenlm(book_o5_path: Path, book_o5: kneser.Model) -> None:
    kenlm = pytest.importorskip("kenlm")
    theirs = kenlm.Model(str(book_o5_path))
    words = "“It is this way, sir,” said Doris, qqq who had no idea".split()
    for begin in ("BeginSentenceWrite", "NullContextWrite"):
        ks, kout = kenlm.State(), kenlm.State()
        s, out = kneser.State(), kneser.State()
        getattr(theirs, begin)(ks)
        getattr(book_o5, begin)(s)
        for w in [*words, "</s>"]:
            assert book_o5.BaseScore(s, w, out) == pytest.approx(
                theirs.BaseScore(ks, w, kout), abs=TOL
            )
            ks, kout = kout, ks
            s, out = out, s
    # snake_case aliases and in-place use of one state.
    s = kneser.State()
    book_o5.begin_sentence_write(s)
    first = book_o5.base_full_score(s, "It", s)
    assert isinstance(first, kneser.FullScoreReturn)
    assert first.ngram_length >= 1 and first.oov is False
    t = kneser.State()
    book_o5.null_context_write(t)
    assert len(t) == 0 and t != s
    assert book_o5.base_score(t, "the", t) < 0


def test_binary_model_same_scores(
    book_o5: kneser.Model, heldout: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "book.o5.bin"
    book_o5.save_binary(path)
    binary = kneser.Model(path)
    assert binary.is_binary and not book_o5.is_binary
    assert (binary.order, binary.vocab_size) == (book_o5.order, book_o5.vocab_size)
    for text in heldout:
        assert list(binary.full_scores(text)) == list(book_o5.full_scores(text))
        assert list(binary.full_scores(text, False, False)) == list(
            book_o5.full_scores(text, False, False)
        )
    np.testing.assert_array_equal(binary.score_batch(heldout), book_o5.score_batch(heldout))
    assert ("the" in binary) and ("zzzz" not in binary)
    # Saving again from the mapped model gives the same file.
    again = tmp_path / "again.bin"
    binary.save_binary(again)
    assert again.read_bytes() == path.read_bytes()


def test_small_model_binary_and_compression(data_dir: Path, tmp_path: Path) -> None:
    src = data_dir / "query" / "whitespace.o2.fallback.arpa"
    plain = kneser.Model(src)
    gz = tmp_path / "m.arpa.gz"
    xz = tmp_path / "m.arpa.xz"
    import gzip

    gz.write_bytes(gzip.compress(src.read_bytes()))
    xz.write_bytes(lzma.compress(src.read_bytes()))
    kbin = tmp_path / "m.bin"
    plain.save_binary(kbin)
    text = "a b c\xa0d e \u3000x yz unknown"
    for other in (kneser.Model(gz), kneser.Model(xz), kneser.Model(str(kbin))):
        assert list(other.full_scores(text)) == list(plain.full_scores(text))


def test_truncated_or_foreign_binary(data_dir: Path, tmp_path: Path) -> None:
    lm = kneser.Model(data_dir / "query" / "seed.o2.fallback.arpa")
    path = tmp_path / "m.bin"
    lm.save_binary(path)
    data = path.read_bytes()
    bad = tmp_path / "bad.bin"
    for cut in (9, 30, 64, len(data) - 8):
        bad.write_bytes(data[:cut])
        with pytest.raises(kneser.FormatError, match="KenLM binary model at byte"):
            kneser.Model(bad)
    foreign = bytearray(data)
    foreign[49] = ord("9")  # version
    bad.write_bytes(bytes(foreign))
    with pytest.raises(
        kneser.FormatError, match='at byte 48: expected format version 5, found version "9"'
    ):
        kneser.Model(bad)
    # A file that is neither: read as ARPA, refused with a line number.
    bad.write_bytes(b"\x00\x01garbage\n")
    with pytest.raises(kneser.FormatError, match=r"bad\.bin:1: not an ARPA file"):
        kneser.Model(bad)


CORRUPTIONS = [
    ("-0.5064883\t</s>\t0", "-0.50x\t</s>\t0", 8, "expected a probability"),
    ("ngram 2=13", "ngram 2=14", 32, "has 13 n-grams but the"),
    ("-0.26729703\ta b\n", "-0.26729703\ta\n", 25, "line of order 2 needs 3 fields"),
    ("\\end\\\n", "", 32, "without \\\\end\\\\"),
    ("0\t<s>\t-0.30103", "0\t<q>\t-0.30103", 17, "no <s> unigram"),
    ("-0.5370264\tb c", "-0.5370264\tb nope", 31, "not among the unigrams"),
]


@pytest.mark.parametrize(("old", "new", "line", "message"), CORRUPTIONS)
def test_corrupt_arpa_names_the_line(
    data_dir: Path, tmp_path: Path, old: str, new: str, line: int, message: str
) -> None:
    text = (data_dir / "query" / "whitespace.o2.fallback.arpa").read_text(encoding="utf-8")
    assert old in text
    bad = tmp_path / "bad.arpa"
    bad.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(kneser.FormatError, match=rf"bad\.arpa:{line}: .*(?:{message})"):
        kneser.Model(bad)


def test_missing_unk_gets_minus_100(data_dir: Path, tmp_path: Path) -> None:
    text = (data_dir / "query" / "seed.o2.fallback.arpa").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if "<unk>" not in ln]
    count = next(ln for ln in lines if ln.startswith("ngram 1="))
    n = int(count.split("=")[1])
    path = tmp_path / "nounk.arpa"
    path.write_text("\n".join(lines).replace(count, f"ngram 1={n - 1}") + "\n", encoding="utf-8")
    lm = kneser.Model(path)
    assert lm.unk_missing
    assert list(lm.full_scores("zzz", bos=False, eos=False)) == [(-100.0, 1, True)]


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(kneser.NotFoundError):
        kneser.Model(tmp_path / "nope.arpa")


def test_batch_refuses_a_lone_string(data_dir: Path) -> None:
    lm = kneser.Model(data_dir / "query" / "seed.o2.fallback.arpa")
    with pytest.raises(TypeError, match="iterable of str"):
        lm.score_batch("我 你")
    with pytest.raises(TypeError):
        lm.perplexity_batch([1, 2])


def test_model_pickles_by_path(data_dir: Path) -> None:
    import pickle

    lm = kneser.Model(data_dir / "query" / "seed.o2.fallback.arpa")
    again = pickle.loads(pickle.dumps(lm))
    assert list(again.full_scores("我 你 他")) == list(lm.full_scores("我 你 他"))
    assert repr(again) == "<Model from b'seed.o2.fallback.arpa'>"


def test_kenlm_loads_kneser_written_arpa(
    data_dir: Path, heldout: list[str], tmp_path: Path
) -> None:
    kenlm = pytest.importorskip("kenlm")
    corpus = data_dir / "lmplz" / "book.txt"
    if not corpus.exists():
        pytest.skip(f"{corpus} is absent")
    arpa = tmp_path / "book.o3.arpa"
    kneser.estimate(corpus, order=3, arpa=arpa, temp_dir=tmp_path)
    theirs = kenlm.Model(str(arpa))
    ours = kneser.Model(arpa)
    binary = tmp_path / "book.o3.kbin"
    ours.save_binary(binary)
    mapped = kneser.Model(binary)
    for text in heldout[:300]:
        want = list(theirs.full_scores(text))
        for lm in (ours, mapped):
            got = list(lm.full_scores(text))
            assert [(n, o) for _, n, o in got] == [(n, o) for _, n, o in want]
            np.testing.assert_allclose([p for p, _, _ in got], [p for p, _, _ in want], atol=TOL)
        assert ours.score(text, bos=False, eos=False) == pytest.approx(
            theirs.score(text, bos=False, eos=False), abs=TOL
        )


def test_batch_borrows_text_of_every_kind(data_dir: Path) -> None:
    """Batch items are read in place (ASCII, non-ASCII, from a generator) and score as single
    calls do; a lone surrogate raises as str.encode does, a non-str item is a TypeError."""
    lm = kneser.Model(data_dir / "query" / "seed.o2.fallback.arpa")
    lines = ["我 你", "a b c", "", "é\u00a0ü 我", "x" * 3000, " ".join(["我"] * 400)]
    want = [lm.score(x) for x in lines]
    import kenlm

    # Past 256 words a sentence's ids leave the stack: still kenlm's sums.
    klm = kenlm.Model(str(data_dir / "query" / "seed.o2.fallback.arpa"))
    assert want == [klm.score(x) for x in lines]
    assert list(lm.score_batch(x for x in lines)) == want
    assert list(lm.score_batch(lines * 50)) == want * 50
    with pytest.raises(UnicodeEncodeError):
        lm.score_batch(["ok", "a\ud800"])
    with pytest.raises(TypeError, match="item of type bytes"):
        lm.score_batch(["ok", b"a"])
