"""Checks in code, after generation, that an answer is supported by the passages it was shown.

A small model cites passages it never saw, invents figures and names and never abstains on its own, so:
citations must point at shown passages (and are moved to the passages that hold the figures and names);
every number and proper name in the answer must appear in a passage shown (or the question), a figure
with a unit in that unit, a negative figure with its sign; key terms of the question (years, names) must
be in the evidence, and the figure's sentence and clause must be about the year asked; an answer that
only echoes headings or the question, a "bao nhiêu" question answered without a figure (or in another
unit than asked), a "who" question answered without a person's name, is no answer. Otherwise we abstain.

Example: ``check_answer("Đạt 1.790 tỷ đồng [1].", "…", passages).supported`` -> True when [1] says 1.790
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .text import (GENERIC_WORDS, PLACES_FOLDED, SENTENCE, STOPWORDS_FOLDED, canonical_tones, fold, normalize_number,
                   numbers_in, split_source_phrase, tokenize, topic_words)
from .types import Chunk
from .vocabulary import VOCABULARY

_CITE = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_REFUSAL_HINTS = ("khong tim thay", "khong co thong tin", "khong de cap", "khong neu", "khong duoc neu",
                  "khong co du lieu", "chua co thong tin")
_SENT_CITED = re.compile(SENTENCE.pattern + r"(?:[ \t]*" + _CITE.pattern + ")*")  # with the markers after its stop


# Where a finished sentence, clause or line ends: a stop (not inside "1.790") followed by a space, then any citations
# written after it ("… năm 2020. [1]", "[1, 2]"); or a line break.
_FINISHED = re.compile(r"[.!?;](?:\s*" + _CITE.pattern + r")*(?=\s|$)|\n")
_LIST_MARK = re.compile(r"\s*(?:\d+|[a-zđ])[.)]")  # "2. " or "b) " opening a list item is no sentence's end


def finished_part(text: str) -> str:
    """``text`` up to the end of its last finished sentence, clause or line: what to keep of a reply cut off at the
    token limit, whose last words may stop inside a name or a figure ("đạt 1.0" of "đạt 1.095 tỷ"). Empty when
    not even its first sentence was finished."""
    text = text.rstrip()
    ends = [m.end() for m in _FINISHED.finditer(text)
            if not _LIST_MARK.fullmatch(text[text.rfind("\n", 0, m.start()) + 1:m.start() + 1])]
    return text[:ends[-1]].rstrip() if ends else ""


# Words an answer wraps around its content ("Theo báo cáo [1], …", "Trong các đoạn trích, …").
_ANSWER_SCAFFOLD = set(fold(w) for w in """
báo cáo đoạn trích trong theo nêu rõ rằng chỉ có số thông tin tài liệu dựa vào trên cho biết tìm thấy hiện
""".split())  # the last three: "Tìm thấy thông tin này trong các báo cáo hiện có." says nothing either


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
    unsupported_names: list[str] = field(default_factory=list)  # "Nguyễn Văn A" found in no passage
    supported: bool = True
    auto_cited: list[int] = field(default_factory=list)  # added because the numbers live there


def _answer_numbers(text: str) -> set[str]:
    return numbers_in(strip_citations(text))


# a date written with slashes: "14/10/2024", "10/2024", "ngày 31/5"; its parts state no figure
_SLASH_DATE = re.compile(r"(?<![\d.,/])(?:(?:[12]?\d|3[01])/(?:0?[1-9]|1[0-2])/(?:19|20)\d{2}|"
                         r"(?:0?[1-9]|1[0-2])/(?:19|20)\d{2}|"
                         r"(?<=ngày )(?:[12]?\d|3[01])/(?:0?[1-9]|1[0-2]))(?![\d/])", re.I)
_DAY_OR_MONTH = re.compile(r"(?<!\w)(?:ngày|tháng|quý|ngay|thang|quy)\s+\d+(?:[.,]\d+)*", re.I)


def figures_in(text: str) -> set[str]:
    """``numbers_in`` without what dates it: a slashed date's parts, a day or month ("ngày 12", "tháng 10").
    "từ ngày 12 đến ngày 14/10/2024" states no figure 10 nor 12."""
    return numbers_in(_DAY_OR_MONTH.sub(" ", _SLASH_DATE.sub(" ", text)))


def counted_figures(line: str) -> set[str]:
    """The figures of a line that a passage must state as figures (``figures_in``), not as part of a date:
    all but its years and what dates it. "đón 10 lượt khách" is not supported by "ngày 14/10/2024"."""
    return {n for n in figures_in(strip_citations(line)) if not YEAR.fullmatch(n)}


def holds_figure(number: str, counted: set[str], text_numbers: set[str], text_figures: set[str]) -> bool:
    """Whether a text states ``number`` of a line: as a figure when the line counts it (``counted_figures``),
    else anywhere (a date's part for a date)."""
    return number in (text_figures if number in counted else text_numbers)


def _new_figures(text: str, known: str) -> set[str]:
    """Numbers in ``text`` (citations aside) that ``known`` does not state; single digits are mostly
    enumerations ("(1)", "1.") the model adds and carry no figure."""
    return {n for n in _answer_numbers(text) - numbers_in(known) if not re.fullmatch(r"\d", n)}


# A figure's unit, folded: "10,5 ha" is an area, and the same 10,5 written as "10,5 tỷ đồng" is not in the passage.
_UNIT_KIND = [("money", r"(?:(?:ty|trieu|nghin|ngan)\s*)?(?:dong|usd)(?!\w)|(?:ty(?!\s+le\b)|trieu)(?!\w)"),
              ("area", r"(?:ha|hecta|km2|m2)(?!\w)"), ("mass", r"(?:tan|kg)(?!\w)"),
              ("percent", r"(?:diem\s*)?(?:%|phan tram(?!\w))")]
_NUM = r"\d+(?:[.,]\d+)*"
_FIGURE_UNIT = re.compile(rf"(?<![\d.,])({_NUM}(?:\s*/\s*{_NUM})*)\s*(?:(" + ")|(".join(p for _, p in _UNIT_KIND) + "))")


def figures_with_units(text: str) -> set[tuple[str, str]]:
    """(normalized number, kind of unit) for each figure written with a unit of measure; both parts of a
    "done/planned" pair carry the unit ("3.978/4.700 tỷ đồng").

    Example: ``figures_with_units("đạt 1.790 tỷ đồng, 10,5 ha")`` -> ``{("1790", "money"), ("10.5", "area")}``
    """
    out = set()
    for m in _FIGURE_UNIT.finditer(fold(text.lower())):
        kind = next(k for (k, _), g in zip(_UNIT_KIND, m.groups()[1:]) if g is not None)
        out |= {(normalize_number(n.strip().rstrip(".,")), kind) for n in m.group(1).split("/")}
    return out


def check_answer(answer: str, question: str, passages: list[Chunk]) -> GroundingResult:
    """Validate citations and numbers of ``answer`` against the numbered ``passages`` (1-based)."""
    shown = set(range(1, len(passages) + 1))
    cites = citations_in(answer)
    valid = list(dict.fromkeys(n for n in cites if n in shown))
    invalid = sorted({n for n in cites if n not in shown})
    nums = _new_figures(answer, question)
    counted = counted_figures(answer)
    # the line's figures each passage states (a counted figure only as a figure, not a date's part)
    stated = [(numbers_in(p.text), figures_in(p.text)) for p in passages]
    held = {n: {x for x in nums if holds_figure(x, counted, *stated[n - 1])} for n in shown}
    result = GroundingResult(cited=valid, invalid=invalid)
    # The model often forgets to cite: cite the passages that hold its numbers.
    if nums and not valid:
        best = sorted(shown, key=lambda n: -len(held[n]))
        if best and held[best[0]]:
            result.auto_cited = [best[0]]
            result.cited = [best[0]]
    evidence = set().union(*(held[n] for n in result.cited)) if result.cited else set()
    missing = sorted(n for n in nums if n not in evidence)
    # A number absent from the cited passages but present in another shown one: cite that one too.
    for n in list(missing):
        for p in shown:
            if n in held[p]:
                if p not in result.cited:
                    result.cited.append(p)
                    result.auto_cited.append(p)
                missing.remove(n)
                break
    if not result.cited:  # no citation and no figure: the passage that shares most words with the answer
        words = set(tokenize(strip_citations(answer), folded=True))
        overlap = {n: len(words & set(tokenize(p.text, folded=True))) for n, p in zip(shown, passages)}
        best = max(sorted(shown), key=lambda n: overlap[n], default=None)
        if best is not None and overlap[best] > 0:
            result.cited, result.auto_cited = [best], [best]
    # a figure the passages state in another unit is not supported either ("10,5 ha" answered as "10,5 tỷ đồng")
    stated = set().union(*(figures_with_units(p.text) for p in passages))
    for number, kind in sorted(figures_with_units(strip_citations(answer))):
        if number in nums and number not in missing and (number, kind) not in stated:
            missing.append(number)
    result.unsupported_numbers = missing
    result.unsupported_names = unsupported_names(answer, question, passages)
    result.supported = not missing and not result.unsupported_names
    return result


_NAME = re.compile(r"(?<![\w])[^\W\d_]+(?:[ \t]+[^\W\d_]+)+")


def _names(text: str) -> list[str]:
    """Runs of two or more capitalised words ("Nguyễn Văn A", "Nà Rạ"), split out of longer word runs."""
    out = []
    for run in _NAME.finditer(text):
        cur: list[str] = []
        for w in run.group(0).split() + [""]:
            if w[:1].isupper():
                cur.append(w)
                continue
            if len(cur) > 1:
                out.append(" ".join(cur))
            cur = []
    return out


def unsupported_names(answer: str, question: str, passages: list[Chunk]) -> list[str]:
    """Proper names (two or more capitalised words) in the answer that neither the question nor any shown
    passage contains: asked who the party secretary is, a small model makes one up ("Nguyễn Văn …").

    Example: ``unsupported_names("Bí thư là Nguyễn Văn A.", "Bí thư là ai?", passages)`` -> ``["Nguyễn Văn A"]``
    """
    evidence = fold(" ".join([question] + [f"{p.title} {p.section} {p.text}" for p in passages]))
    evidence = re.sub(r"\s+", " ", evidence)
    out = []
    for name in _names(strip_citations(answer)):
        if name.isupper():  # acronyms (GRDP, UBND) are checked as terms elsewhere
            continue
        words = name.split()  # a capitalised lead word is often just the line start: "Xã Tân Lập"
        if fold(name) not in evidence and not (len(words) > 2 and fold(" ".join(words[1:])) in evidence):
            out.append(name)
    return out


_ASKS_QUANTITY = re.compile(r"\bbao nhieu\b")  # not "mấy": folded it is also "máy" (nhà máy)
# count words, folded; "một", "năm", "sáu", "tám", "tư", "tỷ" fold onto common non-count words and are left out
_NUMBER_WORDS = set("hai ba bon bay chin muoi tram nghin ngan trieu".split())


_LIST_QUESTION = re.compile(r"\b(?:nhung|cac)\b[^?.]*\bnao\b|\bnhung gi\b|\bgom\b|^\W*(?:neu|liet ke)\b|"
                            r"\b(?:vi|tai) sao\b|\bnguyen nhan\b")


def asks_for_list(question: str) -> bool:
    """Whether the answer is several items or reasons ("những xã nào", "Nêu…", "Vì sao…"): such answers run
    over more of a passage than one figure does.

    Example: ``asks_for_list("Những huyện nào diễn tập khu vực phòng thủ?")`` -> ``True``
    """
    return bool(_LIST_QUESTION.search(fold(question.lower())))


# a figure and the (at most two) words right after it: "10 lượt khách", "ký kết 10 văn bản", "22 xã,"
_COUNTED = re.compile(r"(?<![\d.,/])(\d+(?:[.,]\d+)*)(?![\d/])[ \t]*([^\W\d_]+(?:[ \t]+[^\W\d_]+)?)?")
_NOT_COUNTED = STOPWORDS_FOLDED | GENERIC_WORDS  # "22 và …", "15,8 phần trăm"


def counted_words(text: str) -> dict[str, list[set[str]]]:
    """Each number of ``text`` (normalized) -> for each time it occurs, the folded words right after it that say what
    it counts (function and generic words left out; an empty set when none follows, as in "15,8%" or "22.").

    Example: ``counted_words("ký kết 10 văn bản; đón 10 lượt khách")`` -> ``{"10": [{"van", "ban"}, {"khach"}]}``
    """
    out: dict[str, list[set[str]]] = {}
    for m in _COUNTED.finditer(text):
        words = set(fold(m.group(2) or "").split()) - _NOT_COUNTED
        out.setdefault(normalize_number(m.group(1)), []).append(words)
    return out


def counts_other_things(answer: str, passages: list[str]) -> list[str]:
    """Figures the line counts in some thing ("đón 10 lượt khách") that the passages state only counting other
    things ("ký kết 10 văn bản", "10 điểm đến"), in sentences that do not name the line's thing at all: the digits
    are there, what they count is not. A figure the passages state bare ("22."), or do not state, is left to the
    other checks.

    Example: ``counts_other_things("Đón 10 lượt khách [1].", ["Ký kết 10 văn bản hợp tác."])`` -> ``["10"]``
    """
    line = strip_citations(answer)
    counted = counted_figures(line)
    sentences = [(m.group(0), counted_words(m.group(0))) for p in passages for m in SENTENCE.finditer(p)]
    out = []
    for figure, occurrences in counted_words(line).items():
        said = set().union(*occurrences)
        if not said or figure not in counted:
            continue
        stated = [(words, sentence) for sentence, by_figure in sentences for words in by_figure.get(figure, [])]
        if not stated or any(not words or words & said for words, _ in stated):
            continue
        if any(said <= set(tokenize(sentence, folded=True)) for _, sentence in stated):
            continue  # "lượt khách … đạt 1,2 triệu": the sentence names what the line counts
        out.append(figure)
    return sorted(out)


def lacks_quantity(question: str, answer: str) -> bool:
    """A "bao nhiêu" question answered without any figure of its own (a date "5/2021" or "bốn" counts).

    Example: ``lacks_quantity("Đón bao nhiêu lượt khách?", "Tỉnh là điểm đến hấp dẫn [1].")`` -> True
    """
    if not _ASKS_QUANTITY.search(fold(question)):
        return False
    text = strip_citations(answer)
    asked = numbers_in(question) | set(re.findall(r"\d+(?:/\d+)+", question))
    if (numbers_in(text) | set(re.findall(r"\d+(?:/\d+)+", text))) - asked:
        return False
    said = set(re.findall(r"\w+", fold(text))) & _NUMBER_WORDS
    return not (said - set(re.findall(r"\w+", fold(question))))


# "bao nhiêu tỷ đồng" asks for money: an answer in hectares answers something else. Folded; a figure must
# stand right before the unit ("10,5 ha" is area, "tỷ lệ" is not money).
_ASKED_UNIT = re.compile(r"\bbao nhieu\s+(ty dong|trieu dong|nghin dong|dong|usd|ty|trieu|ha|hecta|km2|tan|"
                         r"phan tram|%)(?!\w)")
_UNIT_OF = {"ty dong": "money", "trieu dong": "money", "nghin dong": "money", "dong": "money", "usd": "money",
            "ty": "money", "trieu": "money", "ha": "area", "hecta": "area", "km2": "area", "tan": "mass",
            "phan tram": "percent", "%": "percent"}
_FIGURE_IN = {
    "money": re.compile(r"\d\s*(?:ty|trieu|nghin|dong|usd)(?!\w)"),
    "area": re.compile(r"\d\s*(?:ha|hecta|km2|m2)(?!\w)"),
    "mass": re.compile(r"\d\s*(?:tan|kg|ta)(?!\w)"),
    "percent": re.compile(r"\d\s*(?:diem\s*)?(?:%|phan tram)"),
}


def wrong_unit(question: str, answer: str) -> str:
    """The kind of quantity a "bao nhiêu <unit>" question asks for, when the answer gives no figure of
    that kind ('' otherwise).

    Example: ``wrong_unit("Tổng vốn đầu tư là bao nhiêu tỷ đồng?", "Là 10,5 ha [1].")`` -> ``"money"``
    """
    m = _ASKED_UNIT.search(fold(question.lower()))
    if not m:
        return ""
    kind = _UNIT_OF[m.group(1)]
    return "" if _FIGURE_IN[kind].search(fold(strip_citations(answer).lower())) else kind


_ASKS_PERSON = re.compile(r"\b(?:la ai|ai la|do ai|boi ai)\b")
# "who" asks for a person's name when it asks who holds a post; "đối tượng hỗ trợ là ai?" asks for a group
_POST = re.compile(r"\b(?:chu tich|bi thu|giam doc|truong ban|truong phong|nguoi dung dau|thu truong|bo truong|"
                   r"thu tuong|chanh van phong|chu tri|chi dao|ky)\b")
# Family names that start Vietnamese personal names ("Trần Văn B"), with their marks: folded, a place "Nguyên
# …" would read as "Nguyễn". Place names that start the same way ("Hà …", "Thạch …") are the
# vocabulary file's ``local_names``.
_SURNAMES = set(canonical_tones("""nguyễn trần lê phạm hoàng huỳnh phan vũ võ đặng bùi đỗ hồ ngô dương lý nông
triệu đinh lương mạc bế hứa vi lò sầm chu trịnh mai đào đoàn kiều quan tôn tăng thái tiêu hà cao lâm thạch""").split())
_LOCAL_NAMES = {fold(n) for n in VOCABULARY.local_names}


def lacks_person(question: str, answer: str) -> bool:
    """A question asking who holds a post answered without a person's name: the model then names a post or a
    place instead.

    Example: ``lacks_person("Bí thư Tỉnh ủy là ai?", "Là Bí thư Tỉnh ủy 4 tỉnh biên giới [1].")`` -> True
    """
    asked = fold(question)  # fold lower-cases
    if not (_ASKS_PERSON.search(asked) and _POST.search(asked)):
        return False
    for name in _names(strip_citations(answer)):  # "Ông Nguyễn Văn An": the name starts at the family name
        words = name.split()
        for i, w in enumerate(words[:-1]):
            rest = " ".join(words[i:])
            if (canonical_tones(w).lower() in _SURNAMES and fold(rest) not in asked
                    and not any(fold(rest).startswith(n) for n in _LOCAL_NAMES)):
                return False
    return True


_COMPARED_YEAR = re.compile(r"(?:so với|cùng kỳ)(?:\s+(?:cùng kỳ|năm|giai đoạn|kế hoạch|KH))*\s+((?:19|20)\d{2})|"
                            # the base of a change: "từ mức 28% (giai đoạn 2016-2020) tăng lên 32,5%"
                            r"từ(?:\s+mức)?\s+\d+(?:[.,]\d+)*\s*%?\s*\((?:năm|giai đoạn)?\s*(?:19|20)\d{2}"
                            r"(?:\s*[-–]\s*(?:19|20)\d{2})?\)", re.IGNORECASE)


def clause_year_conflict(question: str, sentence: str, answer: str) -> bool:
    """The answer's figures sit only in "; "-clauses that name other years than the one asked.

    A review sentence lists a figure per year ("Tăng trưởng GRDP năm 2021 -0,62%; năm 2022 tăng 4,46%; …"):
    asked about 2021, a small model answers 4,46%. Years a clause only compares against ("so với năm 2020", "từ
    mức 28% (giai đoạn 2016-2020) tăng lên …") do not count, nor are the years a line writes figures of it ("Đề án
    … giai đoạn 2021-2025, tầm nhìn đến 2030").
    """
    single, periods = asked_years(split_source_phrase(question)[0])  # not the years naming the report
    asked = single.union(*periods)
    nums = _answer_numbers(answer) - set(YEAR.findall(question)) - set(YEAR.findall(strip_citations(answer)))
    if not asked or not nums:
        return False
    holding = [c for c in re.split(r";\s+", sentence) if nums & numbers_in(c)]
    if not holding:
        return False
    for clause in holding:
        years = set(YEAR.findall(_COMPARED_YEAR.sub(" ", clause)))
        if not years or years & asked:
            return False
    return True


def says_nothing(answer: str, question: str, passages: list[Chunk]) -> bool:
    """True when the answer only repeats the question or the passages' titles and headings.

    A small model sometimes answers "Báo cáo 2: <title> — <section> [2]" or restates the question; shown as
    an answer, that looks like a finding. Such an answer has no figure and no word of its own.
    """
    headings = " ".join(" ".join(p.heading_path) for p in passages)
    headers = " ".join([question, headings] + [f"{p.title} {p.date}" for p in passages])
    # a heading that states a figure with its unit ("f) Duy trì tỷ lệ che phủ rừng: 47%.") is content, not a title
    stated = {n for n, _ in figures_with_units(headings)} - numbers_in(question)
    if _new_figures(answer, headers) or _answer_numbers(answer) & stated:
        return False
    text = strip_citations(answer)
    known = set(tokenize(headers, folded=True)) | _ANSWER_SCAFFOLD
    return not [t for t in tokenize(text, folded=True) if len(t) > 1 and not t[0].isdigit() and t not in known]


# folded: questions asking when something happened
_ASKS_WHEN = re.compile(r"\b(?:khi nao|bao gio|luc nao|thoi diem nao|thoi gian nao|ngay nao|thang nao)\b")
_BARE_YEAR = re.compile(r"(?<![\d/.,])((?:19|20)\d{2})(?![\d/])")
_DATE_OF_YEAR = re.compile(r"(?<![\d/])(?:\d{1,2}/)?\d{1,2}/((?:19|20)\d{2})(?![\d/])")  # 12/2023, 19/8/2025


def restore_dates(answer: str, question: str, passages: list[Chunk]) -> tuple[str, list[str]]:
    """Put back the month (and day) of a year the answer gives alone when the question asks when.

    Asked "nâng cấp vào thời điểm nào?", a small model answers "2023" where the passage says "tháng 12/2023".
    Only when every mention of that year in the cited passages is that one fuller date.
    Example: ``restore_dates("Năm 2023 [1].", "Khi nào?", [Chunk(doc="a", text="vào tháng 12/2023.")])[0]``
    -> ``"Tháng 12/2023 [1]."``
    """
    if not _ASKS_WHEN.search(fold(question)):
        return answer, []
    cited = [passages[n - 1] for n in sorted(set(citations_in(answer)) or {1}) if 0 < n <= len(passages)]
    notes: list[str] = []
    for year in sorted(set(_BARE_YEAR.findall(strip_citations(answer))) - set(_BARE_YEAR.findall(question))):
        dates = {m.group(0) for p in cited for m in _DATE_OF_YEAR.finditer(p.text) if m.group(1) == year}
        bare = any(m.group(1) == year for p in cited for m in _BARE_YEAR.finditer(p.text))
        if len(dates) == 1 and not bare:
            (date,) = dates
            word = "tháng" if date.count("/") == 1 else "ngày"  # "năm 2023" -> "tháng 12/2023"

            def dated(m: re.Match) -> str:
                if not m.group(1):
                    return date
                return f"{word.capitalize() if m.group(1)[0].isupper() else word} {date}"
            answer = re.sub(r"(\b[Nn]ăm\s+)?(?<![\d/.,])" + year + r"(?![\d/])", dated, answer)
            notes.append(f"date {year} -> {date}: the cited passages only ever say {date}")
    return answer, notes


_SIGNED = re.compile(r"(?<![\w\d.,])([-\u2212\u2013]?)\s?(\d+(?:[.,]\d+)*)")
_NEGATIVE_WORDS = ("giảm", "âm", "sụt", "thấp hơn", "hụt")


def restore_signs(answer: str, passages: list[Chunk]) -> tuple[str, list[str]]:
    """Put back the minus sign of a figure the passages only ever state as negative.

    A small model copies "Tăng trưởng GRDP năm 2021 -0,62%" as "tăng trưởng 0,62%": the opposite fact.
    The sign is restored unless the answer words the drop itself ("giảm 0,62%", "âm 0,62%").
    Example: ``restore_signs("Tăng trưởng 0,62% [1].", [Chunk(doc="a", text="GRDP năm 2021 -0,62%")])[0]``
    -> ``"Tăng trưởng -0,62% [1]."``
    """
    signs: dict[str, set[bool]] = {}
    for p in passages:
        for m in _SIGNED.finditer(p.text):
            signs.setdefault(normalize_number(m.group(2)), set()).add(bool(m.group(1)))
    notes: list[str] = []

    def fix(m: re.Match) -> str:
        number = normalize_number(m.group(2))
        before = answer[max(0, m.start() - 12):m.start()].lower()
        if m.group(1) or signs.get(number) != {True} or any(w in before for w in _NEGATIVE_WORDS):
            return m.group(0)
        notes.append(f"restored the minus sign of {m.group(2)} as the passages state it")
        return "-" + m.group(0)

    return _SIGNED.sub(fix, answer), notes


def repair_citations(answer: str, question: str, passages: list[Chunk]) -> tuple[str, list[str]]:
    """Point each sentence's citations at the shown passages that support it.

    The small model often cites [1] for a figure it copied from [2]; a citation an official cannot verify
    is worse than none. A sentence with figures cites the passages holding all of them, those whose best
    sentence shares most words with it first (at most two: the narrative and the table often both state a
    figure); a sentence without figures moves to the passage it clearly copies. Markers written after the
    sentence's full stop ("… 600 triệu USD. [1]") belong to it. Returns the text and a note per change.

    Example: ``repair_citations("Đạt 1.790 tỷ đồng [1].", "q", [p_without, p_with])[0]`` -> ``"Đạt 1.790 tỷ đồng [2]."``
    """
    pnums = [numbers_in(p.text) for p in passages]
    pfigs = [figures_in(p.text) for p in passages]
    ptext = [fold(p.text) for p in passages]
    asked = fold(question)
    notes: list[str] = []

    def overlap(sent: str, p: Chunk) -> int:
        """Words of an answer sentence found in the passage's sentence that best supports it."""
        words = set(tokenize(strip_citations(sent), folded=True)) - _ANSWER_SCAFFOLD
        span = supporting_span(p.text, sent)
        return len(words & set(tokenize(p.text[span[0]:span[1]], folded=True))) if span else 0

    def fix(m: re.Match) -> str:
        sent = m.group(0)
        cites = list(dict.fromkeys(n for n in citations_in(sent) if 1 <= n <= len(passages)))
        nums = _new_figures(sent, question)
        names = {fold(n) for n in _names(strip_citations(sent)) if fold(n) not in asked}  # place names: "Tân Lập, Tân Yên"
        if not cites and not nums and not names:
            return sent
        if nums or names:
            counted = counted_figures(sent)
            score = {i + 1: overlap(sent, passages[i]) for i in range(len(passages))
                     if all(holds_figure(x, counted, pnums[i], pfigs[i]) for x in nums)
                     and all(n in ptext[i] for n in names)}
            if not score:
                return sent  # no passage holds them all: left to the number check
            best = max(score.values())
            chosen = sorted((n for n in score if score[n] >= best / 2), key=lambda n: (n not in cites, -score[n], n))[:2]
        else:
            score = {i: overlap(sent, p) for i, p in enumerate(passages, 1)}
            top = max(score, key=lambda n: (score[n], -n))
            if top in cites or score[top] < 1.5 * max(score[n] for n in cites) + 2:
                return sent
            chosen = [top]
        if chosen == cites:
            return sent
        why = f"the figures and names {sorted(nums | names)} are there" if nums or names else "it copies that passage"
        notes.append(f"citation {cites} -> {chosen}: {why}")
        if not cites:  # the model cited nothing here: the markers go before the full stop
            body = sent.rstrip()
            stop = len(body.rstrip(".!?;:")) if body[-1:] in ".!?;:" else len(body)
            return body[:stop] + " " + "".join(f"[{n}]" for n in chosen) + body[stop:] + sent[len(body):]
        return _retarget(sent, chosen)

    return _SENT_CITED.sub(fix, answer), notes


def _retarget(sentence: str, cites: list[int]) -> str:
    """Replace the citation markers of a sentence with ``cites`` (at the first marker's place)."""
    first = True

    def sub(m: re.Match) -> str:
        nonlocal first
        out, first = (m.group(1) + "".join(f"[{n}]" for n in cites) if first else ""), False
        return out
    return re.sub(r"(\s*)" + _CITE.pattern, sub, sentence)


_CLAUSE_END = re.compile(r"(?<=[,;.])\s+|\n+")  # punctuation then a space: not "1.790" or "92,96"


def drop_unsupported(answer: str, unsupported: list[str], names: list[str] = ()) -> str:
    """Remove the clauses of ``answer`` that state an unsupported number or name; '' when nothing factual
    is left.

    Example: ``drop_unsupported("Đạt 1.790 tỷ đồng [1], bằng 89% [1].", ["89"])`` -> ``"Đạt 1.790 tỷ đồng [1]."``
    """
    bad = set(unsupported)
    clauses = [c for c in _CLAUSE_END.split(answer) if c.strip()]
    kept = [c for c in clauses if not (numbers_in(strip_citations(c)) & bad) and not any(n in c for n in names)]
    text = " ".join(kept).strip().rstrip(",;")
    if not numbers_in(strip_citations(text)) and len(tokenize(strip_citations(text))) < 4:
        return ""
    return text if text.endswith((".", "]")) else text + "."


def key_terms(question: str) -> list[str]:
    """Question terms that evidence must contain: years, other numbers, and names (capitalised words)."""
    terms = [m for m in re.findall(r"\b(?:19|20)\d{2}\b", question)]
    body = re.sub(r"^\W*\w+", "", question)  # the first word is capitalised anyway
    for m in re.finditer(r"(?<![\w])([A-ZĐ][\w]*(?:\s+[A-ZĐ][\w]*)*)", body):
        name = m.group(1)
        if fold(name) in PLACES_FOLDED or all(fold(w) in GENERIC_WORDS for w in name.split()):
            continue
        if name.isupper() and any(name in a.split("-") for a in VOCABULARY.abbreviations):  # the retriever expands it
            continue
        if " " not in name and not name.isupper():  # a lone capitalised word is usually a common noun
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
    """Share of the question's topical syllables (``topic_words``) and their pairs present in a passage."""
    q = topic_words(question)
    if not q:
        return 1.0
    p_tokens = tokenize(passage_text, folded=True)
    p = set(p_tokens) | {f"{a}_{b}" for a, b in zip(p_tokens, p_tokens[1:])}
    q_pairs = [f"{a}_{b}" for a, b in zip(q, q[1:])]  # phrases ("ngân sách", "dự toán") count too
    terms = q + q_pairs
    return sum(t in p for t in terms) / len(terms)


YEAR = re.compile(r"(?<![\d/.,])(?:19|20)\d{2}(?![\d])")
PERIOD = re.compile(r"(?<![\d/.,])((?:19|20)\d{2})\s*[-–]\s*((?:19|20)\d{2})(?![\d])")


# the base a change is measured from ("tăng 5% so với năm 2020", "so với cùng kỳ năm 2022"): not the sentence's year
BASE_YEAR = re.compile(r"(?i)so với (?:cùng kỳ )?(?:năm )?(?:19|20)\d{2}")

# "(không phải số ước cuối năm 2025)": what a question rules out is not what it asks about
NEGATED = re.compile(r"(?i)(?<!\w)(?:không phải|khong phai)[^,;.?()]*")


def years_named(text: str) -> tuple[set[str], list[set[str]]]:
    """The single years a text names outside any period, and each period it names ("2021-2025") as its set of years.

    Example: ``years_named("riêng năm 2021, giai đoạn 2021-2022")`` -> ``({"2021"}, [{"2021", "2022"}])``
    """
    periods = [{str(y) for y in range(int(a), int(b) + 1)} for a, b in PERIOD.findall(text)
               if int(a) <= int(b) <= int(a) + 30]
    return set(YEAR.findall(PERIOD.sub(" ", text))), periods


def asked_years(question: str) -> tuple[set[str], list[set[str]]]:
    """``years_named`` of a question, but a year it rules out ("không phải năm 2025") is not asked."""
    return years_named(NEGATED.sub(" ", question))


# folded words of a question about a plan, a target or an assignment rather than an outcome
_ASKS_PLAN = re.compile(r"\b(?:chi tieu|muc tieu|ke hoach|phan dau|du kien|du toan|nhiem vu|dinh huong|giao|se)\b")


def asks_plan(question: str) -> bool:
    """Whether a question asks for a plan, target or assignment rather than an outcome."""
    return bool(_ASKS_PLAN.search(fold(question)))


def predates_question(question: str, report_date: str) -> bool:
    """Whether a report dated ``report_date`` was written before the end of the year or period asked about.

    Such a report can only state a plan for it: asked the 2021-2025 result, a December 2021 report's "đạt 85%"
    is its target, and the 2025 report's "đạt 90,31%" is the answer. Questions about plans are exempt.
    Example: ``predates_question("Tỷ lệ … giai đoạn 2021-2025 là bao nhiêu?", "12/2021")`` -> ``True``
    """
    single, periods = asked_years(question)
    asked = [int(y) for y in single.union(*periods)]
    written = re.findall(r"(?:19|20)\d{2}", report_date or "")  # "12/2021", "30/11/2021", "2025"
    if not asked or not written or asks_plan(question):
        return False
    return int(written[-1]) < max(asked)


def answer_year_mismatch(question: str, answer: str) -> list[str]:
    """Years the answer states when it states none of the years asked about (asked 2025, says "năm 2021")."""
    single, periods = asked_years(question)
    asked = single.union(*periods)
    said = set(YEAR.findall(strip_citations(answer)))
    return sorted(said) if asked and said and not (asked & said) else []


def year_conflict(question: str, sentence: str, context: str) -> list[str]:
    """Years the question asks about that neither the supporting sentence nor its context (section heading,
    report header) states: the sentence is then about another period ("2025" answered for "2024").
    A period asked about ("giai đoạn 2021-2025") is stated when any of its years is; a single year asked
    about is not stated by a period that includes it ("bình quân giai đoạn 2021-2025 tăng 4,46%/năm" does
    not say what 2021 was)."""
    single, periods = asked_years(question)
    stated = set(YEAR.findall(sentence)) | set(YEAR.findall(context))
    stated_alone = set(YEAR.findall(PERIOD.sub(" ", sentence))) | set(YEAR.findall(PERIOD.sub(" ", context)))
    missing = sorted(single - stated_alone)
    missing += [f"{min(p)}-{max(p)}" for p in periods if not p & stated]
    return missing


def excerpt(passage: str, question: str, max_chars: int) -> str:
    """The part of ``passage`` around its sentences that best match the question, within ``max_chars``.

    A shorter prompt is both faster (prompt processing dominates on a CPU) and easier for a small model:
    fewer neighbouring figures to confuse. Sentences keep their order; cut points are marked with "…".
    """
    if len(passage) <= max_chars:
        return passage
    start, end = excerpt_span(passage, question, max_chars)
    return ("… " if start > 0 else "") + passage[start:end].strip() + (" …" if end < len(passage) else "")


def excerpt_span(passage: str, question: str, max_chars: int) -> tuple[int, int]:
    """Where ``excerpt`` cuts ``passage``: (start, end), the whole passage when it fits."""
    if len(passage) <= max_chars:
        return 0, len(passage)
    q = set(tokenize(question, folded=True)) - GENERIC_WORDS
    sents = _units(passage, max_chars)
    if not sents:
        return 0, max_chars
    scores = [len(q & set(tokenize(passage[a:b], folded=True))) for a, b in sents]
    best = max(range(len(sents)), key=lambda i: (scores[i], -i))
    lo = hi = best
    while True:  # grow around the best sentence, towards the better-scoring neighbour first
        options = [j for j in (lo - 1, hi + 1) if 0 <= j < len(sents)]
        options = [j for j in options if sents[max(hi, j)][1] - sents[min(lo, j)][0] <= max_chars]
        if not options:
            break
        j = max(options, key=lambda j: scores[j])
        lo, hi = min(lo, j), max(hi, j)
    start, end = sents[lo][0], sents[hi][1]
    return start, cut_at_space(passage, start, end, max_chars)  # one very long clause


def cut_at_space(text: str, start: int, end: int, max_chars: int) -> int:
    """``end``, or for a span ``text[start:end]`` longer than ``max_chars`` the last space within ``max_chars`` of
    ``start``: a cut never falls inside a number ("13.…") or a word."""
    if end - start <= max_chars:
        return end
    space = text.rfind(" ", start, start + max_chars)
    return space if space > start else start + max_chars


def _units(passage: str, longest: int) -> list[tuple[int, int]]:
    """Sentence spans of ``passage``; a sentence longer than ``longest`` is split into its "; " clauses.

    Reports list many results in one sentence ("…cho 271 đối tượng; Thực hiện tuyển dụng 836 người…"):
    cutting such a sentence at a character budget dropped the figure asked about.
    """
    spans = []
    for m in SENTENCE.finditer(passage):
        if not m.group(0).strip():
            continue
        if m.end() - m.start() <= longest:
            spans.append((m.start(), m.end()))
            continue
        start = m.start()
        for c in re.finditer(r";\s+", m.group(0)):
            spans.append((start, m.start() + c.start() + 1))
            start = m.start() + c.end()
        spans.append((start, m.end()))
    return spans


def supporting_span(passage: str, answer: str) -> tuple[int, int] | None:
    """The sentence of ``passage`` that best supports ``answer``: shared figures first, then shared years (a
    sentence naming the year asked is not the one stating the figure), then words."""
    a_nums, counted = _answer_numbers(answer), counted_figures(answer)
    a_words = set(tokenize(strip_citations(answer), folded=True))
    best, best_score = None, 0.0
    for m in SENTENCE.finditer(passage):
        sent = m.group(0)
        if not sent.strip():
            continue
        nums, figs = numbers_in(sent), figures_in(sent)
        shared = {x for x in a_nums if holds_figure(x, counted, nums, figs)}
        years = {n for n in shared if YEAR.fullmatch(n)}
        score = 3 * len(shared - years) + len(years) + len(a_words & set(tokenize(sent, folded=True))) / 10
        if score > best_score:
            best, best_score = (m.start(), m.end()), score
    return best


def sentence_stating(passage: str, phrase: str) -> tuple[int, int] | None:
    """The sentence of ``passage`` stating every figure of ``phrase`` ("836 người"), the one sharing most of its
    words when several do; None when none states them all."""
    wanted = counted_figures(phrase)
    span = supporting_span(passage, phrase) if wanted else None
    return span if span and wanted <= figures_in(passage[span[0]:span[1]]) else None
