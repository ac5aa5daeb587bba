"""The best-sentence reranker: the scores on a tiny fixture, and its place in the real retriever."""
from __future__ import annotations

import dataclasses

import pytest

from rag.rerank import SentenceReranker
from rag.retrieve import Retriever
from rag.types import Chunk, Hit

PASSAGES = [
    "Năm 2024 dân số tăng 1,31%. Tỷ số giới tính năm 2024 là 112 bé trai/100 bé gái. Năm 2024 có 10 xã mới.",
    "Cao Bằng bước vào già hóa dân số; tuổi thọ trung bình năm 2024 tăng lên 72,7 tuổi.",
    "Năm 2024 trồng rừng 1.000 ha. Năm 2024 khai thác gỗ 4.800 m3.",
]


@pytest.fixture(scope="module")
def reranker():
    return SentenceReranker(PASSAGES)


def hits(texts):
    return [Hit(chunk=Chunk(doc=f"d{i}", text=t), score=1.0 / (i + 1)) for i, t in enumerate(texts)]


def test_sentence_score_is_the_share_held_by_one_sentence(reranker):
    assert reranker.sentence_score("tuổi thọ trung bình", PASSAGES[1]) == pytest.approx(1.0)
    assert reranker.sentence_score("tuổi thọ trung bình năm 2024", PASSAGES[1]) > 0.7  # "bình 2024" is no pair there
    # "năm 2024" is everywhere in the first passage but "tuổi thọ" nowhere: a small share
    assert reranker.sentence_score("tuổi thọ trung bình năm 2024", PASSAGES[0]) < 0.3
    assert reranker.sentence_score("bao nhiêu?", PASSAGES[0]) == 0.0  # nothing topical asked


def test_the_passage_whose_sentence_answers_moves_first(reranker):
    ranked = reranker.rerank("tuoi tho trung binh nam 2024 la bao nhieu", hits(PASSAGES))  # accentless too
    assert ranked[0].chunk.text == PASSAGES[1]
    assert sorted(h.chunk.doc for h in ranked) == ["d0", "d1", "d2"]  # a reordering, nothing lost


def test_equal_sentences_keep_the_fused_order(reranker):
    same = hits(["Trồng rừng 1.000 ha.", "Trồng rừng 1.000 ha."])
    assert [h.chunk.doc for h in reranker.rerank("trồng rừng", same)] == ["d0", "d1"]


def test_retriever_reorders_only_its_first_hits(project_settings):
    plain = Retriever.load(dataclasses.replace(project_settings, rerank_depth=0))
    reranked = Retriever.load(dataclasses.replace(project_settings, rerank_depth=3))
    # accentless, fused first: another chunk of the six-month report; reranked first: the sentence stating the
    # electricity output "154,873 triệu kWh"
    query = "san luong dien san xuat 6 thang dau nam 2023 dat bao nhieu?"
    before, after = plain.search(query, k=10), reranked.search(query, k=10)
    assert "154,873" not in before[0].chunk.text and "154,873" in after[0].chunk.text
    key = [h.chunk.chunk_id for h in before]
    assert sorted(key[:3]) == sorted(h.chunk.chunk_id for h in after[:3])  # the same top 3, reordered
    assert key[3:] == [h.chunk.chunk_id for h in after[3:]]
    assert reranked.search(query, k=1)[0].chunk.chunk_id == after[0].chunk.chunk_id  # k does not change the order
    assert "sentence" in after[0].stages
