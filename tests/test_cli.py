"""The command line, run as a user runs it: `python -m service ...` in a process of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import uuid
from base64 import b64encode

from service.engine import EngineAccess
from service.settings import PROJECT_ROOT, Settings
from service.store import RECORDS, Store


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args], cwd=PROJECT_ROOT, env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=120,
    )


def engine_env(engine: EngineAccess, settings: Settings) -> dict[str, str]:
    return {
        "COUCHDB_URL": engine.url,
        "COUCHDB_USER": engine.user or "",
        "COUCHDB_PASSWORD": engine.password or "",
        "SETTEE_DB_PREFIX": settings.db_prefix,
        "SETTEE_LOG_FORMAT": "json",
    }


def test_help_lists_the_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    for command in ("serve", "deploy", "create-user"):
        assert command in result.stdout


async def test_deploy_creates_databases_and_design_documents_once(
    engine: EngineAccess, settings: Settings
) -> None:
    env = engine_env(engine, settings)
    first = run_cli("deploy", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("deployed: ")
    assert "registry/_design/validate" in first.stdout
    second = run_cli("deploy", env=env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "design documents already up to date"
    store = Store(settings, engine.url, engine.user, engine.password)
    try:
        ddoc = await store.get(RECORDS, "_design/types")
        assert "docs_by_type" in ddoc["views"]
    finally:
        await store.close()


def test_create_user_makes_a_user_who_can_log_in(engine: EngineAccess, settings: Settings) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    result = run_cli("create-user", name, "--role", "device", "--role", "reader",
                     env=engine_env(engine, settings))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == f"created user {name} with roles device, reader"
    password = lines[1].removeprefix("password: ")
    request = urllib.request.Request(engine.url + "/_session", headers={
        "Accept": "application/json",
        "Authorization": "Basic " + b64encode(f"{name}:{password}".encode()).decode(),
    })
    with urllib.request.urlopen(request) as resp:
        ctx = json.loads(resp.read())["userCtx"]
    assert ctx == {"name": name, "roles": ["settee:device", "settee:reader"]}


def test_create_user_refuses_an_unknown_role(engine: EngineAccess, settings: Settings) -> None:
    result = run_cli("create-user", "x", "--role", "wizard", env=engine_env(engine, settings))
    assert result.returncode == 2
    assert "invalid choice: 'wizard'" in result.stderr


def test_serve_on_a_port_in_use_says_so(engine: EngineAccess, settings: Settings) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "--port", str(port), env=engine_env(engine, settings))
    assert result.returncode == 1
    assert f"error: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
