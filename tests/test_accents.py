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
