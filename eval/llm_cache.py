"""A record-and-replay wrapper around an LLM backend, for iterating on the checks around the model.

A full dev run on 2 CPU cores spends ~30 minutes in generation. With ``--llm-cache FILE`` a second run
re-generates only the prompts that changed (greedy decoding is deterministic) and replays the rest, so a
change to grounding or abstention is measured in seconds. Replayed answers arrive as one token and count no
tokens: latency figures of a replaying run are meaningless (its report gives no laptop estimate), and RESULTS.md
figures come from runs that generated every answer (without the cache, or recording into a new file).
The file is JSON lines (never a pickle): {"key": sha256 of model id + messages + parameters, "text": ...,
"finish": the backend's finish_reason ("length": cut at max_tokens)}; a row without "finish" replays None.

Example: ``CachedLLM(get_llm(settings), "eval/out/llm-cache.jsonl").stream(messages)``
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path


class CachedLLM:
    def __init__(self, inner, path: str | Path):
        self.inner = inner
        self.path = Path(path)
        self.hits = self.misses = 0
        self._texts: dict[str, str] = {}
        self._finish: dict[str, str | None] = {}
        self.finish_reason: str | None = None  # the last generation's, recorded or replayed
        self.usage = None  # the last generation's token counts (rag.llm.Usage) when it ran; None when replayed
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                    self._texts[row["key"]] = row["text"]
                    self._finish[row["key"]] = row.get("finish")
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by an interrupted run

    @property
    def id(self) -> str:
        return self.inner.id

    def _key(self, messages, max_tokens, temperature, stop, seed) -> str:
        params = [max_tokens, temperature, stop or []] + ([seed] if seed is not None else [])
        blob = json.dumps([self.inner.id, messages, *params], ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def stream(self, messages: list[dict], max_tokens: int = 256, temperature: float = 0.0,
               stop: list[str] | None = None, seed: int | None = None) -> Iterator[str]:
        key = self._key(messages, max_tokens, temperature, stop, seed)
        if key in self._texts and (temperature == 0.0 or seed is not None):  # a fixed seed repeats itself
            self.hits += 1
            self.finish_reason, self.usage = self._finish.get(key), None
            yield self._texts[key]
            return
        self.misses += 1
        parts = []
        for tok in self.inner.stream(messages, max_tokens=max_tokens, temperature=temperature, stop=stop, seed=seed):
            parts.append(tok)
            yield tok
        self._texts[key] = "".join(parts)
        self._finish[key] = self.finish_reason = getattr(self.inner, "finish_reason", None)
        self.usage = getattr(self.inner, "usage", None)  # a recording run is timed like an uncached one
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"key": key, "text": self._texts[key], "finish": self.finish_reason},
                               ensure_ascii=False) + "\n")
