"""Write eval/RESULTS.md from the latest runs under eval/out/ (see `make results`, which runs them first).

    python -m eval.results [--out-dir eval/out] [--results eval/RESULTS.md]

Reads: ret/report.json (retrieval-only, dense/lexical/hybrid), every other */report.json (full runs: one row
each, e.g. dev-1.5b and dev-0.5b), bench.json (eval.bench). Missing inputs are listed as not run.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path


def _load(path: Path) -> dict | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def render(out_dir: Path) -> str:
    lines = ["# Results", "",
             f"Generated {time.strftime('%Y-%m-%d %H:%M')} at commit `{_commit()}` by `python -m eval.results` "
             f"on a {os.cpu_count()}-core machine (no GPU). Dataset: `eval/datasets/dev.jsonl` "
             "(98 questions: 90 answerable, 8 unanswerable). Regenerate all with `make results`.", ""]
    ret = _load(out_dir / "ret" / "report.json")
    lines += ["## Retrieval (hit = a chunk from the gold report holding the gold quote)", ""]
    if ret:
        runs = ret["runs"]
        names = list(runs)
        lines += ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for key in ("recall@1", "recall@3", "recall@5", "recall@10"):
            lines.append(f"| {key} | " + " | ".join(_pct(runs[n]["overall"][key]) for n in names) + " |")
        lines.append("| MRR@10 | " + " | ".join(f"{runs[n]['overall']['mrr@10']:.3f}" for n in names) + " |")
        for group in ("accented", "accentless"):
            vals = []
            for n in names:
                g = runs[n].get("by_diacritics", {}).get(group, {})
                vals.append(_pct(g.get("recall@5")))
            lines.append(f"| recall@5, {group} questions | " + " | ".join(vals) + " |")
        lines.append("| latency p50 | " + " | ".join(f"{1000 * runs[n]['latency']['p50_s']:.0f} ms"
                                                  if runs[n].get("latency", {}).get("p50_s") is not None else "–"
                                                  for n in names) + " |")
        lines += ["", "Baseline from DEVELOPERS.md (1000/200 splitter, e5-small, FAISS top-4): recall@5 0.47, "
                  "BM25 0.66, naive fusion 0.67; accentless under 0.3.", ""]
    else:
        lines += ["Not run: `python -m eval.run --dataset eval/datasets/dev.jsonl --out eval/out/ret "
                  "--retrieval-only --retrievers dense,lexical,hybrid`.", ""]
    lines += ["## Answers (full pipeline)", ""]
    rows = []
    for path in sorted(out_dir.glob("*/report.json")):
        rep = _load(path)
        if rep["meta"].get("mode") == "retrieval-only" or rep["meta"].get("llm_cache"):
            continue  # replayed generations (--llm-cache) have meaningless latency: not a result
        run = next(iter(rep["runs"].values()))
        o, lat = run["overall"], run.get("latency", {})
        model = rep["meta"].get("models", {}).get("llm") or rep["meta"]["settings"]["llm_model"]
        rows.append(f"| `{path.parent.name}` | {model} | `{Path(rep['meta']['dataset']).name}` ({o['n']}) | "
                    f"{rep['meta']['date'][:16]} | {_pct(o['answer_accuracy'])} | {_pct(o['refusal_rate'])} | "
                    f"{_pct(o['false_refusal_rate'])} | {_pct(o['citation_hit_rate'])} | {_pct(o['recall@5'])} | "
                    f"{lat.get('p50_s') or float('nan'):.1f} s | {lat.get('ttft_p50_s') or float('nan'):.1f} s |")
    lines += ["| run | LLM | questions | date (UTC) | answer accuracy | refusal (unanswerable) | false refusal | "
              "citation hit | gold passage in prompt | latency p50 | first token p50 |",
              "|---|---|---|---|---|---|---|---|---|---|---|", *(rows or ["| not run | | | | | | | | | | |"]),
              "", "Baseline: about 2 answers in 10 correct, no refusal on unanswerable questions. Targets: accuracy "
              "≥ 75%, refusal ≥ 85%, false refusal ≤ 10%, citation hit ≥ 85%.", ""]
    bench = _load(out_dir / "bench.json")
    lines += ["## Speed and memory (`python -m eval.bench`)", ""]
    if bench:
        from eval.bench import render as render_bench
        lines += [render_bench(bench), ""]
    else:
        lines += ["Not run.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.results")
    ap.add_argument("--out-dir", default="eval/out")
    ap.add_argument("--results", default="eval/RESULTS.md")
    args = ap.parse_args(argv)
    Path(args.results).write_text(render(Path(args.out_dir)), encoding="utf-8")
    print(f"wrote {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
