"""What a stored questionnaire session is: its type, statuses and Dialob's GET shape of it."""

from __future__ import annotations

from typing import Any

JsonDict = dict[str, Any]

SESSION_TYPE = "questionnaire"
OPEN = "OPEN"
# Dialob's status of a session not yet opened; a Settee session opens at creation.
NEW = "NEW"
COMPLETED = "COMPLETED"


def public(doc: JsonDict) -> JsonDict:
    """Dialob's GET shape of a stored session (the service's own fields left out)."""
    # Defaults, not KeyErrors: a document written around the service (by hand, in Fauxton)
    # still lists; what devices push is checked before it gets here (service/sync/).
    return {
        "_id": doc["_id"],
        "_rev": doc["_rev"],
        "answers": doc.get("answers", []),
        "tables": doc.get("tables", []),
        "context": doc.get("context", []),
        "activeItem": doc.get("activeItem"),
        "metadata": doc.get("metadata", {}),
    }
