"""The embedded engine's process dies: the service reaps it, starts it again and recovers."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from service.app import create_app
from service.engine import EmbeddedEngine
from service.supervision import EngineSupervisor

from .conftest import basic_auth, free_port, settings_for, start_engine

pytestmark = pytest.mark.engine_restart
ClientFactory = Callable[..., Awaitable[TestClient]]


def reaped(pid: int) -> bool:
    """True once `pid` is no child of ours any more, not even a defunct one."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def dead(pid: int) -> bool:
    """True once `pid` has died (defunct, waiting to be reaped, or gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


async def engine_state(client: TestClient) -> dict[str, Any]:
    index = await (await client.get("/")).json()
    return dict(index["engine"])


async def test_a_killed_engine_is_restarted_and_the_service_recovers(
    aiohttp_client: ClientFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine, access = start_engine(tmp_path / "engine", in_memory=False)
    try:
        settings = replace(settings_for(access, tmp_path), auth_cache_seconds=0)
        client = await aiohttp_client(create_app(settings, engine=engine))
        admin = basic_auth(access.user or "", access.password or "")
        assert (await client.get("/api/whoami", headers=admin)).status == 200
        before = await engine_state(client)
        assert before["process"] == {
            "state": "running", "pid": engine.process.pid if engine.process else None,
            "restarts": 0, "lastExit": None,
        }
        assert before["ready"] is True

        assert engine.process is not None
        killed = engine.process.pid
        os.kill(killed, signal.SIGKILL)
        for _ in range(1000):
            if dead(killed):
                break
            await asyncio.sleep(0.01)
        # Right after its death (the first restart waits a second), the service answers 503.
        resp = await client.get("/api/whoami", headers=admin)
        assert resp.status == 503
        assert resp.headers["Retry-After"] == "5"

        for _ in range(600):  # recovers by itself; no request of the test restarts anything
            state = await engine_state(client)
            if state["process"]["restarts"] == 1 and state["reachable"]:
                break
            await asyncio.sleep(0.1)
        process = state["process"]
        assert process["state"] == "running"
        assert process["lastExit"]["pid"] == killed
        assert process["lastExit"]["code"] == -signal.SIGKILL
        assert process["pid"] not in (None, killed)
        assert reaped(killed)
        assert state["ready"] is True

        resp = await client.get("/api/whoami", headers=admin)
        assert resp.status == 200
        resp = await client.post("/delegate/new", json={"name": "Ada"}, headers=admin)
        assert resp.status == 201
        messages = [r.getMessage() for r in caplog.records if r.name == "service.supervision"]
        assert messages[0] == f"embedded engine (pid {killed}) exited with code -9; restarting in 1 s"
        assert messages[1] == f"embedded engine restarted (pid {process['pid']}, restart 1)"
        assert all(r.levelno == logging.WARNING for r in caplog.records
                   if r.name == "service.supervision")
    finally:
        engine.stop()


async def test_restarts_that_keep_failing_back_off_up_to_the_maximum(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "data"
    blocked.write_text("a file where the engine's data folder should be")
    engine = EmbeddedEngine(blocked, free_port())
    supervisor = EngineSupervisor(engine, first_backoff=0.01, max_backoff=0.04)
    supervisor.begin()
    try:
        for _ in range(1000):
            failures = [r.getMessage() for r in caplog.records if "did not start" in r.getMessage()]
            if len(failures) >= 4:
                break
            await asyncio.sleep(0.01)
    finally:
        await supervisor.end()
    assert [message.rsplit("; ", 1)[1] for message in failures[:4]] == [
        "next try in 0.02 s", "next try in 0.04 s", "next try in 0.04 s", "next try in 0.04 s"]
    assert failures[0].startswith(f"embedded engine did not start again: cannot keep the "
                                  f"engine's data in {blocked}: ")
    assert supervisor.public() == {"state": "restarting", "pid": None, "restarts": 0,
                                   "lastExit": None}
