"""Vectors kept outside the index, keyed by embedder id and text hash, so the indexer need not embed them again.

Two uses: ``index/.embed-cache/``, the batches an unfinished indexing run already computed (removed once the
index is saved), and ``data/vectors/``, the bundled reports' vectors shipped with the code so a fresh clone
serves answers in seconds (the indexer re-embeds a few of them to check before trusting them).

Each batch is written under ``<root>/<embedder-id hash>/`` as ``<n>.npy`` (float32 rows) and ``<n>.json``
(their text hashes), each file written to a temporary name and renamed; the ``.json`` goes last, so a batch
without one, or with a damaged file, is skipped. No pickle: ``np.load(allow_pickle=False)``.

Example: ``EmbedCache("index/.embed-cache", embedder.id).load(384)`` -> ``{text_hash: vector}``
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np


class EmbedCache:
    def __init__(self, root: str | Path, embedder_id: str):
        self.root = Path(root)
        self.dir = self.root / hashlib.sha256(embedder_id.encode("utf-8")).hexdigest()[:16]

    def load(self, dim: int) -> dict[str, np.ndarray]:
        """Every complete, readable batch with ``dim``-wide rows, by text hash."""
        vectors: dict[str, np.ndarray] = {}
        for meta in sorted(self.dir.glob("*.json")):
            try:
                hashes = json.loads(meta.read_text(encoding="utf-8"))
                batch = np.load(meta.with_suffix(".npy"), allow_pickle=False)
            except (OSError, ValueError):
                continue
            if batch.shape == (len(hashes), dim) and batch.dtype == np.float32:
                vectors.update(zip(hashes, batch))
        return vectors

    def add(self, hashes: list[str], vectors: np.ndarray, name: str | None = None) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        stem = self.dir / (name or uuid.uuid4().hex)
        _write(stem.with_suffix(".npy"), lambda f: np.save(f, np.asarray(vectors, np.float32), allow_pickle=False))
        _write(stem.with_suffix(".json"), lambda f: f.write(json.dumps(hashes).encode("utf-8")))

    def clear(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _write(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
    os.replace(tmp, path)
