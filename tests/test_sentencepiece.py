"""kneser.SentencePiece (pure Rust) against the sentencepiece package on models trained here."""

from __future__ import annotations

import io
import lzma
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kneser

spm = pytest.importorskip("sentencepiece")

DATA = Path(kneser.__file__).parent / "data"
EXTRA = [
    "我爱自然语言处理。今天天气很好！",
    "東京は日本の首都です。カタカナ、ひらがな",
    "Café naïve résumé — «citation» ½ ﬁ ① Ｆｕｌｌ ｗｉｄｔｈ",
    "emoji 😀🎉👍🏽 e\u0301 a\u0308 n\u0303",
    "Привет, как дела? Ελληνικά κείμενα.",
]


def _corpus() -> list[str]:
    with lzma.open(DATA / "reference.txt.xz", "rt", encoding="utf-8") as f:
        lines = [ln.strip() for ln in f if ln.strip()]
    return lines[:4000] + EXTRA * 20


def train(tmp: Path, name: str, **options) -> Path:
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_corpus()),
        model_writer=model,
        vocab_size=options.pop("vocab_size", 800),
        minloglevel=2,
        num_threads=1,
        **options,
    )
    path = tmp / f"{name}.model"
    path.write_bytes(model.getvalue())
    return path


CONFIGS = {
    "unigram-nfkc": {"model_type": "unigram", "normalization_rule_name": "nmt_nfkc"},
    "unigram-identity": {"model_type": "unigram", "normalization_rule_name": "identity"},
    "bpe-nfkc": {"model_type": "bpe", "normalization_rule_name": "nmt_nfkc"},
    "bpe-identity": {"model_type": "bpe", "normalization_rule_name": "identity"},
    "unigram-bytes-user": {
        "model_type": "unigram",
        "byte_fallback": True,
        "user_defined_symbols": ["<sep>", "ab"],
    },
    "bpe-nodummy": {
        "model_type": "bpe",
        "add_dummy_prefix": False,
        "remove_extra_whitespaces": False,
        "user_defined_symbols": ["<sep>"],
    },
    "char": {"model_type": "char", "vocab_size": 300},
    "word": {"model_type": "word", "vocab_size": 2000},
}


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, tuple[kneser.SentencePiece, object]]:
    tmp = tmp_path_factory.mktemp("spm")
    out = {}
    for name, options in CONFIGS.items():
        path = train(tmp, name, **dict(options))
        ours = kneser.SentencePiece(path)
        theirs = spm.SentencePieceProcessor(model_file=str(path))
        out[name] = (ours, theirs)
    return out


SPECIAL = [*" \t\n\r\u3000\u00a0\u2009\u200b\ufeff", "  ", "   ", "<sep>", "ab"]
CHARS = st.one_of(
    st.sampled_from(SPECIAL),
    st.sampled_from(list("abcdefghijklmnopqrstuvwxyzTHE.,;'!?-0123456789")),
    st.sampled_from(list("我爱语言東京日本カタナひらがな한국어")),
    st.sampled_from(["\u0301", "\u0308", "\u0303", "\u0327", "\u200d", "\ufe0f"]),
    st.sampled_from(["😀", "🎉", "👍🏽", "🇫🇷", "½", "ﬁ", "①", "Ｆ", "ｗ", "™", "…"]),
    st.characters(exclude_categories=("Cs",)),
)
TEXT = st.lists(CHARS, max_size=40).map("".join)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_corpus_lines_equal(models, name):
    ours, theirs = models[name]
    lines = _corpus()[::7][:600] + EXTRA
    expected = [theirs.encode_as_pieces(t) for t in lines]
    assert ours.tokenize_batch(lines) == expected
    assert [ours.encode_as_pieces(t) for t in lines[:50]] == expected[:50]
    assert [ours.encode_as_ids(t) for t in lines[:50]] == [
        theirs.encode_as_ids(t) for t in lines[:50]
    ]


@pytest.mark.parametrize("name", list(CONFIGS))
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=TEXT)
def test_random_unicode_equal(models, name, text):
    ours, theirs = models[name]
    assert ours.encode_as_pieces(text) == theirs.encode_as_pieces(text)


def test_model_facts(models):
    ours, theirs = models["unigram-nfkc"]
    assert len(ours) == theirs.get_piece_size()
    assert ours.model_type == "unigram"
    assert ours.id_to_piece(5) == theirs.id_to_piece(5)
    assert ours.piece_to_id("▁the") == theirs.piece_to_id("▁the")
    assert isinstance(ours, kneser.Tokenizer)
    assert ours.mode == "sentencepiece"


def test_a_tokenizer_everywhere(models, tmp_path):
    ours, theirs = models["bpe-nfkc"]
    text = tmp_path / "t.txt"
    text.write_text("the cat sat\nthe dog\n", encoding="utf-8")
    vocab = kneser.Vocab.build(str(text), tokenizer=ours)
    ids = vocab.encode("the cat")
    assert vocab.decode(ids) == " ".join(theirs.encode_as_pieces("the cat"))


def test_not_a_model(tmp_path):
    bad = tmp_path / "bad.model"
    bad.write_bytes(b"\x0a\xff\xff\xff")
    with pytest.raises(kneser.FormatError, match=r"bad\.model"):
        kneser.SentencePiece(bad)
    with pytest.raises(kneser.NotFoundError):
        kneser.SentencePiece(tmp_path / "missing.model")


# Long runs of characters that are their own normal form (the normalizer copies such runs
# without a rule lookup per character) broken by characters that have rules, spaces and
# user-defined symbols.
RUN_CHARS = st.one_of(
    st.sampled_from(list("我爱语言東京日本カタナひらがな한국어абвгдеёжзαβγδéèàçñøß")),
    st.sampled_from(list("abcdefghijklmnopqrstuvwxyz0123456789.,-")),
    st.sampled_from([" ", "  ", "\u3000", "ﬁ", "½", "Ｆ", "e\u0301", "カ\u3099", "<sep>"]),
)
RUNS = st.lists(st.lists(RUN_CHARS, min_size=1, max_size=12).map("".join), max_size=12).map("".join)


@pytest.mark.parametrize("name", ["unigram-nfkc", "unigram-identity", "bpe-nfkc", "bpe-nodummy"])
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=RUNS)
def test_plain_runs_equal(models, name, text):
    ours, theirs = models[name]
    assert ours.encode_as_pieces(text) == theirs.encode_as_pieces(text)
    assert ours.encode_as_ids(text) == theirs.encode_as_ids(text)


@pytest.mark.parametrize("name", ["unigram-nfkc", "unigram-identity", "unigram-bytes-user"])
def test_long_documents_equal(models, name):
    """Whole documents of hundreds of lines as one text (CCNet encodes a document at once): the
    best path's score reaches thousands, where f32 sums round coarsely, and the longest pass
    sentencepiece's score reset (kneser once split three of 80,130 lines of CCNet benchmark
    documents otherwise)."""
    ours, theirs = models[name]
    lines = _corpus()
    docs = ["\n".join(lines[i : i + 300]) for i in range(0, 3000, 300)]
    docs += [" ".join(["the cat sat on the mat"] * 400), "x" * 40 + " the" * 500]
    # Past a best path score of 100,000 (tens of thousands of characters) sentencepiece
    # rebases the scores; the whole corpus as one text goes past it several times.
    docs += [" ".join(lines[i : i + 1000]) for i in range(0, 4000, 1000)] + [" ".join(lines)]
    for doc in docs:
        assert ours.encode_as_pieces(doc) == theirs.encode_as_pieces(doc)
        assert ours.encode_as_ids(doc) == theirs.encode_as_ids(doc)
    assert ours.tokenize_batch(docs) == [theirs.encode_as_pieces(d) for d in docs]


# Models written by hand (a few lines of protobuf), loaded by both: the edges a trainer never
# writes, where sentencepiece 0.2.2+ decides (its refusals included).
NORMAL, UNKNOWN, CONTROL, USER, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


def _varint(x: int) -> bytes:
    out = bytearray()
    while x >= 0x80:
        out.append(x & 0x7F | 0x80)
        x >>= 7
    out.append(x)
    return bytes(out)


def _field(n: int, payload: bytes) -> bytes:
    return _varint(n << 3 | 2) + _varint(len(payload)) + payload


def _model(
    pieces, model_type: int, byte_fallback: bool = False, charsmap: bytes = b"", **flags: bool
) -> bytes:
    """A ModelProto: `(text, score, type)` pieces, the normalizer's `charsmap` (none: identity),
    no dummy prefix unless `flags` say otherwise (`add_dummy_prefix`,
    `remove_extra_whitespaces`, `escape_whitespaces`, `treat_whitespace_as_suffix`,
    `allow_whitespace_only_pieces`)."""
    import struct

    def flag(number: int, name: str, default: bool) -> bytes:
        return _varint(number << 3) + _varint(int(flags.pop(name, default)))

    m = b""
    for text, score, kind in pieces:
        p = _field(1, text.encode()) + bytes([2 << 3 | 5]) + struct.pack("<f", score)
        m += _field(1, p + _varint(3 << 3) + _varint(kind))
    trainer = _varint(3 << 3) + _varint(model_type) + flag(35, "byte_fallback", byte_fallback)
    trainer += flag(24, "treat_whitespace_as_suffix", False)
    trainer += flag(26, "allow_whitespace_only_pieces", False)
    normalizer = _field(1, b"nmt_nfkc" if charsmap else b"identity")
    normalizer += _field(2, charsmap) if charsmap else b""
    normalizer += flag(3, "add_dummy_prefix", False)
    normalizer += flag(4, "remove_extra_whitespaces", True) + flag(5, "escape_whitespaces", True)
    assert not flags, flags
    return m + _field(2, trainer) + _field(3, normalizer)


def _charsmap(model: bytes) -> bytes:
    """The precompiled charsmap of a serialized model (NormalizerSpec, field 3, its field 2)."""

    def fields(buf: bytes):
        i = 0
        while i < len(buf):
            key, i = _read_varint(buf, i)
            wire = key & 7
            if wire == 0:
                value, i = _read_varint(buf, i)
            elif wire == 2:
                n, i = _read_varint(buf, i)
                value, i = buf[i : i + n], i + n
            else:  # fixed32 / fixed64
                size = 4 if wire == 5 else 8
                value, i = buf[i : i + size], i + size
            yield key >> 3, value

    spec = next(v for n, v in fields(model) if n == 3)
    return next((v for n, v in fields(spec) if n == 2), b"")


def _read_varint(buf: bytes, i: int) -> tuple[int, int]:
    x = shift = 0
    while True:
        b = buf[i]
        i += 1
        x |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return x, i


def _both(tmp_path, name: str, model: bytes):
    path = tmp_path / f"{name}.model"
    path.write_bytes(model)
    try:
        theirs = spm.SentencePieceProcessor(model_file=str(path))
    except (RuntimeError, OSError):
        with pytest.raises(kneser.FormatError, match=name):
            kneser.SentencePiece(path)
        return None
    return kneser.SentencePiece(path), theirs


UNIGRAM, BPE, WORD, CHAR = 1, 2, 3, 4
BYTES = [(f"<0x{b:02X}>", 0.0, BYTE) for b in range(256)]
HAND_MODELS = {
    # -0.0 ranks below 0.0: sentencepiece compares BPE scores by their bits.
    "bpe-signed-zeros": (
        [
            ("<unk>", 0, UNKNOWN),
            ("a", -1, NORMAL),
            ("b", -1, NORMAL),
            ("ab", 0.0, NORMAL),
            ("ba", -0.0, NORMAL),
        ],
        BPE,
        ["bab", "abab", "baba"],
    ),
    # A NaN score merges first in BPE (unigram models refuse it).
    "bpe-nan": (
        [
            ("<unk>", 0, UNKNOWN),
            ("a", -1, NORMAL),
            ("b", -1, NORMAL),
            ("ab", -5, NORMAL),
            ("ba", float("nan"), NORMAL),
        ],
        BPE,
        ["abab", "bab"],
    ),
    "unigram-nan": ([("<unk>", 0, UNKNOWN), ("a", float("nan"), NORMAL)], UNIGRAM, ["a"]),
    "unigram-inf": ([("<unk>", 0, UNKNOWN), ("a", float("-inf"), NORMAL)], UNIGRAM, ["a"]),
    # A character that is a control piece's text, and an unused piece never merged: unknown.
    "bpe-control-and-unused": (
        [
            ("<unk>", 0, UNKNOWN),
            ("c", 0, CONTROL),
            ("u", -1, UNUSED),
            ("a", -1, NORMAL),
            ("ua", -2, NORMAL),
        ],
        BPE,
        ["ca", "cca", "ua", "uu", "aua"],
    ),
    # A chain of 149 merged unused pieces: resegmented 100 levels down, the rest kept whole.
    "bpe-deep-unused": (
        [("<unk>", 0, UNKNOWN), ("a", -1, NORMAL)]
        + [("a" * k, float(k), UNUSED) for k in range(2, 151)],
        BPE,
        ["a" * 150, "a" * 101, "a" * 99],
    ),
    # A merged unused piece is resegmented into parts taken where it was last merged: the
    # unknown run they start is counted in the text, not read off their slices (kneser once
    # panicked on "abzzab").
    "bpe-unused-parts-elsewhere": (
        [("<unk>", 0, UNKNOWN), ("ab", -1, UNUSED), ("c", -1, NORMAL)],
        BPE,
        ["abzab", "abzzab", "abcab", "zab", "abab"],
    ),
    # Char and word models: an unused piece, or a control piece's text, is unknown.
    "char-unused-and-control": (
        [("<unk>", 0, UNKNOWN), ("a", -1, UNUSED), ("b", 0, CONTROL), ("c", -1, NORMAL)],
        CHAR,
        ["abc", "cab", "ca", "aab"],
    ),
    "char-control-bytes": (
        [("<unk>", 0, UNKNOWN), ("a", 0, CONTROL), ("b", -1, NORMAL), *BYTES],
        CHAR,
        ["ab", "ba", "aab"],
        {"byte_fallback": True},
    ),
    "word-unused-and-control": (
        [
            ("<unk>", 0, UNKNOWN),
            ("a", -1, UNUSED),
            ("\u2581b", -1, NORMAL),
            ("\u2581c", 0, CONTROL),
        ],
        WORD,
        ["a b c", "b a", "c c b"],
    ),
    # A word model splits before each ▁ even when the model says whitespace is a suffix.
    "word-suffix-flag": (
        [
            ("<unk>", 0, UNKNOWN),
            ("ba", -1, NORMAL),
            ("ba\u2581", -1, NORMAL),
            ("\u2581baa", -2, NORMAL),
        ],
        WORD,
        ["ba baa", "ba baa ", " baa ba"],
        {"treat_whitespace_as_suffix": True, "add_dummy_prefix": True},
    ),
    "piece-7999-bytes": ([("<unk>", 0, UNKNOWN), ("a" * 7999, -1, NORMAL)], UNIGRAM, ["aa"]),
    "piece-8000-bytes": ([("<unk>", 0, UNKNOWN), ("a" * 8000, -1, NORMAL)], UNIGRAM, ["aa"]),
    "piece-with-nul": ([("<unk>", 0, UNKNOWN), ("a\0b", -1, NORMAL)], UNIGRAM, ["ab"]),
    "unused-nul-placeholder": (
        [("<unk>", 0, UNKNOWN), ("\0", 0, UNUSED), ("a", -1, NORMAL)],
        UNIGRAM,
        ["aa", "ab"],
    ),
    # With byte fallback a NUL piece of any type is taken as an unused placeholder.
    "nul-piece-beside-bytes": (
        [("<unk>", 0, UNKNOWN), ("\0", -0.5, NORMAL), ("a", -1, NORMAL), *BYTES],
        UNIGRAM,
        ["a", "ab", "a\0"],
        {"byte_fallback": True},
    ),
    "byte-without-fallback": (
        [("<unk>", 0, UNKNOWN), ("<0x41>", 0, BYTE), ("a", -1, NORMAL)],
        UNIGRAM,
        ["a"],
    ),
    "byte-lowercase-hex": (
        [("<unk>", 0, UNKNOWN), *BYTES[:10], ("<0x0a>", 0, BYTE), *BYTES[11:], ("a", -1, NORMAL)],
        UNIGRAM,
        ["a"],
        {"byte_fallback": True},
    ),
    # One map in BPE: a control piece may not share a normal piece's text; in unigram it may.
    "bpe-control-shares-text": (
        [("<unk>", 0, UNKNOWN), ("a", 0, CONTROL), ("a", -1, NORMAL)],
        BPE,
        ["a"],
    ),
    "unigram-control-shares-text": (
        [("<unk>", 0, UNKNOWN), ("a", 0, CONTROL), ("a", -1, NORMAL), ("b", -2, NORMAL)],
        UNIGRAM,
        ["ab", "ba"],
    ),
}


def test_hand_written_model_with_a_trained_charsmap(tmp_path):
    """A trained model's nmt_nfkc charsmap under hand-written pieces, user-defined ones
    among them: normalization first (a user-defined piece's text is left as it is), then the
    pieces, as sentencepiece gives them."""
    path = train(tmp_path, "nfkc", model_type="unigram", normalization_rule_name="nmt_nfkc")
    charsmap = _charsmap(path.read_bytes())
    assert len(charsmap) > 1000
    pieces = [
        ("<unk>", 0, UNKNOWN), ("a", -1, NORMAL), ("A", -1, NORMAL), ("1", -2, NORMAL),
        ("fi", -1, NORMAL), ("ｆｉ", 0, USER), ("\u2581", -3, NORMAL), ("é", -1, NORMAL),
    ]  # fmt: skip
    for model_type in (UNIGRAM, BPE):
        model = _model(pieces, model_type, charsmap=charsmap, add_dummy_prefix=True)
        ours, theirs = _both(tmp_path, f"nfkc-{model_type}", model)
        for text in ["ａＡ①ﬁ", "ｆｉ fi ﬁ", "e\u0301 é", "  Ａ  ｆｉｆｉ  "]:
            assert ours.normalize(text) == theirs.normalize(text), text
            assert ours.encode_as_pieces(text) == theirs.encode_as_pieces(text), text
            assert ours.encode_as_ids(text) == theirs.encode_as_ids(text), text


@pytest.mark.parametrize("name", list(HAND_MODELS))
def test_hand_written_models_as_sentencepiece_has_them(tmp_path, name):
    pieces, model_type, texts, *options = HAND_MODELS[name]
    both = _both(tmp_path, name, _model(pieces, model_type, **(options[0] if options else {})))
    if both is None:
        return  # both refused it
    ours, theirs = both
    for text in texts:
        assert ours.encode_as_pieces(text) == theirs.encode_as_pieces(text), text
        assert ours.encode_as_ids(text) == theirs.encode_as_ids(text), text


def test_hand_written_refusals_are_sentencepieces(tmp_path):
    """The refusals above are real ones: sentencepiece refuses each of these."""
    refused = []
    for name, (pieces, model_type, _texts, *options) in HAND_MODELS.items():
        model = _model(pieces, model_type, **(options[0] if options else {}))
        if _both(tmp_path, name, model) is None:
            refused.append(name)
    assert refused == [
        "unigram-nan", "unigram-inf", "piece-8000-bytes", "piece-with-nul",
        "byte-without-fallback", "byte-lowercase-hex", "bpe-control-shares-text",
    ]  # fmt: skip
