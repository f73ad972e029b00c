"""The OpenAPI 3.1 document, built from the routes table and the same `schemas/` files.

Each schema file is embedded under `components/schemas/<file name>` with its `$id`; its
relative `$ref`s are rewritten to point there, so Swagger UI needs nothing but this document.
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from . import __version__
from .schemas import SCHEMA_BASE, SchemaRegistry

if TYPE_CHECKING:
    from .routes import Route

JsonDict = dict[str, Any]
_PATH_PARAM = re.compile(r"\{([^}:]+)(:[^}]*)?\}")


def component_name(schema_name: str) -> str:
    return schema_name.replace("/", ".")


def _rewrite_refs(node: Any, base: str) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                target = urljoin(base, value)
                document, _, fragment = target.partition("#")
                if document.startswith(SCHEMA_BASE):
                    name = document[len(SCHEMA_BASE):].removesuffix(".json")
                    value = f"#/components/schemas/{component_name(name)}{fragment}"
            out[key] = _rewrite_refs(value, base)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, base) for v in node]
    return node


def _error_response(description: str) -> JsonDict:
    return {"description": description, "content": {"application/json": {}}}


def build(routes: list[Route], schemas: SchemaRegistry) -> JsonDict:
    components: JsonDict = {}
    for name, document in schemas.documents.items():
        embedded = _rewrite_refs(copy.deepcopy(document), document["$id"])
        embedded.pop("$schema", None)
        components[component_name(name)] = embedded

    paths: JsonDict = {}
    for route in routes:
        if route.summary == "":
            continue
        path = _PATH_PARAM.sub(lambda m: "{" + m.group(1) + "}", route.path)
        operation: JsonDict = {
            "operationId": route.name,
            "summary": route.summary,
            "tags": [route.name.split(".")[0]],
            "responses": {"200": {"description": "OK", "content": {"application/json": {}}}},
        }
        params = [
            {"name": m.group(1), "in": "path", "required": True, "schema": {"type": "string"}}
            for m in _PATH_PARAM.finditer(route.path)
        ]
        if params:
            operation["parameters"] = params
        if route.schema is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{component_name(route.schema)}"}
                }},
            }
            operation["responses"]["400"] = _error_response("Not JSON, or not the schema's shape")
        if route.roles:
            operation["security"] = [{"basic": []}, {"cookie": []}]
            operation["description"] = "Roles: " + ", ".join(sorted(route.roles))
            operation["responses"]["401"] = _error_response("No or bad credentials")
            operation["responses"]["403"] = _error_response("Not allowed for this user")
            operation["responses"]["503"] = _error_response("Engine unavailable: retry later")
        paths.setdefault(path, {})[route.method.lower()] = operation

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Settee",
            "version": __version__,
            "description": "Event data capture on CouchDB: the Interaction API "
            "(/interaction, /delegate, /device) and the Session API (/api/...).",
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "AuthSession"},
            },
        },
    }
