"""Dialob's shapes of a session and the changes between two states: pure functions, no engine."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from service.forms import FormRevision
from service.questionnaires import dialob
from service.questionnaires.sessions import Editor

FORM = FormRevision("visitor-survey", "1-a", json.loads(
    (Path(__file__).parent.parent / "docs" / "examples" / "visitor-survey.form.json").read_text()))
Json = dict[str, Any]


def session(**changes: Any) -> Json:
    doc: Json = {
        "_id": "s", "_rev": "1-a", "answers": [], "tables": [{"tableId": "group2", "rows": []}],
        "context": [{"id": "contextVar1", "value": 1}, {"id": "contextVar2", "value": "web"}],
        "activeItem": "page1",
        "metadata": {"status": "OPEN", "language": "en", "lastAnswer": None, "label": "x"},
    }
    return doc | changes


def state(doc: Json) -> list[Json]:
    return dialob.full_state(doc, FORM, Editor(doc, FORM).evaluation())


def test_no_change_is_no_action() -> None:
    assert dialob.changes(state(session()), state(session())) == []


def test_a_language_change_relabels_items_and_value_sets() -> None:
    before = session()
    after = copy.deepcopy(before)
    Editor(after, FORM).set_language("fi")
    changes = dialob.changes(state(before), state(after))
    assert changes[0] == {"type": "LOCALE", "value": "fi"}
    relabeled = {a["item"]["id"]: a["item"].get("label") for a in changes if a["type"] == "ITEM"}
    assert relabeled == {"visitor-survey": "Kävijäkysely", "question1": "Nimi"}
    # The value set has no Finnish labels: the form's first language stands in, unchanged.
    assert [a for a in changes if a["type"] == "VALUE_SET"] == []


def test_rows_removed_then_changed_items_then_completion_last() -> None:
    before = session(answers=[{"id": "question1", "value": "Ann"}])
    editor = Editor(copy.deepcopy(before), FORM)
    editor.add_row("group2")
    editor.answer("group2[1].question3", "Bob")
    with_row = editor.doc
    editor = Editor(copy.deepcopy(with_row), FORM)
    editor.delete_row("group2", "group2[1]")
    editor.complete()
    changes = dialob.changes(state(with_row), state(editor.doc))
    assert changes[0] == {"type": "REMOVE_ITEMS", "ids": [
        "group2[1]", "group2[1].question3", "group2[1].question4", "group2[1].question5"]}
    assert changes[-1] == {"type": "COMPLETE"}
    group = next(a["item"] for a in changes if a["type"] == "ITEM" and a["item"]["id"] == "group2")
    assert group["items"] == []
    root = next(a["item"] for a in changes
                if a["type"] == "ITEM" and a["item"]["id"] == "visitor-survey")
    assert root["allowedActions"] == []  # a completed session takes no more actions


def test_errors_come_and_go_by_item_and_code() -> None:
    before = session()
    after = session(answers=[{"id": "question1", "value": "Ann"}, {"id": "age", "value": -1}])
    changes = [a for a in dialob.changes(state(before), state(after))
               if a["type"] in ("ERROR", "REMOVE_ERROR")]
    assert changes == [
        {"type": "REMOVE_ERROR", "error": {"id": "question1", "code": "REQUIRED",
                                           "description": "This answer is required"}},
        {"type": "ERROR", "error": {"id": "age", "code": "VALIDATION",
                                    "description": "Age cannot be negative"}},
    ]
