"""The corpus vocabulary (places, generic question words, administrative levels, acronyms) from a data file.

Rules in rag/ name no place or report: what a collection of reports needs lives in ``data/vocabulary.toml``,
which a user can extend for another province. ``RAG_VOCABULARY`` points at another file.

Example: ``load_vocabulary("data/vocabulary.toml").abbreviations["UBND"]`` -> ``"Ủy ban nhân dân"``
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "vocabulary.toml"


from .config import VocabularyError

__all__ = ["DEFAULT_PATH", "VOCABULARY", "Vocabulary", "VocabularyError", "load_vocabulary"]


@dataclass(frozen=True)
class Vocabulary:
    places: list[str] = field(default_factory=list)
    generic: list[str] = field(default_factory=list)
    levels: dict[str, list[str]] = field(default_factory=dict)  # level name -> the words that name it
    abbreviations: dict[str, str] = field(default_factory=dict)
    contrasts: list[list[str]] = field(default_factory=list)  # qualifiers that exclude each other (rag/meaning.py)
    local_names: list[str] = field(default_factory=list)  # names of districts, communes, landmarks: never a person


def load_vocabulary(path: str | Path) -> Vocabulary:
    """Read and check a vocabulary file; raise VocabularyError naming the file when it cannot be used."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VocabularyError(f"Vocabulary file not found: {path} (set RAG_VOCABULARY to a vocabulary file; "
                              f"data/vocabulary.toml is the bundled one)") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise VocabularyError(f"Vocabulary file {path} is unreadable: {e}") from None
    places, generic = data.get("places", []), data.get("generic", "")
    levels, abbreviations = data.get("levels", {}), data.get("abbreviations", {})
    contrasts, local_names = data.get("contrasts", []), data.get("local_names", [])
    if isinstance(generic, str):
        generic = generic.split()
    ok = (_strings(places) and _strings(generic) and isinstance(levels, dict)
          and all(_strings(v) for v in levels.values()) and isinstance(abbreviations, dict)
          and _strings(list(abbreviations.values())) and isinstance(contrasts, list) and all(_strings(c) for c in contrasts)
          and (local_names == [] or _strings(local_names)))
    if not ok:
        raise VocabularyError(f"Vocabulary file {path} is malformed: 'places' and 'generic' are lists of words, "
                              f"[levels] maps a level to a list of words, [abbreviations] maps an acronym to text, "
                              f"'contrasts' is a list of lists of phrases, 'local_names' a list of names")
    return Vocabulary(places=list(places), generic=list(generic), levels={k: list(v) for k, v in levels.items()},
                      abbreviations=dict(abbreviations), contrasts=[list(c) for c in contrasts], local_names=list(local_names))


def _strings(values) -> bool:
    return isinstance(values, list) and all(isinstance(v, str) and v.strip() for v in values)


# Loaded when rag is imported: the text rules are built from it. A missing file raises VocabularyError, which the
# CLI and the UI's start-up print as one line.
VOCABULARY = load_vocabulary(os.environ.get("RAG_VOCABULARY") or DEFAULT_PATH)
