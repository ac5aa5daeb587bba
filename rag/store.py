"""On-disk index: versioned directories under ``index/`` and a ``CURRENT`` pointer swapped atomically.

A version holds ``manifest.json`` (embedder id, dimension, chunker version, one entry per document with
its content hash), ``chunks.jsonl`` and ``dense.faiss``. No pickle anywhere. A build writes a new version
directory and only then replaces ``CURRENT``, so a crash mid-build leaves the previous index loadable.
An unreadable version is never deleted: ``set_aside`` renames it ``<name>.broken-<time>`` before a rebuild.

Example: ``IndexStore("index").load()`` -> ``StoredIndex`` or None when nothing was built yet.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from .types import Chunk

FORMAT = 1

log = logging.getLogger(__name__)


class IndexError_(RuntimeError):
    """The index is missing, unreadable, or was built with other settings (message says what to run)."""


@dataclass
class StoredIndex:
    manifest: dict
    chunks: list[Chunk]
    vectors: np.ndarray  # float32 [n, dim], rows aligned with chunks
    hashes: list[str] = field(default_factory=list)  # content hash of each chunk's embedded text
    path: Path | None = None

    @property
    def docs(self) -> dict[str, dict]:
        return self.manifest.get("docs", {})


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


class IndexStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    @contextlib.contextmanager
    def lock(self, on_wait: Callable[[str], None] | None = None):
        """One writer at a time (CLI, UI uploads): an exclusive flock on ``index/.lock``.

        A writer that has to wait says so once (``on_wait``, default a log warning) instead of hanging silently."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / ".lock"
        with open(path, "a+") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                (on_wait or log.warning)(f"Another indexing run holds {path}; waiting for it to finish...")
                fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def current_dir(self) -> Path | None:
        pointer = self.root / "CURRENT"
        if not pointer.exists():
            return None
        d = self.root / pointer.read_text().strip()
        return d if d.is_dir() else None

    def load(self) -> StoredIndex | None:
        d = self.current_dir()
        if d is None:
            return None
        try:
            manifest = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
            rows = [json.loads(line) for line in (d / "chunks.jsonl").read_text(encoding="utf-8").splitlines() if line]
            index = faiss.read_index(str(d / "dense.faiss"))
        except (OSError, ValueError, RuntimeError) as e:
            raise IndexError_(f"Index at {d} is unreadable ({e}); rebuild it with `python -m rag index --rebuild`.") from None
        if manifest.get("format") != FORMAT or index.ntotal != len(rows):
            raise IndexError_(f"Index at {d} is inconsistent or from another version; run `python -m rag index --rebuild`.")
        vectors = index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, manifest["dim"]), np.float32)
        chunks = [Chunk.from_dict(r["chunk"]) for r in rows]
        return StoredIndex(manifest, chunks, np.asarray(vectors, np.float32), [r["hash"] for r in rows], d)

    def set_aside(self) -> Path | None:
        """Rename the current version ``<name>.broken-<time>`` so a rebuild can start; it may be the only copy."""
        d = self.current_dir()
        if d is None:
            return None
        broken = d.with_name(f"{d.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(d, broken)
        (self.root / "CURRENT").unlink(missing_ok=True)
        return broken

    def save(self, manifest: dict, chunks: list[Chunk], vectors: np.ndarray, hashes: list[str]) -> Path:
        """Write a new version, then atomically point CURRENT at it; old versions are removed after."""
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"v-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        tmp = self.root / f"{name}.tmp"
        tmp.mkdir()
        manifest = {**manifest, "format": FORMAT, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    "n_chunks": len(chunks)}
        index = faiss.IndexFlatIP(int(manifest["dim"]))
        if len(chunks):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        faiss.write_index(index, str(tmp / "dense.faiss"))
        _fsync_write(tmp / "chunks.jsonl", "".join(
            json.dumps({"hash": h, "chunk": c.to_dict()}, ensure_ascii=False) + "\n"
            for c, h in zip(chunks, hashes)).encode("utf-8"))
        _fsync_write(tmp / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"))
        final = self.root / name
        os.replace(tmp, final)
        pointer_tmp = self.root / "CURRENT.tmp"
        _fsync_write(pointer_tmp, name.encode())
        os.replace(pointer_tmp, self.root / "CURRENT")
        self._cleanup(keep=name)
        return final

    def _cleanup(self, keep: str) -> None:
        for d in self.root.iterdir():
            if d.is_dir() and d.name.startswith("v-") and d.name != keep and ".broken-" not in d.name:
                shutil.rmtree(d, ignore_errors=True)
