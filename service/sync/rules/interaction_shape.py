"""An arriving interaction passes what `POST /interaction/new/{type}` checks: a known type,
its participants' counts, its schema (uploads as attachments of that name), a readable
`recordedAt`."""

from __future__ import annotations

from typing import Any

from ...clock import parse_timestamp
from ...errors import ApiError
from ...interactions import participants
from ...interactions.types import DELEGATE_SLOTS, DEVICE_SLOTS
from ...schemas import problems
from . import Arrival, JsonDict, Problem, problem

RULE = "schema"


def applies(doc: JsonDict) -> bool:
    return doc.get("type") == "interaction"


def request_body(doc: JsonDict, uploads: tuple[str, ...]) -> JsonDict:
    """The request an interaction document stands for (its envelope fields and members)."""
    body: dict[str, Any] = {k: doc[k] for k in (*DELEGATE_SLOTS, *DEVICE_SLOTS) if k in doc}
    if "data" in doc:
        body["data"] = doc["data"]
    for name in uploads:
        if name in (doc.get("_attachments") or {}):
            body[name] = "AA=="  # the content is the attachment: present is what matters here
    return body


async def check(arrival: Arrival, doc: JsonDict) -> list[Problem]:
    try:
        itype = arrival.types.get(str(doc.get("interactionType")))
    except ApiError as exc:
        return [problem(RULE, "/interactionType", exc.message)]
    body = request_body(doc, itype.attachments)
    found = []
    try:
        participants.check_counts(itype, body)
    except ApiError as exc:
        found += [problem(RULE, d["pointer"], d["message"]) for d in exc.details] or [
            problem(RULE, "", exc.message)]
    found += [problem(RULE, p["pointer"] or "/", p["message"])
              for p in problems(itype.validator, body)]
    recorded = doc.get("recordedAt")
    if recorded is not None:
        try:
            parse_timestamp(recorded)
        except (ValueError, TypeError, OverflowError):
            found.append(problem(RULE, "/recordedAt", "not an ISO 8601 time with a zone"))
    return found
