"""A real HTTP proxy between the service and the test engine: it records every request the
service makes (to prove where requests go) and can change answers the way Apache CouchDB
would where PouchDB Server does not (hooks)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

# Headers a proxy must not pass on (hop by hop), and those aiohttp recomputes.
SKIP = frozenset({"host", "connection", "keep-alive", "transfer-encoding", "content-length",
                   "content-encoding"})

Hook = Callable[[web.Request, web.Response], Awaitable[None]]


@dataclass
class Seen:
    method: str
    raw_path: str  # as sent: still percent-encoded, with its query
    headers: dict[str, str]


@dataclass
class EngineProxy:
    target: str
    seen: list[Seen] = field(default_factory=list)
    hooks: list[Hook] = field(default_factory=list)
    # CouchDB takes an AuthSession cookie over Basic credentials sent with it.
    cookie_wins: bool = False
    server: TestServer | None = None
    _http: aiohttp.ClientSession | None = None

    async def start(self, host: str = "127.0.0.1") -> str:
        app = web.Application(client_max_size=1024**3)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.server = TestServer(app, host=host)
        await self.server.start_server()
        self._http = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        return f"http://{host}:{self.server.port}"

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
        if self.server is not None:
            await self.server.close()

    async def _handle(self, request: web.Request) -> web.Response:
        return await self._forward(request)

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._http is not None
        self.seen.append(Seen(request.method, request.raw_path, dict(request.headers)))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in SKIP}
        if self.cookie_wins and "AuthSession" in request.cookies:
            headers.pop("Authorization", None)
        async with self._http.request(
            request.method, URL(self.target + request.raw_path, encoded=True),
            headers=headers, data=await request.read(), allow_redirects=False,
        ) as upstream:
            body = await upstream.read()
            response = web.Response(status=upstream.status, body=body, headers=[
                (k, v) for k, v in upstream.headers.items() if k.lower() not in SKIP
            ])
        for hook in self.hooks:
            await hook(request, response)
        return response
