"""Verification as explicit units: every check has a name, says when it applies, and returns a typed verdict.

A verdict is ``accept``, ``repair`` (the answer was changed; the note says how) or ``reject`` with a code. The
assistant decides on verdict codes, never on message text, and records every verdict with the answer
(``Answer.verdicts``, each line of ``eval.run``'s predictions.jsonl), so a wrong refusal can be traced to the check
that made it. ``VerifyPolicy`` holds the order of the checks and every threshold.

Example: ``Verdict.reject("level", "level", "the sentence is from a city report")``
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

ACCEPT, REPAIR, REJECT = "accept", "repair", "reject"


@dataclass(frozen=True)
class Verdict:
    """What one check found: ``outcome`` is accept / repair / reject; ``code`` says why in one word (decisions key on
    it), ``note`` in a sentence (English, for logs and evaluation)."""
    check: str
    outcome: str
    code: str = ""
    note: str = ""

    @classmethod
    def accept(cls, check: str) -> "Verdict":
        return cls(check, ACCEPT)

    @classmethod
    def repair(cls, check: str, code: str, note: str) -> "Verdict":
        return cls(check, REPAIR, code, note)

    @classmethod
    def reject(cls, check: str, code: str, note: str) -> "Verdict":
        return cls(check, REJECT, code, note)

    @property
    def rejected(self) -> bool:
        return self.outcome == REJECT

    def to_dict(self) -> dict:
        return asdict(self)


def first_rejection(verdicts: list[Verdict]) -> Verdict | None:
    return next((v for v in verdicts if v.rejected), None)


@dataclass(frozen=True)
class VerifyPolicy:
    """The checks and their thresholds, each chosen on dev.jsonl and confirmed on dev2.jsonl (eval/RESULTS.md).

    min_topic_coverage: before generation, the best retrieved passage must hold this share of the question's topic
        syllables, else the assistant abstains without asking the model. Higher refuses more unanswerable questions
        early but also short, colloquial ones worded unlike the reports.
    min_answer_coverage: the passages an answer cites must hold this share of the question's topic (a weak bar: the
        meaning checks below look at the sentence itself).
    min_indicator_share: the idf-weighted share of the question's topic terms that a sentence, with its section
        heading and the sentence before it, must hold to be about the question's indicator. Higher turns away more
        sentences on a neighbouring indicator, and more right sentences worded unlike the question.
    answer_checks: the checks of the model's line, in order; the first rejection decides (rag/assistant.py).
    meaning_checks: the checks a sentence must pass to support the line or to be quoted (rag/meaning.py).
    """
    min_topic_coverage: float = 0.3
    min_answer_coverage: float = 0.15
    min_indicator_share: float = 0.2
    answer_checks: tuple[str, ...] = ("quantity", "unit", "counted", "person", "topic", "key_terms", "answer_year",
                                      "predates", "sentence")
    meaning_checks: tuple[str, ...] = ("indicator", "level", "period", "kind")


DEFAULT_VERIFY = VerifyPolicy()
