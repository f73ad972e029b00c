"""Swagger UI in a real browser (headless Chromium): authorise, then "Try it out" with the
example shown on a create and a list, as a newcomer would."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from service.app import create_app
from service.engine import EngineAccess
from service.settings import Settings

SCRIPT = Path(__file__).parent / "browser" / "swagger_try_it_out.mjs"
# Each with the example Swagger UI shows: the check-in names the delegate and device made first,
# and the list's filters (type, time) find it.
WALK_THROUGH = ("POST /delegate/new", "POST /device/new", "POST /interaction/new/{type}",
                "GET /interaction/list")
# Opened only: their body schemas reach shared definitions by $ref, which must resolve.
OPENED = ("open POST /api/users", "open POST /api/questionnaires")


@pytest.fixture
async def service_url(settings: Settings) -> AsyncIterator[str]:
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    await runner.cleanup()


async def test_try_it_out_creates_and_lists(service_url: str, engine: EngineAccess) -> None:
    assert engine.user and engine.password
    node = shutil.which("node")
    assert node is not None
    process = await asyncio.create_subprocess_exec(
        node, str(SCRIPT), service_url, engine.user, engine.password,
        *OPENED, *WALK_THROUGH,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    output, errors = await process.communicate()
    assert process.returncode == 0, errors.decode()
    result = json.loads(output)
    assert result == {"errors": [], "statuses": {
        "POST /delegate/new": "201", "POST /device/new": "201",
        "POST /interaction/new/{type}": "201", "GET /interaction/list": "200",
    }}
