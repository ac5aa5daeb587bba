"""The assistant: condense follow-ups -> retrieve -> abstain early on weak evidence -> generate a short line with
numbered citations (part by part for a two-part question) -> check it in code (repairs in rag/grounding.py,
the named checks of rag/checks.py and rag/meaning.py, each a verdict of rag/verify.py) -> ask again over one
passage if rejected -> quote the report's own sentences that pass the meaning checks under the line
(rag/quote.py), at most two generations in all. The UI, the CLI and the evaluation all call this.

Example: ``Assistant(Settings.from_env()).ask("Thu ngân sách năm 2021 đạt bao nhiêu?").text``
"""
from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .accents import AccentRestorer
from .budget import DEFAULT_BUDGET, BudgetPolicy, ContextTooSmall, QuestionTooLong, count_tokens, prompt_tokens
from .config import Settings
from .chunk import SIGNATURE_HEADING
from .evidence import DEFAULT_POLICY, EvidencePolicy, EvidenceUnit, passage_windows, scored_units, select_evidence
from .checks import LineChecks
from .llm import DEFAULT_REPETITION
from .grounding import (asks_for_list, check_answer, drop_unsupported, excerpt, finished_part, looks_like_refusal,
                        missing_key_terms, repair_citations, restore_dates, restore_signs, says_nothing,
                        sentence_stating, strip_citations, supporting_span, tokenize)
from .meaning import read_question, unit_rejection
from .questions import asks_signer, is_follow_up, question_parts
from .quote import DEFAULT_QUOTES, Quote, QuotePolicy, compose, overlaps
from .retrieve import Retriever
from .text import has_diacritics
from .types import Answer, Chunk, Citation, Hit
from .verify import DEFAULT_VERIFY, Verdict, VerifyPolicy, first_rejection

CONDENSE_TOKENS = 80  # the rewritten question is one line


@dataclass
class Prepared:
    """What happens before generation: the question as understood, the retrieved chunks, and either the reason to
    abstain (``gap``) or the evidence: the passages the model is shown ([n], a window of a chunk around an evidence
    unit, rag/evidence.passage_windows) and the evidence units (sentences and clauses that answer, best first, over
    more chunks: rag/evidence.py)."""
    standalone: str
    hits: list[Hit]
    units: list[EvidenceUnit]  # unit.n: the passage showing its chunk, 0 when none does
    gap: str = ""
    passages: list[EvidenceUnit] = dataclasses.field(default_factory=list)  # the window shown as [n]
    gap_code: str = ""  # the evidence check's verdict code when it abstains (rag/verify.py)

    def shown(self) -> list[Hit]:
        """The chunks of the passages [1], [2]…: the prompt shows their windows (``passages``)."""
        return [Hit(p.chunk, p.score) for p in self.passages]

    def attach(self, answer: Answer) -> Answer:
        """The answer with the retrieved chunks, the evidence, and citations that point at the sentence supporting
        the answer in its whole chunk (the sources panel shows the chunk and highlights the span)."""
        cites = []
        for c in answer.citations:
            if 0 < c.n <= len(self.passages):
                p = self.passages[c.n - 1]
                group = [u for u in self.units if u.n == c.n]
                c = dataclasses.replace(c, text=p.chunk.text, span=_span_in_chunk(p, group, answer.text))
            cites.append(c)
        return dataclasses.replace(answer, retrieved=self.hits, citations=cites,
                                   evidence=[p.to_dict() for p in self.passages],
                                   units=[u.to_dict() for u in self.units])


@dataclass
class Prompts:
    system: str
    answer: str
    passage: str
    passage_same: str  # a passage of the same report as the one before it: its title and date are not repeated
    condense: str
    refusal: str
    question: str
    parts: str

    @classmethod
    def load(cls, directory: str | Path) -> "Prompts":
        d = Path(directory)
        return cls(**{name: (d / f"{name}.txt").read_text(encoding="utf-8").strip()
                      for name in cls.__dataclass_fields__})


class Assistant:
    """Keeps the retriever and the LLM resident; the LLM loads on the first question that needs it."""

    def __init__(self, settings: Settings | None = None, retriever: Retriever | None = None, llm=None):
        self.settings = settings or Settings.from_env()
        self.retriever = retriever or Retriever.load(self.settings)
        self._llm = llm
        self._restorer: AccentRestorer | None = None
        self.prompts = Prompts.load(self.settings.prompts_dir)

    @property
    def llm(self):
        if self._llm is None:
            from .llm import get_llm
            self._llm = get_llm(self.settings)
        return self._llm

    evidence_policy: EvidencePolicy = DEFAULT_POLICY
    budget: BudgetPolicy = DEFAULT_BUDGET
    quote_policy: QuotePolicy = DEFAULT_QUOTES
    verify_policy: VerifyPolicy = DEFAULT_VERIFY

    def reload_index(self) -> None:
        """Pick up a re-built index (after an upload or removal)."""
        self.retriever = Retriever.load(self.settings)
        self._restorer = None

    @property
    def restorer(self) -> AccentRestorer:
        """The reports' own spellings, built on first use (~3 s)."""
        if self._restorer is None:
            self._restorer = AccentRestorer([c.text for c in self.retriever.chunks])
        return self._restorer

    def restore_accents(self, question: str) -> str:
        """A question typed without diacritics, with them put back from the reports' own spelling."""
        return question if has_diacritics(question) else self.restorer.restore(question)

    def check_question(self, question: str) -> None:
        """Raise QuestionTooLong when ``question`` is over ``budget.max_question_tokens`` LLM tokens (ask_stream
        calls it first; a UI may call it to word its own message)."""
        tokens = count_tokens(self.llm, question.strip())
        if tokens > self.budget.max_question_tokens:
            raise QuestionTooLong(tokens, self.budget.max_question_tokens)

    def fits(self, messages: list[dict], max_tokens: int) -> bool:
        """Whether ``messages`` leave ``max_tokens`` of ``Settings.n_ctx`` for the reply."""
        return prompt_tokens(self.llm, messages, self.budget) + max_tokens <= self.settings.n_ctx

    # -- stages ---------------------------------------------------------------------------------
    def condense(self, question: str, history: list[tuple[str, str]] | None) -> str:
        """Rewrite a follow-up ("còn năm 2023 thì sao?") as a standalone question using the latest turn only: an
        older turn drew the rewrite to its own topic. The previous answer is left out when the prompt would not
        fit the context, and the question is kept as asked when even that does not fit. A question that stands
        alone (``is_follow_up``: no "còn …", "thì sao", "số đó"…) is kept as asked without a generation, so its
        evidence shows at once in a conversation too."""
        if not history or not is_follow_up(question):
            return question
        asked, answered = history[-1]
        for answer_chars in (300, 0):
            turn = f"Người hỏi: {asked}\nTrợ lý: {answered[:answer_chars]}"
            messages = [{"role": "user", "content": self.prompts.condense.format(history=turn, question=question)}]
            if self.fits(messages, CONDENSE_TOKENS):
                break
        else:
            return question
        out = "".join(self.llm.stream(messages, max_tokens=CONDENSE_TOKENS)).strip()
        out = out.splitlines()[0].strip() if out else ""
        return out if 5 < len(out) < 400 else question

    @property
    def checks(self) -> LineChecks:
        """The checks before and after generation (rag/checks.py), over the current index."""
        return LineChecks(self.retriever, self.verify_policy)

    def render_passages(self, question: str, passages: list[EvidenceUnit], passage_chars: int | None = None) -> str:
        """The numbered passages block: each window (``Prepared.passages``) under a short header naming its report
        (title, date) and section, "…" where it cuts its chunk; cut again around its best-matching sentences when
        longer than ``passage_chars`` (``fit_messages`` shortens an over-long prompt so). A passage from the same
        report as the one before it says so instead of repeating the title (~30 tokens each, at ~37 tokens/s on a
        2-core laptop)."""
        out, previous = [], None
        for i, p in enumerate(passages, 1):
            c, text = p.chunk, p.text
            if passage_chars and len(text) > passage_chars:
                text = excerpt(text, question, passage_chars)
            text = ("… " if p.start > 0 else "") + text + (" …" if p.end < len(c.text.rstrip()) else "")
            template = self.prompts.passage_same if c.doc == previous else self.prompts.passage
            previous = c.doc
            out.append(template.format(
                n=i, title=_short(c.title, 70), date=c.date or "không rõ ngày",
                section=_short(c.heading_path[-1] if c.heading_path else "—", 50), text=text))
        return "\n\n".join(out)

    def fit_messages(self, question: str, passages: list[EvidenceUnit], part: str = "",
                     passage_chars: int | None = None) -> list[dict]:
        """``build_messages``, its excerpts halved until the prompt leaves ``max_tokens`` of ``n_ctx`` for the answer
        (unchanged when it already does: an ordinary prompt is ~900 of 4,096 tokens). Passages are shortened, not
        dropped, so the checks compare the answer with the passages it was shown."""
        chars = passage_chars or max((len(p.text) for p in passages), default=0)
        while True:
            messages = self.build_messages(question, passages, part, chars)
            if self.fits(messages, self.settings.max_tokens):
                return messages
            if chars // 2 < self.budget.min_passage_chars:
                raise ContextTooSmall(
                    f"The prompt needs {prompt_tokens(self.llm, messages, self.budget)} tokens plus "
                    f"{self.settings.max_tokens} for the answer, more than the context of {self.settings.n_ctx}: "
                    f"raise RAG_N_CTX or lower RAG_MAX_TOKENS.")
            chars //= 2

    def build_messages(self, question: str, passages: list[EvidenceUnit], part: str = "",
                       passage_chars: int | None = None) -> list[dict]:
        """The chat messages asking ``question`` over ``passages``; ``part`` narrows the request to one of its
        parts."""
        passages = self.render_passages(question, passages, passage_chars)
        request = self.prompts.question.format(question=question)
        if part:
            request += "\n" + self.prompts.parts.format(part=part)
        return [{"role": "system", "content": self.prompts.system},
                {"role": "user", "content": self.prompts.answer.format(passages=passages, question=question,
                                                                      request=request)}]

    # -- public API -----------------------------------------------------------------------------
    def ask(self, question: str, history: list[tuple[str, str]] | None = None) -> Answer:
        answer = None
        for event, payload in self.ask_stream(question, history):
            if event == "done":
                answer = payload
        return answer

    def ask_stream(self, question: str, history: list[tuple[str, str]] | None = None) -> Iterator[tuple[str, object]]:
        """Yields ("retrieved", the hits the model reads), ("evidence", units), ("token", text)…, then ("done", Answer)
        with the checked answer. Citations [n] refer to the passages shown (``Answer.evidence``); ``Answer.units``
        are the sentences that answer, best first.

        A ("retry", n) event means the text streamed so far was rejected and passage n is being asked alone:
        a display should clear what it streamed. Raises QuestionTooLong before anything else (``check_question``).
        """
        self.check_question(question)
        t0 = time.perf_counter()
        question = question.strip()
        calls = [0]  # the answer's generations (Answer.generations), counted by _generate
        cut: list[Verdict] = []  # replies cut at the token limit, trimmed by _generate
        models = {"llm": self.settings.llm_model, "embedder": self.retriever.embedder.id}
        prep = self.prepare(question, history)
        standalone, hits = prep.standalone, prep.hits
        yield "retrieved", prep.shown() or hits[:self.settings.top_k]  # the passages the model reads
        timings = {"retrieval_s": time.perf_counter() - t0}
        if prep.gap:
            timings["total_s"] = time.perf_counter() - t0
            yield "done", prep.attach(Answer(question, self.prompts.refusal, True, [], hits, timings, models,
                                             standalone, [f"abstained before generation: {prep.gap}"],
                                             verdicts=[Verdict.reject("evidence", prep.gap_code, prep.gap)]))
            return
        yield "evidence", prep.units
        shown = prep.shown()  # the passages' chunks: the model reads their windows, the checks compare with them
        text = yield from self._generate(standalone, prep.passages, t0, timings, calls, cut)
        timings.setdefault("ttft_s", time.perf_counter() - t0)  # nothing was generated
        models["llm"] = getattr(self.llm, "id", models["llm"])
        answer = self.finalize(question, standalone, text, shown, timings, models)
        retry = self.retry_passage(prep) if answer.abstained and _rejected(answer) else 0
        if retry and calls[0] < self.quote_policy.max_generations:
            # A small model answers from one passage far better than from three (it mixes up their figures
            # and headings): before refusing, ask once more over one passage, the one holding the best sentence
            # that passes the meaning checks. Only one: every extra try is one more chance for an unanswerable
            # question to slip through the checks.
            yield "retry", retry
            one = shown[retry - 1:retry]
            text = yield from self._generate(standalone, prep.passages[retry - 1:retry], t0, timings, calls, cut)
            alone = _renumbered(self.finalize(question, standalone, text, one, timings, models), retry)
            if not alone.abstained:
                answer = dataclasses.replace(alone, warnings=answer.warnings + [f"answered again from passage "
                                                                                f"[{retry}] alone"] + alone.warnings,
                                             verdicts=answer.verdicts + alone.verdicts)
            else:
                answer = dataclasses.replace(answer, verdicts=answer.verdicts + alone.verdicts)
        timings["total_s"] = time.perf_counter() - t0
        answer = dataclasses.replace(answer, generations=calls[0], verdicts=cut + answer.verdicts,
                                     warnings=[v.note for v in cut] + answer.warnings)
        yield "done", self.quote_first(prep, prep.attach(answer))

    def retry_passage(self, prep: "Prepared") -> int:
        """The passage to ask again after a rejected line: passage [1], unless the meaning checks (rag/meaning.py)
        turn away every evidence unit drawn from it and pass one from another shown passage (then that one); 0
        when they pass no unit at all: no passage says what was asked, and a second generation would only be
        another chance for a wrong answer."""
        if not prep.units:
            return 1 if prep.passages else 0
        asked = read_question(prep.standalone, self.retriever.reranker)
        passing = [u for u in prep.units if not unit_rejection(asked, u, self.verify_policy)]
        if not passing:
            return 0
        if any(u.n == 1 for u in passing) or not any(u.n == 1 for u in prep.units):
            return 1
        return next((u.n for u in passing if u.n), 1)

    def quote_first(self, prep: "Prepared", answer: Answer) -> Answer:
        """``answer`` with the report's own sentences quoted under its line (rag/quote.py): the sentence its cited
        passage supports it with, then the best evidence unit (for a list question, then the further units of the
        first quote's report); with no checked line, the best units alone when the first is quotable
        (``quotable_alone``), else the refusal as it was; for a line of figures only (``bare_figures``), not shown,
        the sentence stating each of its figures, then the best unit. Every sentence quoted alone passes the
        meaning checks (rag/meaning.py): a sentence on another indicator, level, period or kind is not shown as
        the answer."""
        policy, passages = self.quote_policy, prep.passages
        many = asks_for_list(prep.standalone)
        limit = policy.max_quoted_list if many else policy.max_quoted
        bare = _bare(answer)
        citations, quotes, taken = [] if bare else list(answer.citations), [], []
        spare = iter(range(len(passages) + 1, len(passages) + 1 + limit))  # citation numbers past the passages
        asked = read_question(prep.standalone, self.retriever.reranker) if prep.units or bare else None

        def meaning(u: EvidenceUnit) -> Verdict | None:
            return unit_rejection(asked, u, self.verify_policy)

        def add(n: int, chunk: Chunk, start: int, end: int, level: str) -> None:
            key = (chunk.chunk_id, start, end)
            if len(quotes) >= limit or any(overlaps(key, t) for t in taken):
                return
            n = n or next(spare)
            taken.append(key)
            quotes.append(Quote(n, chunk.text[start:end].strip(), chunk.doc, chunk.title, chunk.date, level))
            if all(c.n != n for c in citations):
                citations.append(Citation(n, chunk.doc, chunk.title, chunk.section, chunk.text, chunk.date,
                                          chunk.page, (start, end)))

        verdicts = list(answer.verdicts)
        if answer.abstained:
            if prep.gap or not prep.units:
                return answer
            verdict = self.quotable_alone(prep.standalone, prep.units[0], meaning)
            if verdict.rejected:
                return dataclasses.replace(answer, verdicts=verdicts + [verdict])
            verdicts.append(verdict)
            units = prep.units[:policy.max_quoted]
        elif bare:  # the line only listed figures: the sentence stating each, in the passages it cites first
            cited = [c.n for c in answer.citations if 0 < c.n <= len(passages)]
            order = cited + [n for n in range(1, len(passages) + 1) if n not in cited]
            for phrase in figure_phrases(answer.text):
                for n in order:
                    p = passages[n - 1]
                    found = sentence_stating(p.text, phrase)
                    u = found and EvidenceUnit(n, p.chunk, p.start + found[0], p.start + found[1], level=p.level)
                    if u and not meaning(u):
                        add(u.n, u.chunk, u.start, u.end, u.level)
                        break
            units = prep.units[:1]
        else:
            for c in answer.citations:  # the sentence the line rests on, in the passage it cites
                if c.span and 0 < c.n <= len(passages):
                    p = passages[c.n - 1]
                    add(c.n, p.chunk, *c.span, p.level)
                    break
            units = prep.units[:1]
        for u in units:
            if not meaning(u):
                add(u.n, u.chunk, u.start, u.end, u.level)
        if many and quotes:  # a list: the rest of it from the same report, never another report's items
            for u in prep.units:
                if u.chunk.doc == quotes[0].doc and not meaning(u):
                    add(u.n, u.chunk, u.start, u.end, u.level)
        line = "" if answer.abstained or bare else answer.text
        if not line and not quotes:  # a bare line dropped and nothing left to quote
            return dataclasses.replace(answer, text=self.prompts.refusal, abstained=True, citations=[],
                                       verdicts=verdicts + [Verdict.reject("quote", "nothing_to_quote",
                                                                           "no sentence passes the meaning checks")])
        warnings = answer.warnings + ([f"no checked answer line: the best evidence is quoted alone "
                                       f"(score {prep.units[0].score:.2f})"] if answer.abstained else [])
        return dataclasses.replace(answer, text=compose(line, quotes), abstained=False, line=line,
                                   quotes=[q.to_dict() for q in quotes], citations=citations, warnings=warnings,
                                   verdicts=verdicts)

    def quotable_alone(self, question: str, unit: EvidenceUnit, meaning=None) -> Verdict:
        """Whether an evidence unit may stand as the answer with no model line: it scores at least
        ``QuotePolicy.min_score_alone``, with its report's title and date names every key term of the question (a
        year, a name), and passes the meaning checks (``meaning(unit)``: their first rejection, or None)."""
        if unit.score < self.quote_policy.min_score_alone:
            return Verdict.reject("quote", "weak", f"the best evidence scores {unit.score:.2f}")
        if missing := missing_key_terms(question, " ".join([unit.text, unit.chunk.title, unit.chunk.date])):
            return Verdict.reject("quote", "missing_term", "the best evidence does not mention " + ", ".join(missing))
        if meaning and (rejected := meaning(unit)):
            return Verdict.reject("quote", rejected.code, f"the best evidence fails a meaning check: {rejected.note}")
        return Verdict.accept("quote")

    def prepare(self, question: str, history: list[tuple[str, str]] | None = None) -> "Prepared":
        """Everything before generation: the standalone question, retrieval, the abstention check, the passages the
        model will be shown and the evidence units that answer (``python -m eval.run --evidence-only`` measures
        exactly this)."""
        standalone = self.condense(question.strip(), history)
        hits = self.retriever.search(standalone, k=max(self.settings.top_k, self.evidence_policy.chunks))
        hits = [self.retriever.widen(h) for h in hits]  # whole sentences: a list cut at a chunk edge loses items
        hits = self.retriever.named_report_first(standalone, hits)
        signer = asks_signer(standalone)
        if signer:
            hits = self.retriever.with_signature(hits)
        standalone = self.restore_accents(standalone)  # the LLM and the evidence's level words read it better
        shown = hits[:self.settings.top_k]
        verdict = self.checks.evidence(standalone, shown)
        if verdict.rejected:
            return Prepared(standalone, hits, [], verdict.note, gap_code=verdict.code)
        policy = self.evidence_policy
        cands = scored_units(standalone, hits[:policy.chunks], self.retriever, policy)
        if signer:  # the signature block answers "who signed?", whatever words it shares with the question
            cands.sort(key=lambda x: x[2].chunk.heading_path != [SIGNATURE_HEADING])
        units = select_evidence(standalone, hits, self.retriever, policy, cands)
        windows = passage_windows(units, cands, self.settings.top_k, self.window_chars(standalone),
                                  asks_for_list(standalone), self.retriever.footnotes, hits[0].chunk.chunk_id,
                                  self.retriever.reranker.topic_terms(standalone))
        for u in units:  # the window showing it, else the first showing part of its chunk
            same = [w for w in windows if w.chunk.chunk_id == u.chunk.chunk_id]
            u.n = next((w.n for w in same if w.start <= u.start and u.end <= w.end), same[0].n if same else 0)
        return Prepared(standalone, hits, units, "", windows)

    def window_chars(self, question: str) -> int:
        """How much of each passage the prompt shows: several items or reasons run over more than one figure."""
        chars = self.evidence_policy.window_chars
        return chars * 3 // 2 if asks_for_list(question) else chars

    def _generate(self, question: str, passages: list[EvidenceUnit], t0: float, timings: dict, calls: list[int],
                  cut: list[Verdict]):
        """Stream one generation per part of the question as ("token", text) events, each counted in ``calls[0]``;
        returns the whole text. A reply cut at ``Settings.max_tokens`` or stopped in a loop (rag/llm.RepetitionPolicy)
        keeps only its finished sentences (its last words may stop inside a figure), noted in ``cut``.

        "bao nhiêu X và bao nhiêu Y?" asked at once gets X alone from a small model; asked part by part it
        answers both. The passages come first in the prompt, so llama.cpp reuses their processing.
        """
        parts = question_parts(question)
        texts: list[str] = []
        for part in parts if len(parts) > 1 else [""]:
            if texts:
                yield "token", " "
            pieces: list[str] = []
            messages = self.fit_messages(question, passages, part)
            calls[0] += 1
            for tok in self.llm.stream(messages, max_tokens=self.settings.max_tokens,
                                       temperature=self.settings.temperature):
                timings.setdefault("ttft_s", time.perf_counter() - t0)
                pieces.append(tok)
                yield "token", tok
            if usage := getattr(self.llm, "usage", None):  # a backend that counts (llama.cpp in process)
                for key, n in (("prompt_tokens", usage.prompt_tokens), ("generated_tokens", usage.generated_tokens),
                               ("llm_s", usage.seconds)):
                    timings[key] = timings.get(key, 0) + n
            text = "".join(pieces).strip()
            reason = getattr(self.llm, "finish_reason", None)
            if reason in ("length", "repetition"):
                loops = getattr(self.llm, "repetition", DEFAULT_REPETITION)  # a wrapper (eval's LLM cache) has none
                kept = finished_part(text if reason == "length" else loops.kept(text))
                why = (f"the reply reached {self.settings.max_tokens} tokens" if reason == "length"
                       else "the reply was stopped in a loop")
                cut.append(Verdict.repair(reason, "cut", f"{why}: its unfinished end dropped "
                                                         f"({text[len(kept):][:60]!r})"))
                text = kept
            texts.append(text)
        answered = [t for t in texts if t and not looks_like_refusal(t)]  # one part found is still an answer
        return " ".join(answered) if answered else texts[0]

    def finalize(self, question: str, standalone: str, text: str, hits: list[Hit], timings: dict,
                 models: dict) -> Answer:
        """Apply the checks to a generated ``text`` (public so checks can be tested directly): repairs first (signs,
        dates, spellings, citations, unsupported clauses), then the line checks (rag/checks.py). Every verdict is kept with the
        answer; the first rejection turns it into the refusal."""
        verdicts: list[Verdict] = []

        def refuse(verdict: Verdict) -> Answer:
            return Answer(question, self.prompts.refusal, True, [], hits, timings, models, standalone,
                          [verdict.note], verdicts=verdicts + [verdict])

        text = text.replace("[n]", "").strip()  # the instruction's placeholder, copied by a small model
        if not text or looks_like_refusal(text):
            return refuse(Verdict.reject("model", "no_answer", "the model found no answer in the passages"))
        chunks = [h.chunk for h in hits]
        text, signed = restore_signs(text, chunks)
        text, dated = restore_dates(text, standalone, chunks)
        text, respelled = self.restorer.respell_names(text)
        text, moved = repair_citations(text, standalone, chunks)
        for check, notes in (("signs", signed), ("dates", dated), ("spelling", respelled), ("citations", moved)):
            verdicts += [Verdict.repair(check, check, note) for note in notes]
        check = check_answer(text, standalone, chunks)
        if check.invalid:
            verdicts.append(Verdict.repair("citations", "never_shown",
                                           f"removed citations to passages never shown: {check.invalid}"))
        if not check.supported:
            # keep what is supported: drop the clauses with invented figures, abstain if nothing is left
            trimmed = drop_unsupported(text, check.unsupported_numbers, check.unsupported_names)
            note = "removed " + "; ".join(
                f"{what} absent from the passages: {found}" for what, found in
                (("figures", check.unsupported_numbers), ("names", check.unsupported_names)) if found)
            if not trimmed:
                return refuse(Verdict.reject("figures", "unsupported", f"{note} (line: {text[:160]!r})"))
            verdicts.append(Verdict.repair("figures", "unsupported", note))
            text = trimmed
            check = check_answer(text, standalone, chunks)
        if says_nothing(text, standalone, chunks):
            return refuse(Verdict.reject("content", "says_nothing", f"answer rejected: it only repeats the question or "
                                                                    f"passage headings ({text[:80]!r})"))
        if not check.cited:
            check.cited = [1]
            verdicts.append(Verdict.repair("citations", "attached", "the model cited nothing; the top passage is attached"))
        line = self.checks.run(standalone, text, [chunks[n - 1] for n in check.cited])
        if rejected := first_rejection(line):
            # the line turned down is kept in the note: the evaluation can then tell what each check cost
            return refuse(dataclasses.replace(rejected, note=f"answer rejected: {rejected.note} (line: {text[:160]!r})"))
        verdicts += line
        citations = []
        for n in check.cited:
            c = chunks[n - 1]
            citations.append(Citation(n=n, doc=c.doc, title=c.title, section=c.section, text=c.text, date=c.date,
                                      page=c.page, span=supporting_span(c.text, text)))
        text = _drop_invalid_citations(text, check.invalid)
        if check.auto_cited:
            text = text.rstrip() + " " + "".join(f"[{n}]" for n in check.auto_cited)
        if bare_figures(text):  # kept here to find the sentence stating each figure; quote_first shows those alone
            verdicts.append(Verdict.repair("wording", "bare_figures", f"the line only lists figures ({text[:60]!r}): "
                                                                      f"the quoted sentences say what they are"))
        return Answer(question, text, False, citations, hits, timings, models, standalone,
                      [v.note for v in verdicts if v.note], verdicts=verdicts)


def _span_in_chunk(window: EvidenceUnit, group: list[EvidenceUnit], answer: str) -> tuple[int, int]:
    """Where in its chunk the passage states the answer: the supporting sentence of the first of its evidence
    units that has one, else of the excerpt shown, else the excerpt's whole span."""
    for u in [*group, window]:
        if found := supporting_span(u.text, answer):
            return u.start + found[0], u.start + found[1]
    return window.start, window.end


def _renumbered(answer: Answer, n: int) -> Answer:
    """An answer written over passage ``n`` alone (which it calls [1]), its citations renumbered to [n]."""
    if n == 1 or answer.abstained:
        return answer
    return dataclasses.replace(answer, text=re.sub(r"\[1\]", f"[{n}]", answer.text),
                               citations=[dataclasses.replace(c, n=n) for c in answer.citations])


def _rejected(answer: Answer) -> bool:
    """The model answered but the checks turned the answer down (not: it refused, or nothing was found)."""
    return any(v.rejected and v.check != "model" for v in answer.verdicts)


_FIGURE = r"\d+(?:[.,]\d+)*(?:\s*%)?"
_FIGURE_PHRASE = re.compile(_FIGURE + r"(?:\s+[^\W\d_]+){0,2}")  # a figure and its unit: "23.961 triệu đồng"


def bare_figures(line: str) -> bool:
    """A line that is figures and their units only ("26 HTX 380 HTX [1]"): it does not say which figure is which.
    Words right after a figure (up to two: "tỷ đồng", "doanh nghiệp") count as its unit."""
    text = strip_citations(line)
    if len(re.findall(_FIGURE, text)) < 2:
        return False
    return not tokenize(_FIGURE_PHRASE.sub(" ", text))


def figure_phrases(line: str) -> list[str]:
    """Each figure of a line with its unit, in order: "9.400 người 23.961 triệu đồng [1]" -> ["9.400 người",
    "23.961 triệu đồng"]."""
    return [m.group(0).strip() for m in _FIGURE_PHRASE.finditer(strip_citations(line))]


def _bare(answer: Answer) -> bool:
    """A line of figures only (``bare_figures``): not shown, its figures' sentences are quoted instead."""
    return not answer.abstained and any(v.code == "bare_figures" for v in answer.verdicts)


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def _drop_invalid_citations(text: str, invalid: list[int]) -> str:
    for n in invalid:
        text = text.replace(f"[{n}]", "")
    return text
