"""Scoring primitives for the evaluation: text/number matching, quote matching, retrieval metrics.

Deliberately independent of ``rag`` (no ``rag.*`` import): the yardstick must not share code,
and therefore bugs, with the system it measures.

Examples::

    normalize_text("Uỷ ban  **Hoà**")            == normalize_text("ủy ban hòa")
    answer_correct("tăng 92,96 %", ["92,96%"])   -> True
    answer_correct("tăng 192,96%", ["92,96%"])   -> False
    chunk_has_quote(chunk.text, item["quote"])   -> True when the chunk holds most of the quote
    recall_at_k([[False, True], [False, False]], k=2) == 0.5
"""
from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Any, Iterable, NamedTuple, Sequence

# ---------------------------------------------------------------------------------------------
# Text normalization
# ---------------------------------------------------------------------------------------------

_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}  # huyền sắc ngã hỏi nặng
_VOWELS = set("aăâeêioôơuưy")
_SYLLABLE = re.compile(r"[^\W\d_]+")
_MARKUP = re.compile(r"[*_`]+")
_SUPERSCRIPTS = re.compile(r"[\u00b2\u00b3\u00b9\u2070-\u209f]+")  # footnote markers "rừng³"
_SPACES = re.compile(r"\s+")


def _split_tone(ch: str) -> tuple[str, str]:
    """('ộ' -> 'ô', '\u0323'): the letter without its tone mark, and the tone mark ('' if none)."""
    nfd = unicodedata.normalize("NFD", ch)
    tone = "".join(c for c in nfd if c in _TONE_MARKS)
    base = unicodedata.normalize("NFC", "".join(c for c in nfd if c not in _TONE_MARKS))
    return base, tone


@lru_cache(maxsize=4096)
def _canon_syllable(word: str) -> str:
    """Move the tone mark onto the syllable's last vowel so 'hoà'/'hòa' and 'thuỷ'/'thủy' agree.

    Any fixed placement works for comparison; "last vowel" needs no spelling rules and keeps
    every result precomposed (all Vietnamese vowel+tone pairs exist in NFC).
    """
    parts = [_split_tone(c) for c in word]
    tones = "".join(t for _, t in parts)
    if not tones:
        return word
    bases = [b for b, _ in parts]
    vowel_positions = [i for i, b in enumerate(bases) if b.lower() in _VOWELS]
    if not vowel_positions:
        return word
    pos = vowel_positions[-1]
    bases[pos] = unicodedata.normalize("NFC", bases[pos] + tones)
    return "".join(bases)


def canonical_tones(text: str) -> str:
    """NFC text where every syllable carries its tone mark on a fixed (last-vowel) position."""
    return _SYLLABLE.sub(lambda m: _canon_syllable(m.group(0)), unicodedata.normalize("NFC", text))


@lru_cache(maxsize=16384)
def normalize_text(text: str) -> str:
    """Comparison form: NFC, case-folded, canonical tone placement, no markdown emphasis, single spaces.

    'hoà' == 'hòa' and 'Uỷ ban' == 'ủy ban', but 'hòa' != 'hoa' (tones are kept, only moved).
    """
    text = unicodedata.normalize("NFC", text or "").casefold()
    text = _MARKUP.sub("", text)
    text = _SUPERSCRIPTS.sub("", text)
    text = canonical_tones(text)
    return _SPACES.sub(" ", text).strip()


def strip_diacritics(text: str) -> str:
    """Lower-case ASCII-ish form ('Không tìm thấy' -> 'khong tim thay'); used where users omit accents."""
    nfd = unicodedata.normalize("NFD", normalize_text(text).replace("đ", "d"))
    return unicodedata.normalize("NFC", "".join(c for c in nfd if not unicodedata.combining(c)))


# ---------------------------------------------------------------------------------------------
# Numbers and must_include matching
# ---------------------------------------------------------------------------------------------
#
# A text becomes a stream of entities: words, '%', dates/fractions ("19/8/2025", "10/3") and
# numbers. Vietnamese format: '.' groups thousands, ',' is the decimal mark. A number is kept as
# its Decimal value, so "1.028.633" == "1028633" and "28,0" == "28", while "92,96" != "9296"
# and != "192,96". English formatting ("1,028,633", "92.96") is NOT understood: the reports and
# the assistant's answers are Vietnamese.
#
# A number followed by magnitude words (nghìn/ngàn, triệu, tỷ/tỉ) is also an amount with a total
# value, so "447 tỷ 671 triệu" == "447.671 triệu" and "4,5 tỷ" == "4.500 triệu".

@dataclass(frozen=True)
class Num:
    """A number as written (``raw``) and, for amounts like "447 tỷ 671 triệu", its total ``value``."""
    raw: Decimal
    value: Decimal | None = None
    raws: tuple[Decimal, ...] = ()


_MAGNITUDES = {"nghìn": Decimal(10) ** 3, "ngàn": Decimal(10) ** 3, "triệu": Decimal(10) ** 6,
               "tỷ": Decimal(10) ** 9, "tỉ": Decimal(10) ** 9}
_MAGNITUDES = {normalize_text(k): v for k, v in _MAGNITUDES.items()}

# Phrase synonyms applied to normalized text before tokenizing (keys are normalized below).
_SYNONYMS = [
    (r"phần trăm", " % "),
    (r"đô[\s-]?la mỹ|đô[\s-]?la|us\$", " usd "),
    (r"\bngàn\b", "nghìn"),
    (r"\btỉ\b", "tỷ"),
]
_SYNONYMS_RE = [(re.compile(normalize_text(p)), r) for p, r in _SYNONYMS]
# "ngày 19 tháng 8 năm 2025" -> "ngày 19/8/2025"; "tháng 12 năm 2023" -> "tháng 12/2023".
_DATE_LONG = re.compile(normalize_text(r"(\d{1,2}) tháng (\d{1,2}) năm (\d{4})"))
_MONTH_LONG = re.compile(normalize_text(r"(?<=tháng )(\d{1,2}) năm (\d{4})"))
_NEGATIVE_WORD = normalize_text("âm")

_ENTITY = re.compile(
    r"(?P<date>\d+(?:/\d+)+)"
    r"|(?P<num>\d{1,3}(?:\.\d{3})+(?:,\d+)?(?!\d)|\d+(?:,\d+)?)"
    r"|(?P<pct>%)"
    r"|(?P<word>[^\W\d_]+)"
)
_MINUS = "-\u2212\u2013"


def parse_vn_number(s: str) -> Decimal | None:
    """'1.028.633' -> 1028633, '92,96' -> 92.96, '-0,62' -> -0.62; None if not a Vietnamese-format number."""
    s = s.strip().replace("\u2212", "-").replace("\u2013", "-")
    if not re.fullmatch(r"-?(\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?)", s):
        return None
    try:
        return Decimal(s.replace(".", "").replace(",", "."))
    except InvalidOperation:
        return None


def _canon_date(s: str) -> str:
    return "/".join(str(int(p)) for p in s.split("/"))  # "05/5/2022" == "5/5/2022"


def _prepare(text: str) -> str:
    t = normalize_text(text)
    for rx, rep in _SYNONYMS_RE:
        t = rx.sub(rep, t)
    t = _DATE_LONG.sub(r"\1/\2/\3", t)
    return _MONTH_LONG.sub(r"\1/\2", t)


@lru_cache(maxsize=8192)
def entities(text: str) -> tuple:
    """The comparison stream of ``text``: words/'%' as str, dates as 'd:19/8/2025', numbers as Num."""
    t = _prepare(text)
    out: list = []
    for m in _ENTITY.finditer(t):
        kind = m.lastgroup
        if kind == "date":
            out.append("d:" + _canon_date(m.group()))
        elif kind == "num":
            value = Decimal(m.group().replace(".", "").replace(",", "."))
            start = m.start()
            # A sign counts only when it stands alone ("-0,62%", "(−3,3%"), not in "2021-2025" or "301-CTr".
            signed = start > 0 and t[start - 1] in _MINUS and (start == 1 or not t[start - 2].isalnum())
            if signed or (out and out[-1] == _NEGATIVE_WORD):  # "tăng trưởng âm 0,62%"
                if not signed:
                    out.pop()
                value = -value
            out.append(Num(value, None, (value,)))
        else:
            out.append(m.group())
    return tuple(_merge_amounts(out))


def _merge_amounts(stream: list) -> list:
    """Fold "447 tỷ 671 triệu" into one Num whose value is the total (magnitude words are consumed)."""
    out: list = []
    i = 0
    while i < len(stream):
        tok = stream[i]
        if isinstance(tok, Num) and i + 1 < len(stream) and stream[i + 1] in _MAGNITUDES:
            total = Decimal(0)
            raws: list[Decimal] = []
            last_mag = None
            while (i + 1 < len(stream) and isinstance(stream[i], Num) and stream[i + 1] in _MAGNITUDES
                   and (last_mag is None or _MAGNITUDES[stream[i + 1]] < last_mag)):
                last_mag = _MAGNITUDES[stream[i + 1]]
                total += stream[i].raw * last_mag
                raws.append(stream[i].raw)
                i += 2
            out.append(Num(raws[0], total, tuple(raws)))
            continue
        out.append(tok)
        i += 1
    return out


def _entity_matches(want, got) -> bool:
    if isinstance(want, Num):
        if not isinstance(got, Num):
            return False
        if want.value is not None:  # an amount: compare totals ("4,5 tỷ" == "4.500 triệu" == "4.500.000.000")
            return got.value == want.value if got.value is not None else got.raw == want.value
        if want.raw in got.raws or got.value == want.raw:  # bare "1.790" matches "1.790 tỷ đồng"
            return True
        return got.value is None and _truncates_to(got.raw, want.raw)
    return want == got


def _truncates_to(precise: Decimal, given: Decimal) -> bool:
    """'11.230' names '11.230,2' (the answer is more precise); '11.230,2' does not name '11.230'."""
    places = max(0, -given.as_tuple().exponent)
    if max(0, -precise.as_tuple().exponent) <= places:
        return False
    step = Decimal(1).scaleb(-places)
    return precise.copy_abs().quantize(step, rounding="ROUND_DOWN") == given.copy_abs() and \
        (precise < 0) == (given < 0)


_CITATION_MARK = re.compile(r"\[\s*\d+(?:\s*[-,;]\s*\d+)*\s*\]")  # "[1]", "[1, 3]": not content


def contains_must(answer_text: str, must: str) -> bool:
    """True when ``must`` occurs in the answer as a contiguous run of entities (numbers by value).

    Punctuation is ignored ("56 xã, phường" == "56 xã phường"); '%' and 'phần trăm' are the same
    token; a must string with '%' needs the '%' in the answer too. Citation marks ("[1]") in the
    answer are ignored so they cannot supply a number.
    """
    want = entities(must)
    if not want:
        return True
    got = entities(_CITATION_MARK.sub(" ", answer_text or ""))
    n = len(want)
    for i in range(len(got) - n + 1):
        if all(_entity_matches(w, g) for w, g in zip(want, got[i:i + n])):
            return True
    return False


def missing_must(answer_text: str, must_include: Iterable[str]) -> list[str]:
    """The must_include strings the answer lacks (for the report's 'wrong answers' list)."""
    return [m for m in must_include if not contains_must(answer_text or "", m)]


def facts_in_units(unit_texts: Sequence[str], must_include: Sequence[str]) -> bool:
    """Every must_include fact occurs whole within one of the units (units are not joined: a fact split across
    two units, or assembled from the end of one and the start of the next, does not count)."""
    return all(any(contains_must(t, m) for t in unit_texts) for m in must_include)


# Interrogatives, accent-folded; a question holding two of them asks two things ("bao nhiêu … và tăng hay giảm").
_ASKS = re.compile(r"\b(?:bao nhieu|the nao|ra sao|tang hay giam|hay khong|khi nao|nao|gi|ai)\b")


def asks_two_things(question: str) -> bool:
    """The evaluation's own reading (independent of rag/) of whether a question asks for two things."""
    return len(_ASKS.findall(strip_diacritics(question))) >= 2


def answer_correct(answer_text: str, must_include: Sequence[str]) -> bool:
    """All must_include strings are present (an empty list is vacuously satisfied)."""
    return not missing_must(answer_text, must_include)


# ---------------------------------------------------------------------------------------------
# Quote matching (gold evidence inside retrieved chunks / citations)
# ---------------------------------------------------------------------------------------------

_WORD_TOKEN = re.compile(r"\w+")


@lru_cache(maxsize=16384)
def _quote_tokens(text: str) -> tuple[str, ...]:
    return tuple(_WORD_TOKEN.findall(normalize_text(text)))


@lru_cache(maxsize=16384)
def _token_set(text: str) -> frozenset[str]:
    return frozenset(_quote_tokens(text))


class QuoteMatch(NamedTuple):
    """How much of a quote a chunk holds, as shares of the quote's word tokens."""
    run: float  # longest contiguous run
    ordered: float  # tokens found in order in a window of the chunk aligned on that run
    at_edge: bool  # the run is the quote's start at the chunk's end, or its end at the chunk's start
    numbers_ok: bool  # every number of the quote is among the tokens found in order


_NO_MATCH = QuoteMatch(0.0, 0.0, False, False)


def quote_coverage(chunk_text: str, quote: str) -> QuoteMatch:
    """Measure how much of ``quote`` the chunk holds (see chunk_has_quote for the decision).

    The in-order share is measured in a window aligned on the longest run, so scattered
    common words elsewhere in the chunk cannot add up to a false match.
    """
    q = _quote_tokens(quote)
    c = _quote_tokens(chunk_text)
    if not q or not c:
        return _NO_MATCH
    m = SequenceMatcher(None, q, c, autojunk=False).find_longest_match(0, len(q), 0, len(c))
    if m.size == 0:
        return _NO_MATCH
    pad = max(4, len(q) // 4)  # room for a few inserted tokens (page numbers, footnote marks)
    lo = max(0, m.b - m.a - pad)
    hi = min(len(c), m.b + (len(q) - m.a) + pad)
    blocks = SequenceMatcher(None, q, c[lo:hi], autojunk=False).get_matching_blocks()
    found = {i for b in blocks for i in range(b.a, b.a + b.size)}
    numbers_ok = all(i in found for i, tok in enumerate(q) if tok.isdigit())
    slack = 2  # the splitter may cut a word at the boundary
    at_end = m.a <= slack and m.b + m.size >= len(c) - slack  # chunk ends with the quote's start
    at_start = m.a + m.size >= len(q) - slack and m.b <= slack  # chunk starts with the quote's end
    return QuoteMatch(m.size / len(q), len(found) / len(q), at_end or at_start, numbers_ok)


def chunk_has_quote(chunk_text: str, quote: str, *, min_run: float = 0.6, min_ordered: float = 0.8,
                    min_edge: float = 0.5) -> bool:
    """Does the chunk hold (most of) the gold quote, after whitespace/markup/tone normalization?

    On word tokens, the chunk counts when: the whole quote occurs; or the quote is cut by the
    chunk boundary and this chunk's piece (at its start or end) covers >= ``min_edge``; or,
    with every number of the quote present, a contiguous run covers >= ``min_run`` or
    >= ``min_ordered`` occurs in order (wording/OCR differences). Requiring the numbers keeps
    the reports' formulaic sentences ("tăng 11%, đạt 100% KH" vs "tăng 12%, ...") apart.
    Quotes under 4 tokens must occur whole.
    """
    q = _quote_tokens(quote)
    if not q:
        return False
    c = _quote_tokens(chunk_text)
    if f" {' '.join(q)} " in f" {' '.join(c)} ":
        return True
    if len(q) < 4:
        return False
    vocab = _token_set(chunk_text)
    if sum(tok in vocab for tok in q) < min(min_edge, min_run, min_ordered) * len(q):
        return False  # cheap rejection: most chunks share only a few words with the quote
    cov = quote_coverage(chunk_text, quote)
    if cov.at_edge and cov.run >= min_edge:
        return True
    return cov.numbers_ok and (cov.run >= min_run or cov.ordered >= min_ordered)


def _field(obj: Any, name: str, default: Any = None) -> Any:
    """Read ``name`` from a dict or an object (predictions are dicts, live results are dataclasses)."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _as_quotes(quotes: str | Sequence[str] | None) -> list[str]:
    if quotes is None:
        return []
    if isinstance(quotes, str):
        return [quotes]
    return [q for q in quotes if q]


def same_doc(a: str | None, b: str | None) -> bool:
    """Document ids compare by file name, so 'data/reports/x.txt' == 'x.txt'."""
    return bool(a) and bool(b) and os.path.basename(str(a)) == os.path.basename(str(b))


def is_hit(retrieved: Any, doc: str | None, quotes: str | Sequence[str] | None) -> bool:
    """A retrieved item (dict or Hit) from the gold doc that holds the gold quote (or an extra quote)."""
    if not same_doc(_field(retrieved, "doc"), doc):
        return False
    text = _field(retrieved, "text", "") or ""
    return any(chunk_has_quote(text, q) for q in _as_quotes(quotes))


def hit_flags(retrieved: Sequence[Any], doc: str | None, quotes: str | Sequence[str] | None) -> list[bool]:
    """Relevance of each retrieved item, in rank order."""
    return [is_hit(r, doc, quotes) for r in retrieved]


def first_hit_rank(flags: Sequence[bool], k: int | None = None) -> int | None:
    """1-based rank of the first relevant item within the top ``k`` (None when there is none)."""
    for i, flag in enumerate(flags[:k] if k else flags):
        if flag:
            return i + 1
    return None


def recall_at_k(hits_list: Sequence[Sequence[bool]], k: int) -> float:
    """Share of questions with a relevant item in the top ``k`` (one gold passage per question)."""
    if not hits_list:
        return 0.0
    return sum(1 for flags in hits_list if any(flags[:k])) / len(hits_list)


def mrr_at_k(hits_list: Sequence[Sequence[bool]], k: int) -> float:
    """Mean reciprocal rank of the first relevant item, 0 when it is not in the top ``k``."""
    if not hits_list:
        return 0.0
    total = 0.0
    for flags in hits_list:
        rank = first_hit_rank(flags, k)
        total += 1.0 / rank if rank else 0.0
    return total / len(hits_list)


def citation_hit(citations: Sequence[Any], doc: str | None, quotes: str | Sequence[str] | None) -> bool:
    """Some citation points at the gold doc and its text holds the gold quote."""
    return any(is_hit(c, doc, quotes) for c in citations)


def copies_header(line: str, evidence: Sequence[dict]) -> bool:
    """The model's line copies a passage's header (the prompt's label, not an answer): it opens with a shown
    report's title ("Báo cáo: Tình hình … — 5. Quốc phòng …") or holds a section label after the header's
    dash ("… — b) Chăn nuôi, tổng sản lượng …"). Naming a report ("Theo báo cáo năm 2021, …") is not
    copying one. Officials paste the line into their own reports: a defect even when its figure is right."""
    text = normalize_text(line)
    for e in evidence:
        title = normalize_text(e.get("title") or "")[:24]
        label = normalize_text((e.get("section") or "").split(" > ")[-1])[:20]
        if (len(title) >= 12 and text.startswith(title)) or (len(label) >= 6 and f"— {label}" in text):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------------

REFUSAL_SENTENCE = "Không tìm thấy thông tin này trong các báo cáo hiện có"
# Accentless forms, matched against strip_diacritics(answer): works with or without diacritics.
_REFUSAL_ANYWHERE = [strip_diacritics(REFUSAL_SENTENCE)]
_REFUSAL_PHRASES = [strip_diacritics(p) for p in (
    "không tìm thấy", "không có thông tin", "không có dữ liệu", "không có số liệu",
    "chưa có thông tin", "không đề cập", "không được đề cập", "chưa được đề cập",
    "không nêu", "không được nêu", "không cung cấp thông tin", "không có trong các báo cáo",
    "không thể trả lời", "không thể xác định", "tôi không biết",
)]
_FIRST_SENTENCE = re.compile(r"^.*?(?:[.!?](?:\s|$)|\n|$)", re.S)


def is_refusal(answer_text: str | None, abstained: bool = False) -> bool:
    """The assistant declined: the abstained flag, the refusal sentence anywhere, or a variant
    ("không tìm thấy", "các báo cáo không đề cập", ...) in the first sentence.

    Variants only count in the first sentence so that an answer which gives the figure and then
    notes "the reports do not mention 2024" is not scored as a refusal.
    """
    if abstained:
        return True
    folded = strip_diacritics(answer_text or "")
    if not folded:
        return False
    if any(p in folded for p in _REFUSAL_ANYWHERE):
        return True
    first = _FIRST_SENTENCE.match(folded).group(0)
    return any(re.search(rf"\b{re.escape(p)}\b", first) for p in _REFUSAL_PHRASES)
