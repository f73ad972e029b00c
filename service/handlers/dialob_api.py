"""Dialob's REST API exactly as its swagger answers (`/v2`, its base path), for the operations
whose answer under `/api` is Settee's own shape (an object where Dialob answers a list, say).
The other `/v2` operations are bound to the `/api` handlers (routes.py). Shapes and decisions:
docs/SESSIONS.md, "Dialob's REST API".
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .. import keys, scope
from ..errors import Conflict
from ..forms import storage
from ..questionnaires import dialob, sessions
from ..questionnaires.documents import public
from ..questionnaires.sessions import Editor
from . import questionnaires as settee
from .forms import tag_request
from .params import expected_rev

JsonDict = dict[str, Any]


def _errors(editor: Editor) -> web.Response:
    """What Dialob's answering and row operations answer: the errors that now stand."""
    return web.json_response(dialob.errors(editor.evaluation()),
                             headers={"ETag": f'"{editor.doc["_rev"]}"'})


def _questionnaire(editor: Editor) -> JsonDict:
    """Dialob's Questionnaire: the session's shape plus what its engine computes."""
    evaluation = editor.evaluation()
    return {
        **public(editor.doc),
        "errors": dialob.errors(evaluation),
        "valueSets": dialob.value_sets(editor.form, editor.doc["metadata"]["language"]),
        "variableValues": [{"id": k, "value": v} for k, v in evaluation.variables.items()],
    }


def _rows(editor: Editor, group_id: str) -> web.Response:
    return web.json_response([s.id for s in editor.evaluation().items
                              if s.type == "row" and s.parent == group_id])


def _pages(editor: Editor) -> web.Response:
    shown = sessions.pages_view(editor.doc, editor.evaluation())
    return web.json_response({k: shown[k] for k in ("activeItem", "availableItems", "items")})


# -- forms -------------------------------------------------------------------------------------


async def form_tags(request: web.Request) -> web.Response:
    answer = await storage.list_tags(request.app[keys.STORE], request.match_info["formId"])
    return web.json_response(answer["tags"])


async def create_tag(request: web.Request) -> web.Response:
    await storage.create_tag(request.app[keys.STORE], request.match_info["formId"],
                             tag_request(request))
    return web.json_response({"ok": True})


# -- questionnaires ----------------------------------------------------------------------------


async def listing(request: web.Request) -> web.Response:
    """Every matching session as `{id, metadata}` (Dialob's list has no pages)."""
    found: list[JsonDict] = []
    query = request.query
    most = request.app[keys.SETTINGS].max_page_size
    cursor: str | None = None
    revision = await settee.tag_revision(request)
    while True:
        rows, cursor = await sessions.list_page(
            request.app[keys.STORE], form_id=query.get("formId") or query.get("formName"),
            status=settee.status_filter(request),
            owner=scope.sessions_listed(request[keys.USER], query.get("owner")), limit=most,
            cursor=cursor, revision=revision,
        )
        found += ({"id": row["_id"], "metadata": row["metadata"]} for row in rows)
        if cursor is None:
            return web.json_response(found)


async def create(request: web.Request) -> web.Response:
    response = await settee.create(request)
    response.set_status(200)  # Dialob answers 200 IdAndRevision
    return response


async def get(request: web.Request) -> web.Response:
    editor = await settee.view(request)
    return web.json_response(_questionnaire(editor),
                             headers={"ETag": f'"{editor.doc["_rev"]}"'})


async def replace(request: web.Request) -> web.Response:
    body = request[keys.BODY]
    rev = expected_rev(request, body)
    if rev is None:
        raise Conflict()  # the Questionnaire read carries its _rev; without one, as CouchDB
    editor = await sessions.replace(request.app[keys.STORE], settee.session_id(request), body, rev,
                                    settee.scoped_owner(request))
    return web.json_response(_questionnaire(editor))


async def delete(request: web.Request) -> web.Response:
    """Dialob deletes without a revision: the current one is deleted."""
    store = request.app[keys.STORE]
    doc = await sessions.read(store, settee.session_id(request))
    await sessions.delete(store, doc["_id"], expected_rev(request) or doc["_rev"])
    return web.json_response({"ok": True})


async def answers(request: web.Request) -> web.Response:
    body = request[keys.BODY]
    return _errors(await settee.modify(request, lambda e: e.answer_all(body)))


async def answer(request: web.Request) -> web.Response:
    body = request[keys.BODY]
    answer_id = request.match_info["answerId"]
    return _errors(await settee.modify(request, lambda e: e.answer(answer_id, body["value"]), body))


async def unanswer(request: web.Request) -> web.Response:
    answer_id = request.match_info["answerId"]
    return _errors(await settee.modify(request, lambda e: e.unanswer(answer_id)))


async def errors(request: web.Request) -> web.Response:
    return _errors(await settee.view(request))


async def items(request: web.Request) -> web.Response:
    editor = await settee.view(request)
    return web.json_response(dialob.action_items(editor.doc, editor.form, editor.evaluation()))


async def add_row(request: web.Request) -> web.Response:
    group = request.match_info["groupId"]
    return _rows(await settee.modify(request, lambda e: e.add_row(group)), group)


async def delete_row(request: web.Request) -> web.Response:
    group, row = request.match_info["groupId"], request.match_info["rowId"]
    return _rows(await settee.modify(request, lambda e: e.delete_row(group, row)), group)


async def pages(request: web.Request) -> web.Response:
    return _pages(await settee.view(request))


async def move(request: web.Request) -> web.Response:
    body = request[keys.BODY]
    action, page = settee.move_target(body)
    return _pages(await settee.modify(request, lambda e: e.move(action, page), body))


async def status(request: web.Request) -> web.Response:
    body = request[keys.BODY]
    wanted, given = (body, None) if isinstance(body, str) else (body["status"], body)
    editor = await settee.set_status(request, wanted, given)
    return web.json_response(editor.doc["metadata"]["status"])
