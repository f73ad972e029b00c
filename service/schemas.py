"""JSON Schemas: every file under `schemas/` loaded and checked once, one validator per use.

Files reach each other by `$ref` relative to their `$id` (all under `SCHEMA_BASE`).
`validate` turns violations into the service's 1002 error, with a JSON pointer per problem,
most relevant first.

Each schema is compiled twice: jsonschema-rs (compiled Rust) answers "valid?" in a fraction of
a microsecond on the hot path; only an invalid instance goes through `jsonschema`, the
reference implementation, whose messages and pointers the API answers with.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError, ValidationError, relevance
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .errors import ApiError
from .settings import PROJECT_ROOT

SCHEMAS_DIR = PROJECT_ROOT / "schemas"
SCHEMA_BASE = "https://settee.example/schemas/"

JsonDict = dict[str, Any]


class SchemaFileError(ValueError):
    """A schema file (an interaction type's among them) that cannot be used, named with the
    place of the problem: start-up stops on it."""


def json_pointer(parts: Iterable[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _problem(error: ValidationError, prefix: str) -> JsonDict:
    path = list(error.absolute_path)
    message = error.message
    if error.validator == "required" and isinstance(error.instance, dict):
        # Point at the missing member itself (each error names one), not at the object.
        missing = [p for p in error.validator_value
                   if p not in error.instance and error.message.startswith(repr(p))]
        if missing:
            path.append(missing[0])
    elif error.validator in ("oneOf", "anyOf") and isinstance(error.schema, dict) \
            and isinstance(error.schema.get("description"), str):
        # "is not valid under any of the given schemas" says nothing: say what would be.
        message = f"{error.instance!r} is not {error.schema['description']}"
    return {"pointer": prefix + json_pointer(path), "message": message}


def _integer(checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


# "integer" means an integer as written: JSON Schema also counts 8.0, which would then be
# stored as a decimal where an id is meant (docs/SECURITY.md, "Request parsing").
StrictValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _integer),
)
# Set by the request parser when the body holds a number like 8.0: the fast check (which
# follows JSON Schema and takes it for an integer) is then skipped for the exact one.
integral_floats: ContextVar[bool] = ContextVar("integral_floats", default=False)


class SchemaRegistry:
    """All schemas by file name (relative to `schemas/`, without `.json`) and by `$id`."""

    def __init__(self, root: Path = SCHEMAS_DIR) -> None:
        self.root = root
        self.documents: dict[str, JsonDict] = {}
        resources = []
        for path in sorted(root.rglob("*.json")):
            name = path.relative_to(root).with_suffix("").as_posix()
            try:
                contents = json.loads(path.read_text("utf-8"))
            except json.JSONDecodeError as exc:
                raise SchemaFileError(f"{path} line {exc.lineno} column {exc.colno}: "
                                      f"{exc.msg}") from None
            expected_id = SCHEMA_BASE + name + ".json"
            if not isinstance(contents, dict) or contents.get("$id") != expected_id:
                raise SchemaFileError(f"{path}: $id must be {expected_id}")
            try:
                Draft202012Validator.check_schema(contents)
            except SchemaError as exc:
                where = json_pointer(exc.absolute_path) or "/"
                raise SchemaFileError(f"{path}: {where}: {exc.message}") from None
            self.documents[name] = contents
            resources.append((expected_id, Resource.from_contents(contents, DRAFT202012)))
        self.registry: Registry[Any] = Registry().with_resources(resources)
        self.fast_registry = jsonschema_rs.Registry(
            [(SCHEMA_BASE + name + ".json", doc) for name, doc in self.documents.items()])
        self._validators: dict[str, Validator] = {}

    def __contains__(self, name: str) -> bool:
        return name in self.documents

    def validator(self, name: str) -> Validator:
        if name not in self._validators:
            self._validators[name] = self.validator_for(self.documents[name])
        return self._validators[name]

    def validator_for(self, schema: JsonDict) -> Validator:
        """A validator for a schema that is not a file (an interaction type's part, say)."""
        return Validator(
            StrictValidator(schema, registry=self.registry),
            jsonschema_rs.Draft202012Validator(schema, registry=self.fast_registry),
        )

    def names(self, prefix: str = "") -> list[str]:
        return [name for name in self.documents if name.startswith(prefix)]


class Validator:
    """One schema, compiled for the fast check and for the exact report."""

    def __init__(self, exact: Draft202012Validator, fast: Any) -> None:
        self.exact = exact
        self.fast = fast

    @property
    def schema(self) -> Any:
        return self.exact.schema


def problems(validator: Validator, instance: Any, prefix: str = "") -> list[JsonDict]:
    if not integral_floats.get() and validator.fast.is_valid(instance):
        return []
    errors = sorted(validator.exact.iter_errors(instance), key=relevance)
    return [_problem(e, prefix) for e in errors]


def validate(
    validator: Validator, instance: Any, *, prefix: str = "",
    internal_code: int = 1002, message: str | None = None,
) -> None:
    found = problems(validator, instance, prefix)
    if found:
        first = found[0]
        raise ApiError(
            internal_code,
            message or f"{first['pointer'] or '/'}: {first['message']}",
            details=found,
        )
