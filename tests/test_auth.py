"""Users and access: credentials checked against the engine, roles per route, 401/403 shapes."""

from __future__ import annotations

import aiohttp
from aiohttp.test_utils import TestClient

from service.engine import EngineAccess

from .conftest import Headers, UserFactory, basic_auth

NEW_USER = {"name": "kiosk-user", "password": "correct horse", "roles": ["device"]}


async def test_no_credentials_is_401_with_a_challenge(client: TestClient) -> None:
    resp = await client.get("/api/whoami")
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == 'Basic realm="settee"'
    assert await resp.json() == {"error": "unauthorized", "reason": "Authentication required"}


async def test_wrong_password_is_401(client: TestClient, make_user: UserFactory) -> None:
    good = await make_user("reader")
    user = aiohttp.BasicAuth.decode(good["Authorization"]).login
    resp = await client.get("/api/whoami", headers=basic_auth(user, "not the password"))
    assert resp.status == 401
    assert await resp.json() == {"error": "unauthorized", "reason": "Name or password is incorrect."}


async def test_server_admin_is_a_settee_admin(
    client: TestClient, admin: Headers, engine: EngineAccess
) -> None:
    resp = await client.get("/api/whoami", headers=admin)
    assert resp.status == 200
    assert await resp.json() == {"name": engine.user, "roles": ["admin"]}


async def test_each_role_is_seen(client: TestClient, make_user: UserFactory) -> None:
    for role in ("admin", "device", "reader"):
        headers = await make_user(role)
        resp = await client.get("/api/whoami", headers=headers)
        assert resp.status == 200
        assert (await resp.json())["roles"] == [role]


async def test_a_user_without_settee_roles_is_refused(
    client: TestClient, make_user: UserFactory
) -> None:
    headers = await make_user(extra_roles=("some-other-app",))
    resp = await client.get("/api/whoami", headers=headers)
    assert resp.status == 403
    body = await resp.json()
    assert body["error"] == "forbidden"


async def test_only_admins_create_users(client: TestClient, make_user: UserFactory) -> None:
    for role in ("reader", "device"):
        resp = await client.post("/api/users", json=NEW_USER, headers=await make_user(role))
        assert resp.status == 403
        assert await resp.json() == {
            "error": "forbidden",
            "reason": "user.create needs one of the roles: admin",
        }


async def test_admin_creates_a_user_who_can_log_in(
    client: TestClient, make_user: UserFactory
) -> None:
    import uuid

    name = f"kiosk-{uuid.uuid4().hex[:8]}"
    resp = await client.post(
        "/api/users", json={**NEW_USER, "name": name}, headers=await make_user("admin")
    )
    assert resp.status == 201
    assert await resp.json() == {"ok": True, "name": name, "roles": ["device"]}
    who = await client.get("/api/whoami", headers=basic_auth(name, NEW_USER["password"]))
    assert await who.json() == {"name": name, "roles": ["device"]}
    again = await client.post(
        "/api/users", json={**NEW_USER, "name": name}, headers=await make_user("admin")
    )
    assert again.status == 409


async def test_couchdb_session_cookie_is_accepted(
    client: TestClient, make_user: UserFactory, engine: EngineAccess
) -> None:
    headers = await make_user("reader")
    creds = aiohttp.BasicAuth.decode(headers["Authorization"])
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{engine.url}/_session", json={"name": creds.login, "password": creds.password},
            headers={"Accept": "application/json"},
        ) as resp:
            assert resp.status == 200
            cookie = resp.cookies["AuthSession"].value
    who = await client.get("/api/whoami", headers={"Cookie": f"AuthSession={cookie}"})
    assert who.status == 200
    assert await who.json() == {"name": creds.login, "roles": ["reader"]}
    stale = await client.get("/api/whoami", headers={"Cookie": "AuthSession=bm9ib2R5OjA6MA"})
    assert stale.status == 401


async def test_only_basic_credentials_are_understood(client: TestClient) -> None:
    resp = await client.get("/api/whoami", headers={"Authorization": "Bearer abc"})
    assert resp.status == 401


async def test_refusals_in_the_envelope_shape(client: TestClient, make_user: UserFactory) -> None:
    resp = await client.get("/delegate/list")
    assert resp.status == 401
    assert await resp.json() == {"data": {}, "meta": {"error": {
        "code": 401, "message": "Authentication required", "internalCode": 1101}}}
    resp = await client.post("/delegate/new", json={"name": "x"}, headers=await make_user("reader"))
    assert resp.status == 403
    assert await resp.json() == {"data": {}, "meta": {"error": {
        "code": 403, "message": "delegate.new needs one of the roles: admin", "internalCode": 1102}}}
