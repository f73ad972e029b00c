"""An arriving questionnaire session has the shape every reader of sessions relies on, and
runs on a form revision the service knows."""

from __future__ import annotations

from ...errors import ApiError
from ...forms.storage import load_form
from . import Arrival, JsonDict, Problem, problem

RULE = "session"
LISTS = ("answers", "tables", "context")


def applies(doc: JsonDict) -> bool:
    return doc.get("type") == "questionnaire"


async def check(arrival: Arrival, doc: JsonDict) -> list[Problem]:
    found = [problem(RULE, f"/{name}", f"{name} must be a list")
             for name in LISTS if not isinstance(doc.get(name), list)]
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        return [*found, problem(RULE, "/metadata", "metadata must be an object")]
    if meta.get("status") not in ("OPEN", "COMPLETED"):
        found.append(problem(RULE, "/metadata/status", "status must be OPEN or COMPLETED"))
    if not isinstance(meta.get("formId"), str) or not isinstance(meta.get("formRevision"), str):
        found.append(problem(RULE, "/metadata/formRevision",
                             "formId and formRevision name the form revision it runs on"))
        return found
    try:
        await load_form(arrival.store, meta["formId"], meta["formRevision"])
    except ApiError as exc:
        found.append(problem(RULE, "/metadata/formRevision", exc.message))
    for index, entry in enumerate(doc.get("answers") or []):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            found.append(problem(RULE, f"/answers/{index}", "an answer is {id, value}"))
    return found
