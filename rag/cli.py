"""Command line: ``python -m rag {index,search,ask,models}``. Errors are one English line, exit code 1/2."""
from __future__ import annotations

import argparse
import json
import logging
import sys

from .config import Settings, VocabularyError


def _settings(args) -> Settings:
    overrides = {}
    if getattr(args, "llm", None):
        overrides["llm_model"] = args.llm
    if getattr(args, "index_dir", None):
        overrides["index_dir"] = args.index_dir
    return Settings.from_env(**overrides)


def cmd_index(args) -> int:
    from .indexer import index_paths
    from .store import IndexStore

    settings = _settings(args)
    if args.export_vectors:
        from .indexer import export_vectors
        n = export_vectors(settings)
        print(f"Wrote {n} vectors of the reports in {settings.reports_dir} to {settings.vectors_dir}.")
        return 0
    if args.list:
        stored = IndexStore(settings.index_dir).load()
        if stored is None:
            print(f"No index in {settings.index_dir}.")
            return 0
        print(f"Index {stored.path} — embedder {stored.manifest.get('embedder_id')}, "
              f"{len(stored.chunks)} chunks")
        for doc, m in sorted(stored.docs.items()):
            print(f"  {doc}\t{m.get('n_chunks')} chunks\t{m.get('date') or '-'}\t{m.get('title', '')[:80]}")
        return 0
    paths = args.paths or ([] if args.remove else [settings.reports_dir])
    report = index_paths(paths, settings, rebuild=args.rebuild, remove=args.remove or [], progress=not args.quiet)
    for err in report.errors:
        print(f"error: {err}", file=sys.stderr)
    if report.rebuilt_reason:
        print(f"Rebuilt the index: {report.rebuilt_reason}.")
    print(f"Index: {report.chunks} chunks; added {len(report.added)}, updated {len(report.updated)}, "
          f"unchanged {len(report.unchanged)}, removed {len(report.removed)}; embedded {report.embedded} chunks "
          f"in {report.seconds.get('embed', 0):.1f}s.")
    return 1 if report.errors and not report.changed and not report.unchanged else 0


def cmd_search(args) -> int:
    from .retrieve import Retriever

    retriever = Retriever.load(_settings(args))
    hits = retriever.search(args.query, k=args.k, mode=args.mode)
    if args.json:
        print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=1))
        return 0
    for rank, h in enumerate(hits, 1):
        stages = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in h.stages.items())
        print(f"{rank}. [{h.score:.4f}] {h.doc} — {h.section or '-'}\n   {stages}\n   {h.text[:300]}\n")
    return 0


def cmd_ask(args) -> int:
    """Progress goes to stderr and only the checked answer to stdout: a streamed draft may be rejected."""
    from .assistant import Assistant
    from .budget import QuestionTooLong

    assistant = Assistant(_settings(args))
    answer = None
    try:
        assistant.check_question(args.question)
        if args.json:
            print(json.dumps(assistant.ask(args.question).to_dict(), ensure_ascii=False, indent=1))
            return 0
        print("Searching the reports...", file=sys.stderr, flush=True)
        for event, payload in assistant.ask_stream(args.question):
            if event == "evidence":
                print("Writing and checking the answer...", file=sys.stderr, flush=True)
            elif event == "retry":
                print(f"The answer failed the checks; asking again over passage [{payload}] alone...",
                      file=sys.stderr, flush=True)
            elif event == "done":
                answer = payload
    except QuestionTooLong as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(answer.text + "\n")
    for c in answer.citations:
        print(f"[{c.n}] {c.title} ({c.date}) — {c.section}\n    {c.text[:300]}")
    t = answer.timings
    print(f"\nretrieval {t.get('retrieval_s', 0):.2f}s · first token {t.get('ttft_s', 0):.2f}s · "
          f"total {t.get('total_s', 0):.2f}s")
    for w in answer.warnings:
        print(f"note: {w}", file=sys.stderr)
    return 0


def cmd_models(args) -> int:
    from .models import EMBEDDERS, LLMS

    s = _settings(args)
    print("LLMs (RAG_LLM_MODEL = a name below or a path to a .gguf file):")
    for name, spec in LLMS.items():
        print(f"  {name}{' *' if name == s.llm_model else ''}\t{spec.description}")
    print("Embedders (RAG_EMBEDDER = a name below or a local sentence-transformers directory):")
    for name, desc in EMBEDDERS.items():
        print(f"  {name}{' *' if name == s.embedder else ''}\t{desc}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m rag", description="Trợ lý Báo cáo: offline cited answers over reports.")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    i = sub.add_parser("index", help="add/update reports in the index (incremental), list or remove them")
    i.add_argument("paths", nargs="*", help="files or folders (default: the bundled reports)")
    i.add_argument("--list", action="store_true", help="list indexed reports")
    i.add_argument("--remove", action="append", metavar="DOC", help="remove a report by its id (file name)")
    i.add_argument("--rebuild", action="store_true",
                   help="re-read and re-embed everything; an unreadable index is set aside (kept) and rebuilt "
                        "from the paths given plus the uploads folder")
    i.add_argument("--quiet", action="store_true", help="no progress bar")
    i.add_argument("--export-vectors", action="store_true",
                   help="write the bundled reports' vectors to RAG_VECTORS_DIR (data/vectors) for shipping")
    i.add_argument("--index-dir")
    i.set_defaults(func=cmd_index)

    s = sub.add_parser("search", help="show the passages retrieved for a query, with per-stage scores")
    s.add_argument("query")
    s.add_argument("-k", type=int, default=5)
    s.add_argument("--mode", choices=["hybrid", "dense", "lexical"], default="hybrid")
    s.add_argument("--json", action="store_true")
    s.add_argument("--index-dir")
    s.set_defaults(func=cmd_search)

    a = sub.add_parser("ask", help="answer a question with cited sources")
    a.add_argument("question")
    a.add_argument("--json", action="store_true", help="print the Answer as JSON")
    a.add_argument("--llm", help="registry name or .gguf path (default: RAG_LLM_MODEL)")
    a.add_argument("--index-dir")
    a.set_defaults(func=cmd_ask)

    m = sub.add_parser("models", help="list the models that ship with the product")
    m.set_defaults(func=cmd_models)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    from .models import ModelError
    from .store import IndexError_
    try:
        code = args.func(args)
        sys.stdout.flush()  # a reader that went away (`| head`) shows up here, not in a traceback at exit
        return code
    except BrokenPipeError:  # the Python docs' recipe: stop quietly, nothing more can reach the reader
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (ModelError, IndexError_, VocabularyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
