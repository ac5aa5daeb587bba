"""Second retrieval stage: reorder the first few fused passages by their best single sentence.

The small LLM answers from passage [1] far more often than from the others, so which of the top three
comes first decides many answers. BM25 scores a chunk by all its words; the answer to a question sits in
one sentence that holds most of the question's topic (the "MaxP" idea, without a cross-encoder: none ships
its weights offline). The fused rank still counts, so a first passage that matches well keeps its place.

Example: ``SentenceReranker(texts).rerank("tuổi thọ trung bình năm 2024", hits)[0]`` is the hit whose one
sentence names "tuổi thọ trung bình" (and not a chunk that mentions "năm 2024" in every sentence).
"""
from __future__ import annotations

import math
from collections import Counter

from .text import GENERIC_WORDS, SENTENCE, strip_question_words, tokenize, with_bigrams
from .types import Hit

SENTENCE_WEIGHT = 0.7  # vs 0.3 for the fused rank; chosen on the dev set (0.65-0.9 within one question)


def terms_of(text: str) -> set[str]:
    """Folded syllables and bigrams of a text, as the query terms are matched against."""
    return set(with_bigrams(tokenize(text, folded=True)))


class SentenceReranker:
    """Scores a passage by its best sentence: the idf-weighted share of the question's terms it holds."""

    def __init__(self, texts: list[str]):
        df: Counter[str] = Counter()
        for text in texts:
            df.update(terms_of(text))
        n = len(texts)
        self._idf = {t: math.log((n + 1) / (c + 0.5)) for t, c in df.items()}
        self._unseen = math.log((n + 1) / 0.5)  # a term in no passage: as rare as a df of 0 gives

    def query_terms(self, query: str) -> dict[str, float]:
        """The question's topical terms (folded syllables and bigrams, generic words dropped) with their idf."""
        words = [t for t in tokenize(strip_question_words(query), folded=True) if t not in GENERIC_WORDS]
        return {t: self._idf.get(t, self._unseen) for t in with_bigrams(words)}

    def topic_terms(self, query: str) -> dict[str, float]:
        """Like ``query_terms``, but a bigram only of words adjacent in the question ("cả năm 2021" gives no
        "ca_2021" once "năm" is dropped as generic), and only terms some passage holds: the others cannot tell
        one sentence from another.

        Example: ``reranker.topic_terms("sản lượng thủy sản cả năm 2021")`` has "thuy_san" and no "ca_2021".
        """
        tokens = tokenize(strip_question_words(query), folded=True)
        words = [t for t in tokens if t not in GENERIC_WORDS]
        pairs = [f"{a}_{b}" for a, b in zip(tokens, tokens[1:]) if a not in GENERIC_WORDS and b not in GENERIC_WORDS]
        return {t: self._idf[t] for t in words + pairs if t in self._idf}

    def sentence_score(self, query: str, passage: str) -> float:
        """Share (0..1) of the query's idf mass held by the passage's best sentence.

        Example: ``reranker.sentence_score("tuổi thọ trung bình", "Tuổi thọ trung bình 72,7 tuổi.")`` -> 1.0
        """
        terms = self.query_terms(query)
        total = sum(terms.values())
        if not total:
            return 0.0
        best = 0.0
        for m in SENTENCE.finditer(passage):
            found = terms_of(m.group(0))
            best = max(best, sum(w for t, w in terms.items() if t in found))
        return best / total

    def rerank(self, query: str, hits: list[Hit], weight: float = SENTENCE_WEIGHT) -> list[Hit]:
        """``hits`` reordered by weight * best-sentence share + (1 - weight) / fused rank."""
        scored = []
        for rank, h in enumerate(hits, 1):
            h.stages["sentence"] = self.sentence_score(query, h.chunk.text)  # shown by `python -m rag search`
            scored.append((weight * h.stages["sentence"] + (1 - weight) / rank, rank, h))
        scored.sort(key=lambda s: (-s[0], s[1]))
        return [h for _, _, h in scored]
