"""What a question asks for, read from its wording: how many parts it has.

A small model asked "bao nhiêu X và bao nhiêu Y?" often answers X alone; asked part by part, it answers both
(rag/assistant.py). Naming the parts in one prompt did not help: the model echoed them.

Example: ``question_parts("Giảm bao nhiêu ha, trong đó do cháy rừng bao nhiêu?")``
-> ``["Giảm bao nhiêu ha", "trong đó do cháy rừng bao nhiêu?"]``
"""
from __future__ import annotations

import re
import unicodedata

from .text import fold

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
