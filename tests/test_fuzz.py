"""Schemathesis against the running service on the real engine: every operation of the OpenAPI
document, every check, bounded and repeatable (a fixed number of cases per operation and a
fixed seed). Its configuration, and why each answer counts as one to valid data, is in
tests/fuzz/schemathesis.toml.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from service.app import create_app
from service.engine import EngineAccess
from service.openapi import documented
from service.routes import ROUTES
from service.settings import Settings

CONFIG = Path(__file__).parent / "fuzz" / "schemathesis.toml"
MAX_EXAMPLES = 20
SEED = 1
# Checks left out until a fix made elsewhere is merged; each names what it waits for.
EXCLUDED_CHECKS = [
    "unsupported_method",  # a 405 must carry Allow: being fixed with the request hardening
]


@pytest.fixture
async def service_url(settings: Settings) -> AsyncIterator[str]:
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    await runner.cleanup()


async def test_schemathesis_finds_no_failure(service_url: str, engine: EngineAccess) -> None:
    assert engine.user and engine.password
    # One worker: Hypothesis describes strategies by parsing source, which is not thread-safe.
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "--no-color",
        "run", f"{service_url}/api/openapi.json", "--auth", f"{engine.user}:{engine.password}",
        "--checks", "all", "--exclude-checks", ",".join(EXCLUDED_CHECKS),
        "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--workers", "1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    report = output.decode(errors="replace")
    assert process.returncode == 0, report[-20000:]
    operations = sum(1 for route in ROUTES if documented(route))
    assert f"Tested: {operations}" in report, report[-3000:]  # every operation was reached
