"""Dialob's fill protocol at `/session/dialob/{sessionId}`, as `@dialob/fill-api` speaks it
(docs/SESSIONS.md, "Dialob's fill protocol"; the work is in service/questionnaires/fill.py),
and the kiosk fill page at `/fill/{sessionId}` built on it (docs/SESSIONS.md, "The kiosk fill
page")."""

from __future__ import annotations

from aiohttp import web

from .. import keys, scope
from ..errors import ApiError
from ..fill_assets import FILL_PAGE_DIR, MissingAsset, page_file
from ..questionnaires import delivery, fill, sessions


async def state(request: web.Request) -> web.Response:
    answer = await fill.state(request.app[keys.STORE], request.match_info["sessionId"],
                              scope.session_owner(request[keys.USER]))
    return web.json_response(answer)


async def update(request: web.Request) -> web.Response:
    body = request[keys.BODY]
    outcome = await fill.update(
        request.app[keys.STORE], request.match_info["sessionId"], body.get("rev"), body["actions"],
        scope.session_owner(request[keys.USER]),
    )
    if outcome.became_completed:
        delivery.wake(request.app)
    return web.json_response({"rev": outcome.rev, "actions": outcome.actions})


async def page(request: web.Request) -> web.FileResponse:
    await sessions.read(request.app[keys.STORE], request.match_info["sessionId"],
                        scope.session_owner(request[keys.USER]))  # else 404
    return web.FileResponse(FILL_PAGE_DIR / "index.html",
                            headers={"Cache-Control": "no-store"})


async def asset(request: web.Request) -> web.Response:
    try:
        text, content_type = page_file(request.match_info["file"])
    except MissingAsset as exc:
        raise ApiError(1201, f"no such file: {exc}") from None
    return web.Response(text=text, content_type=content_type,
                        headers={"Cache-Control": "no-cache"})
