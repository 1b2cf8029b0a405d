"""CCNet mode: kneser's perplexity and bucket equal CCNet's own flow (cc_net's MultiSentencePiece,
DocLM and PerplexityBucket with the sentencepiece package and the kenlm module) for every
document, with the {lang}.sp.model + {lang}.arpa.bin pairs (KenLM probing binaries) trained
here by kneser.train_lm on bundled text."""

from __future__ import annotations

import copy
import json
import lzma
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import kneser
from kneser.cli import main

spm = pytest.importorskip("sentencepiece")
pytest.importorskip("kenlm")
pytest.importorskip("pandas")
perplexity = pytest.importorskip("cc_net.perplexity")
text_normalizer = pytest.importorskip("cc_net.text_normalizer")

DATA = Path(kneser.__file__).parent / "data"
TESTS = Path(__file__).parent / "data"
KENLM_BIN = Path.home() / ".cache/kneser-anchors/kenlm-build/bin"


def _en_lines() -> list[str]:
    with lzma.open(DATA / "reference.txt.xz", "rt", encoding="utf-8") as f:
        ref = [ln.rstrip("\n") for ln in f if ln.strip()]
    return ref + (TESTS / "en-500.txt").read_text(encoding="utf-8").splitlines()


def _zh_lines() -> list[str]:
    return [ln for ln in (TESTS / "zh-sample.txt").read_text(encoding="utf-8").splitlines() if ln]


KENLM_MAGIC = b"mmap lm http://kheafield.com/code"


def _train_lang(lm_dir: Path, lang: str, lines: list[str], vocab_size: int) -> None:
    """The pair of a CCNet lm_dir, trained by kneser.train_lm: SentencePiece on the normalized
    text, then the model on its pieces, written straight to KenLM's probing binary."""
    ref = lm_dir.parent / f"{lang}-ref.txt"
    ref.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = kneser.train_lm(
        ref,
        3,
        binary=lm_dir / f"{lang}.arpa.bin",
        sp_model=lm_dir / f"{lang}.sp.model",
        sp_vocab_size=vocab_size,
        sp_options={"hard_vocab_limit": False, "num_threads": 1},
        discount_fallback=[0.5, 1, 1.5],
    )
    assert summary["binary"] == str(lm_dir / f"{lang}.arpa.bin") and "arpa" not in summary
    assert (lm_dir / f"{lang}.arpa.bin").read_bytes().startswith(KENLM_MAGIC)
    assert sorted(p.name for p in lm_dir.iterdir() if p.name.startswith(lang)) == [
        f"{lang}.arpa.bin",
        f"{lang}.sp.model",
    ]


def _documents(seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    docs = []

    def group(lines, lang, n):
        for i in range(n):
            k = rng.randint(1, 6)
            start = rng.randrange(len(lines))
            body = lines[start : start + k]
            if rng.random() < 0.2:  # word salad: shuffled words score badly
                words = " ".join(body).split()
                rng.shuffle(words)
                body = [" ".join(words)]
            sep = rng.choice(["\n", "\n\n", "\n  \t", " "])
            docs.append({"url": f"{lang}-{i}", "raw_content": sep.join(body), "language": lang})

    group(_en_lines(), "en", 2000)
    group(_zh_lines(), "zh", 800)
    group(_en_lines(), "de", 200)  # no model for de: passed through unscored
    docs.append({"url": "empty", "raw_content": "", "language": "en"})
    docs.append({"url": "blank", "raw_content": " \n\t ", "language": "zh"})
    docs.append({"url": "nolang", "raw_content": "Some text without a language."})
    docs.append({"url": "nulllang", "raw_content": "More text.", "language": None})
    rng.shuffle(docs)
    return docs


def _ccnet(lm_dir: Path, cutoff: Path | None, docs: list[dict], langs) -> list[dict]:
    sp = perplexity.MultiSentencePiece(
        {lang: lm_dir / f"{lang}.sp.model" for lang in langs},
        field="raw_content",
        output_field="tokenized",
        normalize=True,
    )
    lm = perplexity.DocLM(
        {lang: lm_dir / f"{lang}.arpa.bin" for lang in langs},
        field="tokenized",
        output_field="perplexity",
        normalize=False,
    )
    steps = [sp, lm]
    if cutoff is not None:
        steps.append(perplexity.PerplexityBucket(cutoff))
    steps.append(perplexity.DropKeys("tokenized"))
    out = []
    for step in steps:
        step.__enter__()
    try:
        for d in copy.deepcopy(docs):
            for step in steps:
                d = step(d)
            out.append(d)
    finally:
        for step in reversed(steps):
            step.__exit__(None, None, None)
    return out


def _write_cutoffs(path: Path, reference: list[dict]) -> None:
    """A cutoff.csv as CCNet's: rows 0..100 of per-language perplexity percentiles (here from
    the documents themselves, so every bucket is used and ties at the cutoffs occur)."""
    import numpy as np

    cols = {}
    for lang in ("en", "zh"):
        ppl = [
            d["perplexity"] for d in reference if d.get("language") == lang and "perplexity" in d
        ]
        cols[lang] = [round(float(x), 1) for x in np.percentile(ppl, range(101))]
    lines = [",en,zh"] + [f"{p},{cols['en'][p]},{cols['zh'][p]}" for p in range(101)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("ccnet")
    lm_dir = root / "lm_sp"
    lm_dir.mkdir()
    _train_lang(lm_dir, "en", _en_lines(), 1200)
    _train_lang(lm_dir, "zh", _zh_lines(), 3000)
    docs = _documents()
    unbucketed = _ccnet(lm_dir, None, docs, ["en", "zh"])
    cutoff = root / "cutoff.csv"
    _write_cutoffs(cutoff, unbucketed)
    expected = _ccnet(lm_dir, cutoff, docs, ["en", "zh"])
    inputs = root / "docs.json.gz"
    import gzip

    with gzip.open(inputs, "wt", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    return {
        "root": root,
        "lm_dir": lm_dir,
        "cutoff": cutoff,
        "docs": docs,
        "expected": expected,
        "inputs": inputs,
    }


def _read(path: Path) -> list[dict]:
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines()]


def test_equal_to_ccnet_for_every_document(setup):
    out = setup["root"] / "out.jsonl"
    report = kneser.Pipeline.ccnet(setup["lm_dir"], setup["cutoff"]).run(setup["inputs"], out)
    got = _read(out)
    expected = setup["expected"]
    assert len(got) == len(expected) == len(setup["docs"])
    mismatches = [(g, e) for g, e in zip(got, expected) if g != e]
    assert not mismatches[:3]
    buckets = {
        b: sum(d["bucket"] == b for d in expected) for b in ("head", "middle", "tail", "all")
    }
    assert report.buckets == buckets
    assert min(buckets.values()) > 0
    # de (no model), the empty and blank texts and the two docs without a language.
    unscored = [d for d in expected if "perplexity" not in d]
    assert report.unscored == len(unscored) == 200 + 4
    assert all(d["bucket"] == "all" for d in unscored)
    assert report.documents == len(expected)
    assert not report.malformed


ODD = [
    "\u2028", "\u2029", "\u1680", "\u3000", "\u00a0", "\u202f", "\u205f", "\u2007",
    "\u180e", "\ufeff", "\u200b", "\x1c", "\x85", "\x00", "\t", "\r\n", "😀", "語",
    "\ud7ff", "\U0001d11e", "e\u0301", "\uff21",
]  # fmt: skip


def test_odd_whitespace_and_unknown_pieces_as_ccnet(setup, tmp_path):
    """Unicode whitespace Python splits on (and kenlm does not), NULs, control characters,
    characters the models do not know: kneser's perplexity and bucket are still CCNet's."""
    rng = random.Random(3)
    lines = _en_lines()
    docs = []
    for i in range(600):
        words = " ".join(lines[rng.randrange(len(lines))] for _ in range(2)).split(" ")
        for _ in range(rng.randint(1, 6)):
            words.insert(
                rng.randrange(len(words) + 1), "".join(rng.choices(ODD, k=rng.randint(1, 3)))
            )
        sep = rng.choice(["", " "])
        lang = rng.choice(["en", "en", "zh"])
        docs.append({"url": f"odd-{i}", "raw_content": sep.join(words), "language": lang})
    path = tmp_path / "odd.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    kneser.Pipeline.ccnet(setup["lm_dir"], setup["cutoff"]).run(path, out)
    expected = _ccnet(setup["lm_dir"], setup["cutoff"], docs, ["en", "zh"])
    got = _read(out)
    assert len(got) == len(expected)
    assert [g for g, e in zip(got, expected) if g != e][:3] == []
    assert sum("perplexity" in d for d in got) > 500


def test_long_documents_as_ccnet(setup, tmp_path):
    """Documents of thousands of lines, as web pages can be: CCNet encodes a document whole,
    and past a best path score of 100,000 SentencePiece rebases its sums (kneser's
    perplexities once differed from CCNet's on such documents)."""
    rng = random.Random(5)
    docs = []
    for i, (lang, lines) in enumerate([("en", _en_lines()), ("zh", _zh_lines())] * 2):
        body = [rng.choice(lines) for _ in range(rng.randint(1500, 3000))]
        docs.append({"url": f"long-{i}", "raw_content": "\n".join(body), "language": lang})
    assert min(len(d["raw_content"]) for d in docs) > 30_000
    path = tmp_path / "long.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    kneser.Pipeline.ccnet(setup["lm_dir"], setup["cutoff"]).run(path, out)
    expected = _ccnet(setup["lm_dir"], setup["cutoff"], docs, ["en", "zh"])
    assert _read(out) == expected
    assert all("perplexity" in d for d in expected)


def test_scorer_batch_api(setup):
    # No percentiles given: the core's defaults, checked against PerplexityBucket's own.
    scorer = kneser.CcnetScorer(setup["lm_dir"], setup["cutoff"])
    assert scorer.languages == ["en", "zh"]
    docs, expected = setup["docs"][:300], setup["expected"][:300]
    res = scorer.score_batch([d["raw_content"] for d in docs], [d.get("language") for d in docs])
    for i, e in enumerate(expected):
        assert res["bucket"][i] == e["bucket"]
        assert bool(res["scored"][i]) == ("perplexity" in e)
        if "perplexity" in e:
            assert res["perplexity"][i] == e["perplexity"]
    # bytes are decoded, None is no text.
    res = scorer.score_batch([docs[0]["raw_content"].encode(), None], [docs[0]["language"], "en"])
    assert bool(res["scored"][1]) is False and res["bucket"][1] == "all"


def test_without_cutoffs_every_bucket_is_all(setup):
    out = setup["root"] / "nocut.jsonl"
    kneser.Pipeline.ccnet(setup["lm_dir"]).run(setup["inputs"], out)
    got = _read(out)
    expected = _ccnet(setup["lm_dir"], None, setup["docs"], ["en", "zh"])
    assert all(d["bucket"] == "all" for d in got)
    assert [d.get("perplexity") for d in got] == [d.get("perplexity") for d in expected]


@pytest.mark.parametrize("head, tail", [(30, 60), (45, 45), (0, 100), (60, 30), (100, 0)])
def test_cutoffs_out_of_order_and_nan_cells_bucket_as_ccnet(setup, tmp_path, head, tail):
    """CCNet's PerplexityBucket tries the head cutoff first, then the tail cutoff, over what
    pandas reads: cutoffs out of order (here random; a hand-made file), NaN cells (empty, as
    pandas writes a NaN, or "nan") and a percentile_head above percentile_tail give its
    buckets, not a binary search's."""
    rng = random.Random(head * 101 + tail)
    ppl = [d["perplexity"] for d in setup["expected"] if "perplexity" in d]
    rows = [",en,zh"]
    for p in range(101):
        en = round(rng.uniform(min(ppl), max(ppl)), rng.randint(0, 2))
        zh = rng.choice(["", "nan", "NaN", str(round(rng.uniform(min(ppl), max(ppl)), 1))])
        rows.append(f"{p},{en},{zh}")
    cutoff = tmp_path / "cutoff.csv"
    cutoff.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with perplexity.PerplexityBucket(cutoff, head, tail) as bucket:
        expected = [bucket(copy.deepcopy(d)) for d in setup["expected"]]
    out = tmp_path / "out.jsonl"
    pipeline = kneser.Pipeline.ccnet(
        setup["lm_dir"], cutoff, percentile_head=head, percentile_tail=tail
    )
    pipeline.run(setup["inputs"], out)
    got = _read(out)
    assert len(got) == len(expected)
    assert [g for g, e in zip(got, expected) if g != e][:3] == []
    assert {d["bucket"] for d in expected} >= {"head", "tail"}


def test_missing_language_dir(setup, tmp_path):
    lm_dir = tmp_path / "only_en"
    lm_dir.mkdir()
    for name in ("en.sp.model", "en.arpa.bin"):
        shutil.copy(setup["lm_dir"] / name, lm_dir / name)
    out = tmp_path / "out.jsonl"
    report = kneser.Pipeline.ccnet(lm_dir, setup["cutoff"]).run(setup["inputs"], out)
    got = _read(out)
    zh = [d for d in got if d.get("language") == "zh"]
    assert zh and all("perplexity" not in d and d["bucket"] == "all" for d in zh)
    assert report.unscored == sum("perplexity" not in d for d in got)
    assert report.unscored >= 800 + 200
    assert "unscored" in str(report)


def test_cli_and_keep(setup, tmp_path):
    out = tmp_path / "cli.jsonl"
    rc = main(
        [
            "pipeline",
            str(setup["inputs"]),
            "--ccnet-lm-dir",
            str(setup["lm_dir"]),
            "--cutoff-csv",
            str(setup["cutoff"]),
            "--field",
            "raw_content",
            "-O",
            str(out),
            "--keep",
            "head",
            "middle",
            "-q",
            "--json",
        ]
    )
    assert rc == 0
    got = _read(out)
    expected = [e for e in setup["expected"] if e["bucket"] in ("head", "middle")]
    assert got == expected


def test_bad_lm_dir(tmp_path, setup):
    shutil.copy(setup["lm_dir"] / "en.arpa.bin", tmp_path / "en.arpa.bin")
    with pytest.raises(kneser.ArgumentError, match=r"en\.sp\.model"):
        kneser.Pipeline.ccnet(tmp_path)
    (tmp_path / "en.arpa.bin").unlink()
    shutil.copy(setup["lm_dir"] / "en.sp.model", tmp_path / "en.sp.model")
    with pytest.raises(kneser.ArgumentError, match="no language model"):
        kneser.Pipeline.ccnet(tmp_path)
    bad = tmp_path / "cut.csv"
    bad.write_text(",en\n0,1\n", encoding="utf-8")
    shutil.copy(setup["lm_dir"] / "en.arpa.bin", tmp_path / "en.arpa.bin")
    with pytest.raises(kneser.FormatError, match="percentile_head 30"):
        kneser.Pipeline.ccnet(tmp_path, bad)


def test_skip_bad_lines_counted_with_file_and_line(setup, tmp_path):
    good = setup["docs"][:5]
    path = tmp_path / "bad.jsonl"
    with path.open("wb") as f:
        f.write((json.dumps(good[0]) + "\n").encode())
        f.write(b"[" * 100_000 + b"\n")  # nests too deeply for json
        f.write((json.dumps(good[1]) + "\n").encode())
        f.write(b'{"raw_content": "a \\ud800 b", "language": "en"}\n')  # lone surrogate
        f.write(b'{"raw_content": "ok", "x": "\\udfff"}\n')  # lone surrogate in another field
        f.write(b'{"raw_content": "caf\xe9", "language": "en"}\n')  # invalid UTF-8
        f.write((json.dumps(good[2]) + "\n").encode())
        f.write(b"not json\n")
    out = tmp_path / "out.jsonl"
    report = kneser.Pipeline.ccnet(setup["lm_dir"], setup["cutoff"]).run(path, out)
    assert len(_read(out)) == 3
    assert [(Path(p).name, n) for p, n, _ in report.malformed] == [
        ("bad.jsonl", 2),
        ("bad.jsonl", 4),
        ("bad.jsonl", 5),
        ("bad.jsonl", 6),
        ("bad.jsonl", 8),
    ]
    reasons = [m for _, _, m in report.malformed]
    assert "nested" in reasons[0] and "surrogate" in reasons[1] and "UTF-8" in reasons[3]
    # The model pipeline skips them the same way.
    arpa = setup["lm_dir"] / "en.arpa.bin"
    rep = kneser.Pipeline(arpa, field="raw_content", dedup=None).run(path, tmp_path / "o2.jsonl")
    assert len(rep.malformed) == 5
    with pytest.raises(kneser.FormatError, match=r"bad\.jsonl:2"):
        kneser.Pipeline.ccnet(setup["lm_dir"], on_error="raise").run(path, tmp_path / "o3.jsonl")
    assert not (tmp_path / "o3.jsonl").exists()


@pytest.mark.skipif(not (KENLM_BIN / "build_binary").exists(), reason="KenLM binaries not built")
@pytest.mark.parametrize("layout", ["probing", "trie"])
def test_kenlm_build_binary_model(setup, tmp_path, layout):
    """A {lang}.arpa.bin written by KenLM's own build_binary (its default probing layout, or
    trie) from the ARPA of the same pieces scores as in CCNet."""
    lm_dir = tmp_path / "lm"
    lm_dir.mkdir()
    sp_model = setup["lm_dir"] / "en.sp.model"
    shutil.copy(sp_model, lm_dir / "en.sp.model")
    kneser.train_lm(
        setup["root"] / "en-ref.txt",
        3,
        tmp_path / "en.arpa",
        tokenizer=kneser.SentencePiece(sp_model),
        discount_fallback=[0.5, 1, 1.5],
    )
    cmd = [str(KENLM_BIN / "build_binary"), str(tmp_path / "en.arpa"), str(lm_dir / "en.arpa.bin")]
    if layout == "trie":
        cmd.insert(1, "trie")
    subprocess.run(cmd, check=True, capture_output=True)
    if layout == "probing":
        # The same bytes as train_lm's binary, written straight from estimation.
        assert (lm_dir / "en.arpa.bin").read_bytes() == (
            setup["lm_dir"] / "en.arpa.bin"
        ).read_bytes()
    out = tmp_path / "out.jsonl"
    kneser.Pipeline.ccnet(lm_dir, setup["cutoff"]).run(setup["inputs"], out)
    expected = _ccnet(lm_dir, setup["cutoff"], setup["docs"], ["en"])
    assert _read(out) == expected


def test_ccnet_python_flow_is_importable():
    assert sys.modules["cc_net.perplexity"].DocLM


def test_dedup_document(setup, tmp_path):
    docs = setup["docs"][:20]
    dup = dict(docs[3], url="copy", raw_content=docs[3]["raw_content"].upper() + "  ")
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in [*docs, dup, docs[5]]), encoding="utf-8")
    out = tmp_path / "o.jsonl"
    report = kneser.Pipeline.ccnet(setup["lm_dir"], dedup="document").run(path, out)
    assert report.duplicates == 2
    assert [d["url"] for d in _read(out)] == [d["url"] for d in docs]


def test_train_lm_cli_writes_a_pair_ccnet_loads(tmp_path):
    """`kneser train-lm --sp-model --binary`: the {lang}.sp.model + {lang}.arpa.bin of a CCNet
    lm_dir, loaded by the sentencepiece package, the kenlm module and CCNet's DocLM."""
    import kenlm

    ref = tmp_path / "ref.txt"
    ref.write_text("\n".join(_en_lines()[:3000]) + "\n", encoding="utf-8")
    lm_dir = tmp_path / "lm"
    lm_dir.mkdir()
    args = ["train-lm", str(ref), "-o", "3", "--sp-vocab-size", "700", "--discount-fallback"]
    rc = main(
        [
            *args,
            "--binary",
            str(lm_dir / "en.arpa.bin"),
            "--sp-model",
            str(lm_dir / "en.sp.model"),
            "-q",
        ]
    )
    assert rc == 0
    assert sorted(p.name for p in lm_dir.iterdir()) == ["en.arpa.bin", "en.sp.model"]
    assert (lm_dir / "en.arpa.bin").read_bytes().startswith(KENLM_MAGIC)
    sp = spm.SentencePieceProcessor(model_file=str(lm_dir / "en.sp.model"))
    assert sp.get_piece_size() == 700
    # The model's words are the SentencePiece model's pieces of the normalized text.
    lm = kenlm.Model(str(lm_dir / "en.arpa.bin"))
    assert lm.order == 3
    lines = [text_normalizer.normalize(ln) for ln in _en_lines()[:50]]
    assert all(p in lm for ln in lines for p in sp.encode_as_pieces(ln))
    # The pair works in CCNet's own flow and in kneser's, with equal results.
    docs = _documents()[:300]
    expected = _ccnet(lm_dir, None, docs, ["en"])
    src = tmp_path / "d.jsonl"
    src.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    kneser.Pipeline.ccnet(lm_dir).run(src, tmp_path / "o.jsonl")
    got = _read(tmp_path / "o.jsonl")
    # Without a cutoff file CCNet adds no bucket; kneser's is "all".
    assert all(d.pop("bucket") == "all" for d in got)
    assert got == expected
    assert sum("perplexity" in d for d in got) > 100
    # --arpa too: the ARPA, and the binary built from it has the same bytes.
    both = tmp_path / "both"
    both.mkdir()
    outs = ["--arpa", str(both / "en.arpa"), "--binary", str(both / "en.bin")]
    assert main([*args, *outs, "--tokenizer", str(lm_dir / "en.sp.model"), "-q"]) == 0
    assert (both / "en.bin").read_bytes() == (lm_dir / "en.arpa.bin").read_bytes()
    assert (both / "en.arpa").read_text(encoding="utf-8").startswith("\\data\\\nngram 1=")
    if (KENLM_BIN / "build_binary").exists():
        # KenLM's build_binary (probing, its default) writes the same bytes from the ARPA.
        subprocess.run(
            [str(KENLM_BIN / "build_binary"), str(both / "en.arpa"), str(both / "kenlm.bin")],
            check=True,
            capture_output=True,
        )
        assert (both / "kenlm.bin").read_bytes() == (lm_dir / "en.arpa.bin").read_bytes()


def test_train_lm_quiet_prints_nothing(tmp_path, capfd):
    """`kneser train-lm -q` writes nothing to stdout or stderr (file descriptors included, so
    SentencePiece's trainer logs would show); without -q the summary is on stderr."""
    ref = tmp_path / "ref.txt"
    ref.write_text("\n".join(_en_lines()[:500]) + "\n", encoding="utf-8")
    args = ["train-lm", str(ref), "-o", "2", "--sp-vocab-size", "300", "--discount-fallback"]
    out = ["--binary", str(tmp_path / "en.arpa.bin"), "--sp-model", str(tmp_path / "en.sp.model")]
    capfd.readouterr()
    assert main([*args, *out, "-q"]) == 0
    assert capfd.readouterr() == ("", "")
    assert (tmp_path / "en.arpa.bin").read_bytes().startswith(KENLM_MAGIC)
    (tmp_path / "en.arpa.bin").unlink()
    (tmp_path / "en.sp.model").unlink()
    assert main([*args, *out]) == 0
    summary = json.loads(capfd.readouterr().err.strip().splitlines()[-1])
    assert summary["binary"] == str(tmp_path / "en.arpa.bin")


def test_train_lm_refuses_bad_outputs_before_any_work(tmp_path):
    ref = tmp_path / "ref.txt"
    ref.write_text("a b c\n", encoding="utf-8")
    with pytest.raises(kneser.ArgumentError, match="arpa, binary or both"):
        kneser.train_lm(ref, 3, sp_model=tmp_path / "x.sp.model")
    with pytest.raises(kneser.ArgumentError, match="same file"):
        kneser.train_lm(ref, 3, binary=tmp_path / "x", sp_model=tmp_path / "x")
    with pytest.raises(kneser.KneserError):
        kneser.train_lm(ref, 3, binary=ref, sp_model=tmp_path / "x.sp.model")
    with pytest.raises(kneser.KneserError):
        kneser.train_lm(ref, 3, binary=tmp_path / "no" / "x.bin", sp_model=tmp_path / "s.model")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ref.txt"]
    assert main(["train-lm", str(ref), "-o", "2", "-q"]) != 0
