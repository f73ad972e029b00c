"""What a stored questionnaire session is: its type, statuses and Dialob's GET shape of it."""

from __future__ import annotations

from typing import Any

JsonDict = dict[str, Any]

SESSION_TYPE = "questionnaire"
OPEN = "OPEN"
COMPLETED = "COMPLETED"


def public(doc: JsonDict) -> JsonDict:
    """Dialob's GET shape of a stored session (the service's own fields left out)."""
    return {
        "_id": doc["_id"],
        "_rev": doc["_rev"],
        "answers": doc["answers"],
        "tables": doc["tables"],
        "context": doc["context"],
        "activeItem": doc["activeItem"],
        "metadata": doc["metadata"],
    }
