"""Web UI (Gradio): chat with numbered citations, report management, and a JSON API endpoint.

Thin over ``rag``: answers come from ``Assistant.ask_stream``, index changes from ``index_paths``;
Vietnamese strings and HTML rendering live in ``rag/ui_text.py``.

Run: ``python app.py`` (``make run`` builds the index first). Binds ``RAG_HOST``:``RAG_PORT``
(127.0.0.1:7860); ``RAG_AUTH=user:pass`` turns on a login. API:
``gradio_client.Client(url).predict("Thu ngân sách năm 2021?", 4, api_name="/ask")`` -> Answer dict.
"""
from __future__ import annotations

import ipaddress
import logging
import os
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

from rag.config import Settings  # first: sets the offline/no-telemetry environment before gradio loads

import gradio as gr  # noqa: E402

from rag import ui_text as T  # noqa: E402
from rag.store import IndexError_, IndexStore  # noqa: E402

log = logging.getLogger("app")

STREAM_INTERVAL_S = 0.25  # at most ~4 UI updates a second while tokens stream: the LLM needs the CPU
MAX_QUESTION_CHARS = 2000
TOP_K_MAX = 10
UNCITED_SHOWN = 5  # retrieved passages listed (collapsed) under the cited ones
LLM_GROUP = "llm"  # one question at a time (chat and API share the single LLM)
INDEX_GROUP = "index"

THEME = gr.themes.Default(font=["system-ui", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"],
                          font_mono=["ui-monospace", "Consolas", "monospace"])

CSS = """
.gradio-container { max-width: 1500px !important; }
#app-header h1 { margin: 0 0 .2em; font-size: 1.5em; }
#app-header p { margin: 0; color: var(--body-text-color-subdued); }
.chat-empty { text-align: center; opacity: .85; }
a.cite { font-weight: 600; text-decoration: none; color: var(--color-accent); padding: 0 1px; cursor: pointer; }
a.cite:hover { text-decoration: underline; }
.abstain { border-left: 4px solid #d97706; background: #fffbeb; color: #78350f; padding: .5em .75em;
           border-radius: 6px; }
.abstain span { font-size: .9em; }
.msg-error { border-left: 4px solid #dc2626; background: #fef2f2; color: #7f1d1d; padding: .5em .75em;
             border-radius: 6px; }
.msg-notice { color: var(--body-text-color-subdued); }
.cite-footer { font-size: .9em; color: var(--body-text-color-subdued); }
.timing { font-size: .8em; color: var(--body-text-color-subdued); margin-top: .3em; }
#sources-panel { max-height: 72vh; overflow-y: auto; padding-right: 4px; }
#sources-panel .muted, .muted { color: var(--body-text-color-subdued); font-size: .9em; }
.turn-q { font-weight: 600; margin: .2em 0 .4em; }
.src { display: flex; gap: .5em; border: 1px solid var(--border-color-primary); border-radius: 8px;
       padding: .45em .6em; margin: .45em 0; scroll-margin: 80px; }
.src-uncited { display: block; opacity: .9; }
.src-n { font-weight: 700; color: var(--color-accent); }
.src-body { min-width: 0; }
.src-meta { font-size: .9em; }
.src-title { font-weight: 600; }
.src-section, .src-doc { font-size: .8em; color: var(--body-text-color-subdued); }
#sources-panel .src-text { margin: .35em 0 0 !important; padding: 0 0 0 .6em; border-left: 3px solid var(--border-color-primary);
            font-size: .88em; white-space: pre-wrap; overflow-wrap: anywhere; }
.src-text mark { background: #fde68a; color: #1f2937; padding: 0 1px; border-radius: 2px; }
.src.flash { animation: src-flash 1.8s ease-out; }
@keyframes src-flash { from { background: #fde68a; } to { background: transparent; } }
details.uncited, details.earlier { margin: .5em 0; }
details.uncited > summary, details.earlier > summary { cursor: pointer; color: var(--body-text-color-subdued); }
ul.status { list-style: none; padding: 0; margin: .3em 0; }
ul.status li { margin: .2em 0; }
ul.status li.err { color: #b91c1c; }
ul.status li.ok { color: #15803d; }
#docs-table, #docs-table *, .progress-level-inner, .meta-text, .meta-text-center {
  font-family: var(--font) !important; }  /* the monospace fallback garbles Vietnamese diacritics */
#docs-status { min-height: 2.5em; }
"""

# Citation links: open the passage in the sources panel (and any collapsed <details> around it).
HEAD = """<script>
document.addEventListener('click', function (ev) {
  var a = ev.target && ev.target.closest ? ev.target.closest('a[href^="#nguon-"]') : null;
  if (!a) return;
  var el = document.getElementById(a.getAttribute('href').slice(1));
  if (!el) return;
  ev.preventDefault(); ev.stopPropagation();
  for (var p = el.parentElement; p; p = p.parentElement) { if (p.tagName === 'DETAILS') p.open = true; }
  el.scrollIntoView({behavior: 'smooth', block: 'center'});
  el.classList.remove('flash'); void el.offsetWidth; el.classList.add('flash');
}, true);
</script>"""


def _hit_dict(h) -> dict:
    c = h.chunk
    return {"doc": c.doc, "title": c.title, "date": c.date, "section": c.section, "page": c.page, "text": c.text}


def turn_from_answer(tid: int, question: str, answer) -> dict:
    """A finished chat turn as plain JSON-able data (kept in the session state)."""
    cited = {(c.doc, c.text) for c in answer.citations}  # a citation carries its whole chunk's text
    return {"id": tid, "question": question, "kind": "abstain" if answer.abstained else "answer",
            "text": answer.text, "citations": [c.to_dict() for c in answer.citations],
            "uncited": [_hit_dict(h) for h in answer.retrieved[:UNCITED_SHOWN] if (h.doc, h.chunk.text) not in cited],
            "timings": dict(answer.timings)}


def chat_messages(turns: list[dict]) -> list[dict]:
    msgs = []
    for t in turns:
        msgs.append({"role": "user", "content": T.esc(t["question"])})
        msgs.append({"role": "assistant", "content": T.render_turn_message(t)})
    return msgs


def _is_within(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


class ReportApp:
    """The UI's behaviour, separate from the layout so each handler can be called directly."""

    def __init__(self, assistant):
        self.assistant = assistant
        self.index_lock = threading.Lock()  # index changes + reload, one at a time
        self.settings_lock = threading.Lock()

    @property
    def settings(self) -> Settings:
        return self.assistant.settings

    def _apply_top_k(self, top_k) -> None:
        try:
            k = max(1, min(TOP_K_MAX, int(top_k)))
        except (TypeError, ValueError):
            k = self.settings.top_k
        with self.settings_lock:
            if self.assistant.settings.top_k != k:
                self.assistant.settings = replace(self.assistant.settings, top_k=k)

    # -- chat -----------------------------------------------------------------------------------
    def respond(self, question: str, turns: list[dict] | None, top_k):
        """Generator for the chat: yields (textbox, chatbot, sources html, turns)."""
        turns = list(turns or [])
        question = (question or "").strip()
        if not question:
            yield gr.update(value="", placeholder=T.EMPTY_QUESTION), gr.skip(), gr.skip(), gr.skip()
            return
        tid = (turns[-1]["id"] + 1) if turns else 1
        if len(question) > MAX_QUESTION_CHARS:
            turn = {"id": tid, "question": question[:200] + "…", "kind": "notice",
                    "text": T.QUESTION_TOO_LONG.format(n=MAX_QUESTION_CHARS)}
            turns.append(turn)
            yield question, chat_messages(turns), gr.skip(), turns
            return
        base = chat_messages(turns) + [{"role": "user", "content": T.esc(question)}]

        def pending(content: str) -> list[dict]:
            return base + [{"role": "assistant", "content": content}]

        yield gr.update(value="", placeholder=T.INPUT_PLACEHOLDER), pending(T.SEARCHING), gr.skip(), gr.skip()
        try:
            self._apply_top_k(top_k)
            history = [(t["question"], t["text"]) for t in turns if t["kind"] in ("answer", "abstain")]
            parts: list[str] = []
            answer = None
            last = 0.0
            for event, payload in self.assistant.ask_stream(question, history):
                if event == "retrieved":
                    yield gr.skip(), pending(T.WRITING.format(n=len(payload))), gr.skip(), gr.skip()
                    last = time.monotonic()
                elif event == "retry":  # the streamed text was rejected: show the new attempt from scratch
                    parts = []
                    yield gr.skip(), pending(T.RECHECKING.format(n=payload)), gr.skip(), gr.skip()
                elif event == "verify":  # sampling other readings: the final answer may differ from the stream
                    shown = T.streaming_markdown("".join(parts)) + "  \n" + T.VERIFYING.format(n=payload)
                    yield gr.skip(), pending(shown), gr.skip(), gr.skip()
                elif event == "token":
                    parts.append(payload)
                    now = time.monotonic()
                    if now - last >= STREAM_INTERVAL_S:
                        last = now
                        yield gr.skip(), pending(T.streaming_markdown("".join(parts))), gr.skip(), gr.skip()
                elif event == "done":
                    answer = payload
            if answer is None:
                raise RuntimeError("ask_stream ended without a 'done' event")
            turn = turn_from_answer(tid, question, answer)
            log.info("Answered in %.1fs (abstained=%s, citations=%s, warnings=%s): %r",
                     answer.timings.get("total_s", 0), answer.abstained, [c.n for c in answer.citations],
                     answer.warnings, question[:120])
        except Exception:
            log.exception("Chat request failed for question %r", question[:200])
            turn = {"id": tid, "question": question, "kind": "error", "text": T.CHAT_ERROR}
        turns.append(turn)
        yield "", chat_messages(turns), T.render_sources(turns), turns

    @staticmethod
    def example_text(evt: gr.SelectData) -> str:
        value = evt.value
        if isinstance(value, dict):
            return value.get("text") or value.get("display_text") or ""
        if isinstance(evt.index, int) and 0 <= evt.index < len(T.EXAMPLES):
            return T.EXAMPLES[evt.index]
        return str(value or "")

    @staticmethod
    def new_chat():
        return [], [], T.render_sources([]), ""

    # -- API ------------------------------------------------------------------------------------
    def api_ask(self, question: str, top_k: int = 4) -> dict:
        """Answer one question; returns the Answer as JSON (retrieved passages without their text)."""
        question = (question or "").strip()
        if not question:
            raise gr.Error(T.EMPTY_QUESTION)
        if len(question) > MAX_QUESTION_CHARS:
            raise gr.Error(T.QUESTION_TOO_LONG.format(n=MAX_QUESTION_CHARS))
        try:
            self._apply_top_k(top_k)
            answer = self.assistant.ask(question)
        except Exception:
            log.exception("API request failed for question %r", question[:200])
            raise gr.Error(T.CHAT_ERROR) from None
        d = answer.to_dict()
        d["retrieved"] = [{k: v for k, v in h.items() if k not in ("text", "stages")} for h in d["retrieved"]]
        return d

    # -- documents ------------------------------------------------------------------------------
    def _docs(self) -> dict[str, dict]:
        stored = getattr(self.assistant.retriever, "stored", None)
        return dict(stored.docs) if stored is not None else {}

    def _source_label(self, meta: dict) -> str:
        src = Path(meta.get("source") or "")
        if meta.get("source") and _is_within(src, Path(self.settings.uploads_dir)):
            return T.DOCS_SOURCE_UPLOAD
        if meta.get("source") and _is_within(src, Path(self.settings.reports_dir)):
            return T.DOCS_SOURCE_REPORTS
        return str(src.parent) if meta.get("source") else ""

    def docs_view(self):
        """(table rows, dropdown update, summary) for the Documents tab."""
        docs = self._docs()
        rows = [[doc, m.get("title", ""), m.get("date", ""), int(m.get("n_chunks") or 0), self._source_label(m)]
                for doc, m in sorted(docs.items())]
        choices = [(f"{m.get('title') or doc} — {doc}" if m.get("title") else doc, doc)
                   for doc, m in sorted(docs.items())]
        summary = T.DOCS_SUMMARY.format(docs=len(docs), chunks=sum(r[3] for r in rows))
        return rows, gr.update(choices=choices, value=None), summary

    def _reindex(self, paths, remove=()):
        from rag.indexer import index_paths
        with self.index_lock:
            report = index_paths(list(paths), self.settings, remove=list(remove), progress=False)
            if report.changed:
                self.assistant.reload_index()
        return report

    def upload(self, files, progress=gr.Progress()):
        """Save each uploaded file under uploads_dir with a safe name and add it to the index."""
        if isinstance(files, (str, Path)):
            files = [files]
        files = [f for f in (files or []) if f]
        ok, errors, info = [], [], []
        if not files:
            errors.append(T.NO_FILES)
        limit_mb = self.settings.max_upload_mb
        uploads = Path(self.settings.uploads_dir)
        for i, f in enumerate(files):
            src = Path(str(f))
            name = src.name
            progress(i / len(files), desc=T.UPLOAD_WORKING.format(name=name))
            try:
                if src.suffix.lower() not in T.SUPPORTED:
                    errors.append(T.load_error_message("unsupported", name))
                    continue
                size = src.stat().st_size
                if size > limit_mb * 2**20:
                    errors.append(T.load_error_message("too_large", name, size, limit_mb))
                    continue
                if size == 0:
                    errors.append(T.load_error_message("empty", name))
                    continue
                content = src.read_bytes()
                uploads.mkdir(parents=True, exist_ok=True)
                target = uploads / T.safe_upload_name(name, content)
                if not _is_within(target, uploads):  # cannot happen with a slug, but never write outside
                    raise ValueError(f"refusing to write outside the uploads folder: {target}")
                existed = target.exists()
                if not existed:
                    partial = target.with_name(target.name + ".partial")
                    partial.write_bytes(content)
                    os.replace(partial, target)
                report = self._reindex([target])
                doc = target.name
                if report.errors:
                    for e in report.errors:
                        log.warning("Upload %r rejected: %s", name, e)
                        errors.append(T.load_error_message(e.reason, name, size, limit_mb))
                    if not existed:
                        target.unlink(missing_ok=True)
                    continue
                n = int(self._docs().get(doc, {}).get("n_chunks") or 0)
                if doc in report.added:
                    ok.append(T.UPLOAD_ADDED.format(name=name, n=n))
                elif doc in report.updated:
                    ok.append(T.UPLOAD_UPDATED.format(name=name, n=n))
                else:
                    info.append(T.UPLOAD_UNCHANGED.format(name=name))
                log.info("Upload %r saved as %s (added=%s updated=%s)", name, target, report.added, report.updated)
            except Exception:
                log.exception("Upload of %r failed", name)
                errors.append(T.INDEX_ERROR)
        progress(1.0)
        rows, dropdown, summary = self.docs_view()
        return T.status_html(ok, errors, info), rows, dropdown, summary

    def remove(self, doc: str | None):
        if not doc:
            status = T.status_html([], [T.REMOVE_NONE])
        else:
            meta = self._docs().get(doc)
            try:
                report = self._reindex([], remove=[doc])
                if report.errors:
                    status = T.status_html([], [T.load_error_message("not_found", doc)])
                else:
                    msg = T.REMOVED.format(name=(meta or {}).get("title") or doc)
                    src = Path((meta or {}).get("source") or "")
                    if meta and meta.get("source") and _is_within(src, Path(self.settings.uploads_dir)):
                        src.unlink(missing_ok=True)  # an uploaded copy: delete it so a re-index won't bring it back
                    elif meta and meta.get("source") and src.exists():
                        msg += T.REMOVED_REPORTS_NOTE
                    status = T.status_html([msg], [])
                    log.info("Removed %s from the index", doc)
            except Exception:
                log.exception("Removing %r failed", doc)
                status = T.status_html([], [T.INDEX_ERROR])
        rows, dropdown, summary = self.docs_view()
        return status, rows, dropdown, summary

    def reindex_all(self, progress=gr.Progress()):
        """Re-read the reports and uploads folders; drop reports whose file is gone."""
        progress(0.05, desc=T.REINDEX_WORKING)
        errors = []
        try:
            paths = [p for p in (self.settings.reports_dir, self.settings.uploads_dir) if Path(p).exists()]
            stale = [d for d, m in self._docs().items() if m.get("source") and not Path(m["source"]).exists()]
            report = self._reindex(paths, remove=stale)
            for e in report.errors:
                log.warning("Re-index: %s", e)
                errors.append(T.load_error_message(e.reason, Path(e.path).name))
            ok = [T.REINDEX_DONE.format(added=len(report.added), updated=len(report.updated),
                                        unchanged=len(report.unchanged), removed=len(report.removed),
                                        chunks=report.chunks)]
        except Exception:
            log.exception("Re-indexing failed")
            ok, errors = [], [T.INDEX_ERROR]
        progress(1.0)
        rows, dropdown, summary = self.docs_view()
        return T.status_html(ok, errors), rows, dropdown, summary

    def model_info(self) -> str:
        embedder = getattr(getattr(self.assistant.retriever, "embedder", None), "id", self.settings.embedder)
        llm = getattr(self.assistant._llm, "id", None) or self.settings.llm_model
        return T.MODEL_INFO.format(llm=llm, embedder=embedder, index_dir=self.settings.index_dir)


def build_app(assistant) -> gr.Blocks:
    """The whole UI around one Assistant. Launch it with ``serve(demo, settings)`` (theme, CSS, JS)."""
    app = ReportApp(assistant)
    settings = assistant.settings
    with gr.Blocks(title=T.APP_TITLE, fill_width=True, delete_cache=(3600, 24 * 3600)) as demo:
        demo.report_app = app
        turns = gr.State([])
        gr.HTML(f"<h1>{T.esc(T.APP_TITLE)}</h1><p>{T.esc(T.APP_SUBTITLE)}</p>", elem_id="app-header")
        with gr.Tabs():
            with gr.Tab(T.TAB_CHAT, id="chat", elem_id="tab-chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=380):
                        chatbot = gr.Chatbot(
                            value=[], label=T.CHAT_LABEL, show_label=False, elem_id="chat", height="58vh",
                            placeholder=T.CHAT_PLACEHOLDER, examples=[{"text": q} for q in T.EXAMPLES],
                            buttons=["copy"], feedback_options=None, layout="bubble", autoscroll=True,
                            latex_delimiters=[])
                        with gr.Row(equal_height=True):
                            question = gr.Textbox(show_label=False, placeholder=T.INPUT_PLACEHOLDER, lines=1,
                                                  max_lines=5, scale=6, autofocus=True, elem_id="question",
                                                  container=False)
                            send = gr.Button(T.SEND, variant="primary", scale=1, min_width=80, elem_id="send")
                        with gr.Row():
                            new_chat = gr.Button(T.NEW_CHAT, size="sm", variant="secondary", elem_id="new-chat")
                        with gr.Accordion(T.SETTINGS, open=False, elem_id="settings"):
                            models = gr.Markdown(app.model_info())
                            top_k = gr.Slider(1, TOP_K_MAX, value=min(settings.top_k, TOP_K_MAX), step=1,
                                              label=T.TOPK_LABEL, info=T.TOPK_INFO, elem_id="top-k")
                    with gr.Column(scale=2, min_width=320):
                        gr.Markdown(f"### {T.SOURCES_TITLE}")
                        sources = gr.HTML(T.render_sources([]), elem_id="sources-panel", js_on_load=None)
            with gr.Tab(T.TAB_DOCS, id="docs", elem_id="tab-docs") as docs_tab:
                gr.Markdown(T.DOCS_INTRO.format(mb=settings.max_upload_mb))
                summary = gr.Markdown(elem_id="docs-summary")
                status = gr.HTML(elem_id="docs-status", js_on_load=None)
                table = gr.Dataframe(headers=T.DOCS_HEADERS, datatype=["str", "str", "str", "number", "str"],
                                     interactive=False, wrap=True, max_height=360, elem_id="docs-table",
                                     column_widths=["24%", "38%", "12%", "8%", "18%"])
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        gr.Markdown(T.UPLOAD_HELP.format(mb=settings.max_upload_mb))
                        files = gr.UploadButton(T.UPLOAD_LABEL, file_count="multiple", type="filepath",
                                                variant="primary", elem_id="upload")
                    with gr.Column(scale=2):
                        doc_pick = gr.Dropdown(label=T.REMOVE_LABEL, choices=[], value=None, elem_id="remove-doc")
                        with gr.Row():
                            remove_btn = gr.Button(T.REMOVE_BUTTON, variant="stop", elem_id="remove")
                            reindex_btn = gr.Button(T.REINDEX_BUTTON, elem_id="reindex")

        chat_kw = dict(fn=app.respond, inputs=[question, turns, top_k], outputs=[question, chatbot, sources, turns],
                       concurrency_id=LLM_GROUP, concurrency_limit=1, api_visibility="private",
                       show_progress="minimal")
        question.submit(**chat_kw)
        send.click(**chat_kw)
        chatbot.example_select(app.example_text, None, question, queue=False,
                               api_visibility="private").then(**chat_kw)
        new_chat.click(app.new_chat, None, [chatbot, turns, sources, question], queue=False,
                       api_visibility="private")
        chatbot.clear(app.new_chat, None, [chatbot, turns, sources, question], queue=False,
                      api_visibility="private")

        docs_out = [table, doc_pick, summary]
        demo.load(app.docs_view, None, docs_out, api_visibility="private", queue=False)
        docs_tab.select(app.docs_view, None, docs_out, api_visibility="private", queue=False)
        index_kw = dict(outputs=[status, *docs_out], concurrency_id=INDEX_GROUP, concurrency_limit=1,
                        api_visibility="private", show_progress_on=[status])
        files.upload(app.upload, [files], **index_kw)
        remove_btn.click(app.remove, [doc_pick], **index_kw)
        reindex_btn.click(app.reindex_all, None, **index_kw)
        demo.load(app.model_info, None, models, api_visibility="private", queue=False)

        gr.api(app.api_ask, api_name="ask", concurrency_id=LLM_GROUP, concurrency_limit=1)
    demo.queue(default_concurrency_limit=1)
    return demo


def _auth(settings: Settings):
    if not settings.auth:
        return None
    user, sep, password = settings.auth.partition(":")
    if not sep or not user or not password:
        raise SystemExit("RAG_AUTH must be 'user:password'.")
    return (user, password)


def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(demo: gr.Blocks, settings: Settings, **overrides):
    """Launch with the app's theme/CSS/JS (Gradio 6 takes them in launch()); blocks until stopped."""
    auth = _auth(settings)
    if not _is_loopback(settings.host) and auth is None:
        log.warning("Serving on %s without a login: anyone on the network can use the assistant and change "
                    "the reports. Set RAG_AUTH=user:password to require one.", settings.host)
    kwargs = dict(server_name=settings.host, server_port=settings.port, auth=auth,
                  auth_message=f"Đăng nhập để dùng {T.APP_TITLE}.", theme=THEME, css=CSS, head=HEAD,
                  # Gradio's own hard cap; the Vietnamese message for sizes over max_upload_mb comes from upload()
                  max_file_size=f"{2 * settings.max_upload_mb + 5}mb",
                  footer_links=["api"], ssr_mode=False, share=False, inbrowser=False, show_error=False,
                  favicon_path=None)
    kwargs.update(overrides)
    return demo.launch(**kwargs)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "urllib3", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = Settings.from_env()
    if IndexStore(settings.index_dir).current_dir() is None:
        print(f"No index in {settings.index_dir}: run `python -m rag index` first (or use `make run`, which "
              f"builds it).", file=sys.stderr)
        return 1
    print(f"Loading the index from {settings.index_dir} and the embedder '{settings.embedder}'...", flush=True)
    try:
        from rag.assistant import Assistant  # reads the corpus vocabulary: a missing file is one line below
        assistant = Assistant(settings)
        print(f"Loading the language model '{settings.llm_model}'...", flush=True)
        _ = assistant.llm
    except IndexError_ as e:
        print(str(e), file=sys.stderr)
        return 1
    except Exception as e:  # a missing model, a broken install: one English line, no traceback
        log.debug("Startup failed", exc_info=True)
        print(f"Could not start the assistant: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    demo = build_app(assistant)
    print(f"Ready. Open http://{settings.host}:{settings.port} in a browser (Ctrl+C to stop).", flush=True)
    serve(demo, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
