"""`import kneser as kenlm`: the whole API of KenLM's Python module, side by side with the real
module (kenlm-ex) on the bundled models, every result compared exactly (float equality)."""

from __future__ import annotations

import copy
import itertools
import lzma
import os
import pickle
import shutil
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kneser

kenlm = pytest.importorskip("kenlm")

DATA = Path(__file__).parent / "data"
BUNDLED = [
    DATA / "query" / "whitespace.o2.fallback.arpa",
    DATA / "query" / "seed.o2.fallback.arpa",
    DATA / "query" / "specials.o2.skip_symbols.arpa",
]


def _quiet() -> object:
    """A kenlm Config without its progress bar and complaints on stderr."""
    config = kenlm.Config()
    config.show_progress = False
    config.arpa_complain = kenlm.ARPALoadComplain.NONE
    return config


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The bundled ARPA files, an order-4 model of the bundled book.txt, and (when ../shared is
    there) lmplz's order-5 reference model, all as plain ARPA files kenlm can read."""
    tmp = tmp_path_factory.mktemp("kenlm-models")
    book4 = tmp / "book.o4.arpa"
    kneser.estimate(DATA / "lmplz" / "book.txt", order=4, arpa=book4, temp_dir=tmp)
    paths = [*BUNDLED, book4]
    ref = Path(__file__).parents[2] / "shared" / "reference" / "lmplz" / "book.o5.arpa.xz"
    if ref.exists():
        plain = tmp / "book.o5.arpa"
        with lzma.open(ref) as src, plain.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        paths.append(plain)
    return paths


@pytest.fixture(scope="module")
def pairs(models: list[Path]) -> list[tuple[object, object]]:
    return [(kneser.Model(str(p)), kenlm.Model(str(p), _quiet())) for p in models]


def _sentences() -> list[str]:
    held = (DATA / "query" / "book.heldout.txt").read_text(encoding="utf-8").splitlines()
    edge = [
        "",
        " ",
        "\t\n",
        "a",
        "a b c",
        "我 你 他 我",
        "<s> a b",
        "a </s>",
        "<unk> <UNK> zzz",
        "a\x0bb\x0cc\rd\ne",
        "a\xa0b c\u3000d",
        "a\x1cb\x85c",
        "a\x00b c",
        "\x00",
        "x \x00y z",
        "the the the the the the the the",
    ]
    return held[:120] + edge


SENTENCES = _sentences()
FLAGS = [True, False, 1, 0, None, "", "x"]


def _same_float(a: float, b: float) -> bool:
    """Equal as floats, bit for bit (so -0.0 is not 0.0)."""
    return type(a) is float and type(b) is float and struct.pack("<d", a) == struct.pack("<d", b)


def _scores(it) -> list[tuple[bytes, int, bool]]:
    """full_scores as comparable tuples, each probability by its bits."""
    out = []
    for p, n, oov in it:
        assert type(p) is float and type(n) is int and type(oov) is bool
        out.append((struct.pack("<d", p), n, oov))
    return out


def test_every_public_name_of_kenlm_exists() -> None:
    for name in dir(kenlm):
        if name.startswith("_") or name == "os":  # `os` is kenlm.pyx's own import
            continue
        assert hasattr(kneser, name), name
        theirs = getattr(kenlm, name)
        if isinstance(theirs, type):
            ours = getattr(kneser, name)
            assert isinstance(ours, type), name
            for attr in dir(theirs):
                if not attr.startswith("_"):
                    assert hasattr(ours, attr), f"{name}.{attr}"
    assert issubclass(kneser.LanguageModel, kneser.Model)
    assert kneser.LanguageModel.__mro__[1:] == (kneser.Model, object)


def test_enum_classes_and_config_defaults() -> None:
    for cls in ("LoadMethod", "ARPALoadComplain"):
        theirs, ours = getattr(kenlm, cls), getattr(kneser, cls)
        names = [n for n in vars(theirs) if n.isupper()]
        assert names
        assert {n: getattr(ours, n) for n in names} == {n: getattr(theirs, n) for n in names}
        ours()  # plain classes, instantiable as kenlm's
    a, b = kneser.Config(), kenlm.Config()
    for attr in ("load_method", "show_progress", "arpa_complain"):
        assert getattr(a, attr) == getattr(b, attr)
        assert type(getattr(a, attr)) is type(getattr(b, attr))
    for value in range(5):
        a.load_method = value
        b.load_method = value
        assert a.load_method == b.load_method
    for value in range(3):
        a.arpa_complain = value
        b.arpa_complain = value
        assert a.arpa_complain == b.arpa_complain
    for value in (0, 1, "", "x", None, [], True, False):
        a.show_progress = value
        b.show_progress = value
        assert a.show_progress is b.show_progress
    assert repr(a).startswith("<kneser.Config object at 0x")
    for bad in (kneser.Config, kenlm.Config):
        with pytest.raises(TypeError):
            bad(1)  # type: ignore[call-arg]
        with pytest.raises(AttributeError):
            bad().foo = 1  # type: ignore[attr-defined]
        with pytest.raises(TypeError):
            bad().load_method = "lazy"
        with pytest.raises(TypeError):
            pickle.dumps(bad())


def test_config_rejects_values_kenlm_would_crash_on() -> None:
    # kenlm accepts any int and then crashes while loading (load_method 5) or misbehaves;
    # kneser refuses it when it is set.
    c = kneser.Config()
    with pytest.raises(ValueError, match="load_method must be one of"):
        c.load_method = 5
    with pytest.raises(ValueError, match="arpa_complain must be one of"):
        c.arpa_complain = -1
    assert c.load_method == kneser.LoadMethod.POPULATE_OR_READ


def test_scores_equal_exactly(pairs: list[tuple[object, object]]) -> None:
    for ours, theirs in pairs:
        assert ours.order == theirs.order
        for text in SENTENCES:
            for sentence in (text, text.encode("utf-8")):
                assert _same_float(ours.score(sentence), theirs.score(sentence))
                assert _same_float(ours.perplexity(sentence), theirs.perplexity(sentence))
                assert _scores(ours.full_scores(sentence)) == _scores(theirs.full_scores(sentence))
            for bos, eos in [(True, False), (False, True), (False, False)]:
                a = ours.score(text, bos=bos, eos=eos)
                b = theirs.score(text, bos=bos, eos=eos)
                assert _same_float(a, b), (text, bos, eos)
                a_full = _scores(ours.full_scores(text, bos, eos))
                assert a_full == _scores(theirs.full_scores(text, bos, eos))


def test_flags_are_read_by_truth_value(pairs: list[tuple[object, object]]) -> None:
    ours, theirs = pairs[-1]
    text = SENTENCES[3]
    for bos, eos in itertools.product(FLAGS, FLAGS):
        assert _same_float(ours.score(text, bos=bos, eos=eos), theirs.score(text, bos=bos, eos=eos))
        assert _scores(ours.full_scores(text, bos, eos)) == _scores(
            theirs.full_scores(text, bos, eos)
        )
    assert _same_float(ours.score(sentence=text), theirs.score(sentence=text))


def test_bytes_that_are_not_utf8(pairs: list[tuple[object, object]]) -> None:
    ours, theirs = pairs[0]
    for raw in [b"a \xff b", b"\xc3\x28 a", b"\xe4\xbd a \x80\x80", b"a\xfe\x00zz b"]:
        for bos, eos in itertools.product((True, False), repeat=2):
            assert _same_float(ours.score(raw, bos, eos), theirs.score(raw, bos, eos))
            assert _scores(ours.full_scores(raw, bos, eos)) == _scores(
                theirs.full_scores(raw, bos, eos)
            )
        assert _same_float(ours.perplexity(raw), theirs.perplexity(raw))
        assert (raw in ours) == (raw in theirs)


def test_membership(pairs: list[tuple[object, object]]) -> None:
    for ours, theirs in pairs:
        words = {w for s in SENTENCES for w in s.split()} | {
            "<s>",
            "</s>",
            "<unk>",
            "<UNK>",
            "",
            "a\x00zz",
            "\x00a",
        }
        for w in sorted(words):
            assert (w in ours) == (w in theirs), w
            assert (w.encode() in ours) == (w.encode() in theirs), w


def test_state_api_equal(pairs: list[tuple[object, object]]) -> None:
    for ours, theirs in pairs:
        for text in SENTENCES[:40] + SENTENCES[-16:]:
            words = [*text.split(), "</s>"]
            for begin in ("BeginSentenceWrite", "NullContextWrite"):
                s, out = kneser.State(), kneser.State()
                ks, kout = kenlm.State(), kenlm.State()
                assert getattr(ours, begin)(s) is None
                getattr(theirs, begin)(ks)
                mine, theirs_states = [copy.copy(s)], [copy.copy(ks)]
                for i, w in enumerate(words):
                    if i % 2:
                        a = ours.BaseScore(s, w, out)
                        b = theirs.BaseScore(ks, w, kout)
                        assert _same_float(a, b), (text, w)
                    else:
                        fa = ours.BaseFullScore(s, w, out)
                        fb = theirs.BaseFullScore(ks, w, kout)
                        assert isinstance(fa, kneser.FullScoreReturn)
                        assert _same_float(fa.log_prob, fb.log_prob)
                        assert (fa.ngram_length, fa.oov) == (fb.ngram_length, fb.oov)
                        assert type(fa.ngram_length) is int and type(fa.oov) is bool
                        assert repr(fa) == repr(fb)
                    s, out = out, s
                    ks, kout = kout, ks
                    mine.append(copy.copy(s))
                    theirs_states.append(copy.copy(ks))
                # The states compare (and hash) as kenlm's do.
                for (a, b), (x, y) in zip(
                    itertools.product(mine, repeat=2), itertools.product(theirs_states, repeat=2)
                ):
                    assert (a == b, a != b, a < b, a <= b, a > b, a >= b) == (
                        x == y,
                        x != y,
                        x < y,
                        x <= y,
                        x > y,
                        x >= y,
                    )
                for a, x in zip(mine, theirs_states):
                    assert hash(a) == hash(x)


def test_state_scored_in_place(pairs: list[tuple[object, object]]) -> None:
    # kneser reads in_state before it writes out_state, so one state can be both; kenlm writes
    # while it reads (C++ aliasing), and gives other numbers, so compare with two states.
    ours, theirs = pairs[-1]
    s = kneser.State()
    ks, kout = kenlm.State(), kenlm.State()
    ours.BeginSentenceWrite(s)
    theirs.BeginSentenceWrite(ks)
    for w in ["the", "old", "man", "zzz", "</s>"]:
        assert _same_float(ours.BaseScore(s, w, s), theirs.BaseScore(ks, w, kout))
        ks, kout = kout, ks


def test_full_score_return_objects() -> None:
    for args in [(0.1, 2, 1), (-1.5, 3, False), (2, 1, []), (-1e-8, 0, "x"), (1e40, 5, None)]:
        a, b = kneser.FullScoreReturn(*args), kenlm.FullScoreReturn(*args)
        assert repr(a) == repr(b)
        assert _same_float(a.log_prob, b.log_prob)
        assert (a.ngram_length, a.oov) == (b.ngram_length, b.oov)
    for cls in (kneser.FullScoreReturn, kenlm.FullScoreReturn):
        f = cls(-1.0, 2, False)
        with pytest.raises(AttributeError):
            f.log_prob = 0.0  # type: ignore[misc]
        with pytest.raises(TypeError):
            cls()  # type: ignore[call-arg]
        with pytest.raises(TypeError):
            cls("a", 1, False)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            tuple(f)  # type: ignore[arg-type]

    class Sub(kneser.FullScoreReturn):
        pass

    assert repr(Sub(-1.0, 1, True)) == "Sub(-1.0, 1, True)"


def test_path_repr_and_pickle(models: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    path = models[0]
    monkeypatch.chdir(path.parent)
    for spelled in (path.name, path.name.encode(), str(path), os.fsencode(path)):
        ours, theirs = kneser.Model(spelled), kenlm.Model(spelled)
        assert ours.path == theirs.path and type(ours.path) is bytes
        assert repr(ours) == repr(theirs)
    lm = kneser.LanguageModel(path.name)
    assert type(lm) is kneser.LanguageModel and repr(lm) == repr(kenlm.LanguageModel(path.name))
    assert kneser.Model(path).path == os.fsencode(path)  # os.PathLike too (kenlm: TypeError)
    # Pickled by path, as kenlm: (Model, (path,)).
    cls, args = lm.__reduce__()
    assert cls is kneser.Model and args == kenlm.Model(path.name).__reduce__()[1]
    again = pickle.loads(pickle.dumps(lm))
    assert type(again) is kneser.Model and again.path == lm.path
    assert _scores(again.full_scores("a b")) == _scores(lm.full_scores("a b"))
    # path is writable with bytes only, as kenlm's `cdef public bytes path`.
    for m in (kneser.Model(path), kenlm.Model(str(path))):
        m.path = b"/x/other.arpa"
        assert repr(m) == "<Model from b'other.arpa'>"
        with pytest.raises(TypeError):
            m.path = "/x/other.arpa"
        with pytest.raises(AttributeError):
            m.order = 3


def test_same_exceptions_on_bad_input(pairs: list[tuple[object, object]], models) -> None:
    ours, theirs = pairs[0]
    cases = [
        lambda m, mod: m.score(3),
        lambda m, mod: m.score(None),
        lambda m, mod: m.score(bytearray(b"a")),
        lambda m, mod: m.perplexity(1.5),
        lambda m, mod: list(m.full_scores(3)),
        lambda m, mod: 3 in m,
        lambda m, mod: m.score("a\udcff b"),
        lambda m, mod: m.score("a\udcff b", bos=False),
        lambda m, mod: "\ud800" in m,
        lambda m, mod: m.BaseScore(mod.State(), b"a", mod.State()),
        lambda m, mod: m.BaseScore(mod.State(), 3, mod.State()),
        lambda m, mod: m.BaseScore(1, "a", mod.State()),
        lambda m, mod: m.BaseFullScore(mod.State(), "a", 1),
        lambda m, mod: m.BeginSentenceWrite(3),
        lambda m, mod: m.NullContextWrite("s"),
        lambda m, mod: mod.Model(3),
        lambda m, mod: mod.Model(str(models[0]), 3),
        lambda m, mod: mod.Model("/nonexistent/dir/lm.arpa"),
    ]
    for i, case in enumerate(cases):
        with pytest.raises(Exception) as theirs_err:
            case(theirs, kenlm)
        with pytest.raises(Exception) as ours_err:
            case(ours, kneser)
        assert isinstance(ours_err.value, theirs_err.type), (i, ours_err.value, theirs_err.value)
    with pytest.raises(TypeError, match=r"Cannot convert <class 'int'> to string"):
        ours.score(3)


def test_load_methods_on_binary_models(models: list[Path], tmp_path: Path) -> None:
    arpa = models[-1]
    plain = kneser.Model(arpa)
    binary = tmp_path / "m.kbin"
    plain.save_binary(binary)
    text = SENTENCES[:60]
    want = [plain.score(t) for t in text]
    for method in range(5):
        config = kneser.Config()
        config.load_method = method
        for path in (arpa, binary):
            lm = kneser.Model(path, config)
            assert [lm.score(t) for t in text] == want
            assert lm.is_binary == (path == binary)
        assert kneser.Model(path=binary, config=config).order == plain.order
    # READ copies the file: the model survives the file being rewritten in place.
    config = kneser.Config()
    config.load_method = kneser.LoadMethod.READ
    lm = kneser.Model(binary, config)
    data = binary.read_bytes()
    with binary.open("r+b") as f:
        f.write(b"\0" * len(data))
    assert [lm.score(t) for t in text] == want
    assert kneser.Model(arpa, None).order == plain.order


def test_batch_calls_equal_single_calls(pairs: list[tuple[object, object]]) -> None:
    ours, theirs = pairs[-1]
    texts = SENTENCES
    assert ours.score_batch(texts).tolist() == [theirs.score(t) for t in texts]
    # Every bos/eos pair: the module's NUL-byte rule depends on both.
    for bos, eos in [(False, False), (True, False), (False, True)]:
        assert ours.score_batch(texts, bos=bos, eos=eos).tolist() == [
            theirs.score(t, bos=bos, eos=eos) for t in texts
        ]
    assert ours.perplexity_batch(texts).tolist() == [theirs.perplexity(t) for t in texts]


WORDS = ["the", "of", "and", "a", "he", "said", "zzz", "<s>", "</s>", "<unk>", "我", "x\x00y"]
SEPS = [" ", "  ", "\t", "\n", "\x0b", "\x0c", "\r", "\xa0", "\x00", "\x1c"]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPS)), max_size=14),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_generated_sentences_equal(
    pairs: list[tuple[object, object]], parts, bos: bool, eos: bool, as_bytes: bool
) -> None:
    ours, theirs = pairs[len(BUNDLED)]  # the order-4 model of book.txt
    text = "".join(w + s for w, s in parts)
    sentence = text.encode() if as_bytes else text
    assert _same_float(ours.score(sentence, bos, eos), theirs.score(sentence, bos, eos))
    assert _scores(ours.full_scores(sentence, bos, eos)) == _scores(
        theirs.full_scores(sentence, bos, eos)
    )
    assert _same_float(ours.perplexity(sentence), theirs.perplexity(sentence))


def test_where_kneser_differs_on_purpose(capfd: pytest.CaptureFixture[str]) -> None:
    # An order-1 model: KenLM refuses it ("assumes at least a bigram model"); kneser scores it.
    unigram = DATA / "lmplz" / "book.o1.arpa"
    with pytest.raises(OSError, match="at least a bigram"):
        kenlm.Model(str(unigram), _quiet())
    capfd.readouterr()
    lm = kneser.Model(unigram)
    assert lm.order == 1
    assert _same_float(lm.score("the"), sum(p for p, _, _ in lm.full_scores("the")))
    # Nothing is printed while loading (kenlm prints a progress bar and a complaint).
    kneser.Model(DATA / "query" / "seed.o2.fallback.arpa")
    assert capfd.readouterr() == ("", "")
    # A State reads well and deep-copies (kenlm's __deepcopy__ takes no memo and fails).
    s = kneser.State()
    lm.BeginSentenceWrite(s)
    assert repr(s) == "State(words=[1])" and copy.deepcopy(s) == s


def test_signatures_match_kenlm() -> None:
    import inspect

    for cls in ("Model", "FullScoreReturn", "Config", "State"):
        theirs, ours = getattr(kenlm, cls), getattr(kneser, cls)
        for name in dir(theirs):
            if name.startswith("_") or not callable(getattr(theirs, name)):
                continue
            try:
                want = inspect.signature(getattr(theirs, name))
            except ValueError:
                continue
            got = inspect.signature(getattr(ours, name))
            assert [(p.name, p.default) for p in got.parameters.values()] == [
                (p.name, p.default) for p in want.parameters.values()
            ], f"{cls}.{name}"
