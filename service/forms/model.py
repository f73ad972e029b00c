"""The form document as a tree: items indexed by id, with their parents, row groups and types.

The public form format is docs/FORMS.md's (schemas/form.create.json checks its shape). The form
document itself is the questionnaire root (implicit, type "questionnaire", id = the form's id);
its `items` are pages. This module only reads a document; `check.py` refuses broken ones and
`evaluation.py` runs the rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

JsonDict = dict[str, Any]

ROOT_TYPE = "questionnaire"
CONTAINER_TYPES = frozenset({"page", "group", "rowgroup"})
QUESTION_TYPES = frozenset(
    {"text", "number", "decimal", "boolean", "date", "time", "list", "multichoice"}
)
ITEM_TYPES = CONTAINER_TYPES | QUESTION_TYPES | {"note"}
CHOICE_TYPES = frozenset({"list", "multichoice"})
CONTEXT_TYPES = frozenset({"text", "number", "decimal", "boolean", "date", "time"})

# "group2[1].question3": a row item's answer id.
ROW_ANSWER_ID = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)\[([0-9]+)\]\.([A-Za-z_][A-Za-z0-9_-]*)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}(:\d{2})?$")


@dataclass
class Item:
    """One item of the form, where it sits and what it is."""

    id: str
    type: str
    raw: JsonDict
    pointer: str  # JSON pointer of the item in the form document
    parent: str | None  # item id of the parent (the form id for pages)
    rowgroup: str | None  # the row group the item is in (None outside row groups)
    children: list[str] = field(default_factory=list)

    @property
    def is_question(self) -> bool:
        return self.type in QUESTION_TYPES


@dataclass
class FormIndex:
    """A form document read once: items in form order, value sets and variables by id."""

    form_id: str
    document: JsonDict
    items: dict[str, Item]  # form order (dicts keep insertion order)
    top: list[str]  # the root's children (pages)
    value_sets: dict[str, dict[str, JsonDict]]  # value set id -> entry id -> entry
    context_vars: dict[str, JsonDict]
    expression_vars: dict[str, JsonDict]
    duplicates: list[tuple[str, str]]  # (id, pointer) of items whose id was already used

    @cached_property  # read for every label of every evaluation
    def languages(self) -> list[str]:
        langs = self.document.get("languages")
        return [str(x) for x in langs] if isinstance(langs, list) else []


def index_form(document: JsonDict) -> FormIndex:
    form_id = str(document.get("id", ""))
    items: dict[str, Item] = {}
    duplicates: list[tuple[str, str]] = []

    def walk(raws: Any, pointer: str, parent: str, rowgroup: str | None) -> list[str]:
        ids: list[str] = []
        if not isinstance(raws, list):
            return ids
        for i, raw in enumerate(raws):
            if not isinstance(raw, dict):
                continue
            item_id = str(raw.get("id", ""))
            here = f"{pointer}/{i}"
            if item_id in items:
                duplicates.append((item_id, here))
                continue
            item = Item(item_id, str(raw.get("type", "")), raw, here, parent, rowgroup)
            items[item_id] = item
            ids.append(item_id)
            inner = item_id if item.type == "rowgroup" else rowgroup
            item.children = walk(raw.get("items"), here + "/items", item_id, inner)
        return ids

    top = walk(document.get("items"), "/items", form_id, None)
    value_sets: dict[str, dict[str, JsonDict]] = {}
    for vs in document.get("valueSets") or []:
        if isinstance(vs, dict):
            entries = vs.get("entries") or []
            value_sets[str(vs.get("id"))] = {
                str(e.get("id")): e for e in entries if isinstance(e, dict)
            }
    context_vars: dict[str, JsonDict] = {}
    expression_vars: dict[str, JsonDict] = {}
    for var in document.get("variables") or []:
        if isinstance(var, dict):
            target = context_vars if var.get("context") is True else expression_vars
            target[str(var.get("id"))] = var
    return FormIndex(form_id, document, items, top, value_sets, context_vars, expression_vars,
                     duplicates)


def text_in(texts: Any, language: str, languages: list[str]) -> str | None:
    """A label or message in `language`, else the form's first language, else any."""
    if isinstance(texts, str):
        return texts
    if not isinstance(texts, dict) or not texts:
        return None
    for lang in (language, *languages[:1]):
        if isinstance(texts.get(lang), str):
            return str(texts[lang])
    first = next(iter(texts.values()))
    return str(first) if isinstance(first, str) else None


def is_answered(value: Any) -> bool:
    """Unanswered: no answer, null, an empty string or an empty list."""
    return value is not None and value != "" and value != []


def value_problem(value_type: str, value: Any) -> str | None:
    """Whether a value fits a question or context variable type (choices aside)."""
    if value_type == "text":
        return None if isinstance(value, str) else "must be a string"
    if value_type == "number":
        ok = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        return None if ok and not isinstance(value, bool) else "must be an integer"
    if value_type == "decimal":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else "must be a number"
    if value_type == "boolean":
        return None if isinstance(value, bool) else "must be true or false"
    if value_type == "date":
        return None if isinstance(value, str) and _valid_date(value) else "must be a date YYYY-MM-DD"
    if value_type == "time":
        return None if isinstance(value, str) and _valid_time(value) else "must be a time HH:MM[:SS]"
    return f"has unknown type {value_type}"


def _valid_date(value: str) -> bool:
    if not _DATE.match(value):
        return False
    from datetime import date

    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _valid_time(value: str) -> bool:
    if not _TIME.match(value):
        return False
    parts = [int(p) for p in value.split(":")]
    return parts[0] < 24 and parts[1] < 60 and (len(parts) < 3 or parts[2] < 60)
