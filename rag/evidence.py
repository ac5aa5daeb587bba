"""Evidence units: the sentences and "; "-clauses that answer a question, picked from the top fused chunks.

Report sentences are long (200-400 characters, many "; "-clauses), so which sentence answers matters more than
which chunk is retrieved. The units are recorded with every answer (``Answer.units``) and point citations at
the supporting sentence; the model reads windows around them (``passage_windows``: a few sentences of context
each, with the footnote the best one cites; fed the bare units, the 1.5B model answered worse, eval/RESULTS.md).
Every sentence (or clause of a long sentence) of the top chunks
competes on signals that carry over to unseen questions: the idf-weighted share of the question's terms it
holds (its own sentence and section heading count for less), the chunk's fused retrieval score, whether it
states a figure when one is asked, whether its administrative level, period and kind (result vs plan)
are the ones asked, whether its report is the one the question names, and whether it is prose or a table row
whose figures have lost their columns. The best units are kept within a character budget, each text once, with
provenance.

Example: ``select_evidence(question, hits, retriever)[0].text`` is the sentence that answers ``question``.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from .grounding import BASE_YEAR, NEGATED, asked_years, asks_for_list, asks_plan, cut_at_space, wrong_unit
from .questions import question_parts
from .rerank import terms_of
from .text import SENTENCE, canonical_tones, fold, has_diacritics
from .types import Chunk, Hit
from .vocabulary import VOCABULARY


@dataclass(frozen=True)
class EvidencePolicy:
    """Every knob of evidence selection; each was chosen on dev.jsonl and checked on dev2.jsonl (eval/RESULTS.md).

    chunks: top fused chunks whose units compete (more finds facts ranked 4-10, but lets more near-misses in).
    budget_chars / list_budget_chars: total evidence length (prompt time on a CPU vs facts that fit).
    max_units: at most this many units (the sentences an answer can quote).
    clause_chars: a sentence longer than this competes as its "; "-clauses (focus vs context cut away).
    context_weight: credit for a question term found in the unit's sentence, the sentence before it or its
        section heading, not the unit itself (a clause "sản lượng đạt 556 tấn" belongs to the sentence about
        "thủy sản"; "Trong đó, số hồ sơ đã giải quyết …" goes on from the one before).
    rank_weight: weight of the chunk's fused retrieval score (relative to the best) against the unit's terms.
    no_figure: factor for a unit with no figure when the question asks how many / how much, or none of the
        kind asked ("bao nhiêu ha" and no area).
    level_mismatch: factor for a unit from a report of another administrative level than the one asked,
        unless the unit itself names the level asked.
    partial_period: factor for a unit about part of a period ("10 tháng", "đến 31/10") when none is asked.
    plan_not_asked: factor for a unit stating a target or plan when the question asks for a result, and for
        one that does not (nor its section heading) when the question asks for a target.
    year_mismatch: factor for a unit when none of the single years asked appears in it, its sentence, its
        section heading or its report's title and date (a 2021 figure for a 2022 question).
    table_row: factor for a row of a table ("Tỷ lệ xã đạt chuẩn nông thôn mới % 12,2 15,8 15,8 19,4"): its
        figures have lost their column headers (which year, plan or result), so a sentence of prose stating the
        indicator answers better; a row still leads when no sentence does. Chosen on dev (first-unit recall 78.9% ->
        81.1%; 0.5 the same, 0.8 and 0.9 less); on dev2 first-unit 79.7% -> 81.2%, evidence recall 89.1% -> 92.2%.
    source_mismatch: factor for a unit from a report that matches the report the question names ("Theo báo cáo
        đánh giá kế hoạch 5 năm 2021-2025, …") less well than the best-matching report does.
    window_chars: the model reads Settings.top_k windows of at most this many characters around the best units
        (half as much again for a list; ``passage_windows``): a shorter prompt is faster on a CPU and has fewer
        neighbouring figures to confuse. 370 is the shortest keeping dev's evidence recall (360 lost a fact).
    list_unit_chars: for a question asking for several items, the best unit is a whole sentence (not a clause)
        and grows with the sentences that follow it, into the next chunks of its section, up to this length
        (a list spans lines and chunk edges).
    """
    chunks: int = 8
    budget_chars: int = 900
    list_budget_chars: int = 1800
    max_units: int = 5
    clause_chars: int = 320
    context_weight: float = 0.5
    rank_weight: float = 0.25
    no_figure: float = 0.5
    level_mismatch: float = 0.6
    partial_period: float = 0.85
    plan_not_asked: float = 0.85
    year_mismatch: float = 0.7
    source_mismatch: float = 0.7
    table_row: float = 0.7
    list_unit_chars: int = 900
    window_chars: int = 370


DEFAULT_POLICY = EvidencePolicy()


@dataclass
class EvidenceUnit:
    """A span of a chunk: a sentence or clause that answers (in passage ``[n]`` when the prompt shows its chunk),
    or the excerpt shown as passage ``[n]``; ``start``/``end`` locate it in ``chunk.text``."""
    n: int
    chunk: Chunk
    start: int
    end: int
    score: float = 0.0
    level: str = ""  # administrative level of its report (tỉnh / thành phố / …), '' when unknown

    @property
    def text(self) -> str:
        return self.chunk.text[self.start:self.end]

    @property
    def doc(self) -> str:
        return self.chunk.doc

    def to_dict(self) -> dict:
        c = self.chunk
        return {"n": self.n, "doc": c.doc, "text": self.text, "title": c.title, "date": c.date, "level": self.level,
                "section": c.section, "chunk_id": c.chunk_id, "span": [self.start, self.end],
                "score": round(self.score, 4)}


# -- units ---------------------------------------------------------------------------------------------------
_CLAUSE = re.compile(r";\s+")
# text.SENTENCE, where a line end also ends a sentence: list lines ("- mục a;") and headings have no full stop
_SENTENCE = re.compile(SENTENCE.pattern.replace("|$)", r"|(?=\n)|$)"))
_MIN_UNIT = 25  # shorter pieces (a heading number, "a)") join their neighbour


def unit_spans(text: str, clause_chars: int) -> list[tuple[int, int, int, int]]:
    """(start, end, sentence start, sentence end) of each unit: a sentence, or a clause of a long one.

    Example: ``unit_spans("A có 5 xã. B đạt 3 tấn; C đạt 4 ha.", 12)`` -> the sentence "A có 5 xã." and the two
    clauses of the second sentence, each with the second sentence's span.
    """
    sentences = []
    for m in _SENTENCE.finditer(text):
        a, b = strip_span(text, m.start(), m.end())
        if b - a < 1:
            continue
        if sentences and (b - a < _MIN_UNIT or sentences[-1][1] - sentences[-1][0] < _MIN_UNIT):
            sentences[-1][1] = b  # a heading number ("2."), "/." or a short lead joins its neighbour
        else:
            sentences.append([a, b])
    out = []
    for a, b in sentences:
        if b - a <= clause_chars:
            out.append((a, b, a, b))
            continue
        pieces, start = [], a
        for c in _CLAUSE.finditer(text, a, b):
            if _inside_brackets(text, a, c.start()):
                continue  # "(5,9% so với kế hoạch; đạt 7,9% so với vốn đã giao)" is one clause
            pieces.append((start, c.start() + 1))
            start = c.end()
        pieces.append((start, b))
        merged: list[list[int]] = []
        for p in pieces:
            if merged and (p[1] - p[0] < _MIN_UNIT or merged[-1][1] - merged[-1][0] < _MIN_UNIT):
                merged[-1][1] = p[1]
            else:
                merged.append(list(p))
        out += [(x, y, a, b) for x, y in merged]
    return out


def _inside_brackets(text: str, a: int, i: int) -> bool:
    """Whether position ``i`` lies inside a bracket opened after ``a`` and not yet closed."""
    part = text[a:i]
    return part.count("(") > part.count(")")


def strip_span(text: str, a: int, b: int) -> tuple[int, int]:
    """The span without the whitespace at its ends."""
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


# -- what the question asks ------------------------------------------------------------------------------------
_ASKS_FIGURE = re.compile(r"\b(?:bao nhieu|may|ty le|so luong|muc|tang truong|chi so)\b")
_INTERROGATIVE = re.compile(r"\b(?:bao nhieu|may|nao|gi|ai|sao|khi nao|o dau|the nao|nhung|neu|liet ke)\b")
_FIGURE = re.compile(r"(?<![^\W\d_]-)(?<!\d)\d+(?:[.,]\d+)*")  # not a name's number ("COVID-19")
_YEARLIKE = re.compile(r"^(?:19|20)\d{2}$")
# numbers that are not a figure: dates ("30/11/2021"), periods ("6 tháng"), list marks ("(5)", "1.3.", "a)")
_NOT_FIGURE = re.compile(r"\d{1,2}/\d{1,2}(?:/\d{2,4})?|\d{1,2}/\d{4}|\d+\s+tháng|\(\d+\)|^\s*[\d.]+\.\s", re.I)
# part of a year: "10 tháng", "tháng 10/2021", "quý I", "lũy kế", "tính đến", "đến ngày 31/10"
_PARTIAL = re.compile(r"(?<!\w)(?:\d+\s+tháng|tháng\s+\d{1,2}\s*/\s*\d{4}|quý\s+[IVX\d]+|lũy kế|tính đến|"
                      r"đến (?:hết )?(?:ngày )?\d{1,2}/\d{1,2})", re.I)
_PERIOD = re.compile(r"(?:19|20)\d{2}\s*[-–]\s*(?:19|20)\d{2}")
# a table row flattened to text: it ends in three or more bare numbers, one per column ("% 12,2 15,8 15,8 19,4")
_TABLE_ROW = re.compile(r"(?m)(?:\s+-?\d+(?:[.,]\d+)*){3,}\s*$")
_PLAN = re.compile(r"(?<!\w)(?:phấn đấu|chỉ tiêu|mục tiêu|dự kiến|định hướng)(?!\w)", re.I)


def _level_patterns(folded: bool) -> dict[str, re.Pattern]:
    """Level -> a pattern of its words (lower-case words match any case; an acronym only as written).

    ``folded``: the accent-free forms of the words of two or more syllables ("thanh pho", "toan tinh"), for
    questions typed without marks; one syllable alone is too ambiguous there ("tinh" is also "tính")."""
    out = {}
    for level, words in VOCABULARY.levels.items():
        if folded:
            words = [fold(w) for w in words if len(w.split()) > 1]
        alts = [(re.escape(w) if w.isupper() else "(?i:" + re.escape(w) + ")") for w in words]
        if alts:
            out[level] = re.compile(r"(?<!\w)(?:" + "|".join(alts) + r")(?!\w)")
    return out


_LEVEL_WORDS = _level_patterns(folded=False)
_LEVEL_WORDS_FOLDED = _level_patterns(folded=True)
_ISSUER = re.compile(r"(?i:ủy ban nhân dân|ubnd|hội đồng nhân dân|hđnd|thành ủy|tỉnh ủy)\s+")


def levels_named(text: str) -> list[str]:
    """The administrative levels a text names, in the vocabulary's order (a "không phải …" phrase excluded)."""
    text = NEGATED.sub(" ", canonical_tones(text))
    patterns = _LEVEL_WORDS if has_diacritics(text) else _LEVEL_WORDS_FOLDED
    return [level for level, pat in patterns.items() if pat.search(text)]


def asked_level(question: str) -> str:
    """The level a question asks about: the most specific one it names ('' when it names none).

    Example: ``asked_level("dân số thành phố năm 2021 (không phải toàn tỉnh)")`` -> ``"thành phố"``
    """
    named = levels_named(question)
    return named[-1] if named else ""


def report_level(header: str) -> str:
    """The level of the body that issued a report: the level named after "UBND"/"HĐND"… in its header, else the
    first level its header names ('' when none)."""
    header = canonical_tones(header)
    for m in _ISSUER.finditer(header):
        after = header[m.end():m.end() + 20]
        for level, pat in _LEVEL_WORDS.items():
            if pat.match(after):
                return level
    firsts = [(m.start(), level) for level, pat in _LEVEL_WORDS.items() if (m := pat.search(header))]
    return min(firsts)[1] if firsts else ""


@dataclass
class _Asked:
    terms: dict[str, float]
    total: float
    figure: bool
    level: str
    partial: bool
    plan: bool
    years: set[str]
    unit: str  # the question again when it asks "bao nhiêu <unit>" (grounding.wrong_unit reads it), else ''


def _asked(question: str, reranker) -> _Asked:
    terms = reranker.topic_terms(question)
    folded = fold(question)
    figure = bool(_ASKS_FIGURE.search(folded)) or not _INTERROGATIVE.search(folded)
    return _Asked(terms, sum(terms.values()), figure, asked_level(question), bool(_PARTIAL.search(question)),
                  asks_plan(question), asked_years(question)[0], question if wrong_unit(question, "") else "")


def _has_figure(text: str) -> bool:
    """Whether the text states a figure: a number that is not a year, a date, a period or a list mark."""
    return any(not _YEARLIKE.match(m.group(0)) for m in _FIGURE.finditer(_NOT_FIGURE.sub(" ", text)))


# -- selection -------------------------------------------------------------------------------------------------
def select_evidence(question: str, hits: list[Hit], retriever, policy: EvidencePolicy = DEFAULT_POLICY,
                    cands: list | None = None) -> list[EvidenceUnit]:
    """The units that answer ``question``, best first (see the module docstring); ``n`` is left 0 for the caller
    to set to the passage that shows each.

    ``hits`` are the fused chunks in rank order (already widened over chunk edges); ``retriever`` gives the
    term idf (its sentence reranker) and each report's level (``doc_level``); ``cands``: ``scored_units`` of
    them when the caller has it already.
    """
    hits = hits[:policy.chunks]
    if not hits:
        return []
    if cands is None:
        cands = scored_units(question, hits, retriever, policy)
    listing = asks_for_list(question)
    clause_chars = policy.list_unit_chars if listing else policy.clause_chars  # a list runs over its "; "
    budget = policy.list_budget_chars if listing else policy.budget_chars
    firsts = _part_leaders(question, cands, retriever.reranker)
    ordered = firsts + [x[2] for x in cands if not any(x[2] is f for f in firsts)]
    if listing and ordered:  # the list goes on after its best sentence, past the chunk edge too
        lead = ordered[0]
        lead.chunk = retriever.extend(Hit(lead.chunk, lead.score), policy.list_unit_chars).chunk
        ordered[0] = _grow(lead, policy.list_unit_chars, clause_chars)
    chosen: list[EvidenceUnit] = []
    used = 0
    for unit in ordered:
        if len(chosen) >= policy.max_units:
            break
        size = unit.end - unit.start
        if chosen and used + size > budget:
            continue
        if any(_same_text(unit, u) for u in chosen):
            continue
        chosen.append(unit)
        used += size
    return chosen


def passage_windows(units: list[EvidenceUnit], cands: list, count: int, chars: int, listing: bool,
                    footnotes=None, first: str = "", terms: dict[str, float] | None = None) -> list[EvidenceUnit]:
    """The passages the model reads: up to ``count`` windows of at most ``chars`` characters: first around the
    best unit of the top retrieved chunk (chunk id ``first``), then around the evidence units (best first), then
    around the best unit of each other scored chunk.

    Passage [1] stays the top retrieved chunk: the small model answers from [1] most, and retrieval's rank (with
    the report's year, level and name matched) chose it better than the unit score (eval/RESULTS.md, session 9).
    A window grows from its unit towards the better-scoring neighbour, so the figure asked sits in it whatever
    the chunk's other sentences share with the question; for a list question the best unit (``units[0]``) is
    grown over the sentences after it, past the chunk edge, and shown whole. A footnote the first window cites
    (``footnotes(unit)``: the footnote chunks whose marker is in it) comes next: "03 di sản …²" names them
    there. A window running into one already shown is cut there (overlapping chunks: no text twice); ``n`` is
    each window's passage number. A unit longer than ``chars`` shows its part holding most of the question's
    ``terms`` (``_focus``).
    """
    of_chunk: dict[str, list[EvidenceUnit]] = {}
    for x in cands:
        of_chunk.setdefault(x[2].chunk.chunk_id, []).append(x[2])
    lead = next((u for u in units if u.chunk.chunk_id == first), None) or \
        next((x[2] for x in cands if x[2].chunk.chunk_id == first), None)
    seeds = ([lead] if lead else []) + list(units) + [x[2] for x in cands]
    windows: list[EvidenceUnit] = []
    for seed in seeds:
        if len(windows) >= count:
            break
        if any(w.chunk.chunk_id == seed.chunk.chunk_id and (w.start <= seed.start and seed.end <= w.end
                                                             or w.chunk.kind == "footnote") for w in windows):
            continue  # already shown (a footnote is shown once)
        if listing and units and seed is units[0]:
            window = dataclasses.replace(seed)
        else:
            window = _window(seed, of_chunk.get(seed.chunk.chunk_id) or [seed], chars, terms or {})
        window = _trimmed(window, seed, windows)
        if window is None:
            continue
        windows.append(window)
        if len(windows) == 1 and footnotes:
            windows += [_footnote_window(f, chars) for f in footnotes(window)][:count - 1]
    for n, w in enumerate(windows, 1):
        w.n = n
    return windows


def _trimmed(window: EvidenceUnit, seed: EvidenceUnit, shown: list[EvidenceUnit]) -> EvidenceUnit | None:
    """``window`` cut where it runs into a window already ``shown`` (chunks overlap: never the same text twice);
    None when what is left is shown already or no longer holds its ``seed`` unit."""
    if any(_same_text(window, w) for w in shown):
        return None
    base = window.chunk.start
    start, end = window.start, window.end
    for w in shown:
        if w.doc != window.doc or w.chunk.kind != window.chunk.kind:
            continue
        lo, hi = w.chunk.start + w.start - base, w.chunk.start + w.end - base  # w's span in this chunk's terms
        if lo <= start < hi:
            start = hi
        if lo < end <= hi:
            end = lo
    if (start, end) == (window.start, window.end):
        return window
    start, end = strip_span(window.chunk.text, start, end)
    if not (start <= seed.start and seed.end <= end) or end - start < _MIN_UNIT:
        return None
    return dataclasses.replace(window, start=start, end=end)


def _footnote_window(chunk: Chunk, chars: int) -> EvidenceUnit:
    """A footnote chunk as a window, cut to ``chars`` at a space; its label ("(Chú thích 2 của câu “…có 03 di
    sản …”)") stays: without it the small model did not read the note as the list the sentence announces
    (eval/RESULTS.md, session 9)."""
    return EvidenceUnit(0, chunk, *strip_span(chunk.text, 0, cut_at_space(chunk.text, 0, len(chunk.text), chars)))


def _window(unit: EvidenceUnit, units: list[EvidenceUnit], chars: int, terms: dict[str, float]) -> EvidenceUnit:
    """The span of ``chars`` characters at most around ``unit``, grown over the other ``units`` of its chunk
    (scored), the better-scoring neighbour first; a unit longer than ``chars`` shows its best part (``_focus``)."""
    if unit.end - unit.start > chars:
        start, end = _focus(unit.chunk.text, unit.start, unit.end, chars, terms)
        return dataclasses.replace(unit, n=0, start=start, end=end)
    spans = sorted([u for u in units if u.end <= unit.start or u.start >= unit.end] + [unit], key=lambda u: u.start)
    lo, hi = _grow_around([(u.start, u.end) for u in spans], [u.score for u in spans],
                          next(i for i, u in enumerate(spans) if u is unit), chars)
    chunk, start = unit.chunk, spans[lo].start
    end = cut_at_space(chunk.text, start, spans[hi].end, chars)
    return EvidenceUnit(0, chunk, *strip_span(chunk.text, start, end), unit.score, unit.level)


_COMMA = re.compile(r",\s+")


def _focus(text: str, a: int, b: int, chars: int, terms: dict[str, float]) -> tuple[int, int]:
    """The part of ``text[a:b]`` (a clause longer than ``chars``) to show: its ", "-pieces grown from the one holding
    most of the question's ``terms`` (idf-weighted), the better neighbour first, then cut at a space.

    One clause can list several results ("… cáp quang đến 100% các xã, …, 4G đã phủ sóng đến 92% trên địa bàn
    tỉnh"): cut from its start, the figure asked at its end was lost.
    """
    cuts = [m.end() for m in _COMMA.finditer(text, a, b) if not _inside_brackets(text, a, m.start())]
    pieces = list(zip([a] + cuts, cuts + [b]))
    weight = [sum(w for t, w in terms.items() if t in terms_of(text[x:y])) for x, y in pieces]
    lo, hi = _grow_around(pieces, weight, max(range(len(pieces)), key=lambda i: (weight[i], -i)), chars)
    start = pieces[lo][0]
    return strip_span(text, start, cut_at_space(text, start, pieces[hi][1], chars))


def _grow_around(spans: list[tuple[int, int]], weights: list[float], best: int, chars: int) -> tuple[int, int]:
    """(first, last) index of the run of ``spans`` (in text order) grown from ``best`` within ``chars`` characters,
    taking the better-weighted neighbour first (the earlier one on a tie)."""
    lo = hi = best
    while True:
        options = [j for j in (lo - 1, hi + 1) if 0 <= j < len(spans)
                   and spans[max(hi, j)][1] - spans[min(lo, j)][0] <= chars]
        if not options:
            return lo, hi
        j = max(options, key=lambda j: (weights[j], -j))
        lo, hi = min(lo, j), max(hi, j)


def scored_units(question: str, hits: list[Hit], retriever, policy: EvidencePolicy = DEFAULT_POLICY
                 ) -> list[tuple[float, int, EvidenceUnit, int, int]]:
    """Every unit of ``hits`` scored (see ``_score``), best first: (score, chunk rank, unit, sentence start,
    sentence end)."""
    asked = _asked(question, retriever.reranker)
    levels = retriever.doc_level
    source = retriever.source_match(question)  # {} when the question names no report
    best_source = max(source.values(), default=0.0)
    top = max((h.score for h in hits), default=0.0) or 1.0
    clause_chars = policy.list_unit_chars if asks_for_list(question) else policy.clause_chars
    cands: list[tuple[float, int, EvidenceUnit, int, int]] = []
    for rank, h in enumerate(hits):
        c = h.chunk
        heading = " ".join(c.heading_path)
        heading_terms = terms_of(heading)
        prior = policy.rank_weight * h.score / top
        before = ""  # the sentence before: "Trong đó, số hồ sơ đã giải quyết …" goes on from it
        for a, b, sa, sb in unit_spans(c.text, clause_chars):
            unit = EvidenceUnit(0, c, a, b, level=levels.get(c.doc, ""))
            sentence = c.text[sa:sb]
            around = " ".join([sentence, heading, c.title, c.date])
            unit.score = _score(asked, unit, sentence + "\n" + before, heading, heading_terms, around, prior, policy)
            if source.get(c.doc, best_source) < best_source:
                unit.score *= policy.source_mismatch
            cands.append((unit.score, rank, unit, sa, sb))
            if b == sb:
                before = sentence
    cands.sort(key=lambda x: (-x[0], x[1], x[2].start))
    return cands


def _score(asked: _Asked, unit: EvidenceUnit, sentence: str, heading: str, heading_terms: set[str], around: str,
           prior: float, policy: EvidencePolicy) -> float:
    """The unit's term share (its sentence, the one before and its heading count ``context_weight``) plus the
    chunk's retrieval prior, times the factors of the policy for what the unit is not (see EvidencePolicy)."""
    text = unit.text
    own, context = terms_of(text), terms_of(sentence) | heading_terms
    lexical = 0.0
    if asked.total:
        lexical = sum(w * (1.0 if t in own else policy.context_weight if t in context else 0.0)
                      for t, w in asked.terms.items()) / asked.total
    score = lexical + prior
    if asked.figure and not _has_figure(text) or asked.unit and wrong_unit(asked.unit, text):
        score *= policy.no_figure
    if asked.level and unit.level and unit.level != asked.level and asked.level not in levels_named(text):
        score *= policy.level_mismatch
    if not asked.partial and _PARTIAL.search(text):
        score *= policy.partial_period
    if asked.plan != bool(_PLAN.search(text) or asked.plan and _PLAN.search(heading)):
        score *= policy.plan_not_asked  # a target for a result asked, or a result for a target asked
    if _TABLE_ROW.search(text):
        score *= policy.table_row
    stated = BASE_YEAR.sub(" ", _PERIOD.sub(" ", around))  # "2021-2025" nor "so với năm 2021" states 2021 alone
    if asked.years and not any(re.search(rf"(?<!\d){y}(?!\d)", stated) for y in asked.years):
        score *= policy.year_mismatch
    return score


def _part_leaders(question: str, cands, reranker) -> list[EvidenceUnit]:
    """The best unit overall, then for a question asking two things the best unit for each other part."""
    if not cands:
        return []
    leaders = [cands[0][2]]
    parts = question_parts(question)
    if len(parts) < 2:
        return leaders
    for part in parts:
        asked = _asked(part, reranker)
        if not asked.total:
            continue
        best = max(cands, key=lambda x: (x[0] + _part_share(asked, x[2]), -x[1]))[2]
        if not any(best is u for u in leaders) and not any(_same_text(best, u) for u in leaders):
            leaders.append(best)
    return leaders[:2]


def _part_share(asked: _Asked, unit: EvidenceUnit) -> float:
    own = terms_of(unit.text)
    return sum(w for t, w in asked.terms.items() if t in own) / asked.total


# a list item's mark at a line start: "- ", "+ ", "a) ", "1. ", "(2) "
_ITEM = re.compile(r"\s*(?:[-+•–]\s|[a-zđ]\)\s|\(?\d{1,2}[.)]\s)")


def _grow(unit: EvidenceUnit, limit: int, clause_chars: int) -> EvidenceUnit:
    """The unit extended over the sentences after it in its chunk, within ``limit`` characters, and within its
    paragraph unless the list goes on: past a paragraph break only onto an item ("- …", "a) …") or after a lead
    ending in ":" or ";". The next prose paragraph is another topic (a reason for slow imports followed by one for
    slow public investment)."""
    end, text = unit.end, unit.chunk.text
    for a, b, _, _ in unit_spans(text, clause_chars):
        if a < end:
            continue
        new_paragraph = "\n\n" in text[end:a] and not _ITEM.match(text, a)
        if new_paragraph and not text[:end].rstrip().endswith((":", ";")) or b - unit.start > limit:
            break
        end = b
    return dataclasses.replace(unit, end=end)


def _same_text(a: EvidenceUnit, b: EvidenceUnit) -> bool:
    """Units that would show the same text: equal or overlapping spans of one report (chunks overlap)."""
    if a.doc != b.doc:
        return False
    x0, x1 = a.chunk.start + a.start, a.chunk.start + a.end
    y0, y1 = b.chunk.start + b.start, b.chunk.start + b.end
    overlap = min(x1, y1) - max(x0, y0)
    if overlap > 0.5 * min(x1 - x0, y1 - y0):
        return True
    return fold(a.text.strip()) == fold(b.text.strip())
