"""Run the assistant (or only its retriever) over a JSONL dataset; write predictions and a report.

It drives the same ``rag.assistant.Assistant`` the UI uses, so the scores describe what users get.

Usage::

    python -m eval.run --dataset eval/datasets/dev.jsonl --out eval/out/dev
    python -m eval.run --dataset eval/datasets/dev.jsonl --out eval/out/ret --retrieval-only \\
        --retrievers dense,lexical,hybrid
    python -m eval.run --dataset eval/datasets/dev2.jsonl --out eval/out/ev-dev2 --evidence-only

Writes DIR/predictions.jsonl (one scored line per question, and per retriever when comparing),
DIR/report.json and DIR/report.md. ``rag`` is imported lazily so the metrics need no models.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Iterator

from eval.dataset import DatasetError, load_dataset
from eval.report import build_report, render_markdown, score_prediction

__all__ = ["build_report", "main", "predict_with_assistant", "predict_with_retriever"]

RETRIEVER_MODES = ("dense", "lexical", "hybrid")
_HIDDEN_SETTINGS = {"llm_api_key", "auth"}  # never copied into reports
_ABORT_AFTER = 3  # consecutive failures from the very first question mean a broken setup


class RunAborted(RuntimeError):
    """The first questions all failed: the setup is broken, so stop instead of scoring zeros."""


def _progress(items: list, desc: str) -> Iterable:
    try:
        from tqdm import tqdm
    except ImportError:  # the bar is a convenience, not a requirement
        return items
    return tqdm(items, desc=desc, unit="q", file=sys.stderr, dynamic_ncols=True)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    return obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)


def hit_to_dict(hit: Any) -> dict[str, Any]:
    """The fields of a rag.types.Hit the report needs (doc, section, text, score)."""
    chunk = _get(hit, "chunk")
    src = chunk if chunk is not None else hit
    section = _get(src, "section")
    if section is None:
        section = " > ".join(_get(src, "heading_path", []) or [])
    return {"doc": _get(src, "doc"), "section": section or "", "text": _get(src, "text", ""),
            "score": _get(hit, "score")}


def citation_to_dict(c: Any) -> dict[str, Any]:
    return {"n": _get(c, "n"), "doc": _get(c, "doc"), "section": _get(c, "section", ""),
            "text": _get(c, "text", "")}


def _guard(failures: int, done: int, item_id: str, err: Exception) -> None:
    print(f"warning: question {item_id} failed: {type(err).__name__}: {err}", file=sys.stderr)
    if failures == done and failures >= _ABORT_AFTER:
        raise RunAborted(f"the first {failures} questions all failed; last error: "
                         f"{type(err).__name__}: {err}") from err


def predict_with_assistant(items: list[dict], assistant: Any, k: int = 10) -> Iterator[dict[str, Any]]:
    """Ask each question; yield one unscored prediction per item (a failure is recorded, not raised)."""
    failures = 0
    for n, item in enumerate(_progress(items, "assistant"), 1):
        t0 = time.perf_counter()
        try:
            answer = assistant.ask(item["question"])
        except Exception as e:  # noqa: BLE001 - one bad question must not lose the whole run
            failures += 1
            _guard(failures, n, item["id"], e)
            yield {"id": item["id"], "question": item["question"], "answer": "", "abstained": False,
                   "citations": [], "retrieved": [], "latency_s": None, "ttft_s": None,
                   "error": f"{type(e).__name__}: {e}"}
            continue
        wall = time.perf_counter() - t0
        timings = dict(_get(answer, "timings") or {})
        yield {
            "id": item["id"], "question": item["question"],
            "answer": _get(answer, "text", "") or "", "abstained": bool(_get(answer, "abstained", False)),
            "citations": [citation_to_dict(c) for c in _get(answer, "citations") or []],
            "retrieved": [hit_to_dict(h) for h in (_get(answer, "retrieved") or [])[:k]],
            "evidence": list(_get(answer, "evidence") or []), "units": list(_get(answer, "units") or []),
            "latency_s": timings.get("total_s", wall), "ttft_s": timings.get("ttft_s"),
            "retrieval_s": timings.get("retrieval_s"), "models": dict(_get(answer, "models") or {}),
            # tokens the CPU processed and sampled over the answer's generations (None: a backend that does not count)
            "prompt_tokens": timings.get("prompt_tokens"), "generated_tokens": timings.get("generated_tokens"),
            "llm_s": timings.get("llm_s"),
            "standalone_query": _get(answer, "standalone_query", ""),
            "warnings": list(_get(answer, "warnings") or []),  # e.g. why it abstained
            "generations": _get(answer, "generations"),  # LLM generations the answer took
            "line": _get(answer, "line", "") or "", "quotes": list(_get(answer, "quotes") or []),
            # every check that ran: {check, outcome (accept / repair / reject), code, note} (rag/verify.py)
            "verdicts": [v if isinstance(v, dict) else v.to_dict() for v in _get(answer, "verdicts") or []],
        }


def predict_with_evidence(items: list[dict], assistant: Any, k: int = 10,
                          count_tokens: Any = None) -> Iterator[dict[str, Any]]:
    """Run everything before generation (no LLM): the evidence units exactly as the model would be shown them.

    ``count_tokens(text)`` counts the LLM's tokens of the rendered evidence block (None: not counted).
    """
    failures = 0
    for n, item in enumerate(_progress(items, "evidence"), 1):
        t0 = time.perf_counter()
        try:
            prep = assistant.prepare(item["question"])
        except Exception as e:  # noqa: BLE001
            failures += 1
            _guard(failures, n, item["id"], e)
            yield {"id": item["id"], "question": item["question"], "answer": None, "evidence": [], "retrieved": [],
                   "latency_s": None, "ttft_s": None, "error": f"{type(e).__name__}: {e}"}
            continue
        latency = time.perf_counter() - t0
        shown = assistant.render_passages(prep.standalone, prep.passages) if prep.passages else ""
        yield {"id": item["id"], "question": item["question"], "answer": None, "abstained": bool(prep.gap),
               "standalone_query": prep.standalone, "warnings": [prep.gap] if prep.gap else [],
               "evidence": [p.to_dict() for p in prep.passages], "units": [u.to_dict() for u in prep.units],
               "evidence_tokens": count_tokens(shown) if count_tokens and shown else None,
               "retrieved": [hit_to_dict(h) for h in prep.hits[:k]], "latency_s": latency, "ttft_s": None}


def predict_with_retriever(items: list[dict], retriever: Any, k: int = 10,
                           mode: str | None = None) -> Iterator[dict[str, Any]]:
    """Search each question (no LLM); latency is the wall time of the search call."""
    failures = 0
    for n, item in enumerate(_progress(items, mode or "retriever"), 1):
        kwargs = {"k": k, **({"mode": mode} if mode else {})}
        t0 = time.perf_counter()
        try:
            hits = retriever.search(item["question"], **kwargs)
        except Exception as e:  # noqa: BLE001
            failures += 1
            _guard(failures, n, item["id"], e)
            yield {"id": item["id"], "question": item["question"], "retriever": mode, "answer": None,
                   "retrieved": [], "latency_s": None, "ttft_s": None, "error": f"{type(e).__name__}: {e}"}
            continue
        yield {"id": item["id"], "question": item["question"], "retriever": mode, "answer": None,
               "abstained": None, "citations": [], "retrieved": [hit_to_dict(h) for h in list(hits)[:k]],
               "latency_s": time.perf_counter() - t0, "ttft_s": None}


# Seams for tests: everything that touches rag goes through these three functions.
def _make_settings(llm: str | None) -> Any:
    from rag.config import Settings
    return Settings.from_env(**({"llm_model": llm} if llm else {}))


def _load_assistant(settings: Any, llm_cache: str | None = None) -> Any:
    from rag.assistant import Assistant
    if not llm_cache:
        return Assistant(settings)
    from eval.llm_cache import CachedLLM
    from rag.llm import get_llm
    return Assistant(settings, llm=CachedLLM(get_llm(settings), llm_cache))


def _token_counter(settings: Any) -> Any:
    """The configured GGUF's tokenizer alone (vocab_only: no weights), as a function text -> token count."""
    from llama_cpp import Llama

    from rag.models import resolve_llm_path
    path = resolve_llm_path(settings.llm_model, settings.cache_dir, progress=False)
    vocab = Llama(model_path=str(path), vocab_only=True, verbose=False)
    return lambda text: len(vocab.tokenize(text.encode("utf-8"), add_bos=False))


def _load_retriever(settings: Any) -> Any:
    from rag.retrieve import Retriever
    return Retriever.load(settings)


def _settings_summary(settings: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(settings):
        return {k: v for k, v in dataclasses.asdict(settings).items() if k not in _HIDDEN_SETTINGS}
    return {}


def machine_meta() -> dict[str, Any]:
    return {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m eval.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", required=True, help="JSONL file (see eval/README.md)")
    p.add_argument("--out", required=True, help="output directory (created if missing)")
    p.add_argument("--retrieval-only", action="store_true", help="evaluate retrieval only; no LLM is loaded")
    p.add_argument("--evidence-only", action="store_true", help="run everything before generation (no LLM) and "
                   "score the evidence units the model would be shown")
    p.add_argument("--retrievers", help="with --retrieval-only: comma list of " + ",".join(RETRIEVER_MODES)
                   + " to compare side by side")
    p.add_argument("--limit", type=int, help="evaluate only the first N items")
    p.add_argument("--llm", help="LLM name or path (overrides Settings.llm_model)")
    p.add_argument("--k", type=int, default=10, help="retrieved passages kept and scored (default 10)")
    p.add_argument("--llm-cache", help="JSONL file recording generations and replaying unchanged prompts "
                   "(for iterating on the checks; latency figures of such a run are meaningless)")
    args = p.parse_args(argv)
    if args.k < 1:
        p.error("--k must be at least 1")
    if args.limit is not None and args.limit < 1:
        p.error("--limit must be at least 1")
    if args.evidence_only and (args.retrieval_only or args.llm_cache):
        p.error("--evidence-only runs no LLM: it takes neither --retrieval-only nor --llm-cache")
    if args.retrievers:
        if not args.retrieval_only:
            p.error("--retrievers needs --retrieval-only")
        modes = [m.strip() for m in args.retrievers.split(",") if m.strip()]
        bad = [m for m in modes if m not in RETRIEVER_MODES]
        if bad or not modes:
            p.error(f"unknown retriever mode(s) {bad or args.retrievers!r}; choose from {', '.join(RETRIEVER_MODES)}")
        args.modes = list(dict.fromkeys(modes))
    else:
        args.modes = [None]
    return args


def _write_jsonl_line(f, obj: dict) -> None:
    f.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    f.flush()  # a long run interrupted midway still leaves usable predictions


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Load the dataset and the system, predict, write all outputs; return the report document."""
    items = load_dataset(args.dataset)
    if args.limit:
        items = items[: args.limit]
    by_id = {it["id"]: it for it in items}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = _make_settings(args.llm)
    meta: dict[str, Any] = {
        "dataset": str(args.dataset), "n_items": len(items),
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "mode": "retrieval-only" if args.retrieval_only else "evidence-only" if args.evidence_only else "assistant",
        "k": args.k, "llm_override": args.llm, **machine_meta(), "settings": _settings_summary(settings),
    }
    t0 = time.perf_counter()
    if args.retrieval_only:
        system = _load_retriever(settings)
        embedder = getattr(getattr(system, "embedder", None), "id", None)  # the id actually loaded
        models = {"embedder": embedder or getattr(settings, "embedder", "?")}
    elif args.evidence_only:
        system = _load_assistant(settings)
        count_tokens = _token_counter(settings)
        getattr(system, "restorer", None)  # built once here (~3 s), not inside the first question's latency
        embedder = getattr(getattr(getattr(system, "retriever", None), "embedder", None), "id", None)
        models = {"embedder": embedder or _get(settings, "embedder", "?"), "tokenizer": _get(settings, "llm_model")}
    else:
        system = _load_assistant(settings, args.llm_cache)
        meta["llm_cache"] = args.llm_cache
        models = {}
    meta["load_s"] = round(time.perf_counter() - t0, 3)
    print(f"loaded in {meta['load_s']:.1f}s; evaluating {len(items)} items from {args.dataset}", file=sys.stderr)

    runs: dict[str, dict] = {}
    with (out / "predictions.jsonl").open("w", encoding="utf-8") as f:
        for mode in args.modes:
            if args.retrieval_only:
                stream = predict_with_retriever(items, system, args.k, mode)
                name = mode or "retriever"
            elif args.evidence_only:
                stream = predict_with_evidence(items, system, args.k, count_tokens)
                name = "evidence"
            else:
                stream = predict_with_assistant(items, system, args.k)
                name = "assistant"
            preds = []
            for pred in stream:
                if not models and pred.get("models"):
                    models = pred["models"]
                preds.append(pred)
                _write_jsonl_line(f, score_prediction(by_id[pred["id"]], pred, args.k))
            runs[name] = build_report(items, preds, k=args.k)
    meta["models"] = models
    doc = {"meta": meta, "runs": runs}
    (out / "report.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    (out / "report.md").write_text(render_markdown(doc), encoding="utf-8")
    return doc


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        doc = run(args)
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except RunAborted as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except ImportError as e:
        print(f"error: cannot import the assistant ({e}); is the venv active and rag/ complete?", file=sys.stderr)
        return 1
    for name, report in doc["runs"].items():
        o = report["overall"]
        parts = [f"R@5={o.get('recall@5')}", f"MRR@{report['k']}={o.get('mrr@' + str(report['k']))}"]
        if "evidence_recall" in o:
            parts += [f"evidence_recall={o['evidence_recall']}", f"first_unit_recall={o['first_unit_recall']}",
                      f"chars_mean={o['evidence_chars_mean']}", f"tokens_mean={o['evidence_tokens_mean']}"]
        if report["has_answers"]:
            parts += [f"accuracy={o['answer_accuracy']}", f"refusal(unanswerable)={o['refusal_rate']}"]
        print(f"{name}: " + ", ".join(_short(p) for p in parts), file=sys.stderr)
    print(f"wrote {Path(args.out) / 'report.md'}", file=sys.stderr)
    return 0


def _short(part: str) -> str:
    key, _, val = part.partition("=")
    try:
        return f"{key}={float(val):.3f}"
    except ValueError:
        return part


if __name__ == "__main__":
    sys.exit(main())
