"""A submitUrl endpoint for the tests: answers the statuses it is told to, records requests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Json = dict[str, Any]


@dataclass
class Receiver:
    """A submitUrl endpoint: answers the statuses queued in `plan` (then `then`), records requests."""

    plan: list[int] = field(default_factory=list)
    then: int = 200
    received: list[tuple[Json, dict[str, str]]] = field(default_factory=list)
    url: str = ""
    delay: float = 0.0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    set_cookie: str | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((await request.json(), dict(request.headers)))
        self.arrived.set()
        await asyncio.sleep(self.delay)
        status = self.plan.pop(0) if self.plan else self.then
        response = web.json_response({"status": status}, status=status)
        if self.set_cookie:
            response.set_cookie("AuthSession", self.set_cookie, path="/")
        return response
