"""How the application is served: aiohttp's server with the HTTP-level defences of the service.

- Errors the HTTP parser meets (a malformed request line or header, a header line longer than
  8190 bytes) are answered in JSON, never echoing what the client sent, and logged without it.
  The route is not known then, so the body carries both error shapes: CouchDB's
  `{error, reason}` and the Interaction API's `{data, meta: {error}}`.
- A connection must deliver its first request's headers within `header_timeout_seconds`
  (slow-header attacks hold no connection for long); an idle kept-alive connection closes after
  `keepalive_timeout_seconds`. Bodies have their own timeout (middlewares.validation).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Callable
from typing import Any

import uvloop
from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from . import keys
from .errors import ApiError

log = logging.getLogger(__name__)
# Python's default is 700 allocations. A batch of 1,000 keeps some 50,000 objects alive while
# it is handled: a lower threshold scans them again and again (measured: 6 to 7 ms of a
# batch's 80); freed garbage goes by reference counting, and cycles are still collected.
GC_YOUNG_THRESHOLD = 200_000

_PARSER_ERRORS = {
    400: "The request could not be read as HTTP (malformed, or a line longer than 8190 bytes)",
    413: "The request is too large",
    431: "The request's headers are too large",
}


def parser_error_body(status: int) -> dict[str, Any]:
    error = ApiError(1001 if status == 400 else 1003 if status == 413 else 1001,
                     _PARSER_ERRORS.get(status, "The request could not be read"), status=status)
    return {**error.couch_shape(), **error.envelope()}


class _Protocol(RequestHandler):
    header_timeout = 10.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._settee_deadline = asyncio.get_running_loop().call_later(
            self.header_timeout, self._settee_headers_overdue)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._settee_deadline.cancel()
        super().connection_lost(exc)

    def _settee_headers_overdue(self) -> None:
        if self._request_count == 0 and self.transport is not None:
            log.info("closed a connection that sent no complete request headers in %ss",
                     self.header_timeout)
            self.transport.close()

    def handle_error(
        self, request: BaseRequest, status: int = 500, exc: BaseException | None = None,
        message: str | None = None,
    ) -> StreamResponse:
        if status == 500:
            return super().handle_error(request, status, exc, message)
        # The parser's message quotes the offending bytes: log its kind only.
        log.info("unreadable HTTP request from %s: %s (%s)", request.remote, status,
                 type(exc).__name__ if exc else "error")
        response = web.json_response(parser_error_body(status), status=status)
        response.force_close()
        return response


class _Server(web.Server):
    header_timeout = 10.0

    def __call__(self) -> RequestHandler:
        protocol = _Protocol(self, loop=self._loop, **self._kwargs)
        protocol.header_timeout = self.header_timeout
        return protocol


class Runner(web.AppRunner):
    async def _make_server(self) -> web.Server:
        made = await super()._make_server()
        server = _Server(made.request_handler, request_factory=made.request_factory,
                         handler_cancellation=made.handler_cancellation, loop=made._loop,
                         **made._kwargs)
        server.header_timeout = self.app[keys.SETTINGS].header_timeout_seconds
        return server


async def start(app: web.Application, host: str, port: int) -> Runner:
    settings = app[keys.SETTINGS]
    runner = Runner(app, access_log=None, keepalive_timeout=settings.keepalive_timeout_seconds)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


def run(app: web.Application, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM, then clean up (workers drained, engine closed)."""

    async def main() -> None:
        runner = await start(app, host, port)
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        stop: Callable[[], None] = stopped.set
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)
        try:
            await stopped.wait()
        finally:
            await runner.cleanup()

    # Start-up's objects (schemas, routes, libraries) live as long as the process: keep them out
    # of every collection, and collect young objects less often (a batch makes tens of
    # thousands of short-lived ones).
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    uvloop.run(main())  # less CPU per request than asyncio's own loop
