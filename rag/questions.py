"""What a question asks for, read from its wording: how many parts it has, and whether it leans on the turn before.

A small model asked "bao nhiêu X và bao nhiêu Y?" often answers X alone; asked part by part, it answers both
(rag/assistant.py). Naming the parts in one prompt did not help: the model echoed them.

Example: ``question_parts("Giảm bao nhiêu ha, trong đó do cháy rừng bao nhiêu?")``
-> ``["Giảm bao nhiêu ha", "trong đó do cháy rừng bao nhiêu?"]``
"""
from __future__ import annotations

import re
import unicodedata

from .text import GENERIC_WORDS, canonical_tones, fold, has_diacritics, strip_question_words, tokenize

# folded interrogatives that each ask for one thing; "nào" alone is left out ("những xã nào" is one list)
_ASKS = re.compile(r"\b(?:bao nhieu|thu may|khi nao|(?:ngay|nam|thang|don vi|co quan) nao|"
                   r"gi|ai)\b")
_JOIN = re.compile(r",\s+|;\s+|\s+va\s+")


def question_parts(question: str) -> list[str]:
    """The question split where one asked-for thing ends and the next begins ([question] when only one).

    Splits at the last ", ", "; " or " và " between two interrogatives, so "bao nhiêu công chức, viên chức
    và … bao nhiêu người" splits at "và", not inside the list "công chức, viên chức".
    """
    question = unicodedata.normalize("NFC", question)
    folded = fold(question)
    if len(folded) != len(question):  # positions must carry over from the folded text
        return [question]
    asks = list(_ASKS.finditer(folded))
    parts, start = [], 0
    for this, nxt in zip(asks, asks[1:]):
        joins = list(_JOIN.finditer(folded, this.end(), nxt.start()))
        if joins:
            parts.append(question[start:joins[-1].start()].strip())
            start = joins[-1].end()
    parts.append(question[start:].strip())
    return [p for p in parts if p] if len(parts) > 1 else [question]


# A question that goes on from the turn before: "Còn năm 2023 thì sao?", "Vậy khu vực dịch vụ?", "số đó đạt bao
# nhiêu % kế hoạch?". Accented forms, matched with their marks ("nó" is not "nợ"); the folded ones are phrases
# of two syllables or more, unambiguous without marks.
_LEADS_ON = re.compile(r"^\W*(?:còn|vậy|thế còn|thế|thì|và|nhưng|so với)(?!\w)", re.I)
_REFERS_BACK = re.compile(r"(?<!\w)(?:thì sao|như vậy|như thế(?! nào)|nói trên|kể trên|năm đó|năm ấy|kỳ đó|số đó|số này|"
                          r"con số (?:đó|này|trên)|chỉ tiêu (?:đó|này|trên)|nó|họ)(?!\w)", re.I)
_REFERS_BACK_FOLDED = re.compile(r"(?<!\w)(?:thi sao|nhu vay|noi tren|ke tren|con so (?:do|nay|tren)|"
                                 r"chi tieu (?:do|nay|tren))(?!\w)")


def is_follow_up(question: str) -> bool:
    """Whether a question needs the previous turn to be understood: it leads on from it ("Còn …", "Vậy …"), refers
    back to it ("thì sao", "số đó", "nó"), or names no topic at all ("Năm 2023?"). Only such a question is rewritten
    before retrieval: the rewrite is a generation (seconds on a CPU) that a standalone question does not need, and
    the evidence shows only after it.

    Example: ``is_follow_up("Còn năm 2023 thì sao?")`` -> ``True``; ``is_follow_up("GRDP năm 2022 tăng bao
    nhiêu?")`` -> ``False``
    """
    text = canonical_tones(question.strip())
    if has_diacritics(text):
        if _LEADS_ON.search(text) or _REFERS_BACK.search(text):
            return True
    elif _LEADS_ON.search(fold(text)) or _REFERS_BACK_FOLDED.search(fold(text)):
        return True
    return not [t for t in tokenize(strip_question_words(text), folded=True) if t not in GENERIC_WORDS
                and not t[0].isdigit()]


# "ai ký", "người ký", "do ai ký", "ký bởi": who signed the document (its signature block, rag/chunk.py)
_SIGNER = re.compile(r"\b(?:ai|nguoi|nguoi da|do ai) ky\b|\bky boi\b|\bky (?:ten|van ban|bao cao|thong bao)? ?la ai\b")


def asks_signer(question: str) -> bool:
    """Whether a question asks who signed a report.

    Example: ``asks_signer("Thông báo kết luận do ai ký?")`` -> True; ``asks_signer("đăng ký mới bao nhiêu?")``
    -> False
    """
    return bool(_SIGNER.search(fold(question)))
