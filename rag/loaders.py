"""Turn report files (.txt, .md, .pdf, .docx) into ``Document`` records of raw page text.

Every failure is a ``LoadError`` with a stable ``.reason`` code so the UI can show a Vietnamese
message while logs keep the English one.

Example: ``load_document("data/reports/bao-cao.pdf").pages[0].number == 1``
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from .types import Document, Page

__all__ = ["LoadError", "SUPPORTED_SUFFIXES", "load_document", "load_documents"]

SUPPORTED_SUFFIXES = {".txt", ".md", ".pdf", ".docx"}
REASONS = ("unsupported", "empty", "encrypted", "corrupt", "encoding", "too_large", "not_found")

_HEADING_STYLE = re.compile(r"^(?:heading|title|tiêu đề)\s*(\d*)", re.IGNORECASE)


class LoadError(Exception):
    """A file that could not be loaded; ``reason`` is one of ``REASONS``, ``path`` the file."""

    def __init__(self, reason: str, path: str | Path, message: str):
        assert reason in REASONS, reason
        super().__init__(message)
        self.reason = reason
        self.path = str(path)


def load_document(path: str | Path, doc_id: str | None = None, *,
                  max_bytes: int | None = None) -> Document:
    """Load one file; ``doc_id`` defaults to the file name. Raises ``LoadError``."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise LoadError("not_found", path, f"File '{name}' was not found.")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise LoadError("unsupported", path,
                        f"File '{name}' has an unsupported type '{path.suffix or '(none)'}'; "
                        f"supported types are {kinds}.")
    size = path.stat().st_size
    if size == 0:
        raise LoadError("empty", path, f"File '{name}' is empty.")
    if max_bytes is not None and size > max_bytes:
        raise LoadError("too_large", path,
                        f"File '{name}' is {size / 2**20:.1f} MB, over the {max_bytes / 2**20:.1f} MB limit.")

    kind = suffix[1:]
    pages = {"pdf": _read_pdf, "docx": _read_docx}.get(kind, _read_text)(path)
    if not any(p.text.strip() for p in pages):
        raise LoadError("empty", path, f"File '{name}' contains no text.")
    return Document(doc=doc_id or name, pages=pages, source_path=str(path), kind=kind)


def load_documents(paths: str | Path | Iterable[str | Path], *, max_bytes: int | None = None,
                   on_file: Callable[[Path], None] | None = None) -> tuple[list[Document], list[LoadError]]:
    """Load many files, expanding directories; one bad file must not stop a whole ingest.

    Directories are walked recursively (supported suffixes only, sorted, hidden files and Word
    "~$" lock files skipped). Files nested below a directory get their relative path as doc id,
    so two "bao-cao.pdf" in different folders stay distinct. ``on_file`` is called before each file (progress).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    docs: list[Document] = []
    errors: list[LoadError] = []
    seen: set[Path] = set()
    for arg in map(Path, paths):
        if arg.is_dir():
            files = sorted(
                (f for f in arg.rglob("*")
                 if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES
                 and not any(part.startswith((".", "~$")) for part in f.relative_to(arg).parts)),
                key=lambda f: f.relative_to(arg).as_posix())
            targets = [(f, f.relative_to(arg).as_posix()) for f in files]
        else:
            targets = [(arg, None)]
        for f, doc_id in targets:
            key = f.resolve()
            if key in seen:
                continue
            seen.add(key)
            if on_file:
                on_file(f)
            try:
                docs.append(load_document(f, doc_id, max_bytes=max_bytes))
            except LoadError as e:
                errors.append(e)
    return docs, errors


def _read_text(path: Path) -> list[Page]:
    """UTF-8 (BOM tolerated) or BOM-marked UTF-16; guessing legacy code pages would garble Vietnamese."""
    raw = path.read_bytes()
    try:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = raw.decode("utf-16")
        else:
            text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LoadError("encoding", path,
                        f"File '{path.name}' is not valid UTF-8 text; save it as UTF-8 and try again.") from None
    if "\x00" in text:
        raise LoadError("corrupt", path, f"File '{path.name}' looks like a binary file, not text.")
    return [Page(text=text.replace("\r\n", "\n").replace("\r", "\n"), number=None)]


def _read_pdf(path: Path) -> list[Page]:
    """Text layer page by page (1-based numbers kept for citations); no OCR."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    name = path.name
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # malformed-but-readable PDFs are common
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):  # PasswordType.NOT_DECRYPTED == 0
            raise LoadError("encrypted", path,
                            f"File '{name}' is a password-protected PDF; remove the password and try again.")
        pdf_pages = list(reader.pages)
    except LoadError:
        raise
    except DependencyError as e:
        raise _needs_crypto(path) from e
    except Exception as e:
        raise LoadError("corrupt", path, f"File '{name}' is not a readable PDF ({type(e).__name__}).") from e

    pages, failed = [], 0
    for i, page in enumerate(pdf_pages, start=1):
        try:
            text = page.extract_text() or ""
        except DependencyError as e:  # AES-128 content: the key check passed, decryption did not
            raise _needs_crypto(path) from e
        except Exception:
            failed += 1
            continue
        if text.strip():
            pages.append(Page(text=text, number=i))
    if not pages:
        if failed:
            raise LoadError("corrupt", path, f"File '{name}' is a damaged PDF: no page could be read.")
        raise LoadError("empty", path,
                        f"File '{name}' has no text layer (probably a scanned PDF); OCR is not supported.")
    return pages


def _needs_crypto(path: Path) -> LoadError:
    return LoadError("encrypted", path,
                     f"File '{path.name}' is an AES-encrypted PDF; opening it needs the 'cryptography' "
                     "package, or remove the protection and try again.")


def _read_docx(path: Path) -> list[Page]:
    """Body in document order; headings become markdown so the chunker sees the structure."""
    import docx
    from docx.oxml.ns import qn
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        d = docx.Document(str(path))
        body = d.element.body
    except Exception as e:
        raise LoadError("corrupt", path, f"File '{path.name}' is not a readable Word document ({type(e).__name__}).") from e

    blocks: list[str] = []
    for child in body.iterchildren():
        if child.tag == qn("w:p"):
            block = _paragraph_text(Paragraph(child, d))
        elif child.tag == qn("w:tbl"):
            block = _table_text(Table(child, d))
        else:
            continue
        if block:
            blocks.append(block)
    return [Page(text="\n\n".join(blocks), number=None)]


def _paragraph_text(p) -> str:
    text = " ".join(p.text.split())
    if not text:
        return ""
    try:
        style = p.style.name if p.style is not None else ""
    except Exception:  # a style id missing from styles.xml
        style = ""
    m = _HEADING_STYLE.match(style or "")
    if m:
        level = min(int(m.group(1) or 1), 6)
        return "#" * level + " " + text
    return text


def _table_text(table) -> str:
    """Each row as "Header: value; ..." so a row cut off from its table still says what it means.

    Cells are kept per grid column (python-docx repeats a merged cell) so headers stay aligned;
    a row merged across the full width is a section label and is emitted bare.
    """
    rows = [[(c._tc, " ".join(c.text.split())) for c in row.cells] for row in table.rows]
    rows = [r for r in rows if any(text for _, text in r)]
    if not rows:
        return ""

    def distinct(row):
        return [text for i, (tc, text) in enumerate(row) if text and (i == 0 or tc is not row[i - 1][0])]

    if len(rows) == 1:
        return " | ".join(distinct(rows[0]))
    header = [text for _, text in rows[0]]
    lines = []
    for row in rows[1:]:
        if len({id(tc) for tc, _ in row}) == 1:
            lines.append(row[0][1])
            continue
        parts = []
        for i, (tc, value) in enumerate(row):
            if not value or (i and tc is row[i - 1][0]):
                continue
            key = header[i] if i < len(header) else ""
            parts.append(f"{key}: {value}" if key and key != value else value)
        lines.append("; ".join(parts))
    return "\n".join(lines)
