"""Quote first: every answer shows the report's own sentences, verbatim and cited, under the model's short line.

An official copies figures into a report, so the sentence a figure comes from matters more than the model's
phrasing of it. On held-out questions (dev2) the small model's line alone holds every needed fact for 48% of
them; with the quoted sentences the answer holds them for 69% (eval/RESULTS.md): the model picks a
neighbouring figure or the wrong half of a sentence, the quote shows the whole sentence.

- The model answered and the checks (rag/checks.py) passed its line: the line is shown, then the sentence of
  the cited passage that supports it, then the best evidence unit when it is another sentence.
- The model's line only lists figures ("9.400 người 23.961 triệu đồng [1]"): it is not shown, and the sentence
  stating each of its figures is quoted instead, then the best evidence unit.
- The model found nothing, or its line was turned down: the best evidence units are quoted alone ("Báo cáo
  nêu: …") only when the first passes ``QuotePolicy.min_score_alone``, names every key term of the question
  (a year, a name) and passes the meaning checks; otherwise the assistant says the reports do not say.
- Every unit quoted passes the meaning checks (rag/meaning.py): indicator, level, period and kind asked.

Example: ``compose("Đạt 556 tấn [1].", [Quote(1, "sản lượng đạt 556 tấn", ...)])``
-> ``"Đạt 556 tấn [1].\\n\\nBáo cáo nêu:\\n«sản lượng đạt 556 tấn» [1]"``
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

QUOTE_LABEL = "Báo cáo nêu:"


@dataclass(frozen=True)
class QuotePolicy:
    """max_quoted: sentences quoted under an answer. Two: the one the model's line rests on and the best evidence
    unit; more would be more reading for an official on a phone.

    max_quoted_list: the same for a question asking for several items or reasons ("nêu các …", "những … nào"):
    the further evidence units of the first quote's report are added up to this many, so a list spread over a
    few sentences is shown whole without mixing in another report. Measured offline on the answers of this
    policy with two: dev +1 answer, dev2 +3, none lost; three or four extra units added nothing more.

    min_score_alone: the evidence score (rag/evidence.py) the first unit needs to be quoted without a model line.
    Lower quotes more answers the model missed, but also sentences on a neighbouring topic for questions the
    reports do not answer. Chosen on dev as the lowest value keeping every dev unanswerable question refused (its
    highest unanswerable unit scored 1.11; the lowest it adds, 1.24); on dev2 it added three right answers
    (scores 1.18-1.22) and quoted no unanswerable one (highest 0.80).

    max_generations: LLM generations per answer, the first attempt's included: each costs 5-25 s on 2 cores. The
    second is the retry over passage [1] alone after a rejected line; a two-part question spends both on its parts.
    """
    max_quoted: int = 2
    max_quoted_list: int = 4
    min_score_alone: float = 1.15
    max_generations: int = 2


DEFAULT_QUOTES = QuotePolicy()


@dataclass(frozen=True)
class Quote:
    """One quoted sentence: its citation number [n] and its report (level: tỉnh / thành phố…)."""
    n: int
    text: str
    doc: str
    title: str
    date: str
    level: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def compose(line: str, quotes: list[Quote]) -> str:
    """The answer's plain text (CLI, API, evaluation): the checked line, then the quoted sentences."""
    quoted = "\n".join(f"«{q.text.strip()}» [{q.n}]" for q in quotes)
    block = f"{QUOTE_LABEL}\n{quoted}" if quotes else ""
    return "\n\n".join(part for part in (line.strip(), block) if part)


def overlaps(a: tuple[str, int, int], b: tuple[str, int, int]) -> bool:
    """Whether two (chunk id, start, end) spans share text: the same sentence must not be quoted twice."""
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]
