"""Form rules without an engine: evaluation (active, required, validations, rows, variables,
labels), the checks of answers and context values, the checks made on save, and the
json-logic-js semantics the server must share with devices."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest

from service.forms import (
    Evaluation,
    FormRevision,
    answer_problem,
    context_problems,
    evaluate,
)
from service.forms.check import problems
from service.forms.rules import apply

EXAMPLE_PATH = Path(__file__).parent.parent / "docs" / "examples" / "visitor-survey.form.json"
EXAMPLE: dict[str, Any] = json.loads(EXAMPLE_PATH.read_text("utf-8"))


def form(document: dict[str, Any] | None = None) -> FormRevision:
    return FormRevision("visitor-survey", "1-abc", document or copy.deepcopy(EXAMPLE))


def run(answers: dict[str, Any] | None = None, rows: dict[str, list[int]] | None = None,
        context: dict[str, Any] | None = None, language: str = "en",
        document: dict[str, Any] | None = None) -> Evaluation:
    return evaluate(form(document), answers or {}, context or {"contextVar1": 1, "contextVar2": "web"},
                    rows or {}, language)


def state(evaluation: Evaluation, full_id: str) -> dict[str, Any]:
    item = evaluation.item(full_id)
    assert item is not None, full_id
    return {"active": item.active, "required": item.required, "errors": item.errors}


def small_form(*items: dict[str, Any], variables: list[dict[str, Any]] | None = None,
               value_sets: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"id": "f", "label": {"en": "F"}, "languages": ["en", "fi"],
            "variables": variables or [], "valueSets": value_sets or [],
            "items": [{"id": "p1", "type": "page", "items": list(items)}]}


# -- the example form (docs/examples/visitor-survey.form.json) --------------------------------


def test_example_passes_the_save_checks() -> None:
    assert problems(copy.deepcopy(EXAMPLE)) == []


def test_example_evaluated_item_by_item() -> None:
    ev = run({"question1": "Ann", "question2": ["a"], "age": 30,
              "group2[1].question3": "x", "group2[1].question4": "y"}, {"group2": [1, 3]})
    assert [(s.id, s.type, s.parent) for s in ev.items] == [
        ("visitor-survey", "questionnaire", None),
        ("page1", "page", "visitor-survey"),
        ("question1", "text", "page1"),
        ("question2", "multichoice", "page1"),
        ("age", "number", "page1"),
        ("page2", "page", "visitor-survey"),
        ("group2", "rowgroup", "page2"),
        ("group2[1]", "row", "group2"),
        ("group2[1].question3", "text", "group2[1]"),
        ("group2[1].question4", "text", "group2[1]"),
        ("group2[1].question5", "text", "group2[1]"),
        ("group2[3]", "row", "group2"),
        ("group2[3].question3", "text", "group2[3]"),
        ("group2[3].question4", "text", "group2[3]"),
        ("group2[3].question5", "text", "group2[3]"),
    ]
    assert ev.pages == ["page1", "page2"]
    assert ev.errors == [{"id": "group2[3].question3", "code": "REQUIRED",
                          "message": "This answer is required"}]
    assert ev.errors_on_page("page2") == ev.errors
    assert ev.errors_on_page("page1") == []
    q2 = ev.item("question2")
    assert q2 is not None and q2.value == ["a"]
    assert q2.value_set == [{"id": "a", "label": "Red"}, {"id": "b", "label": "Blue"}]


# -- activeWhen, required, validations -------------------------------------------------------


def test_inactive_page_makes_its_items_inactive_and_unchecked() -> None:
    ev = run({"question1": "skip"}, {"group2": [1]})
    assert ev.pages == ["page1"]
    assert state(ev, "page2") == {"active": False, "required": False, "errors": []}
    # question3 is required and unanswered, but inactive: neither required nor an error
    assert state(ev, "group2[1].question3") == {"active": False, "required": False, "errors": []}
    assert ev.errors == []


def test_active_when_on_groups_and_questions() -> None:
    doc = small_form(
        {"id": "kind", "type": "text"},
        {"id": "g", "type": "group", "activeWhen": {"==": [{"var": "kind"}, "b"]}, "items": [
            {"id": "inner", "type": "number", "required": True,
             "validations": [{"rule": {">": [{"var": "inner"}, 10]}}]},
        ]},
        {"id": "q", "type": "text", "required": True, "activeWhen": {"==": [{"var": "kind"}, "a"]}},
    )
    assert problems(doc) == []
    ev = run({"inner": 1}, document=doc)
    assert state(ev, "g") == {"active": False, "required": False, "errors": []}
    assert state(ev, "inner") == {"active": False, "required": False, "errors": []}
    assert state(ev, "q") == {"active": False, "required": False, "errors": []}
    ev = run({"kind": "b", "inner": 1}, document=doc)
    assert state(ev, "inner") == {"active": True, "required": True,
                                  "errors": ["This answer is not valid"]}
    ev = run({"kind": "a"}, document=doc)
    assert state(ev, "q") == {"active": True, "required": True,
                              "errors": ["This answer is required"]}
    assert ev.errors == [{"id": "q", "code": "REQUIRED", "message": "This answer is required"}]


def test_required_as_a_rule() -> None:
    doc = small_form(
        {"id": "member", "type": "boolean"},
        {"id": "number", "type": "text", "required": {"==": [{"var": "member"}, True]}},
    )
    assert problems(doc) == []
    assert state(run({"member": False}, document=doc), "number")["required"] is False
    assert state(run({"member": True}, document=doc), "number") == {
        "active": True, "required": True, "errors": ["This answer is required"]}
    assert state(run({"member": True, "number": "7"}, document=doc), "number")["errors"] == []


def test_validations_apply_only_to_answered_items() -> None:
    ev = run({"question1": "x"})
    assert state(ev, "age")["errors"] == []  # unanswered, not required: no error
    ev = run({"question1": "x", "age": -2})
    assert ev.errors == [{"id": "age", "code": "VALIDATION", "message": "Age cannot be negative"}]
    ev = run({"question1": ""})  # an empty string is no answer
    assert ev.errors == [{"id": "question1", "code": "REQUIRED",
                          "message": "This answer is required"}]


def test_every_failing_validation_is_reported_in_the_language() -> None:
    doc = small_form({"id": "n", "type": "decimal", "validations": [
        {"rule": {">": [{"var": "n"}, 0]}, "message": {"en": "positive", "fi": "positiivinen"}},
        {"rule": {"<": [{"var": "n"}, -5]}, "message": {"en": "small"}},
    ]})
    assert problems(doc) == []
    ev = run({"n": -1.5}, document=doc, language="fi")
    assert state(ev, "n")["errors"] == ["positiivinen", "small"]


# -- row groups -----------------------------------------------------------------------------


def test_a_row_sees_its_own_row() -> None:
    ev = run({"question1": "x", "group2[1].question4": "", "group2[2].question4": "b"},
             {"group2": [1, 2]})
    assert state(ev, "group2[1].question5")["active"] is False  # its row's question4 is ""
    assert state(ev, "group2[2].question5")["active"] is True


def test_rules_outside_a_row_group_see_a_list_per_row_item() -> None:
    doc = small_form(
        {"id": "people", "type": "rowgroup", "items": [{"id": "age", "type": "number"}]},
        {"id": "adults", "type": "note",
         "activeWhen": {"some": [{"var": "age"}, {">=": [{"var": ""}, 18]}]}},
        variables=[{"id": "oldest", "expression": {"max": [{"var": "age.0"}, {"var": "age.1"}]}}],
    )
    assert problems(doc) == []
    ev = run({"people[1].age": 12, "people[2].age": 40}, {"people": [1, 2]}, document=doc)
    assert state(ev, "adults")["active"] is True
    assert ev.variables == {"oldest": 40}
    ev = run({"people[1].age": 12}, {"people": [1]}, document=doc)
    assert state(ev, "adults")["active"] is False


def test_deleted_rows_keep_numbers() -> None:
    ev = run({"question1": "x", "group2[2].question3": "d"}, {"group2": [2]})
    assert [s.id for s in ev.items if s.type == "row"] == ["group2[2]"]
    assert ev.errors == []


# -- variables -------------------------------------------------------------------------------


def test_context_and_expression_variables() -> None:
    doc = small_form(
        {"id": "q", "type": "number", "validations": [
            {"rule": {"<=": [{"var": "q"}, {"var": "limit"}]}, "message": {"en": "too many"}}]},
        {"id": "web", "type": "note", "activeWhen": {"==": [{"var": "context.channel"}, "web"]}},
        variables=[
            {"id": "base", "context": True, "type": "number"},
            {"id": "channel", "context": True, "type": "text", "default": "web"},
            {"id": "limit", "expression": {"*": [{"var": "double"}, 1]}},
            {"id": "double", "expression": {"*": [{"var": "context.base"}, 2]}},
        ],
    )
    assert problems(doc) == []
    values, found = context_problems(form(doc), [{"id": "base", "value": 5}])
    assert (values, found) == ({"base": 5, "channel": "web"}, [])
    ev = run({"q": 11}, context=values, document=doc)
    assert ev.variables == {"limit": 10, "double": 10}
    assert state(ev, "q")["errors"] == ["too many"]
    assert state(ev, "web")["active"] is True
    ev = run({"q": 10}, context={"base": 5, "channel": "app"}, document=doc)
    assert ev.errors == [] and state(ev, "web")["active"] is False


def test_context_problems() -> None:
    values, found = context_problems(form(), [
        {"id": "contextVar2", "value": 7}, {"id": "other", "value": 1},
    ])
    assert values == {}
    assert found == [
        {"pointer": "/context/0/value", "id": "contextVar2", "message": "contextVar2 must be a string"},
        {"pointer": "/context/1/id", "id": "other",
         "message": "other is not a context variable of this form"},
        {"pointer": "/context", "id": "contextVar1",
         "message": "context variable contextVar1 is required (it has no default)"},
    ]
    values, found = context_problems(form(), [{"id": "contextVar1", "value": 21},
                                              {"id": "contextVar2", "value": "test"}])
    assert (values, found) == ({"contextVar1": 21, "contextVar2": "test"}, [])


# -- answers ---------------------------------------------------------------------------------


TYPED = small_form(
    {"id": "t", "type": "text"}, {"id": "n", "type": "number"}, {"id": "d", "type": "decimal"},
    {"id": "b", "type": "boolean"}, {"id": "day", "type": "date"}, {"id": "at", "type": "time"},
    {"id": "one", "type": "list", "valueSet": "vs"}, {"id": "many", "type": "multichoice", "valueSet": "vs"},
    {"id": "info", "type": "note"},
    {"id": "rg", "type": "rowgroup", "items": [{"id": "r", "type": "text"}]},
    value_sets=[{"id": "vs", "entries": [{"id": "a"}, {"id": "b"}]}],
)


@pytest.mark.parametrize(("answer_id", "value", "problem"), [
    ("t", "hello", None), ("t", 3, "t must be a string"),
    ("n", 3, None), ("n", 3.0, None), ("n", 3.5, "n must be an integer"),
    ("n", True, "n must be an integer"), ("n", "3", "n must be an integer"),
    ("d", 3.5, None), ("d", 3, None), ("d", "3.5", "d must be a number"),
    ("b", False, None), ("b", 0, "b must be true or false"),
    ("day", "2026-02-28", None), ("day", "2026-02-30", "day must be a date YYYY-MM-DD"),
    ("at", "23:59", None), ("at", "12:00:30", None), ("at", "24:00", "at must be a time HH:MM[:SS]"),
    ("one", "a", None), ("one", "c", "one: 'c' is not in value set vs"),
    ("many", ["a", "b"], None), ("many", "a", "many must be a list of choices"),
    ("many", ["a", "a"], "many: a choice is given twice"),
    ("many", ["z"], "many: 'z' is not in value set vs"),
    ("info", "x", "info is a note, not a question"), ("p1", "x", "p1 is a page, not a question"),
    ("nothing", "x", "nothing is not an item of this form"),
    ("r", "x", "r is in row group rg: answer rg[<row>].r"),
    ("rg[4].r", "x", None), ("rg[4].r", 4, "r must be a string"),
    ("t[1].r", "x", "t is not a row group of this form"),
    ("rg[1].t", "x", "t is not an item of row group rg"),
    ("t", None, None),
])
def test_answer_problem(answer_id: str, value: Any, problem: str | None) -> None:
    assert problems(copy.deepcopy(TYPED)) == []
    assert answer_problem(form(TYPED), answer_id, value) == problem


def test_a_stored_answer_of_the_wrong_type_is_an_error() -> None:
    ev = run({"n": "three", "many": ["a"]}, document=TYPED)
    assert ev.errors == [{"id": "n", "code": "TYPE", "message": "n must be an integer"}]


# -- labels ------------------------------------------------------------------------------------


def test_labels_in_the_language_with_fallback() -> None:
    ev = run(language="fi")
    labels = {s.id: s.label for s in ev.items}
    assert labels["visitor-survey"] == "Kävijäkysely"
    assert labels["question1"] == "Nimi"
    assert labels["page1"] == "About you"  # no Finnish: the form's first language
    assert labels["age"] is None
    ev = run(language="sv")  # not a language of the form: the first one
    assert ev.item("question1") is not None and ev.item("question1").label == "Name"  # type: ignore[union-attr]
    only_fi = small_form({"id": "q", "type": "text", "label": {"fi": "Kysymys"}})
    assert run(document=only_fi, language="en").item("q").label == "Kysymys"  # type: ignore[union-attr]


# -- checks on save ------------------------------------------------------------------------


def refused(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(p["item"], p["pointer"], p["message"]) for p in problems(doc)]


def test_unknown_names_and_operators() -> None:
    doc = small_form(
        {"id": "a", "type": "text", "activeWhen": {"==": [{"var": "context.nope"}, 1]}},
        {"id": "b", "type": "text", "required": {"frobnicate": [1]}},
        {"id": "c", "type": "text", "activeWhen": {"!!": {"var": "p1"}}},
        {"id": "d", "type": "text", "activeWhen": {"!!": {"var": {"cat": ["a"]}}}},
        {"id": "e", "type": "text", "activeWhen": {"!": {"missing": ["a", "zz"]}}},
        {"id": "g", "type": "number", "activeWhen": {">": [
            {"reduce": [[1], {"+": [{"var": "current"}, {"var": "accumulator"}]}, {"var": "a"}]},
            1]}},
    )
    assert refused(doc) == [
        ("a", "/items/0/items/0/activeWhen/==/0", "context.nope names no context variable of this form"),
        ("b", "/items/0/items/1/required", "unknown JSON Logic operator frobnicate"),
        ("c", "/items/0/items/2/activeWhen/!!", "p1 is a page: only questions have answers"),
        ("d", "/items/0/items/3/activeWhen/!!",
         "a variable name must be a literal string, not {'cat': ['a']}"),
        ("e", "/items/0/items/4/activeWhen/!", "zz names no item or variable of this form"),
        ("g", "/items/0/items/5/activeWhen/>/0", "reduce's initial value must be a literal"),
    ]


def test_types_are_checked_where_evident() -> None:
    doc = small_form(
        {"id": "n", "type": "number", "validations": [{"rule": {"+": [{"var": "n"}, 1]}}]},
        {"id": "t", "type": "text", "activeWhen": {"==": [{"var": "t2"}, True]}},
        {"id": "t2", "type": "text", "required": {"-": [{"var": "t"}, 1]}},
        {"id": "m", "type": "multichoice", "valueSet": "vs",
         "validations": [{"rule": {"<": [{"var": "m"}, ["a"]]}}]},
        {"id": "fine", "type": "number", "activeWhen": {"and": [{">": [{"var": "n"}, 1]}, True]}},
        value_sets=[{"id": "vs", "entries": [{"id": "a"}]}],
    )
    assert refused(doc) == [
        ("n", "/items/0/items/0/validations/0/rule", "a rule here must be boolean-valued, not number"),
        ("t", "/items/0/items/1/activeWhen",
         "== compares a boolean with a string: json-logic-js would coerce them"),
        ("t2", "/items/0/items/2/required", "- takes numbers, not a string"),
        ("t2", "/items/0/items/2/required", "a rule here must be boolean-valued, not number"),
        ("m", "/items/0/items/3/validations/0/rule", "< cannot compare lists (use in, all, some)"),
    ]


def test_row_items_are_scalars_in_their_row_and_lists_elsewhere() -> None:
    doc = small_form(
        {"id": "a", "type": "rowgroup", "items": [
            {"id": "a1", "type": "text"},
            {"id": "a2", "type": "text", "activeWhen": {"==": [{"var": "a1"}, "x"]}},
            {"id": "a3", "type": "text", "activeWhen": {"==": [{"var": "b1"}, "x"]}},
        ]},
        {"id": "b", "type": "rowgroup", "items": [{"id": "b1", "type": "text"}]},
        {"id": "c", "type": "text", "activeWhen": {"in": ["x", {"var": "a1"}]}},
        {"id": "d", "type": "text", "activeWhen": {"==": [{"var": "a1"}, "x"]}},
    )
    assert refused(doc) == [
        ("a3", "/items/0/items/0/items/2/activeWhen",
         "== compares an array with a string: json-logic-js would coerce them"),
        ("d", "/items/0/items/3/activeWhen",
         "== compares an array with a string: json-logic-js would coerce them"),
    ]


def test_cycles_are_refused() -> None:
    doc = small_form(
        {"id": "g", "type": "group", "activeWhen": {"!=": [{"var": "inner"}, ""]}, "items": [
            {"id": "inner", "type": "text"}]},
        {"id": "self", "type": "text", "activeWhen": {"!=": [{"var": "via"}, ""]}},
        variables=[{"id": "via", "expression": {"cat": [{"var": "self"}]}},
                   {"id": "x", "expression": {"var": "y"}}, {"id": "y", "expression": {"var": "z"}},
                   {"id": "z", "expression": {"var": "x"}}],
    )
    assert refused(doc) == [
        ("x", "/variables/1/expression",
         "expression variables depend on each other in a cycle: x -> y -> z -> x"),
        ("g", "/items/0/items/0/activeWhen",
         "whether an item is active cannot depend on its own answers: inner"),
        ("self", "/items/0/items/1/activeWhen",
         "whether an item is active cannot depend on its own answers: self"),
    ]


def test_structure_ids_languages_and_defaults() -> None:
    doc = small_form(
        {"id": "f", "type": "text"},
        {"id": "context", "type": "text", "label": {"sv": "Fråga"}},
        {"id": "rg", "type": "rowgroup", "items": [{"id": "inner", "type": "group", "items": []}]},
        {"id": "v", "type": "text"},
        {"id": "l", "type": "list", "valueSet": "nope"},
        variables=[{"id": "v", "context": True, "type": "number", "default": "ten"}],
        value_sets=[{"id": "vs", "entries": [{"id": "a"}, {"id": "a"}]}],
    )
    doc["items"].append({"id": "loose", "type": "text"})
    assert refused(doc) == [
        ("f", "/items/0/items/0/id", "an item cannot have the form's id"),
        ("context", "/items/0/items/1/id", "context is a reserved name"),
        ("context", "/items/0/items/1/label/sv", "language sv is not among the form's languages"),
        ("inner", "/items/0/items/2/items/0/type", "a row group holds questions and notes, not a group"),
        ("v", "/items/0/items/3/id", "v is also a variable's id"),
        ("l", "/items/0/items/4/valueSet", "no value set nope"),
        ("loose", "/items/1/type", "only pages may be at the top"),
        ("vs", "/valueSets/0/entries/1/id", "entry a is in value set vs twice"),
        ("v", "/variables/0/default", "the default must be an integer"),
    ]


# -- json-logic-js semantics (what devices compute) ------------------------------------------


@pytest.mark.parametrize(("rule", "data", "expected"), [
    ({">=": [{"var": "a"}, 0]}, {}, True),  # null >= 0 in JavaScript
    ({"<": [{"var": "a"}, 1]}, {"a": None}, True),
    ({"==": [1, "1.0"]}, {}, True),
    ({"==": [None, 0]}, {}, False),
    ({"==": [None, ""]}, {}, False),
    ({"==": [None, None]}, {}, True),
    ({"!=": [{"var": "a"}, 0]}, {}, True),
    ({"===": [True, 1]}, {}, False),
    ({"===": [1, 1.0]}, {}, True),
    ({"!==": ["1", 1]}, {}, True),
    ({"!=": [{"var": "q"}, ""]}, {}, True),  # an unanswered question is not ""
    ({"!": [[]]}, {}, True),  # [] is falsy in json-logic-js
    ({"!!": ["0"]}, {}, True),
    ({"and": [[], 1]}, {}, []),
    ({"or": [0, "", "x"]}, {}, "x"),
    ({"if": [False, {"/": [1, 0]}, 2]}, {}, 2),  # lazy: the other branch never runs
    ({"in": ["b", ["a", "b"]]}, {}, True),
    ({"in": ["ell", "hello"]}, {}, True),
    ({"cat": ["a", 1, None]}, {}, "a1"),  # Array.join: null is ""
    ({"+": ["1", 2]}, {}, 3),
    ({"var": "q.length"}, {"q": ["a", "b"]}, 2),
    ({"missing": ["a", "b"]}, {"a": 1, "b": ""}, ["b"]),
    ({"log": [5]}, {}, 5),
    ({"/": [1, 0]}, {}, float("inf")),
    ({"%": [-7, 3]}, {}, -1),
    ({"substr": ["hello", -3, 2]}, {}, "ll"),
    ({"merge": [[1], 2, [3]]}, {}, [1, 2, 3]),
])
def test_json_logic_js_semantics(rule: Any, data: dict[str, Any], expected: Any) -> None:
    assert apply(rule, data) == expected


# -- the same answers as json-logic-js, case by case ----------------------------------------

JS_CASES = Path(__file__).parent / "data" / "json_logic_js"


def _as_js(value: Any, top: bool = True) -> Any:
    """A server result as json-logic-js's answers were recorded (JSON.stringify's view)."""
    if isinstance(value, float) and not math.isfinite(value):
        if not top:
            return None  # JSON.stringify writes NaN and Infinity inside a list as null
        return {"nonfinite": "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"}
    if isinstance(value, list):
        return [_as_js(v, False) for v in value]
    return value


def _same(ours: Any, theirs: Any) -> bool:
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return ours is theirs
    if isinstance(ours, (int, float)) and isinstance(theirs, (int, float)):
        return ours == theirs
    if isinstance(ours, list) and isinstance(theirs, list):
        return len(ours) == len(theirs) and all(map(_same, ours, theirs))
    return type(ours) is type(theirs) and bool(ours == theirs)


def test_every_recorded_json_logic_js_answer() -> None:
    """Thousands of rules (tests/data/json_logic_js/make_cases.py) answered by json-logic-js
    2.0.5 (expected.json): the server answers each the same."""
    cases = json.loads((JS_CASES / "cases.json").read_text("utf-8"))
    expected = json.loads((JS_CASES / "expected.json").read_text("utf-8"))
    assert len(cases) == len(expected) > 7000
    differ = [(rule, data, _as_js(apply(rule, data)), want)
              for (rule, data), want in zip(cases, expected, strict=True)
              if not _same(_as_js(apply(rule, data)), want)]
    assert differ == []
