"""Interaction types as data: every `schemas/interaction-types/<name>.json` is one type.

A type file is a JSON Schema of a create request's body for that type (`properties` names
the type's own members: `data`, and for instance `upload`) plus three keywords of Settee's
own, checked against `schemas/interaction-type.json`: `participants` (how many delegates and
devices, each `{"min", "max"}`), `rules` (`maxPerDelegate`, `maxPerDelegatePerDevice`) and
`attachments` (members holding base64 content, stored as CouchDB attachments). Adding a type
is adding a file; docs/INTERACTIONS.md, "Interaction types", describes the format.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import ApiError
from ..schemas import SchemaFileError, SchemaRegistry, Validator, problems

TYPES_FOLDER = "interaction-types/"
TYPE_FORMAT = "interaction-type"
BATCH_ENTRY_SCHEMA = "interaction.batch-entry"
# Upload names become CouchDB attachment names (which may not start with `_`) and URL segments.
UPLOAD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")

DELEGATE_SLOTS = ("firstDelegate", "secondDelegate", "thirdDelegate")
DEVICE_SLOTS = ("firstDevice", "secondDevice", "thirdDevice")
# Members every interaction may have, whatever its type (schemas/interaction.new.json).
ENVELOPE = frozenset(
    {*DELEGATE_SLOTS, *DEVICE_SLOTS, "recordedAt", "interactionType", "idempotencyKey"}
)


@dataclass(frozen=True)
class Range:
    min: int
    max: int


@dataclass(frozen=True)
class InteractionType:
    name: str
    title: str
    description: str
    delegates: Range
    devices: Range
    rules: dict[str, int]
    attachments: tuple[str, ...]
    members: frozenset[str]
    schema: dict[str, Any]
    validator: Validator

    def declares(self, member: str) -> bool:
        return member in self.members

    def public(self) -> dict[str, Any]:
        """As `GET /interaction/types` shows it."""
        return {
            "id": self.name,
            "_type": "interactionType",
            "title": self.title,
            "description": self.description,
            "participants": {
                "delegates": {"min": self.delegates.min, "max": self.delegates.max},
                "devices": {"min": self.devices.min, "max": self.devices.max},
            },
            "rules": self.rules,
            "attachments": list(self.attachments),
            "schema": self.schema,
        }


def inlined(schemas: SchemaRegistry, name: str) -> dict[str, Any]:
    """A schema file with its `$ref`s replaced by what they point to.

    Validating without reference lookups is about twice as fast, which matters for batches
    (every entry is checked against the envelope and its type). Settee's schemas have no
    recursive references.
    """
    document = schemas.documents[name]

    def walk(node: Any, resolver: Any, depth: int) -> Any:  # a referencing Resolver
        if depth > 20:
            raise ValueError(f"schemas/{name}.json: references nest too deep")
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                found = resolver.lookup(node["$ref"])
                target = walk(found.contents, found.resolver, depth + 1)
                rest = {k: walk(v, resolver, depth) for k, v in node.items() if k != "$ref"}
                return {"allOf": [target], **rest} if rest else target
            return {k: walk(v, resolver, depth) for k, v in node.items()
                    if k not in ("$id", "$schema")}
        if isinstance(node, list):
            return [walk(v, resolver, depth) for v in node]
        return node

    return dict(walk(document, schemas.registry.resolver(document["$id"]), 0))


class InteractionTypes:
    """The types found in a schema registry, by name."""

    def __init__(self, schemas: SchemaRegistry) -> None:
        self.entry_validator = schemas.validator_for(inlined(schemas, BATCH_ENTRY_SCHEMA))
        format_validator = schemas.validator(TYPE_FORMAT)
        self.types: dict[str, InteractionType] = {}
        for file_name in sorted(schemas.names(TYPES_FOLDER)):
            schema = schemas.documents[file_name]
            found = problems(format_validator, schema)
            if found:
                raise SchemaFileError(f"schemas/{file_name}.json: {found[0]['pointer']}: "
                                 f"{found[0]['message']}")
            name = file_name[len(TYPES_FOLDER):]
            participants = schema["participants"]
            attachments = tuple(schema.get("attachments", ()))
            members = frozenset(schema["properties"])
            for attachment in attachments:
                if attachment not in members:
                    raise SchemaFileError(f"schemas/{file_name}.json: attachment {attachment} "
                                     "is not one of its properties")
                if not UPLOAD_NAME.match(attachment):
                    raise ValueError(f"schemas/{file_name}.json: attachment {attachment!r} must "
                                     "be letters, digits, - or _, starting with a letter")
            self.types[name] = InteractionType(
                name=name,
                title=schema["title"],
                description=schema.get("description", ""),
                delegates=Range(**participants["delegates"]),
                devices=Range(**participants["devices"]),
                rules=dict(schema.get("rules", {})),
                attachments=attachments,
                members=members,
                schema=schema,
                validator=schemas.validator_for(inlined(schemas, file_name)),
            )

        self.upload_names = frozenset(name for t in self.types.values() for name in t.attachments)

    def get(self, name: str) -> InteractionType:
        found = self.types.get(name)
        if found is None:
            raise ApiError(
                1501, f"Unknown interaction type {name!r}; known: {', '.join(sorted(self.types))}",
                details=[{"pointer": "/interactionType", "message": f"unknown type {name!r}"}],
            )
        return found

    def __iter__(self) -> Iterator[InteractionType]:
        return iter(self.types.values())
