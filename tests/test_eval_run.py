"""Plumbing tests for eval.run / eval.report with fake systems: no model is loaded, nothing is slow."""
from __future__ import annotations

import json
import sys

import pytest

from eval import run as eval_run
from eval.bench import cpu_flags, llama_cpp_simd
from eval.dataset import DatasetError, load_dataset
from eval.report import build_report, percentile, render_markdown
from rag.types import Answer, Chunk, Citation, Hit

QUOTE_A = "Tổng sản phẩm (GRDP) trên địa bàn ước tăng 4,1%, thấp hơn 3,9 điểm phần trăm so với kế hoạch"
QUOTE_B = "kim ngạch xuất nhập khẩu qua địa bàn quản lý đạt 600 triệu USD, giảm 3,3% so với năm 2020"
FILLER = "Công tác cải cách hành chính tiếp tục được quan tâm chỉ đạo thực hiện trên địa bàn tỉnh."

ITEMS = [
    {"id": "q1", "question": "GRDP năm 2021 tăng bao nhiêu?", "answer": "4,1%", "must_include": ["4,1%", "3,9"],
     "doc": "ktxh-2021.txt", "quote": QUOTE_A, "type": "number", "difficulty": "easy", "no_diacritics": False,
     "other_docs": []},
    {"id": "q2", "question": "kim ngach xuat nhap khau nam 2021?", "answer": "600 triệu USD",
     "must_include": ["600 triệu USD"], "doc": "ktxh-2021.txt", "quote": QUOTE_B, "type": "number",
     "difficulty": "hard", "no_diacritics": True, "other_docs": []},
    {"id": "u1", "question": "Bí thư Tỉnh ủy là ai?", "answer": "", "must_include": [], "doc": None,
     "quote": None, "type": "unanswerable", "difficulty": "medium", "no_diacritics": False},
]


def _hit(doc: str, text: str, score: float, section: str = "I. KINH TẾ") -> Hit:
    return Hit(chunk=Chunk(doc=doc, text=text, heading_path=[section]), score=score)


class FakeAssistantForPlumbing:
    """Stands in for rag.assistant.Assistant: fixed answers keyed by question, no model."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def ask(self, question: str) -> Answer:
        self.asked.append(question)
        timings = {"retrieval_s": 0.01, "ttft_s": 0.2, "total_s": 1.0 + len(self.asked)}
        models = {"llm": "fake-llm", "embedder": "fake-embedder"}
        if question == ITEMS[0]["question"]:  # right at rank 1, correct, cited
            hits = [_hit("ktxh-2021.txt", f"{FILLER} {QUOTE_A}.", 0.9), _hit("other.txt", FILLER, 0.5)]
            cites = [Citation(n=1, doc="ktxh-2021.txt", title="", section="I", text=hits[0].text)]
            return Answer(question, "GRDP ước tăng 4,1%, thấp hơn 3,9 điểm % so với KH [1].", False, cites,
                          hits, timings, models)
        if question == ITEMS[1]["question"]:  # gold at rank 2, but the answer falsely refuses
            hits = [_hit("other.txt", FILLER, 0.8), _hit("ktxh-2021.txt", QUOTE_B, 0.7)]
            return Answer(question, "Không tìm thấy thông tin này trong các báo cáo hiện có.", True, [],
                          hits, timings, models)
        hits = [_hit("other.txt", FILLER, 0.3)]  # unanswerable: hallucinates an answer
        return Answer(question, "Bí thư là ông Nguyễn Văn A [1].", False, [], hits, timings, models)


class FakeRetrieverForPlumbing:
    """Stands in for rag.retrieve.Retriever: 'dense' finds both gold passages, 'lexical' finds none."""

    def search(self, query: str, k: int = 10, mode: str = "hybrid") -> list[Hit]:
        gold = {ITEMS[0]["question"]: QUOTE_A, ITEMS[1]["question"]: QUOTE_B}.get(query)
        hits = [_hit("other.txt", FILLER, 0.5)] * 3
        if mode == "dense" and gold:
            hits.insert(0, _hit("ktxh-2021.txt", gold, 0.9))
        return hits[:k]


@pytest.fixture
def dataset(tmp_path):
    path = tmp_path / "mini.jsonl"
    path.write_text("\n".join(json.dumps(it, ensure_ascii=False) for it in ITEMS) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def no_rag(monkeypatch):
    """Route every rag touch-point to fakes and fail loudly if real loading is attempted."""
    monkeypatch.setattr(eval_run, "_make_settings", lambda llm: {"llm_model": llm})

    def boom(settings, llm_cache=None):
        raise AssertionError("a real model would be loaded")
    monkeypatch.setattr(eval_run, "_load_assistant", boom)
    monkeypatch.setattr(eval_run, "_load_retriever", boom)
    return monkeypatch


def test_assistant_run_writes_predictions_and_report(dataset, tmp_path, no_rag):
    fake = FakeAssistantForPlumbing()
    no_rag.setattr(eval_run, "_load_assistant", lambda settings, llm_cache=None: fake)
    out = tmp_path / "out"
    already = {m for m in ("rag.assistant", "rag.retrieve") if m in sys.modules}  # other tests may import them
    assert eval_run.main(["--dataset", str(dataset), "--out", str(out)]) == 0
    assert fake.asked == [it["question"] for it in ITEMS]
    assert {m for m in ("rag.assistant", "rag.retrieve") if m in sys.modules} == already

    preds = {p["id"]: p for p in map(json.loads, (out / "predictions.jsonl").read_text("utf-8").splitlines())}
    assert list(preds) == ["q1", "q2", "u1"]
    assert preds["q1"]["correct"] is True and preds["q1"]["hit_rank"] == 1 and preds["q1"]["citation_hit"] is True
    assert preds["q1"]["retrieved"][0] == {"doc": "ktxh-2021.txt", "section": "I. KINH TẾ",
                                           "text": f"{FILLER} {QUOTE_A}.", "score": 0.9}
    assert preds["q1"]["citations"][0]["n"] == 1 and preds["q1"]["ttft_s"] == 0.2
    assert preds["q2"]["refused"] is True and preds["q2"]["correct"] is False and preds["q2"]["hit_rank"] == 2
    assert preds["u1"]["refused"] is False and preds["u1"]["hit_rank"] is None

    doc = json.loads((out / "report.json").read_text("utf-8"))
    assert doc["meta"]["models"] == {"llm": "fake-llm", "embedder": "fake-embedder"}
    assert doc["meta"]["cpu_count"] and doc["meta"]["n_items"] == 3
    o = doc["runs"]["assistant"]["overall"]
    assert (o["recall@1"], o["recall@3"], o["mrr@10"]) == (0.5, 1.0, 0.75)
    assert (o["answer_accuracy"], o["false_refusal_rate"], o["citation_hit_rate"], o["refusal_rate"]) == \
        (0.5, 0.5, 0.5, 0.0)
    assert doc["runs"]["assistant"]["latency"]["p50_s"] == 3.0
    md = (out / "report.md").read_text("utf-8")
    for needle in ("# Evaluation report", "mini.jsonl", "fake-llm", "CPU cores", "Answer accuracy",
                   "at most 2 passages were retrieved",
                   "### By diacritics", "Unanswerable questions that got an answer", "u1"):
        assert needle in md


def test_retrieval_only_compares_modes(dataset, tmp_path, no_rag):
    no_rag.setattr(eval_run, "_load_retriever", lambda settings: FakeRetrieverForPlumbing())
    out = tmp_path / "ret"
    argv = ["--dataset", str(dataset), "--out", str(out), "--retrieval-only", "--retrievers", "dense,lexical",
            "--k", "3", "--limit", "2"]
    assert eval_run.main(argv) == 0
    lines = [json.loads(x) for x in (out / "predictions.jsonl").read_text("utf-8").splitlines()]
    assert [(p["retriever"], p["id"]) for p in lines] == [("dense", "q1"), ("dense", "q2"),
                                                           ("lexical", "q1"), ("lexical", "q2")]
    assert all(p["answer"] is None and p["correct"] is None and len(p["retrieved"]) == 3 for p in lines)
    runs = json.loads((out / "report.json").read_text("utf-8"))["runs"]
    assert runs["dense"]["overall"]["recall@1"] == 1.0 and runs["lexical"]["overall"]["recall@3"] == 0.0
    assert runs["dense"]["has_answers"] is False and runs["dense"]["overall"]["answer_accuracy"] is None
    md = (out / "report.md").read_text("utf-8")
    assert "## Side by side" in md and "| dense R@3 | lexical R@3 |" in md and "## Run: lexical" in md
    assert "Answer accuracy" not in md


def test_build_report_pure_with_fake_predictions():
    preds = [
        {"id": "q1", "answer": "tăng 4,1% và 3,9", "abstained": False, "latency_s": 2.0, "ttft_s": 0.5,
         "prompt_tokens": 370, "generated_tokens": 22, "llm_s": 1.5, "generations": 1,
         "citations": [], "retrieved": [{"doc": "x.txt", "text": FILLER}, {"doc": "ktxh-2021.txt", "text": QUOTE_A}]},
        {"id": "q2", "answer": "", "abstained": False, "latency_s": None, "ttft_s": None, "citations": [],
         "retrieved": [], "error": "RuntimeError: boom"},
        {"id": "u1", "answer": "không có thông tin", "abstained": False, "latency_s": 4.0, "ttft_s": 1.5,
         "generations": 0, "citations": [], "retrieved": []},
    ]
    r = build_report(ITEMS, preds, k=10)
    assert r["overall"]["errors"] == 1
    assert r["overall"]["recall@1"] == 0.0 and r["overall"]["recall@3"] == 0.5 and r["overall"]["mrr@10"] == 0.25
    assert r["overall"]["answer_accuracy"] == 0.5 and r["overall"]["refusal_rate"] == 1.0
    assert r["by_diacritics"]["accentless"]["n"] == 1 and r["by_difficulty"]["easy"]["recall@3"] == 1.0
    assert r["by_type"]["unanswerable"]["recall@1"] is None
    assert r["by_doc"]["(no gold doc)"]["refusal_rate"] == 1.0
    assert [m["id"] for m in r["retrieval_misses"]] == ["q2"]
    assert [w["id"] for w in r["wrong_answers"]] == ["q2"] and r["wrong_answers"][0]["error"]
    assert r["latency"] == {"p50_s": 3.0, "p90_s": pytest.approx(3.8), "ttft_p50_s": 1.0, "prompt_tokens_p50": 370,
                            "prompt_tokens_p90": 370, "generated_tokens_p50": 22,
                            # q1: 2.0 s here - 1.5 s of llama.cpp + 370/37 + 22/11 s; u1 took no generation: 4.0 s
                            "laptop_p50_s": pytest.approx(8.25), "laptop_p90_s": pytest.approx(11.65)}
    md = render_markdown({"meta": {"dataset": "d.jsonl"}, "runs": {"assistant": r}})
    assert "RuntimeError: boom" in md
    replayed = dict(preds[0], prompt_tokens=None, generated_tokens=None, llm_s=None)  # its tokens not counted
    latency = build_report(ITEMS, [replayed, *preds[1:]], k=10)["latency"]
    assert latency["laptop_p50_s"] is None and latency["laptop_p90_s"] is None  # not u1's time alone


def test_the_report_counts_the_lines_that_copy_a_passage_header():
    shown = [{"n": 1, "doc": "ktxh-2021.txt", "title": "Báo cáo: Tình hình kinh tế - xã hội năm 2021",
              "section": "I. KINH TẾ > 1. Tăng trưởng", "text": QUOTE_A}]
    base = {"abstained": False, "latency_s": 1.0, "ttft_s": 0.5, "citations": [], "retrieved": [], "evidence": shown}
    preds = [dict(base, id="q1", answer="GRDP tăng 4,1% [1].",
                  line="Báo cáo: Tình hình kinh tế - xã hội năm 2021 — 1. Tăng trưởng: GRDP tăng 4,1% [1]."),
             dict(base, id="q2", answer="600 triệu USD [1].", line="Kim ngạch đạt 600 triệu USD [1]."),
             dict(base, id="u1", answer="Không tìm thấy thông tin này trong các báo cáo hiện có.", line="")]
    r = build_report(ITEMS, preds, k=10)
    assert r["overall"]["header_copy_rate"] == 0.5  # of the two lines shown; no line, nothing to copy
    md = render_markdown({"meta": {"dataset": "d.jsonl"}, "runs": {"assistant": r}})
    assert "Lines copying a passage header" in md


@pytest.mark.parametrize("info,simd", [
    ("CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | LLAMAFILE = 1 |", "AVX2"),  # built for a laptop
    ("CPU : AVX2 = 1 | AVX512 = 1 | AVX512_VBMI = 1 | OPENMP = 1 |", "AVX2, AVX-512"),
    ("CPU : SSE3 = 1 | AVX512_VNNI = 1 | AVX512 = 0 |", "neither"),  # a feature named AVX512_* is not AVX-512
])
def test_the_bench_names_the_simd_the_llama_cpp_build_uses(info, simd):
    assert llama_cpp_simd(info) == simd


def test_the_installed_llama_cpp_build_is_read():
    # a build cannot use SIMD this CPU lacks (it would crash): what is read is a subset of the CPU's flags
    assert set(llama_cpp_simd().split(", ")) <= set(cpu_flags().split(", ")) | {"neither"}


def test_percentile():
    assert percentile([], 50) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 90) == 5.0


@pytest.mark.parametrize("line,message", [
    ('{"id": "x", "question": "q?", "type": "number"', "invalid JSON"),
    ('{"id": "x", "question": "q?", "type": "number", "quote": "abc"}', "needs a non-empty 'doc'"),
    ('{"id": "x", "question": "q?", "type": "number", "doc": "a.txt", "quote": "abc", "must_include": "4,1%"}',
     "'must_include' must be a list"),
    ('{"question": "q?", "type": "unanswerable"}', "missing field 'id'"),
    ('[1, 2]', "expected a JSON object"),
])
def test_bad_dataset_line_is_named(tmp_path, line, message, capsys, no_rag):
    good = json.dumps(ITEMS[0], ensure_ascii=False)
    path = tmp_path / "bad.jsonl"
    path.write_text(f"{good}\n\n{line}\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="line 3"):
        load_dataset(path)
    assert eval_run.main(["--dataset", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl line 3" in err and message in err and "Traceback" not in err


def test_dataset_defaults_and_duplicates(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"id": "a", "question": "tang truong bao nhieu?", "type": "number", "doc": "x.txt", '
                    '"quote": "q"}\n', encoding="utf-8")
    item = load_dataset(path)[0]
    assert item["no_diacritics"] is True and item["must_include"] == [] and item["difficulty"] == "unspecified"
    path.write_text(path.read_text() * 2, encoding="utf-8")
    with pytest.raises(DatasetError, match="duplicate id 'a'"):
        load_dataset(path)


def test_broken_setup_aborts_instead_of_scoring_zeros(dataset, tmp_path, no_rag, capsys):
    class FailingAssistantForPlumbing:
        def ask(self, question):
            raise RuntimeError("model file missing")
    no_rag.setattr(eval_run, "_load_assistant", lambda settings, llm_cache=None: FailingAssistantForPlumbing())
    assert eval_run.main(["--dataset", str(dataset), "--out", str(tmp_path / "o")]) == 1
    assert "model file missing" in capsys.readouterr().err


def test_retrievers_flag_needs_retrieval_only(dataset, tmp_path):
    with pytest.raises(SystemExit):
        eval_run.parse_args(["--dataset", str(dataset), "--out", str(tmp_path), "--retrievers", "dense"])
    with pytest.raises(SystemExit):
        eval_run.parse_args(["--dataset", str(dataset), "--out", str(tmp_path), "--retrieval-only",
                             "--retrievers", "dense,bogus"])


def test_llm_cache_replays_an_unchanged_prompt_and_regenerates_a_changed_one(tmp_path):
    from eval.llm_cache import CachedLLM

    class CountingLLMForPlumbing:
        id = "counting-llm-for-plumbing"
        calls = 0

        def stream(self, messages, max_tokens=256, temperature=0.0, stop=None, seed=None):
            self.calls += 1
            yield from ["Đạt ", f"{self.calls}"]

    inner, path = CountingLLMForPlumbing(), tmp_path / "cache.jsonl"
    ask = [{"role": "user", "content": "Thu ngân sách?"}]
    assert "".join(CachedLLM(inner, path).stream(ask)) == "Đạt 1"
    again = CachedLLM(inner, path)  # a later run reads the file back
    assert "".join(again.stream(ask)) == "Đạt 1" and inner.calls == 1 and again.hits == 1
    assert "".join(again.stream([{"role": "user", "content": "Chi ngân sách?"}])) == "Đạt 2"
    assert "".join(again.stream(ask, temperature=0.7)) == "Đạt 3"  # sampling is never replayed…
    assert "".join(again.stream(ask, temperature=0.7, seed=1)) == "Đạt 4"
    assert "".join(again.stream(ask, temperature=0.7, seed=1)) == "Đạt 4"  # …unless its seed fixes it
    assert "".join(again.stream(ask, temperature=0.7, seed=2)) == "Đạt 5"


def test_llm_cache_replays_why_a_reply_ended_and_counts_only_what_ran(tmp_path):
    from eval.llm_cache import CachedLLM

    class CutLLMForPlumbing:
        id = "cut-llm-for-plumbing"
        finish_reason = usage = None

        def stream(self, messages, max_tokens=256, temperature=0.0, stop=None, seed=None):
            self.finish_reason, self.usage = "length", (120, 4, 0.5)
            yield "Đạt 1.0"

    path, ask = tmp_path / "cache.jsonl", [{"role": "user", "content": "Thu ngân sách?"}]
    first = CachedLLM(CutLLMForPlumbing(), path)
    assert "".join(first.stream(ask)) == "Đạt 1.0" and first.finish_reason == "length"
    assert first.usage == (120, 4, 0.5)  # a recorded generation is counted as in an uncached run
    again = CachedLLM(CutLLMForPlumbing(), path)
    assert "".join(again.stream(ask)) == "Đạt 1.0" and again.hits == 1 and again.finish_reason == "length"
    assert again.usage is None  # a replay cost nothing to count


class FakeEvidenceAssistantForPlumbing:
    """Stands in for rag.assistant.Assistant in --evidence-only runs: fixed passages and units, no model."""

    def prepare(self, question: str):
        from types import SimpleNamespace

        from rag.evidence import EvidenceUnit
        text = f"{FILLER} {QUOTE_B}"
        chunk_a, chunk_b = Chunk(doc="ktxh-2021.txt", text=QUOTE_A), Chunk(doc="ktxh-2021.txt", text=text)
        passages, units = [], []
        if question == ITEMS[0]["question"]:  # the passage and its first unit hold both facts
            passages = [EvidenceUnit(1, chunk_a, 0, len(QUOTE_A))]
            units = [EvidenceUnit(1, chunk_a, 0, len(QUOTE_A))]
        elif question == ITEMS[1]["question"]:  # the passage holds the fact, the first unit does not
            passages = [EvidenceUnit(1, chunk_b, 0, len(text))]
            units = [EvidenceUnit(1, chunk_b, 0, len(FILLER)), EvidenceUnit(1, chunk_b, len(FILLER) + 1, len(text))]
        gap = "" if passages else "no passage mentions Tỉnh ủy"
        return SimpleNamespace(standalone=question, hits=[_hit("ktxh-2021.txt", QUOTE_A, 0.9)], units=units,
                               passages=passages, gap=gap, shown=lambda: [Hit(p.chunk, 1.0) for p in passages])

    def render_passages(self, question, hits):
        return "\n".join(h.chunk.text for h in hits)


def test_evidence_only_scores_the_units_the_model_would_see(dataset, tmp_path, no_rag):
    no_rag.setattr(eval_run, "_load_assistant", lambda settings, llm_cache=None: FakeEvidenceAssistantForPlumbing())
    no_rag.setattr(eval_run, "_token_counter", lambda settings: lambda text: len(text.split()))
    out = tmp_path / "ev"
    assert eval_run.main(["--dataset", str(dataset), "--out", str(out), "--evidence-only"]) == 0
    preds = {p["id"]: p for p in map(json.loads, (out / "predictions.jsonl").read_text("utf-8").splitlines())}
    assert [u["text"] for u in preds["q1"]["evidence"]] == [QUOTE_A] and preds["q1"]["evidence"][0]["n"] == 1
    assert [u["text"] for u in preds["q2"]["units"]] == [FILLER, QUOTE_B]
    assert preds["q1"]["evidence_hit"] is True and preds["q1"]["first_unit_hit"] is True
    assert preds["q2"]["evidence_hit"] is True and preds["q2"]["first_unit_hit"] is False
    assert preds["u1"]["evidence"] == [] and preds["u1"]["abstained"] is True and preds["u1"]["answer"] is None
    assert preds["q1"]["evidence_tokens"] == len(QUOTE_A.split()) and preds["q1"]["evidence_chars"] == len(QUOTE_A)
    o = json.loads((out / "report.json").read_text("utf-8"))["runs"]["evidence"]["overall"]
    assert (o["evidence_recall"], o["first_unit_recall"]) == (1.0, 0.5)
    assert o["evidence_chars_mean"] == (len(QUOTE_A) + len(FILLER) + 1 + len(QUOTE_B)) / 2
    md = (out / "report.md").read_text("utf-8")
    assert "Evidence recall" in md and "First-unit recall" in md and "Answer accuracy" not in md


def test_evidence_only_takes_no_llm_options(dataset, tmp_path):
    with pytest.raises(SystemExit):
        eval_run.parse_args(["--dataset", str(dataset), "--out", str(tmp_path), "--evidence-only", "--llm-cache", "x"])


def test_a_question_asking_two_things_is_read_by_the_evaluation_itself():
    from eval.metrics import asks_two_things, facts_in_units
    assert asks_two_things("Kim ngạch đạt bao nhiêu và bằng bao nhiêu phần trăm kế hoạch?")
    assert not asks_two_things("Kim ngạch xuất khẩu năm 2021 đạt bao nhiêu?")
    assert facts_in_units(["đạt 600 triệu USD", "tăng 3,3%"], ["600 triệu USD", "3,3%"])
    assert not facts_in_units(["đạt 600 triệu", "USD"], ["600 triệu USD"])  # a fact split across units
