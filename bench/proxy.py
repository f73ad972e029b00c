"""A counting HTTP proxy in front of the engine: every request the service makes, recorded.

`make bench` and the tests point a service at it to count engine requests per operation;
nothing is changed on the way through.
"""

from __future__ import annotations

import socket

import aiohttp
from aiohttp import web
from yarl import URL

# Hop-by-hop and framing headers: each side sets its own.
_SKIP = frozenset({"host", "content-length", "transfer-encoding", "connection", "keep-alive",
                   "content-encoding"})
# What the service sends on its own clock, not because of the operation being counted.
# The service's background work, not the operation measured: feeds, credential checks, the
# delivery worker's view, and the sync worker's lease, checkpoints and database listing.
BACKGROUND = ("/_changes", "/_session", "/_view/deliveries_by_due", "/lease:sync", "/_all_dbs")
BACKGROUND_PARTS = ("/checkpoint:",)


class CountingProxy:
    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.seen: list[tuple[str, str]] = []
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self.url = ""

    async def start(self) -> str:
        self._http = aiohttp.ClientSession(
            cookie_jar=aiohttp.DummyCookieJar(), connector=aiohttp.TCPConnector(limit=0),
        )
        app = web.Application(client_max_size=1 << 30)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    def mark(self) -> int:
        return len(self.seen)

    def since(self, mark: int) -> list[tuple[str, str]]:
        """The requests made since `mark`, without the service's background polling."""
        return [(m, p) for m, p in self.seen[mark:] if not p.endswith(BACKGROUND)
                and not any(part in p for part in BACKGROUND_PARTS)]

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._http is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _SKIP}
        self.seen.append((request.method, request.path))
        async with self._http.request(
            request.method, URL(self.target + request.raw_path, encoded=True),
            data=body or None, headers=headers, allow_redirects=False,
        ) as resp:
            payload = await resp.read()
            answer_headers = {k: v for k, v in resp.headers.items() if k.lower() not in _SKIP}
            return web.Response(status=resp.status, body=payload, headers=answer_headers)
