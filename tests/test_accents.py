"""Accent restoration for questions typed without diacritics (pure text, tiny fixture)."""
from __future__ import annotations

import pytest

from rag.accents import AccentRestorer
from rag.text import fold

PASSAGES = [
    "Tổng vốn đầu tư toàn xã hội trên địa bàn tỉnh năm 2021 ước đạt 9.500 tỷ đồng.",
    "Kết quả thu ngân sách nhà nước trên địa bàn đạt 1.790 tỷ đồng. Kết quả đạt được là do sự chỉ đạo.",
    "Chỉ đạo khẩn trương đưa mỏ sắt Nà Rạ vào khai thác lộ thiên. Hàng hóa qua địa bàn tăng.",
    "Đầu tư công: giải ngân đạt 45%. Ở đâu có dự án, ở đó có vốn.",
]


@pytest.fixture(scope="module")
def restorer():
    return AccentRestorer(PASSAGES)


@pytest.mark.parametrize("typed, expected", [
    ("thu ngan sach nha nuoc nam 2021 la bao nhieu?", "thu ngân sách nhà nước năm 2021 là bao nhiêu?"),
    ("von dau tu cong giai ngan dat bao nhieu", "vốn đầu tư công giải ngân đạt bao nhiêu"),  # đầu, not đâu
    ("Dua mo sat nao vao khai thac lo thien?", "Đưa mỏ sắt nào vào khai thác lộ thiên?"),  # capital kept
    ("hang hoa qua dia ban", "hàng hóa qua địa bàn"),  # "qua" by its neighbour, not the frequent "quả"
    ("GRDP, OCOP va xyz", "GRDP, OCOP và xyz"),  # unknown words stay as typed
])
def test_restores_from_the_passages(restorer, typed, expected):
    restored = restorer.restore(typed)
    assert restored == expected
    assert fold(restored) == fold(typed)  # only marks are added, never other letters


def test_accented_text_is_left_alone(restorer):
    assert restorer.restore("Thu ngân sách nha nuoc") == "Thu ngân sách nha nuoc"


NAMES = ["Phấn đấu xã Hưng Đạo đạt chuẩn nông thôn mới nâng cao."] * 5 + [
    "Xã Hung Đạo duy trì tiêu chí.",  # one mark lost in extraction
    "Tuyến Lạng Sơn - Cao Bằng.", "Hàng hóa qua Lạng Sơn.",
]


@pytest.mark.parametrize("answer, expected", [
    ("Thành phố phấn đấu xã Hung Đạo đạt chuẩn [2].", "Thành phố phấn đấu xã Hưng Đạo đạt chuẩn [2]."),
    ("xã Hưng Đạo", "xã Hưng Đạo"),  # already the usual spelling
    ("xã hung đạo", "xã hung đạo"),  # not capitalised: not a name, left alone
    ("Qua Lạng Son.", "Qua Lạng Son."),  # "Lạng Sơn" twice only: under the ratio, left alone
])
def test_names_get_the_reports_usual_spelling(answer, expected):
    text, notes = AccentRestorer(NAMES).respell_names(answer)
    assert text == expected
    assert fold(text) == fold(answer) and bool(notes) == (text != answer)
