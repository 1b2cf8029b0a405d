"""Random sweeps against the oracles themselves: KenLM's lmplz, build_binary and query (built by
``../shared/tools/build-kenlm.sh``), the kenlm module and jieba. Not a pytest file (it needs the
KenLM binaries, which CI does not have); what a sweep finds becomes a stored case or a test.

    python tests/oracle_sweep.py estimate [--seed 0] [--cases 300] [--open-end]
                                          [--binary|--shards|--texts]
    python tests/oracle_sweep.py binary   [--seed 0] [--cases 300]
    python tests/oracle_sweep.py query    [--seed 0] [--cases 200]
    python tests/oracle_sweep.py arpa     [--seed 0] [--cases 300]
    python tests/oracle_sweep.py kenlm    [--seed 0] [--cases 200]
    python tests/oracle_sweep.py jieba    [--seed 0] [--cases 8000]
    python tests/oracle_sweep.py ccnet    [--seed 0] [--cases 5000]
    python tests/oracle_sweep.py sentencepiece [--seed 0] [--cases 1500]
    python tests/oracle_sweep.py sentencepiece-hand [--seed 0] [--cases 1500]
    python tests/oracle_sweep.py ccnet-doc [--seed 0] [--cases 300]
    python tests/oracle_sweep.py jieba-dict [--seed 0] [--cases 400]
    python tests/oracle_sweep.py usage    [--seed 0] [--cases 100]
    python tests/oracle_sweep.py memory   [--seed 0] [--cases 200]
    python tests/oracle_sweep.py abbrev   [--seed 0] [--cases 100]

- ``estimate``: random corpora (Zipfian words, tabs and runs of spaces, NBSP, U+3000, VT, FF,
  CR, the sentence markers; a fifth without a final newline) and random lmplz flags (orders 2 to
  7, ``--discount_fallback``, ``--prune``, ``--interpolate_unigrams 0``, ``--vocab_pad``,
  ``--skip_symbols``, ``--renumber``, ``--limit_vocab_file``), ``kneser build`` (budgets 1M to
  100M, 1 or 2 threads) against ``lmplz``, byte for byte. ``--open-end``: every corpus without a
  final newline, and pruning or a vocabulary limit on each. ``--renumber`` is not combined with
  ``--limit_vocab_file`` or ``--prune``: lmplz aborts on those pairs ("Detected n-gram without
  matching suffix", ``joint_order.hh:61``) or prints another word in the place of ``<s>`` or
  ``</s>``. ``--binary``: ``kneser build --binary`` straight from estimation (probing, trie,
  ``-q``/``-b``, ``-a``; orders 2 to 6, KenLM's build's limit) against lmplz then build_binary.
  ``--shards``: the corpus cut at up to three random line ends, ``kneser count`` per piece, then
  ``kneser build --from-counts`` (no ``--verbose_header``: its first line names the input).
  ``--texts``: ``kneser.estimate(texts=...)`` in this process, the corpus lines given as a list or
  as a generator of lines ending in a newline (what a file object yields), against lmplz on the
  file (which then always ends with a newline: an item is a whole line).
- ``binary``: lmplz models of orders 1 to 6, two in five of them then edited as other tools
  leave ARPA files (no ``<unk>``; positive or zero log10 probabilities; no ``<s>`` or ``</s>``,
  with or without the n-grams holding it), ``kneser build-binary`` against ``build_binary`` with
  random flags (``-p``; ``-q``, ``-b``, ``-a``; ``-v``; ``-u``, ``-i``, ``-s`` for the edits),
  exit status and bytes, then every ``full_scores`` of random text through ``kneser.Model``
  against the kenlm module on the same file.
- ``query``: ``kneser query`` against KenLM's ``query`` on ARPA, probing and trie models (three
  in ten edited as ``binary``'s are), random text with every separator, the markers and OOVs,
  random ``-n`` and ``-v``: what is printed on stdout, and the exit status.
- ``arpa``: lmplz's ARPA rewritten (spaces for tabs, CRLF, trailing blanks, dropped zero
  backoffs, exponent forms): where the kenlm module loads it, the same ``full_scores``; kneser
  also reads the files KenLM refuses for their separators (README: the kenlm module). Three in
  ten are instead edited as ``binary``'s are: the kenlm module's refusals (a ``FormatError``)
  and scores, with ``bos``/``eos`` varied.
- ``kenlm``: the kenlm module's API on lmplz models as ARPA, probing and trie files (``-q``,
  ``-a``): ``full_scores``, ``score`` and ``perplexity`` of random text with the markers and OOVs,
  any ``bos``/``eos``, and chains of ``BaseScore``/``BaseFullScore`` from ``BeginSentenceWrite``
  or ``NullContextWrite`` states, every float compared bit for bit (``-0.0`` is not ``0.0``).
- ``jieba``: random mixes of dictionary words, Latin, digits, CJK punctuation, full-width forms,
  emoji, combining marks and other scripts: ``Segmenter`` against ``jieba.Tokenizer`` in all four
  modes (``cut``, ``cut_all``, ``cut_for_search``, ``tokenize``), HMM off.
- ``jieba-dict``: per case a fresh dictionary and up to eight random edits (``add_word`` with
  and without a frequency, ``del_word``, ``suggest_freq`` of a word or of a split, tuned or
  not, ``load_userdict`` files with frequencies, tags, tabs and spaces in words), each followed
  by ``total``, ``FREQ.get`` of every edited word and cuts of texts made of those words in the
  four modes: ``Segmenter`` against ``jieba.Tokenizer``.
- ``ccnet``: random strings from Latin, accented and combining letters, every kind of space,
  ASCII and typographic punctuation, CJK and full-width forms, Greek, Cyrillic, Arabic,
  Devanagari, emoji, zero-width characters, enclosed numbers, ligatures: ``Normalizer.ccnet()``,
  ``ccnet(punct=2)`` and ``ccnet_dedup()`` against cc_net's ``text_normalizer`` (the test extra's
  ``cc_net``).
- ``sentencepiece``: models trained in the sweep by the sentencepiece package on random text of
  those scripts (unigram, BPE, char and word; identity and ``nfkc_cf`` normalization; byte
  fallback; user-defined symbols; no dummy prefix, extra whitespace kept), then
  ``kneser.SentencePiece`` against ``SentencePieceProcessor`` on random strings: pieces and ids,
  ``--cases`` strings per model.
- ``sentencepiece-hand``: ``--cases`` models written by hand (a few pieces over a two- to
  four-letter alphabet, random piece types, scores that tie, -0.0, unigram/BPE/char/word, byte
  fallback), loaded by both: both refuse, or give the same pieces and ids on random strings
  and on one of 30,000 characters (past the unigram score reset).
- ``ccnet-doc``: CCNet's whole flow per case: a ``lm_sp`` directory of one or two languages (a
  SentencePiece model of a random kind trained by the sentencepiece package on normalized random
  text, a lmplz model of its pieces as ARPA, probing or trie), a ``cutoff.csv`` (percentiles of
  the documents' perplexities, or random values out of order, with NaN cells), random head and
  tail percentiles, and random documents (every newline and space kind, empty texts, one in
  fifty of 1,000 to 3,000 lines, languages absent, null, unknown or not a string):
  ``kneser.Pipeline.ccnet`` against cc_net's ``MultiSentencePiece``, ``DocLM`` and
  ``PerplexityBucket``, every output document.
- ``usage``: a usage mistake (an unknown short or long option, a missing argument, an option
  without its value, a value that is no number) given to ``lmplz``, ``query`` or
  ``build_binary`` and to the kneser subcommand named after it: the same exit status (KenLM's
  1). Not generated: ``build_binary -b`` without ``-q``, on which build_binary calls ``abort()``
  (kneser: a usage error, status 1), and an empty number given to build_binary, which its C
  parsing reads as 0 (``-u ""`` is log10 p(<unk>) = 0; kneser refuses it).
- ``memory``: ``build_binary`` with no output file (its memory estimate) on an ARPA header of
  random counts (orders 2 to 6, up to about 10^10 n-grams an order: every unit, B to GB) with
  random ``-p``, ``-q``, ``-b``, ``-a``: the same stderr, byte for byte, and exit status.
- ``abbrev``: one to three of lmplz's long options, each as a random prefix of its name (boost
  takes a prefix of exactly one option for it and refuses one that begins several), with valid
  values: lmplz against ``kneser build``, exit status and ARPA.

Prints each case that differs (its files are kept under ``--work``) and a count.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

BIN = Path.home() / ".cache/kneser-anchors/kenlm-build/bin"
SPECIAL = [
    "x\u00a0y",
    "全\u3000角",
    "v\x0bt",
    "f\x0cf",
    "日本",
    "é",
    "<s>",
    "</s>",
    "<unk>",
    "a\rb",
]
KNESER = [sys.executable, "-m", "kneser.cli"]


def lmplz(corpus: Path, args: list[str], out: Path, tmp: Path) -> bool:
    tmp.mkdir(exist_ok=True)
    with corpus.open("rb") as stdin, out.open("wb") as stdout:
        run = [str(BIN / "lmplz"), "-S", "100M", "-T", f"{tmp}/", *args]
        r = subprocess.run(run, stdin=stdin, stdout=stdout, stderr=subprocess.DEVNULL)
    return r.returncode == 0


def words_of(rng: random.Random, letters: str, most: int) -> list[str]:
    n = rng.randint(3, most)
    return sorted(
        {"".join(rng.choice(letters) for _ in range(rng.randint(1, 4))) for _ in range(n)}
    )


def estimate_case(
    rng: random.Random,
    d: Path,
    open_end: bool,
    binary: bool,
    shards: bool = False,
    texts: bool = False,
) -> str | None:
    words = words_of(rng, "abcdefghij", 300)
    if rng.random() < 0.5:
        words += rng.sample(SPECIAL, rng.randint(1, 4))
    z = rng.choice([0.6, 1.0, 1.3])
    weights = [1 / (i + 1) ** z for i in range(len(words))]
    lines = []
    for _ in range(rng.randint(1, 1500)):
        n = rng.randint(0, rng.choice([3, 12, 40]))
        seps = [rng.choice([" ", " ", " ", "\t", "  ", " \t "]) for _ in range(n)]
        line = "".join(s + t for s, t in zip(seps, rng.choices(words, weights, k=n)))
        if rng.random() < 0.1:
            line += rng.choice([" ", "\t", "\r"])
        lines.append(line)
    # texts=: each item is a whole line, so the file lmplz reads ends with a newline.
    text = "\n".join(lines) + ("" if (open_end or rng.random() < 0.2) and not texts else "\n")
    (d / "c.txt").write_text(text, encoding="utf-8")
    order = rng.randint(2, 6 if binary else 7)  # KenLM's build is for orders up to 6
    args = ["-o", str(order)]
    if rng.random() < 0.6:
        args.append("--discount_fallback")
        if rng.random() < 0.3:
            args += [str(rng.choice([0.1, 0.25, 0.5, 0.9])) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.1:
        args.append("--collapse_values")
    if rng.random() < 0.1 and not (shards or texts):  # its first line names the input
        args.append("--verbose_header")
    if open_end and rng.random() < 0.5:
        args += [
            "--prune",
            "0",
            *[str(rng.choice([1, 2])) for _ in range(rng.randint(1, order - 1))],
        ]
    elif rng.random() < 0.3:
        args += [
            "--prune",
            *[str(rng.choice([0, 0, 1, 2, 3])) for _ in range(rng.randint(1, order))],
        ]
    if rng.random() < 0.2:
        args += ["--interpolate_unigrams", "0"]
    if rng.random() < 0.2:
        args += ["--vocab_pad", str(rng.randint(1, 500))]
    if rng.random() < 0.2:
        args.append("--skip_symbols")
    if (open_end and "--prune" not in args) or rng.random() < 0.25:
        toks = sorted(set(text.split())) or ["a"]
        (d / "v.txt").write_text(" ".join(rng.sample(toks, max(1, len(toks) // 2))) + "\n")
        args += ["--limit_vocab_file", str(d / "v.txt")]
    elif "--prune" not in args and rng.random() < 0.2:
        args.append("--renumber")
    ok = lmplz(d / "c.txt", args, d / "lmplz.arpa", d / "t")
    memory, threads = rng.choice(["100M", "1M", "2M"]), rng.choice(["1", "2"])
    ours = [
        *KNESER,
        "build",
        "-q",
        "-S",
        memory,
        "-T",
        str(d / "t"),
        "--threads",
        threads,
        *args,
        "--text",
        str(d / "c.txt"),
    ]
    label = f"{' '.join(args)} -S {memory} --threads {threads}"
    if texts:
        return estimate_texts(rng, lines, args, memory, int(threads), d, ok, label)
    if shards:  # kneser count per shard (cut at line ends), then build --from-counts
        ended = [x + "\n" for x in text.split("\n")]
        ended[-1] = ended[-1][:-1]  # what follows the last newline
        cuts = sorted(rng.sample(range(len(ended) + 1), rng.randint(0, min(3, len(ended)))))
        bounds = [0, *cuts, len(ended)]
        pieces = ["".join(ended[a:b]) for a, b in zip(bounds, bounds[1:])]
        assert "".join(pieces) == text
        counts = []
        for i, piece in enumerate(pieces):
            (d / f"s{i}.txt").write_text(piece, encoding="utf-8")
            skip = ["--skip_symbols"] if "--skip_symbols" in args else []
            run = [*KNESER, "count", "-q", "-o", str(order), *skip, "-S", memory]
            run += ["-O", str(d / f"s{i}.counts"), str(d / f"s{i}.txt")]
            r = subprocess.run(run, capture_output=True)
            if r.returncode:
                why = r.stderr.decode(errors="replace").strip()[-200:]
                return (
                    f"{label}: lmplz succeeds, kneser count exits {r.returncode} {why}"
                    if ok
                    else None
                )
            counts.append(str(d / f"s{i}.counts"))
        at = ours.index("--text")
        ours[at : at + 2] = ["--from-counts", *counts]
        ours = [x for x in ours if x != "--skip_symbols"]
        label += f" in {len(pieces)} count files"
    if binary:  # straight from estimation, against build_binary of lmplz's ARPA
        layout = rng.choice(
            [
                [],
                ["trie"],
                ["trie", "-q", "8", "-b", "6"],
                ["trie", "-a", "10"],
                ["trie", "-q", "5", "-b", "3", "-a", "4"],
            ]
        )
        flags = {"-q": "--binary-q", "-b": "--binary-b", "-a": "--binary-a"}
        ours += ["--binary", str(d / "kneser.bin")]
        if layout[:1] == ["trie"]:
            ours += ["--binary-format", "trie"]
        ours += [f for i, x in enumerate(layout) if x in flags for f in (flags[x], layout[i + 1])]
        label += f" build_binary {' '.join(layout)}"
        if ok:
            flags_ = [x for x in layout if x != "trie"]
            kind = layout[:1] if layout[:1] == ["trie"] else []
            run = [str(BIN / "build_binary"), "-S", "10M", *flags_, *kind]
            r = subprocess.run([*run, str(d / "lmplz.arpa"), str(d / "lmplz.bin")],
                               capture_output=True)  # fmt: skip
            ok = r.returncode == 0
    else:
        ours += ["--arpa", str(d / "kneser.arpa")]
    got = subprocess.run(ours, capture_output=True)
    if not ok or got.returncode != 0:
        if ok == (got.returncode == 0):
            return None
        why = got.stderr.decode(errors="replace").strip()[-200:]
        theirs = "succeeds" if ok else "fails"
        return f"{label}: lmplz {theirs}, kneser exits {got.returncode} {why}"
    if binary:
        same = (d / "kneser.bin").read_bytes() == (d / "lmplz.bin").read_bytes()
        return None if same else f"{label}: the binaries differ"
    same = (d / "kneser.arpa").read_bytes() == (d / "lmplz.arpa").read_bytes()
    return None if same else f"{label}: the ARPAs differ"


def estimate_kwargs(args: list[str]) -> dict:
    """``kneser.estimate``'s keywords for the lmplz flags ``estimate_case`` draws."""
    kw: dict = {}
    i = 0
    while i < len(args):
        flag, i = args[i], i + 1
        values = []
        while i < len(args) and not args[i].startswith("--") and args[i] != "-o":
            values.append(args[i])
            i += 1
        if flag == "-o":
            kw["order"] = int(values[0])
        elif flag == "--discount_fallback":
            kw["discount_fallback"] = [float(v) for v in values] or True
        elif flag == "--prune":
            kw["prune"] = [int(v) for v in values]
        elif flag == "--interpolate_unigrams":
            kw["interpolate_unigrams"] = values[0] != "0"
        elif flag == "--vocab_pad":
            kw["vocab_pad"] = int(values[0])
        elif flag == "--limit_vocab_file":
            kw["limit_vocab"] = values[0]
        else:  # --skip_symbols, --renumber, --collapse_values
            kw[flag[2:]] = True
    return kw


def estimate_texts(
    rng: random.Random,
    lines: list[str],
    args: list[str],
    memory: str,
    threads: int,
    d: Path,
    ok: bool,
    label: str,
) -> str | None:
    """``kneser.estimate(texts=...)`` of the corpus lines (as a list, or as a generator of lines
    ending in "\\n", as a file object gives them) against lmplz on the file."""
    import kneser

    as_file = rng.random() < 0.5
    items = (x + "\n" for x in lines) if as_file else list(lines)
    label += " texts=" + ("file-object lines" if as_file else "list")
    try:
        out = {"arpa": str(d / "kneser.arpa"), "temp_dir": str(d / "t")}
        kneser.estimate(texts=items, memory=memory, threads=threads, **out, **estimate_kwargs(args))
    except kneser.KneserError as e:
        return f"{label}: lmplz succeeds, kneser raises {type(e).__name__}: {e}" if ok else None
    if not ok:
        return f"{label}: lmplz fails, kneser succeeds"
    same = (d / "kneser.arpa").read_bytes() == (d / "lmplz.arpa").read_bytes()
    return None if same else f"{label}: the ARPAs differ"


def mutate_arpa(rng: random.Random, arpa: Path) -> tuple[str, list[str]]:
    """An ARPA as other tools leave them, and build_binary's flags for it: no ``<unk>`` (``-u``),
    positive or zero log10 probabilities (``-i``), no ``<s>`` or ``</s>`` (``-s``), either with
    every n-gram holding the marker or with only its unigram taken out."""
    lines = arpa.read_text(encoding="utf-8").split("\n")
    kind = rng.choice(["no-unk", "positive", "no-marker", "no-marker-unigram"])
    flags: list[str] = []
    if kind == "no-unk":
        drop = lambda words: words == ["<unk>"]  # noqa: E731
        if rng.random() < 0.5:
            flags += ["-u", rng.choice(["-3.5", "-100", "0", "-7.25"])]
    elif kind == "positive":
        drop = lambda words: False  # noqa: E731
        grams = [i for i, ln in enumerate(lines) if "\t" in ln]
        for i in rng.sample(grams, min(len(grams), rng.randint(1, 3))):
            fields = lines[i].split("\t")
            fields[0] = rng.choice(["0.5", "0", "0.0", "2"])
            lines[i] = "\t".join(fields)
        if rng.random() < 0.6:
            flags.append("-i")
    else:
        marker = rng.choice(["<s>", "</s>"])
        if kind == "no-marker":
            drop = lambda words: marker in words  # noqa: E731
        else:
            drop = lambda words: words == [marker]  # noqa: E731
        if rng.random() < 0.7:
            flags.append("-s")
    out, counts, order = [], {}, 0
    for ln in lines:
        if ln.startswith("\\") and ln.endswith("-grams:"):
            order = int(ln[1:].split("-")[0])
        fields = ln.split("\t")
        if order and len(fields) >= 2 and drop(fields[1].split(" ")):
            continue
        if order and len(fields) >= 2:
            counts[order] = counts.get(order, 0) + 1
        out.append(ln)
    out = [
        f"ngram {ln[6:].split('=')[0]}={counts.get(int(ln[6:].split('=')[0]), 0)}"
        if ln.startswith("ngram ")
        else ln
        for ln in out
    ]
    arpa.write_text("\n".join(out), encoding="utf-8")
    return kind, flags


def binary_case(rng: random.Random, d: Path) -> str | None:
    import kenlm

    import kneser

    words = words_of(rng, "abcdefghij", 300) + rng.sample(
        ["x\u00a0y", "日本", "é"], rng.randint(0, 3)
    )
    z = rng.choice([0.6, 1.0, 1.3])
    weights = [1 / (i + 1) ** z for i in range(len(words))]
    lines = [
        " ".join(rng.choices(words, weights, k=rng.randint(0, 15)))
        for _ in range(rng.randint(5, 800))
    ]
    (d / "c.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    order = rng.randint(1, 6)
    args = ["-o", str(order), "--discount_fallback"]
    if rng.random() < 0.3 and order > 1:
        args += ["--prune", "0", *[str(rng.choice([0, 1, 2])) for _ in range(order - 1)]]
    if not lmplz(d / "c.txt", args, d / "m.arpa", d / "t"):
        return None
    layout, flags = rng.choice(["probing", "trie"]), []
    if rng.random() < 0.4:
        mutation, extra = mutate_arpa(rng, d / "m.arpa")
        args.append(f"then {mutation}")
        flags += extra
    if layout == "probing" and rng.random() < 0.5:
        flags += ["-p", str(rng.choice([1.1, 1.5, 2.0, 3.7]))]
    if layout == "trie":
        for flag, values, p in (
            ("-q", range(2, 26), 0.5),
            ("-b", range(2, 26), 0.4),
            ("-a", [0, 1, 8, 32, 255], 0.4),
        ):
            if rng.random() < p:
                flags += [flag, str(rng.choice(list(values)))]
    if rng.random() < 0.2:
        flags.append("-v")
    theirs = subprocess.run(
        [str(BIN / "build_binary"), *flags, layout, str(d / "m.arpa"), str(d / "b.bin")],
        capture_output=True,
    )
    ours = subprocess.run(
        [*KNESER, "build-binary", *flags, layout, str(d / "m.arpa"), str(d / "k.bin")],
        capture_output=True,
    )
    label = f"{' '.join(args)} | build_binary {' '.join(flags)} {layout}"
    if (theirs.returncode == 0) != (ours.returncode == 0):
        return f"{label}: build_binary exit {theirs.returncode}, kneser {ours.returncode}"
    if theirs.returncode != 0:
        return None
    if (d / "b.bin").read_bytes() != (d / "k.bin").read_bytes():
        return f"{label}: the files differ"
    km, nm = kenlm.Model(str(d / "b.bin")), kneser.Model(d / "b.bin")
    for _ in range(50):
        t = " ".join(rng.choices([*words, "zzunk"], k=rng.randint(0, 20)))
        for bos in (True, False):
            for eos in (True, False):
                want = [(p, n, o) for p, n, o in km.full_scores(t, bos=bos, eos=eos)]
                if list(nm.full_scores(t, bos=bos, eos=eos)) != want:
                    return f"{label}: full_scores of {t!r} differ"
    return None


def query_case(rng: random.Random, d: Path) -> str | None:
    words = words_of(rng, "abcdef", 80) + rng.sample(
        ["x\u00a0y", "日本", "é", "a\x0bb", "f\x0cf"], rng.randint(0, 3)
    )
    lines = [" ".join(rng.choices(words, k=rng.randint(0, 12))) for _ in range(rng.randint(5, 300))]
    (d / "c.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if not lmplz(
        d / "c.txt", ["-o", str(rng.randint(2, 5)), "--discount_fallback"], d / "m.arpa", d / "t"
    ):
        return None
    model, edited, extra = d / "m.arpa", "", []
    if rng.random() < 0.3:  # another tool's model (a refusal is compared too)
        edited, extra = mutate_arpa(rng, model)
        edited = f" ({edited} {' '.join(extra)})"
    if rng.random() < 0.6:
        layout = rng.choice(["probing", "trie"])
        r = subprocess.run(
            [str(BIN / "build_binary"), *extra, layout, str(model), str(d / "m.bin")],
            capture_output=True,
        )
        if r.returncode:
            return None
        model = d / "m.bin"
    seps = [" ", " ", "\t", "  ", "\r", "\x0b", "\x0c", " \t"]
    text = []
    for _ in range(rng.randint(0, 30)):
        toks = rng.choices([*words, "zz", "<s>", "</s>", "<unk>", "Ω"], k=rng.randint(0, 10))
        lead = rng.choice(["", " ", "\t"])
        text.append(lead + "".join(t + rng.choice(seps) for t in toks).rstrip(" "))
    data = ("\n".join(text) + rng.choice(["\n", "", "\n\n"])).encode()
    flags = ["-n"] if rng.random() < 0.3 else []
    for v in rng.sample(["summary", "sentence", "word"], rng.randint(0, 2)):
        flags += ["-v", v]
    want = subprocess.run([str(BIN / "query"), *flags, str(model)], input=data, capture_output=True)
    got = subprocess.run([*KNESER, "query", *flags, str(model)], input=data, capture_output=True)
    (d / "q.txt").write_bytes(data)
    if (want.returncode, want.stdout) != (got.returncode, got.stdout):
        (d / "kenlm.out").write_bytes(want.stdout)
        (d / "kneser.out").write_bytes(got.stdout)
        return f"query {' '.join(flags)} on {model.name}{edited}: the reports differ"
    return None


def arpa_case(rng: random.Random, d: Path) -> str | None:
    import kenlm

    import kneser

    words = words_of(rng, "abcdef", 60)
    lines = [" ".join(rng.choices(words, k=rng.randint(0, 10))) for _ in range(rng.randint(5, 200))]
    (d / "c.txt").write_text("\n".join(lines) + "\n")
    if not lmplz(
        d / "c.txt", ["-o", str(rng.randint(2, 4)), "--discount_fallback"], d / "m.arpa", d / "t"
    ):
        return None
    if rng.random() < 0.3:  # another tool's model: the kenlm module's refusals, as they are
        mutation, _ = mutate_arpa(rng, d / "m.arpa")
        try:
            km = kenlm.Model(str(d / "m.arpa"))
        except OSError as e:
            try:
                kneser.Model(d / "m.arpa")
            except kneser.FormatError:
                return None
            return f"{mutation}: the kenlm module refuses ({e}), kneser loads"
        try:
            nm = kneser.Model(d / "m.arpa")
        except kneser.KneserError as e:
            return f"{mutation}: the kenlm module loads, kneser refuses ({e})"
        for _ in range(40):
            t = " ".join(rng.choices([*words, "zz", "<s>", "</s>"], k=rng.randint(0, 12)))
            for bos, eos in ((True, True), (False, True), (True, False)):
                want = [(p, n, o) for p, n, o in km.full_scores(t, bos=bos, eos=eos)]
                if list(nm.full_scores(t, bos=bos, eos=eos)) != want:
                    return f"{mutation}: scores of {t!r} bos {bos} eos {eos}"
        return None

    def number(s: str) -> str:
        v, c = float(s), rng.random()
        return (
            f"{v:e}" if c < 0.15 else f"{v:.3f}" if c < 0.25 else "-0" if c < 0.3 and v == 0 else s
        )

    sep, nl = rng.choice(["\t", "\t", " ", "  ", " \t"]), rng.choice(["\n", "\n", "\r\n"])
    drop, trailing = rng.random() < 0.5, rng.random() < 0.3
    out = []
    for line in (d / "m.arpa").read_text().split("\n"):
        fields = line.split("\t")
        if line.startswith("\\") or line.startswith("ngram ") or len(fields) < 2:
            out.append(line)
            continue
        rest = fields[2:]
        if rest and drop and float(rest[0]) == 0:
            rest = []
        ws = (
            fields[1].replace(" ", rng.choice([" ", "  ", "\t"]))
            if rng.random() < 0.3
            else fields[1]
        )
        out.append(
            sep.join([number(fields[0]), ws, *map(number, rest)]) + (" " if trailing else "")
        )
    (d / "x.arpa").write_text(nl.join(out))
    try:
        km = kenlm.Model(str(d / "x.arpa"))
    except OSError:
        return None  # KenLM refuses the separators; kneser reads them (README)
    nm = kneser.Model(d / "x.arpa")
    for _ in range(40):
        t = " ".join(rng.choices([*words, "zz"], k=rng.randint(0, 12)))
        if list(nm.full_scores(t)) != [(p, n, o) for p, n, o in km.full_scores(t)]:
            return f"sep {sep!r} newline {nl!r} drop {drop} trailing {trailing}: scores of {t!r}"
    return None


def kenlm_case(rng: random.Random, d: Path) -> str | None:
    import struct

    import kenlm

    import kneser

    def bits(x: float) -> bytes:
        return struct.pack("<f", x)

    def full(scores) -> list:  # type: ignore[no-untyped-def]
        return [(bits(p), n, o) for p, n, o in scores]

    words = words_of(rng, "abcdef", 60)
    lines = [" ".join(rng.choices(words, k=rng.randint(0, 12))) for _ in range(rng.randint(5, 300))]
    (d / "c.txt").write_text("\n".join(lines) + "\n")
    args = ["-o", str(rng.randint(2, 5)), "--discount_fallback"]
    if rng.random() < 0.3:
        args += ["--prune", "0", "1"]
    if not lmplz(d / "c.txt", args, d / "m.arpa", d / "t"):
        return None
    path, kind = d / "m.arpa", "arpa"
    if rng.random() < 0.7:
        kind = rng.choice(["probing", "trie", "trie -q 8 -b 7", "trie -a 0"])
        layout, *flags = kind.split()
        run = [str(BIN / "build_binary"), *flags, layout, str(path), str(d / "m.bin")]
        subprocess.run(run, capture_output=True, check=True)
        path = d / "m.bin"
    km, nm = kenlm.Model(str(path)), kneser.Model(path)
    vocab = [*words, "zz", "<s>", "</s>", "<unk>"]
    for _ in range(60):
        t = " ".join(rng.choices(vocab, k=rng.randint(0, 12)))
        bos, eos = rng.random() < 0.7, rng.random() < 0.7
        if full(km.full_scores(t, bos=bos, eos=eos)) != full(nm.full_scores(t, bos=bos, eos=eos)):
            return f"{kind} {' '.join(args)}: full_scores of {t!r} (bos {bos}, eos {eos})"
        if bits(km.score(t, bos=bos, eos=eos)) != bits(nm.score(t, bos=bos, eos=eos)):
            return f"{kind} {' '.join(args)}: score of {t!r} (bos {bos}, eos {eos})"
        a, b = km.perplexity(t), nm.perplexity(t)
        if not (a == b or (a != a and b != b)):
            return f"{kind} {' '.join(args)}: perplexity of {t!r}: {a} / {b}"
    for _ in range(30):
        ks, ns = kenlm.State(), kneser.State()
        begin = rng.random() < 0.5
        (km.BeginSentenceWrite if begin else km.NullContextWrite)(ks)
        (nm.BeginSentenceWrite if begin else nm.NullContextWrite)(ns)
        for w in rng.choices(vocab, k=rng.randint(1, 10)):
            ko, no = kenlm.State(), kneser.State()
            if rng.random() < 0.5:
                a, b = bits(km.BaseScore(ks, w, ko)), bits(nm.BaseScore(ns, w, no))
            else:
                x, y = km.BaseFullScore(ks, w, ko), nm.BaseFullScore(ns, w, no)
                a = (bits(x.log_prob), x.ngram_length, x.oov)
                b = (bits(y.log_prob), y.ngram_length, y.oov)
            if a != b:
                return f"{kind} {' '.join(args)}: the state API on {w!r}: {a} / {b}"
            ks, ns = ko, no
    return None


# KenLM's programs and the kneser subcommands that stand in for them.
PROGRAMS = {"lmplz": "build", "query": "query", "build_binary": "build-binary"}


def usage_case(rng: random.Random, d: Path) -> str | None:
    """A usage mistake (an unknown option, a missing argument or value, a value that is no
    number) given to one of KenLM's programs and to its kneser subcommand: the same exit
    status. The model and corpus exist, so that only the mistake can fail."""
    (d / "c.txt").write_text("a b c\nb c d\n", encoding="utf-8")
    if not lmplz(d / "c.txt", ["-o", "2", "--discount_fallback"], d / "m.arpa", d / "t"):
        return None
    program = rng.choice(sorted(PROGRAMS))
    model, out = str(d / "m.arpa"), str(d / "out.bin")
    valid = {
        "lmplz": ["-o", "2", "--discount_fallback"],
        "query": [model],
        "build_binary": [model, out],
    }[program]
    numeric = {
        "lmplz": ["-o", "--prune", "--vocab_estimate", "--vocab_pad"],
        "query": [],
        "build_binary": ["-p", "-q", "-b", "-a", "-u"],
    }[program]
    kind = rng.choice(["unknown-short", "unknown-long", "missing", "no-value", "not-a-number"])
    if kind == "unknown-short":
        args = [f"-{rng.choice('ZYXW')}", *valid]
    elif kind == "unknown-long":
        args = [f"--{rng.choice(['bogus', 'no_such_flag', 'orderr'])}", "1", *valid]
    elif kind == "missing":
        args = {"lmplz": [], "query": [], "build_binary": [model]}[program]
    elif kind == "no-value" and numeric:
        args = [*valid, rng.choice(numeric)]
    elif numeric:
        flag = rng.choice(numeric)
        # Not "" for build_binary: its C parsing reads an empty number as 0 (-u "" is log10
        # p(<unk>) = 0), which kneser refuses.
        args = [flag, rng.choice(["x", "1x"] if program == "build_binary" else ["x", "", "1x"])]
        args += valid[2:] if program == "lmplz" and flag == "-o" else valid
    else:
        return None
    want = subprocess.run(
        [str(BIN / program), *args], stdin=subprocess.DEVNULL, capture_output=True, cwd=d
    )
    Path(out).unlink(missing_ok=True)
    got = subprocess.run(
        [*KNESER, PROGRAMS[program], *args], stdin=subprocess.DEVNULL, capture_output=True, cwd=d
    )
    if want.returncode != got.returncode or b"Traceback" in got.stderr:
        return (
            f"{program} {' '.join(args)} ({kind}): KenLM exits {want.returncode}, kneser "
            f"{PROGRAMS[program]} {got.returncode}: {got.stderr.decode(errors='replace')[-300:]}"
        )
    return None


def abbrev_case(rng: random.Random, d: Path) -> str | None:
    """One to three of lmplz's long options given as random prefixes (boost's program_options
    takes any prefix of exactly one option for it, and refuses one that begins several) with
    valid values, to lmplz and to ``kneser build``: the same exit status and the same ARPA."""
    words = words_of(rng, "abcdef", 60)
    lines = [
        " ".join(rng.choices(words, k=rng.randint(0, 12))) for _ in range(rng.randint(20, 300))
    ]
    (d / "c.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (d / "v.txt").write_text(" ".join(words[: len(words) // 2]) + "\n", encoding="utf-8")
    values = {
        "interpolate_unigrams": ["0"],
        "skip_symbols": [],
        "vocab_pad": ["50"],
        "verbose_header": [],
        "renumber": [],
        "collapse_values": [],
        "prune": ["0", "1"],
        "limit_vocab_file": [str(d / "v.txt")],
        "discount_fallback": ["0.5", "1", "1.5"],
        "minimum_block": ["8K"],
        "sort_block": ["32M"],
        "block_count": ["2"],
        "vocab_estimate": ["100"],
    }
    # lmplz aborts on --renumber with --prune or --limit_vocab_file (see ``estimate``).
    picked = rng.sample(sorted(values), rng.randint(1, 3))
    if "renumber" in picked and {"prune", "limit_vocab_file"} & set(picked):
        return None
    args = ["-o", str(rng.randint(2, 4))]
    if "discount_fallback" not in picked:  # small corpora: no discount may fail
        args.append("--discount_fallback")
    for option in picked:
        args += [f"--{option[: rng.randint(1, len(option))]}", *values[option]]
    tmp = d / "t"
    tmp.mkdir(exist_ok=True)
    with (d / "c.txt").open("rb") as stdin:
        want = subprocess.run(
            [str(BIN / "lmplz"), "-S", "100M", "-T", f"{tmp}/", *args],
            stdin=stdin,
            capture_output=True,
        )
    with (d / "c.txt").open("rb") as stdin:
        got = subprocess.run(
            [*KNESER, "build", "-q", "-S", "100M", "-T", str(tmp), *args],
            stdin=stdin,
            capture_output=True,
        )
    if (want.returncode, want.stdout) != (got.returncode, got.stdout):
        (d / "lmplz.arpa").write_bytes(want.stdout)
        (d / "kneser.arpa").write_bytes(got.stdout)
        return (
            f"lmplz {' '.join(args)}: exit {want.returncode} against kneser's {got.returncode}"
            f"{'' if want.returncode != got.returncode else ', the ARPAs differ'}"
        )
    return None


def memory_case(rng: random.Random, d: Path) -> str | None:
    """build_binary's memory estimate (no output file) of an ARPA header with random counts
    (orders 2 to 6, up to about 10^10 n-grams an order: every unit, B to GB) under random -p,
    -q, -b, -a: ``kneser build-binary`` prints the same stderr and exits with the same status."""
    order = rng.randint(2, 6)
    scale = 10 ** rng.uniform(0, 10)
    counts = [max(rng.choice([0, 1]), int(scale * rng.uniform(0.1, 3))) for _ in range(order)]
    counts[0] = max(counts[0], 1)
    header = "\\data\\\n" + "".join(f"ngram {i + 1}={n}\n" for i, n in enumerate(counts))
    (d / "h.arpa").write_text(header + "\n", encoding="utf-8")
    flags: list[str] = []
    if rng.random() < 0.4:
        flags += ["-p", rng.choice(["1.01", "1.5", "2", "2.5", "4.75", "10"])]
    if rng.random() < 0.5:
        flags += ["-q", str(rng.randint(1, 25))]
        if rng.random() < 0.5:
            flags += ["-b", str(rng.randint(1, 25))]
    if rng.random() < 0.5:
        flags += ["-a", str(rng.choice([0, 1, 8, 22, 32, 64, 255]))]
    arpa = str(d / "h.arpa")
    want = subprocess.run([str(BIN / "build_binary"), *flags, arpa], capture_output=True)
    got = subprocess.run([*KNESER, "build-binary", *flags, arpa], capture_output=True)
    if (want.returncode, want.stderr) != (got.returncode, got.stderr):
        (d / "kenlm.err").write_bytes(want.stderr)
        (d / "kneser.err").write_bytes(got.stderr)
        return f"build_binary {' '.join(flags)} on counts {counts}: the estimates differ"
    return None


def jieba_cases(seed: int, cases: int) -> int:
    import jieba

    import kneser

    jieba.setLogLevel(60)
    seg, tok = kneser.Segmenter.jieba_default(), jieba.Tokenizer()
    tok.initialize()
    words = [w for w in list(tok.FREQ)[:20000] if tok.FREQ[w] > 0]
    extra = list(
        "abcXYZ019 .,!?\t\n\r-_'\"()（）。，、；：？！「」『』—…·%＄％＆"
        "１２３ＡＢＣ😀🎉é́̈\u3000\u00a0ﾃｽﾄ한국어ไทย"
    )
    rng, bad = random.Random(seed), 0
    for i in range(cases):
        s = "".join(
            rng.choice(words)
            if rng.random() < 0.6
            else "".join(rng.choices(extra, k=rng.randint(1, 4)))
            for _ in range(rng.randint(0, 12))
        )
        want, got = [
            (list(tok.cut(s, HMM=False)), list(seg.cut(s))),
            (list(tok.cut(s, cut_all=True)), list(seg.cut(s, cut_all=True))),
            (list(tok.cut_for_search(s, HMM=False)), list(seg.cut_for_search(s))),
            (list(tok.tokenize(s, HMM=False)), list(seg.tokenize(s))),
        ][i % 4]
        if want != got:
            bad += 1
            print(f"mode {i % 4}: {s!r}: jieba {want}, kneser {got}")
    return bad


def jieba_dict_cases(seed: int, cases: int, work: Path) -> int:
    """Random edits of the dictionary (add_word with and without a frequency, del_word,
    suggest_freq of words and of splits, tuned or not, load_userdict files), each followed by
    cuts in the four modes of texts made of the edited words: Segmenter against
    jieba.Tokenizer, with the suggested frequencies, FREQ.get and total."""
    import jieba

    import kneser

    jieba.setLogLevel(60)
    work.mkdir(parents=True, exist_ok=True)
    base = jieba.Tokenizer()
    base.initialize()
    common = [w for w in list(base.FREQ)[:30000] if base.FREQ[w] > 0]
    han = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自之着去"
    odd = ["New York", "C++", "3D打印", "α粒子", "ｅ时代", "Wi-Fi", "AT&T", "A股", "中 国", "x"]
    odd += ["乐", "百分之50", "2024年", "a.b", "50%", "#话题"]
    rng, bad = random.Random(seed), 0

    def word() -> str:
        c = rng.random()
        if c < 0.3:
            return rng.choice(common)
        if c < 0.6:
            return "".join(rng.choice(common) for _ in range(rng.randint(2, 3)))
        if c < 0.8:
            return "".join(rng.choice(han) for _ in range(rng.randint(1, 5)))
        return rng.choice(odd)

    for case in range(cases):
        tok, seg = jieba.Tokenizer(), kneser.Segmenter.jieba_default()
        tok.initialize()
        words = []
        for step in range(rng.randint(1, 8)):
            op, w = rng.random(), word()
            words.append(w)
            if op < 0.35:
                freq = rng.choice([None, 0, 1, 3, 50, 1000, 10**6, "7"])
                tok.add_word(w, freq)
                seg.add_word(w, freq)
                what = f"add_word({w!r}, {freq!r})"
            elif op < 0.5:
                tok.del_word(w)
                seg.del_word(w)
                what = f"del_word({w!r})"
            elif op < 0.85:
                tune = rng.random() < 0.7
                if rng.random() < 0.5 and len(w) > 1:
                    cut = rng.randint(1, len(w) - 1)
                    arg: object = (w[:cut], w[cut:])
                else:
                    arg = w
                want, got = tok.suggest_freq(arg, tune), seg.suggest_freq(arg, tune)
                what = f"suggest_freq({arg!r}, {tune})"
                if want != got:
                    bad += 1
                    print(f"{case}/{step}: {what}: jieba {want}, kneser {got}")
                    break
            else:
                lines = []
                for _ in range(rng.randint(1, 4)):
                    u = word()
                    words.append(u)
                    f = rng.choice(["", f" {rng.randint(1, 5000)}", f" {rng.randint(1, 99)} n",
                                    " nz", f"\t{rng.randint(1, 9)}", " 12 "])  # fmt: skip
                    lines.append(u + f)
                path = work / f"user{case}-{step}.txt"
                path.write_text("\n".join(lines) + "\n", encoding="utf-8")
                tok.load_userdict(str(path))
                seg.load_userdict(path)
                what = f"load_userdict({lines!r})"
            if tok.total != seg.total or any(tok.FREQ.get(x) != seg.word_freq(x) for x in words):
                bad += 1
                print(f"{case}/{step}: {what}: total or FREQ differ")
                break
            texts = [
                "".join(rng.choice([*words, *rng.sample(common, 3), "，", " ", "a1"])
                        for _ in range(rng.randint(1, 8)))
                for _ in range(5)
            ]  # fmt: skip
            for t in texts:
                pairs = [
                    (list(tok.cut(t, HMM=False)), list(seg.cut(t))),
                    (list(tok.cut(t, cut_all=True)), list(seg.cut(t, cut_all=True))),
                    (list(tok.cut_for_search(t, HMM=False)), list(seg.cut_for_search(t))),
                    (list(tok.tokenize(t, HMM=False)), list(seg.tokenize(t))),
                ]
                diff = [i for i, (a, b) in enumerate(pairs) if a != b]
                if diff:
                    bad += 1
                    print(f"{case}/{step} after {what}: mode {diff[0]} of {t!r}: "
                          f"jieba {pairs[diff[0]][0]}, kneser {pairs[diff[0]][1]}")  # fmt: skip
                    break
            else:
                continue
            break
    return bad


def ccnet_cases(seed: int, cases: int) -> int:
    from cc_net import text_normalizer

    import kneser

    pools = [
        "abcdefXYZ", "0123456789", " \t\n\r\x0b\x0c\u00a0\u2000\u3000",
        ".,;:!?'\"()[]{}<>-_/\\|@#$%^&*+=~`", "«»„“”‘’‹›–—…·•§¶†‡", "àéîõüçñÀÉÎÕÜÇÑ",
        "\u0301\u0308\u0327", "中文字符，。、；：？！「」『』（）【】",
        "ａｂｃＡＢＣ０１２３！＂＃＄％＆",
        "αβγΑΒΓ", "абвАБВ", "عربي", "हिन्दी", "😀🎉👍🏽", "\u200b\u200c\u200d\ufeff", "①②③⑴⑵",
        "™©®℃℉", "ﬁﬂ", "Ⅰ Ⅱ Ⅲ",
    ]  # fmt: skip
    ours = [
        (kneser.Normalizer.ccnet(), text_normalizer.normalize),
        (kneser.Normalizer.ccnet(punct=2), lambda s: text_normalizer.normalize(s, punct=2)),
        (kneser.Normalizer.ccnet_dedup(), text_normalizer.normalize_for_dedup),
    ]
    rng, bad = random.Random(seed), 0
    for _ in range(cases):
        s = "".join(rng.choice(rng.choice(pools)) for _ in range(rng.randint(0, 40)))
        for i, (norm, theirs) in enumerate(ours):
            if norm.normalize(s) != theirs(s):
                bad += 1
                print(f"preset {i}: {s!r}: cc_net {theirs(s)!r}, kneser {norm.normalize(s)!r}")
    return bad


def sentencepiece_cases(seed: int, cases: int, work: Path) -> int:
    import sentencepiece as spm

    import kneser

    pools = [
        "abcdefghij", "ABCDEF", "0123456789", "  \t\u3000\u00a0", ".,!?'\"-", "àéîõüçñ",
        "\u0301\u0308", "中文字符测试数据", "ａｂｃ１２３！", "αβγ", "абв", "😀🎉", "\u200b\ufeff",
        "①②", "ﬁﬂ", "한국어",
    ]  # fmt: skip
    rng = random.Random(seed)

    def text(n: int) -> str:
        return "".join(rng.choice(rng.choice(pools)) for _ in range(n))

    work.mkdir(parents=True, exist_ok=True)
    corpus = work / "train.txt"
    corpus.write_text("\n".join(text(rng.randint(5, 60)) for _ in range(3000)) + "\n")
    configs = [
        {"model_type": "unigram", "vocab_size": 300},
        {"model_type": "bpe", "vocab_size": 300},
        {"model_type": "unigram", "vocab_size": 300, "normalization_rule_name": "identity"},
        {"model_type": "unigram", "vocab_size": 300, "normalization_rule_name": "nfkc_cf"},
        {"model_type": "unigram", "vocab_size": 700, "byte_fallback": True},
        {"model_type": "bpe", "vocab_size": 700, "byte_fallback": True,
         "user_defined_symbols": ["<sep>", "ab"]},
        {"model_type": "bpe", "vocab_size": 300, "add_dummy_prefix": False,
         "remove_extra_whitespaces": False},
        {"model_type": "char", "vocab_size": 200},
        {"model_type": "word", "vocab_size": 200},
    ]  # fmt: skip
    bad = 0
    for i, config in enumerate(configs):
        prefix = work / f"m{i}"
        spm.SentencePieceTrainer.train(
            input=str(corpus), model_prefix=str(prefix), character_coverage=0.9995,
            minloglevel=2, hard_vocab_limit=False, **config,
        )  # fmt: skip
        theirs = spm.SentencePieceProcessor(model_file=f"{prefix}.model")
        ours = kneser.SentencePiece(f"{prefix}.model")
        for _ in range(cases):
            s = text(rng.randint(0, 50))
            want = (theirs.encode_as_pieces(s), theirs.encode_as_ids(s))
            got = (ours.encode_as_pieces(s), list(ours.encode_as_ids(s)))
            if want != got:
                bad += 1
                print(f"{config}: {s!r}: sentencepiece {want[0]}, kneser {got[0]}")
    return bad


def sentencepiece_hand_cases(seed: int, cases: int, work: Path) -> int:
    """Random models written by hand (``tests/test_sentencepiece.py``'s writer): a few pieces
    over a small alphabet, random types (normal, user-defined, unused, control), scores drawn
    to tie (small integers, -0.0 and 0.0) or not, unigram or BPE (now and then char or word),
    byte fallback, random normalizer and whitespace flags, nmt_nfkc's charsmap (from a model
    the sentencepiece package trains) or none; random texts of the alphabet, and a
    long one past the unigram score reset. Both refuse the model, or both give the same pieces
    and ids."""
    import sentencepiece as spm

    import kneser

    sys.path.insert(0, str(Path(__file__).parent))
    from test_sentencepiece import (
        BYTE,
        BYTES,
        CONTROL,
        NORMAL,
        UNKNOWN,
        UNUSED,
        USER,
        _charsmap,
        _model,
        train,
    )

    rng = random.Random(seed)
    work.mkdir(parents=True, exist_ok=True)
    # nmt_nfkc's rules, from a model the sentencepiece package trains (a third of the cases).
    nfkc = _charsmap(train(work, "nfkc", normalization_rule_name="nmt_nfkc").read_bytes())
    bad = refused = 0
    for case in range(cases):
        charsmap = nfkc if rng.random() < 0.3 else b""
        alphabets = ["ab", "abc", "abc\u2581", "ab\u4e2d", "ab "]
        alphabet = rng.choice(alphabets + ["aＡａ①", "fiﬁ ", "e\u0301é"] * bool(charsmap))
        texts: set[str] = set()
        while len(texts) < rng.randint(3, 40):
            texts.add("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4))))
        scores = [0.0, -0.0, -1.0, -2.0, -1.5, -3.0]
        pieces = [("<unk>", 0.0, UNKNOWN)]
        for t in sorted(texts, key=lambda _: rng.random()):
            kind = rng.choices([NORMAL, USER, UNUSED, CONTROL], [16, 1, 2, 1])[0]
            score = rng.choice(scores) if rng.random() < 0.6 else -rng.uniform(0, 12)
            pieces.append((t, score, kind))
        rng.shuffle(pieces)
        fallback = rng.random() < 0.2
        if fallback:
            pieces += [p for p in BYTES if p[0] not in texts]
        if rng.random() < 0.15:  # something sentencepiece may refuse
            i = rng.randrange(len(pieces))
            text, score, kind = pieces[i]
            pieces[i] = rng.choice(
                [
                    (text, float("nan"), kind),
                    (text, rng.choice([float("inf"), float("-inf")]), kind),
                    ("\0", score, rng.choice([UNUSED, NORMAL])),
                    (text + "\0", score, kind),
                    ("<0x41>", 0.0, BYTE),
                    ("<0x4a>", 0.0, BYTE),
                    ("a" * rng.choice([7999, 8000]), score, kind),
                ]
            )
            if rng.random() < 0.5:
                pieces.append((pieces[i][0], -1.0, rng.choice([NORMAL, CONTROL])))
        model_type = rng.choices([1, 2, 3, 4], [10, 10, 1, 1])[0]
        path = work / f"{seed}-{case}.model"
        names = ["add_dummy_prefix", "remove_extra_whitespaces", "escape_whitespaces"]
        names += ["treat_whitespace_as_suffix", "allow_whitespace_only_pieces"]
        flags = {name: rng.random() < 0.5 for name in names}
        path.write_bytes(_model(pieces, model_type, fallback, charsmap, **flags))
        try:
            theirs = spm.SentencePieceProcessor(model_file=str(path))
        except (RuntimeError, OSError) as e:
            try:
                kneser.SentencePiece(path)
            except kneser.FormatError:
                refused += 1
                continue
            bad += 1
            print(f"{path}: sentencepiece refuses it ({e}), kneser loads it")
            continue
        try:
            ours = kneser.SentencePiece(path)
        except kneser.FormatError as e:
            bad += 1
            print(f"{path}: kneser refuses it ({e}), sentencepiece loads it")
            continue
        pool = alphabet + "  "
        samples = ["".join(rng.choice(pool) for _ in range(rng.randint(0, 40))) for _ in range(30)]
        samples.append("".join(rng.choice(pool) for _ in range(30_000)))
        for s in samples:
            want = (theirs.encode_as_pieces(s), theirs.encode_as_ids(s))
            got = (ours.encode_as_pieces(s), list(ours.encode_as_ids(s)))
            if want != got:
                bad += 1
                print(f"{path}: {s[:60]!r}: sentencepiece {want[0][:12]}, kneser {got[0][:12]}")
                break
    print(f"{refused} of {cases} models refused by both")
    return bad


def ccnet_doc_case(rng: random.Random, d: Path) -> str | None:
    """One CCNet lm_dir (one or two languages, each a SentencePiece model of a random kind and a
    lmplz model of its pieces in a random layout), a cutoff.csv, random documents: kneser's
    CCNet pipeline against cc_net's MultiSentencePiece, DocLM and PerplexityBucket."""
    import copy
    import json
    import logging

    import sentencepiece as spm
    from cc_net import perplexity, text_normalizer

    logging.disable(logging.INFO)

    import kneser

    pools = [
        "abcdefghij", "klmnop", "ABCDEF", "0123456789", "  \t\u3000\u00a0\u2028\x85\x0b",
        ".,!?'\"-()", "«»“”–—…", "àéîõüçñ", "\u0301\u0308", "中文字符测试数据",
        "ａｂｃ１２３！", "αβγ", "абв", "😀🎉", "\u200b\ufeff", "①②", "ﬁﬂ", "<s></s><unk>",
    ]  # fmt: skip

    def text(n: int) -> str:
        return "".join(rng.choice(rng.choice(pools[:4] * 4 + pools)) for _ in range(n))

    lm_dir = d / "lm_sp"
    lm_dir.mkdir()
    langs = rng.sample(["en", "fr", "zh"], rng.randint(1, 2))
    layouts = {}
    for lang in langs:
        lines = [text(rng.randint(3, 80)) for _ in range(rng.randint(200, 1500))]
        norm = d / f"{lang}.norm.txt"
        norm.write_text("\n".join(text_normalizer.normalize(t) for t in lines) + "\n")
        config = rng.choice(
            [
                {"model_type": "unigram"},
                {"model_type": "bpe"},
                {"model_type": "unigram", "normalization_rule_name": "identity"},
                {"model_type": "bpe", "byte_fallback": True},
                {"model_type": "char"},
                {"model_type": "unigram", "add_dummy_prefix": False},
            ]
        )
        prefix = lm_dir / lang
        try:
            spm.SentencePieceTrainer.train(
                input=str(norm), model_prefix=str(prefix), vocab_size=rng.choice([300, 600]),
                character_coverage=rng.choice([1.0, 0.9995]), hard_vocab_limit=False,
                minloglevel=2, num_threads=1, **config,
            )  # fmt: skip
        except RuntimeError:  # too many characters for the vocabulary: not a case
            return None
        (lm_dir / f"{lang}.vocab").unlink()
        sp = spm.SentencePieceProcessor(model_file=f"{prefix}.model")
        (lm_dir / f"{lang}.model").rename(lm_dir / f"{lang}.sp.model")
        pieces = d / f"{lang}.pieces.txt"
        normalized = norm.read_text().split("\n")[:-1]
        pieces.write_text("".join(" ".join(sp.encode_as_pieces(t)) + "\n" for t in normalized))
        arpa = d / f"{lang}.arpa"
        order = rng.randint(2, 5)
        if not lmplz(pieces, ["-o", str(order), "--discount_fallback"], arpa, d / "tmp"):
            return None
        layout = rng.choice(["arpa", "probing", "trie", "trie -q 8 -b 7 -a 22"])
        layouts[lang] = f"o{order} {layout} {config}"
        target = lm_dir / f"{lang}.arpa.bin"
        if layout == "arpa":
            shutil.copy(arpa, target)
        else:
            build = [str(BIN / "build_binary"), *layout.split()[1:], layout.split()[0]]
            r = subprocess.run([*build, str(arpa), str(target)], capture_output=True)
            if r.returncode:
                return f"build_binary failed: {r.stderr.decode()[-300:]}"
    seps = ["\n", "\n", "\n\n", " \n", "\n  \t", "\r\n", "\u2028", "\x85", " ", "\t"]
    docs = []
    for i in range(rng.randint(50, 400)):
        # Now and then a document long enough for SentencePiece's score reset.
        k = rng.randint(1000, 3000) if rng.random() < 0.02 else rng.randint(0, 6)
        body = [text(rng.randint(0, 60)) for _ in range(k)]
        doc = {
            "url": str(i),
            "raw_content": "".join(x + rng.choice(seps) for x in body)[:-1]
            if body and rng.random() < 0.8
            else "".join(x + rng.choice(seps) for x in body),
        }
        r = rng.random()
        if r < 0.85:
            doc["language"] = rng.choice(langs)
        elif r < 0.9:
            doc["language"] = rng.choice(["de", langs[0].upper(), f" {langs[0]}", 5])
        elif r < 0.95:
            doc["language"] = None
        docs.append(doc)

    def ccnet(cutoff: Path | None, head: int, tail: int) -> list[dict]:
        steps = [
            perplexity.MultiSentencePiece(
                {x: lm_dir / f"{x}.sp.model" for x in langs}, field="raw_content",
                output_field="tokenized", normalize=True,
            ),
            perplexity.DocLM(
                {x: lm_dir / f"{x}.arpa.bin" for x in langs}, field="tokenized",
                output_field="perplexity", normalize=False,
            ),
        ]  # fmt: skip
        if cutoff is not None:
            steps.append(perplexity.PerplexityBucket(cutoff, head, tail))
        steps.append(perplexity.DropKeys("tokenized"))
        saved = os.dup(2)  # the kenlm module prints its ARPA loading progress
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)
        try:
            for step in steps:
                step.__enter__()
        finally:
            os.dup2(saved, 2)
        out = []
        for doc in copy.deepcopy(docs):
            for step in steps:
                doc = step(doc)
            out.append(doc)
        for step in reversed(steps):
            step.__exit__(None, None, None)
        return out

    unbucketed = ccnet(None, 30, 60)
    cutoff = d / "cutoff.csv"
    cols = {}
    for lang in rng.sample(langs, rng.randint(1, len(langs))):
        ppl = sorted(x["perplexity"] for x in unbucketed if x.get("language") == lang
                     and "perplexity" in x) or [1.0]  # fmt: skip
        cols[lang] = [ppl[min(len(ppl) - 1, len(ppl) * p // 100)] for p in range(101)]
        if rng.random() < 0.3:  # out of order
            cols[lang] = [round(rng.uniform(1, 2 * ppl[-1]), rng.randint(0, 3)) for _ in range(101)]
        if rng.random() < 0.2:  # NaN cells as pandas writes them, and as it reads "nan"
            cols[lang] = [rng.choice(["", "nan", c]) for c in cols[lang]]
    rows = ["," + ",".join(cols)] + [f"{p}," + ",".join(str(c[p]) for c in cols.values())
                                     for p in range(101)]  # fmt: skip
    cutoff.write_text("\n".join(rows) + "\n")
    head, tail = (30, 60) if rng.random() < 0.5 else rng.sample(range(101), 2)
    want = ccnet(cutoff, head, tail)
    inputs, out = d / "docs.jsonl", d / "out.jsonl"
    inputs.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in docs))
    try:
        kneser.Pipeline.ccnet(lm_dir, cutoff, percentile_head=head, percentile_tail=tail).run(
            inputs, out
        )
    except Exception as e:
        return f"kneser raised {type(e).__name__}: {e} ({layouts})"
    got = [json.loads(x) for x in out.read_text().split("\n")[:-1]]
    if len(got) != len(want):
        return f"{len(got)} documents out of {len(want)} ({layouts})"
    for g, w in zip(got, want):
        if g != w:
            return f"cc_net {w}, kneser {g} ({layouts}, head {head}, tail {tail})"
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sweeps = ["estimate", "binary", "query", "arpa", "kenlm", "jieba", "ccnet", "sentencepiece"]
    sweeps += ["ccnet-doc", "jieba-dict", "usage", "memory", "abbrev", "sentencepiece-hand"]
    ap.add_argument("sweep", choices=sweeps)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--open-end", action="store_true", help="estimate: no final newline, pruned")
    ap.add_argument("--binary", action="store_true", help="estimate: KenLM's binary, not ARPA")
    ap.add_argument("--shards", action="store_true", help="estimate: kneser count, --from-counts")
    ap.add_argument("--texts", action="store_true", help="estimate: kneser.estimate(texts=...)")
    ap.add_argument(
        "--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "kneser-sweep"
    )
    args = ap.parse_args()
    if args.sweep == "sentencepiece":
        bad = sentencepiece_cases(args.seed, args.cases, args.work / "sentencepiece")
        print(f"{bad} of {args.cases} strings per model differ")
        return int(bad > 0)
    if args.sweep == "sentencepiece-hand":
        bad = sentencepiece_hand_cases(args.seed, args.cases, args.work / "sentencepiece-hand")
        print(f"{bad} of {args.cases} models differ")
        return int(bad > 0)
    if args.sweep == "jieba-dict":
        bad = jieba_dict_cases(args.seed, args.cases, args.work / "jieba-dict")
        print(f"{bad} of {args.cases} dictionaries differ")
        return int(bad > 0)
    if args.sweep in ("jieba", "ccnet"):
        bad = (jieba_cases if args.sweep == "jieba" else ccnet_cases)(args.seed, args.cases)
        print(f"{bad} of {args.cases} differ")
        return int(bad > 0)
    if not (BIN / "lmplz").exists():
        print(f"KenLM is not built at {BIN}: run ../shared/tools/build-kenlm.sh", file=sys.stderr)
        return 2
    bad = 0
    for seed in range(args.seed, args.seed + args.cases):
        d = args.work / args.sweep / str(seed)
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        rng = random.Random(seed)
        if args.sweep == "estimate":
            found = estimate_case(rng, d, args.open_end, args.binary, args.shards, args.texts)
        else:
            found = {
                "binary": binary_case,
                "query": query_case,
                "arpa": arpa_case,
                "kenlm": kenlm_case,
                "ccnet-doc": ccnet_doc_case,
                "usage": usage_case,
                "memory": memory_case,
                "abbrev": abbrev_case,
            }[args.sweep](rng, d)
        if found:
            bad += 1
            print(f"{seed}: {found} (files in {d})")
        else:
            shutil.rmtree(d)
    print(f"{bad} of {args.cases} differ")
    return int(bad > 0)


if __name__ == "__main__":
    sys.exit(main())
