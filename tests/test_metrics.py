"""Unit tests for eval.metrics: the yardstick must itself be right before any score is trusted."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from eval.metrics import (answer_correct, chunk_has_quote, citation_hit, contains_must, copies_header, entities,
                          first_hit_rank, hit_flags, is_refusal, missing_must, mrr_at_k,
                          normalize_text, parse_vn_number, recall_at_k, strip_diacritics)

ROOT = Path(__file__).resolve().parent.parent


# --- text normalization ------------------------------------------------------------------------

@pytest.mark.parametrize("a,b", [
    ("hoà", "hòa"), ("thuỷ", "thủy"), ("uỷ ban", "ủy ban"), ("khoẻ", "khỏe"), ("Quý", "quý"),
    ("Uỷ Ban Nhân Dân", "ủy ban nhân dân"), ("HOÀ BÌNH", "hòa bình"),
    ("**thấp hơn** 3,9", "thấp hơn 3,9"), ("`code`  _x_", "code x"), ("a \n\t b", "a b"),
    ("ho\u0300a", "hòa"),  # decomposed input (NFD) equals precomposed
    ("rừng³ trồng", "rừng trồng"),  # footnote marker
])
def test_normalize_equal(a, b):
    assert normalize_text(a) == normalize_text(b)


@pytest.mark.parametrize("a,b", [("hòa", "hoa"), ("thủy", "thùy"), ("ủy", "uy"), ("Nà Rạ", "Nà Rụa"),
                                 ("đạo", "dao")])
def test_normalize_keeps_distinct_words_distinct(a, b):
    assert normalize_text(a) != normalize_text(b)


def test_strip_diacritics():
    assert strip_diacritics("Không tìm THẤY, Đồng Đăng") == "khong tim thay, dong dang"


# --- numbers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("s,value", [
    ("1.028.633", Decimal("1028633")), ("92,96", Decimal("92.96")), ("103,857", Decimal("103.857")),
    ("3,9", Decimal("3.9")), ("2.782,52", Decimal("2782.52")), ("-0,62", Decimal("-0.62")),
    ("1028633", Decimal("1028633")), ("1,028,633", None), ("92.96", None), ("abc", None),
])
def test_parse_vn_number(s, value):
    assert parse_vn_number(s) == value


def test_entities_stream():
    ents = entities("Quyết định 1486/QĐ-TTg ngày 19 tháng 8 năm 2025: tăng 92,96 % và 447 tỷ 671 triệu đồng")
    nums = [e for e in ents if not isinstance(e, str)]
    assert nums[0].raw == 1486
    assert "d:19/8/2025" in ents
    assert nums[1].raw == Decimal("92.96") and "%" in ents
    assert nums[2].value == Decimal("447671000000")
    assert "ttg" in ents and "qđ" in ents


# --- must_include ------------------------------------------------------------------------------

@pytest.mark.parametrize("answer,must", [
    ("Tỷ lệ đạt 92,96%.", "92,96%"),
    ("Tỷ lệ đạt 92,96 %.", "92,96%"),
    ("Tỷ lệ đạt 92,96 phần trăm.", "92,96%"),
    ("Dân số 1.028.633 người", "1.028.633"),
    ("Dân số 1028633 người", "1.028.633"),  # separators are formatting: numbers compare by value
    ("Báo cáo số 3.194/BC-UBND", "3194"),
    ("đạt 600 triệu USD", "600 triệu USD"),
    ("đạt 600 triệu đô la Mỹ", "600 triệu USD"),
    ("đạt 600.000.000 USD", "600 triệu USD"),
    ("tổng vốn 447.671 triệu đồng", "447 tỷ 671 triệu"),
    ("tổng vốn 447 tỷ 671 triệu đồng", "447 tỷ 671 triệu"),
    ("khoảng 4.500 triệu đồng", "4,5 tỷ"),
    ("thu 1.790 tỷ đồng", "1.790"),
    ("ước đạt 11.230,2 tấn", "11.230"),  # a more precise answer contains the rounded gold figure
    ("đạt 28%", "28,0%"),
    ("tăng trưởng -0,62%", "-0,62%"),
    ("tăng trưởng âm 0,62%", "-0,62%"),
    ("tăng trưởng −0,62%", "-0,62%"),  # unicode minus
    ("khởi công ngày 19/08/2025", "19/8/2025"),
    ("khởi công ngày 19 tháng 8 năm 2025", "19/8/2025"),
    ("vào tháng 12 năm 2023", "12/2023"),
    ("Chương trình số 301-CTr/BCSĐ", "301-CTr/BCSĐ"),
    ("thành 56 xã, phường mới", "56 xã, phường"),
    ("mỏ sắt NÀ RẠ", "Nà Rạ"),
    ("huyện **Nguyên Bình**", "Nguyên Bình"),
    ("Uỷ ban nhân dân", "ủy ban"),
    ("khu rừng Phia Oắc – Phia Đén", "Phia Oắc - Phia Đén"),
    ("xếp hạng 63 cả nước", "63"),
])
def test_must_matches(answer, must):
    assert contains_must(answer, must)


@pytest.mark.parametrize("answer,must", [
    ("Tỷ lệ đạt 9296", "92,96%"),
    ("Tỷ lệ đạt 192,96%", "92,96%"),
    ("Tỷ lệ đạt 92,9%", "92,96%"),
    ("Tỷ lệ đạt 92,96 điểm", "92,96%"),  # the unit in the gold string is required
    ("Dân số 1.028.634 người", "1.028.633"),
    ("đạt 600 USD", "600 triệu USD"),
    ("đạt 600 tỷ USD", "600 triệu USD"),
    ("đạt 6.000 triệu USD", "600 triệu USD"),
    ("ước đạt 11.230 tấn", "11.230,2"),  # a less precise answer does not contain the precise figure
    ("tăng trưởng 0,62%", "-0,62%"),
    ("giai đoạn 2021-2025", "-2025"),
    ("đạt 59,63 điểm", "63"),
    ("ngày 19/8/2024", "19/8/2025"),
    ("mỏ Nà Rụa", "Nà Rạ"),
    ("hoa lửa", "hòa"),
    ("Cao Bằng", "Nguyên Bình"),
    ("đạt 5 xã [1], [2, 3]", "3"),  # citation marks are not figures
])
def test_must_rejects(answer, must):
    assert not contains_must(answer, must)


def test_answer_correct_needs_all():
    must = ["4,1%", "3,9"]
    assert answer_correct("GRDP tăng 4,1%, thấp hơn 3,9 điểm phần trăm so với KH", must)
    assert not answer_correct("GRDP tăng 4,1%", must)
    assert missing_must("GRDP tăng 4,1%", must) == ["3,9"]
    assert answer_correct("bất kỳ", [])


def test_dev_gold_answers_satisfy_their_must_include():
    """Every gold answer in the dev set must pass its own must_include (catches matcher or data bugs)."""
    path = ROOT / "eval" / "datasets" / "dev.jsonl"
    if not path.exists():
        pytest.skip("no dev set")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    bad = [(r["id"], missing_must(r["answer"], r["must_include"])) for r in rows
           if r.get("type") != "unanswerable" and not answer_correct(r["answer"], r["must_include"])]
    assert bad == []


# --- quote matching ----------------------------------------------------------------------------

QUOTE = ("Ước thực hiện năm 2021, kim ngạch xuất nhập khẩu qua địa bàn quản lý đạt 600 triệu USD, "
         "giảm 3,3% so với năm 2020, đạt 127,7% KH.")
BEFORE = ("Trong năm, hoạt động thương mại biên giới gặp nhiều khó khăn do dịch bệnh COVID-19 và "
          "chính sách kiểm soát của phía Trung Quốc. ")
AFTER = " Thu ngân sách trên địa bàn đạt 1.790 tỷ đồng, so với dự toán TW giao đạt 122,8%."


def _split(fraction: float) -> tuple[str, str]:
    cut = QUOTE.rfind(" ", 0, int(len(QUOTE) * fraction))
    return BEFORE + QUOTE[:cut], QUOTE[cut:] + AFTER


def test_quote_exact_and_reformatted():
    assert chunk_has_quote(BEFORE + QUOTE + AFTER, QUOTE)
    reformatted = BEFORE + "**Ước thực hiện** năm 2021,\n kim  ngạch xuất nhập khẩu qua địa bàn quản lý đạt " \
                           "600 triệu USD, giảm 3,3% so với năm 2020, đạt 127,7% KH." + AFTER
    assert chunk_has_quote(reformatted, QUOTE)


def test_quote_tone_variants():
    assert chunk_has_quote("Năng lực lãnh đạo của một số cấp ủy, chính quyền còn yếu, chưa năng động.",
                           "lãnh đạo của một số cấp uỷ, chính quyền còn yếu")


def test_quote_absent():
    assert not chunk_has_quote(BEFORE + AFTER, QUOTE)


@pytest.mark.parametrize("fraction", [0.4, 0.5, 0.6])
def test_quote_split_across_two_chunks(fraction):
    first, second = _split(fraction)
    assert chunk_has_quote(first, QUOTE) or chunk_has_quote(second, QUOTE)


def test_small_piece_of_quote_is_not_a_hit():
    first, second = _split(0.25)
    assert not chunk_has_quote(first, QUOTE)  # only a quarter of the quote
    assert chunk_has_quote(second, QUOTE)


def test_quote_middle_fragment_is_not_a_hit():
    assert not chunk_has_quote(BEFORE + QUOTE[30:80] + AFTER, QUOTE)


def test_quote_with_small_wording_difference():
    variant = QUOTE.replace("qua địa bàn quản lý", "qua địa bàn tỉnh quản lý").replace("KH", "kế hoạch")
    assert chunk_has_quote(BEFORE + variant + AFTER, QUOTE)


def test_same_wording_other_figures_is_not_a_hit():
    quote = "Tổng vốn đầu tư toàn xã hội tăng 11%, đạt 100% KH."
    assert not chunk_has_quote(f"{BEFORE}Tổng vốn đầu tư toàn xã hội tăng 12%, đạt 100% KH.{AFTER}", quote)
    assert chunk_has_quote(f"{BEFORE}(6) Tổng vốn đầu tư toàn xã hội tăng 11%, đạt 100% kế hoạch.{AFTER}", quote)


def test_page_number_inside_quote_is_tolerated():
    broken = QUOTE.replace("đạt 600 triệu USD,", "đạt 600 triệu\n\n12\n\nUSD,")
    assert chunk_has_quote(BEFORE + broken + AFTER, QUOTE)


def test_dev_quotes_found_in_their_gold_documents():
    """Each dev quote is located in 1-2 overlapping windows of its gold report (and not all over it)."""
    path = ROOT / "eval" / "datasets" / "dev.jsonl"
    reports = ROOT / "data" / "reports"
    if not path.exists() or not reports.is_dir():
        pytest.skip("no dev set or reports")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts: dict[str, str] = {}
    problems = []
    for r in rows:
        if not r.get("doc") or not (reports / r["doc"]).exists():
            continue
        text = texts.setdefault(r["doc"], (reports / r["doc"]).read_text(encoding="utf-8"))
        windows = [text[i:i + 700] for i in range(0, len(text), 580)]  # 120-char overlap like the chunker
        for quote in [r["quote"], *r.get("extra_quotes", [])]:
            n = sum(chunk_has_quote(w, quote) for w in windows)
            if not 1 <= n <= 2:
                problems.append((r["id"], n, quote[:60]))
    assert problems == []


def test_short_quote_must_be_whole():
    assert chunk_has_quote("mỏ sắt Nà Rạ vào khai thác", "Nà Rạ")
    assert not chunk_has_quote("mỏ sắt Nà Rụa vào khai thác", "Nà Rạ")


# --- retrieval metrics -------------------------------------------------------------------------

GOLD = "a.txt"
RETRIEVED = [
    {"doc": "b.txt", "text": QUOTE},  # right text, wrong doc: not a hit
    {"doc": GOLD, "text": BEFORE + AFTER},  # right doc, wrong passage: not a hit
    {"doc": "reports/a.txt", "text": BEFORE + QUOTE},  # hit at rank 3 (doc compared by file name)
]


def test_hit_flags_require_doc_and_quote():
    assert hit_flags(RETRIEVED, GOLD, QUOTE) == [False, False, True]
    assert first_hit_rank(hit_flags(RETRIEVED, GOLD, QUOTE)) == 3
    assert first_hit_rank([False, False, True], k=2) is None


def test_hit_flags_extra_quotes():
    assert hit_flags(RETRIEVED, GOLD, ["không có câu này ở đâu cả trong báo cáo", AFTER.strip()]) == \
        [False, True, False]


@pytest.mark.parametrize("k,recall,mrr", [
    (1, 1 / 3, 1 / 3),
    (2, 2 / 3, (1 + 0.5) / 3),
    (3, 2 / 3, (1 + 0.5) / 3),
    (5, 1.0, (1 + 0.5 + 0.2) / 3),
])
def test_recall_and_mrr(k, recall, mrr):
    hits_list = [[True, False, False, False, False],
                 [False, True, True, False, False],
                 [False, False, False, False, True]]
    assert recall_at_k(hits_list, k) == pytest.approx(recall)
    assert mrr_at_k(hits_list, k) == pytest.approx(mrr)


def test_metrics_on_empty():
    assert recall_at_k([], 5) == 0.0 and mrr_at_k([], 5) == 0.0
    assert recall_at_k([[]], 5) == 0.0


def test_citation_hit():
    cites = [{"n": 1, "doc": "b.txt", "text": QUOTE}, {"n": 2, "doc": GOLD, "text": BEFORE + QUOTE}]
    assert citation_hit(cites, GOLD, QUOTE)
    assert not citation_hit(cites[:1], GOLD, QUOTE)
    assert not citation_hit([], GOLD, QUOTE)


# --- refusals ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Không tìm thấy thông tin này trong các báo cáo hiện có.",
    "Khong tim thay thong tin nay trong cac bao cao hien co",
    "Xin lỗi, tôi không tìm thấy số liệu này.",
    "Các báo cáo không đề cập đến chỉ số SIPAS năm 2024.",
    "Không có thông tin về số lượt khách năm 2025 trong tài liệu.",
    "cac bao cao khong de cap den van de nay",
    "Dựa trên các tài liệu: Không tìm thấy thông tin này trong các báo cáo hiện có.",
])
def test_refusal_detected(text):
    assert is_refusal(text, False)


@pytest.mark.parametrize("text", [
    "GRDP năm 2021 ước tăng 4,1%.",
    "GRDP năm 2021 tăng 4,1%. Báo cáo không đề cập đến số liệu năm 2024.",  # answer first, caveat later
    "",
])
def test_refusal_not_detected(text):
    assert not is_refusal(text, False)


def test_refusal_flag_wins():
    assert is_refusal("GRDP tăng 4,1%", True)


# --- lines that copy a passage header -----------------------------------------------------------

HEADERS = [{"title": "Báo cáo: Tình hình kinh tế - xã hội năm 2021, Phương hướng năm 2022", "date": "12/2021",
            "section": "Phần thứ nhất > 2.2. Lĩnh vực kinh tế > b) Chăn nuôi"},
           {"title": "Báo cáo: Tình hình kinh tế - xã hội năm 2021, Phương hướng năm 2022", "date": "12/2021",
            "section": "Phần thứ nhất > 5. Quốc phòng, an ninh"}]


@pytest.mark.parametrize("line", [
    "Báo cáo: Tình hình kinh tế - xã hội năm 2021 — 5. Quốc phòng, an ninh\nXảy ra 90 vụ [1].",  # opens with it
    "BÁO CÁO: TÌNH HÌNH KINH TẾ - XÃ HỘI năm 2021: đàn trâu 100 con [1].",  # case does not hide it
    "Trong báo cáo của (cùng báo cáo) — b) Chăn nuôi, đàn trâu 100 con [1][2].",  # a section after the dash
])
def test_a_line_copying_a_passage_header_is_counted(line):
    assert copies_header(line, HEADERS)


@pytest.mark.parametrize("line", [
    "Đàn trâu năm 2021 có 100 con [1].",
    "Theo báo cáo tình hình kinh tế - xã hội năm 2021, đàn trâu có 100 con [1].",  # names the report: fine
    "Chăn nuôi: đàn trâu 100 con [1].",  # the section's words without the header's dash
    "",
])
def test_a_line_answering_in_its_own_words_is_not_counted(line):
    assert not copies_header(line, HEADERS)
