"""The command line, run as a user runs it: `python -m service ...` in a process of its own."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import urllib.request
import uuid
from base64 import b64encode
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from service.engine import EmbeddedEngine, EngineAccess
from service.settings import PROJECT_ROOT, Settings
from service.store import RECORDS, Store
from tests.conftest import closed_port, free_port


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
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "--port", str(port), env=engine_env(engine, settings))
    assert result.returncode == 1
    assert f"error: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The error a user mistake gets: exit status 1, one line on stderr, no traceback."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_user_mistakes_are_one_line_errors(tmp_path: Path) -> None:
    with closed_port() as port:
        away = {"COUCHDB_URL": f"http://127.0.0.1:{port}", "SETTEE_LOG_FORMAT": "json"}
        cases = [
            (("import-delegates", str(tmp_path / "missing.csv")), away,
             f"error: no such file: {tmp_path / 'missing.csv'}"),
            (("export-interactions", "--type", "chek-in"), away,
             "error: --type chek-in: no such interaction type; known: check-in, check-out, join, "
             "lead, print, upload"),
            (("create-user", "kiosk", "--role", "device", "--password", "short"), away,
             "error: --password refused: A password has 8 to 1024 characters."),
            (("create-user", "_kiosk", "--role", "device"), away,
             "error: name '_kiosk' refused: A user name has letters, digits and . _ @ + - "
             "(starting with a letter or digit), at most 128 characters: safe in URLs, logs and "
             "CouchDB's user ids."),
            (("deploy",), away,
             f"error: no CouchDB answers at http://127.0.0.1:{port}: start it, or set COUCHDB_URL "
             "to where it runs"),
            (("deploy",), {**away, "SETTEE_ENGINE_TIMEOUT": "soon"},
             "error: SETTEE_ENGINE_TIMEOUT must be a number of seconds, not 'soon'"),
            (("deploy",), {**away, "COUCHDB_URL": "localhost:5984"},
             "error: COUCHDB_URL must start with http:// or https://, not 'localhost:5984'"),
            (("deploy",), {**away, "SETTEE_LOG_LEVEL": "verbose"},
             "error: SETTEE_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, not 'verbose'"),
            (("export-interactions", str(tmp_path / "no" / "out.csv")), away,
             f"error: cannot write {tmp_path / 'no' / 'out.csv'}: No such file or directory"),
        ]
        # Side by side: each is a process of its own, mostly Python starting up.
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda case: run_cli(*case[0], env=case[1]), cases))
        for (_, _, expected), result in zip(cases, results, strict=True):
            assert one_line_error(result) == expected


def test_a_delegate_file_with_unusable_columns_is_refused_once(
    engine: EngineAccess, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    path.write_text("Name,E-mail,Badge,,diet,diet\n" + "Ada,ada@example.org,B-1,x,vegan,\n" * 50,
                    encoding="utf-8")
    error = one_line_error(run_cli("import-delegates", str(path), env=engine_env(engine, settings)))
    assert error == (
        f"error: {path}: column 'Name' should be 'name'; column 'Badge' should be 'badge'; "
        "column 4 has no name; column 'diet' appears 2 times (the first row names the columns: "
        "name, email, company, badge; any other column goes into data)")
    path.write_text("", encoding="utf-8")
    assert one_line_error(run_cli("import-delegates", str(path))) == (
        f"error: {path}: the file is empty (the first row names the columns: name, email, "
        "company, badge; any other column goes into data)")


def test_a_json_syntax_error_in_a_type_file_names_the_file_and_line(tmp_path: Path) -> None:
    # A copy of the project whose check-in type lost a comma.
    shutil.copytree(PROJECT_ROOT / "service", tmp_path / "service",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(PROJECT_ROOT / "schemas", tmp_path / "schemas")
    broken = tmp_path / "schemas" / "interaction-types" / "check-in.json"
    lines = broken.read_text("utf-8").splitlines()
    at = next(n for n, line in enumerate(lines) if line.rstrip().endswith(",") and n > 1)
    lines[at] = lines[at].rstrip()[:-1]
    broken.write_text("\n".join(lines) + "\n", "utf-8")
    for args in (("export-interactions", "--type", "check-in"), ("serve",)):
        result = subprocess.run(
            [sys.executable, "-m", "service", *args], cwd=tmp_path, capture_output=True, text=True,
            env={**os.environ, "COUCHDB_URL": "http://127.0.0.1:1"}, timeout=120,
        )
        error = one_line_error(result)
        assert error.startswith(f"error: {broken} line {at + 2} column "), error
        assert "Expecting ',' delimiter" in error


def test_the_embedded_engine_on_another_port_or_a_taken_port_says_what_to_do(
    tmp_path: Path
) -> None:
    embedded = {"COUCHDB_URL": "", "COUCHDB_USER": "", "COUCHDB_PASSWORD": ""}
    running = EmbeddedEngine(tmp_path / "var" / "pouchdb", free_port())
    running.start()
    try:
        env = {**embedded, "SETTEE_DATA_DIR": str(tmp_path / "var"),
               "SETTEE_ENGINE_PORT": str(free_port())}
        assert one_line_error(run_cli("deploy", env=env)) == (
            f"error: the engine data in {tmp_path / 'var' / 'pouchdb'} is in use by another "
            f"engine on port {running.port}: stop it, or set SETTEE_ENGINE_PORT={running.port}")
    finally:
        running.stop()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**embedded, "SETTEE_DATA_DIR": str(tmp_path / "other"), "SETTEE_ENGINE_PORT": str(port),
               "SETTEE_LOG_FORMAT": "json"}
        assert one_line_error(run_cli("deploy", env=env)) == (
            f"error: port {port} is taken by another program: set SETTEE_ENGINE_PORT to a free port")


def test_another_couchdb_on_the_engine_port_says_what_to_do(
    engine: EngineAccess, tmp_path: Path
) -> None:
    port = urlsplit(engine.url).port
    if not engine.url.startswith("http://127.0.0.1:") or port is None:
        pytest.skip("needs an engine on this machine's loopback")
    env = {"COUCHDB_URL": "", "COUCHDB_USER": "", "COUCHDB_PASSWORD": "",
           "SETTEE_DATA_DIR": str(tmp_path / "var"), "SETTEE_ENGINE_PORT": str(port)}
    assert one_line_error(run_cli("deploy", env=env)) == (
        f"error: the engine on port {port} has an admin and {tmp_path / 'var' / 'dev-admin.json'} "
        "is gone: if it is another CouchDB, set SETTEE_ENGINE_PORT to a free port (or COUCHDB_URL "
        "to use it); if it is this one, set COUCHDB_USER and COUCHDB_PASSWORD")


def test_wrong_credentials_or_a_server_that_is_no_couchdb_say_so(
    engine: EngineAccess, settings: Settings, tmp_path: Path
) -> None:
    wrong = {**engine_env(engine, settings), "COUCHDB_USER": "nobody", "COUCHDB_PASSWORD": "wrong-one"}
    assert one_line_error(run_cli("deploy", env=wrong)).endswith(
        ": check COUCHDB_USER and COUCHDB_PASSWORD")
    web_server = ThreadingHTTPServer(("127.0.0.1", 0),
                                     partial(SimpleHTTPRequestHandler, directory=str(tmp_path)))
    threading.Thread(target=web_server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{web_server.server_port}"
        assert one_line_error(run_cli("deploy", env={"COUCHDB_URL": url})) == (
            f"error: the engine at {url} refused: engine answered 501 (is it a CouchDB, with "
            "COUCHDB_USER a server admin?)")
    finally:
        web_server.shutdown()
        web_server.server_close()
