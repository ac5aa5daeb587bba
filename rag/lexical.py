"""Lexical index: bm25s over Vietnamese syllables + bigrams, twice: with diacritics and accent-folded.

Built in memory from the stored chunks when the index loads (well under a second for thousands of
chunks), so nothing but the chunks themselves is persisted.

Example: ``LexicalIndex(texts).scores("ty le ho ngheo", folded=True).argmax()``
"""
from __future__ import annotations

import logging

import bm25s
import numpy as np

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG

from .text import strip_question_words, tokenize, with_bigrams


class _Field:
    def __init__(self, docs_tokens: list[list[str]]):
        self.n = len(docs_tokens)
        self.bm25 = bm25s.BM25(k1=1.2, b=0.75)
        # bm25s needs at least one token per document; an empty doc gets a placeholder token
        self.bm25.index([t or ["\u0000"] for t in docs_tokens], show_progress=False)

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        known = [t for t in query_tokens if t in self.bm25.vocab_dict]
        if not known or self.n == 0:
            return np.zeros(self.n, np.float32)
        return np.asarray(self.bm25.get_scores(known), np.float32)


class LexicalIndex:
    """Two BM25 fields over the same passages: ``accented`` and ``folded`` (no diacritics)."""

    def __init__(self, texts: list[str]):
        self.accented = _Field([with_bigrams(tokenize(t)) for t in texts])
        self.folded = _Field([with_bigrams(tokenize(t, folded=True, stopwords=False)) for t in texts])

    def scores(self, query: str, folded: bool) -> np.ndarray:
        query = strip_question_words(query)
        if folded:
            return self.folded.scores(with_bigrams(tokenize(query, folded=True, stopwords=False)))
        return self.accented.scores(with_bigrams(tokenize(query)))
