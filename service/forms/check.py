"""The checks a form passes when it is saved, after its JSON Schema (docs/FORMS.md, "Checked on save").

Each problem names the item (or variable) and the JSON pointer concerned; a form with any
problem is refused whole with 400 bad_request.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import ApiError
from .model import (
    CHOICE_TYPES,
    QUESTION_TYPES,
    FormIndex,
    Item,
    index_form,
    value_problem,
)
from .rules import (
    ANY,
    COMPARISONS,
    NUMBER_OPERATORS,
    OPERATORS,
    operator_of,
    result_type,
    var_names,
    walk,
)

JsonDict = dict[str, Any]

RESERVED_IDS = frozenset({"context"})
_SCALAR_TYPE = {
    "text": "string", "date": "string", "time": "string", "list": "string",
    "number": "number", "decimal": "number", "boolean": "boolean", "multichoice": "array",
}


def check_form(document: JsonDict) -> None:
    """Raise 400 bad_request (internal 2101) with every problem of the form, if it has any."""
    found = problems(document)
    if found:
        first = found[0]
        raise ApiError(2101, f"form is not valid: {first['item']}: {first['message']}",
                       details=found)


def problems(document: JsonDict) -> list[JsonDict]:
    index = index_form(document)
    checker = _Checker(index)
    checker.structure()
    checker.variables()
    for item in index.items.values():
        checker.item_rules(item)
    checker.cycles()
    return checker.found


class _Checker:
    def __init__(self, index: FormIndex) -> None:
        self.index = index
        self.found: list[JsonDict] = []
        self.var_pointer = {
            str(v.get("id")): f"/variables/{i}"
            for i, v in enumerate(index.document.get("variables") or [])
        }

    def problem(self, item: str, pointer: str, message: str) -> None:
        self.found.append({"item": item, "pointer": pointer, "message": message})

    # -- ids, nesting, value sets, languages ----------------------------------------------

    def structure(self) -> None:
        index = self.index
        for item_id, pointer in index.duplicates:
            self.problem(item_id, pointer + "/id", f"item id {item_id} is used more than once")
        for item in index.items.values():
            if item.id == index.form_id:
                self.problem(item.id, item.pointer + "/id", "an item cannot have the form's id")
            if item.id in RESERVED_IDS:
                self.problem(item.id, item.pointer + "/id", f"{item.id} is a reserved name")
            if item.id in self.var_pointer:
                self.problem(item.id, item.pointer + "/id", f"{item.id} is also a variable's id")
            at_top = item.parent == index.form_id
            if at_top != (item.type == "page"):
                where = "only pages may be at the top" if at_top else "a page must be at the top"
                self.problem(item.id, item.pointer + "/type", where)
            if item.rowgroup is not None and item.type in ("group", "rowgroup", "page"):
                self.problem(item.id, item.pointer + "/type",
                             f"a row group holds questions and notes, not a {item.type}")
            if item.type in CHOICE_TYPES:
                vs = item.raw.get("valueSet")
                if vs not in index.value_sets:
                    self.problem(item.id, item.pointer + "/valueSet", f"no value set {vs}")
            self.languages(item.id, item.pointer, item.raw)
        seen: set[str] = set()
        for i, vs in enumerate(index.document.get("valueSets") or []):
            vs_id = str(vs.get("id"))
            if vs_id in seen:
                self.problem(vs_id, f"/valueSets/{i}/id", f"value set {vs_id} is defined twice")
            seen.add(vs_id)
            entry_ids = [str(e.get("id")) for e in vs.get("entries") or []]
            for j, entry in enumerate(vs.get("entries") or []):
                if entry_ids.index(str(entry.get("id"))) != j:
                    self.problem(vs_id, f"/valueSets/{i}/entries/{j}/id",
                                 f"entry {entry.get('id')} is in value set {vs_id} twice")
                self.language_map(vs_id, f"/valueSets/{i}/entries/{j}/label", entry.get("label"))
        self.languages(index.form_id, "", index.document)

    def languages(self, owner: str, pointer: str, raw: JsonDict) -> None:
        for key in ("label", "description"):
            self.language_map(owner, f"{pointer}/{key}", raw.get(key))
        for i, validation in enumerate(raw.get("validations") or []):
            self.language_map(owner, f"{pointer}/validations/{i}/message",
                              validation.get("message"))

    def language_map(self, owner: str, pointer: str, texts: Any) -> None:
        if not isinstance(texts, dict):
            return
        for lang in texts:
            if lang not in self.index.languages:
                self.problem(owner, f"{pointer}/{lang}",
                             f"language {lang} is not among the form's languages")

    # -- variables ----------------------------------------------------------------------------

    def variables(self) -> None:
        seen: set[str] = set()
        for i, var in enumerate(self.index.document.get("variables") or []):
            var_id = str(var.get("id"))
            pointer = f"/variables/{i}"
            if var_id in seen:
                self.problem(var_id, pointer + "/id", f"variable {var_id} is defined twice")
            seen.add(var_id)
            if var_id in RESERVED_IDS:
                self.problem(var_id, pointer + "/id", f"{var_id} is a reserved name")
            if var.get("context") is True:
                if "default" in var:
                    wrong = value_problem(str(var.get("type")), var["default"])
                    if wrong:
                        self.problem(var_id, pointer + "/default", f"the default {wrong}")
            else:
                self.rule(var_id, pointer + "/expression", var.get("expression"), None, None)

    # -- rules ----------------------------------------------------------------------------------

    def item_rules(self, item: Item) -> None:
        raw = item.raw
        if "activeWhen" in raw:
            self.rule(item.id, item.pointer + "/activeWhen", raw["activeWhen"], item.rowgroup,
                      "boolean")
        if "required" in raw:
            self.rule(item.id, item.pointer + "/required", raw["required"], item.rowgroup,
                      "boolean")
        for i, validation in enumerate(raw.get("validations") or []):
            self.rule(item.id, f"{item.pointer}/validations/{i}/rule", validation.get("rule"),
                      item.rowgroup, "boolean")

    def rule(self, owner: str, pointer: str, rule: Any, scope: str | None,
             expected: str | None) -> None:
        if isinstance(rule, bool):
            return
        for op, args, at, in_scope in walk(rule):
            here = pointer + at
            if op not in OPERATORS:
                self.problem(owner, here, f"unknown JSON Logic operator {op}")
                continue
            if op == "reduce" and len(args) > 2 and operator_of(args[2]) is not None:
                # json-logic-js evaluates reduce's initial value; the server's library does not.
                self.problem(owner, here, "reduce's initial value must be a literal")
            if in_scope:
                continue  # an element rule of map/filter/...: its vars name the element's members
            for name in var_names(op, args):
                message = self.name_problem(name, scope)
                if message:
                    self.problem(owner, here, message)
            self.operand_types(owner, here, op, args, scope)
        if expected is not None:
            got = result_type(rule, lambda name: self.type_of(name, scope))
            if got not in (expected, ANY):
                self.problem(owner, pointer, f"a rule here must be {expected}-valued, not {got}")

    def name_problem(self, name: Any, scope: str | None) -> str | None:
        if not isinstance(name, str):
            return f"a variable name must be a literal string, not {name!r}"
        head, _, rest = name.partition(".")
        if head == "context":
            if rest not in self.index.context_vars:
                return f"{name} names no context variable of this form"
            return None
        if head in self.index.expression_vars:
            return None
        item = self.index.items.get(head)
        if item is None:
            return f"{name} names no item or variable of this form"
        if item.type not in QUESTION_TYPES:
            return f"{name} is a {item.type}: only questions have answers"
        return None

    def type_of(self, name: str, scope: str | None) -> str:
        head, _, rest = name.partition(".")
        if head == "context":
            var = self.index.context_vars.get(rest)
            return _SCALAR_TYPE.get(str(var.get("type")), ANY) if var else ANY
        if rest:
            return ANY
        if head in self.index.expression_vars:
            expression = self.index.expression_vars[head].get("expression")
            return result_type(expression, lambda _: ANY)
        item = self.index.items.get(head)
        if item is None or item.type not in QUESTION_TYPES:
            return ANY
        if item.rowgroup is not None and item.rowgroup != scope:
            return "array"  # outside its row: the answers of every row
        return _SCALAR_TYPE[item.type]

    def operand_types(self, owner: str, pointer: str, op: str, args: list[Any],
                      scope: str | None) -> None:
        types = [result_type(arg, lambda name: self.type_of(name, scope)) for arg in args]
        known = {t for t in types if t not in (ANY, "null")}
        if op in COMPARISONS and len(known) > 1:
            self.problem(owner, pointer,
                         f"{op} compares {' with '.join(_a(t) for t in sorted(known))}: "
                         "json-logic-js would coerce them")
        elif op in COMPARISONS and known == {"array"}:
            self.problem(owner, pointer, f"{op} cannot compare lists (use in, all, some)")
        if op in NUMBER_OPERATORS and known - {"number"}:
            self.problem(owner, pointer,
                         f"{op} takes numbers, not {' or '.join(_a(t) for t in sorted(known - {'number'}))}")

    # -- cycles -----------------------------------------------------------------------------

    def cycles(self) -> None:
        exprs = self.index.expression_vars
        graph = {var_id: sorted(set(_heads(var.get("expression"))) & set(exprs))
                 for var_id, var in exprs.items()}
        reported: set[str] = set()
        for start in graph:
            cycle = _find_cycle(graph, start)
            if cycle and start not in reported:
                reported.update(cycle)
                self.problem(start, self.var_pointer[start] + "/expression",
                             "expression variables depend on each other in a cycle: "
                             + " -> ".join([*cycle, cycle[0]]))
        for item in self.index.items.values():
            if "activeWhen" not in item.raw:
                continue
            own = {item.id, *self.descendants(item)}
            used = own & set(self.expand(_heads(item.raw["activeWhen"])))
            if used:
                self.problem(item.id, item.pointer + "/activeWhen",
                             "whether an item is active cannot depend on its own answers: "
                             + ", ".join(sorted(used)))

    def descendants(self, item: Item) -> Iterator[str]:
        for child in item.children:
            yield child
            yield from self.descendants(self.index.items[child])

    def expand(self, names: list[str]) -> list[str]:
        """Names, with the items that the expression variables among them read, recursively."""
        out: list[str] = []
        todo = list(names)
        seen: set[str] = set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            out.append(name)
            if name in self.index.expression_vars:
                todo.extend(_heads(self.index.expression_vars[name].get("expression")))
        return out


def _a(type_name: str) -> str:
    return ("an " if type_name[0] in "aeiou" else "a ") + type_name


def _heads(rule: Any) -> list[str]:
    heads: list[str] = []
    for op, args, _, in_scope in walk(rule):
        if not in_scope:
            heads.extend(n.split(".")[0] for n in var_names(op, args) if isinstance(n, str))
    return heads


def _find_cycle(graph: dict[str, list[str]], start: str) -> list[str] | None:
    """A cycle through `start` (as a path from it), if there is one."""
    path: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in path:
            return list(path) if node == start else None
        if node in done:
            return None
        path.append(node)
        for following in graph.get(node, []):
            found = visit(following)
            if found:
                return found
        path.pop()
        done.add(node)
        return None

    return visit(start)
