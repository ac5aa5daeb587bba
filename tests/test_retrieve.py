"""Retrieval on the project's index of the bundled reports (read-only)."""
from __future__ import annotations

import pytest

from rag.retrieve import Retriever, expand_query, facet_match, query_facets
from rag.types import Hit


@pytest.fixture(scope="module")
def retriever(project_settings):
    return Retriever.load(project_settings)


@pytest.mark.parametrize("accented, accentless", [
    ("Kim ngạch xuất nhập khẩu qua địa bàn tỉnh Cao Bằng cả năm 2021 ước đạt bao nhiêu?",
     "kim ngach xuat nhap khau qua dia ban tinh Cao Bang ca nam 2021 uoc dat bao nhieu?"),
    ("Tổng số lượt khám bệnh tại các cơ sở y tế công lập 6 tháng đầu năm 2023 là bao nhiêu?",
     "tong so luot kham benh tai cac co so y te cong lap 6 thang dau nam 2023 la bao nhieu?"),
])
def test_accentless_query_finds_the_same_passage(retriever, accented, accentless):
    top_accented = [h.chunk.chunk_id for h in retriever.search(accented, k=3)]
    top_accentless = [h.chunk.chunk_id for h in retriever.search(accentless, k=3)]
    assert top_accented[0] in top_accentless


@pytest.mark.parametrize("query, expected", [
    ("1.028.633", "1.028.633"),
    ("mũi vắc xin 1.028.633", "1.028.633"),
    ("96,47%", "96,47"),
])
def test_number_query_finds_its_passage(retriever, query, expected):
    hits = retriever.search(query, k=3)
    assert any(expected in h.text for h in hits)


def test_fusion_is_deterministic(retriever):
    q = "thu ngân sách 6 tháng đầu năm 2023"
    runs = [[(h.chunk.chunk_id, round(h.score, 9)) for h in retriever.search(q, k=10)] for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]
    assert len(runs[0]) == 10


def test_stage_scores_are_reported(retriever):
    hit = retriever.search("tỷ lệ hộ nghèo năm 2021", k=1)[0]
    assert {"lex_folded_rank", "lex_rank"} & set(hit.stages)
    assert hit.doc and hit.text and hit.title


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_each_mode_returns_k_hits(retriever, mode):
    assert len(retriever.search("GRDP năm 2021", k=5, mode=mode)) == 5


def test_year_and_level_favour_the_matching_report(retriever):
    hits = retriever.search("thành phố Cao Bằng năm 2021 giải quyết hồ sơ thủ tục hành chính", k=3)
    assert hits[0].doc == "tp-cao-bang_bao-cao-ktxh-2021.txt"
    hits = retriever.search("6 tháng đầu năm 2023 khu vực dịch vụ tăng trưởng", k=3)
    assert hits[0].doc == "tinh-cao-bang_bao-cao-ktxh-6-thang-dau-2023.txt"


@pytest.mark.parametrize("question, level", [
    ("Tổng sản lượng lương thực có hạt năm 2021 của tỉnh", "tỉnh"),
    ("Tổng sản lượng lương thực có hạt năm 2021 của thành phố", "thành phố"),
    ("Thu ngân sách trên địa bàn năm 2021 của thành phố", "thành phố"),
])
def test_the_level_asked_keeps_the_other_levels_report_out_of_the_top(retriever, question, level):
    hits = retriever.search(question, k=5)
    assert {retriever.doc_level[h.doc] for h in hits} == {level}


def test_abbreviations_expand_both_ways():
    assert "tổng sản phẩm trên địa bàn" in expand_query("GRDP năm 2021")
    assert "UBND" in expand_query("ủy ban nhân dân tỉnh")
    assert expand_query("không có viết tắt") == "không có viết tắt"


def test_facets():
    facets = query_facets("6 tháng đầu năm 2023 thành phố")
    assert ("year", "2023") in facets and ("months", "6") in facets and ("level", "thanh pho") in facets
    assert facet_match([("year", "2024")], "Kế hoạch 5 năm 2021-2025") == 0.0
    assert facet_match([("year", "2025")], "Kế hoạch 5 năm 2021-2025") == 0.5
    assert facet_match([("year", "2023")], "6 tháng đầu năm 2023") == 1.0
    # a report reviews the year before its own (PCI 2022 is stated in the 2023 report); not the year after
    assert facet_match([("year", "2022")], "6 tháng đầu năm 2023") == 0.5
    assert facet_match([("year", "2024")], "6 tháng đầu năm 2023") == 0.0
    assert facet_match([("year", "2020")], "Kế hoạch 5 năm 2021-2025") == 0.0


def test_named_source_is_a_facet_not_topic_words():
    facets = query_facets("Theo kết luận phiên họp UBND tỉnh tháng 4/2022, thu ngân sách đạt bao nhiêu?")
    source = dict(facets)["source"].split()
    assert {"ket", "luan", "phien", "hop"} <= set(source) and "ngan" not in source
    assert facet_match([("source", "ket luan phien hop")], "Thông báo kết luận phiên họp UBND tỉnh") == 1.0
    assert facet_match([("source", "ket luan phien hop")], "Báo cáo tình hình kinh tế - xã hội") == 0.0


def test_named_source_does_not_pull_cover_pages(retriever):
    # the report's own name ("KT-XH", "trình HĐND", "tháng 12/2021") matched the cover page as topic words
    hits = retriever.search("Theo báo cáo KT-XH trình HĐND tỉnh tháng 12/2021, tổng vốn đầu tư toàn xã hội "
                            "năm 2021 của tỉnh tăng bao nhiêu?", k=3)
    assert hits[0].doc == "tinh-cao-bang_bao-cao-ktxh-2021.txt"
    assert "vốn đầu tư toàn xã hội" in hits[0].text
    hits = retriever.search("Theo kết luận phiên họp UBND tỉnh tháng 4/2022, tỷ lệ giải ngân vốn đầu tư công "
                            "đạt bao nhiêu?", k=3)
    assert hits[0].doc == "tinh-cao-bang_ket-luan-phien-hop-thang-4-2022.txt"


def test_empty_query_returns_nothing(retriever):
    assert retriever.search("   ", k=5) == []


def test_passage_cut_mid_list_is_completed_from_the_next_chunk(retriever):
    # the 5-year report lists four partner geoparks in one sentence; the splitter cut it after the first
    cut = next(c for c in retriever.chunks if c.text.rstrip().endswith("Lạc Nghiệp - Phượng Sơn, Trung Quốc;"))
    wide = retriever.widen(Hit(chunk=cut, score=1.0)).chunk
    assert wide.text.startswith(cut.text) and "Medungsan, Hàn Quốc" in wide.text
    assert wide.text.count("Khorat") == 1  # the chunks' overlap is not repeated
    assert wide.chunk_id == cut.chunk_id and wide.end > cut.end
    # a chunk that stops mid-sentence before a new capitalised sentence (text lost in the PDF) stays as it is
    broken = next(c for c in retriever.chunks if c.text.rstrip().endswith("một số địa phương đã"))
    assert retriever.widen(Hit(chunk=broken, score=1.0)).chunk.text == broken.text
    whole = next(c for c in retriever.chunks if c.kind == "body" and c.text.endswith(".") and c.text[0].isupper())
    assert retriever.widen(Hit(chunk=whole, score=1.0)).chunk.text == whole.text


def test_extend_carries_a_list_past_the_chunk_edge(retriever):
    cut = next(c for c in retriever.chunks if c.text.rstrip().endswith("Lạc Nghiệp - Phượng Sơn, Trung Quốc;"))
    long = retriever.extend(Hit(chunk=cut, score=1.0), 600).chunk
    assert long.text.startswith(cut.text) and "Medungsan, Hàn Quốc" in long.text
    assert long.text.count("Khorat") == 1 and long.end > cut.end and len(long.text) <= len(cut.text) + 600
    assert long.text.rstrip()[-1] in ".;:!?"  # cut after a whole sentence
    assert retriever.extend(Hit(chunk=cut, score=1.0), 0).chunk.text == cut.text


@pytest.mark.parametrize("query, dropped, kept", [
    ("Đàn bò thành phố Cao Bằng năm 2021", ["thành phố", "Cao Bằng"], ["Đàn bò", "2021"]),
    ("dan bo thanh pho Cao Bang nam 2021", ["thanh pho", "Cao Bang"], ["dan bo"]),
    # no bundled report is a district's: "huyện" is what is asked about, not which report
    ("Tỷ lệ che phủ rừng của huyện Bảo Lâm toàn tỉnh", ["toàn tỉnh"], ["huyện Bảo Lâm"]),
    ("Thành phố Cao Bằng?", [], ["Thành phố Cao Bằng"]),  # nothing else asked: the query stays
])
def test_lexical_query_drops_the_corpus_place_and_report_levels(retriever, query, dropped, kept):
    lexical = retriever.lexical_query(query)
    assert not any(w in lexical for w in dropped)
    assert all(w in lexical for w in kept)


def test_place_and_level_words_do_not_drown_a_short_topic(retriever):
    # every footnote of the city's report names "thành phố Cao Bằng" and 2021; two words say what is asked
    hits = retriever.search("Đàn bò thành phố Cao Bằng năm 2021", k=3)
    assert "Đàn bò: 237 con" in hits[0].text


def test_the_report_a_question_names_leads_the_hits(retriever):
    question = "Theo báo cáo đánh giá kế hoạch 5 năm 2021-2025, tổng đàn lợn của tỉnh là bao nhiêu con?"
    city = next(c for c in retriever.chunks if c.doc.startswith("tp-"))
    plan = next(c for c in retriever.chunks if "5-nam" in c.doc)
    hits = [Hit(city, 1.0), Hit(plan, 0.9)]
    assert [h.chunk for h in retriever.named_report_first(question, hits)] == [plan, city]
    assert retriever.named_report_first("Tổng đàn lợn của tỉnh là bao nhiêu con?", hits) == hits  # none named
    assert retriever.named_report_first(question, hits[::-1]) == hits[::-1]  # it leads already
