"""Turn predictions into scores and a report (pure functions: no models, no files).

Kept apart from the runner so the arithmetic can be unit-tested with fake predictions.

Example::

    report = build_report(items, predictions, k=10)
    report["overall"]["recall@5"], report["by_difficulty"]["hard"]["answer_accuracy"]
    markdown = render_markdown({"meta": {...}, "runs": {"assistant": report}})
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from eval.dataset import gold_quotes, is_answerable
from eval.metrics import (answer_correct, asks_two_things, citation_hit, copies_header, facts_in_units, first_hit_rank,
                          hit_flags, is_refusal, missing_must, mrr_at_k, recall_at_k)

RECALL_KS = (1, 3, 5, 10)
_DIFFICULTY_ORDER = {"easy": 0, "medium": 1, "hard": 2}


def recall_ks(k: int) -> list[int]:
    """The recall cut-offs reported for a run that kept ``k`` retrieved items."""
    return sorted({x for x in RECALL_KS if x <= k} | {k})


def score_prediction(item: dict[str, Any], pred: dict[str, Any], k: int = 10) -> dict[str, Any]:
    """``pred`` plus hit_rank / correct / refused / citation_hit / missing (None when not applicable).

    Retrieval-only predictions have ``answer`` None, so their answer-side fields stay None.
    A refusal is never a correct answer, even if the must_include strings appear in it.
    """
    out = dict(pred)
    answerable = is_answerable(item)
    quotes = gold_quotes(item)
    retrieved = pred.get("retrieved") or []
    flags = hit_flags(retrieved[:k], item.get("doc"), quotes) if answerable else []
    out["hit_rank"] = first_hit_rank(flags, k) if answerable else None
    if "evidence" in pred:
        out.update(_score_evidence(item, pred["evidence"] or [], pred.get("units")))
    if pred.get("answer") is None:  # retrieval-only run (a failed ask() records answer "" + error)
        out.update(correct=None, refused=None, citation_hit=None, missing=None)
        return out
    text = pred.get("answer") or ""
    refused = is_refusal(text, bool(pred.get("abstained"))) if not pred.get("error") else False
    out["refused"] = refused
    if pred.get("line") and pred.get("evidence"):  # the model's line shown (quote-first): does it copy a header?
        out["header_copied"] = copies_header(pred["line"], pred["evidence"])
    if answerable:
        must = item.get("must_include") or []
        out["missing"] = missing_must(text, must) if must else []
        out["correct"] = (not refused and not pred.get("error") and answer_correct(text, must)) if must else None
        out["citation_hit"] = citation_hit(pred.get("citations") or [], item.get("doc"), quotes)
        if "line" in pred:  # quote-first answers: the model's short line alone, without the quoted sentences
            out["line_correct"] = (not refused and not pred.get("error") and
                                   answer_correct(pred.get("line") or "", must)) if must else None
    else:
        out.update(correct=None, citation_hit=None, missing=None)
    return out


def _score_evidence(item: dict[str, Any], evidence: list[dict], units: list[dict] | None) -> dict[str, Any]:
    """evidence_hit: the passages shown hold every must_include fact; unit_hit: the units together do;
    first_unit_hit: the first unit alone does
    (the first two for a question asking two things), the units being the sentences the passages were built
    around, best first, when the prediction lists them, else the passages; evidence_chars: the passages' length."""
    texts = [u.get("text") or "" for u in evidence]
    firsts = [u.get("text") or "" for u in units] if units is not None else texts
    must = item.get("must_include") or []
    scored = is_answerable(item) and bool(must)
    first = 2 if asks_two_things(item["question"]) else 1
    return {"evidence_hit": facts_in_units(texts, must) if scored else None,
            "unit_hit": facts_in_units(firsts, must) if scored else None,
            "first_unit_hit": facts_in_units(firsts[:first], must) if scored else None,
            "evidence_chars": sum(len(t) for t in texts)}


def _mean(values: Iterable[bool | None]) -> float | None:
    vals = [bool(v) for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


@dataclass(frozen=True)
class CpuRates:
    """The machine an answer's time is estimated on: issue 18's 2-core AVX2 laptop, where raw llama.cpp processes
    the default 1.5B model's prompts at ~37 tokens/s and samples ~11 tokens/s. The estimate is the answer's measured
    time here with llama.cpp's own time (``llm_s``) replaced by its token counts at these rates: an estimate, not a
    measurement there (the rest of the pipeline, ~0.1 s here, is taken at this machine's speed)."""
    prompt_per_s: float = 37.0
    generate_per_s: float = 11.0

    def seconds(self, pred: dict) -> float | None:
        """``pred``'s estimated time; its own when it took no generation; None when its backend did not count."""
        if pred.get("latency_s") is None:
            return None
        if pred.get("prompt_tokens") is None:
            return pred["latency_s"] if pred.get("generations") == 0 else None
        return (pred["latency_s"] - (pred.get("llm_s") or 0.0) + pred["prompt_tokens"] / self.prompt_per_s
                + (pred.get("generated_tokens") or 0) / self.generate_per_s)


LAPTOP = CpuRates()


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100), None for no values."""
    vals = sorted(v for v in values if v is not None and not math.isnan(v))
    if not vals:
        return None
    pos = (len(vals) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)


def _summarize(rows: list[tuple[dict, dict]], k: int) -> dict[str, Any]:
    """All metrics for a group of (item, scored prediction) pairs; None where the group has no data."""
    ans = [(it, p) for it, p in rows if is_answerable(it)]
    unans = [(it, p) for it, p in rows if not is_answerable(it)]
    flags = [[i + 1 == p["hit_rank"] for i in range(k)] if p["hit_rank"] else [] for _, p in ans]
    out: dict[str, Any] = {"n": len(rows), "n_answerable": len(ans), "n_unanswerable": len(unans),
                           "errors": sum(1 for _, p in rows if p.get("error"))}
    for x in recall_ks(k):
        out[f"recall@{x}"] = recall_at_k(flags, x) if ans else None
    out[f"mrr@{k}"] = mrr_at_k(flags, k) if ans else None
    out["answer_accuracy"] = _mean(p["correct"] for _, p in ans)
    out["false_refusal_rate"] = _mean(p["refused"] for _, p in ans)
    out["citation_hit_rate"] = _mean(p["citation_hit"] for _, p in ans)
    out["refusal_rate"] = _mean(p["refused"] for _, p in unans)
    if any("line_correct" in p for _, p in ans):
        out["line_accuracy"] = _mean(p.get("line_correct") for _, p in ans)
    if any("header_copied" in p for _, p in rows):
        out["header_copy_rate"] = _mean(p.get("header_copied") for _, p in rows)
    if any(p.get("verdicts") for _, p in rows):  # which check refused: a false refusal traced to its rule
        out["refused_by"] = {"answerable": _refusal_codes(ans), "unanswerable": _refusal_codes(unans)}
    generations = [p["generations"] for _, p in rows if p.get("generations") is not None]
    if generations:
        out["generations_mean"] = sum(generations) / len(generations)
        out["generations_max"] = max(generations)
    if any("evidence_hit" in p for _, p in rows):
        out["evidence_recall"] = _mean(p.get("evidence_hit") for _, p in ans)
        out["unit_recall"] = _mean(p.get("unit_hit") for _, p in ans)
        out["first_unit_recall"] = _mean(p.get("first_unit_hit") for _, p in ans)
        for key in ("evidence_chars", "evidence_tokens"):
            vals = [p.get(key) for _, p in rows if p.get(key) is not None and p.get("evidence")]
            out[f"{key}_mean"] = sum(vals) / len(vals) if vals else None
            out[f"{key}_p90"] = percentile(vals, 90)
        out["abstained_before_generation"] = _mean(p.get("abstained") for _, p in ans)
    return out


def _refusal_codes(rows: list[tuple[dict, dict]]) -> dict[str, int]:
    """Refused items counted by the check that turned the last model line down ("check:code"; the quote check's
    rejection, which follows every refused line, only when no line was turned down)."""
    counts: dict[str, int] = {}
    for _, p in rows:
        if not p.get("refused"):
            continue
        rejections = [v for v in p.get("verdicts") or [] if v.get("outcome") == "reject"]
        rejections = [v for v in rejections if v.get("check") != "quote"] or rejections
        key = f"{rejections[-1]['check']}:{rejections[-1]['code']}" if rejections else "(none recorded)"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _group(rows: list[tuple[dict, dict]], key: Callable[[dict], str]) -> dict[str, list]:
    groups: dict[str, list] = {}
    for it, p in rows:
        groups.setdefault(key(it), []).append((it, p))
    return dict(sorted(groups.items(), key=lambda kv: (_DIFFICULTY_ORDER.get(kv[0], 3), kv[0])))


def _miss_order(it: dict) -> tuple:
    """Easy items first: a missed easy question is the most telling failure."""
    return _DIFFICULTY_ORDER.get(it.get("difficulty"), 3), it["id"]


def _clip(text: str | None, n: int = 300) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def build_report(items: list[dict[str, Any]], predictions: list[dict[str, Any]], *, k: int = 10) -> dict[str, Any]:
    """Aggregate scores over the items that have a prediction (matched by id).

    Retrieval metrics cover answerable items only; answer accuracy, false refusals and citation
    hits cover answerable items; refusal rate covers unanswerable ones.
    """
    by_id = {it["id"]: it for it in items}
    rows: list[tuple[dict, dict]] = []
    unknown = []
    for pred in predictions:
        item = by_id.get(pred.get("id"))
        if item is None:
            unknown.append(pred.get("id"))
            continue
        rows.append((item, score_prediction(item, pred, k)))
    preds = [p for _, p in rows]
    laptop = [LAPTOP.seconds(p) for p in preds]
    if any(s is None and p.get("latency_s") is not None for s, p in zip(laptop, preds)):
        laptop = []  # some answers' tokens were not counted (replayed from an LLM cache): no estimate at all
    report: dict[str, Any] = {
        "k": k,
        "retrieval_depth": max((len(p.get("retrieved") or []) for p in preds), default=0),
        "has_answers": any(p.get("refused") is not None for p in preds),
        "unknown_prediction_ids": unknown,
        "overall": _summarize(rows, k),
        "by_difficulty": {g: _summarize(r, k) for g, r in _group(rows, lambda it: it["difficulty"]).items()},
        "by_type": {g: _summarize(r, k) for g, r in _group(rows, lambda it: it["type"]).items()},
        "by_doc": {g: _summarize(r, k) for g, r in
                   _group(rows, lambda it: it.get("doc") or "(no gold doc)").items()},
        "by_diacritics": {g: _summarize(r, k) for g, r in
                          _group(rows, lambda it: "accentless" if it["no_diacritics"] else "accented").items()},
        "by_style": {g: _summarize(r, k) for g, r in _group(rows, lambda it: it.get("style") or "(none)").items()},
        "latency": {
            "p50_s": percentile([p.get("latency_s") for p in preds], 50),
            "p90_s": percentile([p.get("latency_s") for p in preds], 90),
            "ttft_p50_s": percentile([p.get("ttft_s") for p in preds], 50),
            # per answer that reached the LLM: tokens processed (not reused) and sampled, over all its generations
            "prompt_tokens_p50": percentile([p.get("prompt_tokens") for p in preds], 50),
            "prompt_tokens_p90": percentile([p.get("prompt_tokens") for p in preds], 90),
            "generated_tokens_p50": percentile([p.get("generated_tokens") for p in preds], 50),
            "laptop_p50_s": percentile(laptop, 50),  # estimated: CpuRates
            "laptop_p90_s": percentile(laptop, 90),
        },
    }
    misses = sorted(((it, p) for it, p in rows if is_answerable(it) and p["hit_rank"] is None),
                    key=lambda r: _miss_order(r[0]))
    report["retrieval_misses"] = [{
        "id": it["id"], "difficulty": it["difficulty"], "question": it["question"], "doc": it["doc"],
        "quote": _clip(it["quote"], 200),
        "top": [{"doc": r.get("doc"), "section": r.get("section"), "score": r.get("score")}
                for r in (p.get("retrieved") or [])[:3]],
    } for it, p in misses]
    wrong = sorted(((it, p) for it, p in rows if p["correct"] is False), key=lambda r: _miss_order(r[0]))
    report["wrong_answers"] = [{
        "id": it["id"], "difficulty": it["difficulty"], "question": it["question"],
        "expected": it.get("answer", ""), "must_include": it.get("must_include", []),
        "missing": p.get("missing"), "answer": _clip(p.get("answer")), "refused": p["refused"],
        "hit_rank": p["hit_rank"], "error": p.get("error"),
    } for it, p in wrong]
    report["unanswerable_answered"] = [{
        "id": it["id"], "question": it["question"], "answer": _clip(p.get("answer")),
    } for it, p in rows if not is_answerable(it) and p["refused"] is False]
    return report


# ---------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------

def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _num(v: float | None) -> str:
    return "–" if v is None else f"{v:.0f}"


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(esc(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _metric_rows(report: dict) -> list[tuple[str, str, Callable[[Any], str]]]:
    k = report["k"]
    rows = [(f"recall@{x}", f"Recall@{x} (answerable)", _pct) for x in recall_ks(k)]
    rows.append((f"mrr@{k}", f"MRR@{k} (answerable)", _fmt))
    if "evidence_recall" in report["overall"]:
        rows += [("evidence_recall", "Evidence recall (answerable)", _pct),
                 ("unit_recall", "Unit recall (answerable)", _pct),
                 ("first_unit_recall", "First-unit recall (answerable)", _pct),
                 ("evidence_chars_mean", "Evidence chars mean (shown)", _num),
                 ("evidence_chars_p90", "Evidence chars p90 (shown)", _num),
                 ("evidence_tokens_mean", "Evidence tokens mean (shown)", _num),
                 ("evidence_tokens_p90", "Evidence tokens p90 (shown)", _num),
                 ("abstained_before_generation", "Abstained before generation (answerable)", _pct)]
    if report["has_answers"]:
        rows += [("answer_accuracy", "Answer accuracy (answerable)", _pct),
                 ("false_refusal_rate", "False-refusal rate (answerable)", _pct),
                 ("citation_hit_rate", "Citation hit (answerable)", _pct),
                 ("refusal_rate", "Refusal rate (unanswerable)", _pct)]
        if "line_accuracy" in report["overall"]:
            rows.append(("line_accuracy", "Short-line accuracy (answerable)", _pct))
        if "header_copy_rate" in report["overall"]:
            rows.append(("header_copy_rate", "Lines copying a passage header (of the lines shown)", _pct))
        if "generations_max" in report["overall"]:
            rows += [("generations_mean", "Generations mean", lambda v: "–" if v is None else f"{v:.2f}"), ("generations_max", "Generations max", _fmt)]
    return rows


def _breakdown(report: dict, name: str) -> str:
    metrics = _metric_rows(report)
    header = [name, "n"] + [label.split(" (")[0] for _, label, _ in metrics]
    rows = [[g, s["n"]] + [f(s.get(key)) for key, _, f in metrics] for g, s in report[f"by_{name}"].items()]
    return _table(header, rows)


def _single_run(name: str, report: dict) -> list[str]:
    o = report["overall"]
    lat = report["latency"]
    out = [f"## Run: {name}", "",
           f"{o['n']} items ({o['n_answerable']} answerable, {o['n_unanswerable']} unanswerable), "
           f"{o['errors']} errors; retrieved depth {report['retrieval_depth']} (k={report['k']}).", ""]
    if 0 < report["retrieval_depth"] < report["k"]:
        out += [f"Note: at most {report['retrieval_depth']} passages were retrieved per question, so "
                f"Recall@k for k > {report['retrieval_depth']} equals Recall@{report['retrieval_depth']}.", ""]
    out += [_table(["Metric", "Value"], [[label, f(o[key])] for key, label, f in _metric_rows(report)]
                   + [["Latency p50 (s)", _fmt(lat["p50_s"])], ["Latency p90 (s)", _fmt(lat["p90_s"])],
                      ["Time to first token p50 (s)", _fmt(lat["ttft_p50_s"])]]
                   + ([["Prompt tokens processed p50 / p90", f"{lat['prompt_tokens_p50']:.0f} / "
                                                             f"{lat['prompt_tokens_p90']:.0f}"],
                       ["Tokens generated p50", f"{lat['generated_tokens_p50']:.0f}"],
                       ["Estimated on a 2-core AVX2 laptop p50 / p90 (s)",
                        f"{_fmt(lat['laptop_p50_s'])} / {_fmt(lat['laptop_p90_s'])}"]]
                      if lat.get("prompt_tokens_p50") is not None else [])), ""]
    if o.get("refused_by"):
        codes = sorted(set(o["refused_by"]["answerable"]) | set(o["refused_by"]["unanswerable"]))
        out += ["### Refusals by the check that made them (the last line turned down, else the quote check)", "",
                _table(["check:code", "answerable (false refusals)", "unanswerable (right refusals)"],
                       [[c, o["refused_by"]["answerable"].get(c, 0), o["refused_by"]["unanswerable"].get(c, 0)]
                        for c in codes]), ""]
    for name_ in ("style", "difficulty", "type", "doc", "diacritics"):
        if name_ == "style" and list(report["by_style"]) == ["(none)"]:
            continue  # a dataset without a style field
        out += [f"### By {name_}", "", _breakdown(report, name_), ""]
    out += _misses(report)
    return out


def _misses(report: dict, limit: int = 15) -> list[str]:
    out: list[str] = []
    if report["retrieval_misses"]:
        out += [f"### Retrieval misses ({len(report['retrieval_misses'])}, easiest first)", ""]
        out.append(_table(["id", "difficulty", "question", "gold doc", "top retrieved (doc > section)"], [
            [m["id"], m["difficulty"], _clip(m["question"], 120), m["doc"],
             "; ".join(f"{t['doc']} > {_clip(t['section'], 60)}" for t in m["top"]) or "(nothing)"]
            for m in report["retrieval_misses"][:limit]]))
        out.append("")
    if report["wrong_answers"]:
        out += [f"### Wrong answers ({len(report['wrong_answers'])}, easiest first)", ""]
        out.append(_table(["id", "question", "missing", "answer given", "hit rank"], [
            [w["id"], _clip(w["question"], 100), ", ".join(w["missing"] or []) or ("(error)" if w["error"] else ""),
             ("[refused] " if w["refused"] else "") + _clip(w["answer"] or w["error"] or "", 200),
             _fmt(w["hit_rank"])] for w in report["wrong_answers"][:limit]]))
        out.append("")
    if report["unanswerable_answered"]:
        out += [f"### Unanswerable questions that got an answer ({len(report['unanswerable_answered'])})", ""]
        out.append(_table(["id", "question", "answer given"], [
            [u["id"], _clip(u["question"], 100), _clip(u["answer"], 200)]
            for u in report["unanswerable_answered"][:limit]]))
        out.append("")
    return out


def _comparison(runs: dict[str, dict]) -> list[str]:
    first = next(iter(runs.values()))
    names = list(runs)
    out = ["## Side by side", "",
           _table(["Metric", *names], [[label, *(f(runs[n]["overall"].get(key)) for n in names)]
                                       for key, label, f in _metric_rows(first)]
                  + [["Latency p50 (s)", *(_fmt(runs[n]["latency"]["p50_s"]) for n in names)]]), ""]
    k = first["k"]
    for dim in ("difficulty", "type", "doc", "diacritics"):
        groups = list(first[f"by_{dim}"])
        cut = min(5, k)
        header = [dim, "n"] + [f"{n} R@{cut}" for n in names] + [f"{n} MRR@{k}" for n in names]
        key5 = f"recall@{cut}"
        rows = [[g, first[f"by_{dim}"][g]["n"]]
                + [_pct(runs[n][f"by_{dim}"].get(g, {}).get(key5)) for n in names]
                + [_fmt(runs[n][f"by_{dim}"].get(g, {}).get(f"mrr@{k}")) for n in names] for g in groups]
        out += [f"### By {dim}", "", _table(header, rows), ""]
    return out


def render_markdown(doc: dict[str, Any]) -> str:
    """report.md: the meta block, a side-by-side table when there are several runs, then each run."""
    meta = doc.get("meta", {})
    runs: dict[str, dict] = doc["runs"]
    models = ", ".join(f"{k}: `{v}`" for k, v in (meta.get("models") or {}).items()) or "(unknown)"
    out = ["# Evaluation report", "",
           f"- Dataset: `{meta.get('dataset', '?')}` ({meta.get('n_items', '?')} items evaluated)",
           f"- Date: {meta.get('date', '?')}",
           f"- Mode: {meta.get('mode', '?')}",
           f"- Models: {models}",
           f"- Machine: {meta.get('cpu_count', '?')} CPU cores, {meta.get('platform', '?')}",
           ""]
    if meta.get("notes"):
        out += [f"- {n}" for n in meta["notes"]] + [""]
    if len(runs) > 1:
        out += _comparison(runs)
    for name, report in runs.items():
        out += _single_run(name, report)
    return "\n".join(out).rstrip() + "\n"
