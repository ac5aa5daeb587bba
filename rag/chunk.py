"""Section-aware chunking: detect the report's heading hierarchy, then split within each section.

Every chunk carries doc id, report title and date, heading path, page and char span in the cleaned
text, so an answer can cite exactly where a figure came from.

Example: ``chunk_document(load_document("data/reports/x.txt"))[0].heading_path`` -> ``["Phần thứ nhất ..."]``
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from .clean import clean_text
from .types import Chunk, Document

CHUNKER_VERSION = "12"

_LEVELS = [  # (level, pattern, max length) — lower level = higher in the hierarchy
    (0, re.compile(r"^(?:Phần|PHẦN)\s+(?:thứ|THỨ)?\s*\S+", re.U), 200),
    (2, re.compile(r"^[IVXL]{1,5}\.\s+\S"), 220),
    (1, re.compile(r"^[A-HJ-UWYZĐ]\.\s+\S"), 200),
    (5, re.compile(r"^\d{1,2}\.\d{1,2}\.\d{1,2}\.?\s+\S"), 180),
    (4, re.compile(r"^\d{1,2}\.\d{1,2}\.?\s+\S"), 180),
    (3, re.compile(r"^\d{1,2}\.\s+\S"), 160),
    (6, re.compile(r"^[a-zđ]\)\s+\S"), 120),
]
_MD = re.compile(r"^(#{1,6})\s+(.*)$")
# The signer's authority at a document's end (TM. thay mặt, KT. ký thay, TL. thừa lệnh, TUQ. thừa ủy quyền,
# Q. quyền), then the signer's name: kept as a "Người ký" chunk, not read as a heading with an empty section.
_SIGNATURE = re.compile(r"^(?:#+\s*)?(?:TM|KT|TL|TUQ|Q)\.\s*[A-ZĐÂĂÊÔƠƯÁÀẢÃẠÉÈẺẼẸÍÌỈĨỊÓÒỎÕỌÚÙỦŨỤÝỲỶỸỴ]")
_PERSON = re.compile(r"[^\W\d_][^\W\d_]*(?:\s+[^\W\d_]+){1,4}")
SIGNATURE_HEADING = "Người ký"
_MD_MARK = re.compile(r"^#{1,6}\s+", re.M)
_DOC_KIND = re.compile(r"^(BÁO CÁO|THÔNG BÁO|KẾT LUẬN|NGHỊ QUYẾT|TỜ TRÌNH|KẾ HOẠCH|QUYẾT ĐỊNH)\b")
_DATE_FULL = re.compile(r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})", re.I)
_DATE_MONTH = re.compile(r"tháng\s+(\d{1,2})\s*/\s*(\d{4})", re.I)
_YEAR = re.compile(r"\b(20\d{2}|19\d{2})\b")


@dataclass
class DocInfo:
    """Report-level metadata parsed from the header; ``header`` is what date/level questions match."""
    title: str
    date: str
    header: str


def _is_caps(s: str) -> bool:
    letters = [c for c in s if c.isalpha()]
    return len(letters) >= 6 and sum(c.isupper() for c in letters) / len(letters) > 0.8


def heading_level(para: str) -> int | None:
    """The hierarchy level of a heading paragraph, or None for body text."""
    m = _MD.match(para)
    text = m.group(2).strip() if m else para.strip()
    if not text or len(text) > 220 or "\n" in text:
        return None
    for level, pat, max_len in _LEVELS:
        if pat.match(text):
            if len(text) > max_len or (level >= 3 and text.endswith((";", ",")) and not _is_caps(text)):
                return None
            if level >= 3 and len(text.split()) > 30:
                return None
            return level
    if m:
        return min(len(m.group(1)), 3) - 1
    if _is_caps(text) and len(text) <= 150 and not re.search(r"\d[.,]\d", text):
        return 1
    return None


def parse_doc_info(text: str, fallback_title: str) -> DocInfo:
    """Title and date from the first paragraphs ("BÁO CÁO" + subject lines; "ngày 30 tháng 11 năm 2021")."""
    paras = [p.strip().lstrip("#").strip() for p in text[:4000].split("\n\n") if p.strip()]
    title = ""
    for i, p in enumerate(paras[:12]):
        if _DOC_KIND.match(p):
            kind = _DOC_KIND.match(p).group(1)
            parts = [p[len(kind):].strip(" :")] if len(p) > len(kind) + 3 else []
            for q in paras[i + 1:i + 4]:
                if q.startswith("(") or len(q) > 260 or heading_level(q) is not None and not _is_caps(q):
                    break
                if _is_caps(q) and parts:
                    break
                parts.append(q)
            title = kind.capitalize() + ": " + " ".join(x for x in parts if x).strip(" ,;")
            break
    if not title or title.endswith(": "):
        title = next((p for p in paras if 10 < len(p) < 200), fallback_title)
    head = "\n".join(paras[:8])[:1200]
    date = ""
    if m := _DATE_FULL.search(head):
        date = f"{int(m.group(1))}/{int(m.group(2))}/{m.group(3)}"
    elif m := _DATE_MONTH.search(head):
        date = f"{int(m.group(1))}/{m.group(2)}"
    elif years := _YEAR.findall(title):
        date = years[-1]
    return DocInfo(title=re.sub(r"\s+", " ", title)[:300], date=date, header=head)


def _page_starts(document: Document, cleaned: str) -> list[tuple[int, int]]:
    """(offset in cleaned text, page number) for each page, found by its first words."""
    starts: list[tuple[int, int]] = []
    pos = 0
    for page in document.pages:
        if page.number is None:
            continue
        words = clean_text(page.text).text.split()[:4]
        if not words:
            continue
        found = cleaned.find(" ".join(words), pos)
        if found < 0:
            found = cleaned.find(words[0], pos)
        if found >= 0:
            starts.append((found, page.number))
            pos = found
    return starts


def chunk_document(document: Document, chunk_size: int = 700, chunk_overlap: int = 120) -> tuple[list[Chunk], DocInfo]:
    """Clean, detect sections, split each section's body; footnotes become their own chunks."""
    raw = "\n\f".join(p.text for p in document.pages)
    cleaned = clean_text(raw)
    text = cleaned.text
    info = parse_doc_info(text, fallback_title=document.doc)
    pages = _page_starts(document, text)
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size, chunk_overlap=chunk_overlap, add_start_index=True,
        separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""], keep_separator="end")

    # Walk paragraphs, maintaining the heading stack; collect (path, start, end) body sections.
    sections: list[tuple[list[str], int, int]] = []
    stack: list[tuple[int, str]] = []
    body_start = None
    offset = 0
    prev_heading_level = None
    last_number: dict[int, int] = {}  # level -> last "n." seen, to reject out-of-sequence numbers
    signature = None  # where a signer's authority line starts, until the name after it
    for para in text.split("\n\n"):
        start, end = offset, offset + len(para)
        offset = end + 2
        if _SIGNATURE.match(para.strip()) and len(para) < 200:
            if body_start is not None and body_start < start:
                sections.append(([h for _, h in stack], body_start, start))
            body_start, signature = None, start
            continue
        if signature is not None and para.strip():
            name = _MD.sub(r"\2", para).strip()
            if _PERSON.fullmatch(name) and name[:1].isupper() and not _is_caps(name):
                sections.append(([SIGNATURE_HEADING], signature, end))
                signature = None
                continue
            body_start, signature = signature, None  # no name follows: ordinary text
        level = heading_level(para)
        if level in (3, 4):
            n = int(re.match(r"^\W*(?:#+\s*)?(?:\d+\.)?(\d+)", para.lstrip("# ")).group(1)) \
                if level == 4 else int(re.match(r"^\d+", para.lstrip("# ")).group(0))
            if n not in (1, last_number.get(level, 0) + 1):
                level = None  # e.g. a footnote "3. Tình hình…" extracted as a numbered line
            else:
                last_number[level] = n
                for deeper in [lv for lv in last_number if lv > level]:
                    last_number.pop(deeper)
        if level is not None:
            if body_start is not None and body_start < start:
                sections.append(([h for _, h in stack], body_start, start))
            body_start = None
            heading = _MD.sub(r"\2", para).strip()
            if _DOC_KIND.fullmatch(heading) or (len(heading) > 15 and heading in info.title):
                continue  # the report's own title block ("BÁO CÁO"), already the chunk's title
            if prev_heading_level == 0 and stack and stack[-1][0] == 0 and _is_caps(heading) \
                    and not any(pat.match(heading) for _, pat, _ in _LEVELS):
                stack[-1] = (0, f"{stack[-1][1].rstrip(': ')}: {heading}")  # "Phần thứ nhất" + its caps title
                prev_heading_level = None  # only one title line: "A. KẾT QUẢ..." after it is a heading below
                continue
            while stack and stack[-1][0] >= level:
                stack.pop()
            for deeper in [lv for lv in last_number if lv > level]:
                last_number.pop(deeper)
            stack.append((level, heading[:200]))
            prev_heading_level = level
            if level >= 3:  # numbered headings and "a)" items often carry content: keep them in the text
                body_start = start
            continue
        prev_heading_level = None
        if body_start is None:
            body_start = start
    if body_start is not None or signature is not None:
        sections.append(([h for _, h in stack], body_start if body_start is not None else signature, len(text)))

    chunks: list[Chunk] = []
    for path, s_start, s_end in sections:
        body = text[s_start:s_end]
        for piece in splitter.create_documents([body]):
            p_text = _MD_MARK.sub("", piece.page_content).strip()
            if len(p_text) < 20:
                continue
            p_start = s_start + piece.metadata["start_index"]
            chunks.append(Chunk(doc=document.doc, text=p_text, title=info.title, date=info.date,
                                heading_path=path, start=p_start, end=p_start + len(piece.page_content),
                                page=_page_at(pages, p_start)))
    for note in cleaned.footnotes:
        path = next((p for p, s, e in sections if s <= note.offset <= e), [])
        context = _marker_context(cleaned.text, note.offset)
        label = f"(Chú thích {note.number} của câu “…{context}”)" if context else f"(Chú thích {note.number})"
        chunks.append(Chunk(doc=document.doc, text=f"{label} {note.text}", title=info.title,
                            date=info.date, heading_path=path, start=note.offset, end=note.offset,
                            page=_page_at(pages, note.offset), kind="footnote"))
    for i, c in enumerate(chunks):
        c.chunk_id = f"{document.doc}#{i}"
    return chunks, info


def _marker_context(text: str, offset: int, max_chars: int = 160) -> str:
    """The words just before a footnote's marker: a note like "Nhà máy than cốc…; (2) Bãi rác…" only makes
    sense (to search and to the LLM) next to the sentence it annotates ("xử lý triệt để 04 cơ sở…")."""
    start = max(0, offset - max_chars)
    before = text[start:offset]
    cut = max(before.rfind(". "), before.rfind("\n"), before.rfind("; "))
    if cut >= 0:
        before = before[cut + 2:]
    elif start > 0:
        before = before.split(" ", 1)[-1]  # do not start mid-word
    return re.sub(r"\s+", " ", before).strip(" ,;:")


def _page_at(pages: list[tuple[int, int]], offset: int) -> int | None:
    page = None
    for start, number in pages:
        if start <= offset:
            page = number
        else:
            break
    return page
