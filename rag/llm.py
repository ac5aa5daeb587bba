"""LLM backends behind one small interface: ``stream(messages) -> Iterator[str]``.

``llama-cpp`` runs a GGUF in process (GPU offload when llama.cpp was built with one); ``openai`` talks to
any OpenAI-compatible server (llama.cpp's server, vLLM, Ollama) for deployments that outgrow a laptop.

Example: ``"".join(get_llm(settings).stream([{"role": "user", "content": "Xin chào"}]))``
"""
from __future__ import annotations

import json
import logging
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from .config import Settings
from .models import ModelError, resolve_llm_path

log = logging.getLogger(__name__)


class LLM(Protocol):
    """A chat backend. After ``stream`` ends, ``finish_reason`` is "length" when the reply was cut at
    ``max_tokens``, "repetition" when it was stopped in a loop (``RepetitionPolicy``), "stop" when it ended on its
    own, None when the backend did not say."""
    id: str
    finish_reason: str | None

    def stream(self, messages: list[dict], max_tokens: int = 256, temperature: float = 0.0,
               stop: list[str] | None = None, seed: int | None = None) -> Iterator[str]: ...


def default_threads() -> int:
    """Physical cores are what llama.cpp scales with; hyperthreads only add contention."""
    n = os.cpu_count() or 2
    return n if n <= 4 else n // 2


def amx_warning(system_info: str) -> str | None:
    """The warning to log when llama.cpp was built with its AMX kernels: on some Xeon VMs they crash the first
    generation with a segfault (ggml-org/llama.cpp#20824), and a crash says nothing. The Makefile builds without
    them; an older wheel from pip's cache may still have them."""
    if "AMX_INT8 = 1" not in system_info:
        return None
    return ("llama.cpp was built with its AMX kernels (AMX_INT8 = 1); on some Xeon VMs they crash the first "
            "generation. If answers crash, rebuild without them: `.venv/bin/pip uninstall -y llama-cpp-python && "
            ".venv/bin/pip cache remove llama_cpp_python && rm .venv/.installed && make setup`.")


_LOOP_UNIT = re.compile(r"[^\W\d_]|\[\d+\]")  # a letter or a whole citation mark: "000." groups are a figure


@dataclass(frozen=True)
class RepetitionPolicy:
    """When a reply is stuck in a loop, so that generation stops there instead of at the token limit: its end is one
    unit of 2 to ``max_unit_chars`` characters holding a letter or a citation mark ("[n] ", a word, a phrase)
    written ``min_repeats`` times in a row. A small model sometimes writes the system prompt's "[n]" over and over
    until ``max_tokens``: ~200 tokens, ~18 s on a 2-core laptop, all dropped afterwards as unfinished. Fewer repeats
    stop a loop sooner but risk cutting a run a report really has (2 fires at 162 places of the bundled reports, "cách
    ly y tế"; 3 and 4 at none, nor on any dev or dev2 answer); a longer unit also catches a repeated phrase and costs
    a few microseconds a token. 4 stops dev's two looping replies a few tokens in (eval/RESULTS.md, session 19) and
    leaves every other dev and dev2 reply as it was; tests/test_llm_loops.py scans the reports."""
    min_repeats: int = 4
    max_unit_chars: int = 80

    def loop(self, text: str) -> tuple[int, int] | None:
        """(where the repeated run at the end of ``text`` begins, its unit's length); None when it ends in no loop."""
        for size in range(2, self.max_unit_chars + 1):
            unit = text[-size:]
            if not text.endswith(unit * self.min_repeats) or not _LOOP_UNIT.search(unit):
                continue
            start = len(text) - size * self.min_repeats
            while start >= size and text.endswith(unit, 0, start):
                start -= size
            return start, size
        return None

    def kept(self, text: str) -> str:
        """``text`` with the looping run at its end written once."""
        found = self.loop(text)
        return text if found is None else text[:sum(found)]


DEFAULT_REPETITION = RepetitionPolicy()


@dataclass(frozen=True)
class Usage:
    """One generation's cost in tokens. prompt_tokens: those processed for this prompt, not those whose state was
    reused from the previous one (the shared prefix); that is what a CPU pays for at ~37 tokens/s on a 2-core
    laptop. generated_tokens: those sampled (~11/s there). seconds: llama.cpp's time for both on this machine."""
    prompt_tokens: int
    generated_tokens: int
    seconds: float


class LlamaCppLLM:
    """In-process llama-cpp-python; keep one resident (loading costs seconds, the KV prefix is reused)."""

    def __init__(self, model_path: str, n_ctx: int = 4096, n_threads: int = 0, n_gpu_layers: int = -1,
                 model_id: str | None = None, repetition: RepetitionPolicy = DEFAULT_REPETITION):
        try:
            from llama_cpp import Llama, llama_print_system_info
        except ImportError:
            raise ModelError("llama-cpp-python is not installed: run `make setup` (it compiles once).") from None
        if warning := amx_warning(llama_print_system_info().decode(errors="replace")):
            log.warning(warning)
        t = time.perf_counter()
        try:
            self._llm = Llama(model_path=str(model_path), n_ctx=n_ctx, n_threads=n_threads or default_threads(),
                              n_gpu_layers=n_gpu_layers, verbose=False)
        except (ValueError, RuntimeError) as e:
            raise ModelError(f"Cannot load the LLM from {model_path} ({e}); check RAG_LLM_MODEL.") from None
        self.load_seconds = time.perf_counter() - t
        self.id = model_id or os.path.basename(str(model_path))
        self.usage: Usage | None = None  # the last generation's cost, set by stream()
        self.finish_reason: str | None = None  # the last generation's, set by stream()
        self.repetition = repetition

    def stream(self, messages, max_tokens=256, temperature=0.0, stop=None, seed=None):
        """Stream the reply; afterwards ``usage`` holds what it cost (llama.cpp's own counters) and
        ``finish_reason`` why it ended. A reply caught in a loop stops there (closing the stream stops llama.cpp)."""
        from llama_cpp import llama_perf_context, llama_perf_context_reset
        self.usage = self.finish_reason = None
        llama_perf_context_reset(self._llm.ctx)
        out = self._llm.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=temperature,
                                               stop=stop or [], stream=True, seed=seed)
        text = ""
        for part in out:
            choice = part["choices"][0]
            self.finish_reason = choice.get("finish_reason") or self.finish_reason
            delta = choice.get("delta", {}).get("content")
            if delta:
                yield delta
                text += delta
                if self.repetition.loop(text):
                    self.finish_reason = "repetition"
                    out.close()
                    break
        perf = llama_perf_context(self._llm.ctx)
        self.usage = Usage(perf.n_p_eval, perf.n_eval, (perf.t_p_eval_ms + perf.t_eval_ms) / 1000)

    def tokenize_len(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False))


class OpenAIServerLLM:
    """Chat completions over HTTP (server-sent events); the server is the one you point RAG_LLM_URL at."""

    def __init__(self, base_url: str, model: str, api_key: str = "", timeout: float = 300.0,
                 repetition: RepetitionPolicy = DEFAULT_REPETITION):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.id = f"openai:{model}@{self.base_url}"
        self.finish_reason: str | None = None  # the last generation's, set by stream()
        self.repetition = repetition

    def stream(self, messages, max_tokens=256, temperature=0.0, stop=None, seed=None):
        self.finish_reason = None
        request = {"model": self.model, "messages": messages, "max_tokens": max_tokens,
                   "temperature": temperature, "stop": stop or None, "stream": True}
        if seed is not None:  # llama.cpp's server, vLLM and Ollama take it; OpenAI's own API too
            request["seed"] = seed
        body = json.dumps(request).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(f"{self.base_url}/chat/completions", data=body, headers=headers)
        try:
            resp = urllib.request.urlopen(req, timeout=self.timeout)
        except (urllib.error.URLError, OSError) as e:
            raise ModelError(f"LLM server at {self.base_url} is unreachable ({e}); start it or fix RAG_LLM_URL.") from None
        text = ""
        with resp:  # leaving it closes the connection, which stops the server's generation
            for raw in resp:
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                try:
                    choice = json.loads(data)["choices"][0]
                    delta = choice.get("delta", {}).get("content")
                except (ValueError, KeyError, IndexError, AttributeError):
                    continue
                self.finish_reason = choice.get("finish_reason") or self.finish_reason
                if delta:
                    yield delta
                    text += delta
                    if self.repetition.loop(text):
                        self.finish_reason = "repetition"
                        break


_CACHE: dict[tuple, LLM] = {}


def get_llm(settings: Settings, progress: bool = True) -> LLM:
    """The configured backend, kept resident per (backend, model)."""
    key = (settings.llm_backend, settings.llm_model, settings.llm_url)
    if key not in _CACHE:
        if settings.llm_backend == "openai":
            _CACHE[key] = OpenAIServerLLM(settings.llm_url, settings.llm_model, settings.llm_api_key)
        elif settings.llm_backend == "llama-cpp":
            path = resolve_llm_path(settings.llm_model, settings.cache_dir, progress=progress)
            log.info("Loading LLM %s ...", path.name)
            _CACHE[key] = LlamaCppLLM(str(path), settings.n_ctx, settings.n_threads, settings.n_gpu_layers,
                                      model_id=settings.llm_model if not settings.llm_model.endswith(".gguf")
                                      else path.name)
        else:
            raise ModelError(f"Unknown RAG_LLM_BACKEND '{settings.llm_backend}': use llama-cpp or openai.")
    return _CACHE[key]
