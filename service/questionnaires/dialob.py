"""A session as Dialob shows it: ActionItems, errors and value sets in Dialob's shapes, the
full state as fill actions, and the actions that turn one state into another.

Pure functions of a session document and its evaluation (docs/SESSIONS.md, "Dialob"). Used by
Dialob's REST operations (`GET .../items/{itemId}`, `.../valueSets`) and by the fill protocol
at `/session/dialob` (service/questionnaires/fill.py).
"""

from __future__ import annotations

from typing import Any

from ..forms import Evaluation, FormRevision, ItemState
from ..forms.model import ROW_ANSWER_ID, text_in
from .documents import COMPLETED

JsonDict = dict[str, Any]

# Dialob has no page type: a page is a group the fill UI shows one at a time.
_DIALOB_TYPE = {"page": "group"}
_CONTAINERS = frozenset({"questionnaire", "page", "group", "rowgroup", "row"})


def _base_id(item_id: str) -> str:
    match = ROW_ANSWER_ID.match(item_id)
    return match.group(3) if match else item_id


def value_set_id(form: FormRevision, item_id: str) -> str | None:
    item = form.index.items.get(_base_id(item_id))
    if item is None or "valueSet" not in item.raw:
        return None
    return str(item.raw["valueSet"])


def _children(evaluation: Evaluation) -> dict[str, list[str]]:
    """Active children of each item, in form order."""
    children: dict[str, list[str]] = {}
    for state in evaluation.items:
        if state.parent is not None and state.active:
            children.setdefault(state.parent, []).append(state.id)
    return children


def _navigation(doc: JsonDict, evaluation: Evaluation) -> list[str]:
    if doc["metadata"]["status"] == COMPLETED:
        return []
    pages = evaluation.pages
    current = doc["activeItem"]
    every = [s.id for s in evaluation.items if s.type == "page"]
    position = every.index(current) if current in every else -1
    allowed = ["ANSWER"]
    if any(p in pages for p in every[:max(position, 0)]):
        allowed.append("PREVIOUS")
    if any(p in pages for p in every[position + 1:]):
        allowed.append("NEXT")
    else:
        allowed.append("COMPLETE")  # the last active page: the fill UI offers completion
    return allowed


def action_item(
    state: ItemState, doc: JsonDict, form: FormRevision, evaluation: Evaluation,
    children: dict[str, list[str]] | None = None,
) -> JsonDict:
    """One item as Dialob's ActionItem."""
    kids = children if children is not None else _children(evaluation)
    item: JsonDict = {"id": state.id, "type": _DIALOB_TYPE.get(state.type, state.type)}
    if state.type in ("page", "group"):
        item["view"] = state.type
    if state.label is not None:
        item["label"] = state.label
    if state.description is not None:
        item["description"] = state.description
    if state.type in _CONTAINERS:
        item["items"] = kids.get(state.id, [])
    if state.type == "questionnaire":
        item["activeItem"] = doc["activeItem"]
        item["availableItems"] = evaluation.pages
        item["allowedActions"] = _navigation(doc, evaluation)
    elif state.type == "rowgroup":
        item["allowedActions"] = ["ADD_ROW"]
    elif state.type == "row":
        item["allowedActions"] = ["DELETE_ROW"]
    elif state.type not in _CONTAINERS and state.type != "note":
        item["required"] = state.required
        item["answered"] = state.value is not None and state.value != "" and state.value != []
        if state.value is not None:
            item["value"] = state.value
        vs_id = value_set_id(form, state.id)
        if vs_id is not None:
            item["valueSetId"] = vs_id
    return item


def action_items(doc: JsonDict, form: FormRevision, evaluation: Evaluation) -> list[JsonDict]:
    """Every item the session shows (the active ones), as Dialob's ActionItems."""
    kids = _children(evaluation)
    return [action_item(s, doc, form, evaluation, kids) for s in evaluation.items if s.active]


def errors(evaluation: Evaluation) -> list[JsonDict]:
    return [{"id": e["id"], "code": e["code"], "description": e["message"]}
            for e in evaluation.errors]


def value_sets(form: FormRevision, language: str) -> list[JsonDict]:
    index = form.index
    return [
        {"id": vs_id, "entries": [
            {"key": entry_id, "value": text_in(entry.get("label"), language, index.languages)
             or entry_id}
            for entry_id, entry in entries.items()
        ]}
        for vs_id, entries in index.value_sets.items()
    ]


def variables(doc: JsonDict, evaluation: Evaluation) -> list[JsonDict]:
    """Context and expression variables as fill-api reads them (`session.getVariable`)."""
    return [
        *({"type": "ITEM", "item": {"id": c["id"], "type": "context", "value": c["value"]}}
          for c in doc["context"]),
        *({"type": "ITEM", "item": {"id": k, "type": "variable", "value": v}}
          for k, v in evaluation.variables.items()),
    ]


def full_state(doc: JsonDict, form: FormRevision, evaluation: Evaluation) -> list[JsonDict]:
    """The whole session as fill actions, as Dialob answers `GET /session/dialob/{id}`."""
    actions: list[JsonDict] = [{"type": "RESET"},
                               {"type": "LOCALE", "value": doc["metadata"]["language"]}]
    actions += variables(doc, evaluation)
    actions += ({"type": "ITEM", "item": item} for item in action_items(doc, form, evaluation))
    actions += ({"type": "VALUE_SET", "valueSet": vs}
                for vs in value_sets(form, doc["metadata"]["language"]))
    actions += ({"type": "ERROR", "error": error} for error in errors(evaluation))
    if doc["metadata"]["status"] == COMPLETED:
        actions.append({"type": "COMPLETE"})
    return actions


def changes(before: list[JsonDict], after: list[JsonDict]) -> list[JsonDict]:
    """The actions that turn the state `before` into `after` (both as `full_state` answers)."""

    def keyed(actions: list[JsonDict]) -> dict[tuple[str, str], JsonDict]:
        out: dict[tuple[str, str], JsonDict] = {}
        for action in actions:
            kind = action["type"]
            if kind == "ITEM":
                out[("ITEM", action["item"]["id"])] = action
            elif kind == "VALUE_SET":
                out[("VALUE_SET", action["valueSet"]["id"])] = action
            elif kind == "ERROR":
                error = action["error"]
                out[("ERROR", f"{error['id']}\n{error['code']}")] = action
            elif kind in ("LOCALE", "COMPLETE"):
                out[(kind, "")] = action
        return out

    old, new = keyed(before), keyed(after)
    out: list[JsonDict] = []
    if new.get(("LOCALE", "")) != old.get(("LOCALE", "")):
        out.append(new[("LOCALE", "")])
    gone_items = [key[1] for key in old if key[0] == "ITEM" and key not in new]
    if gone_items:
        out.append({"type": "REMOVE_ITEMS", "ids": gone_items})
    gone_sets = [key[1] for key in old if key[0] == "VALUE_SET" and key not in new]
    if gone_sets:
        out.append({"type": "REMOVE_VALUE_SETS", "ids": gone_sets})
    out += (old[key] | {"type": "REMOVE_ERROR"} for key in old
            if key[0] == "ERROR" and key not in new)
    out += (action for key, action in new.items()
            if key[0] in ("ITEM", "VALUE_SET", "ERROR") and old.get(key) != action)
    if ("COMPLETE", "") in new and ("COMPLETE", "") not in old:
        out.append({"type": "COMPLETE"})
    return out
