"""Vietnamese UI strings and the pure HTML/Markdown rendering used by ``app.py`` (no Gradio import).

Everything the web UI shows is built here, so it can be unit-tested without a browser.

Example: ``load_error_message("unsupported", "a.xlsx")`` ->
``"Tệp «a.xlsx» có định dạng không được hỗ trợ (chỉ nhận .pdf, .docx, .txt, .md)."``
"""
from __future__ import annotations

import html
import re
import unicodedata

from .quote import QUOTE_LABEL

APP_TITLE = "Trợ lý Báo cáo"
APP_SUBTITLE = ("Hỏi đáp về các báo cáo của cơ quan nhà nước. Mỗi câu trả lời kèm nguồn trích dẫn [1], [2]… "
                "— bấm vào số để xem đoạn văn gốc.")

TAB_CHAT = "Hỏi đáp"
TAB_DOCS = "Tài liệu"
SETTINGS = "Cài đặt"

INPUT_LABEL = "Câu hỏi"
INPUT_PLACEHOLDER = "Nhập câu hỏi về các báo cáo rồi nhấn Enter…"
SEND = "Gửi"
NEW_CHAT = "Cuộc trò chuyện mới"
CHAT_LABEL = "Hội thoại"
CHAT_PLACEHOLDER = ("<div class='chat-empty'><b>Xin chào!</b><br>Hãy đặt câu hỏi về các báo cáo, "
                    "hoặc chọn một câu hỏi mẫu bên dưới.</div>")
EXAMPLES = [
    "Thu ngân sách trên địa bàn tỉnh năm 2021 ước đạt bao nhiêu?",
    "ty le ho ngheo nam 2021",
    "6 tháng đầu năm 2023, GRDP tăng bao nhiêu?",
]
STOP = "Dừng"
INPUT_BUSY = "Đang trả lời… bấm «Dừng» nếu muốn hỏi câu khác."
STOPPED = "Đã dừng theo yêu cầu. Bạn có thể đặt câu hỏi mới."
TOPK_LABEL = "Số đoạn văn trợ lý đọc cho mỗi câu hỏi"
TOPK_INFO = "Đọc nhiều đoạn hơn thì đủ thông tin hơn nhưng trả lời chậm hơn."

SOURCES_TITLE = "Nguồn trích dẫn"
SOURCES_LABEL = "Nguồn:"
SOURCES_EMPTY = "<p class='muted'>Nguồn của câu trả lời sẽ hiện ở đây.</p>"
UNCITED_SUMMARY = "Các đoạn đã truy xuất nhưng không được trích dẫn ({n})"
NO_UNCITED = "Không có đoạn nào khác."
INLINE_SOURCES = "Xem nguồn trích dẫn ({n})"
EARLIER_TURN = "Câu hỏi trước: {q}"

SEARCHING = "⏳ Đang tìm trong các báo cáo…"
WRITING = "⏳ Đã tìm thấy {n} đoạn liên quan, đang soạn câu trả lời…"
# While the model writes, its text is a draft: shown muted under this label, replaced by the checked answer.
DRAFT_LABEL = "Bản nháp — đang kiểm tra với báo cáo, có thể thay đổi"
RECHECKING = "⏳ Bản nháp chưa khớp với báo cáo; đang viết lại từ đoạn phù hợp nhất…"
EVIDENCE_PREVIEW = "Câu phù hợp nhất trong báo cáo (đang soạn câu trả lời ngắn):"
WAITING = "⏳ Trợ lý đang trả lời người khác; câu hỏi của bạn đang chờ (thứ {n} trong hàng đợi)…"
BUSY = ("Trợ lý đang bận trả lời {n} câu hỏi khác. Vui lòng thử lại sau ít phút.")
UNDERSTOOD = "Câu hỏi được hiểu là: {q}"
ABSTAIN_DEFAULT = "Không tìm thấy thông tin này trong các báo cáo hiện có."
ABSTAIN_HINT = ("Hãy thử diễn đạt lại câu hỏi, nêu rõ năm hoặc kỳ báo cáo, hoặc tải thêm báo cáo ở thẻ "
                "«Tài liệu».")
EMPTY_QUESTION = "Vui lòng nhập câu hỏi."
QUESTION_TOO_LONG = "Câu hỏi quá dài (tối đa {n} ký tự). Vui lòng rút gọn."
QUESTION_TOO_LONG_TOKENS = ("Câu hỏi quá dài để trợ lý đọc hết (khoảng {tokens} đơn vị từ, tối đa {limit}). "
                            "Vui lòng rút gọn câu hỏi, mỗi lần hỏi một ý.")
CHAT_ERROR = ("Đã xảy ra lỗi khi xử lý câu hỏi, vui lòng thử lại. Nếu lỗi lặp lại, hãy báo cho quản trị viên "
              "(chi tiết đã được ghi vào nhật ký máy chủ).")

# Documents tab
DOCS_INTRO = ("Danh sách báo cáo đang được dùng để trả lời. Có thể tải thêm báo cáo (.pdf, .docx, .txt, .md; "
              "tối đa {mb} MB mỗi tệp), xoá báo cáo hoặc làm mới chỉ mục.")
DOCS_HEADERS = ["Cơ quan ban hành", "Tiêu đề", "Ngày", "Số đoạn", "Tên tệp", "Nguồn"]
LEVEL_LABELS = {"tỉnh": "Tỉnh", "thành phố": "Thành phố", "huyện": "Huyện", "xã": "Xã"}
LEVEL_UNKNOWN = "Không rõ"
DOCS_SOURCE_UPLOAD = "Tải lên"
DOCS_SOURCE_REPORTS = "Thư mục báo cáo"
DOCS_SUMMARY = "Chỉ mục có {docs} báo cáo, {chunks} đoạn văn."
DOCS_EMPTY = "Chưa có báo cáo nào. Hãy tải báo cáo lên bên dưới."
UPLOAD_LABEL = "Chọn tệp để tải lên…"
UPLOAD_HELP = ("**Thêm báo cáo:** chọn một hoặc nhiều tệp .pdf, .docx, .txt, .md (tối đa {mb} MB mỗi tệp); "
               "tệp được đưa vào chỉ mục ngay sau khi tải lên.")
UPLOAD_WORKING = "Đang xử lý «{name}»…"
UPLOAD_ADDED = "Đã thêm «{name}» vào kho báo cáo ({n} đoạn văn)."
UPLOAD_UPDATED = "Đã cập nhật «{name}»: bản mới thay cho bản cũ cùng tên ({n} đoạn văn)."
UPLOAD_UNCHANGED = "«{name}» đã có trong kho báo cáo, không có gì thay đổi."
REMOVE_LABEL = "Chọn báo cáo cần xoá"
REMOVE_BUTTON = "Xoá báo cáo"
REMOVE_NONE = "Vui lòng chọn một báo cáo để xoá."
REMOVE_CONFIRM = "Xoá «{name}» khỏi kho báo cáo? Các câu trả lời sau đó sẽ không dùng báo cáo này nữa."
REMOVE_CONFIRM_BUTTON = "Xác nhận xoá"
REMOVE_CANCEL = "Huỷ"
REMOVE_CANCELLED = "Đã huỷ, không xoá báo cáo nào."
REMOVED = "Đã xoá «{name}» khỏi kho báo cáo."
REMOVED_REPORTS_NOTE = (" Tệp gốc vẫn nằm trong thư mục báo cáo nên sẽ được nạp lại khi bấm «Làm mới chỉ mục».")
REINDEX_BUTTON = "Làm mới chỉ mục"
REINDEX_WORKING = "Đang làm mới chỉ mục…"
REINDEX_DONE = ("Đã làm mới chỉ mục: thêm {added}, cập nhật {updated}, giữ nguyên {unchanged}, xoá {removed} "
                "báo cáo; tổng {chunks} đoạn văn.")
INDEX_ERROR = ("Không cập nhật được chỉ mục do lỗi hệ thống; vui lòng thử lại hoặc báo cho quản trị viên "
               "(chi tiết đã được ghi vào nhật ký máy chủ).")
NO_FILES = "Chưa có tệp nào được chọn."
INDEX_WAITING = "Một lượt cập nhật chỉ mục khác đang chạy; sẽ tiếp tục ngay khi lượt đó xong…"

MODEL_INFO = ("**Mô hình ngôn ngữ:** `{llm}`  \n**Mô hình tìm kiếm theo nghĩa:** `{embedder}`  \n"
              "**Thư mục chỉ mục:** `{index_dir}`")

SUPPORTED = (".pdf", ".docx", ".txt", ".md")

LOAD_ERRORS = {
    "unsupported": "Tệp «{name}» có định dạng không được hỗ trợ (chỉ nhận .pdf, .docx, .txt, .md).",
    "too_large": "Tệp «{name}» quá lớn ({size}); giới hạn là {limit} MB mỗi tệp.",
    "empty": "Tệp «{name}» không có nội dung văn bản để đọc (tệp trống, hoặc PDF chỉ có ảnh quét).",
    "encrypted": "Tệp «{name}» được đặt mật khẩu; vui lòng gỡ mật khẩu rồi tải lên lại.",
    "corrupt": "Tệp «{name}» bị hỏng hoặc không đọc được; vui lòng kiểm tra lại tệp.",
    "encoding": ("Tệp «{name}» không dùng bảng mã UTF-8 nên không đọc được tiếng Việt. Hãy mở tệp, chọn «Lưu thành» "
                 "(Save As), chọn mã hoá UTF-8 rồi tải lên lại."),
    "not_found": "Không tìm thấy tệp hoặc báo cáo «{name}».",
}


def esc(text: object) -> str:
    return html.escape(str(text if text is not None else ""), quote=True)


def vn_number(x: float, digits: int = 1) -> str:
    """Vietnamese decimal comma: 1.25 -> '1,3' (digits=1)."""
    return f"{x:.{digits}f}".replace(".", ",")


def format_size(n_bytes: int) -> str:
    return f"{vn_number(n_bytes / 2**20)} MB"


def load_error_message(reason: str, name: str, size: int | None = None, limit_mb: int | None = None) -> str:
    template = LOAD_ERRORS.get(reason, LOAD_ERRORS["corrupt"])
    return template.format(name=name, size=format_size(size or 0), limit=limit_mb or "?")


def timing_line(timings: dict) -> str:
    parts = []
    if "retrieval_s" in timings:
        parts.append(f"tìm nguồn {vn_number(timings['retrieval_s'], 2)} giây")
    if "total_s" in timings:
        parts.append(f"cả câu trả lời {vn_number(timings['total_s'])} giây")
    return "Thời gian: " + " · ".join(parts) if parts else ""


# -- file names -----------------------------------------------------------------------------------
def slugify(text: str, max_len: int = 60) -> str:
    """ASCII slug of a file stem: 'Báo cáo KT-XH 2024' -> 'bao-cao-kt-xh-2024' (never empty)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return text[:max_len].strip("-") or "tai-lieu"


def safe_upload_name(original_name: str) -> str:
    """A name safe to write under the uploads folder: the slug of the original stem and its suffix.

    The same original name always gives the same stored name, so uploading a corrected report under its old
    name replaces the old version instead of adding a second report beside it."""
    base = original_name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    suffix = suffix.lower()
    return slugify(stem) + (f".{suffix}" if suffix else "")


def earlier_upload_names(stored_name: str, names) -> list[str]:
    """Stored names of earlier versions of the same upload: before names were kept stable, each stored name
    carried an 8-hex content hash (``slug-1a2b3c4d.pdf``); those are versions of ``slug.pdf`` too."""
    stem, dot, suffix = stored_name.rpartition(".")
    if not dot:
        stem, suffix = stored_name, ""
    pattern = re.compile(re.escape(stem) + r"-[0-9a-f]{8}" + (re.escape("." + suffix) if suffix else ""))
    return sorted(n for n in names if pattern.fullmatch(n))


# -- answers --------------------------------------------------------------------------------------
def anchor_id(turn: int, n: int) -> str:
    return f"nguon-{turn}-{n}"


_MARKER = re.compile(r"\[(\d{1,2})\]")
_MARKER_RUN = re.compile(r"[ \t]*(?:\[\d{1,2}\][ \t]*)*\[\d{1,2}\]")  # "380 HTX[3] [1]" -> one group


def _cite_link(turn: int, n: int, label: str | None = None) -> str:
    label = f"[{n}]" if label is None else label
    return f'<a class="cite" href="#{anchor_id(turn, n)}" title="Xem nguồn [{n}]">{label}</a>'


def answer_markdown(text: str, turn: int, cited: set[int]) -> str:
    """Escape the model's text (Markdown is kept) and turn its citation markers into links to the sources.

    A run of markers after a figure ("380 HTX[3][1]") becomes one group set off by a space, numbers in order
    and each once: "380 HTX [1, 3]"; a number that cites nothing shown stays plain text."""
    body = esc(text).replace("\n", "  \n")

    def group(m: re.Match) -> str:
        numbers = sorted({int(n) for n in _MARKER.findall(m.group(0))})
        links = ", ".join(_cite_link(turn, n, str(n)) if n in cited else str(n) for n in numbers)
        return f' <span class="cites">[{links}]</span>'

    return _MARKER_RUN.sub(group, body)


def streaming_markdown(text: str) -> str:
    """Text the model is still writing, shown as a draft: the checks may change or withdraw it."""
    body = esc(text).replace("\n", "  \n")
    return (f'<div class="draft"><div class="draft-label">{esc(DRAFT_LABEL)}</div>'
            f'<div class="draft-text">{body} ▌</div></div>')


def level_label(level: str) -> str:
    """'tỉnh' -> 'Tỉnh' (the issuing body's level as the documents list and citations show it)."""
    return LEVEL_LABELS.get(level, level.capitalize() if level else "")


def render_turn_message(turn: dict) -> str:
    """The assistant message shown in the chat for a finished turn."""
    kind = turn["kind"]
    if kind == "error":
        return f'<div class="msg-error"><strong>Lỗi:</strong> {esc(turn["text"])}</div>'
    if kind == "notice":
        return f'<div class="msg-notice">{esc(turn["text"])}</div>'
    timing = timing_line(turn.get("timings") or {})
    timing_html = f'\n\n<div class="timing">{esc(timing)}</div>' if timing else ""
    if kind == "abstain":
        return (f'<div class="abstain"><strong>{esc(turn["text"] or ABSTAIN_DEFAULT)}</strong><br>'
                f'<span>{esc(ABSTAIN_HINT)}</span></div>' + understood_html(turn) + timing_html)
    cited = {c["n"] for c in turn.get("citations", [])}
    shown_text = turn.get("line", "") if turn.get("quotes") else turn["text"]
    body = answer_markdown(shown_text, turn["id"], cited) + quotes_html(turn)
    unmarked = sorted(cited - {int(n) for n in _MARKER.findall(turn["text"])})
    if unmarked:  # a source attached without a marker in the text must still be reachable
        links = " ".join(_cite_link(turn["id"], n) for n in unmarked)
        body += f'\n\n<span class="cite-footer">{SOURCES_LABEL} {links}</span>'
    return body + understood_html(turn) + inline_sources_html(turn) + timing_html


_FIGURE = re.compile(r"\d[\d.,]*\d|\d")


def _mark_figures(text: str, line: str, question: str = "") -> str:
    """Escape a quoted sentence and highlight the figures the answer line states (the ones an official copies),
    not those the question already names (the year asked)."""
    figures = {f for f in _FIGURE.findall(_MARKER.sub("", line)) if len(f) > 1} - set(_FIGURE.findall(question))
    out, last = [], 0
    for m in _FIGURE.finditer(text):  # marked in the raw text: escaping first would expose "&#x27;" digits
        if m.group(0) in figures:
            out += [esc(text[last:m.start()]), f"<mark>{m.group(0)}</mark>"]
            last = m.end()
    return "".join(out) + esc(text[last:])


def quotes_html(turn: dict) -> str:
    """The report's own sentences under the answer line, each with its citation link and its report."""
    quotes = turn.get("quotes") or []
    if not quotes:
        return ""
    items = []
    for q in quotes:
        meta = " · ".join(b for b in (level_label(q.get("level", "")), q.get("title", ""), q.get("date", "")) if b)
        link = _cite_link(turn["id"], q["n"], str(q["n"]))
        items.append(f'<blockquote class="quote">«{_mark_figures(q["text"], turn.get("line", ""), turn.get("question", ""))}» '
                     f'<span class="cites">[{link}]</span><div class="quote-meta">{esc(meta)}</div></blockquote>')
    return f'\n\n<div class="quote-label">{esc(QUOTE_LABEL)}</div>' + "".join(items)


def evidence_preview(text: str) -> str:
    """The best evidence sentence, shown while the short answer is written (it is quoted in the answer too)."""
    return f'\n\n<div class="draft"><div class="draft-label">{esc(EVIDENCE_PREVIEW)}</div>«{esc(text.strip())}»</div>'


def understood_html(turn: dict) -> str:
    """The question as the assistant understood it (a follow-up made standalone, diacritics put back), shown
    under the answer when it differs from what was typed."""
    understood = (turn.get("understood") or "").strip()
    if not understood or _plain(understood) == _plain(turn.get("question", "")):
        return ""
    return f'\n\n<div class="understood">{esc(UNDERSTOOD.format(q=understood))}</div>'


def _plain(text: str) -> str:
    return re.sub(r"[\s?.!]+", " ", text).strip().lower()


def inline_sources_html(turn: dict) -> str:
    """The cited passages again, collapsed under the answer: on a phone the sources panel sits far below, so
    the stylesheet shows this copy only on narrow screens (citation links open it there)."""
    cits = turn.get("citations") or []
    if not cits:
        return ""
    items = "".join(_source_block(c, f"m-{anchor_id(turn['id'], c['n'])}") for c in cits)
    return (f'\n\n<details class="inline-sources"><summary>{esc(INLINE_SOURCES.format(n=len(cits)))}</summary>'
            f'{items}</details>')


_SUP = re.compile(r"&lt;sup&gt;(\w{1,4})&lt;/sup&gt;")


def passage_html(text: str) -> str:
    """Escape a passage; the cleaner's footnote markers (<sup>n</sup>) are shown as superscripts."""
    return _SUP.sub(r"<sup>\1</sup>", esc(text))


def _highlight(text: str, span) -> str:
    """The passage with the supporting sentence ``span`` marked; surrounding blank lines trimmed."""
    lead = len(text) - len(text.lstrip())
    body = text.strip()
    if span and 0 <= span[0] < span[1] <= len(text):
        a, b = max(0, span[0] - lead), min(len(body), span[1] - lead)
        if a < b:
            return f"{passage_html(body[:a])}<mark>{passage_html(body[a:b])}</mark>{passage_html(body[b:])}"
    return passage_html(body)


def _meta_line(title: str, date: str, section: str, page, doc: str, level: str = "") -> str:
    bits = [f'<span class="src-issuer">{esc(level_label(level))}</span>'] if level else []
    bits.append(f'<span class="src-title">{esc(title or doc)}</span>')
    if date:
        bits.append(f'<span class="src-date">{esc(date)}</span>')
    if page:
        bits.append(f"trang {esc(page)}")
    meta = " · ".join(bits)
    sec = f'<div class="src-section">Mục: {esc(section)}</div>' if section else ""
    return f'<div class="src-meta">{meta}</div>{sec}<div class="src-doc">Tệp: {esc(doc)}</div>'


def _source_block(c: dict, anchor: str) -> str:
    """One cited passage: its number, its report (level, title, date, section, file) and the text, the
    supporting sentence highlighted."""
    meta = _meta_line(c.get("title", ""), c.get("date", ""), c.get("section", ""), c.get("page"), c["doc"],
                      c.get("level", ""))
    return (f'<div class="src" id="{anchor}"><div class="src-n">[{c["n"]}]</div><div class="src-body">{meta}'
            f'<blockquote class="src-text">{_highlight(c.get("text", ""), c.get("span"))}</blockquote></div></div>')


def render_sources_for_turn(turn: dict) -> str:
    tid = turn["id"]
    out = [f'<div class="turn-q">Câu hỏi: {esc(turn["question"])}</div>']
    cits = turn.get("citations") or []
    if turn["kind"] == "abstain":
        out.append(f'<p class="muted">{esc(ABSTAIN_DEFAULT)}</p>')
    for c in cits:
        out.append(_source_block(c, anchor_id(tid, c["n"])))
    uncited = turn.get("uncited") or []
    if turn["kind"] in ("answer", "abstain"):
        items = "".join(
            f'<div class="src src-uncited">{_meta_line(h.get("title", ""), h.get("date", ""), h.get("section", ""), h.get("page"), h["doc"], h.get("level", ""))}'
            f'<blockquote class="src-text">{passage_html(h.get("text", "").strip())}</blockquote></div>' for h in uncited
        ) or f'<p class="muted">{NO_UNCITED}</p>'
        out.append(f'<details class="uncited"><summary>{UNCITED_SUMMARY.format(n=len(uncited))}</summary>{items}</details>')
    return "".join(out)


def render_sources(turns: list[dict]) -> str:
    """Sources panel: the newest turn open, earlier turns collapsed (citation links open them)."""
    shown = [t for t in turns if t["kind"] in ("answer", "abstain")]
    if not shown:
        return f'<div class="sources">{SOURCES_EMPTY}</div>'
    latest, earlier = shown[-1], shown[:-1]
    parts = [f'<section class="turn latest" id="turn-{latest["id"]}">{render_sources_for_turn(latest)}</section>']
    for t in reversed(earlier):
        q = t["question"] if len(t["question"]) <= 80 else t["question"][:77] + "…"
        parts.append(f'<details class="turn earlier" id="turn-{t["id"]}"><summary>{esc(EARLIER_TURN.format(q=q))}'
                     f'</summary>{render_sources_for_turn(t)}</details>')
    return '<div class="sources">' + "".join(parts) + "</div>"


def status_html(ok: list[str], errors: list[str], info: list[str] = ()) -> str:
    rows = [f'<li class="ok">✓ {esc(m)}</li>' for m in ok]
    rows += [f'<li class="info">• {esc(m)}</li>' for m in info]
    rows += [f'<li class="err">✗ {esc(m)}</li>' for m in errors]
    return f'<ul class="status">{"".join(rows)}</ul>' if rows else ""


def docs_table_html(rows: list[list]) -> str:
    """The reports in the index as a table; each cell carries its header so a phone shows one card per report."""
    if not rows:
        return f'<p class="muted">{esc(DOCS_EMPTY)}</p>'
    head = "".join(f"<th>{esc(h)}</th>" for h in DOCS_HEADERS)
    body = "".join("<tr>" + "".join(f'<td data-label="{esc(h)}">{esc(v)}</td>' for h, v in zip(DOCS_HEADERS, r))
                   + "</tr>" for r in rows)
    return f'<table class="docs"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
