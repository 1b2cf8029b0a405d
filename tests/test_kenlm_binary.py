"""KenLM's binary formats (probing, trie) and ARPA rules: exact parity with the kenlm module,
byte parity with build_binary, bad files refused with the offset."""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kneser
import kneser.cli

BUILD_BINARY = Path.home() / ".cache/kneser-anchors/kenlm-build/bin/build_binary"
FIXTURES = Path(__file__).parent / "data" / "kenlm"
LMPLZ = Path(__file__).parent / "data" / "lmplz"


def exact(model: kneser.Model, text: str) -> list[tuple[float, int, bool]]:
    return [(float(p), int(n), bool(o)) for p, n, o in model.full_scores(text)]


def records(path: Path) -> list[dict]:
    with lzma.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def heldout(data_dir: Path) -> list[str]:
    return (data_dir / "query" / "book.heldout.txt").read_text(encoding="utf-8").splitlines()


def assert_same_as_records(model: kneser.Model, heldout: list[str], recs: list[dict]) -> None:
    assert len(recs) == len(heldout)
    for text, rec in zip(heldout, recs):
        assert float(model.score(text, bos=True, eos=True)) == rec["score"], text
        want = [(p, n, o) for p, n, o in rec["full_scores"]]
        assert exact(model, text) == want, text


# -- ARPA files of other toolkits (SRILM suffix holes, CMU <UNK>) ------------------------------


@pytest.mark.parametrize("name", ["book.o3.suffix-holes", "book.o3.UNK-upper"])
def test_other_toolkits_arpa_scores_equal_kenlm(
    shared_dir: Path, heldout: list[str], name: str
) -> None:
    folder = shared_dir / "reference" / "arpa-other"
    model = kneser.Model(folder / f"{name}.arpa.xz")
    assert_same_as_records(model, heldout, records(folder / f"{name}.kenlm-python.jsonl.xz"))


# -- Reference binaries written by build_binary ------------------------------------------------

PROBING_REFS = [
    ("book.o3.probing", "book.o3", []),
    ("book.o3.probing-p2", "book.o3", ["-p", "2.0", "probing"]),
    ("book.o3.probing-novocab", "book.o3", ["-v", "probing"]),
    ("book.o5.probing", "book.o5", []),
]
TRIE_REFS = [
    "book.o3.trie",
    "book.o3.trie-q8",
    "book.o3.trie-q8-b7-a22",
    "book.o3.trie-a255",
    "book.o5.trie-q8-b7-a255",
]


def unxz(src: Path, dst: Path) -> Path:
    with lzma.open(src) as f, dst.open("wb") as out:
        shutil.copyfileobj(f, out)
    return dst


@pytest.mark.parametrize(("name", "arpa", "flags"), PROBING_REFS)
def test_reference_probing_binaries(
    shared_dir: Path, heldout: list[str], tmp_path: Path, name: str, arpa: str, flags: list[str]
) -> None:
    ref = shared_dir / "reference"
    binary = unxz(ref / "binary" / f"{name}.bin.xz", tmp_path / f"{name}.bin")
    model = kneser.Model(binary)
    assert model.is_binary
    assert_same_as_records(
        model, heldout, records(ref / "binary" / f"{name}.kenlm-python.jsonl.xz")
    )
    # kneser build-binary with the same flags writes the same bytes.
    src = unxz(ref / "lmplz" / f"{arpa}.arpa.xz", tmp_path / f"{arpa}.arpa")
    out = tmp_path / "ours.bin"
    assert kneser.cli.main(["build-binary", *flags, str(src), str(out)]) == 0
    assert hashlib.md5(out.read_bytes()).digest() == hashlib.md5(binary.read_bytes()).digest()
    if not flags:
        # Model.save_binary of the ARPA model is the same file too, and so is re-saving the
        # mapped binary.
        again = tmp_path / "again.bin"
        kneser.Model(src).save_binary(again)
        assert again.read_bytes() == binary.read_bytes()
        model.save_binary(again)
        assert again.read_bytes() == binary.read_bytes()


@pytest.mark.parametrize("name", ["book.o3.probing", "book.o3.trie-q8"])
def test_a_missing_middle_vocabulary_nul_scores_as_kenlm_and_fails_where_words_are_read(
    shared_dir: Path, heldout: list[str], tmp_path: Path, name: str
) -> None:
    """Scoring never reads the vocabulary strings, so a load checks only their ends (as KenLM,
    which reads only `<unk>`): a file with one middle NUL replaced loads and scores as kenlm's
    records; what needs the words (save_binary with them) counts them and names the offset."""
    ref = shared_dir / "reference" / "binary"
    data = bytearray(unxz(ref / f"{name}.bin.xz", tmp_path / "ref.bin").read_bytes())
    start = data.rindex(b"<unk>\0")
    middle = data.index(b"\0", start + (len(data) - start) // 2)
    assert middle < len(data) - 1
    data[middle] = ord("x")
    bad = tmp_path / "bad.bin"
    bad.write_bytes(bytes(data))
    kenlm = pytest.importorskip("kenlm")
    theirs = kenlm.Model(str(bad))
    model = kneser.Model(bad)
    recs = records(ref / f"{name}.kenlm-python.jsonl.xz")
    assert_same_as_records(model, heldout, recs)
    for text, rec in zip(heldout[:50], recs):
        assert theirs.score(text, bos=True, eos=True) == rec["score"], text
    end = len(data)
    words = rf"expected \d+ NUL-terminated vocabulary words after byte {start}, found \d+"
    # (A probing model cannot be saved as a trie: its n-grams are hashed.)
    for layout in ("probing", "trie") if "trie" in name else ("probing",):
        with pytest.raises(kneser.FormatError, match=rf"bad\.bin: .*at byte {end}: {words}"):
            model.save_binary(tmp_path / "out.bin", layout=layout)
        assert not (tmp_path / "out.bin").exists()
    if name.endswith("probing"):
        # Without the strings nothing reads them: the tables are saved as they are.
        model.save_binary(tmp_path / "novocab.bin", include_vocab=False)
        assert_same_as_records(kneser.Model(tmp_path / "novocab.bin"), heldout[:50], recs[:50])
    # A file cut inside its last word, or extended by one at a word boundary, is still refused
    # at load (the strings end with a NUL, their last word is the vocabulary's last id).
    for blob in (bytes(data[:-1]), bytes(data) + b"zqzqx\0"):
        bad.write_bytes(blob)
        with pytest.raises(kneser.FormatError, match=r"bad\.bin: not a usable KenLM binary"):
            kneser.Model(bad)


TRIE_FLAGS = {
    "book.o3.trie": ("book.o3", ["trie"], {}),
    "book.o3.trie-q8": ("book.o3", ["-q", "8", "trie"], {"quantize": 8}),
    "book.o3.trie-q8-b7-a22": (
        "book.o3",
        ["-q", "8", "-b", "7", "-a", "22", "trie"],
        {"quantize": 8, "backoff_bits": 7, "array_bits": 22},
    ),
    "book.o3.trie-a255": ("book.o3", ["-a", "255", "trie"], {"array_bits": 255}),
    "book.o5.trie-q8-b7-a255": (
        "book.o5",
        ["-a", "255", "-q", "8", "-b", "7", "trie"],
        {"quantize": 8, "backoff_bits": 7, "array_bits": 255},
    ),
}
assert sorted(TRIE_FLAGS) == sorted(TRIE_REFS)


@pytest.mark.parametrize("name", TRIE_REFS)
def test_reference_trie_binaries(
    shared_dir: Path, heldout: list[str], tmp_path: Path, name: str
) -> None:
    """Every trie layout: scores equal the kenlm module's on build_binary's file (exact floats,
    n-gram lengths, OOV flags; quantized values included), and kneser writes the same bytes."""
    ref = shared_dir / "reference"
    binary = unxz(ref / "binary" / f"{name}.bin.xz", tmp_path / f"{name}.bin")
    model = kneser.Model(binary)
    assert model.is_binary
    assert_same_as_records(
        model, heldout, records(ref / "binary" / f"{name}.kenlm-python.jsonl.xz")
    )
    arpa_name, flags, kwargs = TRIE_FLAGS[name]
    src = unxz(ref / "lmplz" / f"{arpa_name}.arpa.xz", tmp_path / f"{arpa_name}.arpa")
    out = tmp_path / "ours.bin"
    assert kneser.cli.main(["build-binary", *flags, str(src), str(out)]) == 0
    assert hashlib.md5(out.read_bytes()).digest() == hashlib.md5(binary.read_bytes()).digest()
    again = tmp_path / "again.bin"
    kneser.Model(src).save_binary(again, layout="trie", **kwargs)
    assert again.read_bytes() == binary.read_bytes()
    kneser.build_binary(src, again, layout="trie", **kwargs)
    assert again.read_bytes() == binary.read_bytes()
    # Live: the kenlm module on the same file.
    kenlm = pytest.importorskip("kenlm")
    theirs = kenlm.Model(str(binary))
    for text in heldout[:150]:
        want = [(float(p), int(n), bool(o)) for p, n, o in theirs.full_scores(text)]
        assert exact(model, text) == want, text


def test_kenlm_module_loads_kneser_trie_binaries(tmp_path: Path, heldout: list[str]) -> None:
    """A model kneser estimated, written as a trie (plain, quantized, array pointers) by kneser:
    the kenlm module loads it and scores it as kneser does; unquantized, as the ARPA."""
    kenlm = pytest.importorskip("kenlm")
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(heldout[:300]) + "\n", encoding="utf-8")
    arpa = tmp_path / "m.arpa"
    kneser.estimate(corpus, 4, arpa, discount_fallback=True)
    from_arpa = kenlm.Model(str(arpa))
    for i, kwargs in enumerate(
        [
            {},
            {"array_bits": 255},
            {"quantize": 8},
            {"quantize": 6, "backoff_bits": 4, "array_bits": 3},
        ]
    ):
        binary = tmp_path / f"m{i}.bin"
        kneser.Model(arpa).save_binary(binary, layout="trie", **kwargs)
        theirs = kenlm.Model(str(binary))
        ours = kneser.Model(binary)
        for text in heldout[250:400]:
            got = [(float(p), int(n), bool(o)) for p, n, o in theirs.full_scores(text)]
            assert exact(ours, text) == got, (kwargs, text)
            if not kwargs.get("quantize"):
                want = [(float(p), int(n), bool(o)) for p, n, o in from_arpa.full_scores(text)]
                assert got == want


@pytest.mark.skipif(not BUILD_BINARY.exists(), reason="KenLM's build_binary is not built")
@pytest.mark.parametrize("flags", [["trie"], ["-q", "5", "-b", "3", "trie"], ["-a", "4", "trie"]])
def test_trie_bytes_equal_build_binary_live(
    tmp_path: Path, heldout: list[str], flags: list[str]
) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(heldout[:500]) + "\n", encoding="utf-8")
    arpa = tmp_path / "m.arpa"
    kneser.estimate(corpus, 5, arpa, discount_fallback=True)
    theirs, ours = tmp_path / "theirs.bin", tmp_path / "ours.bin"
    subprocess.run(
        [str(BUILD_BINARY), *flags, str(arpa), str(theirs)], check=True, capture_output=True
    )
    assert kneser.cli.main(["build-binary", *flags, str(arpa), str(ours)]) == 0
    assert ours.read_bytes() == theirs.read_bytes()


def test_bad_trie_binaries_name_the_offset(shared_dir: Path, tmp_path: Path) -> None:
    ref = shared_dir / "reference" / "binary"
    data = unxz(ref / "book.o3.trie-q8-b7-a22.bin.xz", tmp_path / "t.bin").read_bytes()
    bad = tmp_path / "bad.bin"

    def refused(blob: bytes, pattern: str) -> None:
        bad.write_bytes(blob)
        with pytest.raises(kneser.FormatError, match=pattern):
            kneser.Model(bad)

    # Header: 136 bytes; vocabulary 8 + 8 * 19467; the quantization header follows.
    quant = 136 + 8 + 8 * 19467
    for cut in (200, quant + 1, len(data) // 2, len(data) - 3):
        refused(data[:cut], r"bad\.bin: not a usable KenLM binary model at byte \d+")
    for at, value, pattern in [
        (quant, 1, f"at byte {quant}: expected quantization version 2, found 1"),
        (quant + 1, 0, f"at byte {quant + 1}: expected probability quantization bits from 1"),
        (quant + 2, 26, f"at byte {quant + 2}: expected backoff quantization bits from 1"),
    ]:
        b = bytearray(data)
        b[at] = value
        refused(bytes(b), pattern)
    counts = bytearray(data)
    counts[116:124] = (int.from_bytes(data[116:124], "little") + 10**6).to_bytes(8, "little")
    refused(
        bytes(counts),
        "at byte 1420268: the counts and layout need .* bytes of tables, the file has 1420268",
    )
    counts[116:124] = (int.from_bytes(data[116:124], "little") + 50).to_bytes(8, "little")
    refused(bytes(counts), "at byte \\d+: expected the vocabulary strings")
    fewer = bytearray(data)
    fewer[116:124] = (int.from_bytes(data[116:124], "little") - 50).to_bytes(8, "little")
    refused(bytes(fewer), "at byte \\d+: ")
    version = bytearray(data)
    version[104] = 0
    refused(bytes(version), "at byte 104: expected trie.* search version 1, found 0")
    vocab = bytearray(data)
    vocab[136:144] = (5).to_bytes(8, "little")
    refused(bytes(vocab), "at byte 136: expected 19466 vocabulary keys")
    plain = unxz(ref / "book.o3.trie.bin.xz", tmp_path / "p.bin").read_bytes()
    # The first bigram pointer of unigram 1 (unigrams after the vocabulary, 16 bytes each).
    uni = 136 + 8 + 8 * 19467
    ptr = bytearray(plain)
    ptr[uni + 16 + 8 : uni + 16 + 16] = (10**9).to_bytes(8, "little")
    refused(bytes(ptr), "child pointers")
    # The first bad pointer is named: the one after the jump decreases.
    refused(bytes(ptr), f"at byte {uni + 2 * 16 + 8}: the child pointers decrease")
    first = bytearray(plain)
    first[uni + 8 : uni + 16] = (1).to_bytes(8, "little")
    refused(bytes(first), f"at byte {uni + 8}: expected the first child pointer to be 0")


def test_build_binary_md5_of_fixtures(tmp_path: Path) -> None:
    """Byte parity with build_binary on the fixture ARPAs (MD5s recorded in tests/data)."""
    flags = {"probing": [], "probing-p2": ["-p", "2.0"], "probing-novocab": ["-v"]}
    lines = (FIXTURES / "build_binary.md5").read_text().splitlines()
    assert len(lines) == 12
    for line in lines:
        digest, name = line.split()
        stem, kind, _ = name.rsplit(".", 2)
        out = tmp_path / name
        src = LMPLZ / f"{stem}.arpa"
        assert kneser.cli.main(["build-binary", *flags[kind], str(src), str(out)]) == 0
        assert hashlib.md5(out.read_bytes()).hexdigest() == digest, name


def test_fixture_binaries_load_and_score_as_their_arpa(tmp_path: Path, heldout: list[str]) -> None:
    for stem in ("seed.o2.fallback", "whitespace.o2.fallback"):
        binary = kneser.Model(FIXTURES / f"{stem}.probing.bin")
        arpa = kneser.Model(LMPLZ / f"{stem}.arpa")
        for text in ["我 你 他", "a b c\xa0d e \u3000x yz unknown", ""]:
            assert exact(binary, text) == exact(arpa, text)
    binary = kneser.Model(unxz(FIXTURES / "book.o3.prune_1.probing.bin.xz", tmp_path / "p.bin"))
    arpa = kneser.Model(LMPLZ / "book.o3.prune_1.arpa")
    for text in heldout[:200]:
        assert exact(binary, text) == exact(arpa, text)


def test_every_load_method_gives_the_same_scores(tmp_path: Path, heldout: list[str]) -> None:
    path = unxz(FIXTURES / "book.o3.prune_1.probing.bin.xz", tmp_path / "p.bin")
    scores = []
    for method in (
        kneser.LoadMethod.LAZY,
        kneser.LoadMethod.POPULATE_OR_READ,
        kneser.LoadMethod.READ,
    ):
        config = kneser.Config()
        config.load_method = method
        model = kneser.Model(path, config)
        scores.append([exact(model, t) for t in heldout[:50]])
    assert scores[0] == scores[1] == scores[2]


def test_kenlm_module_loads_kneser_binaries(tmp_path: Path, heldout: list[str]) -> None:
    kenlm = pytest.importorskip("kenlm")
    # A model kneser estimated, written as KenLM's binary by kneser.
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(heldout[:300]) + "\n", encoding="utf-8")
    arpa = tmp_path / "m.arpa"
    kneser.estimate(corpus, 3, arpa, discount_fallback=True)
    binary = tmp_path / "m.bin"
    kneser.Model(arpa).save_binary(binary)
    theirs = kenlm.Model(str(binary))
    ours = kneser.Model(binary)
    from_arpa = kenlm.Model(str(arpa))
    for text in heldout[250:400]:
        want = [(float(p), int(n), bool(o)) for p, n, o in from_arpa.full_scores(text)]
        assert [(float(p), int(n), bool(o)) for p, n, o in theirs.full_scores(text)] == want
        assert exact(ours, text) == want


# -- Bad binaries ------------------------------------------------------------------------------


def test_bad_binaries_name_the_offset(tmp_path: Path) -> None:
    data = (FIXTURES / "seed.o2.fallback.probing.bin").read_bytes()
    bad = tmp_path / "bad.bin"

    def refused(blob: bytes, pattern: str) -> None:
        bad.write_bytes(blob)
        with pytest.raises(kneser.FormatError, match=pattern):
            kneser.Model(bad)

    for cut in (8, 40, 100, 150, len(data) - 3):
        refused(data[:cut], r"bad\.bin: not a usable KenLM binary model at byte \d+")
    swapped = bytearray(data)
    swapped[60:64] = swapped[60:64][::-1]
    refused(bytes(swapped), "at byte 60: the sanity block .* another byte order")
    old = bytearray(data)
    old[49] = ord("4")
    refused(bytes(old), 'at byte 48: expected format version 5, found version "4"')
    incomplete = b"mmap lm http://kheafield.com/code incomplete\n" + data[45:]
    refused(incomplete, "did not finish building")
    counts = bytearray(data)
    counts[108:116] = (10**15).to_bytes(8, "little")
    refused(bytes(counts), "at byte 108: the 1-gram count 1000000000000000 cannot fit")
    more = bytearray(data)
    more[116:124] = (int.from_bytes(data[116:124], "little") + 50).to_bytes(8, "little")
    refused(bytes(more), "tables, the file has")
    order = bytearray(data)
    order[88] = 40
    refused(bytes(order), "at byte 88: expected an order from 2 to")
    refused(b"KNESERLM" + b"\0" * 100, "kneser's own binary format")


# -- KenLM's C++ test expectations (lm/model_test.cc) over our own copy of its test model ------

# A model with the structure lm/test.arpa exercises (written for kneser; values are ours):
# `<s> looking on a little` with a pruned-suffix 4-gram and an n-gram whose context is present.
TEST_ARPA = """\\data\\
ngram 1=8
ngram 2=7
ngram 3=4
ngram 4=2

\\1-grams:
-1.383514\t<unk>\t0
0\t<s>\t-0.30103
-1.5\t</s>\t0
-1.4\ta\t-0.2
-1.7\tlittle\t-0.25
-1.2\ton\t-0.45
-1.9\tlooking\t-0.4
-2.1\tmore\t-0.1

\\2-grams:
-0.8\t<s> looking\t-0.3
-0.6\tlooking on\t-0.35
-0.5\ton a\t-0.2
-0.7\ta little\t-0.15
-0.9\tlittle </s>
-1.1\t<s> more
-0.4\tlittle more\t-0.05

\\3-grams:
-0.3\t<s> looking on\t-0.25
-0.2\tlooking on a\t-0.1
-0.25\ton a little\t-0.05
-0.35\ta little more

\\4-grams:
-0.1\t<s> looking on a
-0.15\tlooking on a little

\\end\\
"""


def test_model_test_cc_expectations(tmp_path: Path) -> None:
    path = tmp_path / "test.arpa"
    path.write_text(TEST_ARPA)
    m = kneser.Model(path)
    assert m.order == 4
    # Starting: <s> looking (bigram), on (trigram), a (4-gram), little (4-gram).
    s = exact(m, "looking on a little more the")
    assert [n for _, n, _ in s] == [2, 3, 4, 4, 3, 1, 1]
    assert s[0][0] == pytest.approx(-0.8)
    assert s[3][0] == pytest.approx(-0.15)
    # An OOV: <unk>'s probability plus the backoffs of the context it cannot extend.
    # (`more` after `on a little`: the trigram plus backoff(on a little) = -0.35 - 0.05.)
    assert s[4][0] == pytest.approx(-0.40)
    # The state after `more` is `a little more`; backoff(more) + backoff(little more).
    assert s[5][2] and s[5][0] == pytest.approx(-1.383514 - 0.1 - 0.05)
    # <s> more: bigram with no backoff of its own.
    assert exact(m, "more")[0] == (pytest.approx(-1.1), 2, False)
    # The state after the sentence start is `<s>` alone; after `little` the context is kept.
    state, out = kneser.State(), kneser.State()
    m.BeginSentenceWrite(state)
    assert len(state) == 1
    m.BaseScore(state, "little", out)
    assert len(out) == 1


def test_agrees_with_kenlm_on_the_hand_written_model(tmp_path: Path) -> None:
    kenlm = pytest.importorskip("kenlm")
    path = tmp_path / "test.arpa"
    path.write_text(TEST_ARPA)
    ours, theirs = kneser.Model(path), kenlm.Model(str(path))
    words = "looking on a little more the <s> </s> <unk> zz".split()
    rng = random.Random(7)
    for _ in range(300):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 9)))
        for bos, eos in ((True, True), (False, False), (True, False)):
            want = [(float(p), int(n), bool(o)) for p, n, o in theirs.full_scores(text, bos, eos)]
            assert [
                (float(p), int(n), bool(o)) for p, n, o in ours.full_scores(text, bos, eos)
            ] == want


# -- An explicit backoff on the top order (KenLM's ReadBackoff for n-grams without one) --------

TOP_ORDER_ARPA = (
    "\\data\\\nngram 1=4\nngram 2=2\n\n\\1-grams:\n-1\t<unk>\t0\n0\t<s>\t-0.5\n"
    "-0.25\t</s>\n-0.75\ta\t-0.125\n\n\\2-grams:\n-0.125\t<s> a{tail}\n-0.5\ta </s>\n\n\\end\\\n"
)


ZEROS = ["\t0", "\t-0", "\t0.0", "\t+0", "\t.0", "\t0.", "\t0e3", "\t-0.000"]


@pytest.mark.parametrize("tail", ZEROS)
def test_a_zero_backoff_on_the_top_order_is_accepted_as_kenlm_does(
    tmp_path: Path, tail: str
) -> None:
    path = tmp_path / "top.arpa"
    path.write_text(TOP_ORDER_ARPA.format(tail=tail))
    plain = tmp_path / "plain.arpa"
    plain.write_text(TOP_ORDER_ARPA.format(tail=""))
    ours = kneser.Model(path)
    assert exact(ours, "a a zz") == exact(kneser.Model(plain), "a a zz")
    kenlm = pytest.importorskip("kenlm")
    theirs = kenlm.Model(str(path))
    for text in ["a", "a a zz", ""]:
        assert exact(ours, text) == [(float(p), n, o) for p, n, o in theirs.full_scores(text)]


@pytest.mark.parametrize("tail", ["\t1", "\t-0.5", "\tinf", "\tzero"])
def test_a_non_zero_backoff_on_the_top_order_is_refused_as_kenlm_does(
    tmp_path: Path, tail: str
) -> None:
    path = tmp_path / "top.arpa"
    path.write_text(TOP_ORDER_ARPA.format(tail=tail))
    refusal = r"top\.arpa:12: (non-zero backoff|expected a backoff)"
    with pytest.raises(kneser.FormatError, match=refusal):
        kneser.Model(path)
    kenlm = pytest.importorskip("kenlm")
    with pytest.raises(OSError):
        kenlm.Model(str(path))


# -- Random SRILM-style pruned files vs the kenlm module ---------------------------------------


def parse_arpa(text: str) -> list[list[tuple[str, str]]]:
    """Per order, the (first part, rest of the line) of each n-gram."""
    orders: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("\\") and line.endswith("-grams:"):
            orders.append([])
        elif line.strip() and orders and not line.startswith("\\"):
            orders[-1].append(line)
    return orders


def write_arpa(orders: list[list[str]]) -> str:
    head = "\\data\\\n" + "".join(f"ngram {i + 1}={len(o)}\n" for i, o in enumerate(orders))
    body = "".join(f"\n\\{i + 1}-grams:\n" + "\n".join(o) + "\n" for i, o in enumerate(orders))
    return head + body + "\n\\end\\\n"


@pytest.fixture(scope="module")
def small_o3() -> list[list[str]]:
    return parse_arpa((LMPLZ / "book.o3.prune_1.arpa").read_text(encoding="utf-8"))


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1), fraction=st.floats(0.05, 0.9))
def test_pruned_suffixes_score_as_kenlm(
    small_o3: list[list[str]], heldout: list[str], tmp_path: Path, seed: int, fraction: float
) -> None:
    kenlm = pytest.importorskip("kenlm")
    rng = random.Random(seed)
    uni, bi, tri = small_o3
    contexts = {" ".join(line.split("\t")[1].split()[:2]) for line in tri}
    # Drop bigrams that are no trigram's context (SRILM keeps `a b c` after dropping `b c`).
    keep = [b for b in bi if b.split("\t")[1] in contexts or rng.random() > fraction]
    path = tmp_path / f"pruned-{seed}.arpa"
    path.write_text(write_arpa([uni, keep, tri]), encoding="utf-8")
    ours, theirs = kneser.Model(path), kenlm.Model(str(path))
    for text in rng.sample(heldout, 25):
        want = [(float(p), int(n), bool(o)) for p, n, o in theirs.full_scores(text)]
        assert exact(ours, text) == want
    if BUILD_BINARY.exists():
        ref, out = tmp_path / "ref.bin", tmp_path / "ours.bin"
        subprocess.run([BUILD_BINARY, path, ref], check=True, capture_output=True)
        ours.save_binary(out)
        assert out.read_bytes() == ref.read_bytes()


# -- The hash: no collision over every vocabulary we have -------------------------------------


def test_en_bench_order5_model_loads_and_scores_as_kenlm(shared_dir: Path) -> None:
    """The model whose home-made hash collided (`discernable,` / `discernible;`). Generate it with
    `lmplz -o 5 -S 2G < en-bench.txt > ~/.cache/kneser-anchors/enbench/en-bench.o5.arpa`."""
    path = Path.home() / ".cache/kneser-anchors/enbench/en-bench.o5.arpa"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    kenlm = pytest.importorskip("kenlm")
    ours = kneser.Model(path)
    for a, b in [("discernable,", "discernible;"), ("“’Oo’s", "“’Ow’d")]:
        assert ours.index(a) != ours.index(b) and a in ours and b in ours
    theirs = kenlm.Model(str(path))
    lines = (shared_dir / "reference" / "query" / "book.heldout.txt").read_text().splitlines()
    for text in [*lines, "discernable, discernible; “’Oo’s “’Ow’d"]:
        want = [(float(p), int(n), bool(o)) for p, n, o in theirs.full_scores(text)]
        assert exact(ours, text) == want


# -- kneser query on binaries, with query's flags ----------------------------------------------


@pytest.mark.parametrize("load", ["lazy", "populate", "read", "parallel"])
def test_query_on_kenlm_binary_matches_kenlm_query(
    shared_dir: Path, tmp_path: Path, load: str
) -> None:
    ref = shared_dir / "reference"
    binary = unxz(ref / "binary" / "book.o5.probing.bin.xz", tmp_path / "o5.bin")
    out = tmp_path / "q.txt"
    heldout = ref / "query" / "book.heldout.txt"
    assert (
        kneser.cli.main(["query", "-l", load, "-b", str(binary), str(heldout), "-o", str(out)]) == 0
    )
    want = (ref / "query" / "book.o5.heldout.query.txt").read_text(encoding="utf-8")
    assert out.read_text(encoding="utf-8") == want


QUERY = BUILD_BINARY.parent / "query"


@pytest.mark.skipif(not QUERY.exists(), reason="KenLM's query is not built")
@pytest.mark.parametrize("flags", [[], ["-n"], ["-v", "sentence"], ["-v", "word", "-v", "summary"]])
def test_query_flags_match_kenlm_query_on_a_pruned_model(
    heldout: list[str], tmp_path: Path, flags: list[str]
) -> None:
    orders = parse_arpa((LMPLZ / "book.o3.prune_1.arpa").read_text(encoding="utf-8"))
    uni, bi, tri = orders
    contexts = {" ".join(line.split("\t")[1].split()[:2]) for line in tri}
    keep = [b for i, b in enumerate(bi) if b.split("\t")[1] in contexts or i % 3]
    arpa = tmp_path / "pruned.arpa"
    arpa.write_text(write_arpa([uni, keep, tri]), encoding="utf-8")
    text = tmp_path / "in.txt"
    text.write_text("\n".join(heldout[:100]) + "\n", encoding="utf-8")
    with text.open("rb") as stdin:
        want = subprocess.run(
            [QUERY, *flags, arpa], stdin=stdin, capture_output=True, check=True
        ).stdout.decode("utf-8")
    out = tmp_path / "q.txt"
    assert kneser.cli.main(["query", *flags, str(arpa), str(text), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == want


@pytest.mark.parametrize(
    "flags",
    [
        [],
        ["--binary-format", "trie"],
        ["--binary-format", "trie", "--binary-q", "8", "--binary-b", "7", "--binary-a", "255"],
    ],
)
def test_build_writes_the_binary_straight_from_estimation(
    tmp_path: Path, heldout: list[str], flags: list[str]
) -> None:
    """`kneser build --binary` with no --arpa writes no ARPA file, and its bytes equal
    `kneser build-binary` on the ARPA `kneser build` writes (both build_binary's)."""
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(heldout[:400]) + "\n", encoding="utf-8")
    arpa, direct, via = tmp_path / "m.arpa", tmp_path / "direct.bin", tmp_path / "via.bin"
    common = ["build", "-o", "4", "--discount_fallback", "--quiet", str(corpus)]
    assert kneser.cli.main([*common, "--arpa", str(arpa)]) == 0
    assert kneser.cli.main([*common, "--binary", str(direct), *flags]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.txt", "direct.bin", "m.arpa"]
    layout = ["trie"] if flags else []
    bits = {"--binary-q": "-q", "--binary-b": "-b", "--binary-a": "-a"}
    bb = [bits[f] if f in bits else f for f in flags[2:]]
    assert kneser.cli.main(["build-binary", *bb, *layout, str(arpa), str(via)]) == 0
    assert direct.read_bytes() == via.read_bytes()
    # The Python API does the same.
    again = tmp_path / "again.bin"
    kw = {"binary_layout": "trie"} if flags else {}
    if len(flags) > 2:
        kw.update(quantize=8, backoff_bits=7, array_bits=255)
    kneser.estimate(corpus, 4, binary=again, discount_fallback=True, **kw)
    assert again.read_bytes() == via.read_bytes()


HOLES = {
    "trie": ["trie"],
    "trie-a255": ["-a", "255", "trie"],
    "trie-q8-b7-a255": ["-q", "8", "-b", "7", "-a", "255", "trie"],
    "trie-q3-b2": ["-q", "3", "-b", "2", "trie"],
}


@pytest.mark.parametrize("layout", sorted(HOLES))
def test_tries_of_pruned_fixture_are_build_binarys_bytes(tmp_path: Path, layout: str) -> None:
    """An ARPA with missing suffixes at two orders, one blank the context of another: kneser's
    trie (KenLM's blank entries included) is build_binary's, byte for byte; kneser and the kenlm
    module score it alike."""
    out = tmp_path / "ours.bin"
    arpa = FIXTURES / "holes.o4.arpa"
    assert kneser.cli.main(["build-binary", *HOLES[layout], str(arpa), str(out)]) == 0
    assert out.read_bytes() == (FIXTURES / f"holes.o4.{layout}.bin").read_bytes()
    kenlm = pytest.importorskip("kenlm")
    ours, theirs = kneser.Model(out), kenlm.Model(str(out))
    for text in ["a b d e", "c a e b d e", "b d e b", "<s> a b c a e b", "e b d x c a e b"]:
        want = [(float(p), int(n), bool(o)) for p, n, o in theirs.full_scores(text)]
        assert exact(ours, text) == want, text


@pytest.mark.parametrize("layout", ["probing", "trie"])
@pytest.mark.parametrize("name, marker", [("nos", "<s>"), ("noeos", "</s>")])
def test_s_builds_models_without_sentence_markers_as_build_binary(
    tmp_path: Path, layout: str, name: str, marker: str
) -> None:
    """`-s`: an ARPA without `<s>` (or without `</s>`) is refused without it (as build_binary
    refuses it) and built with it, byte for byte build_binary's; the missing marker is `<unk>`
    (the sentence starts after `<unk>`; the `</s>` of `eos` is scored as `<unk>`), in kneser and
    the kenlm module alike, on both files, OOV flags included: the module's `full_scores` never
    flags the `</s>` it adds, `BaseFullScore` of the word "</s>" does."""
    arpa = FIXTURES / f"{name}.o3.arpa"
    out = tmp_path / "ours.bin"
    with pytest.raises(kneser.FormatError, match=rf"no {marker} unigram.*-s"):
        kneser.build_binary(arpa, out, layout=layout)
    assert not out.exists()
    assert kneser.cli.main(["build-binary", "-s", layout, str(arpa), str(out)]) == 0
    expected = FIXTURES / f"{name}.o3.s.{layout}.bin"
    assert out.read_bytes() == expected.read_bytes()
    kneser.build_binary(arpa, out, layout=layout, allow_missing_markers=True)
    assert out.read_bytes() == expected.read_bytes()
    kenlm = pytest.importorskip("kenlm")
    ours, theirs = kneser.Model(out), kenlm.Model(str(out))
    for text in ["a b c", "<s> a b c", "c a", "x a b", "", "a </s> b"]:
        for bos, eos in [(True, True), (False, True), (True, False)]:
            want = [(float(p), int(n), bool(o)) for p, n, o in theirs.full_scores(text, bos, eos)]
            got = [(float(p), int(n), bool(o)) for p, n, o in ours.full_scores(text, bos, eos)]
            assert got == want, (text, bos, eos)
    for word in ["a", "</s>", "<s>", "x"]:
        state, after = kenlm.State(), kenlm.State()
        theirs.BeginSentenceWrite(state)
        full = theirs.BaseFullScore(state, word, after)
        mine, mine_after = kneser.State(), kneser.State()
        ours.BeginSentenceWrite(mine)
        got = ours.BaseFullScore(mine, word, mine_after)
        assert (got.log_prob, got.ngram_length, got.oov) == (
            full.log_prob,
            full.ngram_length,
            full.oov,
        ), word


def test_tries_of_pruned_models(shared_dir: Path, heldout: list[str], tmp_path: Path) -> None:
    """An ARPA whose n-grams lack their suffix (SRILM's pruning): kneser writes the trie with
    KenLM's blank entries, the bytes of build_binary (live, when it is built), and build_binary's
    file scores as the kenlm module scores it."""
    folder = shared_dir / "reference" / "arpa-other"
    arpa = unxz(folder / "book.o3.suffix-holes.arpa.xz", tmp_path / "holes.arpa")
    out = tmp_path / "ours.bin"
    kneser.build_binary(arpa, out, layout="trie")
    kenlm = pytest.importorskip("kenlm")
    ours, klm = kneser.Model(out), kenlm.Model(str(out))
    for text in heldout[:100]:
        want = [(float(p), int(n), bool(o)) for p, n, o in klm.full_scores(text)]
        assert exact(ours, text) == want, text
    if not BUILD_BINARY.exists():
        pytest.skip("KenLM's build_binary is not built")
    for flags in (["trie"], ["-q", "8", "-a", "255", "trie"], ["-a", "3", "trie"]):
        theirs = tmp_path / "theirs.bin"
        subprocess.run(
            [str(BUILD_BINARY), *flags, str(arpa), str(theirs)], check=True, capture_output=True
        )
        assert kneser.cli.main(["build-binary", *flags, str(arpa), str(out)]) == 0
        assert out.read_bytes() == theirs.read_bytes(), flags
        ours, klm = kneser.Model(theirs), kenlm.Model(str(theirs))
        for text in heldout[:300]:
            want = [(float(p), int(n), bool(o)) for p, n, o in klm.full_scores(text)]
            assert exact(ours, text) == want, (flags, text)


@pytest.mark.skipif(not QUERY.exists(), reason="KenLM's query is not built")
@pytest.mark.parametrize("name", ["book.o3.trie", "book.o5.trie-q8-b7-a255"])
def test_query_on_trie_binaries_matches_kenlm_query(
    shared_dir: Path, heldout: list[str], tmp_path: Path, name: str
) -> None:
    """`kneser query` on a trie file prints what KenLM's `query` prints (word ids are the
    trie's, in key order)."""
    binary = unxz(shared_dir / "reference" / "binary" / f"{name}.bin.xz", tmp_path / "t.bin")
    text = tmp_path / "in.txt"
    text.write_text("\n".join(heldout[:100]) + "\n", encoding="utf-8")
    with text.open("rb") as stdin:
        want = subprocess.run(
            [QUERY, binary], stdin=stdin, capture_output=True, check=True
        ).stdout.decode("utf-8")
    out = tmp_path / "q.txt"
    assert kneser.cli.main(["query", str(binary), str(text), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == want


def test_a_trie_file_saves_in_other_layouts(
    shared_dir: Path, heldout: list[str], tmp_path: Path
) -> None:
    """A model read from a quantized trie keeps its (decoded) values when saved as a plain
    trie or as probing: kneser and the kenlm module score the copies as the original."""
    kenlm = pytest.importorskip("kenlm")
    ref = shared_dir / "reference" / "binary"
    binary = unxz(ref / "book.o3.trie-q8-b7-a22.bin.xz", tmp_path / "q.bin")
    original = kneser.Model(binary)
    plain, probing = tmp_path / "plain.bin", tmp_path / "probing.bin"
    original.save_binary(plain, layout="trie")
    original.save_binary(probing)
    for path in (plain, probing):
        ours, theirs = kneser.Model(path), kenlm.Model(str(path))
        for text in heldout[:100]:
            want = exact(original, text)
            assert exact(ours, text) == want, (path.name, text)
            assert [(float(p), int(n), bool(o)) for p, n, o in theirs.full_scores(text)] == want


# -- Straight from estimation: records, no ARPA text -------------------------------------------

ESTIMATED_REFS = [
    ("book.o3.probing", 3, {}),
    ("book.o3.probing-novocab", 3, {"include_vocab": False}),
    ("book.o5.probing", 5, {}),
    *[
        (name, int(arpa[-1]), {"binary_layout": "trie", **kwargs})
        for name, (arpa, _, kwargs) in TRIE_FLAGS.items()
    ],
]


@pytest.mark.parametrize(("name", "order", "kwargs"), ESTIMATED_REFS)
def test_estimate_binary_md5_equals_build_binarys_reference(
    shared_dir: Path, tmp_path: Path, name: str, order: int, kwargs: dict
) -> None:
    """`kneser.estimate(book.txt, binary=...)`, which hands its n-grams to the builders as
    records (no ARPA text), writes build_binary's bytes for lmplz's ARPA of the same corpus
    (the reference binaries; build_binary's flags in the reference README)."""
    out = tmp_path / "direct.bin"
    kneser.estimate(LMPLZ / "book.txt", order, binary=out, **kwargs)
    expected = lzma.open(shared_dir / "reference" / "binary" / f"{name}.bin.xz").read()
    assert hashlib.md5(out.read_bytes()).hexdigest() == hashlib.md5(expected).hexdigest()


WORDS = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")),
    min_size=1,
    max_size=4,
).filter(lambda w: w not in ("<s>", "</s>", "<unk>"))

LAYOUTS = [
    {},
    {"binary_layout": "trie"},
    {"binary_layout": "trie", "quantize": 8, "backoff_bits": 7, "array_bits": 255},
    {"binary_layout": "trie", "quantize": 4, "backoff_bits": 3},
    {"binary_layout": "trie", "array_bits": 22},
]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    vocab=st.lists(WORDS, min_size=2, max_size=30, unique=True),
    picks=st.lists(st.lists(st.integers(0, 29), min_size=0, max_size=12), min_size=1, max_size=40),
    order=st.integers(2, 4),
    layout=st.sampled_from(range(len(LAYOUTS))),
    include_vocab=st.booleans(),
)
def test_record_path_writes_the_text_paths_bytes(
    tmp_path: Path,
    vocab: list[str],
    picks: list[list[int]],
    order: int,
    layout: int,
    include_vocab: bool,
) -> None:
    """On generated corpora: the binary from the estimator's records equals build_binary's
    (kneser's) on the ARPA the same estimation prints; the kenlm module scores it as it scores
    that ARPA (unquantized layouts) or as kneser scores the file (quantized)."""
    lines = [" ".join(vocab[i % len(vocab)] for i in p) for p in picks]
    kw = LAYOUTS[layout]
    arpa, direct, via = tmp_path / "m.arpa", tmp_path / "direct.bin", tmp_path / "via.bin"
    # tmp_path is shared by hypothesis's examples: an earlier example's files must not count.
    for old in (arpa, direct, via):
        old.unlink(missing_ok=True)
    common = {"texts": lines, "order": order, "discount_fallback": True}
    kneser.estimate(arpa=arpa, **common)
    bb = {k: v for k, v in kw.items() if k != "binary_layout"}
    try:
        kneser.build_binary(
            arpa, via, layout=kw.get("binary_layout", "probing"), include_vocab=include_vocab, **bb
        )
    except kneser.FormatError as text_error:
        # An ARPA the builder refuses (a -inf backoff of a degenerate corpus): the records are
        # refused with the same message at the same line, and no file is written.
        with pytest.raises(kneser.FormatError) as record_error:
            kneser.estimate(binary=direct, include_vocab=include_vocab, **kw, **common)
        assert str(record_error.value).split(":", 1)[1] == str(text_error).split(":", 1)[1]
        assert not direct.exists()
        return
    kneser.estimate(binary=direct, include_vocab=include_vocab, **kw, **common)
    assert direct.read_bytes() == via.read_bytes()
    kenlm = pytest.importorskip("kenlm")
    theirs = kenlm.Model(str(direct))
    reference = kenlm.Model(str(arpa)) if "quantize" not in kw else kneser.Model(direct)
    for text in [*lines[:10], " ".join(vocab[:5]), "never seen words"]:
        got = [(float(p), int(n), bool(o)) for p, n, o in theirs.full_scores(text)]
        want = [(float(p), int(n), bool(o)) for p, n, o in reference.full_scores(text)]
        assert got == want, text


def test_an_estimate_that_fails_leaves_no_binary(tmp_path: Path) -> None:
    """The record route writes the file only when the estimate completes."""
    out = tmp_path / "m.bin"
    with pytest.raises(kneser.DiscountError):
        kneser.estimate(texts=["a b", "b a"], order=3, binary=out)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# -- save_binary(layout="trie") reads the ARPA again: a changed file is refused ---------------


@pytest.mark.parametrize("change", ["rewritten", "touched", "removed", "same"])
def test_save_trie_refuses_an_arpa_changed_since_the_load(tmp_path: Path, change: str) -> None:
    src = tmp_path / "m.arpa"
    kneser.estimate(texts=["a b c", "b c d", "c d a b"], order=3, arpa=src, discount_fallback=True)
    model = kneser.Model(src)
    expected = tmp_path / "expected.bin"
    kneser.build_binary(src, expected, layout="trie")
    out = tmp_path / "out.bin"
    if change == "rewritten":
        kneser.estimate(texts=["x y", "y x z"], order=3, arpa=src, discount_fallback=True)
    elif change == "touched":
        stat = src.stat()
        os.utime(src, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    elif change == "removed":
        src.unlink()
    if change == "same":
        model.save_binary(out, layout="trie")
        assert out.read_bytes() == expected.read_bytes()
        return
    with pytest.raises(kneser.FormatError, match=r"m\.arpa.*changed since the load") as e:
        model.save_binary(out, layout="trie")
    why = {"rewritten": "size changed", "touched": "modified", "removed": "cannot be read"}
    assert why[change] in str(e.value)
    assert not out.exists()
    # The model itself still scores, and the probing layout needs no second read.
    assert model.score("a b c") == model.score("a b c")
    model.save_binary(out)
    assert kneser.Model(out).score("a b c") == model.score("a b c")


@pytest.mark.parametrize("layout", range(len(LAYOUTS)))
def test_models_with_empty_top_orders_load_and_score_as_kenlm(tmp_path: Path, layout: int) -> None:
    """A tiny corpus leaves the top orders empty (`ngram 3=0`): build_binary writes such files
    and the kenlm module loads them; so does kneser (found by the record-path hypothesis test:
    kneser refused a count of 0)."""
    kenlm = pytest.importorskip("kenlm")
    for lines in ([""], ["a"], ["a b", "b a b"]):
        out = tmp_path / "m.bin"
        kneser.estimate(texts=lines, order=4, binary=out, discount_fallback=True, **LAYOUTS[layout])
        theirs, ours = kenlm.Model(str(out)), kneser.Model(out)
        for text in ["", "a", "a b a", "zz a b"]:
            want = [(float(p), int(n), bool(o)) for p, n, o in theirs.full_scores(text)]
            assert exact(ours, text) == want, (lines, text)


def test_a_unigram_model_is_refused_in_both_layouts_as_build_binary_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # build_binary (and the kenlm module, loading the ARPA) stop with "This ngram
    # implementation assumes at least a bigram model" on an order-1 ARPA, probing or trie.
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c\nb c\n", encoding="utf-8")
    arpa = tmp_path / "u.arpa"
    kneser.estimate(corpus, order=1, arpa=arpa, discount_fallback=True)
    for layout in (["probing"], ["trie"], ["trie", "-q", "8"]):
        out = tmp_path / f"{'-'.join(layout)}.bin"
        flags = [f for f in layout if f.startswith("-") or f.isdigit()]
        assert kneser.cli.main(["build-binary", *flags, layout[0], str(arpa), str(out)]) == 1
        assert "assumes at least a bigram model" in capsys.readouterr().err
        assert not out.exists()
        if BUILD_BINARY.exists():  # the oracle refuses it too
            theirs = tmp_path / "theirs.bin"
            r = subprocess.run([BUILD_BINARY, *flags, layout[0], arpa, theirs], capture_output=True)
            assert r.returncode != 0 and b"assumes at least a bigram model" in r.stderr + r.stdout
    with pytest.raises(kneser.ArgumentError, match="order 2 and above"):
        kneser.Model(arpa).save_binary(tmp_path / "m.bin", layout="trie")
    with pytest.raises(kneser.ArgumentError, match="order 2 and above"):
        kneser.estimate(corpus, order=1, binary=tmp_path / "e.bin", binary_layout="trie",
                        discount_fallback=True)  # fmt: skip
    assert not (tmp_path / "m.bin").exists() and not (tmp_path / "e.bin").exists()


# What KenLM's `query` printed for these inputs on these models (lmplz -o 3 --discount_fallback
# on SPECIALS_CORPUS, build_binary probing|trie, KenLM 4cb443e): the `<s>` unigram read back
# from a trie keeps its stored 0 (`0`), from probing tables its sign bit (`-0`); an input
# without tokens has perplexity NaN.
SPECIALS_CORPUS = "a b c\nb c a\nc c\n"
SPECIALS_QUERY = "</s> <s> a\n<s>\n"
SPECIALS_WANT = {
    "probing": "</s>=2 1 -0.97651887\t<s>=1 1 -0\ta=3 2 -0.5650765\t</s>=2 2 -0.75012255\t"
    "Total: -2.291718 OOV: 0\n",
    "trie": "</s>=3 1 -0.97651887\t<s>=1 1 0\ta=2 2 -0.5650765\t</s>=3 2 -0.75012255\t"
    "Total: -2.291718 OOV: 0\n",
}


@pytest.mark.parametrize("layout", ["probing", "trie"])
def test_query_prints_the_sentence_markers_and_an_empty_input_as_kenlm_query(
    tmp_path: Path, layout: str
) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text(SPECIALS_CORPUS, encoding="utf-8")
    arpa, binary = tmp_path / "m.arpa", tmp_path / f"{layout}.bin"
    kneser.estimate(corpus, order=3, arpa=arpa, discount_fallback=True)
    assert kneser.cli.main(["build-binary", layout, str(arpa), str(binary)]) == 0
    runs = {}
    for name, text in (("markers", SPECIALS_QUERY), ("empty", "")):
        src, out = tmp_path / f"{name}.txt", tmp_path / f"{name}.out"
        src.write_text(text, encoding="utf-8")
        assert kneser.cli.main(["query", str(binary), str(src), "-o", str(out)]) == 0
        runs[name] = (src, out.read_text(encoding="utf-8"))
    assert runs["markers"][1].startswith(SPECIALS_WANT[layout])
    assert runs["empty"][1].startswith(
        "Perplexity including OOVs:\tNaN\nPerplexity excluding OOVs:\tNaN\nOOVs:\t0\nTokens:\t0\n"
    )
    if QUERY.exists():  # and the oracle itself, when it is built
        for src, got in runs.values():
            with src.open("rb") as stdin:
                want = subprocess.run([QUERY, binary], stdin=stdin, capture_output=True)
            assert got == want.stdout.decode("utf-8")


def test_memory_estimate_is_build_binarys(shared_dir: Path, tmp_path: Path, capsys) -> None:
    """``build-binary`` with no output file prints build_binary's memory estimate, byte for
    byte, and exits 0 as it does: reference ARPAs and header-only files with counts that reach
    every unit (B to GB), under -p, -q, -b and -a (build_binary 4cb443e's stderr, recorded in
    the fixture; tests/data/README.md gives the command)."""
    lines = (FIXTURES / "memory_estimates.jsonl").read_text(encoding="utf-8").splitlines()
    cases = [json.loads(line) for line in lines]
    assert len(cases) >= 30
    for case in cases:
        if "arpa" in case:
            path = tmp_path / "h.arpa"
            path.write_text(case["arpa"], encoding="utf-8")
        else:
            path = shared_dir / case["file"]
        status = kneser.cli.main(["build-binary", *case["args"], str(path)])
        assert (status, capsys.readouterr().err) == (case["status"], case["stderr"]), case
    assert not list(tmp_path.glob("*.bin"))


def test_memory_estimate_of_a_bad_header_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    for text, what in [
        ("\\data\\\nngram 1=x\n\n", "ngram N=count"),
        ("\\data\\\nngram 1=4\n", "ends inside"),
        ("\\data\\\nngram 1=5\n\n", "order 2"),
    ]:
        path = tmp_path / "bad.arpa"
        path.write_text(text, encoding="utf-8")
        assert kneser.cli.main(["build-binary", str(path)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("kneser: error:") and what in err and "Traceback" not in err, err
        assert str(path) in err or "bad.arpa" in err or "order" in err, err
