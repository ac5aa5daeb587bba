"""The model's context is finite: a question is limited in LLM tokens (not characters: an emoji or a rare symbol
costs several), and every prompt must leave room for the answer within ``Settings.n_ctx``, so an over-long
question is refused with a clear message instead of crashing inside llama.cpp.

Example: ``count_tokens(llm, "Thu ngân sách năm 2021 đạt bao nhiêu?")`` -> 14 (Qwen2.5's tokenizer)
"""
from __future__ import annotations

from dataclasses import dataclass

from .models import ModelError


@dataclass(frozen=True)
class BudgetPolicy:
    """max_question_tokens: a longer question is refused (QuestionTooLong). The longest of the 172 dev/dev2
    questions is 77 tokens (129 by the bytes/2 estimate); 300 leaves room for a pasted sentence or two. Higher
    lets longer questions in but leaves less of a small context for the passages: the question is shown twice.

    template_tokens: what the chat template adds around the messages (Qwen's role markers and the default system
    line it inserts when there is none: 29 tokens), counted generously for other models' templates.

    min_passage_chars: excerpts are halved down to this before a prompt that still does not fit is given up:
    shorter excerpts hold no sentence to answer from."""
    max_question_tokens: int = 300
    template_tokens: int = 64
    min_passage_chars: int = 50


DEFAULT_BUDGET = BudgetPolicy()


class QuestionTooLong(ValueError):
    """The question is over ``BudgetPolicy.max_question_tokens``; ``tokens`` and ``limit`` let a UI word its own
    message."""

    def __init__(self, tokens: int, limit: int):
        super().__init__(f"The question is {tokens} tokens long; the limit is {limit} tokens: please shorten it.")
        self.tokens, self.limit = tokens, limit


class ContextTooSmall(ModelError):
    """Even the shortest excerpts leave no room for the answer: the configured context is too small."""


def count_tokens(llm, text: str) -> int:
    """``text``'s length in ``llm``'s tokens: its own tokenizer when it has one (``tokenize_len``: llama.cpp), else
    an estimate of UTF-8 bytes / 2, rounded up, for a backend whose tokenizer is out of reach (an HTTP server).
    The estimate errs long for text: Qwen's tokenizer takes ~4 bytes a token of a report and never fewer than 2.07
    over the dev questions; only rare symbols split byte by byte (an emoji: up to 3 tokens for 4 bytes) exceed it."""
    tokenize = getattr(llm, "tokenize_len", None)
    return tokenize(text) if tokenize else -(-len(text.encode("utf-8")) // 2)


def prompt_tokens(llm, messages: list[dict], policy: BudgetPolicy = DEFAULT_BUDGET) -> int:
    """The tokens of a chat prompt: its messages plus the template's allowance."""
    return sum(count_tokens(llm, m["content"]) for m in messages) + policy.template_tokens
