"""The checks before and after generation, each a named unit returning a typed verdict (rag/verify.py).

Before generation, ``evidence`` decides whether the retrieved passages may answer at all. After it, the model's
line goes through ``VerifyPolicy.answer_checks`` in order; the first rejection turns it down. The small model
answers a 2024 question with a 2025 figure, the party secretary with the chairman's name, a rate with the change
of that rate: these checks catch it from the evidence itself. Each says when it applies in its docstring.

Example: ``LineChecks(retriever).run("Thu ngân sách năm 2021?", "Đạt 1.790 tỷ đồng [1].", [chunk])[-1].outcome``
-> ``"accept"`` when the chunk's sentence stating 1.790 is about 2021 and about the budget revenue.
"""
from __future__ import annotations

import re

from .grounding import (BASE_YEAR, NEGATED, YEAR, answer_year_mismatch, clause_year_conflict, counted_figures,
                        counts_other_things, lacks_person, lacks_quantity, missing_key_terms, numbers_in,
                        predates_question, strip_citations, supporting_span, topic_coverage, wrong_unit, year_conflict)
from .meaning import check_sentence, read_question, sentence_in
from .text import split_source_phrase
from .types import Chunk, Hit
from .verify import DEFAULT_VERIFY, Verdict, VerifyPolicy, first_rejection


class LineChecks:
    """The checks, over one index: ``retriever`` gives each report's header and level and the terms' idf."""

    def __init__(self, retriever, policy: VerifyPolicy = DEFAULT_VERIFY):
        self.retriever, self.policy = retriever, policy

    def evidence(self, question: str, hits: list[Hit]) -> Verdict:
        """Before generation: the best passage covers ``min_topic_coverage`` of the question's topic, and each key
        term (a year, a name) appears in some passage together with its report's header."""
        if not hits:
            return Verdict.reject("evidence", "no_passage", "no passage retrieved")
        docs = self.retriever.stored.docs
        asked = NEGATED.sub(" ", split_source_phrase(question)[0])  # not the report named, nor what is ruled out
        best = max(topic_coverage(asked, h.chunk.embed_text()) for h in hits)
        if best < self.policy.min_topic_coverage:
            return Verdict.reject("evidence", "off_topic", f"best passage covers {best:.0%} of the question's topic")
        for h in hits:
            header = " ".join([h.chunk.title, h.chunk.date, docs.get(h.doc, {}).get("header", "")])
            if not missing_key_terms(question, h.chunk.embed_text() + " " + header):
                return Verdict.accept("evidence")
        return Verdict.reject("evidence", "missing_term", "no passage mentions "
                              + ", ".join(missing_key_terms(question, hits[0].chunk.embed_text())))

    def run(self, question: str, answer: str, cited: list[Chunk]) -> list[Verdict]:
        """The verdicts of ``policy.answer_checks`` on the line ``answer`` citing ``cited``, up to the first
        rejection."""
        out = []
        for name in self.policy.answer_checks:
            out.append(getattr(self, name)(question, answer, cited))
            if out[-1].rejected:
                break
        return out

    def quantity(self, question: str, answer: str, cited: list[Chunk]) -> Verdict:
        """A "bao nhiêu" question needs a figure of the line's own."""
        if lacks_quantity(question, answer):
            return Verdict.reject("quantity", "no_figure", "the question asks how many/how much and the answer "
                                                           "states no figure")
        return Verdict.accept("quantity")

    def unit(self, question: str, answer: str, cited: list[Chunk]) -> Verdict:
        """A "bao nhiêu tỷ đồng / ha / %" question needs a figure in that unit."""
        if kind := wrong_unit(question, answer):
            return Verdict.reject("unit", "wrong_unit", f"the question asks for a {kind} figure and the answer "
                                                        f"gives none")
        return Verdict.accept("unit")

    def counted(self, question: str, answer: str, cited: list[Chunk]) -> Verdict:
        """A figure the line counts in some thing ("10 lượt khách") is stated by a cited passage counting that thing,
        not only other things ("ký kết 10 văn bản")."""
        if figures := counts_other_things(answer, [c.text for c in cited]):
            return Verdict.reject("counted", "other_thing", f"the cited passages count {', '.join(figures)} in other "
                                                            f"things than the answer does")
        return Verdict.accept("counted")

    def person(self, question: str, answer: str, cited: list[Chunk]) -> Verdict:
        """A question asking who holds a post needs a person's name."""
        if lacks_person(question, answer):
            return Verdict.reject("person", "no_person", "the question asks who and the answer names no person")
        return Verdict.accept("person")

    def topic(self, question: str, answer: str, cited: list[Chunk]) -> Verdict:
        """The cited passages hold ``min_answer_coverage`` of the question's topic."""
        coverage = topic_coverage(question, " ".join(c.embed_text() for c in cited))
        if coverage < self.policy.min_answer_coverage:
            return Verdict.reject("topic", "off_topic", f"cited passages cover {coverage:.0%} of the question's topic")
        return Verdict.accept("topic")

    def key_terms(self, question: str, answer: str, cited: list[Chunk]) -> Verdict:
        """The names the question asks about (not its years: ``sentence`` checks those) are in the cited passages."""
        evidence = " ".join(c.embed_text() for c in cited)
        missing = [t for t in missing_key_terms(question, evidence) if not re.fullmatch(r"\d{4}", t)]
        if missing:
            return Verdict.reject("key_terms", "missing_term", "cited passages do not mention " + ", ".join(missing))
        return Verdict.accept("key_terms")

    def answer_year(self, question: str, answer: str, cited: list[Chunk]) -> Verdict:
        """A line naming years names one of those asked."""
        if other := answer_year_mismatch(question, answer):
            return Verdict.reject("answer_year", "other_year", f"the answer is about {', '.join(other)}, not the "
                                                               f"year asked")
        return Verdict.accept("answer_year")

    def predates(self, question: str, answer: str, cited: list[Chunk]) -> Verdict:
        """A figure asked as a result for a period is not taken only from reports written before it ended."""
        if numbers_in(strip_citations(answer)) and all(predates_question(question, c.date) for c in cited):
            dates = ", ".join(sorted({c.date for c in cited}))
            return Verdict.reject("predates", "predates", f"the cited reports ({dates}) predate the period asked")
        return Verdict.accept("predates")

    def sentence(self, question: str, answer: str, cited: list[Chunk]) -> Verdict:
        """Applies when the line states figures (not years, dates, nor numbers the question gives): one cited
        passage's sentence stating them is about the year asked (its clause too) and passes the meaning checks
        (rag/meaning.py: indicator, level, period, kind)."""
        if not counted_figures(answer) - numbers_in(question):
            return Verdict.accept("sentence")
        docs, asked = self.retriever.stored.docs, read_question(question, self.retriever.reranker)
        problem = None
        for c in cited:
            span = supporting_span(c.text, answer)
            if not span:
                continue
            sentence = c.text[span[0]:span[1]]
            level = self.retriever.doc_level.get(c.doc, "")
            read = sentence_in(c, *span, level)
            # a sentence naming no year of its own ("so với năm 2021" is a base) goes on from the one before
            before = read.context if not YEAR.search(BASE_YEAR.sub(" ", sentence)) else ""
            context = " ".join([c.section, before, c.title, c.date, docs.get(c.doc, {}).get("header", "")])
            if conflict := year_conflict(question, sentence, context):
                problem = Verdict.reject("sentence", "period", f"the supporting sentence is about another year than "
                                                               f"{', '.join(conflict)}")
            elif clause_year_conflict(question, sentence, answer):
                problem = Verdict.reject("sentence", "period", "the clause holding the figures is about another year "
                                                               "than the one asked")
            else:
                rejected = first_rejection(check_sentence(asked, read, self.policy, line=answer))
                if not rejected:
                    return Verdict.accept("sentence")
                problem = Verdict.reject("sentence", rejected.code, rejected.note)
        return problem or Verdict.accept("sentence")
