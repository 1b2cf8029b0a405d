"""lmplz's count-of-counts and discounts, recomputed in plain Python from its documented rules.

An independent oracle for `kneser.estimate`'s reported discounts: no kneser code is used. The
rules (Chen and Goodman 1998 sec. 3.3, eq. 26; Heafield et al. 2013; KenLM's
`lm/builder/adjust_counts.cc`, read, not copied):

* a line is split on lmplz's separators (space, tab, CR, LF, NUL); a sentence is
  `<s> w1 .. wm </s>`; ids are `<unk>`=0, `<s>`=1, `</s>`=2, then words by first appearance;
* the top-order windows are the N words ending at each position after `<s>`, left-padded with
  `<s>`; an n-gram is real when `<s>` appears in it only first;
* the adjusted count of an order-k n-gram is its raw count when k = N or it starts with `<s>`,
  else the number of distinct real (k+1)-grams that end with it;
* count-of-counts n1..n4 per order take every real n-gram's adjusted count, except that the
  last n-gram of each lower order in suffix order (compare the last word first), the one lmplz
  still holds when its stream ends, enters with its raw count (the end-of-stream rule);
* D_j = j - (j+1) Y n_{j+1} / n_j with Y = n1 / (n1 + 2 n2), in single precision as lmplz
  computes it; an order with n_j = 0 (j = 1..3) or a D_j outside [0, j] takes the fallback.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

SEPARATORS = " \t\r\n\0"
BOS, EOS = 1, 2
FALLBACK = (0.5, 1.0, 1.5)


def lmplz_split(line: str) -> list[str]:
    out, cur = [], []
    for ch in line:
        if ch in SEPARATORS:
            if cur:
                out.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur))
    return out


def sentences(lines: list[str]) -> list[list[int]]:
    """Every line as ids `<s> .. </s>` (the lines are whole lines: each ends its sentence)."""
    ids: dict[str, int] = {"<unk>": 0, "<s>": 1, "</s>": 2}
    out = []
    for line in lines:
        sent = [BOS]
        for w in lmplz_split(line):
            sent.append(ids.setdefault(w, len(ids)))
        sent.append(EOS)
        out.append(sent)
    return out


def count_of_counts(lines: list[str], order: int, end_of_stream: bool = True) -> list[list[int]]:
    """n[k-1] = [n0, n1, n2, n3, n4] for each order k (n0 unused); `end_of_stream=False`
    leaves out lmplz's end-of-stream rule (to show that it matters)."""
    n = order
    windows: Counter[tuple[int, ...]] = Counter()
    for sent in sentences(lines):
        padded = [BOS] * (n - 1) + sent
        for i in range(n, len(padded)):
            windows[tuple(padded[i - n + 1 : i + 1])] += 1
    if n == 1:
        raw1 = Counter({w: c for w, c in windows.items()})
        stats = [0] * 5
        for c in raw1.values():
            if c < 5:
                stats[c] += 1
        return [stats]

    def real(gram: tuple[int, ...]) -> bool:
        return BOS not in gram[1:]

    raw: list[Counter[tuple[int, ...]]] = [Counter() for _ in range(n + 1)]
    for win, c in windows.items():
        for k in range(1, n + 1):
            g = win[n - k :]
            if real(g):
                raw[k][g] += c
    extensions: list[Counter[tuple[int, ...]]] = [Counter() for _ in range(n + 1)]
    for k in range(2, n + 1):
        for g in raw[k]:
            extensions[k - 1][g[1:]] += 1
    last = max(windows, key=lambda w: w[::-1])
    result = []
    for k in range(1, n + 1):
        stats = [0] * 5
        for g, r in raw[k].items():
            if k == n or g[0] == BOS:
                c = r
            else:
                c = extensions[k][g]
            if end_of_stream and k < n and g == last[n - k :]:
                c = r  # the end-of-stream rule
            if c < 5:
                stats[c] += 1
        result.append(stats)
    return result


def discounts(stats: list[int]) -> tuple[float, float, float] | None:
    """D1, D2, D3+ as lmplz computes them, or None when the order needs the fallback."""
    f = np.float32
    if any(stats[j] == 0 for j in (1, 2, 3)):
        return None
    y = f(stats[1]) / f(float(stats[1]) + 2.0 * float(stats[2]))
    out = []
    for j in (1, 2, 3):
        d = f(j) - f(j + 1) * y * f(stats[j + 1]) / f(stats[j])
        if d < 0 or d > j:
            return None
        out.append(float(d))
    return (out[0], out[1], out[2])


def expected_discounts(
    lines: list[str], order: int, end_of_stream: bool = True
) -> list[tuple[float, float, float] | None]:
    return [discounts(s) for s in count_of_counts(lines, order, end_of_stream)]
