"""A session's view of its form: which items are active and required, their labels, answers
and errors; plus the checks of context values and answers against the form.

Pure functions of (form revision, answers, context, rows, language): no engine, no clock.
The data a rule sees (the same on a device running json-logic-js):
`{<question id>: answer, ..., "context": {<name>: value}, <expression variable>: value}`;
inside a row group's row, that row's answers replace the group's items; outside it, a row
item's var is the list of its answers in row order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .model import (
    CHOICE_TYPES,
    QUESTION_TYPES,
    ROOT_TYPE,
    ROW_ANSWER_ID,
    FormIndex,
    Item,
    index_form,
    is_answered,
    text_in,
    value_problem,
)
from .rules import apply, as_json, operator_of, truthy, var_names, walk

JsonDict = dict[str, Any]

REQUIRED_MESSAGE = "This answer is required"
INVALID_MESSAGE = "This answer is not valid"


@dataclass(frozen=True)
class FormRevision:
    """One exact, immutable revision of a form."""

    form_id: str
    rev: str  # never "LATEST", never a tag name
    document: JsonDict  # the form as the user wrote it

    @cached_property
    def index(self) -> FormIndex:
        return index_form(self.document)


@dataclass
class ItemState:
    id: str
    type: str
    parent: str | None
    active: bool
    required: bool
    label: str | None
    description: str | None
    value: Any
    value_set: list[JsonDict] | None
    errors: list[str] = field(default_factory=list)


@dataclass
class Evaluation:
    items: list[ItemState]
    errors: list[JsonDict]
    pages: list[str]
    variables: dict[str, Any]

    @cached_property
    def _by_id(self) -> dict[str, ItemState]:
        return {state.id: state for state in self.items}

    @cached_property
    def _page_of(self) -> dict[str, str]:
        page_of: dict[str, str] = {}
        for state in self.items:
            if state.type == "page":
                page_of[state.id] = state.id
            elif state.parent in page_of:
                page_of[state.id] = page_of[state.parent]
        return page_of

    def item(self, full_id: str) -> ItemState | None:
        return self._by_id.get(full_id)

    def errors_on_page(self, page_id: str) -> list[JsonDict]:
        return [e for e in self.errors if self._page_of.get(e["id"]) == page_id]


# -- evaluation ----------------------------------------------------------------------------


def rule_data(
    index: FormIndex, answers: dict[str, Any], context: dict[str, Any], rows: dict[str, list[int]]
) -> JsonDict:
    """The data every rule outside a row sees: answers, context, expression variables."""
    data: JsonDict = {}
    for item in index.items.values():
        if not item.is_question:
            continue
        if item.rowgroup is None:
            data[item.id] = answers.get(item.id)
        else:
            data[item.id] = [
                answers.get(f"{item.rowgroup}[{r}].{item.id}") for r in rows.get(item.rowgroup, [])
            ]
    data["context"] = dict(context)
    for var_id in expression_order(index):
        data[var_id] = apply(index.expression_vars[var_id].get("expression"), data)
    return data


def expression_order(index: FormIndex) -> list[str]:
    """Expression variables, each after those it reads (the form was checked for cycles)."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(var_id: str, path: frozenset[str]) -> None:
        if var_id in seen or var_id in path:
            return
        expression = index.expression_vars[var_id].get("expression")
        for op, args, _, in_scope in walk(expression):
            for name in var_names(op, args) if not in_scope else []:
                head = str(name).split(".")[0]
                if head in index.expression_vars:
                    visit(head, path | {var_id})
        seen.add(var_id)
        order.append(var_id)

    for var_id in index.expression_vars:
        visit(var_id, frozenset())
    return order


def evaluate(
    form: FormRevision, answers: dict[str, Any], context: dict[str, Any],
    rows: dict[str, list[int]], language: str,
) -> Evaluation:
    index = form.index
    data = rule_data(index, answers, context, rows)
    variables = {var_id: as_json(data[var_id]) for var_id in index.expression_vars}
    out = _Walker(index, answers, rows, language)
    root_label = text_in(index.document.get("label"), language, index.languages)
    out.items.append(ItemState(index.form_id, ROOT_TYPE, None, True, False, root_label,
                               text_in(index.document.get("description"), language,
                                       index.languages), None, None))
    for item_id in index.top:
        out.visit(index.items[item_id], index.form_id, True, data, None)
    pages = [s.id for s in out.items if s.type == "page" and s.active]
    return Evaluation(out.items, out.errors, pages, variables)


class _Walker:
    def __init__(
        self, index: FormIndex, answers: dict[str, Any], rows: dict[str, list[int]], language: str
    ) -> None:
        self.index = index
        self.answers = answers
        self.rows = rows
        self.language = language
        self.items: list[ItemState] = []
        self.errors: list[JsonDict] = []

    def text(self, texts: Any) -> str | None:
        return text_in(texts, self.language, self.index.languages)

    def visit(
        self, item: Item, parent: str, parent_active: bool, data: JsonDict, row: str | None
    ) -> None:
        raw = item.raw
        full_id = f"{row}.{item.id}" if row else item.id
        active = parent_active and _holds(raw.get("activeWhen", True), data)
        value = self.answers.get(full_id) if item.is_question else None
        required = active and item.is_question and _holds(raw.get("required", False), data)
        state = ItemState(
            full_id, item.type, parent, active, required, self.text(raw.get("label")),
            self.text(raw.get("description")), value, self.value_set(item),
        )
        self.items.append(state)
        if active and item.is_question:
            self.check(item, state, data)
        if item.type == "rowgroup":
            for number in self.rows.get(item.id, []):
                row_id = f"{item.id}[{number}]"
                self.items.append(ItemState(row_id, "row", full_id, active, False, None, None,
                                            None, None))
                row_data = dict(data)
                for child_id in item.children:
                    if self.index.items[child_id].is_question:
                        row_data[child_id] = self.answers.get(f"{row_id}.{child_id}")
                for child_id in item.children:
                    self.visit(self.index.items[child_id], row_id, active, row_data, row_id)
            return
        for child_id in item.children:
            self.visit(self.index.items[child_id], full_id, active, data, row)

    def value_set(self, item: Item) -> list[JsonDict] | None:
        if item.type not in CHOICE_TYPES:
            return None
        entries = self.index.value_sets.get(str(item.raw.get("valueSet")), {})
        return [{"id": e_id, "label": self.text(e.get("label"))} for e_id, e in entries.items()]

    def check(self, item: Item, state: ItemState, data: JsonDict) -> None:
        def error(code: str, message: str) -> None:
            state.errors.append(message)
            self.errors.append({"id": state.id, "code": code, "message": message})

        if not is_answered(state.value):
            if state.required:
                error("REQUIRED", REQUIRED_MESSAGE)
            return
        problem = _value_problem(self.index, item, state.value)
        if problem is not None:
            error("TYPE", problem)
            return
        for validation in item.raw.get("validations") or []:
            if not _holds(validation.get("rule"), data):
                error("VALIDATION", self.text(validation.get("message")) or INVALID_MESSAGE)


def _holds(rule: Any, data: JsonDict) -> bool:
    if isinstance(rule, bool):
        return rule
    return truthy(apply(rule, data))


# -- checks of what a session is given -------------------------------------------------------


def context_problems(form: FormRevision, context: list[JsonDict]) -> tuple[dict[str, Any], list[JsonDict]]:
    """Context values by variable id with defaults applied, and the problems with `context`."""
    declared = form.index.context_vars
    values: dict[str, Any] = {}
    problems: list[JsonDict] = []
    for i, entry in enumerate(context):
        var_id = str(entry.get("id"))
        var = declared.get(var_id)
        if var is None:
            problems.append({"pointer": f"/context/{i}/id", "id": var_id,
                             "message": f"{var_id} is not a context variable of this form"})
            continue
        if var_id in values:
            problems.append({"pointer": f"/context/{i}/id", "id": var_id,
                             "message": f"{var_id} is given more than once"})
            continue
        value = entry.get("value")
        wrong = value_problem(str(var.get("type")), value)
        if wrong is not None:
            problems.append({"pointer": f"/context/{i}/value", "id": var_id,
                             "message": f"{var_id} {wrong}"})
            continue
        values[var_id] = value
    for var_id, var in declared.items():
        if var_id in values or any(p["id"] == var_id for p in problems):
            continue
        if "default" in var:
            values[var_id] = var["default"]
        else:
            problems.append({"pointer": "/context", "id": var_id,
                             "message": f"context variable {var_id} is required (it has no default)"})
    return values, problems


def answer_problem(form: FormRevision, answer_id: str, value: Any) -> str | None:
    """None when `value` may be the answer `answer_id`; else why not. null clears an answer."""
    index = form.index
    match = ROW_ANSWER_ID.match(answer_id)
    if match:
        group_id, _, item_id = match.groups()
        group = index.items.get(group_id)
        if group is None or group.type != "rowgroup":
            return f"{group_id} is not a row group of this form"
        item = index.items.get(item_id)
        if item is None or item.rowgroup != group_id:
            return f"{item_id} is not an item of row group {group_id}"
    else:
        item = index.items.get(answer_id)
        if item is None:
            return f"{answer_id} is not an item of this form"
        if item.rowgroup is not None:
            return f"{answer_id} is in row group {item.rowgroup}: answer {item.rowgroup}[<row>].{answer_id}"
    if item.type not in QUESTION_TYPES:
        return f"{item.id} is a {item.type}, not a question"
    if value is None:
        return None
    return _value_problem(index, item, value)


def _value_problem(index: FormIndex, item: Item, value: Any) -> str | None:
    if item.type in CHOICE_TYPES:
        entries = index.value_sets.get(str(item.raw.get("valueSet")), {})
        choices = value if item.type == "multichoice" else [value]
        if item.type == "multichoice" and not isinstance(value, list):
            return f"{item.id} must be a list of choices"
        for choice in choices:
            if not isinstance(choice, str) or choice not in entries:
                return f"{item.id}: {choice!r} is not in value set {item.raw.get('valueSet')}"
        if len(set(choices)) != len(choices):
            return f"{item.id}: a choice is given twice"
        return None
    problem = value_problem(item.type, value)
    return None if problem is None else f"{item.id} {problem}"


def referenced_names(rule: Any) -> list[str]:
    """The literal names a rule reads (its vars outside map/filter/... element rules)."""
    names: list[str] = []
    for op, args, _, in_scope in walk(rule):
        if not in_scope:
            names.extend(str(n) for n in var_names(op, args) if isinstance(n, str))
    return names


__all__ = [
    "Evaluation", "FormRevision", "ItemState", "answer_problem", "context_problems", "evaluate",
    "operator_of", "referenced_names",
]
