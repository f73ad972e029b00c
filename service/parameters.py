"""What a route takes besides its body: path, query and header parameters, declared once beside
the route (`routes.py`). The same declarations build the OpenAPI document and check requests:
a query parameter the route does not declare, or a value outside its declared type and range,
is a 400 that names the problem (and, for an unknown name, the parameters the route knows).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from multidict import MultiMapping

from .errors import ApiError
from .settings import Settings

JsonDict = dict[str, Any]
Where = Literal["path", "query", "header"]
_ASCII_DIGITS = re.compile(r"^[0-9]+$")


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    # A JSON Schema for the value; a function of the settings when a bound is configurable.
    schema: JsonDict | Callable[[Settings], JsonDict]
    where: Where = "query"
    required: bool = False
    example: Any = None

    def schema_for(self, settings: Settings) -> JsonDict:
        return self.schema(settings) if callable(self.schema) else self.schema


def value_problem(param: Param, text: str, settings: Settings) -> str | None:
    """What is wrong with a query or header value for its declared schema (integers, strings,
    enums)."""
    schema = param.schema_for(settings)
    if "enum" in schema and text not in schema["enum"]:
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    if schema.get("type") == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        in_range = f"an integer from {low} to {high}" if high is not None else f"an integer, at least {low}"
        if not _ASCII_DIGITS.match(text):
            return in_range
        value = int(text)
        if (low is not None and value < low) or (high is not None and value > high):
            return in_range
        return None
    if len(text) < schema.get("minLength", 0):
        return "must not be empty" if schema.get("minLength") == 1 else "too short"
    if len(text) > schema.get("maxLength", len(text)):
        return f"at most {schema['maxLength']} characters"
    if "pattern" in schema and not re.search(schema["pattern"], text):
        return param.description
    return None


def check_request(declared: tuple[Param, ...], query: MultiMapping[str],
                  headers: Mapping[str, str], settings: Settings) -> None:
    """Refuse unknown query parameters, repeated ones, and query and header values outside
    their declaration (other headers are not the route's business)."""
    known = {p.name: p for p in declared if p.where == "query"}
    for name in query:
        if name not in known:
            takes = (f"this route takes {', '.join(sorted(known))}" if known
                     else "this route takes no query parameters")
            raise ApiError(1002, f"unknown query parameter {name}: {takes}",
                           details=[{"pointer": f"?{name}", "message": takes}])
        values = query.getall(name)
        if len(values) > 1:
            raise _bad(name, "give it once")
        problem = value_problem(known[name], values[0], settings)
        if problem is not None:
            raise _bad(name, problem)
    for param in declared:
        if param.where == "header" and param.name in headers:
            problem = value_problem(param, headers[param.name], settings)
            if problem is not None:
                raise ApiError(1002, f"header {param.name}: {problem}",
                               details=[{"pointer": "", "message": f"header {param.name}: {problem}"}])


def _bad(name: str, message: str) -> ApiError:
    return ApiError(1002, f"query parameter {name}: {message}",
                    details=[{"pointer": f"?{name}", "message": message}])


# -- the parameters several routes share -----------------------------------------------------


def _limit(default: int | None) -> Param:
    def schema(settings: Settings) -> JsonDict:
        most = settings.max_page_size
        return {"type": "integer", "minimum": 1, "maximum": most,
                "default": most if default is None else min(default, most)}
    return Param("limit", "How many rows at most in this page", schema, example=10)


# Cursors are base64url tokens the service wrote; a client copies them from the links.
_TOKEN = {"type": "string", "minLength": 1, "maxLength": 1000, "pattern": "^[A-Za-z0-9_-]+$"}
_CURSOR = Param("cursor", "Where the next page starts: copied from the `next` link of the page before",
                _TOKEN)
INTERACTION_PAGE = (
    _limit(None),
    Param("offset", "Rows to skip (CouchDB's skip: costs in proportion; prefer the cursor)",
          {"type": "integer", "minimum": 0, "maximum": 10**12, "default": 0}),
    _CURSOR,
    Param("before", "Where the previous page ends: copied from the `previous` link of the page after",
          _TOKEN),
)
SESSION_PAGE = (_limit(100), _CURSOR)
FORM_PAGE = (
    _limit(100),
    Param("cursor", "Where the next page starts (a form id): copied from the `next` link",
          {"type": "string", "minLength": 1, "maxLength": 200}),
)
ID_IN_PATH = Param("id", "The integer id", {"type": "integer", "minimum": 1}, where="path", example=1)
IF_MATCH = Param("If-Match", "The revision this write replaces (as `ETag` gave it): refused when stale",
                 {"type": "string"}, where="header")
REV = Param("rev", "The revision this write replaces (as If-Match): refused when stale",
            {"type": "string", "minLength": 1, "maxLength": 200})
REVISION = (IF_MATCH, REV)
IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "Sent again with the same body, answers the first result instead of creating twice",
    {"type": "string", "minLength": 1, "maxLength": 200}, where="header",
)
