"""Put the diacritics back on a question typed without them, using the reports' own words.

Search does not need this (the lexical index has an accent-folded field), but a small LLM does: asked
"nam 2022 tinh chi dao khan truong dua mo sat nao vao khai thac?", a 1.5B model misreads the question or
copies it back without marks. Each folded word pair (then word) is mapped to its most frequent accented
spelling in the indexed passages, with a short list of question words the reports rarely use.

Example: ``AccentRestorer(["Sản lượng điện sản xuất đạt 1.200 triệu kWh"])``
``.restore("san luong dien dat bao nhieu")`` -> ``"sản lượng điện đạt bao nhiêu"``
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict

from .text import QUESTION_PHRASES, fold, has_diacritics

_WORD = re.compile(r"[^\W\d_]+")

# Question words: frequent in questions, rare in reports (so the corpus cannot teach them).
QUESTION_WORDS = QUESTION_PHRASES + ["nào", "gì", "của", "được", "những", "là", "có", "không", "đã", "và",
                                     "đến", "tính đến", "so với", "cùng kỳ", "tỉnh", "năm"]


class AccentRestorer:
    """Built once over the index's passages; then O(words) per question."""

    def __init__(self, texts: list[str]):
        """``texts`` are cleaned passages (already NFC with canonical tone marks)."""
        pairs: dict[str, Counter] = defaultdict(Counter)
        singles: dict[str, Counter] = defaultdict(Counter)
        folded: dict[str, str] = {}
        for text in texts:
            words = _WORD.findall(text.lower())
            keys = [folded.get(w) or folded.setdefault(w, fold(w)) for w in words]
            for i in range(len(words) - 1):
                pairs[f"{keys[i]} {keys[i + 1]}"][f"{words[i]} {words[i + 1]}"] += 1
            for w, k in zip(words, keys):
                singles[k][w] += 1
        big = 10**6  # a question's own words win over the corpus
        for phrase in QUESTION_WORDS:
            ws = phrase.split()
            for a, b in zip(ws, ws[1:]):
                pairs[f"{fold(a)} {fold(b)}"][f"{a} {b}"] += big
            if len(ws) == 1:
                singles[fold(phrase)][phrase] += big
        self._pair_counts = pairs
        # (accented form, its count): pairs are applied most frequent first
        self.pairs = {k: c.most_common(1)[0] for k, c in pairs.items()}
        self.singles = {k: c.most_common(1)[0][0] for k, c in singles.items()}

    def _in_context(self, left: str | None, word: str, right: str | None) -> str | None:
        """The spelling of ``word`` seen most often next to its already accented neighbours."""
        votes: Counter = Counter()
        if left:
            for pair, n in self._pair_counts.get(f"{fold(left)} {word}", {}).items():
                a, b = pair.split()
                if a == left:
                    votes[b] += n
        if right:
            for pair, n in self._pair_counts.get(f"{word} {fold(right)}", {}).items():
                a, b = pair.split()
                if b == right:
                    votes[a] += n
        return votes.most_common(1)[0][0] if votes else None

    def restore(self, text: str) -> str:
        """The text with each accentless word replaced by its accented form; unknown words stay as typed."""
        if has_diacritics(text):
            return text
        spans = [(m.start(), m.end(), m.group(0)) for m in _WORD.finditer(text)]
        out = [w for _, _, w in spans]
        done = [False] * len(spans)
        candidates = []  # word pairs first, the most frequent spelling first: "dau tu" -> "đầu tư"
        for i in range(len(spans) - 1):
            key = f"{spans[i][2].lower()} {spans[i + 1][2].lower()}"
            if key in self.pairs and text[spans[i][1]:spans[i + 1][0]].strip() == "":
                candidates.append((-self.pairs[key][1], i, self.pairs[key][0]))
        for _, i, accented in sorted(candidates):
            if not (done[i] or done[i + 1]):
                a, b = accented.split()
                out[i], out[i + 1] = _like(spans[i][2], a), _like(spans[i + 1][2], b)
                done[i] = done[i + 1] = True
        for i, (_, _, w) in enumerate(spans):  # the rest: by their neighbours, else their usual spelling
            if done[i]:
                continue
            left = out[i - 1].lower() if i > 0 and done[i - 1] else None
            right = out[i + 1].lower() if i + 1 < len(spans) and done[i + 1] else None
            best = self._in_context(left, w.lower(), right) or self.singles.get(w.lower())
            if best:
                out[i] = _like(w, best)
        pieces, last = [], 0
        for (start, end, _), word in zip(spans, out):
            pieces += [text[last:start], word]
            last = end
        return "".join(pieces) + text[last:]


    def respell_names(self, text: str, ratio: int = 5) -> tuple[str, list[str]]:
        """Names (capitalised word pairs) spelled as the reports spell them most often, with a note per change.

        PDF extraction drops a mark now and then ("xã Tan Lập" once, "Tân Lập" twenty times): an answer that
        copies the rare spelling gets the usual one. Only a spelling ``ratio`` times rarer than the usual one
        changes; the folded name (what grounding checks) stays the same.
        Example: ``AccentRestorer(["xã Tân Lập"] * 5 + ["xã Tan Lập"]).respell_names("xã Tan Lập")[0]``
        -> ``"xã Tân Lập"``
        """
        spans = [(m.start(), m.end(), m.group(0)) for m in _WORD.finditer(text)]
        fixes: list[tuple[int, int, str]] = []
        for (s1, e1, a), (s2, e2, b) in zip(spans, spans[1:]):
            if not (a[:1].isupper() and b[:1].isupper()) or text[e1:s2] != " " or (fixes and fixes[-1][1] > s1):
                continue
            counts = self._pair_counts.get(f"{fold(a)} {fold(b)}")
            typed = f"{a.lower()} {b.lower()}"
            if not counts:
                continue
            usual, n = counts.most_common(1)[0]
            if usual != typed and n >= ratio * max(counts.get(typed, 0), 1):
                x, y = usual.split()
                fixes.append((s1, e2, f"{_like(a, x)} {_like(b, y)}"))
        notes = [f"respelled {text[s:e]!r} as the reports usually do: {new!r}" for s, e, new in fixes]
        for s, e, new in reversed(fixes):
            text = text[:s] + new + text[e:]
        return text, notes


def _like(typed: str, accented: str) -> str:
    """Keep the typed capitalisation: "Cao" -> "Cao", "COVID" -> "COVID", "ha" -> "hà"."""
    if typed.isupper() and len(typed) > 1:
        return accented.upper()
    if typed[:1].isupper():
        return accented[:1].upper() + accented[1:]
    return accented
