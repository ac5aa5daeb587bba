"""Meaning checks: is a sentence about what the question asks, not merely holding its digits?

A figure copied from a real sentence can still be the wrong answer: "giảm 4%" is a change, not the poverty rate
asked; public investment is not total social investment; a city report's figure is not the province's; a
target is not a result. A sentence may support the model's line, or be quoted, only when it passes each check
of ``VerifyPolicy.meaning_checks``, each a unit with a verdict (rag/verify.py):

- ``indicator``: it holds enough of the question's topic terms (idf-weighted, with its section heading and the
  sentence before it), and names no qualifier that excludes the one asked ("đầu tư công" for "toàn xã hội",
  "nội địa" for "quốc tế": the vocabulary file's ``contrasts``; acronyms expanded) unless it names that one too;
- ``level``: a question naming a level (tỉnh / thành phố / huyện) is answered from a report of that level, or
  by a sentence that names it;
- ``period``: one of the years asked is stated by the sentence, its heading or its report's title and date; and
  a question asking the whole year ("ước cả năm 2021") is not answered by a sentence stating part of it ("đến ngày
  31/10/2021 đạt …"), nor one asking part of a year ("6 tháng đầu năm") by the whole year's ("ước cả năm");
- ``kind``: a figure asked as a level is not one the sentence states as a change ("giảm 4%") or as a plan
  ("chỉ tiêu 85%"), unless the question asks for a change or a plan.

Example: ``check_sentence(read_question("Tỷ lệ hộ nghèo năm 2021 là bao nhiêu?", reranker),
Sentence("Năm 2021 tỷ lệ hộ nghèo giảm 4%."), line="Tỷ lệ hộ nghèo đạt 4% [1].")`` -> a ``kind`` verdict rejecting with code
``change``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .evidence import asked_level, levels_named
from .grounding import NEGATED, YEAR, asked_years, asks_plan, strip_citations, years_named
from .rerank import terms_of
from .text import SENTENCE, canonical_tones, fold, has_diacritics, normalize_number, split_source_phrase
from .verify import DEFAULT_VERIFY, Verdict, VerifyPolicy, first_rejection
from .vocabulary import VOCABULARY

_CONTRAST_OF = {fold(q.lower()): i for i, group in enumerate(VOCABULARY.contrasts) for q in group}
_QUALIFIER = re.compile(r"(?<!\w)(?:" + "|".join(sorted(map(re.escape, _CONTRAST_OF), key=len, reverse=True))
                        + r")(?!\w)") if _CONTRAST_OF else None
_ABBREVIATIONS = [(re.compile(r"(?<![\w-])" + re.escape(a) + r"(?![\w-])"), text)
                  for a, text in VOCABULARY.abbreviations.items()]
# a question asking how something changed, not what it came to; with its marks when it has them ("hạ tầng" and
# "giám đốc" fold onto "tăng" and "giảm")
_CHANGE_WORDS = "tăng|giảm|thay đổi|biến động|so với|chênh lệch|cao hơn|thấp hơn|vượt|âm"
_ASKS_CHANGE = re.compile(rf"(?<!\w)(?:{_CHANGE_WORDS})(?!\w)", re.I)
_ASKS_CHANGE_FOLDED = re.compile(rf"(?<!\w)(?:{fold(_CHANGE_WORDS)})(?!\w)")
# folded, right before a figure: "giảm 4%", "tăng bình quân 6,5%", "tăng thêm 12 xã" state a change
# ("giảm còn 39,76%", "tăng lên 500" state where it came to: not matched)
_CHANGE_BEFORE = re.compile(r"\b(?:tang|giam)(?:\s+truong)?(?:\s+(?:them|binh quan|khoang|duoc|gan|tren|hon|"
                            r"so voi cung ky|moi nam))*\s*$")
# folded, up to three words before a figure: "chỉ tiêu (đề ra là) 85%", "kế hoạch giao 4.700", "phấn đấu đạt 90%"
_PLAN_BEFORE = re.compile(r"\b(?:ke hoach|kh|chi tieu|muc tieu|phan dau|du kien|du toan)\b(?:\W+\w+){0,3}\W*$")
_FIGURE = re.compile(r"(?<![\d.,/])\d+(?:[.,]\d+)*(?![\d/])")
# folded, at the head of a sentence (after a list mark): "Phấn đấu lượt khách đạt 1 triệu; doanh thu đạt 125 tỷ đồng"
# states every figure of it as a target, however far from the plan word
_PLAN_LEAD = re.compile(r"^\W*(?:[a-z]\)|\d+(?:\.\d+)*[.)])?\s*(?:phan dau|du kien|muc tieu)\b")
# folded: a figure of the whole year ("ước cả năm", "ước thực hiện năm 2021", "cả năm 2021"); a bare "năm 2021" says
# neither
_WHOLE_YEAR = re.compile(r"\b(?:ca nam|uoc (?:thuc hien |tinh )?nam)\b")
# folded: a figure of part of a year: "10 tháng đầu năm", "9 tháng năm 2021", "6 tháng cuối năm", "quý III/2021",
# "nửa đầu năm", "(tính) đến ngày 31/10/2021", "đến hết tháng 8/2025", a sentence opening "Tháng 10/2021"; the
# year's end ("đến 31/12", "tháng 12") is not a part
_PART_YEAR = re.compile(r"\b(?:\d{1,2} thang (?:dau |cuoi )?nam|\d{1,2} thang (?:nam )?(?:19|20)\d\d|"
                        r"quy (?:i{1,3}|iv|[1-4])\b|nua (?:dau|cuoi) nam|"
                        r"den (?:het )?(?:ngay )?(?:\d{1,2}/(?!12\b)\d{1,2}\b|thang (?!12\b)\d{1,2}\b))"
                        r"|^\W*(?:trong )?thang (?!12\b)\d{1,2}/(?:19|20)\d\d")


@dataclass(frozen=True)
class Asked:
    """What a question asks, read once: its topic terms (folded, with idf), the qualifiers of its indicator, the level
    it names, the years and periods it names, whether it asks for a plan or a change, and whether it asks the whole
    year or a part of it (``span_of``)."""
    terms: dict[str, float]
    qualifiers: tuple[str, ...]
    level: str
    years: frozenset[str]
    periods: tuple[frozenset[str], ...]
    plan: bool
    change: bool
    span: str


def qualifiers_in(text: str) -> set[str]:
    """The vocabulary's contrasting qualifiers a text names (folded, longest first: "xuất nhập khẩu" is not
    "nhập khẩu"), acronyms expanded."""
    if _QUALIFIER is None:
        return set()
    return set(_QUALIFIER.findall(fold(canonical_tones(expand_abbreviations(text)).lower())))


def read_question(question: str, reranker) -> Asked:
    """``reranker`` (rag/rerank.py) gives the idf of the question's terms over the indexed passages. The phrase naming
    the report ("Theo báo cáo … tháng 12/2021,") is not the indicator asked: its words and years are left out."""
    content = split_source_phrase(question)[0]
    single, periods = asked_years(content)
    return Asked(reranker.topic_terms(content), tuple(sorted(qualifiers_in(content))), asked_level(question),
                 frozenset(single), tuple(frozenset(p) for p in periods), asks_plan(question),
                 asks_change(content), span_of(NEGATED.sub(" ", content)))


def span_of(text: str) -> str:
    """Which part of a year a text states its figures for: "year" (the whole year: "ước cả năm"), "part" ("10 tháng
    đầu năm", "đến ngày 31/10/2021", "quý III") or "" when it says neither, or both ("10 tháng đạt …, ước cả năm …").

    Example: ``span_of("Tổng sản lượng đến ngày 31/10/2021 đạt 440 tấn")`` -> ``"part"``
    """
    folded = fold(canonical_tones(text).lower())
    whole, part = bool(_WHOLE_YEAR.search(folded)), bool(_PART_YEAR.search(folded))
    return "year" if whole and not part else "part" if part and not whole else ""


def asks_change(question: str) -> bool:
    """Whether a question asks how something changed ("tăng bao nhiêu", "so với năm trước") rather than its level."""
    text = canonical_tones(question)
    return bool(_ASKS_CHANGE.search(text) if has_diacritics(text) else _ASKS_CHANGE_FOLDED.search(fold(text.lower())))


@dataclass(frozen=True)
class Sentence:
    """A sentence (or clause) that would support the line or be quoted: ``context`` is its section heading and the
    sentence before it, ``report`` its report's title and date, ``level`` its report's level ('' when unknown)."""
    text: str
    context: str = ""
    report: str = ""
    level: str = ""


def sentence_in(chunk, start: int, end: int, report_level: str = "") -> Sentence:
    """The span ``start:end`` of ``chunk`` as a Sentence: its context is the chunk's section heading, the whole
    sentence when the span is one of its clauses, and the sentence before."""
    before = ""
    whole = chunk.text[start:end]
    for m in SENTENCE.finditer(chunk.text):
        if m.end() <= start:
            before = m.group(0) if m.group(0).strip() else before
        elif m.start() <= start:
            whole = chunk.text[m.start():max(m.end(), end)]
            break
    context = "\n".join([" ".join(chunk.heading_path), before.strip(), whole if whole != chunk.text[start:end] else ""])
    return Sentence(chunk.text[start:end], context.strip(), f"{chunk.title} {chunk.date}", report_level)


def expand_abbreviations(text: str) -> str:
    """The text with each acronym's expansion added after it ("XNK" -> "XNK (xuất nhập khẩu)")."""
    for pattern, expansion in _ABBREVIATIONS:
        text = pattern.sub(lambda m: f"{m.group(0)} ({expansion})", text)
    return text


def indicator(asked: Asked, s: Sentence, policy: VerifyPolicy = DEFAULT_VERIFY) -> Verdict:
    """The sentence (with its heading and the sentence before) names the question's indicator: at least
    ``policy.min_indicator_share`` of its topic terms by idf, and no qualifier that excludes the one asked ("đầu tư
    công" for "toàn xã hội") unless it names the one asked too."""
    near = expand_abbreviations(f"{s.context}\n{s.text}")
    named = qualifiers_in(near)
    for q in asked.qualifiers:
        others = {o for o in named if _CONTRAST_OF[o] == _CONTRAST_OF[q]}
        if others and q not in others:
            return Verdict.reject("indicator", "qualifier", f"the sentence says {', '.join(sorted(others))}, "
                                                            f"the question {q}")
    total = sum(asked.terms.values())
    if total:
        found = terms_of(near)
        share = sum(w for t, w in asked.terms.items() if t in found) / total
        if share < policy.min_indicator_share:
            return Verdict.reject("indicator", "indicator",
                                  f"the sentence holds {share:.0%} of the question's topic terms")
    return Verdict.accept("indicator")


def level(asked: Asked, s: Sentence) -> Verdict:
    """Applies when the question names a level and the sentence's report has another one: the sentence must then
    name the level asked itself (a province report's sentence about "thành phố …")."""
    if not asked.level or not s.level or s.level == asked.level or asked.level in levels_named(s.text):
        return Verdict.accept("level")
    return Verdict.reject("level", "level", f"asked about the {asked.level}, the sentence is from a {s.level} "
                                            f"report and does not name the {asked.level}")


def period(asked: Asked, s: Sentence) -> Verdict:
    """Applies when the question names years: one of them is stated by the sentence, its context or its report (a
    period "2021-2025" states a single year asked only when the sentence names that year). And when the question
    asks the whole year or a part of it (``span_of``): the sentence itself does not state the other (a report
    written in November gives both the figure to 31 October and the year's estimate, and the model mixes them up)."""
    around = f"{s.context} {s.text} {s.report}"
    stated_alone, periods = years_named(around)
    stated = set(YEAR.findall(around)).union(*periods)
    if asked.years and not asked.years & stated_alone and not any(p & stated for p in asked.periods):
        return Verdict.reject("period", "period", f"the sentence states none of the years asked "
                                                  f"({', '.join(sorted(asked.years))})")
    if not asked.years and asked.periods and not any(p & stated for p in asked.periods):
        return Verdict.reject("period", "period", "the sentence is about another period than the one asked")
    span = span_of(s.text) if asked.span else ""  # most questions ask no part of a year: no need to read the sentence
    if span and span != asked.span:
        stated, wanted = ("part of the year", "the whole year") if span == "part" else ("the whole year", "a part of it")
        return Verdict.reject("period", "span", f"the sentence states {stated}, the question asks {wanted}")
    return Verdict.accept("period")


def figure_kinds(text: str) -> dict[str, set[str]]:
    """Each figure of ``text`` (normalized) -> how the text states it: "change" ("giảm 4%"), "plan" ("chỉ tiêu
    85%", or any figure of a sentence led by "phấn đấu", "dự kiến", "mục tiêu") or "level" (anything else). Years
    are left out.

    Example: ``figure_kinds("giảm 4%, còn 39,76%")`` -> ``{"4": {"change"}, "39.76": {"level"}}``
    """
    folded = fold(canonical_tones(text).lower())
    planned = bool(_PLAN_LEAD.match(folded))
    out: dict[str, set[str]] = {}
    for m in _FIGURE.finditer(folded):
        if YEAR.fullmatch(m.group(0)):
            continue
        before = re.split(r"[,;:()]", folded[max(0, m.start() - 40):m.start()])[-1]
        kind = "change" if _CHANGE_BEFORE.search(before) else \
            "plan" if planned or _PLAN_BEFORE.search(before) else "level"
        out.setdefault(normalize_number(m.group(0).rstrip(".,")), set()).add(kind)
    return out


def kind(asked: Asked, s: Sentence, line: str | None = None) -> Verdict:
    """A figure the line states as a level is not one the sentence states only as a change, nor only as a plan,
    unless the question asks for a change or a plan ("tỷ lệ hộ nghèo đạt 4%" from "giảm 4%"); a line stating only
    changes does not answer a question asking for a level ("còn bao nhiêu phần trăm?" - "giảm được 4%"); a
    figure the line itself words as a plan passes. With no line (a sentence to quote alone), the sentence passes
    when one of its figures is of a kind asked."""
    kinds = figure_kinds(s.text)
    wanted = {"level"} | ({"change"} if asked.change else set()) | ({"plan"} if asked.plan else set())
    if line is None:
        if not kinds or any(k & wanted for k in kinds.values()):
            return Verdict.accept("kind")
        figures = set(kinds)
    else:
        stated = figure_kinds(strip_citations(line))
        if stated and not asked.change and all(k == {"change"} for k in stated.values()):
            return Verdict.reject("kind", "change", "the line states only a change, and the question asks for a level")
        figures = {f for f, k in stated.items() if "level" in k}
    for f in sorted(figures):
        if f in kinds and not kinds[f] & wanted:
            what = "a change" if "change" in kinds[f] else "a plan or target"
            return Verdict.reject("kind", "change" if "change" in kinds[f] else "plan",
                                  f"the sentence states {f} as {what}, which the question does not ask for")
    return Verdict.accept("kind")


def check_sentence(asked: Asked, s: Sentence, policy: VerifyPolicy = DEFAULT_VERIFY,
                   line: str | None = None) -> list[Verdict]:
    """The verdicts of ``policy.meaning_checks`` in order, up to the first rejection; ``line`` is the model's line
    the sentence supports (None: the sentence would be quoted alone)."""
    run = {"indicator": lambda: indicator(asked, s, policy), "level": lambda: level(asked, s),
           "period": lambda: period(asked, s), "kind": lambda: kind(asked, s, line)}
    out = []
    for name in policy.meaning_checks:
        out.append(run[name]())
        if out[-1].rejected:
            break
    return out


def unit_rejection(asked: Asked, unit, policy: VerifyPolicy = DEFAULT_VERIFY) -> Verdict | None:
    """The first meaning check that turns an evidence unit (rag/evidence.py) away; None when it may be quoted."""
    return first_rejection(check_sentence(asked, sentence_in(unit.chunk, unit.start, unit.end, unit.level), policy))

