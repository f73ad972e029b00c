"""Dialob's fill protocol at `/session/dialob/{sessionId}`, as `@dialob/fill-api` speaks it
(docs/SESSIONS.md, "Dialob's fill protocol"). The work is in service/questionnaires/fill.py.
"""

from __future__ import annotations

from aiohttp import web

from .. import keys
from ..questionnaires import delivery, fill


async def state(request: web.Request) -> web.Response:
    answer = await fill.state(request.app[keys.STORE], request.match_info["sessionId"])
    return web.json_response(answer)


async def update(request: web.Request) -> web.Response:
    body = request[keys.BODY]
    outcome = await fill.update(
        request.app[keys.STORE], request.match_info["sessionId"], body.get("rev"), body["actions"]
    )
    if outcome.became_completed:
        delivery.wake(request.app)
    return web.json_response({"rev": outcome.rev, "actions": outcome.actions})
