"""Load and validate evaluation JSONL files, failing with a message that names the bad line.

A hand-written dataset is easy to get subtly wrong (a missing quote makes every retrieval
look like a miss), so every line is checked before any model is loaded.

Example: ``items = load_dataset("eval/datasets/dev.jsonl")`` -> list of dicts with defaults filled in.
"""
from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

UNANSWERABLE = "unanswerable"


class DatasetError(ValueError):
    """A dataset line is malformed; the message names the file and line."""


def _has_diacritics(text: str) -> bool:
    nfd = unicodedata.normalize("NFD", text)
    return "đ" in text.lower() or any(unicodedata.combining(c) for c in nfd)


def _check_str(obj: dict, key: str, where: str, *, required: bool, allow_none: bool = False) -> None:
    if key not in obj:
        if required:
            raise DatasetError(f"{where}: missing field '{key}'")
        return
    val = obj[key]
    if val is None and allow_none:
        return
    if not isinstance(val, str) or (required and not val.strip()):
        raise DatasetError(f"{where}: field '{key}' must be a non-empty string, got {val!r}")


def _check_str_list(obj: dict, key: str, where: str) -> None:
    val = obj.get(key, [])
    if not isinstance(val, list) or not all(isinstance(v, str) and v.strip() for v in val):
        raise DatasetError(f"{where}: field '{key}' must be a list of non-empty strings, got {val!r}")


def validate_item(obj: Any, where: str) -> dict[str, Any]:
    """Check one parsed line and return it with optional fields defaulted.

    Required: id, question, type; doc and quote unless type is 'unanswerable'.
    Optional: answer (''), must_include ([]), difficulty ('unspecified'),
    no_diacritics (detected from the question), other_docs ([]), extra_quotes ([]).
    Unknown fields are kept untouched.
    """
    if not isinstance(obj, dict):
        raise DatasetError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    item = dict(obj)
    for key in ("id", "question", "type"):
        _check_str(item, key, where, required=True)
    answerable = item["type"] != UNANSWERABLE
    for key in ("doc", "quote"):
        if answerable:
            if not item.get(key):
                raise DatasetError(f"{where}: item '{item['id']}' is answerable (type "
                                   f"'{item['type']}') so it needs a non-empty '{key}'")
            _check_str(item, key, where, required=True)
        else:
            _check_str(item, key, where, required=False, allow_none=True)
            item.setdefault(key, None)
    _check_str(item, "answer", where, required=False, allow_none=True)
    item["answer"] = item.get("answer") or ""
    _check_str_list(item, "must_include", where)
    _check_str_list(item, "extra_quotes", where)
    item.setdefault("must_include", [])
    item.setdefault("extra_quotes", [])
    _check_str(item, "difficulty", where, required=False)
    item["difficulty"] = item.get("difficulty") or "unspecified"
    if "no_diacritics" in item:
        if not isinstance(item["no_diacritics"], bool):
            raise DatasetError(f"{where}: field 'no_diacritics' must be true or false, "
                               f"got {item['no_diacritics']!r}")
    else:
        item["no_diacritics"] = not _has_diacritics(item["question"])
    other = item.setdefault("other_docs", [])
    if not isinstance(other, list) or not all(isinstance(o, (str, dict)) for o in other):
        raise DatasetError(f"{where}: field 'other_docs' must be a list of strings or objects")
    return item


def load_dataset(path: str | Path) -> list[dict[str, Any]]:
    """Parse a JSONL dataset (blank lines skipped); raise DatasetError naming the first bad line."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"dataset file not found: {path}")
    items: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path} line {lineno}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise DatasetError(f"{where}: invalid JSON ({e.msg} at column {e.colno})") from None
            item = validate_item(obj, where)
            if item["id"] in seen:
                raise DatasetError(f"{where}: duplicate id '{item['id']}' (first seen on line {seen[item['id']]})")
            seen[item["id"]] = lineno
            items.append(item)
    if not items:
        raise DatasetError(f"{path}: no items")
    return items


def gold_quotes(item: dict[str, Any]) -> list[str]:
    """The quote plus any extra_quotes: a retrieved chunk holding any of them is evidence."""
    return [q for q in [item.get("quote"), *item.get("extra_quotes", [])] if q]


def is_answerable(item: dict[str, Any]) -> bool:
    return item.get("type") != UNANSWERABLE
