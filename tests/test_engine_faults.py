"""A stopped engine: 503 with Retry-After and no traceback, and recovery without a restart."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from service.app import create_app
from service.engine import EmbeddedEngine, EngineAccess

from .conftest import basic_auth, closed_port, settings_for, start_engine

pytestmark = pytest.mark.engine_restart
ClientFactory = Callable[..., Awaitable[TestClient]]


async def test_engine_down_is_503_and_the_service_recovers(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    engine, access = start_engine(tmp_path / "engine", in_memory=False)
    try:
        # No credential cache, so every request needs the engine.
        settings = replace(settings_for(access, tmp_path), auth_cache_seconds=0)
        client = await aiohttp_client(create_app(settings))
        admin = basic_auth(access.user or "", access.password or "")
        assert (await client.get("/api/whoami", headers=admin)).status == 200

        engine.stop()
        for path, body in [
            ("/api/whoami", {"error": "service_unavailable",
                             "reason": "CouchDB engine unavailable; retry after 5 seconds"}),
            ("/delegate/list", {"data": {}, "meta": {"error": {
                "code": 503, "internalCode": 1901,
                "message": "CouchDB engine unavailable; retry after 5 seconds"}}}),
        ]:
            resp = await client.get(path, headers=admin)
            assert resp.status == 503
            assert resp.headers["Retry-After"] == "5"
            assert await resp.json() == body
        index = await client.get("/")
        assert index.status == 200
        assert (await index.json())["engine"]["reachable"] is False

        engine.start()
        resp = await client.get("/api/whoami", headers=admin)
        assert resp.status == 200
        assert (await client.get("/")).status == 200
    finally:
        engine.stop()


async def test_a_service_started_before_its_engine_gets_ready_by_itself(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    password = secrets.token_urlsafe(12)
    admin = basic_auth("late-admin", password)
    with closed_port() as port:  # nothing answers there until the engine starts
        access = EngineAccess(f"http://127.0.0.1:{port}", "late-admin", password)
        settings = replace(settings_for(access, tmp_path), auth_cache_seconds=0)
        client = await aiohttp_client(create_app(settings))
        resp = await client.get("/api/whoami", headers=admin)
        assert resp.status == 503
        assert resp.headers["Retry-After"] == "5"

    engine = EmbeddedEngine(tmp_path / "late-engine", port, in_memory=True)
    engine.start()
    try:
        engine.create_admin("late-admin", password)
        resp = await client.get("/api/whoami", headers=admin)
        assert resp.status == 200
        index = await (await client.get("/")).json()
        assert index["engine"]["ready"] is True
    finally:
        engine.stop()
