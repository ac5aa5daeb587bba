"""Web UI (Gradio): chat with numbered citations, report management, and a JSON API endpoint.

Thin over ``rag``: answers come from ``Assistant.ask_stream``, index changes from ``index_paths``;
Vietnamese strings and HTML rendering live in ``rag/ui_text.py``.

Run: ``python app.py`` (``make run`` builds the index first). Binds ``RAG_HOST``:``RAG_PORT``
(127.0.0.1:7860); ``RAG_AUTH=user:pass`` turns on a login. API:
``gradio_client.Client(url).predict("Thu ngân sách năm 2021?", 4, api_name="/ask")`` -> Answer dict.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from rag.config import Settings  # first: sets the offline/no-telemetry environment before gradio loads

import gradio as gr  # noqa: E402

from rag import ui_text as T  # noqa: E402
from rag.access import AccessPolicy, AnswerLine, Busy, LoginThrottle  # noqa: E402
from rag.budget import QuestionTooLong  # noqa: E402
from rag.store import IndexError_, IndexStore  # noqa: E402

log = logging.getLogger("app")

STREAM_INTERVAL_S = 0.25  # at most ~4 UI updates a second while tokens stream: the LLM needs the CPU
MAX_QUESTION_CHARS = 2000
TOP_K_MAX = 10
UNCITED_SHOWN = 5  # retrieved passages listed (collapsed) under the cited ones
INDEX_GROUP = "index"
QUEUE_HARD_LIMIT = 64  # Gradio's own queue bound, far above the answer line's: a last guard, never reached in use

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
.draft { opacity: .75; }
.draft-label { font-size: .8em; font-style: italic; color: var(--body-text-color-subdued); margin-bottom: .2em; }
.quote-label { font-size: .85em; font-weight: 600; margin-top: .5em; color: var(--body-text-color-subdued); }
blockquote.quote { margin: .3em 0 .4em; padding: .2em 0 .2em .7em; border-left: 3px solid var(--color-accent); }
.quote-meta { font-size: .8em; color: var(--body-text-color-subdued); }
.understood { font-size: .85em; color: var(--body-text-color-subdued); margin-top: .4em; }
.cites { white-space: nowrap; }
a.cite + a.cite { margin-left: 1px; }
details.inline-sources { display: none; margin-top: .5em; }
details.inline-sources > summary { cursor: pointer; color: var(--color-accent); }
.src-issuer { font-weight: 600; }
#docs-table table.docs { width: 100%; border-collapse: collapse; font-size: .92em; border: none; }
#docs-table table.docs th, #docs-table table.docs td { text-align: left; padding: .4em .5em; border: none;
  border-bottom: 1px solid var(--border-color-primary);
  vertical-align: top; overflow-wrap: break-word; word-break: normal; }
#docs-table table.docs th { white-space: nowrap; background: var(--background-fill-secondary); }
#docs-table { max-height: 420px; overflow: auto; }
@media (max-width: 768px) {
  details.inline-sources { display: block; }
  #sources-column { display: none; }
  #chat { height: 65vh !important; }
  #docs-table table.docs thead { display: none; }
  #docs-table table.docs, #docs-table table.docs tbody, #docs-table table.docs tr, #docs-table table.docs td {
    display: block; width: 100%; }
  #docs-table table.docs tr { border: 1px solid var(--border-color-primary); border-radius: 8px; margin: .5em 0;
    padding: .3em .5em; }
  #docs-table table.docs td { border: none; padding: .15em 0; }
  #docs-table table.docs td::before { content: attr(data-label) ": "; font-weight: 600; color: var(--body-text-color-subdued); }
  #docs-table { max-height: none; }
}
"""

# The page is Vietnamese: lang="vi", and the screen-reader labels Gradio writes in English are replaced.
# Citation links open the passage in the sources panel, or on a phone (panel hidden) the copy under the answer.
HEAD = """<script>
(function () {
  var LABELS = {'chatbot conversation': 'Hội thoại', 'Textbox': 'Câu hỏi', 'More tabs': 'Thêm thẻ',
                'Copy message': 'Sao chép câu trả lời', 'Copy': 'Sao chép', 'Clear': 'Xoá hội thoại',
                'Scroll down': 'Cuộn xuống', 'Close': 'Đóng', 'Loading...': 'Đang tải…', 'Loading': 'Đang tải',
                'Error': 'Lỗi'};
  var PATTERNS = [[/^Select example (\\d+): /, 'Chọn câu hỏi mẫu $1: ']];
  function vi() {
    if (document.documentElement.lang !== 'vi') document.documentElement.lang = 'vi';
    document.querySelectorAll('[aria-label],[title]').forEach(function (el) {
      ['aria-label', 'title'].forEach(function (k) {
        var v = el.getAttribute(k);
        if (!v) return;
        var w = LABELS[v] || PATTERNS.reduce(function (t, p) { return t.replace(p[0], p[1]); }, v);
        if (w !== v) el.setAttribute(k, w);
      });
    });
    document.querySelectorAll('.sr-only').forEach(function (el) {  // text read only by screen readers
      el.childNodes.forEach(function (n) {
        if (n.nodeType === 3 && LABELS[n.data.trim()]) n.data = LABELS[n.data.trim()];
      });
    });
  }
  new MutationObserver(vi).observe(document.documentElement, {subtree: true, childList: true,
    characterData: true, attributes: true, attributeFilter: ['aria-label', 'title', 'lang']});
  document.addEventListener('DOMContentLoaded', vi); vi();
})();
document.addEventListener('click', function (ev) {
  var a = ev.target && ev.target.closest ? ev.target.closest('a[href^="#nguon-"]') : null;
  if (!a) return;
  var id = a.getAttribute('href').slice(1);
  var inline = document.getElementById('m-' + id);
  var el = (inline && inline.closest('details.inline-sources') &&
            getComputedStyle(inline.closest('details.inline-sources')).display !== 'none')
           ? inline : document.getElementById(id);
  if (!el) return;
  ev.preventDefault(); ev.stopPropagation();
  for (var p = el.parentElement; p; p = p.parentElement) { if (p.tagName === 'DETAILS') p.open = true; }
  el.scrollIntoView({behavior: 'auto', block: 'center'});
  // once more after the next frames if the opened details moved it out of view (seen under load at 390 px)
  requestAnimationFrame(function () { requestAnimationFrame(function () {
    var r = el.getBoundingClientRect();
    if (r.bottom < 0 || r.top > window.innerHeight) el.scrollIntoView({behavior: 'auto', block: 'center'});
  }); });
  el.classList.remove('flash'); void el.offsetWidth; el.classList.add('flash');
}, true);
</script>"""


def _hit_dict(h, levels: dict) -> dict:
    c = h.chunk
    return {"doc": c.doc, "title": c.title, "date": c.date, "section": c.section, "page": c.page, "text": c.text,
            "level": levels.get(c.doc, "")}


def turn_from_answer(tid: int, question: str, answer, levels: dict | None = None) -> dict:
    """A finished chat turn as plain JSON-able data (kept in the session state); ``levels``: doc -> the level of
    the body that issued it (tỉnh / thành phố…), shown with each source so look-alike reports can be told apart."""
    levels = levels or {}
    cited = {(c.doc, c.text) for c in answer.citations}  # a citation carries its whole chunk's text
    return {"id": tid, "question": question, "kind": "abstain" if answer.abstained else "answer",
            "text": answer.text, "line": answer.line, "quotes": list(answer.quotes),
            "understood": answer.standalone_query,
            "citations": [{**c.to_dict(), "level": levels.get(c.doc, "")} for c in answer.citations],
            "uncited": [_hit_dict(h, levels) for h in answer.retrieved[:UNCITED_SHOWN]
                        if (h.doc, h.chunk.text) not in cited],
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


@dataclass
class ChatView:
    """One update of the chat's outputs; a field left None keeps what the screen shows (``gr.skip()``)."""
    box: object = None
    chat: object = None
    sources: object = None
    turns: object = None
    send: object = None
    stop: object = None
    asking: object = None

    def out(self) -> tuple:
        return tuple(gr.skip() if v is None else v for v in
                     (self.box, self.chat, self.sources, self.turns, self.send, self.stop, self.asking))


def _busy_controls(busy: bool) -> dict:
    """While an answer runs the box is locked (a question typed then would be lost) and «Dừng» replaces «Gửi»."""
    return dict(box=gr.update(interactive=not busy, placeholder=T.INPUT_BUSY if busy else T.INPUT_PLACEHOLDER,
                              **({"value": ""} if busy else {})),
                send=gr.update(visible=not busy), stop=gr.update(visible=busy))


def _issuer(doc: str, levels: dict) -> str:
    """The level of the body that issued ``doc`` as the documents list shows it ("Tỉnh"; "Không rõ" if unread)."""
    return T.level_label(levels.get(doc, "")) or T.LEVEL_UNKNOWN


def _put_back(target: Path, backup: Path | None) -> None:
    """Undo a saved upload the index did not take: the previous version's file returns, or the new file goes."""
    if backup is not None:
        os.replace(backup, target)
    else:
        target.unlink(missing_ok=True)


class ReportApp:
    """The UI's behaviour, separate from the layout so each handler can be called directly."""

    def __init__(self, assistant, policy: AccessPolicy = AccessPolicy()):
        self.assistant = assistant
        self.index_lock = threading.Lock()  # index changes + reload, one at a time
        self.settings_lock = threading.Lock()
        self.line = AnswerLine(policy.max_waiting)  # chat and API share the single LLM, one question at a time
        self._stops: dict[str, threading.Event] = {}  # per browser session: «Dừng» was pressed

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

    def _levels(self) -> dict:
        return dict(getattr(self.assistant.retriever, "doc_level", None) or {})

    def question_problem(self, question: str) -> str:
        """Why a question cannot be asked as typed (Vietnamese, for the user), '' when it can: too long for the
        model's context, counted in the model's own tokens (an emoji or a rare word costs several)."""
        if len(question) > MAX_QUESTION_CHARS:
            return T.QUESTION_TOO_LONG.format(n=MAX_QUESTION_CHARS)
        try:
            self.assistant.check_question(question)
        except QuestionTooLong as e:
            return T.QUESTION_TOO_LONG_TOKENS.format(tokens=e.tokens, limit=e.limit)
        return ""

    # -- chat -----------------------------------------------------------------------------------
    def _stop_event(self, request, fresh: bool) -> threading.Event:
        key = getattr(request, "session_hash", None) or ""
        if fresh or key not in self._stops:
            self._stops[key] = threading.Event()
        return self._stops[key]

    def respond(self, question: str, turns: list[dict] | None, top_k, request: gr.Request = None):
        """Generator for the chat: yields ChatView(...).out() = (textbox, chatbot, sources, turns, send, stop,
        asking). While the model writes, its text is shown as a draft; only the checked answer is final.

        «Dừng» sets this session's stop event, checked at every step: the model stops at its next token and the
        question leaves the line (Gradio's own cancel cannot close a generator that is busy in a thread)."""
        turns = list(turns or [])
        question = (question or "").strip()
        if not question:
            yield ChatView(box=gr.update(value="", placeholder=T.EMPTY_QUESTION)).out()
            return
        tid = (turns[-1]["id"] + 1) if turns else 1
        if problem := self.question_problem(question):
            turns.append({"id": tid, "question": question[:200] + ("…" if len(question) > 200 else ""),
                          "kind": "notice", "text": problem})
            yield ChatView(box=question, chat=chat_messages(turns), turns=turns).out()
            return
        base = chat_messages(turns) + [{"role": "user", "content": T.esc(question)}]

        def pending(content: str) -> list[dict]:
            return base + [{"role": "assistant", "content": content}]

        try:
            ticket = self.line.join()
        except Busy as e:
            turns.append({"id": tid, "question": question, "kind": "notice", "text": T.BUSY.format(n=e.ahead)})
            yield ChatView(box=question, chat=chat_messages(turns), turns=turns).out()
            return
        stopped = self._stop_event(request, fresh=True)
        with ticket:
            yield ChatView(chat=pending(T.SEARCHING), asking=question, **_busy_controls(True)).out()
            while not ticket.wait(timeout=1.0) and not stopped.is_set():  # say where this question stands
                yield ChatView(chat=pending(T.WAITING.format(n=ticket.position))).out()
            stream = None
            try:
                self._apply_top_k(top_k)
                history = [(t["question"], t["text"]) for t in turns if t["kind"] in ("answer", "abstain")]
                parts: list[str] = []
                answer = None
                last = 0.0
                stream = self.assistant.ask_stream(question, history)
                for event, payload in stream:
                    if stopped.is_set():
                        break
                    if event == "retrieved":
                        yield ChatView(chat=pending(T.WRITING.format(n=len(payload)))).out()
                        last = time.monotonic()
                    elif event == "retry":  # the draft was rejected: say so, then show the new draft from scratch
                        parts = []
                        yield ChatView(chat=pending(T.RECHECKING)).out()
                    elif event == "evidence" and payload:  # the best sentence, on screen before any generation
                        preview = T.evidence_preview(payload[0].text)
                        yield ChatView(chat=pending(T.WRITING.format(n=len(payload)) + preview)).out()
                    elif event == "token":
                        parts.append(payload)
                        now = time.monotonic()
                        if now - last >= STREAM_INTERVAL_S:
                            last = now
                            yield ChatView(chat=pending(T.streaming_markdown("".join(parts)))).out()
                    elif event == "done":
                        answer = payload
                if stopped.is_set():
                    turn = {"id": tid, "question": question, "kind": "notice", "text": T.STOPPED}
                    log.info("Stopped by the user: %r", question[:120])
                elif answer is None:
                    raise RuntimeError("ask_stream ended without a 'done' event")
                else:
                    turn = turn_from_answer(tid, question, answer, self._levels())
                    log.info("Answered in %.1fs (abstained=%s, citations=%s, warnings=%s): %r",
                             answer.timings.get("total_s", 0), answer.abstained, [c.n for c in answer.citations],
                             answer.warnings, question[:120])
            except Exception:
                log.exception("Chat request failed for question %r", question[:200])
                turn = {"id": tid, "question": question, "kind": "error", "text": T.CHAT_ERROR}
            finally:
                if stream is not None:
                    stream.close()  # a stopped generation ends here, not after its last token
                key = getattr(request, "session_hash", None) or ""
                if self._stops.get(key) is stopped:
                    del self._stops[key]  # one event per running question, not one per session ever seen
        turns.append(turn)
        yield ChatView(chat=chat_messages(turns), sources=T.render_sources(turns), turns=turns, asking="",
                       **_busy_controls(False)).out()

    def stop(self, turns: list[dict] | None, asking: str | None, request: gr.Request = None):
        """«Dừng»: the running answer stops at the model's next token (see respond); the question stays in the
        chat with a note, and the box is free again at once."""
        self._stop_event(request, fresh=False).set()
        turns = list(turns or [])
        if asking:
            tid = (turns[-1]["id"] + 1) if turns else 1
            turns.append({"id": tid, "question": asking, "kind": "notice", "text": T.STOPPED})
        return ChatView(chat=chat_messages(turns), turns=turns, asking="", **_busy_controls(False)).out()

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
        if problem := self.question_problem(question):
            raise gr.Error(problem)
        try:
            ticket = self.line.join()
        except Busy as e:
            raise gr.Error(T.BUSY.format(n=e.ahead)) from None
        with ticket:
            ticket.wait()
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

    def _doc_label(self, doc: str, meta: dict, levels: dict) -> str:
        """How a report is named in lists: issuer level, date and title, so province and city reports with
        near-identical titles can be told apart."""
        bits = [_issuer(doc, levels), meta.get("date") or "", meta.get("title") or doc]
        return " · ".join(b for b in bits if b) + f" — {doc}"

    def docs_view(self):
        """(table html, dropdown update, summary) for the Documents tab."""
        docs, levels = self._docs(), self._levels()
        rows = [[_issuer(doc, levels), m.get("title", ""), m.get("date", ""), int(m.get("n_chunks") or 0), doc,
                 self._source_label(m)] for doc, m in sorted(docs.items())]
        choices = [(self._doc_label(doc, m, levels), doc) for doc, m in sorted(docs.items())]
        summary = T.DOCS_SUMMARY.format(docs=len(docs), chunks=sum(r[3] for r in rows))
        return T.docs_table_html(rows), gr.update(choices=choices, value=None), summary

    def _reindex(self, paths, remove=()):
        from rag.indexer import index_paths
        with self.index_lock:
            report = index_paths(list(paths), self.settings, remove=list(remove), progress=False,
                                 on_wait=self._index_waiting)
            if report.changed:
                self.assistant.reload_index()
        return report

    @staticmethod
    def _index_waiting(message: str) -> None:
        """Another process (``python -m rag index``) holds the index: say so instead of hanging silently."""
        log.warning(message)
        gr.Info(T.INDEX_WAITING)

    def upload(self, files, progress=gr.Progress()):
        """Save each uploaded file under uploads_dir with a safe name and add it to the index.

        The same file name is the same report: a new upload replaces the stored file and its index entry
        ("Đã cập nhật"); if the new version cannot be read, the old file is put back and the index is untouched."""
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
                target = uploads / T.safe_upload_name(name)
                if not _is_within(target, uploads):  # cannot happen with a slug, but never write outside
                    raise ValueError(f"refusing to write outside the uploads folder: {target}")
                docs = self._docs()
                earlier = [d for d in T.earlier_upload_names(target.name, docs)
                           if _is_within(Path(docs[d].get("source") or "/"), uploads)]
                backup = target.with_name(target.name + ".previous")
                existed = target.exists()
                if existed:
                    os.replace(target, backup)
                partial = target.with_name(target.name + ".partial")
                partial.write_bytes(content)
                os.replace(partial, target)
                try:
                    report = self._reindex([target])
                except Exception:
                    _put_back(target, backup if existed else None)
                    raise
                doc = target.name
                if report.errors:
                    for e in report.errors:
                        log.warning("Upload %r rejected: %s", name, e)
                        errors.append(T.load_error_message(e.reason, name, size, limit_mb))
                    _put_back(target, backup if existed else None)  # the index still holds the old version
                    continue
                backup.unlink(missing_ok=True)
                if earlier:  # versions stored under the old hashed names: the new one replaces them too
                    self._reindex([], remove=earlier)
                    for d in earlier:
                        uploads.joinpath(d).unlink(missing_ok=True)
                n = int(self._docs().get(doc, {}).get("n_chunks") or 0)
                if doc in report.added and not earlier:
                    ok.append(T.UPLOAD_ADDED.format(name=name, n=n))
                elif doc in report.added or doc in report.updated:
                    ok.append(T.UPLOAD_UPDATED.format(name=name, n=n))
                else:
                    info.append(T.UPLOAD_UNCHANGED.format(name=name))
                log.info("Upload %r saved as %s (added=%s updated=%s replaced=%s)", name, target, report.added,
                         report.updated, earlier)
            except Exception:
                log.exception("Upload of %r failed", name)
                errors.append(T.INDEX_ERROR)
        progress(1.0)
        table, dropdown, summary = self.docs_view()
        return T.status_html(ok, errors, info), table, dropdown, summary

    def ask_remove(self, doc: str | None):
        """«Xoá báo cáo» only asks: (status, confirm row update). Nothing is removed until «Xác nhận xoá»."""
        if not doc:
            return T.status_html([], [T.REMOVE_NONE]), gr.update(visible=False)
        meta = self._docs().get(doc) or {}
        name = self._doc_label(doc, meta, self._levels()) if meta else doc
        return T.status_html([], [], [T.REMOVE_CONFIRM.format(name=name)]), gr.update(visible=True)

    @staticmethod
    def cancel_remove():
        return T.status_html([], [], [T.REMOVE_CANCELLED]), gr.update(visible=False)

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
        table, dropdown, summary = self.docs_view()
        return status, table, dropdown, summary, gr.update(visible=False)

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
        table, dropdown, summary = self.docs_view()
        return T.status_html(ok, errors), table, dropdown, summary

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
        asking = gr.State("")  # the question being answered, for «Dừng»
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
                            question = gr.Textbox(label=T.INPUT_LABEL, show_label=False,
                                                  placeholder=T.INPUT_PLACEHOLDER, lines=1, max_lines=5, scale=6,
                                                  autofocus=True, elem_id="question", container=False)
                            send = gr.Button(T.SEND, variant="primary", scale=1, min_width=80, elem_id="send")
                            stop = gr.Button(T.STOP, variant="stop", scale=1, min_width=80, elem_id="stop",
                                             visible=False)
                        with gr.Row():
                            new_chat = gr.Button(T.NEW_CHAT, size="sm", variant="secondary", elem_id="new-chat")
                        with gr.Accordion(T.SETTINGS, open=False, elem_id="settings"):
                            models = gr.Markdown(app.model_info())
                            top_k = gr.Slider(1, TOP_K_MAX, value=min(settings.top_k, TOP_K_MAX), step=1,
                                              label=T.TOPK_LABEL, info=T.TOPK_INFO, elem_id="top-k")
                    with gr.Column(scale=2, min_width=320, elem_id="sources-column"):
                        gr.Markdown(f"### {T.SOURCES_TITLE}")
                        sources = gr.HTML(T.render_sources([]), elem_id="sources-panel", js_on_load=None)
            with gr.Tab(T.TAB_DOCS, id="docs", elem_id="tab-docs") as docs_tab:
                gr.Markdown(T.DOCS_INTRO.format(mb=settings.max_upload_mb))
                summary = gr.Markdown(elem_id="docs-summary")
                status = gr.HTML(elem_id="docs-status", js_on_load=None)
                table = gr.HTML(elem_id="docs-table", js_on_load=None)
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
                        with gr.Row(visible=False, elem_id="remove-confirm") as confirm_row:
                            confirm_btn = gr.Button(T.REMOVE_CONFIRM_BUTTON, variant="stop", elem_id="remove-yes")
                            cancel_btn = gr.Button(T.REMOVE_CANCEL, elem_id="remove-no")

        # The chat is not queued by Gradio (it would wait silently and without bound): app.line orders the
        # questions, tells each its place and turns away the one too many.
        chat_outputs = [question, chatbot, sources, turns, send, stop, asking]
        chat_kw = dict(fn=app.respond, inputs=[question, turns, top_k], outputs=chat_outputs,
                       concurrency_limit=None, api_visibility="private", show_progress="hidden",
                       trigger_mode="multiple")  # the box is locked while an answer runs; after «Dừng» it is free
        asks = [question.submit(**chat_kw), send.click(**chat_kw),
                chatbot.example_select(app.example_text, None, question, queue=False,
                                       api_visibility="private").then(**chat_kw)]
        stop.click(app.stop, [turns, asking], chat_outputs, cancels=asks, queue=False,
                   api_visibility="private")
        new_chat.click(app.new_chat, None, [chatbot, turns, sources, question], queue=False,
                       api_visibility="private")
        chatbot.clear(app.new_chat, None, [chatbot, turns, sources, question], queue=False,
                      api_visibility="private")

        docs_out = [table, doc_pick, summary]
        demo.load(app.docs_view, None, docs_out, api_visibility="private", queue=False)
        docs_tab.select(app.docs_view, None, docs_out, api_visibility="private", queue=False)
        index_kw = dict(concurrency_id=INDEX_GROUP, concurrency_limit=1, api_visibility="private",
                        show_progress_on=[status])
        files.upload(app.upload, [files], [status, *docs_out], **index_kw)
        remove_btn.click(app.ask_remove, [doc_pick], [status, confirm_row], queue=False, api_visibility="private")
        cancel_btn.click(app.cancel_remove, None, [status, confirm_row], queue=False, api_visibility="private")
        confirm_btn.click(app.remove, [doc_pick], [status, *docs_out, confirm_row], **index_kw)
        reindex_btn.click(app.reindex_all, None, [status, *docs_out], **index_kw)
        demo.load(app.model_info, None, models, api_visibility="private", queue=False)

        gr.api(app.api_ask, api_name="ask", concurrency_limit=None)
    demo.queue(default_concurrency_limit=1, max_size=QUEUE_HARD_LIMIT)
    return demo


def _auth(settings: Settings) -> tuple[str, str] | None:
    """``RAG_AUTH=user:password`` as a pair (None when unset); checked before any model loads."""
    if not settings.auth:
        return None
    user, sep, password = settings.auth.partition(":")
    if not sep or not user or not password:
        raise SystemExit("RAG_AUTH must be 'user:password' (both non-empty), e.g. RAG_AUTH=admin:a-long-secret.")
    return (user, password)


def login_check(expected: tuple[str, str], throttle: LoginThrottle):
    """Gradio's login callback: a failed login is answered after a pause, and a name with too many recent
    failures is refused outright (rag/access.py)."""
    async def check(user: str, password: str) -> bool:
        if throttle.check(user, password, expected):
            return True
        log.warning("Failed login for user %r (%s)", user[:40], "locked" if throttle.locked(user) else "wrong")
        await asyncio.sleep(throttle.policy.failure_delay_s)
        return False
    return check


def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(demo: gr.Blocks, settings: Settings, **overrides):
    """Launch with the app's theme/CSS/JS (Gradio 6 takes them in launch()); blocks until stopped."""
    expected = _auth(settings)
    auth = login_check(expected, LoginThrottle()) if expected else None
    if not _is_loopback(settings.host) and auth is None:
        log.warning("Serving on %s without a login: anyone on the network can use the assistant and change "
                    "the reports. Set RAG_AUTH=user:password to require one.", settings.host)
    kwargs = dict(server_name=settings.host, server_port=settings.port, auth=auth,
                  auth_message=f"Đăng nhập để dùng {T.APP_TITLE}.", theme=THEME, css=CSS, head=HEAD,
                  # Gradio's own hard cap; the Vietnamese message for sizes over max_upload_mb comes from upload()
                  max_file_size=f"{2 * settings.max_upload_mb + 5}mb",
                  footer_links=[], ssr_mode=False, share=False, inbrowser=False, show_error=False,
                  favicon_path=None)
    kwargs.update(overrides)
    return demo.launch(**kwargs)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "urllib3", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = Settings.from_env()
    try:
        _auth(settings)  # a malformed RAG_AUTH stops here, before minutes of model loading
    except SystemExit as e:
        print(str(e), file=sys.stderr)
        return 2
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
        _ = assistant.restorer  # built now (~3 s), not on the first accentless question, so evidence shows at once
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
