"""Failed logins are limited by the service (per user name, per client address), so that the
engine's own lockout never locks a user out because of somebody else; bad credentials of any
form are a 401 in the API's shape."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from service.app import create_app
from service.engine import EngineAccess
from service.settings import Settings
from service.store import Store

from .conftest import Headers, UserFactory, basic_auth, settings_for
from .engine_proxy import EngineProxy

Started = tuple[TestClient, EngineProxy, Settings]


@pytest.fixture
async def limited(
    engine: EngineAccess, tmp_path: Path, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> AsyncIterator[Callable[..., Awaitable[Started]]]:
    started: list[tuple[TestClient, EngineProxy, Settings]] = []

    async def start(**overrides: object) -> Started:
        proxy = EngineProxy(engine.url)
        url = await proxy.start()
        settings = settings_for(engine, tmp_path, couchdb_url=url, **overrides)
        client = await aiohttp_client(create_app(settings))
        started.append((client, proxy, settings))
        return client, proxy, settings

    yield start
    for client, proxy, settings in started:
        await client.close()
        await proxy.close()
        store = Store(settings, engine.url, engine.user, engine.password)
        await store.delete_databases()
        await store.close()


def _checks(proxy: EngineProxy) -> int:
    return sum(1 for seen in proxy.seen if seen.raw_path.startswith("/_session"))


def _name(headers: Headers) -> str:
    return str(aiohttp.BasicAuth.decode(headers["Authorization"]).login)


async def test_failed_logins_for_a_user_are_limited_without_asking_the_engine(
    limited: Callable[..., Awaitable[Started]], make_user: UserFactory
) -> None:
    client, proxy, _ = await limited()
    victim = await make_user("reader")
    other = await make_user("reader")
    # The victim logged in before the attack: those credentials keep working from the cache.
    assert (await client.get("/api/whoami", headers=victim)).status == 200
    name = _name(victim)
    for attempt in range(4):
        resp = await client.get("/api/whoami", headers=basic_auth(name, f"guess {attempt}"))
        assert resp.status == 401
    asked = _checks(proxy)
    resp = await client.get("/api/whoami", headers=basic_auth(name, "guess 5"))
    assert resp.status == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 300
    assert await resp.json() == {
        "error": "too_many_requests",
        "reason": f"Too many failed logins; retry after {resp.headers['Retry-After']} seconds",
    }
    assert _checks(proxy) == asked  # the engine never saw a fifth failure
    # On the Interaction API the same refusal is in its envelope.
    resp = await client.get("/interaction/types", headers=basic_auth(name, "guess 6"))
    assert resp.status == 429
    assert (await resp.json())["meta"]["error"]["internalCode"] == 1103
    assert (await client.get("/api/whoami", headers=victim)).status == 200
    assert (await client.get("/api/whoami", headers=other)).status == 200


async def test_failed_logins_from_an_address_are_limited_whatever_the_names(
    limited: Callable[..., Awaitable[Started]], make_user: UserFactory
) -> None:
    client, _, _ = await limited(address_max_failures=3, trusted_proxies="127.0.0.1")
    somebody = await make_user("reader")
    for attempt in range(3):
        spray = basic_auth(f"name-{attempt}", "wrong password")
        resp = await client.get("/api/whoami", headers={**spray, "X-Forwarded-For": "203.0.113.7"})
        assert resp.status == 401
    from_there = {"X-Forwarded-For": "203.0.113.7"}
    resp = await client.get("/api/whoami", headers={**somebody, **from_there})
    assert resp.status == 429
    # Another client behind the same trusted proxy is not held back.
    resp = await client.get("/api/whoami", headers={**somebody, "X-Forwarded-For": "203.0.113.8"})
    assert resp.status == 200


async def test_x_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(
    limited: Callable[..., Awaitable[Started]], make_user: UserFactory
) -> None:
    client, _, _ = await limited(address_max_failures=2)
    somebody = await make_user("reader")
    for attempt in range(2):
        spoofed = {**basic_auth(f"name-{attempt}", "wrong password"),
                   "X-Forwarded-For": f"198.51.100.{attempt}"}
        assert (await client.get("/api/whoami", headers=spoofed)).status == 401
    resp = await client.get("/api/whoami", headers={**somebody, "X-Forwarded-For": "198.51.100.9"})
    assert resp.status == 429


@pytest.mark.parametrize("authorization", [
    "Basic !!!!", "Basic", "Basic =", "Bearer abc",
    "Basic dXNlcg==",  # "user" (no colon)
    "Basic " + "QQ" * 3000,  # long, yet short enough for the HTTP parser
])
async def test_any_bad_authorization_header_is_a_401(
    client: TestClient, authorization: str
) -> None:
    resp = await client.get("/api/whoami", headers={"Authorization": authorization})
    assert resp.status == 401
    body = await resp.json()
    assert body["error"] == "unauthorized"
    assert "QQ" * 50 not in body["reason"]
    resp = await client.get("/interaction/types", headers={"Authorization": authorization})
    assert resp.status == 401
    assert (await resp.json())["meta"]["error"]["internalCode"] == 1101


@pytest.mark.parametrize("cookie", ["!!!", "a b", "x" * 5000, "Zm9vOmJhcg"])
async def test_any_bad_auth_session_cookie_is_a_401(client: TestClient, cookie: str) -> None:
    resp = await client.get("/api/whoami", headers={"Cookie": f"AuthSession={cookie}"})
    assert resp.status == 401
    assert (await resp.json())["error"] == "unauthorized"
