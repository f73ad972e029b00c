"""JSON Logic on the server, with the semantics of json-logic-js (what devices run).

The evaluator is panzi-json-logic (see setup.cfg and docs/FORMS.md "Rules" for why): its
dispatch and special forms (`if`, `and`, `or`, `map`, `filter`, `reduce`, `all`, `some`, `none`)
with json-logic-js's operations written out with JavaScript's coercions (`jsops`), and no
operator that json-logic-js lacks, so a rule answers here what it answers on a device
(tests/test_rules.py replays thousands of json-logic-js answers).
This module also reads rules without running them: the names they use, their operators and
a cheap inferred type, for the checks made when a form is saved.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from typing import Any

from json_logic import jsonLogic
from json_logic.builtins import BUILTINS

from . import jsops

log = logging.getLogger(__name__)

# Operators whose first argument is a list and whose second runs on each element (own scope).
SCOPED_OPERATORS = frozenset({"map", "filter", "reduce", "all", "some", "none"})
# json-logic-js's operators; `if`/`?:`/`and`/`or` and the scoped ones are special forms.
OPERATORS = frozenset(BUILTINS) | SCOPED_OPERATORS | {"if", "?:", "and", "or"}


# json-logic-js's operations with JavaScript's coercions (jsops) over the library's.
_OPERATIONS: dict[str, Any] = {**BUILTINS, **jsops.OPERATIONS}

BOOLEAN_OPERATORS = frozenset(
    {"==", "===", "!=", "!==", "<", ">", "<=", ">=", "!", "!!", "in", "all", "some", "none"}
)
NUMBER_OPERATORS = frozenset({"+", "-", "*", "/", "%", "min", "max"})
STRING_OPERATORS = frozenset({"cat", "substr"})
ARRAY_OPERATORS = frozenset({"merge", "missing", "missing_some", "map", "filter"})
COMPARISONS = frozenset({"==", "===", "!=", "!==", "<", ">", "<=", ">="})

# Inferred types: "boolean", "number", "string", "array", "null", "any" (unknown).
ANY = "any"


def apply(rule: Any, data: dict[str, Any]) -> Any:
    """Run a rule on data; a rule that fails (a division by zero, say) answers null."""
    try:
        return jsonLogic(rule, data, _OPERATIONS)
    except Exception as exc:  # the library raises what Python raises; a rule must not 500
        log.debug("rule %r failed: %s", rule, exc)
        return None


def as_json(value: Any) -> Any:
    """A computed value as JSON.stringify writes it: NaN and Infinity become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def truthy(value: Any) -> bool:
    """json-logic-js's truthiness: [] and "" and 0 and null are false, "0" is true."""
    return jsops.truthy(value)


def operator_of(rule: Any) -> tuple[str, list[Any]] | None:
    """(operator, arguments) of a rule that is an operation; None for a literal."""
    if isinstance(rule, dict) and len(rule) == 1:
        op, args = next(iter(rule.items()))
        return str(op), args if isinstance(args, list) else [args]
    return None


def walk(rule: Any, pointer: str = "") -> Iterator[tuple[str, list[Any], str, bool]]:
    """Every operation in a rule: (operator, arguments, pointer, in_scope), outermost first.

    `in_scope` is True inside the per-element rule (the second argument) of
    map/filter/reduce/all/some/none, where `var` names the element's members, not the form's.
    """
    yield from _walk(rule, pointer, False)


def _walk(rule: Any, pointer: str, in_scope: bool) -> Iterator[tuple[str, list[Any], str, bool]]:
    if isinstance(rule, list):
        for i, part in enumerate(rule):
            yield from _walk(part, f"{pointer}/{i}", in_scope)
        return
    found = operator_of(rule)
    if found is None:
        return
    op, args = found
    yield op, args, pointer, in_scope
    base = f"{pointer}/{_escape(op)}"
    many = isinstance(rule[op], list)
    for i, arg in enumerate(args):
        scoped = in_scope or (op in SCOPED_OPERATORS and i == 1)
        yield from _walk(arg, f"{base}/{i}" if many else base, scoped)


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def var_names(op: str, args: list[Any]) -> list[Any]:
    """The names an operation reads: `var`'s first argument, `missing`'s list."""
    if op == "var":
        return args[:1] if args else [""]
    if op == "missing":
        return list(args[0]) if args and isinstance(args[0], list) else list(args)
    if op == "missing_some":
        return list(args[1]) if len(args) > 1 and isinstance(args[1], list) else []
    return []


def literal_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    return ANY


def result_type(rule: Any, type_of_var: Any) -> str:
    """The type a rule evaluates to, where it is evident; `type_of_var(name)` types a var."""
    found = operator_of(rule)
    if found is None:
        return literal_type(rule)
    op, args = found
    if op == "var":
        if len(args) > 1 or not args or not isinstance(args[0], str):
            return ANY  # a default may be of another type
        return str(type_of_var(args[0]))
    if op in BOOLEAN_OPERATORS:
        return "boolean"
    if op in NUMBER_OPERATORS:
        return "number"
    if op in STRING_OPERATORS:
        return "string"
    if op in ARRAY_OPERATORS:
        return "array"
    return ANY
