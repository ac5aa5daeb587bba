"""Checks in code, after generation, that an answer is supported by the passages it was shown.

A small model cites passages it never saw, invents figures and never abstains on its own, so:
citations must point at shown passages; every number in the answer must appear in a cited passage
(or the question); key terms of the question (years, names) must be in the evidence, or we abstain.

Example: ``check_answer("Đạt 1.790 tỷ đồng [1].", "…", passages).supported`` -> True when [1] says 1.790
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .text import canonical_tones, fold, numbers_in, tokenize
from .types import Chunk

_CITE = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_REFUSAL_HINTS = ("khong tim thay", "khong co thong tin", "khong de cap", "khong neu", "khong duoc neu",
                  "khong co du lieu", "chua co thong tin")
_SENT = re.compile(r"[^.;!?\n]+(?:[.;!?]+|$)")
# Generic words in questions that say nothing about which passage answers them.
_GENERIC = set(fold(w) for w in """
tỉnh thành phố cao bằng năm đạt bao nhiêu là của theo báo cáo và tăng giảm so với trong các những ước
tính đến hết ngày tháng toàn được có nào gì thế như hiện kết quả thực hiện số tổng cộng lượt phần trăm
""".split())


def citations_in(text: str) -> list[int]:
    out = []
    for m in _CITE.finditer(text):
        out += [int(x) for x in re.split(r"\s*[,;]\s*", m.group(1))]
    return out


def strip_citations(text: str) -> str:
    return re.sub(r"\s*" + _CITE.pattern, "", text)


def looks_like_refusal(text: str) -> bool:
    f = fold(text)
    return any(h in f for h in _REFUSAL_HINTS)


@dataclass
class GroundingResult:
    cited: list[int]  # valid citation numbers, in order of first use
    invalid: list[int] = field(default_factory=list)  # cited but never shown
    unsupported_numbers: list[str] = field(default_factory=list)
    supported: bool = True
    auto_cited: list[int] = field(default_factory=list)  # added because the numbers live there


def _answer_numbers(text: str) -> set[str]:
    return numbers_in(strip_citations(text))


def check_answer(answer: str, question: str, passages: list[Chunk]) -> GroundingResult:
    """Validate citations and numbers of ``answer`` against the numbered ``passages`` (1-based)."""
    shown = set(range(1, len(passages) + 1))
    cites = citations_in(answer)
    valid = list(dict.fromkeys(n for n in cites if n in shown))
    invalid = sorted({n for n in cites if n not in shown})
    nums = _answer_numbers(answer) - numbers_in(question)
    pnums = {n: numbers_in(p.text) for n, p in zip(range(1, len(passages) + 1), passages)}
    result = GroundingResult(cited=valid, invalid=invalid)
    # The model often forgets to cite: cite the passages that hold its numbers.
    if nums and not valid:
        best = sorted(shown, key=lambda n: -len(nums & pnums[n]))
        if best and nums & pnums[best[0]]:
            result.auto_cited = [best[0]]
            result.cited = [best[0]]
    evidence = set().union(*(pnums[n] for n in result.cited)) if result.cited else set()
    missing = sorted(n for n in nums if n not in evidence)
    # A number absent from the cited passages but present in another shown one: cite that one too.
    for n in list(missing):
        for p in shown:
            if n in pnums[p]:
                if p not in result.cited:
                    result.cited.append(p)
                    result.auto_cited.append(p)
                missing.remove(n)
                break
    result.unsupported_numbers = missing
    result.supported = not missing
    return result


def key_terms(question: str) -> list[str]:
    """Question terms that evidence must contain: years, other numbers, and names (capitalised words)."""
    terms = [m for m in re.findall(r"\b(?:19|20)\d{2}\b", question)]
    body = re.sub(r"^\W*\w+", "", question)  # the first word is capitalised anyway
    for m in re.finditer(r"(?<![\w])([A-ZĐ][\w]*(?:\s+[A-ZĐ][\w]*)*)", body):
        name = m.group(1)
        if fold(name) in ("cao bang",) or all(fold(w) in _GENERIC for w in name.split()):
            continue
        if name.isupper() and len(name) <= 5:  # acronyms are handled by the abbreviation table
            continue
        terms.append(name)
    return terms


def missing_key_terms(question: str, evidence: str) -> list[str]:
    """Key terms of the question found nowhere in the evidence text (compared accent-folded)."""
    ev = fold(canonical_tones(evidence))
    out = []
    for t in key_terms(question):
        ft = fold(t)
        if re.fullmatch(r"\d{4}", ft):
            if not re.search(rf"(?<!\d){ft}(?!\d)", ev):
                out.append(t)
        elif ft not in ev:
            out.append(t)
    return out


def topic_coverage(question: str, passage_text: str) -> float:
    """Share of the question's topical syllables (folded, generic words removed) present in a passage."""
    q = [t for t in tokenize(question, folded=True) if t not in _GENERIC and not t.isdigit()]
    if not q:
        return 1.0
    p = set(tokenize(passage_text, folded=True))
    return sum(t in p for t in q) / len(q)


def supporting_span(passage: str, answer: str) -> tuple[int, int] | None:
    """The sentence of ``passage`` that best supports ``answer`` (shared numbers first, then words)."""
    a_nums = _answer_numbers(answer)
    a_words = set(tokenize(strip_citations(answer), folded=True))
    best, best_score = None, 0.0
    for m in _SENT.finditer(passage):
        sent = m.group(0)
        if not sent.strip():
            continue
        score = 3 * len(a_nums & numbers_in(sent)) + len(a_words & set(tokenize(sent, folded=True))) / 10
        if score > best_score:
            best, best_score = (m.start(), m.end()), score
    return best
