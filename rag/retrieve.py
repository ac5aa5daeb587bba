"""Hybrid retrieval, staged: candidates (dense FAISS + BM25 accented + BM25 folded) -> weighted
reciprocal-rank fusion -> report-metadata prior (year, period, source named; the level asked) -> final k, its
first few reordered by their best sentence.

Example: ``Retriever.load(Settings.from_env()).search("ty le ho ngheo nam 2021", k=5)[0].doc``
"""
from __future__ import annotations

import dataclasses
import re
import time

import faiss
import numpy as np

from .chunk import SIGNATURE_HEADING
from .config import Settings
from .embed import Embedder, get_embedder
from .evidence import asked_level, report_level
from .lexical import LexicalIndex
from .rerank import SentenceReranker
from .store import IndexError_, IndexStore, StoredIndex
from .text import (fold, has_diacritics, phrase_patterns, split_source_phrase, strip_phrases, strip_question_words,
                   tokenize)
from .types import Chunk, Hit
from .vocabulary import VOCABULARY

# The corpus vocabulary's two-way acronym table (data/vocabulary.toml), matched on folded text.
_ABBR_FOLDED = [(fold(a), fold(e), a, e) for a, e in VOCABULARY.abbreviations.items()]

# Facets of a question that pick a report: years, reporting periods and administrative level.
_FACETS = [
    ("year", re.compile(r"\b((?:19|20)\d{2})\b")),
    ("months", re.compile(r"\b(\d{1,2}) thang (?:dau|cuoi)")),
    ("month", re.compile(r"\bthang (\d{1,2})\s*(?:/|nam)\s*(?:19|20)\d{2}")),
    ("period", re.compile(r"\b(5 nam|giai doan|nhiem ky)\b")),
    ("level", re.compile(r"\b(thanh pho|tp)\b")),
]


_ENDS_SENTENCE = re.compile(r"[.!?:)”\"]\s*$")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|\n")


def _overlap_len(left: str, right: str, longest: int = 400) -> int:
    """Length of the longest suffix of ``left`` that starts ``right`` (the splitter's chunk overlap)."""
    for n in range(min(longest, len(left), len(right)), 9, -1):
        if right.startswith(left[-n:]):
            return n
    return 0


def expand_query(query: str) -> str:
    """Append the expansion of each acronym present, and the acronym of each expansion present."""
    f = fold(query)
    extra = []
    for fa, fe, a, e in _ABBR_FOLDED:
        if re.search(rf"(?<![\w-]){re.escape(fa)}(?![\w-])", f) and fe not in f:
            extra.append(e)
        elif fe in f and not re.search(rf"(?<![\w-]){re.escape(fa)}(?![\w-])", f):
            extra.append(a)
    return query + (" " + " ".join(extra) if extra else "")


_SOURCE_SCAFFOLD = {"theo", "bao", "cao", "bc", "cua", "tai"}


def query_facets(query: str) -> list[tuple[str, str]]:
    """Facets that pick a report; a named source ("theo kết luận phiên họp …") is one facet of its words."""
    f = fold(query)
    facets = [(name, m.group(1)) for name, pat in _FACETS for m in pat.finditer(f)]
    source = split_source_phrase(query)[1]
    words = [t for t in tokenize(fold(expand_query(source)), folded=True) if t not in _SOURCE_SCAFFOLD]
    if words:
        facets.append(("source", " ".join(dict.fromkeys(words))))
    return facets


def facet_match(facets: list[tuple[str, str]], header: str, folded: bool = False) -> float:
    """Fraction of the question's facets that a report's title/header states (ranges and the following
    year count half).

    Pass ``folded=True`` with a header already run through ``fold`` (the retriever folds once, at load).
    """
    if not facets:
        return 0.0
    h = header if folded else fold(header)
    score = 0.0
    for name, value in facets:
        if name == "year":
            if re.search(rf"(?<![\d-]){value}(?![\d-])", h):
                score += 1
            elif re.search(rf"{value}\s*-\s*\d{{4}}|\d{{4}}\s*-\s*{value}", h):
                score += 0.5
            elif re.search(rf"(?<![\d-]){int(value) + 1}(?![\d-])", h):
                score += 0.5  # next year's report reviews the year asked (PCI 2022 is in the 2023 report)
        elif name == "months":
            score += bool(re.search(rf"\b{value} thang", h))
        elif name == "month":
            score += bool(re.search(rf"thang {value}\b", h))
        elif name == "period":
            score += bool(re.search(rf"\b{value}\b", h))
        elif name == "level":
            score += bool(re.search(r"\bthanh pho\b", h))
        elif name == "source":  # share of the named source's words in the header
            words = value.split()
            score += sum(bool(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", h)) for w in words) / len(words)
    return score / len(facets)


class Retriever:
    """Searches one loaded index; keep it resident (loading builds the BM25 fields and FAISS index)."""

    def __init__(self, stored: StoredIndex, embedder: Embedder, settings: Settings):
        self.settings = settings
        self.stored = stored
        self.chunks: list[Chunk] = stored.chunks
        self.embedder = embedder
        if stored.manifest.get("embedder_id") != embedder.id:
            raise IndexError_(f"The index was built with embedder '{stored.manifest.get('embedder_id')}' but "
                              f"'{embedder.id}' is configured: run `python -m rag index --rebuild`.")
        self.dense = faiss.IndexFlatIP(stored.vectors.shape[1])
        if len(self.chunks):
            self.dense.add(stored.vectors)
        self.lexical = LexicalIndex([c.embed_text() for c in self.chunks])
        self.reranker = SentenceReranker([c.embed_text() for c in self.chunks])
        docs = stored.docs
        # folded once here: folding per candidate per query was most of the non-embedding latency
        self.doc_header = {d: fold(" ".join([m.get("title", ""), m.get("date", ""), m.get("header", "")]))
                           for d, m in docs.items()}
        self.section_folded = [fold(c.section) for c in self.chunks]
        self.doc_level = {d: report_level(" ".join([m.get("title", ""), m.get("header", "")])) for d, m in docs.items()}
        # the corpus's place names and the levels its reports are issued at locate a question, they are not its topic
        levels = {lv for lv in self.doc_level.values() if lv}
        self._locators = phrase_patterns(list(VOCABULARY.places)
                                         + [w for lv in levels for w in VOCABULARY.levels.get(lv, [])])
        self._position = {c.chunk_id: i for i, c in enumerate(self.chunks)}
        self._notes: dict[str, list[Chunk]] = {}  # each report's footnotes, by their marker's offset
        self._signatures = {c.doc: c for c in self.chunks if c.heading_path == [SIGNATURE_HEADING]}
        for c in sorted((c for c in self.chunks if c.kind == "footnote"), key=lambda c: c.start):
            self._notes.setdefault(c.doc, []).append(c)
        # Chosen on the dev set with eval/tune_retrieval.py (a plateau: nearby settings score within 0.02):
        # weighted RRF with a small k (top ranks dominate); dense is the weakest ranker here (recall@5 0.5).
        self.weights = {"dense": 0.3, "lex": 1.0, "lex_folded": 0.5}
        self.doc_prior = 1.0
        self.section_prior = 1.0
        self.fusion = "rrf"  # or "convex": alpha * lexical + (1 - alpha) * dense, min-max normalized
        self.alpha = 0.9
        # A chunk of a report issued at another administrative level than the question asks (the city's report
        # for "tỉnh", the province's for "thành phố") scores this much: each report states its own level's
        # figures for the same indicators, so the other level's matched as well and crowded out the answer.
        # Lower keeps the other level's report out of the top ranks even when it alone states the indicator.
        # Chosen on dev (recall@5 92.2% at 1.0 and 0.8, 94.4% at 0.6, 95.6% from 0.5 to 0.2, MRR best at 0.4);
        # dev2 93.8% -> 95.3% (eval/RESULTS.md, session 13).
        self.level_mismatch = 0.4

    def lexical_query(self, query: str) -> str:
        """``query`` for BM25: without the place names and report levels (``_locators``) when topic words remain.

        Every chunk of a city's report names "thành phố …", so those words outweighed the two that say what
        is asked ("đàn trâu thành phố … năm 2021" ranked footnotes naming the city first); the level and the
        report asked still steer through the facets and the evidence's level factor.
        Example: ``retriever.lexical_query("Đàn trâu thành phố Cao Bằng năm 2021")`` -> ``"Đàn trâu   năm 2021"``
        """
        rest = strip_phrases(query, *self._locators)
        return rest if tokenize(strip_question_words(rest)) else query

    def source_match(self, question: str) -> dict[str, float]:
        """Each report's share of the facets of the report a question names ("Theo báo cáo 6 tháng đầu năm 2023,
        …"): {} when it names none."""
        source = split_source_phrase(question)[1]
        facets = query_facets(source) if source else []
        return {d: facet_match(facets, h, folded=True) for d, h in self.doc_header.items()} if facets else {}

    def named_report_first(self, question: str, hits: list[Hit]) -> list[Hit]:
        """``hits`` led by the best hit of the report the question names ("Theo báo cáo đánh giá … 2021-2025, …"),
        when another report's chunk ranked first: passage [1] is the one the small model answers from most."""
        source = self.source_match(question)
        best = max(source.values(), default=0.0)
        if not hits or not best or source.get(hits[0].doc, 0.0) >= best:
            return hits
        lead = next((h for h in hits if source.get(h.doc, 0.0) >= best), None)
        return [lead] + [h for h in hits if h is not lead] if lead else hits

    def widen(self, hit: Hit, max_chars: int = 300) -> Hit:
        """The hit with its last sentence completed from the next chunk of its section.

        The splitter cuts long list sentences at "; " ("…với các Công viên địa chất Lạc Nghiệp - Phượng Sơn,
        Trung Quốc;" | "Khorat, Thái Lan; Haute Provence, Pháp…"): the rest of the list is in the next chunk.
        Example: ``retriever.widen(hit).chunk.text.endswith(".")`` for a chunk cut mid-sentence.
        """
        c = hit.chunk
        i = self._position.get(c.chunk_id)
        nxt = self._next_in_section(i) if i is not None and c.kind == "body" else None
        if nxt is None or _ENDS_SENTENCE.search(c.text):
            return hit
        rest = nxt.text[_overlap_len(c.text, nxt.text):].lstrip()
        m = _SENTENCE_END.search(rest[:max_chars])
        # a list goes on after ";" or ","; otherwise only a lower-case start continues the sentence
        if not m or not (c.text.rstrip()[-1:] in ";," or rest[:1].islower()):
            return hit
        end = nxt.start + (len(nxt.text) - len(rest)) + m.end()
        text = c.text + " " + rest[:m.end()].strip()
        return dataclasses.replace(hit, chunk=dataclasses.replace(c, text=text, end=end))

    def extend(self, hit: Hit, max_chars: int) -> Hit:
        """The hit with the following chunks of its section appended (overlap removed), up to ``max_chars`` more
        characters, cut after a whole sentence: a list or a run of reasons goes on past the chunk edge.

        Example: ``retriever.extend(hit, 600).chunk.text.startswith(hit.chunk.text)``
        """
        c = hit.chunk
        i = self._position.get(c.chunk_id)
        if i is None or c.kind != "body":
            return hit
        text, end, room = c.text, c.end, max_chars
        while room > 0 and (nxt := self._next_in_section(i)) is not None:
            overlap = _overlap_len(text, nxt.text)
            rest = nxt.text[overlap:]
            if len(rest) > room:  # cut after the last sentence that fits
                ends = [m.end() for m in _SENTENCE_END.finditer(rest[:room])]
                if not ends:
                    break
                rest = rest[:ends[-1]]
            text, end, room, i = text + rest, nxt.start + overlap + len(rest), room - len(rest), i + 1
        if text == c.text:
            return hit
        return dataclasses.replace(hit, chunk=dataclasses.replace(c, text=text, end=end))

    def with_signature(self, hits: list[Hit]) -> list[Hit]:
        """``hits`` led by the signature block ("TM. ỦY BAN NHÂN DÂN … <name>", rag/chunk.py) of the report of the
        first hit that has one: the answer to "who signed it?" is there and shares few words with the question."""
        for h in hits:
            if (c := self._signatures.get(h.doc)) is not None:
                return [Hit(c, hits[0].score, {"signature": 1.0})] + [x for x in hits if x.chunk.chunk_id != c.chunk_id]
        return hits

    def footnotes(self, unit, slack: int = 5) -> list[Chunk]:
        """The footnotes whose marker sits in ``unit`` (a span ``start``/``end`` of ``unit.chunk``), in order:
        the note "²" of "có 03 di sản …²" names them. ``slack`` absorbs the few characters a chunk's text was
        trimmed by."""
        c = unit.chunk
        if c.kind != "body":
            return []
        lo, hi = c.start + unit.start, c.start + unit.end + slack
        return [n for n in self._notes.get(c.doc, []) if lo <= n.start <= hi]

    def _next_in_section(self, i: int) -> Chunk | None:
        if i + 1 < len(self.chunks):
            c, n = self.chunks[i], self.chunks[i + 1]
            if n.doc == c.doc and n.kind == "body" and n.heading_path == c.heading_path:
                return n
        return None

    @classmethod
    def load(cls, settings: Settings | None = None) -> "Retriever":
        settings = settings or Settings.from_env()
        stored = IndexStore(settings.index_dir).load()
        if stored is None:
            raise IndexError_(f"No index in {settings.index_dir}: run `python -m rag index` first.")
        return cls(stored, get_embedder(settings.embedder), settings)

    def _dense(self, query: str, n: int) -> tuple[list[int], list[float]]:
        q = self.embedder.embed_query(query).reshape(1, -1).astype(np.float32)
        self._last_qvec = q[0]
        faiss.omp_set_num_threads(1)  # one query: multi-threaded flat search is far slower
        scores, ids = self.dense.search(q, min(n, len(self.chunks)))
        return [int(i) for i in ids[0] if i >= 0], [float(s) for s in scores[0][: len(ids[0])]]

    @staticmethod
    def _top(scores: np.ndarray, n: int) -> list[int]:
        n = min(n, len(scores))
        idx = np.argpartition(-scores, n - 1)[:n] if n else np.array([], int)
        idx = [int(i) for i in idx[np.argsort(-scores[idx], kind="stable")] if scores[i] > 0]
        return idx

    def _rrf(self, ranked: dict[str, list[int]]) -> dict[int, float]:
        fused: dict[int, float] = {}
        for name, ids in ranked.items():
            w = self.weights[name]
            if name == "lex_folded" and "lex" not in ranked:  # accentless: the only lexical evidence
                w = self.weights["lex"]
            for rank, i in enumerate(ids):
                fused[i] = fused.get(i, 0.0) + w / (self.settings.rrf_k + rank + 1)
        return fused

    def _convex(self, ranked: dict[str, list[int]], raw: dict[str, dict[int, float]]) -> dict[int, float]:
        """alpha * lexical + (1 - alpha) * dense, each min-max normalized over the candidate union."""
        union = sorted({i for ids in ranked.values() for i in ids})
        if not union:
            return {}
        parts = {}
        for name in ranked:
            vals = raw[name]
            if name == "dense":  # score every candidate, not only dense's own top-n
                vals = {i: float(self.stored.vectors[i] @ self._last_qvec) for i in union}
            # BM25 is 0 for a passage without query terms: scale lexical from 0, dense from its minimum
            lo = min(vals.values(), default=0.0) if name == "dense" else 0.0
            hi = max(vals.values(), default=0.0)
            parts[name] = {i: (vals.get(i, lo) - lo) / (hi - lo) if hi > lo else 0.0 for i in union}
        lex_names = [n for n in parts if n != "dense"]
        out = {}
        for i in union:
            lex = sum(self.weights[n] * parts[n][i] for n in lex_names) / max(sum(self.weights[n] for n in lex_names), 1e-9)
            if "dense" in parts and lex_names:
                out[i] = self.alpha * lex + (1 - self.alpha) * parts["dense"][i]
            else:
                out[i] = lex if lex_names else parts["dense"][i]
        return out

    def search(self, query: str, k: int | None = None, mode: str = "hybrid") -> list[Hit]:
        """Top-k passages. ``mode``: hybrid (default), dense or lexical; stage scores ride along on each Hit."""
        k = k or self.settings.top_k
        if not self.chunks or not query.strip():
            return []
        n = max(self.settings.candidates, k)
        content = split_source_phrase(query)[0]  # "Theo báo cáo …," picks the report (facets), not the topic
        expanded = expand_query(content)
        accented = has_diacritics(content)
        timings = {}
        ranked: dict[str, list[int]] = {}
        raw: dict[str, dict[int, float]] = {}
        if mode in ("hybrid", "dense"):
            t = time.perf_counter()
            ids, scores = self._dense(content, n)
            ranked["dense"], raw["dense"] = ids, dict(zip(ids, scores))
            timings["dense_ms"] = (time.perf_counter() - t) * 1000
        if mode in ("hybrid", "lexical"):
            t = time.perf_counter()
            lexical = self.lexical_query(expanded)
            s_fold = self.lexical.scores(lexical, folded=True)
            ranked["lex_folded"] = self._top(s_fold, n)
            raw["lex_folded"] = {i: float(s_fold[i]) for i in ranked["lex_folded"]}
            if accented:  # exact-diacritic matches rank above folded ones
                s_acc = self.lexical.scores(lexical, folded=False)
                ranked["lex"] = self._top(s_acc, n)
                raw["lex"] = {i: float(s_acc[i]) for i in ranked["lex"]}
            timings["lexical_ms"] = (time.perf_counter() - t) * 1000

        fused = self._rrf(ranked) if self.fusion == "rrf" else self._convex(ranked, raw)
        facets = query_facets(query)
        # the report's header and the chunk's own section heading both count; each distinct one is matched once
        doc_match = {d: facet_match(facets, h, folded=True) for d, h in self.doc_header.items()} if facets else {}
        section_match: dict[str, float] = {}
        asked = asked_level(query)  # the reports of another level, when some report is issued at the level asked
        other_level = {d for d, lv in self.doc_level.items() if lv and lv != asked} \
            if asked in self.doc_level.values() and asked else set()
        final: dict[int, float] = {}
        for i, s in fused.items():
            prior = 0.0
            if facets:
                section = self.section_folded[i]
                if section not in section_match:
                    section_match[section] = facet_match(facets, section, folded=True)
                prior = (self.doc_prior * doc_match.get(self.chunks[i].doc, 0.0)
                         + self.section_prior * section_match[section])
            final[i] = s * (1.0 + prior)
            if self.chunks[i].doc in other_level:
                final[i] *= self.level_mismatch
        depth = self.settings.rerank_depth if mode == "hybrid" else 0
        order = sorted(final, key=lambda i: (-final[i], i))[:max(k, depth)]
        hits = []
        for i in order:
            stages = {f"{name}_rank": ranked[name].index(i) + 1 for name in ranked if i in raw[name]}
            stages.update({f"{name}_score": raw[name][i] for name in ranked if i in raw[name]})
            stages["rrf"] = fused[i]
            hits.append(Hit(chunk=self.chunks[i], score=final[i], stages=stages))
        if depth > 1:
            hits[:depth] = self.reranker.rerank(query, hits[:depth])
        return hits[:k]
