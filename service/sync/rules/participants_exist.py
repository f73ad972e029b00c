"""The delegates and devices an arriving interaction names exist."""

from __future__ import annotations

from ...errors import ApiError
from ...interactions import participants
from ...interactions.types import DELEGATE_SLOTS, DEVICE_SLOTS
from . import Arrival, JsonDict, Problem, problem

RULE = "participants"


def applies(doc: JsonDict) -> bool:
    return doc.get("type") == "interaction"


async def check(arrival: Arrival, doc: JsonDict) -> list[Problem]:
    body = {k: doc[k] for k in (*DELEGATE_SLOTS, *DEVICE_SLOTS)
            if isinstance(doc.get(k), int) and not isinstance(doc.get(k), bool)}
    found = await participants.existing(arrival.store, [body])
    try:
        participants.check_existence(body, found)
    except ApiError as exc:
        return [problem(RULE, d["pointer"], d["message"]) for d in exc.details] or [
            problem(RULE, "", exc.message)]
    return []
