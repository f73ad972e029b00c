"""A device's records are its own: an interaction names it as `firstDevice`, has the `_id` its
`id` gives, and an id from one of its blocks; a session is owned by its user and has a
CouchDB-style 32-hex id."""

from __future__ import annotations

import re

from ...ids import BLOCK_SIZE, doc_id
from . import Arrival, JsonDict, Problem, problem

RULE = "ownership"
SESSION_ID = re.compile(r"^[0-9a-f]{32}$")


def applies(doc: JsonDict) -> bool:
    return doc.get("type") in ("interaction", "questionnaire")


async def check(arrival: Arrival, doc: JsonDict) -> list[Problem]:
    found = []
    if doc.get("type") == "interaction":
        number = doc.get("id")
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            return [problem(RULE, "/id", "id must be a positive integer")]
        if doc["_id"] != doc_id("interaction", number):
            found.append(problem(RULE, "/_id", f"_id must be {doc_id('interaction', number)}"))
        if number // BLOCK_SIZE not in arrival.blocks:
            found.append(problem(RULE, "/id", f"id {number} is outside device "
                                              f"{arrival.device}'s id blocks"))
        if doc.get("firstDevice") != arrival.device:
            found.append(problem(RULE, "/firstDevice", f"must be {arrival.device}, this device"))
    else:
        if not SESSION_ID.match(doc["_id"]):
            found.append(problem(RULE, "/_id", "a session's _id is 32 lowercase hex digits"))
        if doc.get("owner") != arrival.user:
            found.append(problem(RULE, "/owner", f"must be {arrival.user}, this device's user"))
    return found
