"""Write eval/RESULTS.md from the latest runs under eval/out/ (see `make results`, which runs them first).

    python -m eval.results [--out-dir eval/out] [--results eval/RESULTS.md]

Reads: ret/ and ret-dev2/report.json (retrieval-only, dense/lexical/hybrid), ev-dev/ and ev-dev2/report.json
(evidence-only), every assistant */report.json (full runs: one row each, e.g. dev-1.5b and dev2-1.5b, dev2 broken
down by style), bench.json (eval.bench). Missing inputs are listed as not run.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

from eval.report import LAPTOP


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


DATASETS = ("dev", "dev2")  # tuned on dev.jsonl, validated on dev2.jsonl: every table shows both
_LLM_RUNS = {"1.5b": "qwen2.5-coder-1.5b", "0.5b": "qwen2.5-coder-0.5b"}


def _row(label: str, values: list[str]) -> str:
    return f"| {label} | " + " | ".join(values) + " |"


def _retrieval(out_dir: Path) -> list[str]:
    reps = {d: _load(out_dir / ("ret" if d == "dev" else f"ret-{d}") / "report.json") for d in DATASETS}
    lines = ["## Retrieval (hit = a chunk from the gold report holding the gold quote)", ""]
    if not all(reps.values()):
        return lines + ["Not run: `make results`.", ""]
    names = list(reps["dev"]["runs"])
    cols = [f"{n} {d}" for n in names for d in DATASETS]
    lines += [_row("metric", cols), "|---|" + "---|" * len(cols)]
    def cell(d, n, key, group=None):
        run = reps[d]["runs"][n]
        o = run.get("by_diacritics", {}).get(group, {}) if group else run["overall"]
        v = o.get(key)
        return "–" if v is None else (f"{v:.3f}" if key.startswith("mrr") else _pct(v))
    for key in ("recall@1", "recall@3", "recall@5", "recall@10", "mrr@10"):
        lines.append(_row(key, [cell(d, n, key) for n in names for d in DATASETS]))
    for group in ("accented", "accentless"):
        lines.append(_row(f"recall@5, {group}", [cell(d, n, "recall@5", group) for n in names for d in DATASETS]))
    lines += ["", "Baseline from DEVELOPERS.md (1000/200 splitter, e5-small, FAISS top-4): recall@5 0.47 on dev.", ""]
    return lines


def _evidence(out_dir: Path) -> list[str]:
    reps = {d: _load(out_dir / f"ev-{d}" / "report.json") for d in DATASETS}
    lines = ["## Evidence shown to the model (`--evidence-only`: everything before generation, no LLM)", ""]
    if not all(reps.values()):
        return lines + ["Not run: `make results`.", ""]
    keys = [("evidence_recall", "evidence recall (passages shown)", _pct),
            ("unit_recall", "unit recall (the 5 evidence units)", _pct),
            ("first_unit_recall", "first-unit recall", _pct),
            ("recall@5", "recall@5 (chunks)", _pct), ("evidence_chars_mean", "chars, mean", _int),
            ("evidence_chars_p90", "chars, p90", _int), ("evidence_tokens_mean", "LLM tokens, mean", _int),
            ("evidence_tokens_p90", "LLM tokens, p90", _int),
            ("abstained_before_generation", "answerable refused before generation", _pct)]
    lines += [_row("metric", list(DATASETS)), "|---|" + "---|" * len(DATASETS)]
    for key, label, f in keys:
        lines.append(_row(label, [f(reps[d]["runs"]["evidence"]["overall"].get(key)) for d in DATASETS]))
    lines += ["", *_by_style(reps["dev2"]["runs"]["evidence"], [("evidence_recall", "evidence recall"),
                                                                ("unit_recall", "unit recall"),
                                                                ("first_unit_recall", "first-unit recall")]), ""]
    return lines


def _by_style(run: dict, keys: list[tuple[str, str]], title: str = "dev2 by style:") -> list[str]:
    styles = run.get("by_style", {})
    lines = [title, "", _row("style", ["n"] + [label for _, label in keys]),
             "|---|" + "---|" * (len(keys) + 1)]
    for style, o in styles.items():
        lines.append(_row(style, [str(o["n"])] + [_pct(o.get(k)) for k, _ in keys]))
    return lines


def _answers(out_dir: Path) -> list[str]:
    lines = ["## Answers (full pipeline)", ""]
    rows, dev2_runs, refusals, costs = [], [], {}, []
    for path in sorted(out_dir.glob("*/report.json")):
        rep = _load(path)
        if rep["meta"].get("mode") != "assistant" or rep["meta"].get("llm_cache"):
            continue  # replayed generations (--llm-cache) have meaningless latency: not a result
        run = next(iter(rep["runs"].values()))
        o, lat = run["overall"], run.get("latency", {})
        model = rep["meta"].get("models", {}).get("llm") or rep["meta"]["settings"]["llm_model"]
        dataset = Path(rep["meta"]["dataset"]).name
        if dataset.startswith("dev2"):
            dev2_runs.append((path.parent.name, run))
        if o.get("refused_by"):
            refusals[path.parent.name] = o["refused_by"]
        if lat.get("prompt_tokens_p50") is not None:
            costs.append(f"| `{path.parent.name}` | {lat['prompt_tokens_p50']:.0f} / {lat['prompt_tokens_p90']:.0f} | "
                         f"{lat['generated_tokens_p50']:.0f} | {lat['p50_s']:.1f} / {lat['p90_s']:.1f} s | "
                         f"{lat['laptop_p50_s']:.1f} / {lat['laptop_p90_s']:.1f} s |")
        rows.append(f"| `{path.parent.name}` | {model} | `{dataset}` ({o['n']}) | "
                    f"{rep['meta']['date'][:16]} | {_pct(o['answer_accuracy'])} | {_pct(o.get('line_accuracy'))} | "
                    f"{_pct(o.get('header_copy_rate'))} | {_pct(o['refusal_rate'])} | "
                    f"{_pct(o['false_refusal_rate'])} | {_pct(o['citation_hit_rate'])} | "
                    f"{_pct(o.get('evidence_recall'))} | {lat.get('p50_s') or float('nan'):.1f} s | "
                    f"{lat.get('p90_s') or float('nan'):.1f} s | {lat.get('ttft_p50_s') or float('nan'):.1f} s | "
                    f"{_gen(o)} |")
    lines += ["| run | LLM | questions | date (UTC) | answer accuracy | short line alone | line copies a header | "
              "refusal (unanswerable) | false refusal | citation hit | evidence recall | latency p50 | latency p90 | "
              "first token p50 | generations mean / max |",
              "|---" * 15 + "|", *(rows or ["| not run |" + " |" * 14]), ""]
    keys = [("answer_accuracy", "accuracy"), ("line_accuracy", "short line alone"), ("refusal_rate", "refusal"), ("false_refusal_rate", "false refusal"),
            ("citation_hit_rate", "citation hit"), ("evidence_recall", "evidence recall")]
    for name, run in dev2_runs:
        lines += [*_by_style(run, keys, f"`{name}` by style:"), ""]
    if costs:
        lines += ["What each answer cost (runs that counted tokens): prompt tokens the CPU processed (a prefix reused "
                  "from the previous prompt is not processed again) and tokens sampled, over all the answer's "
                  "generations; the time estimated on issue 18's 2-core AVX2 laptop replaces llama.cpp's time here by "
                  f"these counts at its raw rates (eval/report.CpuRates: {LAPTOP.prompt_per_s:.0f} tokens/s prompt, "
                  f"{LAPTOP.generate_per_s:.0f} tokens/s generation): an estimate, not a measurement there.", "",
                  "| run | prompt tokens p50 / p90 | generated p50 | latency here p50 / p90 | "
                  "estimated on the AVX2 laptop p50 / p90 |", "|---|---|---|---|---|", *costs, ""]
    return lines + _refusals(refusals)


def _refusals(by_run: dict[str, dict]) -> list[str]:
    """Refusals by the check that made them (rag/verify.py verdict codes), per run: false refusals (answerable)
    and right refusals (unanswerable) side by side, so a rule's cost on dev2 shows by name."""
    if not by_run:
        return []
    codes = sorted({c for r in by_run.values() for side in r.values() for c in side})
    runs = list(by_run)
    header = "| check:code | " + " | ".join(f"`{r}` false · right" for r in runs) + " |"
    rows = ["| " + c + " | " + " | ".join(f"{by_run[r]['answerable'].get(c, 0)} · {by_run[r]['unanswerable'].get(c, 0)}"
                                          for r in runs) + " |" for c in codes]
    return ["Refusals by the check that made them (the last model line turned down, else the quote check): "
            "false refusals of answerable questions · right refusals of unanswerable ones.", "",
            header, "|---|" + "---|" * len(runs), *rows, ""]


def _gen(o: dict) -> str:
    """Generations per answer, mean / max ('–' for runs that did not record them)."""
    return "–" if o.get("generations_max") is None else f"{o['generations_mean']:.2f} / {o['generations_max']}"


def _int(x) -> str:
    return "–" if x is None else f"{x:.0f}"


def render(out_dir: Path) -> str:
    lines = ["# Results", "",
             f"Generated {time.strftime('%Y-%m-%d %H:%M')} at commit `{_commit()}` by `python -m eval.results` "
             f"on a {os.cpu_count()}-core machine (no GPU). Datasets: `eval/datasets/dev.jsonl` (98 questions: "
             "90 answerable, 8 unanswerable; tuned on) and `eval/datasets/dev2.jsonl` (74 questions: 64 answerable, "
             "10 unanswerable; never tuned on). Regenerate all with `make results`.", ""]
    lines += _retrieval(out_dir) + _evidence(out_dir) + _answers(out_dir)
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
