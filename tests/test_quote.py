"""rag/quote.py: how a quote-first answer reads as plain text, and when two quoted spans are the same text.

The choices (which sentences are quoted, when one stands alone) are tested with the real index in
tests/test_assistant.py; these are the pure pieces.
"""
from __future__ import annotations

import pytest

from rag.quote import Quote, compose, overlaps


def _q(n: int, text: str) -> Quote:
    return Quote(n, text, "r.txt", "Báo cáo X", "12/2021", "tỉnh")


@pytest.mark.parametrize("line, quotes, expected", [
    ("Đạt 556 tấn [1].", [_q(1, " sản lượng đạt 556 tấn ")],
     "Đạt 556 tấn [1].\n\nBáo cáo nêu:\n«sản lượng đạt 556 tấn» [1]"),
    ("", [_q(2, "A."), _q(4, "B.")], "Báo cáo nêu:\n«A.» [2]\n«B.» [4]"),  # the quotes stand alone
    ("Đạt 5% [1].", [], "Đạt 5% [1]."),
])
def test_compose(line, quotes, expected):
    assert compose(line, quotes) == expected


@pytest.mark.parametrize("a, b, expected", [
    (("c#1", 0, 50), ("c#1", 40, 90), True),
    (("c#1", 0, 50), ("c#1", 50, 90), False),  # adjacent sentences are two quotes
    (("c#1", 0, 50), ("c#2", 0, 50), False),  # the same offsets in another chunk
    (("c#1", 10, 20), ("c#1", 0, 90), True),
])
def test_overlaps(a, b, expected):
    assert overlaps(a, b) is expected and overlaps(b, a) is expected
