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

    def __init__(self, settings, abstain=False, fail=False, retry=False, verify=False):
        from rag.types import Chunk, Hit
        self.settings = settings
        self.calls = []
        self.abstain, self.fail, self.retry, self.verify = abstain, fail, retry, verify
        chunk = Chunk(doc="r.txt", text="Mở đầu.\nThu ngân sách đạt 1.234 tỷ đồng. Kết thúc.", title="Báo cáo X",
                      date="12/2021", heading_path=["I. KINH TẾ"])
        self.hits = [Hit(chunk, 1.0), Hit(Chunk(doc="s.txt", text="Đoạn khác <b>", title="Y"), 0.5)]
        self.retriever = type("R", (), {"stored": None, "embedder": type("E", (), {"id": "stub-embedder"})()})()
        self._llm = None

    def ask_stream(self, question, history=None):
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
        for tok in ["Thu ", "ngân sách ", "đạt ", "1.234 tỷ ", "đồng <x> [1]."]:
            yield "token", tok
        if self.verify:  # the figure looked off-topic: second readings are drawn before the final answer
            yield "verify", 4
        text = self.hits[0].chunk.text
        a = text.index("Thu")
        cit = Citation(1, "r.txt", "Báo cáo X", "I. KINH TẾ", text, "12/2021", None, (a, text.index("Kết")))
        yield "done", Answer(question, "Thu ngân sách đạt 1.234 tỷ đồng <x> [1].", False, [cit], self.hits,
                             {"retrieval_s": 0.12, "ttft_s": 0.5, "total_s": 1.5})

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


def test_respond_streams_then_renders_citations_and_history(app_module, tmp_path):
    from rag.config import Settings
    stub = StubAssistant(Settings(index_dir=str(tmp_path)))
    ui = app_module.ReportApp(stub)
    steps = _run(ui.respond("Thu ngân sách?", [], 3))
    box, chat, sources, turns = steps[-1]
    assert box == "" and len(turns) == 1 and turns[0]["kind"] == "answer"
    assert stub.calls[0]["top_k"] == 3 and stub.calls[0]["history"] == []
    final = chat[-1]["content"]
    assert 'href="#nguon-1-1"' in final and "&lt;x&gt;" in final and "<x>" not in final
    assert "Thời gian: truy xuất 0,12 s" in final
    assert 'id="nguon-1-1"' in sources and "<mark>Thu ngân sách đạt 1.234 tỷ đồng. </mark>" in sources
    assert "Đoạn khác &lt;b&gt;" in sources and "<details" in sources  # uncited passage, collapsed
    # the follow-up carries the first turn as history; the earlier sources stay reachable
    steps = _run(ui.respond("Còn năm 2022?", turns, 5))
    turns = steps[-1][3]
    assert stub.calls[1]["history"] == [("Thu ngân sách?", "Thu ngân sách đạt 1.234 tỷ đồng <x> [1].")]
    assert stub.calls[1]["top_k"] == 5
    assert 'id="nguon-2-1"' in steps[-1][2] and 'id="nguon-1-1"' in steps[-1][2]
    # streaming updates are throttled: far fewer UI updates than tokens
    assert len(steps) <= 4


def test_retry_clears_the_rejected_stream(app_module, tmp_path, monkeypatch):
    from rag.config import Settings
    monkeypatch.setattr(app_module, "STREAM_INTERVAL_S", 0.0)  # show every streamed token
    ui = app_module.ReportApp(StubAssistant(Settings(index_dir=str(tmp_path)), retry=True))
    contents = [step[1][-1]["content"] for step in _run(ui.respond("Thu ngân sách?", [], 3))]
    assert any("Báo cáo X — I. KINH TẾ [2]" in c for c in contents)  # the rejected stream was shown...
    checking = next(i for i, c in enumerate(contents) if "đang hỏi lại chỉ với đoạn [1]" in c)
    assert all("Báo cáo X — I. KINH TẾ [2]" not in c for c in contents[checking:])  # ...then cleared
    assert "1.234 tỷ đồng" in contents[-1]


def test_second_readings_are_announced_under_the_streamed_text(app_module, tmp_path, monkeypatch):
    from rag.config import Settings
    monkeypatch.setattr(app_module, "STREAM_INTERVAL_S", 0.0)
    ui = app_module.ReportApp(StubAssistant(Settings(index_dir=str(tmp_path)), verify=True))
    contents = [step[1][-1]["content"] for step in _run(ui.respond("Thu ngân sách?", [], 3))]
    verifying = next(c for c in contents if "đang đối chiếu thêm 4 lần" in c)
    assert "1.234 tỷ" in verifying  # the streamed answer stays visible meanwhile
    assert "đối chiếu" not in contents[-1] and "1.234 tỷ đồng" in contents[-1]


def test_respond_abstention_and_errors_are_vietnamese(app_module, tmp_path, caplog):
    from rag.config import Settings
    ui = app_module.ReportApp(StubAssistant(Settings(index_dir=str(tmp_path)), abstain=True))
    chat = _run(ui.respond("Dân số sao Hỏa?", [], 4))[-1][1]
    assert 'class="abstain"' in chat[-1]["content"]
    assert "Không tìm thấy thông tin này trong các báo cáo hiện có." in chat[-1]["content"]
    ui = app_module.ReportApp(StubAssistant(Settings(index_dir=str(tmp_path)), fail=True))
    chat = _run(ui.respond("Câu hỏi?", [], 4))[-1][1]
    msg = chat[-1]["content"]
    assert "Đã xảy ra lỗi" in msg and "boom" not in msg and "Traceback" not in msg
    assert "Chat request failed" in caplog.text  # logged in English with the traceback


def test_api_ask_drops_bulky_retrieved_text(app_module, tmp_path):
    from rag.config import Settings
    ui = app_module.ReportApp(StubAssistant(Settings(index_dir=str(tmp_path))))
    d = ui.api_ask("Thu ngân sách?", 2)
    json.dumps(d)
    assert d["citations"][0]["n"] == 1 and d["citations"][0]["span"]
    assert d["retrieved"] and all("text" not in h for h in d["retrieved"])


def test_upload_names_are_safe(tmp_path):
    from rag import ui_text as T
    name = T.safe_upload_name("../../etc/Báo cáo Quý 1 (bản cuối).DOCX", b"x")
    assert re.fullmatch(r"bao-cao-quy-1-ban-cuoi-[0-9a-f]{8}\.docx", name), name
    assert T.safe_upload_name("..\\..\\x.pdf", b"x").startswith("x-")
    assert "/" not in T.safe_upload_name("/", b"") and T.safe_upload_name("...", b"").startswith("tai-lieu")
    assert T.load_error_message("unsupported", "a.xlsx") == \
        "Tệp «a.xlsx» có định dạng không được hỗ trợ (chỉ nhận .pdf, .docx, .txt, .md)."


def test_citation_without_marker_is_still_linked():
    from rag import ui_text as T
    turn = {"id": 2, "kind": "answer", "text": "Bạch Đằng.", "citations": [{"n": 1, "doc": "a.txt"}], "timings": {}}
    assert 'href="#nguon-2-1"' in T.render_turn_message(turn)


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
    pg.wait_for_selector(f"#sources-panel #turn-{turn}, #chat .msg-error, #chat .msg-notice", timeout=ANSWER_S * 1000)
    errors = pg.locator("#chat .msg-error, #chat .msg-notice")
    assert errors.count() == 0, f"the chat showed an error: {errors.first.inner_text()} (see the server log)"
    pg.wait_for_function("() => !document.querySelector('#chat').innerText.includes('▌')", timeout=30_000)


def test_chat_answer_with_clickable_citation(page, server):
    from playwright.sync_api import expect
    item = dev_item(DEV_QUESTION_ID)
    page.get_by_text("Thu ngân sách trên địa bàn tỉnh năm 2021 ước đạt bao nhiêu?").first.wait_for()  # examples
    _ask(page, item["question"], turn=1)
    bot = page.locator("#chat [data-testid='bot']").last
    expect(bot.locator(".timing")).to_contain_text("Thời gian: truy xuất")
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
    assert len(saved) == 1 and re.fullmatch(r"bao-cao-thu-nghiem-[0-9a-f]{8}\.docx", saved[0].name), saved
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
