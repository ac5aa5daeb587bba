"""Loaders on real files built in the test: fpdf2 PDFs, python-docx documents, UTF-8 text."""
from __future__ import annotations

import random
from pathlib import Path

import docx
import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from rag.loaders import SUPPORTED_SUFFIXES, LoadError, load_document, load_documents

PAGE1 = "Thu ngan sach nam 2021 dat 1.790 ty dong"
PAGE2 = "Chi dau tu phat trien tang 12 phan tram"


def make_pdf(path: Path, texts: list[str]) -> Path:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in texts:
        pdf.add_page()
        if text:
            pdf.cell(text=text)
        else:  # a "scanned" page: graphics only, no text layer
            pdf.rect(20, 20, 100, 50, style="F")
    pdf.output(str(path))
    return path


def make_docx(path: Path) -> Path:
    d = docx.Document()
    d.add_heading("I. KINH TẾ", level=1)
    d.add_paragraph("Tăng trưởng GDP đạt 2,58%.")
    d.add_paragraph("")  # empty paragraphs are dropped
    table = d.add_table(rows=3, cols=3)
    for r, row in enumerate([["Chỉ tiêu", "Kế hoạch", "Thực hiện"],
                             ["Thu ngân sách", "1.343", "1.790"],
                             ["Xuất khẩu", "300", "336"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    d.add_heading("1. Nông nghiệp", level=2)
    d.add_paragraph("Sản lượng lúa ổn định.")
    d.save(str(path))
    return path


def test_supported_suffixes():
    assert SUPPORTED_SUFFIXES == {".txt", ".md", ".pdf", ".docx"}


def test_pdf_pages_numbered_and_text_extracted(tmp_path):
    doc = load_document(make_pdf(tmp_path / "Bao-Cao.PDF", [PAGE1, PAGE2]))
    assert (doc.doc, doc.kind) == ("Bao-Cao.PDF", "pdf")
    assert [p.number for p in doc.pages] == [1, 2]
    assert PAGE1 in doc.pages[0].text and PAGE2 in doc.pages[1].text


def test_pdf_blank_page_skipped_but_numbers_kept(tmp_path):
    doc = load_document(make_pdf(tmp_path / "a.pdf", ["", PAGE2]))
    assert [p.number for p in doc.pages] == [2]


def test_pdf_owner_password_only_is_readable(tmp_path):
    src = make_pdf(tmp_path / "src.pdf", [PAGE1])
    writer = PdfWriter(clone_from=PdfReader(src))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    writer.write(tmp_path / "owner.pdf")
    assert PAGE1 in load_document(tmp_path / "owner.pdf").pages[0].text


def test_docx_headings_tables_and_order(tmp_path):
    doc = load_document(make_docx(tmp_path / "bc.docx"), doc_id="bao-cao-2021")
    assert (doc.doc, doc.kind, len(doc.pages), doc.pages[0].number) == ("bao-cao-2021", "docx", 1, None)
    blocks = doc.pages[0].text.split("\n\n")
    assert blocks == [
        "# I. KINH TẾ",
        "Tăng trưởng GDP đạt 2,58%.",
        "Chỉ tiêu: Thu ngân sách; Kế hoạch: 1.343; Thực hiện: 1.790\n"
        "Chỉ tiêu: Xuất khẩu; Kế hoạch: 300; Thực hiện: 336",
        "## 1. Nông nghiệp",
        "Sản lượng lúa ổn định.",
    ]


@pytest.mark.parametrize("suffix, kind", [(".txt", "txt"), (".md", "md"), (".TXT", "txt")])
def test_text_utf8_with_diacritics(tmp_path, suffix, kind):
    body = "# Báo cáo\r\nTổng thu ngân sách đạt 1.790 tỷ đồng.\n"
    path = tmp_path / f"bao-cao{suffix}"
    path.write_bytes(body.encode("utf-8"))
    doc = load_document(path)
    assert (doc.doc, doc.kind, doc.source_path) == (path.name, kind, str(path))
    assert [p.number for p in doc.pages] == [None]
    assert doc.pages[0].text == "# Báo cáo\nTổng thu ngân sách đạt 1.790 tỷ đồng.\n"


@pytest.mark.parametrize("data", ["\ufeffNgân sách".encode("utf-8"), "Ngân sách".encode("utf-16")])
def test_text_bom_encodings(tmp_path, data):
    path = tmp_path / "bom.txt"
    path.write_bytes(data)
    assert load_document(path).pages[0].text == "Ngân sách"


def _encrypted_pdf(tmp_path: Path) -> Path:
    src = make_pdf(tmp_path / "src.pdf", [PAGE1])
    writer = PdfWriter(clone_from=PdfReader(src))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    writer.write(tmp_path / "locked.pdf")
    return tmp_path / "locked.pdf"


def _write(name: str, data: bytes):
    def make(tmp_path: Path) -> Path:
        (tmp_path / name).write_bytes(data)
        return tmp_path / name
    return make


JUNK = random.Random(0).randbytes(4096)  # fixed seed: the same bytes every run


@pytest.mark.parametrize("make, reason", [
    (_write("setup.exe", b"MZ\x90\x00"), "unsupported"),
    (_write("noext", b"hello"), "unsupported"),
    (_write("empty.txt", b""), "empty"),
    (_write("blank.md", b"  \n\t\n"), "empty"),
    (_write("latin1.txt", "Ng\xe2n s\xe1ch".encode("latin-1")), "encoding"),
    (_write("broken.pdf", b"%PDF-1.4\n" + JUNK), "corrupt"),
    (_write("random.pdf", JUNK), "corrupt"),
    (_write("broken.docx", JUNK), "corrupt"),
    (lambda tmp_path: make_pdf(tmp_path / "scan.pdf", ["", ""]), "empty"),
    (_encrypted_pdf, "encrypted"),
    (lambda tmp_path: tmp_path / "missing.pdf", "not_found"),
])
def test_load_errors(tmp_path, make, reason):
    path = make(tmp_path)
    with pytest.raises(LoadError) as info:
        load_document(path)
    assert info.value.reason == reason
    assert path.name in str(info.value)
    assert info.value.path == str(path)


def test_vietnamese_in_a_windows_code_page_is_an_encoding_error(tmp_path):
    # Windows-1258 as Vietnamese Windows writes it: letters plus combining tone marks
    text = "Báo cáo thu ngân sách năm 2022 đa\u0323t 87,5 ty\u0309 đô\u0300ng"
    path = tmp_path / "bao-cao-cp1258.txt"
    path.write_bytes(text.encode("cp1258"))
    with pytest.raises(LoadError, match="save it as UTF-8") as info:
        load_document(path)
    assert info.value.reason == "encoding" and path.name in str(info.value)


def test_too_large(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("x" * 2000, encoding="utf-8")
    with pytest.raises(LoadError) as info:
        load_document(path, max_bytes=1000)
    assert info.value.reason == "too_large" and "big.txt" in str(info.value)
    assert load_document(path, max_bytes=5000).pages[0].text == "x" * 2000


def test_scanned_pdf_message_mentions_ocr(tmp_path):
    with pytest.raises(LoadError, match="no text layer.*OCR"):
        load_document(make_pdf(tmp_path / "scan.pdf", [""]))


def test_load_documents_expands_dirs_and_collects_errors(tmp_path):
    root = tmp_path / "reports"
    (root / "sub").mkdir(parents=True)
    (root / "b.txt").write_text("Báo cáo B", encoding="utf-8")
    (root / "a.md").write_text("# Báo cáo A", encoding="utf-8")
    (root / "sub" / "b.txt").write_text("Báo cáo con", encoding="utf-8")
    (root / "empty.txt").write_bytes(b"")
    (root / "notes.csv").write_text("x,y", encoding="utf-8")  # unsupported: ignored inside a dir
    (root / "~$bc.docx").write_bytes(b"lock")  # Word lock file: ignored
    make_pdf(root / "sub" / "c.pdf", [PAGE1])
    extra = tmp_path / "extra.exe"
    extra.write_bytes(b"MZ")

    docs, errors = load_documents([root, extra, root / "a.md"])
    assert [d.doc for d in docs] == ["a.md", "b.txt", "sub/b.txt", "sub/c.pdf"]
    assert [(Path(e.path).name, e.reason) for e in errors] == [("empty.txt", "empty"), ("extra.exe", "unsupported")]


def test_aes_pdf_without_cryptography_is_reported_as_encrypted(tmp_path, monkeypatch):
    """AES PDFs need the optional 'cryptography' package; without it say so instead of 'corrupt'."""
    from pypdf.errors import DependencyError

    def no_aes(self, password):
        raise DependencyError("cryptography>=3.1 is required for AES algorithm")

    src = _encrypted_pdf(tmp_path)
    monkeypatch.setattr(PdfReader, "decrypt", no_aes)
    with pytest.raises(LoadError, match="cryptography") as info:
        load_document(src)
    assert info.value.reason == "encrypted"


def test_docx_title_vietnamese_heading_style_and_merged_rows(tmp_path):
    from docx.enum.style import WD_STYLE_TYPE

    d = docx.Document()
    d.add_paragraph("BÁO CÁO KINH TẾ - XÃ HỘI", style="Title")
    d.styles.add_style("Tiêu đề 2", WD_STYLE_TYPE.PARAGRAPH)
    d.add_paragraph("1. Thu ngân sách", style="Tiêu đề 2")
    table = d.add_table(rows=3, cols=3)
    for c, value in enumerate(["Chỉ tiêu", "2020", "2021"]):
        table.cell(0, c).text = value
    table.cell(1, 0).merge(table.cell(1, 2)).text = "A. THU NỘI ĐỊA"  # full-width section row
    for c, value in enumerate(["Thuế", "", "1.200"]):
        table.cell(2, c).text = value
    d.save(str(tmp_path / "m.docx"))
    assert load_document(tmp_path / "m.docx").pages[0].text.split("\n\n") == [
        "# BÁO CÁO KINH TẾ - XÃ HỘI",
        "## 1. Thu ngân sách",
        "A. THU NỘI ĐỊA\nChỉ tiêu: Thuế; 2021: 1.200",
    ]
