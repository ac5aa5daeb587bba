"""Clean report text without changing its meaning: NFC + canonical tone marks, joined PDF line wraps,
footnotes moved out of the running text (kept, to be indexed on their own) or, where a converted report prints a
page's notes inside a sentence, moved after it; markdown emphasis removed.

Example: ``clean_text("bằng 14,3% KH1.\\n\\n1 Theo báo cáo...").footnotes[0].text`` -> ``"Theo báo cáo..."``
"""
from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from .text import canonical_tones

_TERMINAL = tuple(".:;!?…")
_CAPS = "A-ZĐÂĂÊÔƠƯÁÀẢÃẠÉÈẺẼẸÍÌỈĨỊÓÒỎÕỌÚÙỦŨỤÝỲỶỸỴ“\"("
# A line opening with a bare number is a list item / footnote only when a capital follows ("12 Công ty");
# "2021 ban hành", "19 cơ bản" are wrapped sentences.
_LIST_MARK = re.compile(r"^\s*(?:[-+•*–]\s|[a-zđ]\)\s|\d{1,2}(?:\.\d{1,2})*\.\s|\d{1,2}(?:\.\d{1,2})+\s"
                        rf"|\d{{1,2}}\s(?=[{_CAPS}])|[IVXLC]+\.\s|[A-ZĐ]\.\s|#|\*\*|Phần thứ)")
_FOOTNOTE = re.compile(rf"^\s?(\d{{1,2}})\s+(?=[{_CAPS}])(.*)$")  # PDF notes are often "16   Nhà máy…"
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_NUMBERED = re.compile(r"^\s*(?:\d{1,2}(?:\.\d{1,2})*\.?\s|[IVXLC]+\.\s)")
_EMPHASIS = re.compile(r"(\*\*|__|(?<!\w)\*(?!\s)|(?<!\s)\*(?!\w)|`)")
_INLINE_NOTE = re.compile(r"^\(Chú thích \d+\) ")  # a converted report's footnote, kept where it was printed
_NOTES_SPAN = 40  # lines a page's notes may take before the interrupted sentence goes on


@dataclass
class Footnote:
    number: int
    text: str
    offset: int  # where its marker was in the cleaned text (so it inherits that section)


@dataclass
class CleanText:
    text: str
    footnotes: list[Footnote] = field(default_factory=list)


def _strip_emphasis(line: str) -> str:
    """Drop markdown bold/italic markers but keep a bold-only line visibly a heading ("**Phần thứ nhất**")."""
    stripped = line.strip()
    if re.fullmatch(r"\*\*[^*]+\*\*", stripped):
        return "## " + stripped.strip("*").strip()
    return _EMPHASIS.sub("", line)


def _upper(s: str) -> bool:
    letters = [c for c in s if c.isalpha()]
    return len(letters) >= 6 and sum(c.isupper() for c in letters) / len(letters) > 0.8


def _is_wrapped(line: str, nxt: str, wide: int) -> bool:
    """Does ``line`` continue on ``nxt``? (a hard wrap from PDF extraction, not a paragraph end)"""
    a, b = line.rstrip(), nxt.lstrip()
    if not a or not b or a.startswith("#") or b.startswith("#"):
        return False
    if _LIST_MARK.match(nxt) and (not nxt.startswith(" ") or _NUMBERED.match(nxt)):
        return False  # an indented " - xã hội" continues a line; an indented " 1. Công tác" does not
    if a.endswith(":") and (b[0].islower() or b[0].isdigit()):
        return True  # "... năm là:" / "403,819 tỷ đồng" is one sentence
    if a.endswith(_TERMINAL):
        return False
    if b[0].islower() or b[0].isdigit() or nxt.startswith(" "):
        return True
    if _upper(a) and _upper(b):  # a capitals heading wrapped over two lines
        return True
    if _LIST_MARK.match(line):  # a heading or list item stops before a capitalised line
        return False
    return len(line) >= wide  # a full-width line that stopped without punctuation


def _rejoin_around_notes(lines: list[str]) -> list[str]:
    """Move a page's notes out of the sentence they interrupt.

    A converted report prints each page's footnotes ("(Chú thích 1) …", with any lines of theirs) where the page
    ends, often mid-sentence: "… có 257.246 người … được tiêm ít" / notes / "nhất 1 mũi vắc xin (chiếm 68% …)".
    When the body line before the notes stops without punctuation and a lower-case line after them goes on, that
    line's paragraph moves up to finish the sentence and the notes follow it: the figure and what it counts are one
    sentence again. Anything else (a heading, a line ending a sentence, no lower-case line soon after) is left.
    """
    out, i = list(lines), 0
    while i < len(out):
        if not _INLINE_NOTE.match(out[i]):
            i += 1
            continue
        body = i - 1
        while body >= 0 and not out[body].strip():
            body -= 1
        before = out[body].rstrip() if body >= 0 else ""
        if not before or before.endswith(_TERMINAL) or before.lstrip().startswith("#") or _INLINE_NOTE.match(before):
            i += 1
            continue
        goes_on = next((j for j in range(i + 1, min(len(out), i + _NOTES_SPAN))
                        if out[j].strip() and not _INLINE_NOTE.match(out[j])
                        and (out[j].lstrip().startswith("#") or out[j].lstrip()[0].islower())), None)
        if goes_on is None or out[goes_on].lstrip().startswith("#"):
            i += 1
            continue
        end = goes_on
        while end < len(out) and out[end].strip():
            end += 1
        out = out[:body + 1] + out[goes_on:end] + out[body + 1:goes_on] + out[end:]
        i = end  # past the paragraph moved up and the notes now after it
    return out


def _line_width(lines: list[str]) -> int:
    lengths = [len(x) for x in lines if len(x.strip()) > 20]
    if len(lengths) < 20:
        return 10**6
    return int(statistics.quantiles(lengths, n=10)[6] * 0.8)  # 70th percentile, with slack


def _continues_note(last: str, nxt: str) -> bool:
    """After a blank line, does a footnote go on? Yes onto a lower-case line ("trấn Pác Miầu…"), or when a
    capitalised name is split ("…huyện Nguyên" / "Bình, tỉnh…")."""
    if not nxt.strip() or nxt.startswith(" ") or _FOOTNOTE.match(nxt) or _LIST_MARK.match(nxt):
        return False
    words = last.split()
    return nxt[0].islower() or bool(words and words[-1][:1].isupper() and nxt[0].isupper())


def _extract_footnotes(lines: list[str]) -> tuple[list[str], list[tuple[int, str, int]]]:
    """Pull sequentially numbered footnote blocks ("1 Theo báo cáo...") out of the line list.

    A line is a footnote when its number is the next expected one and a matching marker
    ("KH1.", "rải rác3,") occurs shortly before it. Returns remaining lines and (number, text, line index).
    """
    out: list[str] = []
    notes: list[tuple[int, str, int]] = []
    expected = 1
    i = 0
    recent = ""
    while i < len(lines):
        m = _FOOTNOTE.match(lines[i])
        if m and expected <= int(m.group(1)) <= expected + 15:
            n = int(m.group(1))
            if _marker(n).search(recent[-4000:]):
                block = [m.group(2).strip()]
                j = i + 1
                while not block[-1].endswith(_TERMINAL) and j < len(lines) and j - i < 12:
                    nxt = lines[j]
                    if not nxt.strip() and j + 1 < len(lines) and _continues_note(block[-1], lines[j + 1]):
                        j += 1  # a double-spaced PDF note wraps across a blank line
                        continue
                    if not nxt.strip() or nxt.startswith(" ") or _FOOTNOTE.match(nxt):
                        break
                    block.append(nxt.strip())
                    j += 1
                notes.append((n, " ".join(block), len(out)))
                expected = n + 1
                i = j
                continue
        out.append(lines[i])
        recent = (recent + "\n" + lines[i])[-4000:]
        i += 1
    return out, notes


def _marker(n: int) -> re.Pattern:
    """Footnote marker ``n`` in running text: glued to a word, a "%" or a closing mark ("KH1.", "rải rác3,"), or
    following the marker before it and followed by punctuation ("di tích cấp quốc gia24 25.": two notes on one
    phrase; not "KH24 25 xã", a figure)."""
    return re.compile(rf"(?<=[^\W\d_]|[%)\]”\"]){n}(?=[.,;:\s)]|$)|(?<=[^\W\d_]{n - 1}) {n}(?=[.,;:)])")


def _remove_marker(text: str, n: int, before: int, previous: int | None = None) -> tuple[str, int]:
    """Remove the footnote marker ``n`` nearest before char ``before``; returns new text and its position.
    ``previous``: where marker ``n - 1`` was just removed, which ``n`` may follow after a space ("gia24 25")."""
    if previous is not None and (m := re.match(rf" {n}(?=[.,;:)])", text[previous:])):
        return text[:previous] + text[previous + m.end():], previous
    found = None
    for m in _marker(n).finditer(text, 0, before):
        found = m
    if not found:
        return text, before
    return text[:found.start()] + text[found.end():], found.start()


def clean_text(raw: str) -> CleanText:
    """Normalize a whole report: see the module docstring."""
    # Unicode superscript footnotes ("²⁹ 03 Đề án…", "Đề án²⁹") are the same thing written another way
    # (not a unit: "120 m²", "5km³"); converted first, as a superscript glued to a word hides its tone mark.
    raw = re.sub(r"(?<![\d\s]m)(?<![\d\s][kcdh]m)[⁰¹²³⁴⁵⁶⁷⁸⁹]+",
                 lambda m: f"<sup>{m.group(0).translate(_SUPERSCRIPT)}</sup>", raw)
    text = canonical_tones(raw.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " "))
    text = text.replace("\f", "\n")
    # HTML footnotes from converted reports: "<sup>12</sup> Trong đó: …" at a line start is the note itself,
    # "113%<sup>11</sup>." in running text is its marker (dropped: it would glue onto the figure).
    text = re.sub(r"(?m)^\s*<sup>(\d+)</sup>\s*", r"(Chú thích \1) ", text)
    text = re.sub(r"<sup>\d+</sup>", "", text)
    lines = _rejoin_around_notes([_strip_emphasis(x.rstrip()) for x in text.split("\n")])
    lines, raw_notes = _extract_footnotes(lines)
    wide = _line_width(lines)

    # Join hard wraps; a wrap may also span a blank line (PDF extraction that double-spaces lines).
    paras: list[str] = []
    note_at_para: dict[int, list[tuple[int, str]]] = {}
    note_iter = iter(sorted(raw_notes, key=lambda x: x[2]))
    pending = next(note_iter, None)
    cur = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        while pending is not None and pending[2] <= i:
            # the marker is in the open paragraph, or in the last closed one
            note_at_para.setdefault(len(paras) if cur else max(len(paras) - 1, 0), []).append(
                (pending[0], pending[1]))
            pending = next(note_iter, None)
        if not line.strip():
            # look past one blank line: join if the text clearly continues
            if cur and i + 1 < len(lines) and lines[i + 1].strip() and _is_wrapped(cur, lines[i + 1], wide) \
                    and (lines[i + 1].lstrip()[:1].islower() or lines[i + 1].startswith(" ")
                         or not _LIST_MARK.match(cur)) \
                    and (not lines[i + 1][:1].isdigit() or cur[-1:].islower() or cur[-1:] in "-,:"):
                i += 1
                continue
            if cur:
                paras.append(cur)
                cur = ""
            i += 1
            continue
        if cur and _is_wrapped(cur, line, wide):
            sep = "" if re.search(r"\d-$", cur.rstrip()) and line.lstrip()[:1].isdigit() else " "  # "2021-" + "2025"
            cur = cur.rstrip() + sep + line.strip()
        else:
            if cur:
                paras.append(cur)
            cur = line.strip() if not line.startswith("#") else line
        i += 1
    if cur:
        paras.append(cur)
    while pending is not None:
        note_at_para.setdefault(len(paras), []).append((pending[0], pending[1]))
        pending = next(note_iter, None)

    cleaned = ""
    footnotes: list[Footnote] = []
    for p_idx, para in enumerate(paras + [""]):
        if para:
            para = re.sub(r"[ \t]+", " ", para)
            cleaned += ("\n\n" if cleaned else "") + para
        for n, note in note_at_para.get(p_idx, []):
            previous = footnotes[-1].offset if footnotes and footnotes[-1].number == n - 1 else None
            cleaned, pos = _remove_marker(cleaned, n, len(cleaned), previous)
            footnotes.append(Footnote(n, re.sub(r"\s+", " ", note).strip(), pos))
    return CleanText(cleaned, footnotes)
