"""kneser.Pipeline, train_lm and the demo: perplexities, buckets, dedup, malformed input."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kneser


@pytest.fixture(scope="module")
def model(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("lm")
    kneser.estimate(data_dir / "lmplz" / "book.txt", order=3, arpa=out / "lm.arpa")
    return kneser.Model(out / "lm.arpa")


def write_jsonl(path, docs):
    with open(path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(d if isinstance(d, str) else json.dumps(d, ensure_ascii=False))
            f.write("\n")


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_perplexities_equal_model_scores_of_the_normalized_text(tmp_path, model, data_dir):
    lines = (data_dir / "lmplz" / "book.txt").read_text(encoding="utf-8").splitlines()[:300]
    docs = [{"id": i, "text": t} for i, t in enumerate(lines) if t.strip()]
    write_jsonl(tmp_path / "in.jsonl", docs)
    report = kneser.Pipeline(model, dedup=None).run(tmp_path / "in.jsonl", tmp_path / "out.jsonl")
    out = read_jsonl(tmp_path / "out.jsonl")
    assert report.kept == len(out) == len(docs)
    norm = kneser.Normalizer.ccnet()
    for d in out:
        expected = model.perplexity(norm.normalize(d["text"]))
        assert d["perplexity"] == pytest.approx(expected, rel=1e-6, abs=0.01)


def test_multi_line_documents_sum_their_lines_as_ccnet(tmp_path, model):
    text = "the old man said\nand then he went home"
    write_jsonl(tmp_path / "in.jsonl", [{"text": text}])
    kneser.Pipeline(model, normalizer=None).run(tmp_path / "in.jsonl", tmp_path / "o.jsonl")
    (got,) = read_jsonl(tmp_path / "o.jsonl")
    lines = text.split("\n")
    total = sum(model.score(ln) for ln in lines)
    words = sum(len(ln.split()) + 1 for ln in lines)
    assert got["perplexity"] == pytest.approx(10 ** (-total / words), abs=0.01)


def test_buckets_follow_the_percentiles(tmp_path, model, data_dir):
    lines = (data_dir / "lmplz" / "book.txt").read_text(encoding="utf-8").splitlines()[:400]
    write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in lines if t.strip()])
    report = kneser.Pipeline(model, dedup=None, percentiles=(25, 75)).run(
        tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    )
    out = read_jsonl(tmp_path / "out.jsonl")
    ppl = np.array([d["perplexity"] for d in out])
    lo, hi = report.cutoffs
    assert lo == pytest.approx(np.percentile(ppl, 25), rel=1e-3)
    assert hi == pytest.approx(np.percentile(ppl, 75), rel=1e-3)
    for d in out:
        want = "head" if d["perplexity"] < lo else "middle" if d["perplexity"] < hi else "tail"
        if not math.isclose(d["perplexity"], lo, rel_tol=1e-4) and not math.isclose(
            d["perplexity"], hi, rel_tol=1e-4
        ):
            assert d["bucket"] == want
    n = len(out)
    assert abs(report.buckets["head"] - n * 0.25) <= 2
    assert abs(report.buckets["tail"] - n * 0.25) <= 2


def test_thresholds_and_keep(tmp_path, model):
    docs = [{"text": "the man"}, {"text": "zq xv wk pl"}, {"text": "and he said"}]
    write_jsonl(tmp_path / "in.jsonl", docs)
    report = kneser.Pipeline(model, thresholds=(1000, 5000), keep=("head",)).run(
        tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    )
    out = read_jsonl(tmp_path / "out.jsonl")
    assert all(d["perplexity"] < 1000 and d["bucket"] == "head" for d in out)
    assert report.kept == len(out) == report.buckets["head"]
    assert sum(report.buckets.values()) == 3


def test_deduplication_removes_exactly_the_duplicates(tmp_path, model):
    docs = [
        {"id": 1, "text": "The cat sat."},
        {"id": 2, "text": "  the CAT sat."},  # the same after normalize_for_dedup
        {"id": 3, "text": "A dog ran."},
        {"id": 4, "text": "The cat sat."},
        {"id": 5, "text": "The cat sat 2."},  # digits differ only: 0 after dedup normalization
        {"id": 6, "text": "The cat sat 3."},
    ]
    write_jsonl(tmp_path / "in.jsonl", docs)
    report = kneser.Pipeline(model).run(tmp_path / "in.jsonl", tmp_path / "out.jsonl")
    ids = [d["id"] for d in read_jsonl(tmp_path / "out.jsonl")]
    dedup = kneser.Normalizer.ccnet_dedup()
    seen, expected = set(), []
    for d in docs:
        key = dedup.normalize(d["text"])
        if key not in seen:
            seen.add(key)
            expected.append(d["id"])
    assert sorted(ids) == expected == [1, 3, 5]
    assert report.duplicates == 3


def test_line_dedup_drops_repeated_lines(tmp_path, model):
    docs = [{"id": 1, "text": "a b c\nd e f"}, {"id": 2, "text": "d e f\ng h"}, {"id": 3,
            "text": "a b c"}]  # fmt: skip
    write_jsonl(tmp_path / "in.jsonl", docs)
    report = kneser.Pipeline(model, dedup="line").run(tmp_path / "in.jsonl", tmp_path / "o.jsonl")
    assert [d["id"] for d in read_jsonl(tmp_path / "o.jsonl")] == [1, 2]
    assert report.duplicate_lines == 2
    assert report.duplicates == 1


def test_malformed_lines_are_counted_with_line_numbers_or_fatal(tmp_path, model):
    write_jsonl(
        tmp_path / "in.jsonl",
        [{"text": "the man"}, "{not json", {"text": "and he"}, '{"other": 1}', "[1, 2]"],
    )
    report = kneser.Pipeline(model).run(tmp_path / "in.jsonl", tmp_path / "out.jsonl")
    assert [m[1] for m in report.malformed] == [2, 4, 5]
    assert all(m[0].endswith("in.jsonl") for m in report.malformed)
    assert report.kept == 2
    assert "malformed" in str(report)
    with pytest.raises(kneser.FormatError, match=r"in\.jsonl:2: malformed JSON"):
        kneser.Pipeline(model, on_error="raise").run(tmp_path / "in.jsonl", tmp_path / "x.jsonl")
    assert not (tmp_path / "x.jsonl").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]


def test_text_input_and_compressed_input(tmp_path, model):
    import gzip

    with gzip.open(tmp_path / "docs.txt.gz", "wt", encoding="utf-8") as f:
        f.write("the man said\nand he went\n")
    report = kneser.Pipeline(model).run(tmp_path / "docs.txt.gz", tmp_path / "o.jsonl")
    assert report.kept == 2
    assert [d["text"] for d in read_jsonl(tmp_path / "o.jsonl")] == ["the man said", "and he went"]


def test_shards_hold_the_kept_text(tmp_path, model):
    docs = [{"text": "the man said"}, {"text": "and he went home"}]
    write_jsonl(tmp_path / "in.jsonl", docs)
    report = kneser.Pipeline(model).run(
        tmp_path / "in.jsonl", tmp_path / "o.jsonl", shards=tmp_path / "shards"
    )
    index = json.loads((tmp_path / "shards" / "index.json").read_text())
    assert index["documents"] == 2
    assert index["tokens"] == report.shards["tokens"] == 3 + 4 + 2  # + one end id each


def test_train_lm_normalizes_then_estimates(tmp_path, data_dir):
    summary = kneser.train_lm(
        data_dir / "lmplz" / "book.txt", 2, tmp_path / "lm.arpa", binary=tmp_path / "lm.bin"
    )
    norm = kneser.Normalizer.ccnet()
    lines = (data_dir / "lmplz" / "book.txt").read_text(encoding="utf-8").splitlines()
    kneser.estimate(texts=norm.normalize_batch(lines), order=2, arpa=tmp_path / "direct.arpa")
    assert (tmp_path / "lm.arpa").read_bytes() == (tmp_path / "direct.arpa").read_bytes()
    a, b = kneser.Model(tmp_path / "lm.arpa"), kneser.Model(tmp_path / "lm.bin")
    assert a.score("the old man") == b.score("the old man")
    assert summary["binary"] == str(tmp_path / "lm.bin")


def test_train_lm_tokenizes_in_the_core_as_a_python_join(tmp_path, data_dir):
    """train_lm's lines (core prepare_lines) are the tokens joined by one space."""
    book = data_dir / "lmplz" / "book.txt"
    tok = kneser.Tokenizer("punctuation", lowercase=True)
    kneser.train_lm(book, 2, tmp_path / "lm.arpa", tokenizer=tok)
    norm = kneser.Normalizer.ccnet()
    lines = book.read_text(encoding="utf-8").splitlines()
    joined = [" ".join(t) for t in tok.tokenize_batch(norm.normalize_batch(lines))]
    assert kneser._kneser.prepare_lines(lines, norm, tok) == joined
    kneser.estimate(texts=joined, order=2, arpa=tmp_path / "direct.arpa")
    assert (tmp_path / "lm.arpa").read_bytes() == (tmp_path / "direct.arpa").read_bytes()
    with pytest.raises(kneser.ArgumentError, match=r"kneser\.Tokenizer"):
        kneser.train_lm(book, 2, tmp_path / "x.arpa", tokenizer=object())


def test_demo_runs_end_to_end(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "kneser.cli", "demo", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    assert "documents out" in out.stdout
    kept = read_jsonl(tmp_path / "kept.jsonl")
    assert kept and all(d["bucket"] in ("head", "middle") for d in kept)
    assert (tmp_path / "lm.bin").exists() and (tmp_path / "shards" / "index.json").exists()
    # The word-salad documents are mostly filtered out.
    salad = sum(d["source"] == "word-salad" for d in kept)
    assert salad <= 6


def test_a_bad_line_after_good_batches_is_an_error_naming_it_and_writes_nothing(tmp_path, model):
    import gzip

    lines = [json.dumps({"text": f"the man said {i}"}) for i in range(50)]
    lines.insert(37, '{"text": "and he", "x": tru}')
    with gzip.open(tmp_path / "in.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    target = tmp_path / "out.jsonl"
    with pytest.raises(kneser.FormatError, match=r"in\.jsonl\.gz:38: malformed JSON line"):
        kneser.Pipeline(model, on_error="raise", batch_size=8, calibration=4).run(
            tmp_path / "in.jsonl.gz", target
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl.gz"]
    report = kneser.Pipeline(model, batch_size=8, dedup=None).run(tmp_path / "in.jsonl.gz", target)
    assert [m[1] for m in report.malformed] == [38]
    assert report.kept == 50


_json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
)
_json_value = st.recursive(
    _json_leaf,
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=4), kids, max_size=3)
    ),
    max_leaves=6,
)
_doc_text = st.lists(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=3)
    | st.sampled_from(["the", "man", " ", "\n", '"', "\\", "\u2028", "é"]),
    min_size=1,
    max_size=10,
).map("".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=st.lists(st.tuples(_doc_text, _json_value, st.booleans()), min_size=1, max_size=12))
def test_kept_documents_come_through_unchanged_plus_perplexity_and_bucket(model, docs):
    """The core's reader and writer (kneser::documents) keep each document's bytes: parsed, a
    kept line is the input object plus ``perplexity`` and ``bucket``; for an input written as
    ``json.dumps(obj, ensure_ascii=False)`` it is byte for byte what the former Python loop
    wrote (``json.dumps({**obj, "perplexity": p, "bucket": b}, ensure_ascii=False)``), and for
    any other spelling (``\\u`` escapes) the input's bytes are kept."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        objs, written = [], []
        for i, (text, meta, ascii_) in enumerate(docs):
            obj = {"id": i, "text": text, "meta": meta}
            objs.append(obj)
            written.append(json.dumps(obj, ensure_ascii=ascii_))
        (Path(tmp) / "in.jsonl").write_text("\n".join(written) + "\n", encoding="utf-8")
        kneser.Pipeline(model, normalizer=None, dedup=None, thresholds=(100, 1000)).run(
            Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        )
        out = (Path(tmp) / "out.jsonl").read_bytes().decode("utf-8").split("\n")
    assert out.pop() == ""
    expected_ids = [i for i, o in enumerate(objs) if o["text"].split()]
    got = [json.loads(line) for line in out]
    assert [g["id"] for g in got] == expected_ids
    for line, g in zip(out, got):
        i = g["id"]
        obj = objs[i]
        assert g == {**obj, "perplexity": g["perplexity"], "bucket": g["bucket"]}
        assert g["bucket"] in ("head", "middle", "tail")
        want = "head" if g["perplexity"] < 100 else "middle" if g["perplexity"] < 1000 else "tail"
        assert g["bucket"] == want
        if docs[i][2]:
            assert line.startswith(written[i][:-1] + ", ")
        else:
            assert line == json.dumps({**obj, "perplexity": g["perplexity"], "bucket": g["bucket"]},
                                      ensure_ascii=False)  # fmt: skip


def test_a_document_with_its_own_perplexity_reads_back_with_the_new_one(tmp_path, model):
    line = '{"text": "the man said", "perplexity": 1, "bucket": "old", "id":7}'
    (tmp_path / "in.jsonl").write_text(line + "\n", encoding="utf-8")
    kneser.Pipeline(model, thresholds=(1e9, 1e9)).run(tmp_path / "in.jsonl", tmp_path / "o.jsonl")
    out = (tmp_path / "o.jsonl").read_text(encoding="utf-8")
    assert out.startswith(line[:-1] + ", ")  # the input's bytes, then the new fields
    got = json.loads(out)
    assert got["bucket"] == "head" and got["id"] == 7
    assert got["perplexity"] == pytest.approx(model.perplexity("the man said"), abs=0.01)


# -- the core job's rules against numpy and the former Python stage loop ----------------------

_finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(_finite, min_size=1, max_size=40)
    | st.lists(st.sampled_from([1.5, 2.0, 7.25, 100.0]), min_size=1, max_size=12),
    qs=st.lists(
        st.floats(0, 100) | st.sampled_from([0.0, 30.0, 50.0, 60.0, 100.0]), min_size=1, max_size=4
    ),
)
def test_percentile_is_numpys_linear_rule_exactly(values, qs):
    """kneser::pipeline::percentile (the calibration's rule) equals np.percentile's default
    method bit for bit: ties, one element, any finite values."""
    got = kneser._kneser.percentile(values, qs)
    want = np.percentile(np.array(values), qs).tolist()
    assert got == want
    assert [math.copysign(1, g) for g in got if g == 0] == [
        math.copysign(1, w) for w in want if w == 0
    ] or all(v == 0 for v in values)


def test_percentile_of_one_value_and_of_none():
    assert kneser._kneser.percentile([42.5], [0, 30, 100]) == [42.5] * 3
    with pytest.raises(kneser.ArgumentError):
        kneser._kneser.percentile([], [30])


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.floats(allow_infinity=True) | _finite, max_size=30),
    cutoffs=st.lists(_finite, max_size=4).map(sorted),
)
def test_bucket_indices_are_searchsorted_right(values, cutoffs):
    got = kneser._kneser.bucket_indices(values, cutoffs).tolist()
    assert got == np.searchsorted(np.array(cutoffs), np.array(values), side="right").tolist()


def test_histogram_edges_are_numpys_linspace():
    assert kneser.pipeline.HIST_EDGES.tolist() == np.linspace(0.0, 6.0, 121).tolist()


def _former_loop(model, objs, *, normalizer, tokenizer, dedup, percentiles, calibration, keep):
    """The stage loop as pipeline.py ran it in Python before the core job (stop 24), kept here
    as the oracle: returns the output bytes, the shard text and the report's counts."""
    dedup_norm = kneser.Normalizer.ccnet_dedup()
    seen, pending, out, shard = set(), [], [], []
    counts = dict(documents=0, duplicates=0, duplicate_lines=0, empty=0, tokens=0)
    for obj in objs:
        counts["documents"] += 1
        raw = obj["text"].split("\n")
        norm = normalizer.normalize_batch(raw) if normalizer else raw
        keys = dedup_norm.normalize_batch(raw)
        lines = [n for n in norm if n.strip()]
        if dedup == "document":
            if "\n".join(keys) in seen:
                counts["duplicates"] += 1
                continue
            seen.add("\n".join(keys))
        elif dedup == "line":
            kept = []
            for n, k in zip(norm, keys):
                if not n.strip():
                    continue
                if k in seen:
                    counts["duplicate_lines"] += 1
                    continue
                seen.add(k)
                kept.append(n)
            if lines and not kept:
                counts["duplicates"] += 1
                continue
            lines = kept
        if not lines:
            counts["empty"] += 1
            continue
        if tokenizer is not None:
            lines = [" ".join(t) for t in tokenizer.tokenize_batch(lines)]
        scores = model.score_batch(lines)
        words = sum(len(ln.split()) for ln in lines)
        counts["tokens"] += words
        ppl = 10 ** (-float(np.sum(scores)) / (words + len(lines)))
        pending.append((obj, lines, ppl))
    cut = np.percentile(np.array([p for _, _, p in pending]), percentiles) if pending else None
    for obj, lines, ppl in pending:
        b = "head" if ppl < cut[0] else "middle" if ppl < cut[1] else "tail"
        if b in keep:
            out.append(json.dumps({**obj, "perplexity": round(ppl, 2), "bucket": b},
                                  ensure_ascii=False) + "\n")  # fmt: skip
            shard.append(" ".join(lines) + "\n")
    return "".join(out).encode(), "".join(shard).encode(), counts


class _PyTokenizer:
    """A user's tokenizer (not kneser's): run in Python, its tokens handed to the core job."""

    def tokenize_batch(self, texts):
        return [t.lower().replace(",", " , ").split() for t in texts]


_line = st.sampled_from(
    ["the old man said", "and he went home", "The Old MAN said,", "", "  ", "a b c", "é 12 ,"]
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(
        st.lists(_line, min_size=1, max_size=12).map("\n".join), min_size=1, max_size=30
    ),
    dedup=st.sampled_from([None, "document", "line"]),
    tok=st.sampled_from(["none", "core", "python"]),
    normalize=st.booleans(),
    batch_size=st.integers(1, 7),
)
def test_the_core_job_writes_what_the_former_python_loop_wrote(
    model, texts, dedup, tok, normalize, batch_size
):
    import tempfile
    from pathlib import Path

    tokenizer = {"none": None, "core": kneser.Tokenizer("punctuation"), "python": _PyTokenizer()}
    normalizer = kneser.Normalizer.ccnet() if normalize else None
    objs = [{"id": i, "text": t} for i, t in enumerate(texts)]
    keep = ("head", "tail")
    want, want_shard, counts = _former_loop(
        model, objs, normalizer=normalizer, tokenizer=tokenizer[tok], dedup=dedup,
        percentiles=(30, 60), calibration=10**6, keep=keep,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        write_jsonl(d / "in.jsonl", objs)
        pipe = kneser.Pipeline(
            model, normalizer=normalizer if normalize else None, tokenizer=tokenizer[tok],
            dedup=dedup, keep=keep, batch_size=batch_size,
        )  # fmt: skip
        report = pipe.run(d / "in.jsonl", d / "out.jsonl", shards=d / "shards")
        assert (d / "out.jsonl").read_bytes() == want
    for k, v in counts.items():
        assert getattr(report, k) == v, k
    if want_shard:
        assert report.shards["documents"] == want_shard.count(b"\n")


def test_a_python_tokenizers_shard_text_is_its_tokens(tmp_path, model):
    write_jsonl(tmp_path / "in.jsonl", [{"text": "The man, he said\nand went"}])
    kneser.Pipeline(model, tokenizer=_PyTokenizer(), thresholds=(1e9, 1e9)).run(
        tmp_path / "in.jsonl", tmp_path / "o.jsonl", shards=tmp_path / "s"
    )
    # "the man , he said" and "and went" (CCNet's normalization, then its split): 7 + one end id
    assert json.loads((tmp_path / "s" / "index.json").read_text())["tokens"] == 7 + 1


def test_a_foreign_normalizer_or_bad_options_are_refused(model):
    with pytest.raises(kneser.ArgumentError, match="normalizer"):
        kneser.Pipeline(model, normalizer=object())
    with pytest.raises(kneser.ArgumentError, match="percentiles"):
        kneser.Pipeline(model, percentiles=(70, 30))
    with pytest.raises(kneser.ArgumentError, match="thresholds"):
        kneser.Pipeline(model, thresholds=(5, 1))
    with pytest.raises(kneser.ArgumentError, match="keep"):
        kneser.Pipeline(model, keep=("all",))
    with pytest.raises(kneser.ArgumentError, match="dedup"):
        kneser.Pipeline(model, dedup="paragraph")
