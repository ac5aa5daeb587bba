"""Meaning checks and verdicts (rag/meaning.py, rag/verify.py) on crafted sentences, including the four failures
a new user saw: a change given as the poverty rate, public investment as total social investment, city facts as
the province's, and a line of bare figures ("26 HTX 380 HTX [1]")."""
from __future__ import annotations

import dataclasses

import pytest

from rag.assistant import Assistant, bare_figures
from rag.meaning import Sentence, check_sentence, figure_kinds, read_question, sentence_in, span_of
from rag.rerank import SentenceReranker
from rag.retrieve import Retriever
from rag.types import Chunk, Hit
from rag.verify import REJECT, Verdict, VerifyPolicy

# a tiny corpus for the idf of the question's terms
RERANKER = SentenceReranker([
    "Tỷ lệ hộ nghèo giảm 4%, còn 39,76%.", "Tổng vốn đầu tư toàn xã hội tăng 11%.",
    "Tổng số vốn đầu tư công của thành phố là 447 tỷ đồng.", "Khách du lịch quốc tế đạt 1.438 lượt.",
    "Thu ngân sách đạt 1.790 tỷ đồng.", "Có 26 hợp tác xã thành lập mới, tổng số 380 hợp tác xã.",
])


def verdicts(question: str, sentence: Sentence, line: str | None = None) -> list[Verdict]:
    return check_sentence(read_question(question, RERANKER), sentence, line=line)


def rejection(question: str, sentence: Sentence, line: str | None = None) -> str:
    """The code of the first rejection ('' when the sentence passes)."""
    return next((v.code for v in verdicts(question, sentence, line) if v.outcome == REJECT), "")


POVERTY_Q = "Tỷ lệ hộ nghèo của tỉnh năm 2021 là bao nhiêu?"
POVERTY = Sentence("Năm 2021, tỷ lệ hộ nghèo giảm 4%, còn 39,76%.", level="tỉnh")


@pytest.mark.parametrize("line, code", [
    ("Tỷ lệ hộ nghèo năm 2021 đạt 4% [1].", "change"),  # the change given as the rate
    ("Tỷ lệ hộ nghèo năm 2021 là 39,76% [1].", ""),  # "giảm … còn 39,76%": the rate it came to
    # worded as the change it is, it still does not say what the rate was (dev u004: "còn bao nhiêu phần trăm?"
    # answered "giảm được 21,22%")
    ("Tỷ lệ hộ nghèo giảm 4% [1].", "change"),
    ("Tỷ lệ hộ nghèo giảm 4%, còn 39,76% [1].", ""),
])
def test_a_change_is_not_the_level_asked(line, code):
    assert rejection(POVERTY_Q, POVERTY, line) == code


def test_a_change_passes_when_the_question_asks_for_one():
    assert rejection("Tỷ lệ hộ nghèo năm 2021 giảm bao nhiêu?", POVERTY, "Giảm 4% [1].") == ""


def test_a_target_is_not_the_result_asked_unless_a_target_is_asked():
    s = Sentence("Năm 2021 thu ngân sách đạt 1.790 tỷ đồng; chỉ tiêu kế hoạch là 1.500 tỷ đồng.")
    assert rejection("Thu ngân sách năm 2021 đạt bao nhiêu?", s, "Đạt 1.500 tỷ đồng [1].") == "plan"
    assert rejection("Thu ngân sách năm 2021 đạt bao nhiêu?", s, "Đạt 1.790 tỷ đồng [1].") == ""
    assert rejection("Chỉ tiêu kế hoạch thu ngân sách năm 2021 là bao nhiêu?", s, "1.500 tỷ đồng [1].") == ""


@pytest.mark.parametrize("text, kinds", [
    ("giảm 4%, còn 39,76%", {"4": {"change"}, "39.76": {"level"}}),
    ("tăng bình quân 6,5%/năm", {"6.5": {"change"}}),
    ("phấn đấu đạt 90%", {"90": {"plan"}}),
    ("đạt 44,5% KH năm 2023", {"44.5": {"level"}}),  # the year is no figure
    # a sentence led by a plan word states every figure as a target, however far (a021; "Phân đấu": OCR's tone)
    ("Phân đấu lượt khách du lịch đạt 1 triệu lượt; doanh thu từ du lịch đạt 125 tỷ đồng.",
     {"1": {"plan"}, "125": {"plan"}}),
    ("g) Dự kiến số doanh nghiệp thành lập mới đạt 150 doanh nghiệp", {"150": {"plan"}}),
    ("Doanh thu du lịch đạt 125 tỷ đồng, phấn đấu năm sau đạt 150 tỷ đồng", {"125": {"level"}, "150": {"plan"}}),
])
def test_figure_kinds(text, kinds):
    assert figure_kinds(text) == kinds


def test_public_investment_is_not_total_social_investment():
    q = "Tổng vốn đầu tư toàn xã hội năm 2021 của thành phố là bao nhiêu?"
    public = Sentence("Tổng số vốn đầu tư công của thành phố năm 2021 là 447 tỷ đồng.", level="thành phố")
    assert rejection(q, public, "447 tỷ đồng [1].") == "qualifier"
    total = Sentence("Năm 2021 tổng vốn đầu tư toàn xã hội trên địa bàn thành phố đạt 900 tỷ đồng.", level="thành phố")
    assert rejection(q, total, "900 tỷ đồng [1].") == ""
    # a sentence naming no qualifier of the pair is not turned away by it
    assert rejection("Vốn đầu tư công năm 2021 là bao nhiêu?", Sentence("Năm 2021 vốn đầu tư đạt 9 tỷ đồng.")) == ""


def test_an_acronym_names_its_qualifier():
    q = "Kim ngạch xuất nhập khẩu năm 2021 đạt bao nhiêu?"
    assert rejection(q, Sentence("Năm 2021 kim ngạch XNK đạt 600 triệu USD.")) == ""
    assert rejection(q, Sentence("Năm 2021 kim ngạch xuất khẩu đạt 400 triệu USD.")) == "qualifier"


@pytest.mark.parametrize("question, sentence, code", [
    # city facts are not the province's, nor the reverse
    ("Năm 2021 tỉnh đón bao nhiêu lượt khách du lịch quốc tế?",
     Sentence("Năm 2021 khách du lịch quốc tế đạt 1.340 lượt.", level="thành phố"), "level"),
    ("Năm 2021 thành phố đón bao nhiêu lượt khách du lịch quốc tế?",
     Sentence("Năm 2021 khách du lịch quốc tế đạt 1.438 lượt.", level="tỉnh"), "level"),
    # a province report's sentence that names the city answers about the city
    ("Năm 2021 thành phố đón bao nhiêu lượt khách du lịch quốc tế?",
     Sentence("Năm 2021 thành phố đón 300 lượt khách du lịch quốc tế.", level="tỉnh"), ""),
    # no level named: any report
    ("Năm 2021 đón bao nhiêu lượt khách du lịch quốc tế?",
     Sentence("Năm 2021 khách du lịch quốc tế đạt 1.340 lượt.", level="thành phố"), ""),
])
def test_the_level_asked_wins(question, sentence, code):
    assert rejection(question, sentence) == code


@pytest.mark.parametrize("question, sentence, code", [
    ("Thu ngân sách năm 2022 đạt bao nhiêu?", Sentence("Năm 2021 thu ngân sách đạt 1.790 tỷ đồng."), "period"),
    ("Thu ngân sách năm 2022 đạt bao nhiêu?", Sentence("Thu ngân sách đạt 1.790 tỷ đồng.", report="Báo cáo 2022"), ""),
    # a period states none of its single years: "2021-2025" does not say what 2022 was
    ("Thu ngân sách năm 2022 đạt bao nhiêu?", Sentence("Giai đoạn 2021-2025 thu ngân sách đạt 9.000 tỷ đồng."),
     "period"),
    ("Thu ngân sách giai đoạn 2021-2025 đạt bao nhiêu?", Sentence("Thu ngân sách năm 2025 đạt 2.000 tỷ đồng."), ""),
    # a year ruled out is not asked
    ("Thu ngân sách năm 2022 (không phải năm 2025) đạt bao nhiêu?", Sentence("Năm 2025 thu ngân sách đạt 9 tỷ."),
     "period"),
])
def test_the_period_asked(question, sentence, code):
    assert rejection(question, sentence) == code


@pytest.mark.parametrize("text, span", [
    ("Thu ngân sách đến ngày 15/11/2021 đạt 1.500 tỷ đồng.", "part"),
    ("Tháng 10/2021 thu ngân sách đạt 150 tỷ đồng.", "part"),
    ("10 tháng đầu năm 2021 xảy ra 09 vụ cháy.", "part"),
    ("9 tháng năm 2021 GRDP tăng 3%.", "part"),
    ("Quý III/2021 hạn hán kéo dài.", "part"),
    ("6 thang dau nam 2023 dat 20% ke hoach nam", "part"),  # accentless; "kế hoạch năm" says no span
    ("Ước thực hiện năm 2021, thu ngân sách đạt 1.790 tỷ đồng.", "year"),
    ("Ước cả năm 2023 đạt 80% kế hoạch.", "year"),
    ("Năm 2021 thu ngân sách đạt 1.790 tỷ đồng.", ""),  # a bare year says neither
    ("Đến ngày 31/12/2021 toàn tỉnh có 97 sản phẩm.", ""),  # the year's end is not a part of it
    ("Công tác quy hoạch được triển khai.", ""),  # "quy hoạch" is not "quý"
    ("6 tháng đầu năm đạt 50 tỷ, ước cả năm đạt 100 tỷ.", ""),  # both: the check cannot tell which figure
])
def test_the_part_of_the_year_a_text_states(text, span):
    assert span_of(text) == span


YEAR_Q = "Thu ngân sách ước cả năm 2021 đạt bao nhiêu?"
HALF_Q = "Thu ngân sách 6 tháng đầu năm 2023 đạt bao nhiêu?"
REPORT_2021 = "Báo cáo tình hình kinh tế - xã hội năm 2021 12/2021"  # a date's year ("15/11/2021") is not a year named


@pytest.mark.parametrize("question, sentence, code", [
    # asked the whole year: the figure up to November is not it (the model mixes them up)
    (YEAR_Q, Sentence("Thu ngân sách đến ngày 15/11/2021 đạt 1.500 tỷ đồng.", report=REPORT_2021), "span"),
    (YEAR_Q, Sentence("Ước thực hiện năm 2021, thu ngân sách đạt 1.790 tỷ đồng."), ""),
    (YEAR_Q, Sentence("Năm 2021 thu ngân sách đạt 1.790 tỷ đồng."), ""),
    # asked half a year: the whole year's estimate is not it
    (HALF_Q, Sentence("Ước cả năm 2023 thu ngân sách đạt 2.000 tỷ đồng."), "span"),
    (HALF_Q, Sentence("Đến ngày 31/5/2023 thu ngân sách đạt 800 tỷ đồng.", report="Báo cáo 6 tháng đầu năm 2023"),
     ""),  # parts are not told apart
    # a question naming no part of the year asks none; a part it rules out is not asked
    ("Thu ngân sách năm 2021 đạt bao nhiêu?",
     Sentence("Thu ngân sách đến ngày 15/11/2021 đạt 1.500 tỷ đồng.", report=REPORT_2021), ""),
    ("Thu ngân sách cả năm 2023 (không phải số ước 6 tháng) đạt bao nhiêu?",
     Sentence("6 tháng đầu năm 2023 thu ngân sách đạt 800 tỷ đồng."), "span"),
])
def test_the_part_of_the_year_asked(question, sentence, code):
    assert rejection(question, sentence) == code


def test_a_sentence_on_another_indicator_is_not_about_the_question():
    q = "Thu ngân sách năm 2021 đạt bao nhiêu?"
    assert rejection(q, Sentence("Năm 2021 khách du lịch quốc tế đạt 1.438 lượt.")) == "indicator"
    # the section heading and the sentence before count: "Trong đó, …" goes on from it
    chunk = Chunk(doc="a", text="Thu ngân sách năm 2021 khả quan. Trong đó, thu nội địa đạt 1.790 tỷ đồng.",
                  heading_path=["Tài chính"])
    start = chunk.text.index("Trong đó")
    assert rejection(q, sentence_in(chunk, start, len(chunk.text))) == ""


def test_the_checks_stop_at_the_first_rejection_in_the_policy_order():
    s = Sentence("Năm 2020 khách du lịch quốc tế đạt 1.438 lượt.", level="tỉnh")
    got = verdicts("Thu ngân sách của thành phố năm 2021 đạt bao nhiêu?", s)
    assert [v.check for v in got] == ["indicator"] and got[0].outcome == REJECT
    only_level = VerifyPolicy(meaning_checks=("level",))
    got = check_sentence(read_question("Thu ngân sách của thành phố năm 2021?", RERANKER), s, only_level)
    assert [(v.check, v.code) for v in got] == [("level", "level")]


@pytest.mark.parametrize("line, bare", [
    ("26 HTX 380 HTX [1]", True),
    ("1.776 doanh nghiệp 21.413 tỷ đồng [1]", True),
    ("Có 26 HTX thành lập mới, nâng tổng số lên 380 HTX [1].", False),
    ("Đạt 1.790 tỷ đồng [1].", False),  # one figure answers the one thing asked
])
def test_a_line_of_bare_figures(line, bare):
    assert bare_figures(line) is bare


# -- through the assistant: the verdicts decide, and are recorded --------------------------------------------------
class ScriptedFakeLLM:
    """Returns the next canned reply on each call (a fake, for the plumbing of the checks, not the model)."""
    id = "scripted-fake-llm"

    def __init__(self, replies: list[str]):
        self.replies, self.calls = list(replies), 0

    def stream(self, messages, max_tokens=256, temperature=0.0, stop=None, seed=None):
        self.calls += 1
        yield self.replies.pop(0) if self.replies else "Không tìm thấy thông tin."


@pytest.fixture(scope="module")
def assistant(project_settings):
    return Assistant(project_settings, retriever=Retriever.load(project_settings), llm=ScriptedFakeLLM([]))


def finalize(assistant: Assistant, question: str, line: str, chunk: Chunk):
    return assistant.finalize(question, question, line, [Hit(chunk, 1.0)], {}, {})


def test_a_rate_answered_with_its_change_is_refused_with_the_verdict_code(assistant):
    chunk = Chunk(doc="a", text="Năm 2021, tỷ lệ hộ nghèo giảm 4%, còn 39,76%.", date="12/2021")
    wrong = finalize(assistant, POVERTY_Q, "Tỷ lệ hộ nghèo năm 2021 đạt 4% [1].", chunk)
    assert wrong.abstained and wrong.verdicts[-1].code == "change" and wrong.verdicts[-1].check == "sentence"
    right = finalize(assistant, POVERTY_Q, "Tỷ lệ hộ nghèo năm 2021 là 39,76% [1].", chunk)
    assert not right.abstained and not any(v.outcome == REJECT for v in right.verdicts)
    assert right.to_dict()["verdicts"][-1] == {"check": "sentence", "outcome": "accept", "code": "", "note": ""}


def test_a_figure_to_october_given_as_the_whole_year_is_refused_with_the_verdict_code(assistant):
    """A November report gives both the figure so far and the year's estimate: asked the whole year, the line citing
    the figure so far is turned down by the sentence stating it, the estimate's passes."""
    chunk = Chunk(doc="a", title="Báo cáo tình hình kinh tế - xã hội năm 2021", date="12/2021",
                  text="Thu ngân sách đến ngày 31/10/2021 đạt 1.500 tỷ đồng. "
                       "Ước thực hiện năm 2021, thu ngân sách đạt 1.790 tỷ đồng.")
    wrong = finalize(assistant, YEAR_Q, "Thu ngân sách cả năm 2021 đạt 1.500 tỷ đồng [1].", chunk)
    assert wrong.abstained and (wrong.verdicts[-1].check, wrong.verdicts[-1].code) == ("sentence", "span")
    right = finalize(assistant, YEAR_Q, "Thu ngân sách cả năm 2021 ước đạt 1.790 tỷ đồng [1].", chunk)
    assert not right.abstained and not any(v.outcome == REJECT for v in right.verdicts)


def test_a_bare_line_is_dropped_and_the_sentence_is_quoted(assistant, monkeypatch):
    question = "Năm 2021 có bao nhiêu hợp tác xã thành lập mới và tổng số hợp tác xã là bao nhiêu?"
    chunk = Chunk(doc="a", text="Năm 2021 có 26 HTX thành lập mới, nâng tổng số lên 380 HTX.", date="12/2021",
                  chunk_id="a#0")
    answer = finalize(assistant, question, "26 HTX 380 HTX [1]", chunk)
    assert not answer.abstained and answer.verdicts[-1].code == "bare_figures"
    assert answer.text == "26 HTX 380 HTX [1]"  # kept until quote_first: its figures find their sentences
    from rag.assistant import Prepared
    from rag.evidence import EvidenceUnit
    window = EvidenceUnit(1, chunk, 0, len(chunk.text), 1.0, "tỉnh")
    quoted = assistant.quote_first(Prepared(question, [], [window], passages=[window]), answer)
    assert quoted.line == "" and quoted.quotes[0]["text"] == chunk.text and "380 HTX" in quoted.text


def test_a_bare_line_quotes_the_sentence_stating_each_figure_that_passes_the_meaning_checks(assistant):
    """The line cites [1] for both figures; 51 is stated in [2], and [1] states 600 only as a target: the quote is
    [2]'s sentence alone, never the target, and the answer cites only what it quotes."""
    from rag.assistant import Prepared
    from rag.evidence import EvidenceUnit
    question = "Năm 2021 tỉnh có bao nhiêu doanh nghiệp thành lập mới, tổng vốn đăng ký bao nhiêu?"
    plan = Chunk(doc="a", text="Năm 2021 thu hút đầu tư được quan tâm. Phấn đấu thành lập mới 60 doanh nghiệp, tổng "
                               "vốn đăng ký 600 tỷ đồng.", date="12/2021", chunk_id="a#0")
    done = Chunk(doc="a", text="Năm 2021 thành lập mới 51 doanh nghiệp với tổng vốn đăng ký 546 tỷ đồng.",
                 date="12/2021", chunk_id="a#1")
    windows = [EvidenceUnit(n, c, 0, len(c.text), 1.0, "tỉnh") for n, c in ((1, plan), (2, done))]
    answer = assistant.finalize(question, question, "51 doanh nghiệp 600 tỷ đồng [1]",
                                [Hit(plan, 1.0), Hit(done, 1.0)], {}, {})
    assert answer.verdicts[-1].code == "bare_figures"
    quoted = assistant.quote_first(Prepared(question, [], [], passages=windows), answer)
    assert quoted.line == "" and [q["text"] for q in quoted.quotes] == [done.text]
    assert "600" not in quoted.text and [c.n for c in quoted.citations] == [2]


@pytest.mark.parametrize("line, phrases", [
    ("9.400 người 23.961 triệu đồng [1][2]", ["9.400 người", "23.961 triệu đồng"]),
    ("836  271 [1]", ["836", "271"]),
    ("32,9% KH năm 125 tỷ đồng [1]", ["32,9% KH năm", "125 tỷ đồng"]),
])
def test_the_figures_of_a_bare_line(line, phrases):
    from rag.assistant import figure_phrases
    assert figure_phrases(line) == phrases


@pytest.mark.parametrize("phrase, expected", [
    ("836 người", "Tuyển dụng 836 người."),
    ("271", "Tinh giản biên chế 271 đối tượng."),
    ("12 xã", None),  # stated nowhere: only "ngày 12/10/2021", a date
])
def test_the_sentence_stating_a_figure(phrase, expected):
    from rag.grounding import sentence_stating
    passage = "Tinh giản biên chế 271 đối tượng. Tuyển dụng 836 người. Hoàn thành ngày 12/10/2021."
    found = sentence_stating(passage, phrase)
    assert (passage[found[0]:found[1]].strip() if found else None) == expected


def test_the_retry_keys_on_verdicts_not_on_message_text():
    from rag.assistant import _rejected
    from rag.types import Answer
    refused_by_model = Answer("q", "", True, verdicts=[Verdict.reject("model", "no_answer", "answer rejected: x")])
    turned_down = Answer("q", "", True, verdicts=[Verdict.reject("sentence", "level", "whatever the wording")])
    assert not _rejected(refused_by_model) and _rejected(turned_down)
    assert not _rejected(dataclasses.replace(turned_down, verdicts=[Verdict.accept("sentence")],
                                             warnings=["answer rejected: …"]))


def test_the_retry_goes_to_the_passage_whose_sentence_passes_the_meaning_checks(assistant):
    """Asked about the city: passage [1] holds only the province's figure, passage [2] the city's."""
    from rag.assistant import Prepared, _renumbered
    from rag.evidence import EvidenceUnit
    from rag.types import Answer, Citation
    q = "Năm 2021 thành phố đón bao nhiêu lượt khách du lịch quốc tế?"

    def unit(n: int, text: str, level: str) -> EvidenceUnit:
        return EvidenceUnit(n, Chunk(doc=f"d{n}", text=text, chunk_id=f"d{n}#0"), 0, len(text), 1.0, level)
    province = unit(1, "Năm 2021 khách du lịch quốc tế đạt 1.438 lượt.", "tỉnh")
    city = unit(2, "Năm 2021 khách du lịch quốc tế đến thành phố đạt 300 lượt.", "thành phố")
    off_topic = unit(2, "Năm 2021 thu ngân sách đạt 1.790 tỷ đồng.", "thành phố")
    assert assistant.retry_passage(Prepared(q, [], [province, city], passages=[province, city])) == 2
    assert assistant.retry_passage(Prepared(q, [], [city, province], passages=[province, city])) == 2
    assert assistant.retry_passage(Prepared(q, [], [province, off_topic], passages=[province, off_topic])) == 0
    # the retry's answer calls its one passage [1]: renumbered to the passage it was
    alone = Answer(q, "Đạt 300 lượt [1].", False, [Citation(1, "d2", "", "", city.text)])
    renumbered = _renumbered(alone, 2)
    assert renumbered.text == "Đạt 300 lượt [2]." and [c.n for c in renumbered.citations] == [2]


@pytest.mark.parametrize("question, change", [
    ("GRDP tăng bao nhiêu?", True), ("grdp tang bao nhieu", True), ("Tăng trưởng âm bao nhiêu?", True),
    ("Tổng vốn đầu tư hạ tầng là bao nhiêu?", False),  # "hạ tầng" folds onto "tăng"
    ("Giám đốc Sở là ai?", False),  # "giám" folds onto "giảm"
])
def test_a_question_asking_for_a_change(question, change):
    from rag.meaning import asks_change
    assert asks_change(question) is change
