"""Dialob's fill protocol (`@dialob/fill-api`): a session's state as actions, and a list of
the client's actions applied in one document update, answered with what changed.

As Dialob does it: an action the session refuses (NEXT while the page has errors, COMPLETE with
errors, an answer that does not fit) is skipped, not an error of the request; the item it
concerned is sent back as the server has it, so the client's optimistic change is undone (a
refused COMPLETE: the full state, since fill-api marks itself complete as it sends one). A
`rev` that is not the session's current one (another client wrote meanwhile) still applies the
actions, on the newest state, and is answered with the full state (`RESET` first) instead of
the changes. A completed session takes no actions and answers `{"rev", "actions": []}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ApiError
from ..store import Store
from . import dialob, sessions
from .sessions import Editor

JsonDict = dict[str, Any]


async def state(store: Store, session_id: str, owner: str | None = None) -> JsonDict:
    doc = await sessions.read(store, session_id, owner)
    form = await sessions.form_of(store, doc)
    evaluation = sessions.evaluation_of(form, doc)
    return {"rev": doc["_rev"], "actions": dialob.full_state(doc, form, evaluation)}


@dataclass
class Outcome:
    """What a POST answers: the new revision and the actions; and whether it completed the session."""

    rev: str = ""
    actions: list[JsonDict] = field(default_factory=list)
    became_completed: bool = False


async def update(store: Store, session_id: str, rev: Any, actions: list[JsonDict],
                 owner: str | None = None) -> Outcome:
    """Apply the client's actions in one document update; answer the changes (or full state).
    With `owner`, only to a session that user opened."""
    outcome = Outcome()

    def change(editor: Editor) -> None:
        doc, form = editor.doc, editor.form
        stale = str(rev) != doc["_rev"]
        before = [] if stale else dialob.full_state(doc, form, editor.evaluation())
        undone: list[str] = []
        refused_completion = False
        for action in actions:
            try:
                # Server actions a client sends back (ITEM, ERROR, ...) change nothing.
                editor.apply([action])
            except ApiError:
                undone.append(str(action.get("id") or form.form_id))
                refused_completion = refused_completion or action.get("type") == "COMPLETE"
        after = dialob.full_state(doc, form, editor.evaluation())
        # fill-api marks itself complete as it sends COMPLETE; only a RESET clears that.
        if stale or refused_completion:
            outcome.actions = after
        else:
            outcome.actions = dialob.changes(before, after)
            sent = {a["item"]["id"] for a in outcome.actions if a["type"] == "ITEM"}
            outcome.actions += (a for a in after if a["type"] == "ITEM"
                                and a["item"]["id"] in undone and a["item"]["id"] not in sent)
        outcome.became_completed = editor.became_completed

    try:
        editor, _ = await sessions.modify(store, session_id, change, owner=owner)
    except ApiError as exc:
        if exc.internal_code != 2202:  # completed: Dialob answers the revision, no actions
            raise
        doc = await sessions.read(store, session_id, owner)
        return Outcome(rev=doc["_rev"], actions=[])
    outcome.rev = editor.doc["_rev"]
    return outcome
