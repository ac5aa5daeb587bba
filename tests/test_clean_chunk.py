"""Cleaning and section-aware chunking on the bundled reports (real text, no fixtures made up)."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import pytest

from rag.chunk import SIGNATURE_HEADING, chunk_document, heading_level
from rag.clean import clean_text
from rag.loaders import load_document
from rag.text import canonical_tones

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "data" / "reports"
ALL_REPORTS = sorted(p.name for p in REPORTS.glob("*.txt"))

SIX_MONTHS = "tinh-cao-bang_bao-cao-ktxh-6-thang-dau-2023.txt"
FIVE_YEARS = "tinh-cao-bang_danh-gia-ke-hoach-5-nam-2021-2025.txt"
KTXH_2021 = "tinh-cao-bang_bao-cao-ktxh-2021.txt"
KET_LUAN = "tinh-cao-bang_ket-luan-phien-hop-thang-4-2022.txt"
TP_2021 = "tp-cao-bang_bao-cao-ktxh-2021.txt"


@lru_cache(maxsize=None)
def raw(name: str) -> str:
    return (REPORTS / name).read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def cleaned(name: str):
    return clean_text(load_document(REPORTS / name).pages[0].text)


@lru_cache(maxsize=None)
def chunked(name: str):
    return chunk_document(load_document(REPORTS / name))


def squash(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def test_all_five_reports_are_here():
    assert ALL_REPORTS == sorted([SIX_MONTHS, FIVE_YEARS, KTXH_2021, KET_LUAN, TP_2021])


# --- cleaning rules, each on an excerpt copied from the report file ---------------------------------

def test_hard_wrapped_pdf_lines_are_joined():
    excerpt = ("6 tháng đầu năm 2023, tốc độ tăng trưởng tổng sản phẩm trên địa bàn tỉnh \n"
               "(GRDP) ước đạt 3,29%, giảm 3,06 điểm phần trăm so với cùng kỳ năm trước (6 \n"
               "tháng đầu năm 2022 tốc độ tăng trưởng đạt 6,35%).")
    assert excerpt in raw(SIX_MONTHS)
    text = cleaned(SIX_MONTHS).text
    assert ("6 tháng đầu năm 2023, tốc độ tăng trưởng tổng sản phẩm trên địa bàn tỉnh (GRDP) ước đạt 3,29%, "
            "giảm 3,06 điểm phần trăm so với cùng kỳ năm trước (6 tháng đầu năm 2022 tốc độ tăng trưởng "
            "đạt 6,35%).") in text


@pytest.mark.parametrize("excerpt, joined", [
    # a wrapped line that starts with a number (a year, a count) continues the sentence
    ("Ban hành và chỉ đạo thực hiện Kế hoạch thực hiện Chương trình OCOP năm \n2023 trên địa bàn tỉnh Cao Bằng.",
     "Ban hành và chỉ đạo thực hiện Kế hoạch thực hiện Chương trình OCOP năm 2023 trên địa bàn tỉnh Cao Bằng."),
    ("đáp ứng tốt nhu cầu đi lại của người dân với \n06 loại hình vận tải",
     "đáp ứng tốt nhu cầu đi lại của người dân với 06 loại hình vận tải"),
], ids=["year", "count"])
def test_wrapped_line_starting_with_a_number_is_joined(excerpt, joined):
    assert excerpt in raw(SIX_MONTHS)
    assert joined in cleaned(SIX_MONTHS).text


def test_page_break_mid_sentence_is_joined_and_footnote_moved_out():
    # page ends mid-sentence, the page's footnote follows, the sentence resumes on the next page
    excerpt = ("kiếm cứu nạn tỉnh Cao Bằng năm 2023; Ke hoạch thực hiện Chương trình mỗi xã\n\n"
               "1 Theo báo cáo của Bộ Tài chính, tỷ lệ giải ngân vốn đầu tư công của cả nước 5 tháng đầu năm 2023 ước \n"
               "đạt 22,2% KH.\n"
               " một sản phẩm (OCOP) năm 2023 trên địa bàn tỉnh Cao Bằng;")
    assert excerpt in raw(SIX_MONTHS)
    text = cleaned(SIX_MONTHS).text
    assert ("Ke hoạch thực hiện Chương trình mỗi xã một sản phẩm (OCOP) năm 2023 trên địa bàn tỉnh Cao Bằng; "
            "Ke hoạch tổ chức Hội chợ") in text
    assert "Theo báo cáo của Bộ Tài chính" not in text


def test_footnote_marker_removed_and_footnote_kept_as_its_own_chunk():
    excerpt = "Thanh toán vốn kế hoạch năm là: \n403,819/ 2.831,169 tỷ đồng, bằng 14,3% KH1."
    assert excerpt in raw(SIX_MONTHS)
    result = cleaned(SIX_MONTHS)
    assert "Thanh toán vốn kế hoạch năm là: 403,819/ 2.831,169 tỷ đồng, bằng 14,3% KH." in result.text
    assert "14,3% KH1" not in result.text

    note = next(f for f in result.footnotes if f.number == 1)
    assert note.text == ("Theo báo cáo của Bộ Tài chính, tỷ lệ giải ngân vốn đầu tư công của cả nước "
                         "5 tháng đầu năm 2023 ước đạt 22,2% KH.")
    # the offset is where the marker was: right after "KH"
    assert result.text[:note.offset].endswith("bằng 14,3% KH")

    chunks, _ = chunked(SIX_MONTHS)
    notes = [c for c in chunks if c.kind == "footnote" and "Theo báo cáo của Bộ Tài chính" in c.text]
    assert len(notes) == 1
    assert "22,2% KH" in notes[0].text
    assert "1.1. Tổng sản phẩm trên địa bàn (GRDP)" in notes[0].heading_path  # the marker's section
    body = [c for c in chunks if c.kind == "body"]
    assert not any("Theo báo cáo của Bộ Tài chính" in c.text for c in body)
    assert any("bằng 14,3% KH." in c.text for c in body)


@pytest.mark.parametrize("body, kept", [
    ("Có 03 di sản được ghi danh, 01 di tích được xếp hạng quốc gia1 2. Các hoạt động khác.", "xếp hạng quốc gia."),
    ("Có 03 di sản được ghi danh, 01 di tích được xếp hạng quốc gia1, 2. Các hoạt động khác.", "quốc gia, 2."),
])
def test_a_second_marker_after_the_first_is_a_footnote_too(body, kept):
    # "quốc gia24 25.": two notes on one phrase, the second marker after a space; "quốc gia1, 2." is no such chain
    result = clean_text(body + "\n\n1 Di sản A, di sản B.\n\n2 Di tích C ở xã D.\n\nĐoạn sau.")
    assert kept in result.text
    numbers = [f.number for f in result.footnotes]
    assert numbers == ([1, 2] if "1 2." in body else [1])
    assert all(result.text[:f.offset].endswith("quốc gia") for f in result.footnotes)


def test_spaced_pdf_footnote_is_extracted_across_blank_lines_with_its_sentence():
    # five-year report: "16   Nhà máy…" (several spaces), its lines double-spaced; the marker is "nghiêm trọng16,"
    assert "nghiêm trọng16," in raw(FIVE_YEARS) and "\n16   Nhà máy sản xuất than cốc" in raw(FIVE_YEARS)
    result = cleaned(FIVE_YEARS)
    note = next(f for f in result.footnotes if f.number == 16)
    assert note.text.startswith("Nhà máy sản xuất than cốc xã Đức Xuân")
    assert note.text.endswith("huyện Trùng Khánh, tỉnh Cao Bằng.")  # the wrapped lines came along
    assert "nghiêm trọng16" not in result.text and "Nhà máy sản xuất than cốc" not in result.text
    chunks, _ = chunked(FIVE_YEARS)
    chunk = next(c for c in chunks if c.kind == "footnote" and "than cốc" in c.text)
    # the note carries the words it annotates, so "04 cơ sở … là những cơ sở nào?" can find it
    assert chunk.text.startswith("(Chú thích 16 của câu “…")
    assert "xử lý triệt để 04 cơ sở gây ô nhiễm môi trường nghiêm trọng”)" in chunk.text


def test_unicode_superscript_footnotes_but_not_units():
    text = clean_text("Ban hành 03 Đề án²⁹ trong năm.\n\n²⁹ Đề án phát triển du lịch.\n\nDiện tích 120 m² và 5 km².").text
    assert "Đề án trong năm." in text  # marker dropped, not glued onto the next figure
    assert "(Chú thích 29) Đề án phát triển du lịch." in text
    assert "120 m²" in text and "5 km²" in text


def test_a_pages_notes_do_not_split_the_sentence_they_interrupt():
    excerpt = "tỉnh Cao Bằng có 257.246 người từ đủ 18 tuổi trở lên được tiêm ít\n\n<sup>1</sup> Có 1.630 người"
    assert excerpt in raw(KTXH_2021)  # the page's notes sit between "tiêm ít" and "nhất 1 mũi"
    text = cleaned(KTXH_2021).text
    assert "257.246 người từ đủ 18 tuổi trở lên được tiêm ít nhất 1 mũi vắc xin (chiếm 68%" in text
    assert "(Chú thích 1) Có 1.630 người" in text  # the note is kept, after the sentence's paragraph


@pytest.mark.parametrize("lines, expected", [
    # interrupted mid-sentence: the lower-case line comes back up, the notes follow it
    (["Đạt 42", "", "(Chú thích 3) Ghi chú.", "", "triệu", "đồng.", "", "Tiếp."],
     ["Đạt 42", "triệu", "đồng.", "", "(Chú thích 3) Ghi chú.", "", "", "Tiếp."]),
    # the sentence had ended, or what follows the notes is a new paragraph: nothing moves
    (["Đạt 42 triệu đồng.", "", "(Chú thích 3) Ghi chú.", "", "thêm."],
     ["Đạt 42 triệu đồng.", "", "(Chú thích 3) Ghi chú.", "", "thêm."]),
    (["Đạt 42", "", "(Chú thích 3) Ghi chú.", "", "Mới."], ["Đạt 42", "", "(Chú thích 3) Ghi chú.", "", "Mới."]),
    (["Đạt 42", "", "(Chú thích 3) Ghi chú.", "## Mục", "thêm."], ["Đạt 42", "", "(Chú thích 3) Ghi chú.", "## Mục", "thêm."]),
])
def test_rejoin_around_notes(lines, expected):
    from rag.clean import _rejoin_around_notes
    assert _rejoin_around_notes(lines) == expected


def test_markdown_emphasis_is_stripped():
    excerpt = ("**Về công tác phòng, chống dịch COVID-19:** Tháng 4 năm 2022, số trường hợp mắc COVID-19 mới "
               "trên địa bàn tỉnh **giảm trên 1,5 lần so với tháng 3 (tháng 3 có 5.3407 ca mắc, tháng 4 có "
               "3.4710 ca mắc)**, dịch bệnh")
    assert excerpt in raw(KET_LUAN)
    text = cleaned(KET_LUAN).text
    assert ("Về công tác phòng, chống dịch COVID-19: Tháng 4 năm 2022, số trường hợp mắc COVID-19 mới trên "
            "địa bàn tỉnh giảm trên 1,5 lần so với tháng 3 (tháng 3 có 5.3407 ca mắc, tháng 4 có 3.4710 ca "
            "mắc), dịch bệnh") in text
    assert "*(Tài liệu trình bày tại kỳ họp tháng 12/2021 Hội đồng nhân dân tỉnh)*" in raw(KTXH_2021)
    assert "(Tài liệu trình bày tại kỳ họp tháng 12/2021 Hội đồng nhân dân tỉnh)" in cleaned(KTXH_2021).text
    assert "(*thấp hơn 3,9 điểm phần trăm so với kế hoạch*)" in raw(KTXH_2021)
    assert "(thấp hơn 3,9 điểm phần trăm so với kế hoạch)" in cleaned(KTXH_2021).text
    for name in (KET_LUAN, KTXH_2021):
        assert "*" not in cleaned(name).text
    # a bold-only line stays recognisably a heading
    assert "\n\n## Phần thứ nhất\n\n" in cleaned(KTXH_2021).text


def test_five_year_report_blank_line_separated_wrapped_lines_are_joined():
    excerpt = ("thực hiện Nghị quyết số 99/NQ-CP ngày 30/8/2021 của Chính phủ để hướng \n\n"
               "dẫn, quán triệt và triển khai thực hiện Nghị quyết đến các sở, ngành, địa phương, \n\n"
               "bảo đảm toàn bộ hệ thống chính trị nhận thức đầy đủ và thống nhất về mục tiêu, \n\n"
               "nhiệm vụ, giải pháp được giao. ")
    assert excerpt in raw(FIVE_YEARS)
    text = cleaned(FIVE_YEARS).text
    assert ("thực hiện Nghị quyết số 99/NQ-CP ngày 30/8/2021 của Chính phủ để hướng dẫn, quán triệt và triển "
            "khai thực hiện Nghị quyết đến các sở, ngành, địa phương, bảo đảm toàn bộ hệ thống chính trị nhận "
            "thức đầy đủ và thống nhất về mục tiêu, nhiệm vụ, giải pháp được giao.") in text
    # wraps before a year, and a range split at its hyphen
    excerpt = ("dự kiến năm \n\n2025 tăng 8%. Tốc độ tăng trưởng kinh tế (GRDP) bình quân giai đoạn 2021-\n\n"
               "2025 ước tăng 4,46%/năm")
    assert excerpt in raw(FIVE_YEARS)
    assert ("dự kiến năm 2025 tăng 8%. Tốc độ tăng trưởng kinh tế (GRDP) bình quân giai đoạn 2021-2025 ước "
            "tăng 4,46%/năm") in text
    # ...but a numbered heading after a blank line stays a paragraph of its own
    assert "\n\n1. Công tác chỉ đạo, tổ chức thực hiện\n\n" in text


def test_wrapped_capitals_heading_is_one_paragraph():
    excerpt = ("I. TÌNH HÌNH THựC HIỆN CÁC NHIỆM v ụ  PHÁT TRIỂN KINH \n"
               "TẾ - XÃ HỘI, QUỐC PHỔNG -  Ân  n in h  6 THÁNG ĐẦU NĂM 2023")
    assert excerpt in raw(SIX_MONTHS)
    paras = cleaned(SIX_MONTHS).text.split("\n\n")
    heading = next(p for p in paras if p.startswith("I. TÌNH HÌNH"))
    assert heading.endswith("6 THÁNG ĐẦU NĂM 2023")
    assert heading_level(heading) == 2


@pytest.mark.parametrize("name", ALL_REPORTS)
def test_cleaning_is_canonical_and_keeps_the_words(name):
    result = cleaned(name)
    assert canonical_tones(result.text) == result.text
    assert "\r" not in result.text and "\f" not in result.text and "\n\n\n" not in result.text
    # nothing is lost: every word of the raw text is in the cleaned text or in a footnote
    # (markdown marks, footnote numbers and the wrap-joined pieces aside)
    kept = re.findall(r"[^\W\d_]{2,}", result.text + " ".join(f.text for f in result.footnotes))
    source = re.sub(r"</?sup>", " ", raw(name))  # HTML footnote markup is not text
    words = re.findall(r"[^\W\d_]{2,}", canonical_tones(source.replace("\u00a0", " ")))
    assert len(kept) >= 0.999 * len(words)


# --- headings, metadata, spans ------------------------------------------------------------------------

KNOWN_HEADINGS = {  # (ancestor, heading) that must appear in this order in some chunk's heading path
    KTXH_2021: ("II. KẾT QUẢ ĐẠT ĐƯỢC TRÊN TỪNG LĨNH VỰC", "2.2. Lĩnh vực kinh tế"),
    SIX_MONTHS: ("1. Lĩnh vực kỉnh tế", "1.1. Tổng sản phẩm trên địa bàn (GRDP)"),
    FIVE_YEARS: ("2. Kết quả thực hiện các nhiệm vụ chủ yếu",
                 "2.2.1. Tốc độ tăng tổng sản phẩm trên địa bàn (GRDP); chuyển dịch cơ cấu kinh tế trên địa bàn tỉnh"),
    KET_LUAN: (None,  # the "THÔNG BÁO" title block is the chunk's title, not a section
               "1. Đánh giá tình hình thực hiện phát triển kinh tế - xã hội tháng 4, 4 tháng năm 2022"),
    TP_2021: ("Phần thứ nhất: KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU KINH TẾ - XÃ HỘI NĂM 2021",
              "A. KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU KINH TẾ - XÃ HỘI"),
}

EXPECTED_INFO = {  # title prefix, date
    KTXH_2021: ("Báo cáo: Tình hình kinh tế - xã hội năm 2021, Phương hướng, nhiệm vụ chủ yếu năm 2022", "12/2021"),
    SIX_MONTHS: ("Báo cáo: Tình hình kỉnh tế - xã hội 6 tháng đầu năm; nhiệm vụ, giải pháp 6 tháng cuối năm 2023",
                 "2023"),
    FIVE_YEARS: ("Báo cáo: Đánh giá kết quả thực hiện Chương trình hành động của Chính phủ nhiệm kỳ 2021-2026",
                 "2025"),
    KET_LUAN: ("Thông báo: Kết luận của Chủ tịch UBND tỉnh Hoàng Xuân Ánh tại phiên họp UBND tỉnh thường kỳ "
               "tháng 4/2022", "28/4/2022"),
    TP_2021: ("Báo cáo: Tình hình thực hiện phát triển kinh tế - xã hội năm 2021, Mục tiêu, nhiệm vụ trọng tâm "
              "năm 2022", "30/11/2021"),
}


@pytest.mark.parametrize("name", ALL_REPORTS)
def test_known_heading_in_heading_paths(name):
    ancestor, heading = KNOWN_HEADINGS[name]
    chunks, _ = chunked(name)
    paths = [c.heading_path for c in chunks if heading in c.heading_path]
    assert paths, f"no chunk under {heading!r}"
    if ancestor is None:
        assert all(p[0] == heading for p in paths), paths[0]
    else:
        assert all(ancestor in p and p.index(ancestor) < p.index(heading) for p in paths), paths[0]
    for c in chunks:
        assert all(h == h.strip() and not h.startswith("#") for h in c.heading_path), c.heading_path


@pytest.mark.parametrize("name", ALL_REPORTS)
def test_title_and_date_parsed(name):
    title, date = EXPECTED_INFO[name]
    chunks, info = chunked(name)
    assert info.title.startswith(title), info.title
    assert info.date == date
    assert all(c.title == info.title and c.date == info.date for c in chunks)


def test_numbered_heading_after_part_title_is_not_merged_into_it():
    """"Phần thứ nhất" absorbs its capitals title line, but not the "A."/"I." heading that follows."""
    for name in (TP_2021, KTXH_2021):
        chunks, _ = chunked(name)
        for c in chunks:
            if c.heading_path and c.heading_path[0].startswith("Phần"):
                assert not re.search(r": (?:[A-H]|[IVX]+)\. ", c.heading_path[0]), c.heading_path[0]
    tp_paths = {tuple(c.heading_path[:3]) for c in chunked(TP_2021)[0]}
    assert ("Phần thứ nhất: KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU KINH TẾ - XÃ HỘI NĂM 2021", "B. KẾT QUẢ CỤ THỂ",
            "I. KINH TẾ, TÀI CHÍNH, ĐÔ THỊ, TÀI NGUYÊN MÔI TRƯỜNG") in tp_paths


@pytest.mark.parametrize("name", ALL_REPORTS)
def test_chunks_ids_spans_and_text(name):
    chunks, _ = chunked(name)
    text = cleaned(name).text
    assert len(chunks) > 20
    assert {c.doc for c in chunks} == {name}
    ids = [c.chunk_id for c in chunks]
    assert len(set(ids)) == len(ids) and all(i.startswith(name + "#") for i in ids)
    body = [c for c in chunks if c.kind == "body"]
    assert len(body) > 20
    for c in body:
        assert 0 <= c.start < c.end <= len(text)
        assert 20 <= len(c.text) <= 700
        # the chunk is its slice of the cleaned text, minus heading '#' marks and outer whitespace
        assert re.sub(r"(?m)^#{1,6}\s+", "", text[c.start:c.end]).strip() == c.text
    starts = [c.start for c in body]
    assert starts == sorted(starts)
    for c in chunks:
        if c.kind == "footnote":
            assert 0 <= c.start == c.end <= len(text)
            assert c.text.startswith("(Chú thích ")
    assert {c.kind for c in chunks} <= {"body", "footnote"}


def test_body_chunks_cover_the_cleaned_text():
    """Apart from headings and short fragments, no running text is dropped between chunks."""
    chunks, _ = chunked(TP_2021)
    text = cleaned(TP_2021).text
    covered = [False] * len(text)
    for c in chunks:
        if c.kind == "body":
            covered[c.start:c.end] = [True] * (c.end - c.start)
    gaps = re.findall(r"[^\W\d_]+", "".join(ch if not cov else " " for ch, cov in zip(text, covered)))
    assert len(gaps) < 0.05 * len(re.findall(r"[^\W\d_]+", text))


def _dev_item(item_id: str) -> dict:
    for line in (ROOT / "eval" / "datasets" / "dev.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip() and json.loads(line)["id"] == item_id:
            return json.loads(line)
    raise AssertionError(f"{item_id} not in dev.jsonl")


@pytest.mark.parametrize("item_id", ["b081", "a006", "a007"])
def test_gold_quote_is_inside_one_chunk(item_id):
    item = _dev_item(item_id)
    quote = squash(canonical_tones(re.sub(r"[*_]", "", item["quote"])))
    chunks, _ = chunked(item["doc"])
    assert any(quote in squash(c.text) for c in chunks), quote
    if item_id == "b081":
        assert "Thu ngân sách nhà nước: 466 tỷ đồng" in quote


@pytest.mark.parametrize("name", [TP_2021, KET_LUAN, KTXH_2021])
def test_the_signature_block_is_kept_as_its_own_chunk(name):
    """"TM. ỦY BAN NHÂN DÂN / CHỦ TỊCH / <name>" read as a heading lost the signer's name (a section of one short
    line); it is a chunk of its own now, under the "Người ký" heading."""
    chunks, _ = chunked(name)
    [sig] = [c for c in chunks if c.heading_path == [SIGNATURE_HEADING]]
    authority, signer = [line for line in sig.text.split("\n") if line.strip()]
    assert re.match(r"(TM|KT|TL|TUQ|Q)\. ", authority) and "CHỦ TỊCH" in authority
    last_line = [line for line in raw(name).splitlines() if line.strip().strip("*") == signer]
    assert last_line, signer  # the name as the report writes it
    assert not any(c.heading_path and c.heading_path[-1].startswith(("TM.", "TL.")) for c in chunks)


def test_an_authority_line_without_a_name_after_it_stays_text():
    from rag.types import Document, Page
    text = ("BÁO CÁO\nKết quả năm 2021\n\n1. Kinh tế\n\nTăng trưởng đạt 5%.\n\nTM. ỦY BAN NHÂN DÂN\n\n"
            "- Thu ngân sách đạt 1.790 tỷ đồng, vượt dự toán giao.")
    chunks, _ = chunk_document(Document(doc="x.txt", pages=[Page(text)]))
    assert not any(c.heading_path == [SIGNATURE_HEADING] for c in chunks)
    assert any("1.790" in c.text for c in chunks) and any("TM. ỦY BAN NHÂN DÂN" in c.text for c in chunks)
