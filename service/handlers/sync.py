"""What arrival checks found and which records are conflicted (service/sync/)."""

from __future__ import annotations

from aiohttp import web

from .. import keys
from ..errors import ApiError
from ..interactions.envelope import answer
from ..sync import conflicts, flags
from .params import page_limit


async def list_flags(request: web.Request) -> web.Response:
    state = request.query.get("state")
    if state is not None and state not in flags.STATES:
        raise ApiError(1002, f"state must be one of {', '.join(flags.STATES)}",
                       details=[{"pointer": "?state", "message": f"one of {', '.join(flags.STATES)}"}])
    limit = page_limit(request, 100)
    found, total = await flags.listing(request.app[keys.STORE], state, limit)
    return answer(found, {"total": total, "limit": limit, "state": state})


async def list_conflicts(request: web.Request) -> web.Response:
    limit = page_limit(request, 100)
    found, total = await conflicts.listing(request.app[keys.STORE], limit)
    return answer(found, {"total": total, "limit": limit})
