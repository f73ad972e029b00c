"""The OpenAPI 3.1 document, built from the routes table and the same `schemas/` files.

Each schema file becomes `components/schemas/<file name>`, and each of its `$defs` a component
of its own (`<file name>.<definition>`): every `$ref` then names a whole component, the form
every OpenAPI tool looks up. Components lose their `$id`, which would be the base their
`#/components/...` references resolve against (Swagger UI then fails to resolve them).
Answers are described by `schemas/answers.json`; error answers are rendered from the error
catalogue, so their examples are what the service sends.
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from . import __version__
from .errors import ApiError
from .middlewares import COUCH_SHAPED_PREFIXES
from .schemas import SCHEMA_BASE, SchemaRegistry
from .settings import Settings

if TYPE_CHECKING:
    from .routes import Route

JsonDict = dict[str, Any]
_PATH_PARAM = re.compile(r"\{([^}:]+)(:[^}]*)?\}")
ANSWERS = "answers"

# What each error status means, and the catalogue entry its example shows.
ERROR_STATUSES: dict[int, tuple[str, int]] = {
    400: ("Not JSON, not the body's schema, or a bad or unknown query parameter", 1002),
    401: ("No or bad credentials", 1101),
    403: ("Not allowed for the caller's roles, or (a device) naming another device or owner", 1102),
    404: ("No such resource", 1201),
    409: ("A stale or missing revision, or a name, badge or idempotency key already used", 1601),
    412: ("A limit of the interaction type's rules is reached", 740),
    413: ("Body or batch too large", 1003),
    408: ("The body did not arrive in time", 1005),
    415: ("Body must be application/json", 1004),
    422: ("Well-formed, but it does not fit (the type, the form or the session)", 1502),
    429: ("Too many failed logins: retry after the Retry-After seconds", 1103),
    503: ("Engine unavailable: retry after the Retry-After seconds", 1901),
}
# The not-found and does-not-fit errors each area answers, for examples that read true.
_AREA_CODES: dict[str, dict[int, int]] = {
    "delegate": {404: 1301},
    "device": {404: 1401},
    "interaction": {404: 1504},
    "form": {404: 2102, 422: 2203},
    "questionnaire": {404: 2201, 422: 2204},
}
_SUCCESS = {200: "OK", 201: "Created", 204: "Done: no content"}


def component_name(schema_name: str, definition: str | None = None) -> str:
    name = schema_name.replace("/", ".")
    return name if definition is None else f"{name}.{definition}"


def component_ref(schema_name: str, definition: str | None = None) -> JsonDict:
    return {"$ref": f"#/components/schemas/{component_name(schema_name, definition)}"}


def _rewrite_refs(node: Any, base: str) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                value = _component_target(urljoin(base, value))
            out[key] = _rewrite_refs(value, base)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, base) for v in node]
    return node


def _component_target(target: str) -> str:
    document, _, fragment = target.partition("#")
    if not document.startswith(SCHEMA_BASE):
        return target
    name = document[len(SCHEMA_BASE):].removesuffix(".json")
    parts = fragment.split("/")
    if len(parts) >= 3 and parts[1] == "$defs":
        rest = "/".join(parts[3:])
        return f"#/components/schemas/{component_name(name, parts[2])}" + (f"/{rest}" if rest else "")
    return f"#/components/schemas/{component_name(name)}{fragment}"


def _components(schemas: SchemaRegistry) -> JsonDict:
    components: JsonDict = {}
    for name, document in schemas.documents.items():
        embedded = _rewrite_refs(copy.deepcopy(document), document["$id"])
        # Inside the OpenAPI document a component's `$id` would change what its `$ref`s mean.
        for keyword in ("$schema", "$id"):
            embedded.pop(keyword, None)
        for definition, schema in embedded.pop("$defs", {}).items():
            components[component_name(name, definition)] = schema
        if set(embedded) - {"title", "description"}:
            components[component_name(name)] = embedded
    return components


def _example_of(schemas: SchemaRegistry, name: str, definition: str | None = None) -> Any:
    document = schemas.documents[name]
    schema = document if definition is None else document["$defs"][definition]
    examples = schema.get("examples")
    return examples[0] if examples else None


def _parameters(route: Route, settings: Settings) -> list[JsonDict]:
    declared = {(p.where, p.name): p for p in route.params}
    found = []
    for match in _PATH_PARAM.finditer(route.path):
        param = declared.get(("path", match.group(1)))
        entry: JsonDict = {"name": match.group(1), "in": "path", "required": True,
                           "schema": {"type": "string"}}
        if param is not None:
            entry.update({"description": param.description, "schema": param.schema_for(settings)})
            if param.example is not None:
                entry["example"] = param.example
        found.append(entry)
    for param in route.params:
        if param.where == "path":
            continue
        entry = {"name": param.name, "in": param.where, "required": param.required,
                 "description": param.description, "schema": param.schema_for(settings)}
        if param.example is not None:
            entry["example"] = param.example
        found.append(entry)
    return found


def accepted(route: Route) -> bool:
    """Does the route write? On a cluster its write may reach fewer copies than the quorum: then
    it answers 202 instead of its success status (Settee-Write-Quorum: not-met)."""
    return route.method in ("POST", "PUT", "DELETE") and bool(route.roles) and route.ok != 202


def error_statuses(route: Route) -> set[int]:
    """The error statuses a route can answer: its own, and those of every route of its kind."""
    statuses = {400, *route.errors}  # 400: any route refuses a query parameter it does not know
    if route.roles:
        statuses |= {401, 403, 429, 503}
    if route.schema is not None:
        statuses |= {408, 413, 415}
    if _PATH_PARAM.search(route.path):
        statuses.add(404)
    return statuses


def _error_response(route: Route, status: int) -> JsonDict:
    description, code = ERROR_STATUSES[status]
    code = _AREA_CODES.get(route.name.split(".")[0], {}).get(status, code)
    error = ApiError(code)
    couch_shaped = route.path.startswith(COUCH_SHAPED_PREFIXES)
    example = error.couch_shape() if couch_shaped else error.envelope()
    shape = "sessionApiError" if couch_shaped else "interactionApiError"
    response: JsonDict = {
        "description": description,
        "content": {"application/json": {"schema": component_ref(ANSWERS, shape), "example": example}},
    }
    if status == 503:
        response["headers"] = {"Retry-After": {"description": "Seconds to wait before retrying",
                                               "schema": {"type": "integer"}}}
    return response


def _success_response(route: Route, schemas: SchemaRegistry) -> JsonDict:
    response: JsonDict = {"description": _SUCCESS.get(route.ok, "OK")}
    if route.ok == 204:
        return response
    if route.answer is not None:
        media: JsonDict = {"schema": component_ref(ANSWERS, route.answer)}
        example = _example_of(schemas, ANSWERS, route.answer)
        if example is not None:
            media["example"] = example
        response["content"] = {"application/json": media}
    elif route.media == "text/html":
        response["content"] = {"text/html": {"schema": {"type": "string"}}}
    elif route.media == "application/json":
        # JSON whose shape another document defines (Dialob's swagger, @dialob/fill-api).
        media = {"schema": component_ref(ANSWERS, "dialob"),
                 "example": _example_of(schemas, ANSWERS, "dialob")}
        response["content"] = {"application/json": media}
    else:
        # Stored bytes, answered with the type they were stored with (image/png, ...).
        response["content"] = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
    return response


def _operation(route: Route, schemas: SchemaRegistry, settings: Settings) -> JsonDict:
    operation: JsonDict = {
        "operationId": route.name,
        "summary": route.summary,
        "tags": [route.name.split(".")[0]],
    }
    parameters = _parameters(route, settings)
    if parameters:
        operation["parameters"] = parameters
    if route.schema is not None:
        media = {"schema": component_ref(route.schema)}
        example = _example_of(schemas, route.schema)
        if example is not None:
            media["example"] = example
        operation["requestBody"] = {"required": True, "content": {"application/json": media}}
    responses = {str(route.ok): _success_response(route, schemas)}
    if accepted(route):
        responses["202"] = {**responses[str(route.ok)], "description":
                            "Accepted by fewer copies of a cluster than its write quorum (header "
                            "Settee-Write-Quorum: not-met): the write stands, not yet everywhere"}
    for status in sorted(error_statuses(route)):
        responses[str(status)] = _error_response(route, status)
    operation["responses"] = responses
    if route.roles:
        operation["security"] = [{"basic": []}, {"cookie": []}]
        operation["description"] = "Roles: " + ", ".join(sorted(route.roles))
    return operation


def documented(route: Route) -> bool:
    """Routes without a summary (a redirect, static files) are not part of the API."""
    return route.summary != ""


def build(routes: list[Route], schemas: SchemaRegistry, settings: Settings) -> JsonDict:
    paths: JsonDict = {}
    for route in routes:
        if not documented(route):
            continue
        path = _PATH_PARAM.sub(lambda m: "{" + m.group(1) + "}", route.path)
        paths.setdefault(path, {})[route.method.lower()] = _operation(route, schemas, settings)

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Settee",
            "version": __version__,
            "description": "Event data capture on CouchDB: the Interaction API "
            "(/interaction, /delegate, /device; answers in a {data, meta} envelope) and the "
            "Session API (/api/...; errors in CouchDB's {error, reason, details} shape).",
        },
        "paths": paths,
        "components": {
            "schemas": _components(schemas),
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "AuthSession"},
            },
        },
    }
