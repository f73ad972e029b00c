"""The embedded engine kept running: when its process dies, it is reaped and started again.

Only the process that started the embedded engine supervises it (`python -m service serve`
without COUCHDB_URL). It looks at the child every `WATCH_SECONDS`; an exit is logged, the
process reaped, and a new one started after a back-off that doubles (1 s up to 30 s) while
starts keep failing, and starts again from 1 s once an engine has run for `STABLE_SECONDS`.
Meanwhile requests answer 503 as for any engine that is away; after a restart readiness is
checked again (the data may have been lost with an in-memory engine). `GET /` shows `state`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from . import keys
from .clock import now_iso
from .engine import EmbeddedEngine, EngineStartError

log = logging.getLogger(__name__)

WATCH_SECONDS = 0.25
STABLE_SECONDS = 60.0


class EngineSupervisor:
    def __init__(
        self, engine: EmbeddedEngine, *, on_restart: Callable[[], None] = lambda: None,
        first_backoff: float = 1.0, max_backoff: float = 30.0,
    ) -> None:
        self.engine = engine
        self.on_restart = on_restart
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.state = "running"
        self.restarts = 0
        self.last_exit: dict[str, Any] | None = None
        self._backoff = first_backoff
        self._running_since = time.monotonic()
        self._watching: asyncio.Task[None] | None = None
        self._starting: asyncio.Future[None] | None = None

    def public(self) -> dict[str, Any]:
        """As `GET /` shows it."""
        process = self.engine.process
        return {
            "state": self.state,
            "pid": process.pid if process is not None else None,
            "restarts": self.restarts,
            "lastExit": self.last_exit,
        }

    def begin(self) -> None:
        self._watching = asyncio.create_task(self.watch())

    async def end(self) -> None:
        """Stop watching; a start under way is let finish, so its process is not left behind
        unknown to whoever stops the engine next."""
        if self._watching is not None:
            self._watching.cancel()
            await asyncio.wait([self._watching])
        if self._starting is not None:
            await asyncio.wait([self._starting])

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            process = self.engine.process
            # poll() also reaps a child that exited, so none stays defunct.
            code = process.poll() if process is not None else None
            if process is not None and code is None:
                continue
            if process is not None:
                self._exited(process.pid, code)
            await self._restart()

    def _exited(self, pid: int, code: int | None) -> None:
        self.engine.process = None
        self.state = "restarting"
        self.last_exit = {"pid": pid, "code": code, "at": now_iso()}
        if time.monotonic() - self._running_since >= STABLE_SECONDS:
            self._backoff = self.first_backoff
        log.warning("embedded engine (pid %s) exited with code %s; restarting in %g s",
                    pid, code, self._backoff)

    async def _restart(self) -> None:
        self.state = "restarting"
        await asyncio.sleep(self._backoff)
        self._starting = asyncio.ensure_future(asyncio.to_thread(self.engine.start))
        try:
            await asyncio.shield(self._starting)
        except Exception as exc:  # whatever it was, the supervisor goes on trying
            self._backoff = min(self._backoff * 2, self.max_backoff)
            log.error("embedded engine did not start again: %s; next try in %g s",
                      exc if isinstance(exc, EngineStartError) else repr(exc), self._backoff)
            return
        self.restarts += 1
        self.state = "running"
        self._running_since = time.monotonic()
        self._backoff = min(self._backoff * 2, self.max_backoff)
        self.on_restart()
        assert self.engine.process is not None
        log.warning("embedded engine restarted (pid %s, restart %d)",
                    self.engine.process.pid, self.restarts)


def supervisor_context(engine: EmbeddedEngine, **options: float) -> Callable[
        [web.Application], AsyncIterator[None]]:
    """A clean-up context that supervises `engine` while the app runs (after the engine
    connection's context, whose readiness a restart resets)."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        readiness = app[keys.READINESS]
        supervisor = EngineSupervisor(engine, on_restart=readiness.reset, **options)
        app[keys.SUPERVISOR] = supervisor
        supervisor.begin()
        yield
        await supervisor.end()

    return context
