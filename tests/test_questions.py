"""Splitting a question into the things it asks for (pure text)."""
from __future__ import annotations

import pytest

from rag.questions import question_parts


@pytest.mark.parametrize("question, parts", [
    ("6 tháng đầu năm 2023, diện tích rừng giảm bao nhiêu ha, trong đó do cháy rừng bao nhiêu?",
     ["6 tháng đầu năm 2023, diện tích rừng giảm bao nhiêu ha", "trong đó do cháy rừng bao nhiêu?"]),
    # the comma inside "công chức, viên chức" is part of the first thing asked: split at "và"
    ("Năm 2021 tuyển dụng bao nhiêu công chức, viên chức và tinh giản biên chế cho bao nhiêu người?",
     ["Năm 2021 tuyển dụng bao nhiêu công chức, viên chức", "tinh giản biên chế cho bao nhiêu người?"]),
    ("Giai đoạn 2 khởi công ngày nào, phấn đấu hoàn thành năm nào?",
     ["Giai đoạn 2 khởi công ngày nào", "phấn đấu hoàn thành năm nào?"]),
    ("PCI năm 2022 đạt bao nhiêu điểm và xếp hạng thứ mấy?", ["PCI năm 2022 đạt bao nhiêu điểm", "xếp hạng thứ mấy?"]),
    ("luot khach nam 2021 dat bao nhieu va doanh thu bao nhieu?",  # typed without marks
     ["luot khach nam 2021 dat bao nhieu", "doanh thu bao nhieu?"]),
    # one thing asked
    ("Thu ngân sách năm 2021 đạt bao nhiêu?", ["Thu ngân sách năm 2021 đạt bao nhiêu?"]),
    ("Những xã nào, huyện nào đạt chuẩn?", ["Những xã nào, huyện nào đạt chuẩn?"]),  # one list
    # "so với kế hoạch thế nào" qualifies the figure asked for, it is not a second question
    ("GRDP năm 2021 tăng bao nhiêu và so với kế hoạch thế nào?", ["GRDP năm 2021 tăng bao nhiêu và so với kế hoạch thế nào?"]),
    ("Bao nhiêu bao nhiêu?", ["Bao nhiêu bao nhiêu?"]),  # nothing between them to split at
])
def test_question_parts(question, parts):
    assert question_parts(question) == parts


def test_decomposed_question_is_split_the_same_way():
    question = "Tăng bao nhiêu, giảm bao nhiêu?"
    nfd = __import__("unicodedata").normalize("NFD", question)
    assert question_parts(nfd) == ["Tăng bao nhiêu", "giảm bao nhiêu?"]


@pytest.mark.parametrize("question, signer", [
    ("Thông báo kết luận phiên họp tháng 4/2022 do ai ký?", True),
    ("Ai ký báo cáo tình hình kinh tế - xã hội năm 2021?", True),
    ("nguoi ky bao cao nam 2021 la ai", True),  # typed without marks
    ("Báo cáo năm 2021 ký bởi ai?", True),
    ("Có bao nhiêu doanh nghiệp đăng ký thành lập mới?", False),  # "đăng ký" is registering, not signing
    ("Ai là Chủ tịch UBND tỉnh?", False),
    ("Tỉnh đã ký kết bao nhiêu thỏa thuận hợp tác?", False),
])
def test_asks_signer(question, signer):
    from rag.questions import asks_signer
    assert asks_signer(question) is signer
