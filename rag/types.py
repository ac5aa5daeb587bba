"""Plain data records passed between the pipeline stages (no behaviour, JSON-friendly).

Example: ``Chunk(doc="a.txt", text="...", heading_path=["I. KINH TẾ"]).to_dict()``
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Page:
    """One page of a loaded document (text files are a single page numbered None)."""
    text: str
    number: int | None = None


@dataclass
class Document:
    """A loaded source file before cleaning. ``doc`` is the file name: the document id."""
    doc: str
    pages: list[Page]
    source_path: str = ""
    kind: str = "txt"  # txt | md | pdf | docx


@dataclass
class Chunk:
    """A retrievable passage with everything needed to cite it."""
    doc: str
    text: str
    title: str = ""
    date: str = ""
    heading_path: list[str] = field(default_factory=list)
    page: int | None = None
    start: int = 0  # char span in the cleaned document text
    end: int = 0
    chunk_id: str = ""
    kind: str = "body"  # body | footnote

    @property
    def section(self) -> str:
        return " > ".join(self.heading_path)

    def embed_text(self) -> str:
        """What the embedder and the lexical index see: the heading path gives a passage its topic.

        The report title is left out: it is the same for every chunk of a report and drowns the topic;
        report-level facets (year, period, level) are matched separately from the report header."""
        head = " > ".join(h for h in self.heading_path if h)
        return f"{head}\n{self.text}" if head else self.text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Chunk":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass
class Hit:
    """A retrieved chunk with its final score and the per-stage scores/ranks for debugging."""
    chunk: Chunk
    score: float
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def doc(self) -> str:
        return self.chunk.doc

    @property
    def title(self) -> str:
        return self.chunk.title

    @property
    def text(self) -> str:
        return self.chunk.text

    @property
    def section(self) -> str:
        return self.chunk.section

    def to_dict(self) -> dict[str, Any]:
        return {"doc": self.chunk.doc, "title": self.chunk.title, "date": self.chunk.date,
                "section": self.chunk.section, "page": self.chunk.page, "text": self.chunk.text,
                "chunk_id": self.chunk.chunk_id, "score": self.score, "stages": self.stages}


@dataclass
class Citation:
    """A numbered source [n] used in an answer; ``span`` locates the supporting sentence in ``text``."""
    n: int
    doc: str
    title: str
    section: str
    text: str
    date: str = ""
    page: int | None = None
    span: tuple[int, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["span"] = list(self.span) if self.span else None
        return d


@dataclass
class Answer:
    """What the assistant returns for one question (the UI, the CLI and the evaluation all use it)."""
    question: str
    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    retrieved: list[Hit] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # retrieval_s, ttft_s, total_s, prompt/generated_tokens, llm_s
    models: dict[str, str] = field(default_factory=dict)  # llm, embedder
    standalone_query: str = ""  # the question as understood (a follow-up rewritten), on every answer
    warnings: list[str] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)  # the passages shown to the LLM; [n] cites evidence[n-1]
    units: list[dict[str, Any]] = field(default_factory=list)  # the sentences they were built around, best first
    # LLM generations that wrote the answer, at most QuotePolicy.max_generations: one per part of the question in each
    # attempt (the first, the retry over passage [1]); 0 when it abstained before generating. The follow-up rewrite
    # is not counted.
    generations: int = 0
    line: str = ""  # the model's checked short answer ('' when the quotes stand alone or it abstained)
    quotes: list[dict[str, Any]] = field(default_factory=list)  # the report's sentences quoted (rag/quote.py)
    verdicts: list[Any] = field(default_factory=list)  # rag.verify.Verdict of every check that ran, in order

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "text": self.text, "abstained": self.abstained,
                "citations": [c.to_dict() for c in self.citations],
                "retrieved": [h.to_dict() for h in self.retrieved],
                "evidence": self.evidence, "units": self.units, "timings": self.timings, "models": self.models,
                "standalone_query": self.standalone_query, "warnings": self.warnings, "generations": self.generations,
                "line": self.line, "quotes": self.quotes, "verdicts": [v.to_dict() for v in self.verdicts]}
