"""Vietnamese text normalization shared by cleaning, indexing and querying.

The index and the query must see exactly the same transformations, so they live in one place.

Example: ``fold("Thủy điện Đồng Nai") == "thuy dien dong nai"`` and
``canonical_tones("hoà thuỷ uỷ") == "hòa thủy ủy"``.
"""
from __future__ import annotations

import re
import unicodedata

from .vocabulary import VOCABULARY

# Combining tone marks (the other combining marks are vowel shapes: breve, circumflex, horn).
TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
_VOWELS = set("aăâeêioôơuưy")
_SHAPED = set("ăâêôơư")
_WORD = re.compile(r"[^\W\d_]+")


def _place_tone(base: str, tone: str) -> str:
    """Put ``tone`` on the vowel the common modern convention uses ("hòa", "thủy", "quý", "ngoài")."""
    low = base.lower()
    start = 0
    if len(low) > 2 and low[:2] in ("qu", "gi") and low[2] in _VOWELS:
        start = 2
    idx = [i for i in range(start, len(low)) if low[i] in _VOWELS]
    if not idx:
        idx = [i for i in range(len(low)) if low[i] in _VOWELS]
        if not idx:
            return unicodedata.normalize("NFC", base + tone)
    # the first contiguous vowel run
    run = [idx[0]]
    for i in idx[1:]:
        if i == run[-1] + 1:
            run.append(i)
        else:
            break
    shaped = [i for i in run if low[i] in _SHAPED]
    if shaped:
        pos = shaped[-1]
    elif run[-1] < len(low) - 1:  # closed syllable: tone on the last vowel of the run
        pos = run[-1]
    elif len(run) >= 3:
        pos = run[1]
    else:
        pos = run[0]
    decomposed = unicodedata.normalize("NFD", base[pos])
    return unicodedata.normalize("NFC", base[:pos] + decomposed + tone + base[pos + 1:])


def _canon_word(m: re.Match) -> str:
    word = m.group(0)
    nfd = unicodedata.normalize("NFD", word)
    tones = [c for c in nfd if c in TONES]
    if len(tones) != 1:
        return word
    base = unicodedata.normalize("NFC", "".join(c for c in nfd if c not in TONES))
    if not any(c in _VOWELS for c in base.lower()):
        return word
    return _place_tone(base, tones[0])


def canonical_tones(text: str) -> str:
    """NFC text with one tone-mark placement per syllable; the length in characters is unchanged."""
    return _WORD.sub(_canon_word, unicodedata.normalize("NFC", text))


def fold(text: str) -> str:
    """Lower-case and strip every diacritic (đ -> d): how accentless queries are matched."""
    nfd = unicodedata.normalize("NFD", text.lower().replace("đ", "d").replace("Đ", "d"))
    return unicodedata.normalize("NFC", "".join(c for c in nfd if not unicodedata.combining(c)))


def has_diacritics(text: str) -> bool:
    """True when the text carries any Vietnamese mark (the user typed with accents)."""
    return fold(text) != text.lower()


SENTENCE = re.compile(r"(?:[^.!?\n]|(?<=\d)\.(?=\d))+(?:[.!?]+|$)")  # "1.790" does not end a sentence
# Generic words in questions (folded) that say nothing about which passage answers them: the vocabulary file's
# generic words and its place names (every passage of a province's reports names the province).
_GENERIC = VOCABULARY.generic + [w for p in VOCABULARY.places for w in p.split()]
GENERIC_WORDS = {fold(w) for w in _GENERIC}
# with their marks: folded, "trạm" would be "trăm" (generic) and "vị" would be "vì" (a stopword)
GENERIC_ACCENTED = {canonical_tones(w).lower() for w in _GENERIC}
PLACES_FOLDED = {fold(p) for p in VOCABULARY.places}

# Tokens: document codes ("1486/QĐ-TTg"), numbers kept whole ("1.028.633", "92,96", "26/4/2022"), words.
_TOKEN = re.compile(
    r"\d+(?:/\d+)*/[^\W_]+(?:-[^\W_]+)*"  # codes: 1486/QĐ-TTg, 12/2018/QĐ-TTg
    r"|\d+(?:[.,/]\d+)*"  # numbers and dates
    r"|[^\W\d_]+"  # words (syllables)
)

# Function words and question words carry no topic; dropping them keeps BM25 on what matters.
STOPWORDS = set("""
và của các những là được có cho với trong theo từ đến này đó thì mà để về như khi đã đang sẽ một
bao nhiêu nào gì ra sao không hay hoặc là ai đâu tại vì bởi trên dưới so
""".split())
STOPWORDS_FOLDED = {fold(w) for w in STOPWORDS}


def tokenize(text: str, folded: bool = False, stopwords: bool = True) -> list[str]:
    """Syllable tokens with numbers and codes whole; ``folded`` strips diacritics first.

    Folded stopwords are ambiguous ("co" is "có" but also "cơ" in "cơ cấu", "dau" is "đầu" in "đầu tư"),
    so the lexical index's folded field passes ``stopwords=False`` and lets BM25's IDF weigh them.

    Example: ``tokenize("Tiêm 1.028.633 mũi")`` -> ``["tiêm", "1.028.633", "mũi"]``
    """
    text = canonical_tones(text).lower()
    if folded:
        text = fold(text)
    stop = (STOPWORDS_FOLDED if folded else STOPWORDS) if stopwords else ()
    return [t for t in _TOKEN.findall(text) if t not in stop]


# Phrases that only say "this is a question" ("bao nhiêu", "như thế nào", "nêu"): in BM25 they are rare
# in reports, so they would score as if they were topical. Matched with their marks when the query has
# them ("mấy" is not "máy" in "nhà máy"), folded otherwise.
QUESTION_PHRASES = """
như thế nào|thế nào|ra sao|là gì|là những gì|những gì|gồm những|bao gồm những|là bao nhiêu|bao nhiêu|
là ai|những ai|ở đâu|khi nào|bao giờ|vì sao|tại sao|có phải|hay không|được không|hãy|cho biết|
nêu rõ|nêu|liệt kê|thứ mấy|mấy
""".replace("\n", "").split("|")


def _phrase_pattern(phrases) -> re.Pattern:
    return re.compile(r"(?<!\w)(?:" + "|".join(sorted(map(re.escape, phrases), key=len, reverse=True)) + r")(?!\w)")


_QUESTION_ACCENTED = _phrase_pattern(QUESTION_PHRASES)
_QUESTION_FOLDED = _phrase_pattern({fold(p) for p in QUESTION_PHRASES if fold(p) != "may"})  # "nha may"


def topic_words(question: str) -> list[str]:
    """The question's topical syllables, folded: no stopword, generic word, number or single letter ("4G" is no
    "g"). A question with marks is filtered with them, where folding would merge words ("trạm" and "trăm").

    Example: ``topic_words("Số vị trí trạm BTS ở Cao Bằng?")`` -> ``["vi", "tri", "tram", "bts"]``
    """
    if has_diacritics(question):
        words = [fold(t) for t in tokenize(question) if t not in GENERIC_ACCENTED]
    else:
        words = [t for t in tokenize(question, folded=True) if t not in GENERIC_WORDS]
    return [t for t in words if not t[0].isdigit() and len(t) > 1]


def strip_question_words(query: str) -> str:
    """Drop question scaffolding from a search query, keeping the topic words and every number.

    Example: ``strip_question_words("Thu ngân sách năm 2021 là bao nhiêu?")`` -> ``"Thu ngân sách năm 2021 ?"``
    """
    return strip_phrases(query, _QUESTION_ACCENTED, _QUESTION_FOLDED)


def phrase_patterns(phrases) -> tuple[re.Pattern, re.Pattern]:
    """(with marks, folded) patterns of whole ``phrases`` for ``strip_phrases``."""
    return (_phrase_pattern({canonical_tones(p).lower() for p in phrases}),
            _phrase_pattern({fold(p) for p in phrases}))


def strip_phrases(query: str, accented_pattern: re.Pattern, folded_pattern: re.Pattern) -> str:
    """``query`` without the phrases a pattern matches: with marks when the query has them, folded otherwise."""
    low = canonical_tones(query).lower()
    accented = has_diacritics(query)
    target = low if accented else fold(low)
    if len(target) != len(query):  # rare characters whose case/fold changes length: leave the query alone
        return query
    out, last = [], 0
    for m in (accented_pattern if accented else folded_pattern).finditer(target):
        out.append(query[last:m.start()])
        last = m.end()
    out.append(query[last:])
    return "".join(out)


# "Theo báo cáo … tháng 12/2021," names the report, not the topic: its words ("báo cáo", "kinh tế - xã
# hội", "trình HĐND") match cover pages and closing paragraphs. The report facets still read the full
# question; the content search does not. Stops at , ; ? ) or "là" ("theo báo cáo X là bao nhiêu").
_SOURCE_PHRASE = re.compile(
    r"(?<!\w)theo\s+(?:cac\s+)?(?:bao cao|ket luan|tai lieu|bc)(?!\w)(?:\([^)]*\)|(?!\bla\b)[^,;?()])*[,;]?")


def split_source_phrase(query: str) -> tuple[str, str]:
    """Split off the phrase that says which report to read: (what is asked, the phrase).

    Example: ``split_source_phrase("Theo báo cáo tháng 12/2021, vốn đầu tư tăng bao nhiêu?")``
    -> ``(" vốn đầu tư tăng bao nhiêu?", "Theo báo cáo tháng 12/2021,")``
    """
    target = fold(canonical_tones(query).lower())
    if len(target) != len(query):
        return query, ""
    content, source, last = [], [], 0
    for m in _SOURCE_PHRASE.finditer(target):
        content.append(query[last:m.start()])
        source.append(query[m.start():m.end()])
        last = m.end()
    content.append(query[last:])
    rest = "".join(content)
    return (rest, " ".join(source)) if rest.strip(" ?()") else (query, "")


def with_bigrams(tokens: list[str]) -> list[str]:
    """Unigrams plus adjacent bigrams: Vietnamese words are mostly two syllables ("ngân sách")."""
    return tokens + [f"{a}_{b}" for a, b in zip(tokens, tokens[1:])]


def normalize_number(token: str) -> str:
    """Vietnamese number to a canonical form: "1.028.633" -> "1028633", "92,96" -> "92.96"."""
    t = token.strip().rstrip("%").strip()
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?", t):
        t = t.replace(".", "")
    t = t.replace(",", ".")
    if re.fullmatch(r"\d+\.\d+", t):
        t = t.rstrip("0").rstrip(".") if "." in t else t
    return t.lstrip("0") or "0" if re.fullmatch(r"\d+", t) else t


_NUMBER = re.compile(r"(?<![\d.,])\d+(?:[.,]\d+)*")


def numbers_in(text: str) -> set[str]:
    """All numbers in a text, normalized (dates and codes contribute their parts)."""
    return {normalize_number(m.group(0).rstrip(".,")) for m in _NUMBER.finditer(text)}
