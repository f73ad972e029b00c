"""Attacks that must find nothing: path parameters that try to leave their database, credentials
that bleed between users, and the like. Each test here keeps a whole class of hole closed."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from yarl import URL

from service.app import create_app
from service.engine import EngineAccess
from service.routes import ROUTES, Route
from service.settings import Settings
from service.store import DATABASES

from .conftest import Headers, settings_for
from .engine_proxy import EngineProxy

EXAMPLE_FORM = json.loads(
    (Path(__file__).parent.parent / "docs" / "examples" / "visitor-survey.form.json").read_text()
)

# A valid body for every body schema a route takes, so that hostile path parameters get past
# the body's validation and reach the domain code (and the engine, if anything would let them).
VALID_BODIES: dict[str, Any] = {
    "user.create": {"name": "someone", "password": "long enough", "roles": ["reader"]},
    "interaction.new": {"delegate": 1, "device": 2},
    "interaction.test": {"delegate": 1, "device": 2},
    "interaction.batch": {"interactions": {}},
    "delegate.new": {"name": "Ann"},
    "delegate.update": {"name": "Ann"},
    "device.new": {"name": "Door"},
    "device.update": {"name": "Door"},
    "form.create": EXAMPLE_FORM,
    "form.update": {**EXAMPLE_FORM, "_rev": "1-abc"},
    "form.tag": {"name": "v1"},
    "questionnaire.create": {"metadata": {"formId": "visitor-survey"}},
    "questionnaire.replace": {"_rev": "1-abc", "answers": [], "context": []},
    "questionnaire.answers": [{"id": "question1", "value": "x"}],
    "questionnaire.answer": {"value": "x"},
    "questionnaire.move": {"action": "NEXT"},
    "questionnaire.actions": [{"type": "NEXT"}],
    "questionnaire.status": {"status": "COMPLETED"},
    "form.tag_latest": {"name": "LATEST"},
    "fill.update": {"rev": 0, "actions": [{"type": "NEXT"}]},
}

# What a client might put in a path parameter to reach another database, document or
# endpoint of the engine (decoded values; they are sent percent-encoded).
HOSTILE = [
    "../../_all_dbs", "../../_users/_all_docs", "../../_node/_local/_config/admins", "..", ".",
    "_all_docs", "_changes", "_design/records", "_local/x", "_users", "_config", "_security",
    "a?limit=3", "a#frag", "a%2Fb", "a/b", "x\x00y", "x\ny", "x\ry", "\u0661\u0662",
    "id:1/../../x", "id:\u0661", "id:8.0", "id:-1", "id:" + "9" * 40, "%", "x" * 3000,
]

# Endpoints inside a database that the service itself calls; anything else starting with `_`
# in a request's path means a client's text chose the endpoint.
_DB_ENDPOINTS = {"_all_docs", "_bulk_docs", "_changes", "_security", "_design", "_local"}
_QUERY_KEYS = {"rev", "include_docs", "key", "keys", "startkey", "endkey", "start_key", "end_key",
               "startkey_docid", "limit", "skip", "descending", "reduce", "group", "group_level",
               "inclusive_end", "since", "feed", "timeout", "conflicts", "update_seq",
               "attachments", "revs", "open_revs", "latest", "sorted", "style", "heartbeat",
               "stable", "update", "new_edits", "w", "r"}


def _param_routes() -> list[tuple[Route, str]]:
    found = []
    for route in ROUTES:
        for name in re.findall(r"\{([^}:]+)", route.path):
            found.append((route, name))
    return found


def _fill(route: Route, hostile_name: str, hostile: str) -> str:
    """The route's path with the hostile value in one parameter and harmless ones elsewhere,
    every value percent-encoded as a client would (dots too, so nothing normalises them)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        raw = hostile if name == hostile_name else "1"
        return quote(raw, safe="").replace(".", "%2E")

    return re.sub(r"\{([^}:]+)(:[^}]*)?\}", value, route.path)


def _check_within(seen_path: str, databases: set[str]) -> None:
    split = urlsplit(seen_path)
    segments = [unquote(s) for s in split.path.split("/")[1:]]
    assert not {".", ".."} & set(segments), seen_path
    if split.path in ("/", "/_session") or segments[0] == "_users":
        return
    if split.path == "/_all_dbs":  # the sync worker's own listing of device databases
        assert "device_" in unquote(split.query), f"a client chose _all_dbs: {seen_path}"
        return
    assert segments[0] in databases, f"outside the test's databases: {seen_path}"
    if len(segments) > 1 and segments[1].startswith("_"):
        assert segments[1] in _DB_ENDPOINTS, f"endpoint chosen by a client: {seen_path}"
    if len(segments) > 2 and segments[1] not in ("_design", "_local"):
        assert not segments[2].startswith("_"), f"special attachment path: {seen_path}"
    for pair in split.query.split("&") if split.query else []:
        assert unquote(pair.partition("=")[0]) in _QUERY_KEYS, f"query chosen by a client: {seen_path}"


@pytest.fixture
async def proxied(
    engine: EngineAccess, tmp_path: Path, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> AsyncIterator[tuple[TestClient, EngineProxy, Settings]]:
    proxy = EngineProxy(engine.url)
    url = await proxy.start()
    settings = settings_for(engine, tmp_path, couchdb_url=url)
    client = await aiohttp_client(create_app(settings))
    yield client, proxy, settings
    await client.close()
    await proxy.close()
    from service.store import Store

    store = Store(settings, engine.url, engine.user, engine.password)
    await store.delete_databases()
    await store.close()


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda v: repr(v)[:30])
async def test_no_path_parameter_reaches_outside_its_database(
    proxied: tuple[TestClient, EngineProxy, Settings], admin: Headers, hostile: str
) -> None:
    client, proxy, settings = proxied
    assert (await client.get("/", headers=admin)).status == 200
    databases = {f"{settings.db_prefix}{name}" for name in DATABASES}
    for route, name in _param_routes():
        proxy.seen.clear()
        target = _fill(route, name, hostile)
        body = VALID_BODIES.get(route.schema) if route.schema else None
        # Sent as encoded: a client library would not resolve the dots it did not see.
        resp = await client.session.request(
            route.method, URL(str(client.make_url("")).rstrip("/") + target, encoded=True),
            headers=admin, json=body,
        )
        text = await resp.text()
        assert resp.status < 500, f"{route.method} {target[:200]}: {resp.status} {text[:300]}"
        for seen in proxy.seen:
            _check_within(seen.raw_path, databases)
        for leak in ("total_rows", "pbkdf2", f"{settings.db_prefix}internal"):
            assert leak not in text, f"{route.method} {target[:200]}: {text[:300]}"


def test_every_route_that_takes_a_body_has_a_valid_example_here() -> None:
    missing = {route.schema for route in ROUTES if route.schema} - set(VALID_BODIES)
    assert not missing, f"add a valid body for {sorted(missing)} to VALID_BODIES"


async def _renew_cookies_as_couchdb(request: web.Request, response: web.Response) -> None:
    """CouchDB renews an `AuthSession` cookie it is sent (after 10% of its lifetime) by
    answering Set-Cookie; here, at once."""
    cookie = request.cookies.get("AuthSession")
    if cookie:
        response.headers.add("Set-Cookie", f"AuthSession={cookie}; Version=1; Path=/; HttpOnly")


def _credentials(headers: Headers) -> tuple[str, str]:
    decoded = aiohttp.BasicAuth.decode(headers["Authorization"])
    return decoded.login, decoded.password


async def test_credentials_never_bleed_between_users_on_a_host_name_engine(
    engine: EngineAccess, tmp_path: Path, aiohttp_client: Callable[..., Awaitable[TestClient]],
    make_user: Callable[..., Awaitable[Headers]],
) -> None:
    # A cookie jar keeps cookies from host names (it refuses them from IP addresses): the
    # engine is reached as `localhost`, and the proxy renews cookies and lets a cookie win
    # over Basic credentials, as CouchDB does.
    proxy = EngineProxy(engine.url)
    proxy.hooks.append(_renew_cookies_as_couchdb)
    proxy.cookie_wins = True
    port_url = URL(await proxy.start())
    settings = settings_for(engine, tmp_path, couchdb_url=str(port_url.with_host("localhost")),
                            auth_cache_seconds=0.0)
    client = await aiohttp_client(create_app(settings))
    try:
        device = await make_user("device")
        reader = await make_user("reader")
        name, password = _credentials(device)
        async with aiohttp.ClientSession() as direct:
            async with direct.post(f"{engine.url}/_session", json={"name": name, "password": password},
                                   headers={"Accept": "application/json"}) as resp:
                assert resp.status == 200
                cookie = resp.cookies["AuthSession"].value
        as_device = await client.get("/api/whoami", cookies={"AuthSession": cookie})
        assert as_device.status == 200
        assert (await as_device.json())["name"] == name

        nobody = await client.get("/api/whoami", headers={
            "Authorization": aiohttp.BasicAuth("nobody", "garbage").encode()})
        assert nobody.status == 401
        as_reader = await client.get("/api/whoami", headers=reader)
        assert (await as_reader.json())["name"] == _credentials(reader)[0]
        # Nothing the engine answered went out again with a later user's check.
        checks = [s for s in proxy.seen if s.raw_path.startswith("/_session")]
        assert sum("AuthSession" in s.headers.get("Cookie", "") for s in checks) == 1
    finally:
        await client.close()
        await proxy.close()
        from service.store import Store

        store = Store(settings, engine.url, engine.user, engine.password)
        await store.delete_databases()
        await store.close()
