"""Speed and memory of the real pipeline, printed as a table and written as JSON.

    python -m eval.bench [--out eval/out/bench.json] [--llm NAME] [--skip-index] [--runs 3]

Measures: a cold index build of the bundled reports (chunks/s) next to the embedder's own time for the
same chunks; retrieval latency over the dev questions; time to first token and generation speed of the
LLM through the Assistant and through raw llama-cpp-python on the same prompt (the ratio is the
pipeline's overhead); what reusing the processed prefix shared by two questions' prompts saves; peak RSS.
Run it on an idle machine: every figure is wall-clock.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

FIXED_QUESTION = "Thu ngân sách trên địa bàn tỉnh Cao Bằng năm 2021 ước đạt bao nhiêu?"
NEXT_QUESTION = "Chi ngân sách địa phương của tỉnh Cao Bằng cả năm 2021 ước bao nhiêu?"  # another question after it


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    idx = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return values[idx]


def bench_index(settings) -> dict:
    """Cold build into a temporary index dir; then the embedder alone on the very same chunk texts."""
    from rag.embed import get_embedder
    from rag.indexer import index_paths
    from rag.store import IndexStore

    with tempfile.TemporaryDirectory() as tmp:
        s = settings.__class__(**{**settings.__dict__, "index_dir": tmp})
        t0 = time.perf_counter()
        report = index_paths([settings.reports_dir], s, progress=False)
        total = time.perf_counter() - t0
        texts = [c.embed_text() for c in IndexStore(tmp).load().chunks]
    embedder = get_embedder(settings.embedder)
    t0 = time.perf_counter()
    for i in range(0, len(texts), 16):
        embedder.embed_passages(texts[i:i + 16])
    embed_only = time.perf_counter() - t0
    return {"chunks": report.chunks, "embedded": report.embedded, "build_s": total, "stages_s": report.seconds,
            "chunks_per_s": report.chunks / total, "embedder_only_s": embed_only,
            "overhead_vs_embedder": (total - embed_only) / embed_only}


def bench_retrieval(settings, dataset: str) -> dict:
    from rag.retrieve import Retriever

    t0 = time.perf_counter()
    retriever = Retriever.load(settings)
    load_s = time.perf_counter() - t0
    questions = [json.loads(line)["question"] for line in open(dataset, encoding="utf-8") if line.strip()]
    retriever.search(questions[0], k=10)  # warm-up
    lat = []
    for q in questions:
        t = time.perf_counter()
        retriever.search(q, k=10)
        lat.append((time.perf_counter() - t) * 1000)
    return {"queries": len(questions), "load_s": load_s, "p50_ms": _pct(lat, 50), "p95_ms": _pct(lat, 95),
            "mean_ms": statistics.fmean(lat)}


def _timed_stream(stream, count_tokens) -> dict:
    t0 = time.perf_counter()
    ttft, parts = None, []
    for tok in stream:
        if ttft is None:
            ttft = time.perf_counter() - t0
        parts.append(tok)
    total = time.perf_counter() - t0
    text = "".join(parts)
    n = count_tokens(text)
    gen_s = max(total - (ttft or 0), 1e-9)
    return {"ttft_s": ttft or total, "total_s": total, "tokens": n, "gen_tok_s": (n - 1) / gen_s if n > 1 else 0.0}


def bench_llm(settings, runs: int) -> dict:
    from rag.assistant import Assistant

    assistant = Assistant(settings)
    t0 = time.perf_counter()
    llm = assistant.llm
    load_s = time.perf_counter() - t0
    raw = getattr(llm, "_llm", None)
    count = (lambda text: len(raw.tokenize(text.encode(), add_bos=False))) if raw else (lambda text: len(text.split()))
    prep = assistant.prepare(FIXED_QUESTION)  # the same evidence and question ask_stream sends
    messages = assistant.build_messages(prep.standalone, prep.passages)
    prompt_tokens = count(messages[0]["content"] + messages[1]["content"])
    pipeline, direct = [], []
    for _ in range(runs):
        if raw:
            raw.reset()  # no KV-cache reuse between runs: each measures a cold prompt
        t = time.perf_counter()
        events = list(assistant.ask_stream(FIXED_QUESTION))
        answer = events[-1][1]
        pipeline.append({"ttft_s": answer.timings.get("ttft_s", 0.0), "total_s": time.perf_counter() - t,
                         "tokens": sum(1 for e in events if e[0] == "token")})
        if raw:
            raw.reset()
            out = raw.create_chat_completion(messages=messages, max_tokens=settings.max_tokens,
                                             temperature=settings.temperature, stream=True)
            direct.append(_timed_stream((p["choices"][0]["delta"].get("content", "") for p in out
                                         if p["choices"][0]["delta"].get("content")), count))
    med = lambda rows, key: statistics.median(r[key] for r in rows) if rows else float("nan")  # noqa: E731
    result = {"model": getattr(llm, "id", settings.llm_model), "load_s": load_s, "prompt_tokens": prompt_tokens,
              "runs": runs, "pipeline_ttft_s": med(pipeline, "ttft_s"), "pipeline_total_s": med(pipeline, "total_s"),
              "raw_ttft_s": med(direct, "ttft_s"), "raw_total_s": med(direct, "total_s"),
              "raw_gen_tok_s": med(direct, "gen_tok_s"), "raw_prompt_tok_s": prompt_tokens / med(direct, "ttft_s")
              if direct else float("nan")}
    result["ttft_overhead_ratio"] = result["pipeline_ttft_s"] / result["raw_ttft_s"] if direct else float("nan")
    if raw:
        result["prefix"] = bench_prefix_reuse(assistant, raw, messages, settings)
    return result


def bench_prefix_reuse(assistant, raw, first: list[dict], settings) -> dict:
    """What llama.cpp's reuse of the previous prompt's processed tokens saves a second question: its prompt shares
    the system prompt and the template's head with the first (the passages and the question differ). Time to first
    token of the second prompt right after the first (the shared prefix kept in the KV cache) against the same
    prompt from a cold cache; the shared prefix in tokens."""
    prep = assistant.prepare(NEXT_QUESTION)
    second = assistant.build_messages(prep.standalone, prep.passages)

    def ttft(messages) -> float:
        out = raw.create_chat_completion(messages=messages, max_tokens=4, temperature=settings.temperature,
                                         stream=True)
        return _timed_stream((p["choices"][0]["delta"].get("content", "") for p in out
                              if p["choices"][0]["delta"].get("content")), lambda t: 1)["ttft_s"]
    raw.reset()
    ttft(first)
    first_tokens = list(raw._input_ids)  # the tokens processed (prompt, then output)
    warm = ttft(second)
    second_tokens = list(raw._input_ids)
    shared = next((i for i, (a, b) in enumerate(zip(first_tokens, second_tokens)) if a != b),
                  min(len(first_tokens), len(second_tokens)))
    raw.reset()
    cold = ttft(second)
    raw.reset()
    return {"shared_prefix_tokens": shared, "prompt_tokens": len(second_tokens), "ttft_cold_s": cold,
            "ttft_reused_s": warm, "saved_s": cold - warm}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.bench", description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="eval/out/bench.json")
    ap.add_argument("--dataset", default="eval/datasets/dev.jsonl")
    ap.add_argument("--llm", help="registry name or .gguf path")
    ap.add_argument("--skip-index", action="store_true", help="skip the cold index build (the slowest part)")
    ap.add_argument("--skip-llm", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    from rag.config import Settings
    from rag.llm import default_threads

    settings = Settings.from_env(**({"llm_model": args.llm} if args.llm else {}))
    res: dict = {"machine": {"cores": os.cpu_count(), "llm_threads": settings.n_threads or default_threads(),
                             "platform": platform.platform(), "python": sys.version.split()[0],
                             "cpu_flags": cpu_flags(), "llama_cpp_simd": llama_cpp_simd()},
                 "date": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if not args.skip_index:
        print("index: cold build of the bundled reports ...", file=sys.stderr)
        res["index"] = bench_index(settings)
    print("retrieval ...", file=sys.stderr)
    res["retrieval"] = bench_retrieval(settings, args.dataset)
    if not args.skip_llm:
        print("llm ...", file=sys.stderr)
        res["llm"] = bench_llm(settings, args.runs)
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1, ensure_ascii=False))
    print(render(res))
    return 0


def cpu_flags() -> str:
    """The SIMD the CPU offers llama.cpp ("AVX2, AVX-512"): figures differ several-fold between the two."""
    try:
        flags = set(next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split())
    except (OSError, StopIteration):
        return "unknown"
    return ", ".join(name for flag, name in (("avx2", "AVX2"), ("avx512f", "AVX-512")) if flag in flags) or "neither"


def llama_cpp_simd(system_info: str | None = None) -> str:
    """The SIMD the installed llama.cpp build uses ("AVX2", "AVX2, AVX-512"), read from its system info: a build
    without AVX-512 (one made for another CPU, or to stand in for an AVX2 laptop) runs slower than the CPU's own
    flags suggest, so a figure names both."""
    if system_info is None:
        try:
            from llama_cpp import llama_print_system_info
        except ImportError:
            return "not installed"
        system_info = llama_print_system_info().decode(errors="replace")
    used = [name for key, name in (("AVX2", "AVX2"), ("AVX512", "AVX-512"))
            if re.search(rf"(?<!\w){key} = 1", system_info)]  # "AVX512_VNNI = 1" is not AVX512
    return ", ".join(used) or "neither"


def render(res: dict) -> str:
    m = res["machine"]
    build = f"; llama.cpp build: {m['llama_cpp_simd']}" if "llama_cpp_simd" in m else ""
    rows = [f"Machine: {m['cores']} cores ({m.get('cpu_flags', 'flags not recorded')}{build}), LLM threads "
            f"{m['llm_threads']}, {m['platform']}", "", "| what | figure |", "|---|---|"]
    if "index" in res:
        i = res["index"]
        embedded = i.get("embedded", i["chunks"])
        rows += [f"| index build (cold, {i['chunks']} chunks, {embedded} embedded) | {i['build_s']:.1f} s "
                 f"({i['chunks_per_s']:.2f} chunks/s) |",
                 f"| embedder alone, same chunks | {i['embedder_only_s']:.1f} s |"]
        if embedded == i["chunks"]:  # with shipped vectors (data/vectors) the build embeds only what they lack
            rows.append(f"| everything but embedding | {100 * i['overhead_vs_embedder']:+.1f}% |")
    r = res["retrieval"]
    rows += [f"| retrieval latency p50 / p95 ({r['queries']} queries, k=10) | {r['p50_ms']:.1f} / {r['p95_ms']:.1f} ms |",
             f"| retriever load | {r['load_s']:.2f} s |"]
    if "llm" in res:
        x = res["llm"]
        rows += [f"| LLM | {x['model']} (load {x['load_s']:.1f} s, prompt {x['prompt_tokens']} tokens) |",
                 f"| time to first token: pipeline / raw llama-cpp | {x['pipeline_ttft_s']:.2f} / {x['raw_ttft_s']:.2f} s "
                 f"(×{x['ttft_overhead_ratio']:.2f}) |",
                 f"| prompt processing (raw) | {x['raw_prompt_tok_s']:.0f} tok/s |",
                 f"| generation (raw) | {x['raw_gen_tok_s']:.1f} tok/s |",
                 f"| answer total: pipeline / raw | {x['pipeline_total_s']:.2f} / {x['raw_total_s']:.2f} s |"]
        if "prefix" in x:
            pr = x["prefix"]
            rows.append(f"| a second question: prefix reused from the first (system prompt, template head) | "
                        f"{pr['shared_prefix_tokens']} of {pr['prompt_tokens']} tokens; first token "
                        f"{pr['ttft_reused_s']:.2f} s against {pr['ttft_cold_s']:.2f} s cold |")
    rows.append(f"| peak RSS | {res['peak_rss_mb']:.0f} MB |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
