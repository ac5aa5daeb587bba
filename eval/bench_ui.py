"""How soon the evidence is on screen: the time from pressing Enter in the chat to the best evidence sentence
shown in a real browser (Chromium driven by Playwright), over dev questions; printed as a table and written as
JSON.

    python -m eval.bench_ui [--questions 12] [--llm NAME] [--out eval/out/bench_ui.json]

It starts ``app.py`` on the project's index with the default model (as ``make run`` does), asks each question,
times the evidence preview, then lets the answer finish before the next question (one question is answered at
a time: a question asked while the model still works waits for it, «Dừng» included, which stops at the next
token). A question that abstains before generation shows a refusal instead of evidence: it is timed too, to
that message. Run it on an idle machine: every figure is wall-clock.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# what counts as "the evidence is on screen": the preview of the best sentence, or an answer or refusal when
# the assistant decided before generating
SHOWN = "#chat .draft, #chat .quote-label, #chat .abstain, #chat .msg-notice, #chat .msg-error"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_app(env: dict, log_path: Path, timeout_s: float = 600) -> tuple[subprocess.Popen, str]:
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{env['RAG_PORT']}/"
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"app.py exited with {proc.returncode}:\n{log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(1)
    proc.terminate()
    raise SystemExit(f"app.py did not answer within {timeout_s:.0f} s (log: {log_path})")


def measure(url: str, questions: list[str]) -> list[dict]:
    """Seconds from Enter to the evidence on screen, per question (the page's own clock)."""
    from playwright.sync_api import sync_playwright
    out = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="vi-VN")
        page.set_default_timeout(120_000)
        page.goto(url)
        page.wait_for_selector("#question textarea")
        for n, question in enumerate(questions, 1):
            before = page.locator(SHOWN).count()
            page.fill("#question textarea", question)
            # start the clock in the page, then watch the chat for the next evidence block
            page.evaluate("""([sel, before]) => { window.__shown = null; const t0 = performance.now();
                const done = () => { if (document.querySelectorAll(sel).length > before && window.__shown === null)
                                       { window.__shown = performance.now() - t0; return true; } return false; };
                const obs = new MutationObserver(() => { if (done()) obs.disconnect(); });
                obs.observe(document.body, {childList: true, subtree: true, characterData: true});
                }""", [SHOWN, before])
            page.keyboard.press("Enter")
            try:
                page.wait_for_function("() => window.__shown !== null")
            except Exception:
                print(page.locator("#chat").inner_html()[-1500:], file=sys.stderr)
                raise
            seconds = page.evaluate("() => window.__shown") / 1000
            kind = "evidence" if page.locator("#chat .draft").count() else "answer or refusal"
            page.wait_for_selector("#question textarea:not([disabled])")  # the answer finished: the model is free
            page.wait_for_selector("#send", state="visible")
            out.append({"question": question, "seconds": seconds, "shown": kind})
            print(f"  {n:2d}. {seconds:5.2f} s  {kind:17s} {question[:70]}", flush=True)
        browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.bench_ui")
    ap.add_argument("--dataset", default="eval/datasets/dev.jsonl")
    ap.add_argument("--questions", type=int, default=12, help="the first N answerable questions of the dataset")
    ap.add_argument("--llm", help="LLM name (default: Settings.llm_model)")
    ap.add_argument("--out", default="eval/out/bench_ui.json")
    args = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"error: {CHROMIUM} is not installed (make browser)", file=sys.stderr)
        return 1
    items = [json.loads(line) for line in open(ROOT / args.dataset, encoding="utf-8") if line.strip()]
    questions = [it["question"] for it in items if it.get("must_include")][:args.questions]
    env = {k: v for k, v in os.environ.items() if k not in ("RAG_HOST", "RAG_PORT", "RAG_AUTH")}
    env.update(RAG_HOST="127.0.0.1", RAG_PORT=str(_free_port()), GRADIO_ANALYTICS_ENABLED="False",
               PYTHONUNBUFFERED="1", **({"RAG_LLM_MODEL": args.llm} if args.llm else {}))
    with tempfile.TemporaryDirectory() as tmp:
        env["GRADIO_TEMP_DIR"] = str(Path(tmp) / "gradio")
        print("Starting app.py (index, embedder, language model)...", flush=True)
        proc, url = _start_app(env, Path(tmp) / "app.log")
        try:
            rows = measure(url, questions)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    secs = [r["seconds"] for r in rows]
    result = {"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": platform.processor() or platform.machine(),
              "cpu_count": os.cpu_count(), "dataset": args.dataset, "n": len(rows),
              "evidence_on_screen_p50_s": statistics.median(secs),
              "evidence_on_screen_p90_s": sorted(secs)[max(0, round(0.9 * (len(secs) - 1)))],
              "evidence_on_screen_max_s": max(secs), "questions": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\n| questions | evidence on screen p50 | p90 | max |\n|---|---|---|---|\n"
          f"| {len(rows)} | {result['evidence_on_screen_p50_s']:.2f} s | {result['evidence_on_screen_p90_s']:.2f} s | "
          f"{result['evidence_on_screen_max_s']:.2f} s |\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
