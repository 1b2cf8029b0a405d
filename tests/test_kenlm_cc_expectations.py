"""KenLM's own C++ test expectations, ported: lm/model_test.cc and lm/left_test.cc.

KenLM tests its model over two small ARPA files (lm/test.arpa and lm/test_nounk.arpa). We do not
ship those files: the model below is written out here from the values the expectations need
(every probability and backoff an expectation sums is one of the entries), so the n-grams and
numbers are KenLM's test data (credit: Kenneth Heafield, KenLM, LGPL), the arrangement and the
code are ours. Each expectation is asserted with KenLM's tolerance (BOOST_CHECK_CLOSE 0.001 %,
i.e. relative 1e-5) against kneser AND against the live kenlm module on the same file, and a
last test asserts that kneser's every answer equals kenlm's exactly.

What applies to the kenlm Python API surface (`BeginSentenceWrite`, `NullContextWrite`,
`BaseScore`, `BaseFullScore`, `State`, `full_scores`) is ported: the log probability, the
n-gram length, OOV, the state after each word (its length, which only kneser's `State` exposes,
and state equality, which both expose). Not ported, because the Python API has no such call:
`ExtendLeft`, `RuleScore`/`ChartState` left-state internals (their scores are ported where
they equal left-to-right scoring, which left_test.cc checks them against), `rest` costs
(RestProbing), and word indices beyond `<unk>` = 0.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

import kneser

# (words, log10 p, backoff or None). Grouped by what uses them, not in the file's order.
NGRAMS: list[tuple[str, float, float | None]] = [
    # Sentence boundaries and the unknown word.
    ("<s>", -99, -0.4149733),
    ("</s>", -1.029493, None),
    ("<unk>", -1.995635, -20),
    ("<unk> <unk>", -15, -2),
    ("<unk> however", -4, -1),
    ("<unk> however <unk>", -6, -12),
    # Punctuation.
    (",", -1.383514, -0.30103),
    (".", -1.139057, -0.845098),
    (", .", -0.6925742, None),
    (", however", -0.7522095, None),
    (", is", -0.7522095, None),
    (". </s>", -0.0602359, None),
    # "<s> looking on a little more loin": the long chain.
    ("a", -1.285941, -0.69897),
    ("little", -1.285941, -0.69897),
    ("loin", -1.383514, -0.30103),
    ("looking", -1.285941, -0.4771212),
    ("more", -1.206319, -0.544068),
    ("on", -1.509559, -0.4771212),
    ("screening", -1.509559, -0.4771212),
    ("<s> looking", -0.4846522, -0.4771214),
    ("<s> screening", -1.051485, None),
    ("<s> the", -1.07153, None),
    ("<s> watching", -1.07153, None),
    ("<s> what", -1.07153, None),
    ("a little", -0.09132547, -0.69897),
    ("little more", -0.09021038, -0.1998621),
    ("loin ,", -0.7273645, None),
    ("loin .", -0.6925742, None),
    ("loin </s>", -0.6708385, None),
    ("looking higher", -0.4638903, None),
    ("looking on", -0.4638903, -0.4771212),
    ("more .", -0.5136299, -0.4771212),
    ("more loin", -0.3561665, None),
    ("on a", -0.1649931, -0.4771213),
    ("screening a", -0.1649931, -0.4771213),
    ("more . </s>", -0.01916512, None),
    ("on a little", -0.0283603, -0.4771212),
    ("screening a little", -0.0283603, -0.4771212),
    ("a little more", -0.01660496, -0.09409451),
    ("<s> looking higher", -0.3488368, None),
    ("<s> looking on", -0.3488368, -0.4771212),
    ("little more loin", -0.1892331, None),
    ("looking on a", -0.04835128, -0.4771212),
    ("looking on a little", -0.009249173, -0.4771212),
    ("on a little more", -0.005464747, -0.4771212),
    ("screening a little more", -0.005464747, None),
    ("a little more loin", -0.1453306, None),
    ("<s> looking on a", -0.01552657, -0.4771212),
    ("<s> looking on a little", -0.003061223, None),
    ("looking on a little more", -0.001813953, None),
    ("on a little more loin", -0.0432557, None),
    # "in biarritz watching considering ...": plain bigram chains.
    ("also", -1.687872, -0.30103),
    ("beyond", -1.687872, -0.30103),
    ("biarritz", -1.687872, -0.30103),
    ("call", -1.687872, -0.30103),
    ("concerns", -1.687872, -0.30103),
    ("consider", -1.687872, -0.30103),
    ("considering", -1.687872, -0.30103),
    ("for", -1.687872, -0.30103),
    ("higher", -1.509559, -0.30103),
    ("however", -1.687872, -0.30103),
    ("i", -1.687872, -0.30103),
    ("immediate", -1.687872, -0.30103),
    ("in", -1.687872, -0.30103),
    ("is", -1.687872, -0.30103),
    ("look", -1.687872, -0.30103),
    ("small", -1.687872, -0.30103),
    ("the", -1.687872, -0.30103),
    ("to", -1.687872, -0.30103),
    ("watch", -1.687872, -0.30103),
    ("watching", -1.687872, -0.30103),
    ("what", -1.687872, -0.30103),
    ("would", -1.687872, -0.30103),
    ("also call", -0.2922095, None),
    ("beyond immediate", -0.2922095, None),
    ("biarritz .", -0.2705918, None),
    ("call for", -0.2922095, None),
    ("concerns in", -0.2922095, None),
    ("consider watch", -0.2922095, None),
    ("considering consider", -0.2922095, None),
    ("for ,", -0.2834328, None),
    ("higher more", -0.5511513, None),
    ("higher small", -0.5845945, None),
    ("however ,", -0.2834328, None),
    ("i would", -0.2922095, None),
    ("immediate concerns", -0.2922095, None),
    ("in biarritz", -0.2922095, None),
    ("is to", -0.2922095, None),
    ("look beyond", -0.2922095, None),
    ("small .", -0.2705918, None),
    ("the screening", -0.287799, None),
    ("to look", -0.2922095, None),
    ("watch </s>", -0.2622373, None),
    ("watching considering", -0.2922095, None),
    ("what i", -0.2922095, None),
    ("would also", -0.2922095, None),
    # Blanks: "also would consider higher looking" is kept while "higher looking" is not.
    ("also would", -2, -6),
    ("also would consider", -3, -7),
    ("also would consider higher", -4, -8),
    ("also would consider higher looking", -5, None),
    ("to look a", -7, None),
    # Minimal state: a missing backoff, a positive one and an explicit -0.0.
    ("foo", -3.141592, None),
    ("bar", -2.718281, 3.0),
    ("baz", -6.535897, -0.0),
    ("foo bar", -6, None),
]

ORDER = 5
REL = 1e-5  # BOOST_CHECK_CLOSE(..., 0.001): a tolerance in percent


def arpa_text(with_unk: bool) -> str:
    """The model as an ARPA file; without `<unk>` (test_nounk.arpa) when `with_unk` is false."""
    by_order: list[list[str]] = [[] for _ in range(ORDER)]
    for words, prob, backoff in NGRAMS:
        if not with_unk and "<unk>" in words.split():
            continue
        line = f"{prob}\t{words}" + ("" if backoff is None else f"\t{backoff}")
        by_order[len(words.split()) - 1].append(line)
    head = "".join(f"ngram {n + 1}={len(lines)}\n" for n, lines in enumerate(by_order))
    body = "".join(
        f"\n\\{n + 1}-grams:\n" + "\n".join(lines) + "\n" for n, lines in enumerate(by_order)
    )
    return "\\data\\\n" + head + body + "\n\\end\\\n"


def test_the_model_has_kenlms_shape() -> None:
    text = arpa_text(True)
    assert "ngram 1=37\nngram 2=47\nngram 3=11\nngram 4=6\nngram 5=4\n" in text
    assert "ngram 1=36\nngram 2=45\nngram 3=10\n" in arpa_text(False)


MODULES = ["kneser", "kenlm"]


def module(name: str) -> Any:
    return kneser if name == "kneser" else pytest.importorskip(name)


@pytest.fixture(scope="module")
def arpa_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("kenlm-test-models")
    paths = {"test": folder / "test.arpa", "test_nounk": folder / "test_nounk.arpa"}
    paths["test"].write_text(arpa_text(True), encoding="utf-8")
    paths["test_nounk"].write_text(arpa_text(False), encoding="utf-8")
    return paths


def load(mod: Any, path: Path) -> Any:
    return mod.Model(str(path))


class Walk:
    """Scores words one at a time through the kenlm state API and checks each expectation.

    `log` collects every answer, so two modules can be compared exactly.
    """

    def __init__(self, mod: Any, model: Any, log: list[tuple[Any, ...]]) -> None:
        self.mod, self.model, self.log = mod, model, log
        self.state = mod.State()

    def begin(self) -> Walk:
        self.state = self.mod.State()
        self.model.BeginSentenceWrite(self.state)
        return self

    def null(self) -> Walk:
        self.state = self.mod.State()
        self.model.NullContextWrite(self.state)
        return self

    def at(self, state: Any) -> Walk:
        self.state = state
        return self

    def context(self, words: list[str]) -> Walk:
        """The state after `words` (from `<s>` when they start with it), like GetState."""
        if words and words[0] == "<s>":
            self.begin()
            words = words[1:]
        else:
            self.null()
        for word in words:
            self.score(word)
        return self

    def score(self, word: str) -> Any:
        out = self.mod.State()
        ret = self.model.BaseFullScore(self.state, word, out)
        plain = self.model.BaseScore(self.state, word, self.mod.State())
        assert plain == ret.log_prob
        self.log.append((word, ret.log_prob, ret.ngram_length, ret.oov))
        self.state = out
        return ret

    def expect(self, word: str, ngram: int, prob: float, rel: float = REL) -> Any:
        """StartTest/AppendTest: score `word`, check its n-gram length and probability."""
        ret = self.score(word)
        assert ret.ngram_length == ngram, word
        assert ret.log_prob == pytest.approx(prob, rel=rel), word
        assert ret.oov == (self.model_vocab_lacks(word)), word
        if self.mod is kneser:
            # BOOST_CHECK_GE(min(ngram, order - 1), out.length)
            assert len(self.state) <= min(ngram, ORDER - 1), word
        return ret

    def model_vocab_lacks(self, word: str) -> bool:
        return word not in KNOWN

    def length(self, n: int) -> None:
        """The state length (kneser's State has len(); kenlm's does not)."""
        if self.mod is kneser:
            assert len(self.state) == n


KNOWN = {w for words, _, _ in NGRAMS for w in words.split()}


def model_test_cc(mod: Any, model: Any) -> list[tuple[Any, ...]]:
    """Everything() of lm/model_test.cc, as far as the Python API reaches."""
    log: list[tuple[Any, ...]] = []
    w = Walk(mod, model, log)

    # Starters: each from <s>.
    w.begin().expect("looking", 2, -0.4846522)
    w.begin().expect(",", 1, -1.383514 + -0.4149733)  # , plus <s>'s backoff
    w.begin().expect("this_is_not_found", 1, -1.995635 + -0.4149733)  # <unk> plus backoff

    # Continuation.
    w.begin().expect("looking", 2, -0.484652)
    w.expect("on", 3, -0.348837)
    w.expect("a", 4, -0.0155266)
    w.expect("little", 5, -0.00306122)
    preserve = w.state
    w.expect("the", 1, -4.04005)
    w.expect("biarritz", 1, -1.9889)
    w.expect("not_found", 1, -2.29666)
    w.expect("more", 1, -1.20632 - 20.0)
    w.expect(".", 2, -0.51363)
    w.expect("</s>", 3, -0.0191651)
    w.length(0)
    w.at(preserve).expect("more", 5, -0.00181395)
    w.length(4)
    w.expect("loin", 5, -0.0432557)
    w.length(1)

    # Blanks.
    w.null().expect("also", 1, -1.687872)
    w.expect("would", 2, -2)
    w.expect("consider", 3, -3)
    preserve = w.state
    w.expect("higher", 4, -4)
    w.expect("looking", 5, -5)
    w.length(1)
    w.at(preserve).expect("not_found", 1, -1.995635 - 7.0 - 0.30103)  # also would consider _
    w.null().expect("higher", 1, -1.509559)
    w.expect("looking", 2, -1.285941 - 0.30103)  # "higher looking" is a blank
    higher_looking = w.state
    w.length(1)
    w.expect("not_found", 1, -1.995635 - 0.4771212)
    w.at(higher_looking).expect("consider", 1, -1.687872 - 0.4771212)
    w.null().expect("would", 1, -1.687872)
    w.length(1)
    w.expect("consider", 2, -1.687872 - 0.30103)
    w.length(2)
    w.expect("higher", 3, -1.509559 - 0.30103)
    w.length(3)
    w.expect("looking", 4, -1.285941 - 0.30103)

    # Unknowns.
    w.null().expect("not_found", 1, -1.995635)
    preserve = w.state
    w.expect("not_found2", 2, -15.0)
    w.expect("not_found3", 2, -15.0 - 2.0)
    w.at(preserve).expect("however", 2, -4)
    w.expect("not_found3", 3, -6)

    # MinimalState.
    w.null().expect("baz", 1, -6.535897)
    w.length(0)
    w.null().expect("foo", 1, -3.141592)
    w.length(1)
    w.expect("bar", 2, -6.0)
    w.length(1)  # has to include the backoff weight
    w.expect("bar", 1, -2.718281 + 3.0)
    w.length(1)
    w.null().expect("to", 1, -1.687872)
    w.expect("look", 2, -0.2922095)
    w.length(2)
    w.expect("a", 3, -7)

    # ExtendLeftTest: its starting point (the rest needs ExtendLeft).
    w.null().expect("little", 1, -1.285941)

    # Stateless: FullScoreForgotState = score after the state of a given context.
    words = "<s> looking on a little the biarritz not_found more . </s>".split()
    for at, provide, ngram, prob in [
        (1, 1, 2, -0.484652),
        (2, 2, 3, -0.348837),
        (2, 1, 2, -0.4638903),
        (3, 3, 4, -0.0155266),
        (4, 4, 5, -0.00306122),
        (5, 5, 1, -4.04005),
        (5, 0, 1, -1.687872),
        (6, 1, 1, -1.9889),
        (7, 1, 1, -2.29666),
        (7, 0, 1, -1.995635),
    ]:
        w.context(words[at - provide : at]).expect(words[at], ngram, prob)
    # The state of the context `<unk>` has length 1 and equals any OOV's.
    unk = w.null().context(["<unk>"]).state
    w.length(1)
    assert unk == w.context(["not_found"]).state
    return log


def left_test_cc(mod: Any, model: Any) -> list[tuple[Any, ...]]:
    """lm/left_test.cc's scores that equal left-to-right scoring (what RuleScore is checked
    against there), with the right-state lengths it checks."""
    log: list[tuple[Any, ...]] = []
    w = Walk(mod, model, log)

    def left_to_right(
        text: str, begin: bool = False, expect: float | None = None, rel: float = REL
    ) -> float:
        if begin:
            w.begin()
        else:
            w.null()
        total = sum(w.score(word).log_prob for word in text.split())
        if expect is not None:
            assert total == pytest.approx(expect, rel=rel), text
        log.append((text, begin, total))
        return total

    # Short.
    left_to_right("more loin", expect=-1.206319 - 0.3561665)
    w.length(1)
    left_to_right("little more loin", expect=-1.56538)
    w.length(1)
    # checked at 0.01 % there
    left_to_right("to more loin", expect=-0.30103 - 1.687872 - 1.206319 - 0.3561665, rel=1e-4)
    w.length(1)
    # Charge.
    left_to_right("on more", expect=-1.509559 - 0.4771212 - 1.206319)
    w.length(1)
    left_to_right("looking on more", expect=-3.91039)
    w.length(1)
    left_to_right("looking on more", begin=True, expect=-3.471169)
    w.length(1)
    # AlsoWouldConsiderHigher.
    for word in ["also", "would", "consider"]:
        left_to_right(word, expect=-1.687872)
        w.length(1)
    left_to_right("also would", expect=-1.687872 - 2.0)
    w.length(2)
    left_to_right("higher", expect=-1.509559)
    w.length(1)
    left_to_right("consider higher", expect=-1.509559 - 1.687872 - 0.30103)
    left_to_right("also would consider higher", expect=-10.6879)
    w.length(4)
    # GrowBig, GrowSmall, FullGrow: every prefix scored left to right (compared across modules).
    big = (
        "in biarritz watching considering looking . on a little more loin also would consider"
        " higher to look good unknown the screening foo bar , unknown however unknown </s>"
    ).split()
    for start in range(len(big)):
        for end in range(start + 1, len(big) + 1):
            for begin in (False, True):
                left_to_right(" ".join(big[start:end]), begin=begin)
    for text in ["in biarritz watching considering looking . </s>"]:
        words = text.split()
        for start in range(len(words)):
            for end in range(start + 1, len(words) + 1):
                left_to_right(" ".join(words[start:end]))
    return log


@pytest.mark.parametrize("name", MODULES)
def test_model_test_cc(name: str, arpa_paths: dict[str, Path]) -> None:
    mod = module(name)
    model_test_cc(mod, load(mod, arpa_paths["test"]))


@pytest.mark.parametrize("name", MODULES)
def test_left_test_cc(name: str, arpa_paths: dict[str, Path]) -> None:
    mod = module(name)
    left_test_cc(mod, load(mod, arpa_paths["test"]))


@pytest.mark.parametrize("name", MODULES)
def test_model_test_cc_no_unk(name: str, arpa_paths: dict[str, Path]) -> None:
    """NoUnkCheck: without `<unk>` in the file, an unknown word costs -100 in any context."""
    mod = module(name)
    model = load(mod, arpa_paths["test_nounk"])
    w = Walk(mod, model, [])
    ret = w.null().score("not_found")
    assert (ret.log_prob, ret.ngram_length, ret.oov) == (-100.0, 1, True)
    ret = w.score("not_found")
    assert (ret.log_prob, ret.oov) == (-100.0, True)
    ret = w.context(["<unk>"]).score("<unk>")
    assert ret.log_prob == -100.0
    # After a context, the context's backoffs are charged as for any OOV.
    scores = [tuple(s) for s in model.full_scores("looking zz")]
    assert scores[1][0] == pytest.approx(-100.0 - 0.4771214 - 0.4771212, rel=REL)


def test_vocabulary_bound(arpa_paths: dict[str, Path]) -> None:
    """ExpectEnumerateVocab: 37 words in both files (`<unk>` added when missing), `<unk>` = 0."""
    for key in ("test", "test_nounk"):
        model = kneser.Model(arpa_paths[key])
        assert model.vocab_size == 37
        assert model.index("<unk>") == 0
        assert model.index("not_found") == 0
    assert not kneser.Model(arpa_paths["test"]).unk_missing
    assert kneser.Model(arpa_paths["test_nounk"]).unk_missing


@pytest.mark.parametrize("run", [model_test_cc, left_test_cc])
def test_every_answer_equals_kenlm(run: Any, arpa_paths: dict[str, Path]) -> None:
    kenlm = pytest.importorskip("kenlm")
    ours = run(kneser, kneser.Model(arpa_paths["test"]))
    theirs = run(kenlm, kenlm.Model(str(arpa_paths["test"])))
    assert ours == theirs
    for key in ("test", "test_nounk"):
        a, b = kneser.Model(arpa_paths[key]), kenlm.Model(str(arpa_paths[key]))
        for text in ["looking on a little more loin </s>", "also would consider higher looking"]:
            for bos, eos in ((True, True), (False, False)):
                got = [tuple(s) for s in a.full_scores(text, bos, eos)]
                assert got == [tuple(s) for s in b.full_scores(text, bos, eos)]


def test_the_binary_model_passes_too(arpa_paths: dict[str, Path], tmp_path: Path) -> None:
    """model_test.cc runs Everything() again on the binary it writes; so do we, on ours."""
    binary = tmp_path / "test.binary"
    kneser.Model(arpa_paths["test"]).save_binary(binary)
    ours = model_test_cc(kneser, kneser.Model(binary))
    assert ours == model_test_cc(kneser, kneser.Model(arpa_paths["test"]))
    build_binary = Path.home() / ".cache/kneser-anchors/kenlm-build/bin/build_binary"
    if build_binary.exists():  # KenLM's own probing binary of the same model
        theirs = tmp_path / "kenlm.binary"
        subprocess.run(
            [str(build_binary), str(arpa_paths["test"]), str(theirs)],
            check=True,
            capture_output=True,
        )
        assert ours == model_test_cc(kneser, kneser.Model(theirs))
    try:
        import kenlm
    except ImportError:
        return
    assert ours == model_test_cc(kenlm, kenlm.Model(str(binary)))
