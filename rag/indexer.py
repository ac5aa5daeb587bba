"""Ingestion: load -> clean -> chunk -> embed (only what changed) -> save atomically.

Unchanged files (same SHA-256) keep their chunks and vectors; any chunk whose embedded text was seen
before (in the index, earlier in this run, in the resume cache of an interrupted run, or among the bundled
reports' shipped vectors, rag/embed_cache.py) reuses its vector, so re-indexing never embeds the same text twice. A different embedder or chunker
configuration triggers a full rebuild, announced in the log. Files over ``max_upload_mb`` are refused, as
in the UI. ``rebuild`` also repairs an unreadable index: it is set aside (never deleted) and the index is
rebuilt from the given paths plus the uploads folder, since the lost manifest was the only record of them.

Example: ``index_paths(["data/reports"], Settings.from_env())`` -> ``IndexReport(added=[...], ...)``
"""
from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .chunk import CHUNKER_VERSION, chunk_document
from .config import Settings
from .embed import get_embedder
from .embed_cache import EmbedCache
from .loaders import LoadError, load_documents
from .store import IndexError_, IndexStore, StoredIndex
from .types import Chunk

log = logging.getLogger(__name__)


@dataclass
class IndexReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
    embedded: int = 0  # chunks actually sent to the embedder
    chunks: int = 0  # chunks in the index afterwards
    rebuilt_reason: str = ""
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.rebuilt_reason)


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def config_signature(settings: Settings, embedder_id: str) -> dict:
    return {"embedder": settings.embedder, "embedder_id": embedder_id, "chunker_version": CHUNKER_VERSION,
            "chunk_size": settings.chunk_size, "chunk_overlap": settings.chunk_overlap}


def _mismatch(old: StoredIndex | None, settings: Settings) -> str:
    """Why the stored index cannot be extended with the current settings ('' when it can)."""
    if old is None:
        return ""
    m = old.manifest
    for key, new in (("embedder", settings.embedder), ("chunker_version", CHUNKER_VERSION),
                     ("chunk_size", settings.chunk_size), ("chunk_overlap", settings.chunk_overlap)):
        if m.get(key) != new:
            return f"{key} changed ({m.get(key)!r} -> {new!r})"
    return ""


def index_paths(paths: list[str | Path], settings: Settings, rebuild: bool = False, remove: list[str] = (),
                progress: bool = True, on_wait: Callable[[str], None] | None = None) -> IndexReport:
    """Add or update the given files/directories in the index (see module docstring).

    ``on_wait`` hears one line when another writer holds the index lock (default: a log warning)."""
    from tqdm import tqdm

    report = IndexReport()
    store = IndexStore(settings.index_dir)
    t0 = time.perf_counter()
    paths = [Path(p) for p in paths]
    with store.lock(on_wait):
        try:
            old = store.load()
            reason = "requested" if rebuild and old is not None else _mismatch(old, settings)
        except IndexError_:
            if not rebuild:
                raise
            old, broken = None, store.set_aside()
            reason = f"the unreadable index was set aside as {broken}"
            uploads = Path(settings.uploads_dir)
            paths += [uploads] if uploads.is_dir() else []  # duplicates are dropped by the loader
        docs_meta: dict[str, dict] = dict(old.docs) if old else {}
        keep: dict[str, list[int]] = {}
        if old is not None:
            for i, c in enumerate(old.chunks):
                keep.setdefault(c.doc, []).append(i)
        # A vector depends only on the embedder and the text: a chunker change keeps every unchanged text's vector.
        vector_cache: dict[str, np.ndarray] = {}
        if old is not None and old.manifest.get("embedder") == settings.embedder and not rebuild:
            vector_cache = {h: old.vectors[i] for i, h in enumerate(old.hashes)}

        for doc in remove:
            if doc not in docs_meta:
                report.errors.append(LoadError("not_found", doc, f"Document '{doc}' is not in the index."))
                continue
            docs_meta.pop(doc)
            keep.pop(doc, None)
            report.removed.append(doc)

        # A rebuild re-reads every source the index knew about, plus the requested paths.
        sources = [Path(p) for p in paths]
        if reason:
            report.rebuilt_reason = reason
            log.warning("Rebuilding the whole index: %s", reason)
            known = [Path(m["source"]) for d, m in docs_meta.items() if m.get("source") and d not in remove]
            sources += [p for p in known if p.exists() and p not in sources]
            keep = {}
        files, errors = _existing(sources)
        report.errors += errors
        with tqdm(desc="Reading files", unit=" files", disable=not progress or not files) as bar:
            documents, load_errors = load_documents(files, max_bytes=settings.max_upload_mb * 2**20,
                                                    on_file=lambda f: bar.update(1)) if files else ([], [])
        report.errors += load_errors
        t_load = time.perf_counter()

        new_chunks: dict[str, list[Chunk]] = {}
        for d in tqdm(documents, desc="Chunking", unit=" files", disable=not progress or not documents):
            h = file_hash(Path(d.source_path))
            prev = docs_meta.get(d.doc)
            if prev and prev.get("hash") == h and d.doc in keep and not reason:
                report.unchanged.append(d.doc)
                continue
            chunks, info = chunk_document(d, settings.chunk_size, settings.chunk_overlap)
            if not chunks:
                report.errors.append(LoadError("empty", d.source_path, f"File '{d.doc}' has no text left after cleaning."))
                continue
            new_chunks[d.doc] = chunks
            (report.updated if d.doc in docs_meta and not reason else report.added).append(d.doc)
            docs_meta[d.doc] = {"hash": h, "title": info.title, "date": info.date, "header": info.header,
                                "source": str(Path(d.source_path).resolve()), "kind": d.kind,
                                "n_chunks": len(chunks)}
        if reason:  # a rebuild keeps only what was re-read: a vanished or unreadable source leaves no stale entry
            docs_meta = {d: m for d, m in docs_meta.items() if d in new_chunks}
        t_chunk = time.perf_counter()

        if not report.changed:
            report.chunks = len(old.chunks) if old else 0
            report.seconds = {"load": t_load - t0, "chunk": t_chunk - t_load, "embed": 0.0, "save": 0.0}
            return report

        embedder = get_embedder(settings.embedder)
        # Same embedder name, other model/version (e.g. a package upgrade): old vectors are another space.
        stale = old is not None and old.manifest.get("embedder_id") != embedder.id
        if stale:
            report.rebuilt_reason = f"embedder_id changed ({old.manifest.get('embedder_id')!r} -> {embedder.id!r})"
            log.warning("Re-embedding the whole index: %s", report.rebuilt_reason)
            vector_cache = {}
        resume = EmbedCache(Path(settings.index_dir) / ".embed-cache", embedder.id)
        resumed = resume.load(embedder.dim)
        if resumed:
            log.info("Reusing %d vectors computed by an interrupted run", len(resumed))
        known = {**resumed, **vector_cache}  # the shipped vectors are checked (and probes embedded) only if needed
        lacking = {h: c.embed_text() for chunks in new_chunks.values() for c in chunks
                   if (h := text_hash(c.embed_text())) not in known}
        shipped = _checked(EmbedCache(settings.vectors_dir, embedder.id).load(embedder.dim), lacking, embedder)
        resumed = {**shipped, **resumed}
        final_chunks: list[Chunk] = []
        final_hashes: list[str] = []
        rows: list[np.ndarray | None] = []
        pending: dict[str, list[int]] = {}  # text hash -> rows waiting for its vector: each text is embedded once
        texts: dict[str, str] = {}

        def add(chunk: Chunk, h: str, vector: np.ndarray | None) -> None:
            final_chunks.append(chunk)
            final_hashes.append(h)
            vector = vector if vector is not None else vector_cache.get(h, resumed.get(h))
            rows.append(vector)
            if vector is None:
                pending.setdefault(h, []).append(len(rows) - 1)
                texts.setdefault(h, chunk.embed_text())

        for doc, idxs in keep.items():
            if doc in new_chunks or doc not in docs_meta:
                continue
            for i in idxs:
                add(old.chunks[i], old.hashes[i], None if stale else old.vectors[i])
        for doc, chunks in new_chunks.items():
            for c in chunks:
                add(c, text_hash(c.embed_text()), None)
        t_embed0 = time.perf_counter()
        _embed_into(rows, pending, texts, embedder, resume, progress)
        report.embedded = len(texts)
        t_embed = time.perf_counter()
        vectors = np.vstack(rows).astype(np.float32) if rows else np.zeros((0, embedder.dim), np.float32)
        manifest = {**config_signature(settings, embedder.id), "dim": embedder.dim, "docs": docs_meta}
        store.save(manifest, final_chunks, vectors, final_hashes)
        resume.clear()
        report.chunks = len(final_chunks)
        report.seconds = {"load": t_load - t0, "chunk": t_chunk - t_load, "embed": t_embed - t_embed0,
                          "save": time.perf_counter() - t_embed}
    return report


SHIPPED_PROBES = 4  # shipped vectors re-embedded before the rest are trusted: ~0.5 s, catches another model build
SHIPPED_MIN_COSINE = 0.999  # the same model on another CPU agrees to ~1e-6; another model or a damaged file does not


def _checked(shipped: dict[str, np.ndarray], lacking: dict[str, str], embedder) -> dict[str, np.ndarray]:
    """The shipped vectors (``Settings.vectors_dir``) when a few of those this run lacks (``lacking``: text hash ->
    text), embedded again here, come out the same; none otherwise (logged), so a stale or damaged file costs time,
    never wrong vectors."""
    needed = [(h, t) for h, t in lacking.items() if h in shipped]
    if not needed:
        return {}
    probes = needed[::max(1, len(needed) // SHIPPED_PROBES)][:SHIPPED_PROBES]
    for (h, _), fresh in zip(probes, embedder.embed_passages([t for _, t in probes])):
        old = shipped[h]
        cosine = float(np.dot(fresh, old) / (np.linalg.norm(fresh) * np.linalg.norm(old) + 1e-12))
        if cosine < SHIPPED_MIN_COSINE:
            log.warning("Shipped vectors ignored: one re-embedded here differs (cosine %.4f); embedding all", cosine)
            return {}
    log.info("Using %d shipped vectors (%d re-embedded to check)", len(needed), len(probes))
    return shipped


def export_vectors(settings: Settings) -> int:
    """Write the current index's vectors of the reports under ``reports_dir`` to ``vectors_dir`` (one batch, keyed
    by embedder id and text hash) for shipping with the code; returns how many. Run after the bundled reports
    change: ``python -m rag index --export-vectors``."""
    import shutil
    stored = IndexStore(settings.index_dir).load()
    if stored is None:
        raise IndexError_(f"No index in {settings.index_dir}: build it first with `python -m rag index`.")
    reports = Path(settings.reports_dir).resolve()
    sources = {d: Path(m.get("source") or "/").resolve() for d, m in stored.docs.items()}
    rows = {h: i for i, (c, h) in enumerate(zip(stored.chunks, stored.hashes)) if reports in sources[c.doc].parents}
    out = EmbedCache(settings.vectors_dir, stored.manifest["embedder_id"])
    shutil.rmtree(out.dir, ignore_errors=True)
    out.add(list(rows), stored.vectors[list(rows.values())], name="vectors")
    return len(rows)


def _existing(paths: list[Path]) -> tuple[list[Path], list[LoadError]]:
    """Existing paths pass through (directories are expanded by the loader); missing ones are errors."""
    files, errors = [], []
    for p in paths:
        if p.exists():
            files.append(p)
        else:
            errors.append(LoadError("not_found", p, f"File or directory '{p}' was not found."))
    return files, errors


def _embed_into(rows: list, pending: dict[str, list[int]], texts: dict[str, str], embedder, resume: EmbedCache,
                progress: bool, batch: int = 16) -> None:
    """Embed each pending text once, fill every row waiting for it, and keep each batch in the resume cache."""
    from tqdm import tqdm
    todo = list(pending)
    with tqdm(total=len(todo), desc="Embedding chunks", unit="chunk", disable=not progress or not todo) as bar:
        for s in range(0, len(todo), batch):
            hashes = todo[s:s + batch]
            vecs = embedder.embed_passages([texts[h] for h in hashes])
            resume.add(hashes, vecs)
            for h, v in zip(hashes, vecs):
                for row in pending[h]:
                    rows[row] = v
            bar.update(len(hashes))
