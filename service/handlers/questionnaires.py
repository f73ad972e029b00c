"""Session API handlers (docs/SESSIONS.md): questionnaire sessions, their answers, rows,
pages, status and submitUrl delivery. Shapes and decisions: docs/SESSIONS.md.
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from .. import idempotency, jsoncodec, keys, scope
from ..errors import ApiError, Conflict, NotFound
from ..forms import load_form
from ..questionnaires import delivery, dialob, sessions
from ..questionnaires.documents import COMPLETED, NEW, OPEN, public
from ..questionnaires.sessions import Editor, error_details
from .params import expected_rev, page_limit, required_rev

JsonDict = dict[str, Any]
DEFAULT_LIMIT = 100


def session_id(request: web.Request) -> str:
    return request.match_info["id"]


def scoped_owner(request: web.Request) -> str | None:
    """Whose sessions the caller may reach (None: everyone's; a device-only caller: its own)."""
    return scope.session_owner(request[keys.USER])


async def read(request: web.Request) -> JsonDict:
    """The session the path names, if the caller may see it (else 404, as a missing one)."""
    return await sessions.read(request.app[keys.STORE], session_id(request), scoped_owner(request))


def changed(editor: Editor, **extra: Any) -> web.Response:
    """What every change answers: the new revision and the errors that now stand."""
    doc = editor.doc
    return web.Response(body=jsoncodec.dumps({
        "ok": True, "_id": doc["_id"], "_rev": doc["_rev"], **extra,
        "activeItem": doc["activeItem"], "status": doc["metadata"]["status"],
        "errors": error_details(editor.evaluation().errors),
    }), content_type="application/json", charset="utf-8",
        headers={"ETag": f'"{doc["_rev"]}"'})


async def modify(request: web.Request, change: Any, body: Any = None) -> Editor:
    editor, _ = await sessions.modify(
        request.app[keys.STORE], session_id(request), change, if_match=expected_rev(request, body),
        owner=scoped_owner(request),
    )
    if editor.became_completed:
        delivery.wake(request.app)
    return editor


# -- sessions --------------------------------------------------------------------------------


async def create(request: web.Request) -> web.Response:
    body = request[keys.BODY]
    store = request.app[keys.STORE]
    owner = request[keys.USER].name

    key = request.headers.get(idempotency.HEADER)
    key_scope = f"questionnaire.create:{owner}"
    fingerprint = idempotency.fingerprint_of(body) if key else ""
    digest = idempotency.record_digest(key_scope, key, fingerprint) if key else None

    async def make(reserved: idempotency.Reserved) -> JsonDict:
        doc = await sessions.create(store, body, owner, reserved.get("_id"), digest)
        return {"_id": doc["_id"], "_rev": doc["_rev"]}

    async def reserve() -> idempotency.Reserved:
        return {"_id": uuid.uuid4().hex}

    replay = await idempotency.run_once(store, key_scope, key, fingerprint, make,
                                        reserve=reserve if key else None)
    return web.json_response(replay.result, status=201)


async def get(request: web.Request) -> web.Response:
    doc = await read(request)
    return web.json_response(public(doc), headers={"ETag": f'"{doc["_rev"]}"'})


def status_filter(request: web.Request) -> str | None:
    status = request.query.get("status")
    if status is not None and status not in (NEW, OPEN, COMPLETED):
        raise ApiError(2211, f"status must be {OPEN} or {COMPLETED}",
                       details=[{"pointer": "?status", "message": "OPEN or COMPLETED"}])
    return status


async def tag_revision(request: web.Request) -> str | None:
    """Dialob names a form by formName (Settee's form id) and a version by formTag."""
    query = request.query
    if query.get("formId") and query.get("formName") and query["formId"] != query["formName"]:
        raise ApiError(2211, "formId and formName name different forms", status=400,
                       details=[{"pointer": "?formName", "message": "use one of formId, formName"}])
    if query.get("formName") and query.get("formTag"):
        form = await load_form(request.app[keys.STORE], query["formName"], query["formTag"])
        return form.rev
    return None


async def listing(request: web.Request) -> web.Response:
    query = request.query
    status = status_filter(request)
    revision = await tag_revision(request)
    rows, cursor = await sessions.list_page(
        request.app[keys.STORE], form_id=query.get("formId") or query.get("formName"),
        status=status, owner=scope.sessions_listed(request[keys.USER], query.get("owner")),
        limit=page_limit(request, DEFAULT_LIMIT),
        cursor=query.get("cursor"), revision=revision,
    )
    following = str(request.rel_url.update_query(cursor=cursor)) if cursor else None
    return web.json_response({"rows": rows, "next": following})


async def replace(request: web.Request) -> web.Response:
    body = request[keys.BODY]
    rev = required_rev(request, body)
    editor = await sessions.replace(request.app[keys.STORE], session_id(request), body, rev,
                                    scoped_owner(request))
    return changed(editor)


async def delete(request: web.Request) -> web.Response:
    rev = required_rev(request)
    new_rev = await sessions.delete(request.app[keys.STORE], session_id(request), rev)
    return web.json_response({"ok": True, "id": session_id(request), "rev": new_rev})


# -- answering -------------------------------------------------------------------------------


async def answers(request: web.Request) -> web.Response:
    body = request[keys.BODY]
    return changed(await modify(request, lambda e: e.answer_all(body)))


async def answer(request: web.Request) -> web.Response:
    body = request[keys.BODY]
    answer_id = request.match_info["answerId"]
    return changed(await modify(request, lambda e: e.answer(answer_id, body["value"]), body))


async def unanswer(request: web.Request) -> web.Response:
    answer_id = request.match_info["answerId"]
    return changed(await modify(request, lambda e: e.unanswer(answer_id)))


async def add_row(request: web.Request) -> web.Response:
    editor = await modify(request, lambda e: e.add_row(request.match_info["groupId"]))
    return changed(editor, rowId=editor.added_rows[-1])


async def delete_row(request: web.Request) -> web.Response:
    group, row = request.match_info["groupId"], request.match_info["rowId"]
    return changed(await modify(request, lambda e: e.delete_row(group, row)))


async def actions(request: web.Request) -> web.Response:
    body = request[keys.BODY]
    editor = await modify(request, lambda e: e.apply(body))
    return changed(editor, addedRows=editor.added_rows)


# -- pages, items, errors, status ------------------------------------------------------------


async def view(request: web.Request) -> Editor:
    doc = await read(request)
    return Editor(doc, await sessions.form_of(request.app[keys.STORE], doc))


async def pages(request: web.Request) -> web.Response:
    editor = await view(request)
    return web.json_response(sessions.pages_view(editor.doc, editor.evaluation()))


def move_target(body: JsonDict) -> tuple[str, str | None]:
    """Settee's `{action, pageId}`, or Dialob's body: the pages view with the page to go to."""
    if "action" in body:
        return str(body["action"]), body.get("pageId")
    return "GOTO", str(body["activeItem"])


async def move(request: web.Request) -> web.Response:
    body = request[keys.BODY]
    action, page = move_target(body)
    editor = await modify(request, lambda e: e.move(action, page), body)
    return web.json_response(sessions.pages_view(editor.doc, editor.evaluation()))


async def items(request: web.Request) -> web.Response:
    editor = await view(request)
    return web.json_response({"_id": editor.doc["_id"], "_rev": editor.doc["_rev"],
                              "items": sessions.items_view(editor.evaluation())})


async def errors(request: web.Request) -> web.Response:
    editor = await view(request)
    return web.json_response({"_id": editor.doc["_id"], "_rev": editor.doc["_rev"],
                              "errors": error_details(editor.evaluation().errors)})


async def status_get(request: web.Request) -> web.Response:
    doc = await read(request)
    return web.json_response(doc["metadata"]["status"], headers={"ETag": f'"{doc["_rev"]}"'})


async def status(request: web.Request) -> web.Response:
    body = request[keys.BODY]
    if isinstance(body, str):  # Dialob's bare string: answered with the status, as Dialob does
        editor = await set_status(request, body, None)
        return web.json_response(editor.doc["metadata"]["status"],
                                 headers={"ETag": f'"{editor.doc["_rev"]}"'})
    return changed(await set_status(request, body["status"], body))


async def set_status(request: web.Request, wanted: str, body: Any) -> Editor:
    if wanted == COMPLETED:
        return await modify(request, lambda e: e.complete(), body)
    editor = await view(request)  # OPEN: nothing to write; stale or completed: 409
    rev = expected_rev(request, body)
    if rev is not None and rev != editor.doc["_rev"]:
        raise Conflict()
    if editor.doc["metadata"]["status"] == COMPLETED:
        raise sessions.completed_error(editor.doc["_id"])
    return editor  # NEW or OPEN: an open session is both (it opens at creation)


# -- Dialob's reads: answers, one item, rows, value sets ---------------------------------------


async def answers_list(request: web.Request) -> web.Response:
    doc = await read(request)
    return web.json_response([{"id": a["id"], "value": a["value"]} for a in doc["answers"]],
                             headers={"ETag": f'"{doc["_rev"]}"'})


def _item_state(editor: Editor, item_id: str) -> Any:
    state = editor.evaluation().item(item_id)
    if state is None:
        raise NotFound(f"no item {item_id} in this session", internal_code=2206)
    return state


async def item(request: web.Request) -> web.Response:
    editor = await view(request)
    state = _item_state(editor, request.match_info["itemId"])
    return web.json_response(dialob.action_item(state, editor.doc, editor.form, editor.evaluation()))


async def item_rows(request: web.Request) -> web.Response:
    editor = await view(request)
    state = _item_state(editor, request.match_info["groupId"])
    if state.type != "rowgroup":
        raise NotFound(f"{state.id} is not a row group of this form", internal_code=2206)
    return web.json_response([s.id for s in editor.evaluation().items
                              if s.type == "row" and s.parent == state.id])


async def value_sets(request: web.Request) -> web.Response:
    editor = await view(request)
    return web.json_response(dialob.value_sets(editor.form, editor.doc["metadata"]["language"]))


async def value_set(request: web.Request) -> web.Response:
    editor = await view(request)
    wanted = request.match_info["valueSetId"]
    for entry in dialob.value_sets(editor.form, editor.doc["metadata"]["language"]):
        if entry["id"] == wanted:
            return web.json_response(entry)
    raise NotFound(f"no value set {wanted} in this session's form", internal_code=2206)


async def delivery_state(request: web.Request) -> web.Response:
    await read(request)
    return web.json_response(await delivery.state(request.app[keys.STORE], session_id(request)))
