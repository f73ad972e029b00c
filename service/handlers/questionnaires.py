"""Session API handlers (DESIGN §4, seed 003): questionnaire sessions, their answers, rows,
pages, status and submitUrl delivery. Shapes and decisions: docs/SESSIONS.md.
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from .. import idempotency, keys
from ..errors import ApiError, Conflict
from ..questionnaires import delivery, sessions
from ..questionnaires.documents import COMPLETED, OPEN, public
from ..questionnaires.sessions import Editor, error_details
from .params import expected_rev, page_limit, required_rev

JsonDict = dict[str, Any]
DEFAULT_LIMIT = 100


def _id(request: web.Request) -> str:
    return request.match_info["id"]


def changed(editor: Editor, **extra: Any) -> web.Response:
    """What every change answers: the new revision and the errors that now stand."""
    doc = editor.doc
    return web.json_response({
        "ok": True, "_id": doc["_id"], "_rev": doc["_rev"], **extra,
        "activeItem": doc["activeItem"], "status": doc["metadata"]["status"],
        "errors": error_details(editor.evaluation().errors),
    }, headers={"ETag": f'"{doc["_rev"]}"'})


async def _modify(request: web.Request, change: Any, body: Any = None) -> Editor:
    editor, _ = await sessions.modify(
        request.app[keys.STORE], _id(request), change, if_match=expected_rev(request, body),
    )
    if editor.became_completed:
        delivery.wake(request.app)
    return editor


# -- sessions --------------------------------------------------------------------------------


async def create(request: web.Request) -> web.Response:
    body = request[keys.BODY]
    store = request.app[keys.STORE]
    owner = request[keys.USER].name

    async def make(reserved: idempotency.Reserved) -> JsonDict:
        doc = await sessions.create(store, body, owner, reserved.get("_id"))
        return {"_id": doc["_id"], "_rev": doc["_rev"]}

    async def reserve() -> idempotency.Reserved:
        return {"_id": uuid.uuid4().hex}

    key = request.headers.get(idempotency.HEADER)
    replay = await idempotency.run_once(
        store, f"questionnaire.create:{owner}", key, idempotency.fingerprint_of(body), make,
        reserve=reserve if key else None,
    )
    return web.json_response(replay.result, status=201)


async def get(request: web.Request) -> web.Response:
    doc = await sessions.read(request.app[keys.STORE], _id(request))
    return web.json_response(public(doc), headers={"ETag": f'"{doc["_rev"]}"'})


async def listing(request: web.Request) -> web.Response:
    query = request.query
    status = query.get("status")
    if status is not None and status not in (OPEN, COMPLETED):
        raise ApiError(2211, f"status must be {OPEN} or {COMPLETED}",
                       details=[{"pointer": "?status", "message": "OPEN or COMPLETED"}])
    rows, cursor = await sessions.list_page(
        request.app[keys.STORE], form_id=query.get("formId"), status=status,
        owner=query.get("owner"), limit=page_limit(request, DEFAULT_LIMIT),
        cursor=query.get("cursor"),
    )
    following = str(request.rel_url.update_query(cursor=cursor)) if cursor else None
    return web.json_response({"rows": rows, "next": following})


async def replace(request: web.Request) -> web.Response:
    body = request[keys.BODY]
    rev = required_rev(request, body)
    editor = await sessions.replace(request.app[keys.STORE], _id(request), body, rev)
    return changed(editor)


async def delete(request: web.Request) -> web.Response:
    rev = required_rev(request)
    new_rev = await sessions.delete(request.app[keys.STORE], _id(request), rev)
    return web.json_response({"ok": True, "id": _id(request), "rev": new_rev})


# -- answering -------------------------------------------------------------------------------


async def answers(request: web.Request) -> web.Response:
    body = request[keys.BODY]
    return changed(await _modify(request, lambda e: e.answer_all(body)))


async def answer(request: web.Request) -> web.Response:
    body = request[keys.BODY]
    answer_id = request.match_info["answerId"]
    return changed(await _modify(request, lambda e: e.answer(answer_id, body["value"]), body))


async def unanswer(request: web.Request) -> web.Response:
    answer_id = request.match_info["answerId"]
    return changed(await _modify(request, lambda e: e.unanswer(answer_id)))


async def add_row(request: web.Request) -> web.Response:
    editor = await _modify(request, lambda e: e.add_row(request.match_info["groupId"]))
    return changed(editor, rowId=editor.added_rows[-1])


async def delete_row(request: web.Request) -> web.Response:
    group, row = request.match_info["groupId"], request.match_info["rowId"]
    return changed(await _modify(request, lambda e: e.delete_row(group, row)))


async def actions(request: web.Request) -> web.Response:
    body = request[keys.BODY]
    editor = await _modify(request, lambda e: e.apply(body))
    return changed(editor, addedRows=editor.added_rows)


# -- pages, items, errors, status ------------------------------------------------------------


async def _view(request: web.Request) -> Editor:
    store = request.app[keys.STORE]
    doc = await sessions.read(store, _id(request))
    return Editor(doc, await sessions.form_of(store, doc))


async def pages(request: web.Request) -> web.Response:
    editor = await _view(request)
    return web.json_response(sessions.pages_view(editor.doc, editor.evaluation()))


async def move(request: web.Request) -> web.Response:
    body = request[keys.BODY]
    editor = await _modify(request, lambda e: e.move(body["action"], body.get("pageId")), body)
    return web.json_response(sessions.pages_view(editor.doc, editor.evaluation()))


async def items(request: web.Request) -> web.Response:
    editor = await _view(request)
    return web.json_response({"_id": editor.doc["_id"], "_rev": editor.doc["_rev"],
                              "items": sessions.items_view(editor.evaluation())})


async def errors(request: web.Request) -> web.Response:
    editor = await _view(request)
    return web.json_response({"_id": editor.doc["_id"], "_rev": editor.doc["_rev"],
                              "errors": error_details(editor.evaluation().errors)})


async def status(request: web.Request) -> web.Response:
    body = request[keys.BODY]
    if body["status"] == COMPLETED:
        return changed(await _modify(request, lambda e: e.complete(), body))
    editor = await _view(request)  # OPEN: nothing to write; stale or completed: 409
    rev = expected_rev(request, body)
    if rev is not None and rev != editor.doc["_rev"]:
        raise Conflict()
    if editor.doc["metadata"]["status"] == COMPLETED:
        raise sessions.completed_error(editor.doc["_id"])
    return changed(editor)


async def delivery_state(request: web.Request) -> web.Response:
    store = request.app[keys.STORE]
    await sessions.read(store, _id(request))
    return web.json_response(await delivery.state(store, _id(request)))
