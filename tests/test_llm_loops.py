"""A reply caught in a loop stops there (rag/llm.RepetitionPolicy): which ends count as a loop, what is kept, and
that the reports' own text never looks like one. The real backends stopping are tested in test_offline.py (llama.cpp
in process) and test_assistant.py (a llama.cpp server)."""
import re
from pathlib import Path

import pytest

from rag.llm import DEFAULT_REPETITION, RepetitionPolicy

REPORTS = Path(__file__).resolve().parents[1] / "data" / "reports"


@pytest.mark.parametrize("text, kept", [
    ("Tổng sản lượng thịt ước đạt [n] [n] [n] [n]", "Tổng sản lượng thịt ước đạt [n]"),  # the prompt's mark
    ("Đàn trâu 1.236 con [1]. [1]. [1]. [1].", "Đàn trâu 1.236 con [1]."),
    ("Năm 2021 [1][1][1][1]", "Năm 2021 [1]"),
    ("Xin chào Xin chào Xin chào Xin chào Xin", "Xin chào Xin"),  # stopped inside the unit: " chào Xin" once
    ("Kết quả: tăng trưởng kinh tế, tăng trưởng kinh tế, tăng trưởng kinh tế, tăng trưởng kinh tế, ",
     "Kết quả: tăng trưởng kinh tế, "),  # a repeated phrase
])
def test_a_looping_end_is_written_once(text, kept):
    assert DEFAULT_REPETITION.loop(text) is not None
    assert DEFAULT_REPETITION.kept(text) == kept


@pytest.mark.parametrize("text", [
    "Đàn trâu 1.236 con [1]. Đàn bò 237 con [2].",
    "Tổng vốn 1.000.000.000.000",  # digit groups repeat, but they are one figure
    "rất rất rất rất",  # three repeats of " rất" after the first
    "Ghi chú ........",  # leaders and rules: no letter, no citation mark
    "| a | b |\n|---|---|---|---|",
    "[1] [2] [3] [4] [5]",
    "",
])
def test_an_ordinary_end_is_no_loop(text):
    assert DEFAULT_REPETITION.loop(text) is None and DEFAULT_REPETITION.kept(text) == text


def test_the_repeats_needed_are_the_policys():
    text = "Năm 2021 [n] [n] [n]"
    assert DEFAULT_REPETITION.loop(text) is None
    assert RepetitionPolicy(min_repeats=3).kept(text) == "Năm 2021 [n]"


def test_no_place_in_the_bundled_reports_reads_as_a_loop():
    """Any run of a unit repeated four times in the reports (candidates found by a regex) is checked where it ends:
    a reply quoting the reports is never stopped as a loop."""
    paths = sorted(REPORTS.glob("*.txt"))
    assert paths
    for path in paths:
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"(?=(.{2,80}?)\1{3})", text, re.S):
            end = m.start() + 4 * len(m.group(1))
            assert DEFAULT_REPETITION.loop(text[:end]) is None, (path.name, text[end - 60:end])
