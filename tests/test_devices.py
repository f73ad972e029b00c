"""Devices provisioned for offline work: bound users, their own database, id blocks, rotation
and revocation, and what each device may reach on the engine itself."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from service.engine import EngineAccess
from service.settings import Settings

from .conftest import Headers, basic_auth
from .interaction_helpers import new_delegate, new_device


async def provision(client: TestClient, admin: Headers, device: int) -> dict[str, Any]:
    resp = await client.post(f"/device/id:{device}/provision", headers=admin)
    assert resp.status == 201, await resp.text()
    assert resp.headers["Cache-Control"] == "no-store"
    return dict((await resp.json())["data"])


async def engine_status(method: str, url: str, user: str, password: str, **kw: Any) -> int:
    async with aiohttp.ClientSession() as http, http.request(
        method, url, auth=aiohttp.BasicAuth(user, password),
        headers={"Accept": "application/json"}, **kw,
    ) as resp:
        await resp.read()
        return resp.status


def engine_database(engine: EngineAccess, settings: Settings, name: str) -> str:
    """A database's URL on the engine itself (devices are given the service's endpoint)."""
    return f"{engine.url}/{settings.db_prefix}{name}"


def device_database(engine: EngineAccess, settings: Settings, device: int) -> str:
    return engine_database(engine, settings, f"device_{device:010d}")


async def test_provisioning_gives_a_bound_user_its_database_and_id_blocks(
    client: TestClient, admin: Headers, engine: EngineAccess, settings: Settings
) -> None:
    device = await new_device(client, admin)
    setup = await provision(client, admin, device)
    assert setup["device"] == device and setup["user"] == f"device-{device}"
    assert setup["state"] == "active" and len(setup["password"]) >= 24
    origin = str(client.make_url("/")).rstrip("/")
    assert setup["sync"] == {"records": f"{origin}/sync/devices/{device}",
                             "catalog": f"{origin}/sync/catalog"}
    assert len(setup["idBlocks"]) == 2 and setup["blockSize"] == 1000
    first, second = setup["idBlocks"]
    assert first["last"] - first["first"] == 999 and second["block"] > first["block"]
    me = basic_auth(setup["user"], setup["password"])
    who = await (await client.get("/api/whoami", headers=me)).json()
    assert who == {"name": setup["user"], "roles": ["device"]}
    # The set-up, again, without the secret.
    shown = await (await client.get(f"/device/id:{device}/sync", headers=me)).json()
    assert "password" not in shown["data"] and shown["data"]["idBlocks"] == setup["idBlocks"]
    # Its database holds its configuration (its blocks), readable by the device.
    async with aiohttp.ClientSession() as http, http.get(
        setup["sync"]["records"] + "/deviceConfig", auth=aiohttp.BasicAuth(setup["user"],
                                                                           setup["password"])
    ) as resp:
        assert resp.status == 200
        config = await resp.json(content_type=None)
    assert config["device"] == device and config["idBlocks"] == setup["idBlocks"]


async def test_a_device_reaches_only_its_database_and_the_catalog_on_the_engine(
    client: TestClient, admin: Headers, engine: EngineAccess, settings: Settings
) -> None:
    one = await provision(client, admin, await new_device(client, admin))
    two = await provision(client, admin, await new_device(client, admin))
    user, password = one["user"], one["password"]
    own = device_database(engine, settings, one["device"])
    catalog = engine_database(engine, settings, "catalog")
    # The same on the engine itself and through the service's replication endpoint.
    for own_db, catalog_db, other_db in (
            (own, catalog, device_database(engine, settings, two["device"])),
            (one["sync"]["records"], one["sync"]["catalog"], two["sync"]["records"])):
        assert await engine_status("GET", own_db + "/_all_docs", user, password) == 200
        assert await engine_status("GET", catalog_db + "/_all_docs", user, password) == 200
        assert await engine_status("GET", other_db + "/_all_docs", user, password) in (401, 403)
        # It may not write the catalog, nor its own configuration.
        assert await engine_status("PUT", catalog_db + "/x", user, password,
                                   json={"type": "delegate"}) in (401, 403)
        assert await engine_status("PUT", own_db + "/deviceConfig", user, password,
                                   json={"type": "deviceConfig"}) in (401, 403)
    for name in ("registry", "records", "internal"):
        other = engine_database(engine, settings, name)
        assert await engine_status("GET", other + "/_all_docs", user, password) in (401, 403), other


async def test_rotating_and_revoking_a_device(
    client: TestClient, admin: Headers, engine: EngineAccess, settings: Settings
) -> None:
    device = await new_device(client, admin)
    setup = await provision(client, admin, device)
    old = basic_auth(setup["user"], setup["password"])
    assert (await client.get("/api/whoami", headers=old)).status == 200
    resp = await client.post(f"/device/id:{device}/credentials", headers=admin)
    assert resp.status == 200
    rotated = (await resp.json())["data"]
    assert rotated["password"] != setup["password"]
    assert (await client.get("/api/whoami", headers=old)).status == 401
    new = basic_auth(rotated["user"], rotated["password"])
    assert (await client.get("/api/whoami", headers=new)).status == 200
    resp = await client.delete(f"/device/id:{device}/credentials", headers=admin)
    assert resp.status == 200 and (await resp.json())["data"]["state"] == "revoked"
    assert (await client.get("/api/whoami", headers=new)).status == 401
    for url in (rotated["sync"]["records"], device_database(engine, settings, device)):
        assert await engine_status("GET", url, rotated["user"], rotated["password"]) == 401


async def test_a_provisioned_device_records_as_itself_only(
    client: TestClient, admin: Headers
) -> None:
    delegate = await new_delegate(client, admin)
    device = await new_device(client, admin)
    other = await new_device(client, admin)
    setup = await provision(client, admin, device)
    me = basic_auth(setup["user"], setup["password"])
    resp = await client.post("/interaction/new/lead", json={"delegate": delegate}, headers=me)
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["data"]["firstDevice"] == {"id": device, "_type": "device"}
    resp = await client.post("/interaction/new/lead", json={"delegate": delegate, "device": other},
                             headers=me)
    assert resp.status == 403
    error = (await resp.json())["meta"]["error"]
    assert error["internalCode"] == 1102 and error["details"][0]["pointer"] == "/firstDevice"
    # Only the device itself (or an admin) sees its set-up or asks for its ids.
    assert (await client.get(f"/device/id:{other}/sync", headers=me)).status == 403
    assert (await client.post(f"/device/id:{other}/idblocks", headers=me)).status == 403


async def test_a_device_asks_for_its_next_id_block(client: TestClient, admin: Headers) -> None:
    device = await new_device(client, admin)
    setup = await provision(client, admin, device)
    me = basic_auth(setup["user"], setup["password"])
    resp = await client.post(f"/device/id:{device}/idblocks", headers=me)
    assert resp.status == 201
    blocks = (await resp.json())["data"]["idBlocks"]
    assert blocks[:2] == setup["idBlocks"] and len(blocks) == 3
    # The service's own ids never fall in a device's blocks.
    created = await new_delegate(client, admin)
    assert all(not b["first"] <= created <= b["last"] for b in blocks)


async def test_provisioning_needs_a_device_and_an_admin(client: TestClient, admin: Headers,
                                                        make_user: Any) -> None:
    assert (await client.post("/device/id:999999/provision", headers=admin)).status == 404
    device = await new_device(client, admin)
    reader = await make_user("reader")
    assert (await client.post(f"/device/id:{device}/provision", headers=reader)).status == 403
    assert (await client.post(f"/device/id:{device}/credentials", headers=admin)).status == 409


async def test_the_command_line_provisions_a_device_with_a_qr_code_and_revokes_it(
    client: TestClient, admin: Headers, engine: EngineAccess, settings: Settings
) -> None:
    from .test_cli import engine_env, run_cli

    device = await new_device(client, admin)
    env = engine_env(engine, settings)
    result = run_cli("provision-device", str(device), "--qr", env=env)
    assert result.returncode == 0, result.stderr
    text, _, qr = result.stdout.partition("\n}\n")
    setup = json.loads(text + "\n}")
    assert setup["user"] == f"device-{device}" and setup["password"]
    assert "█" in qr or "▀" in qr
    me = basic_auth(setup["user"], setup["password"])
    assert (await client.get("/api/whoami", headers=me)).status == 200
    result = run_cli("provision-device", str(device), "--revoke", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["state"] == "revoked"
    # The running service forgets the user within a second of the engine's change.
    for _ in range(60):
        if (await client.get("/api/whoami", headers=me)).status == 401:
            break
        await asyncio.sleep(0.1)
    assert (await client.get("/api/whoami", headers=me)).status == 401
    for url in (str(client.make_url(f"/sync/devices/{device}")),
                device_database(engine, settings, device)):
        assert await engine_status("GET", url, setup["user"], setup["password"]) == 401


async def test_the_sync_urls_name_the_services_public_address_when_set(
    aiohttp_client: Any, admin: Headers, settings: Settings
) -> None:
    from dataclasses import replace

    from service.app import create_app

    client = await aiohttp_client(create_app(replace(settings,
                                                     sync_url="https://settee.example.org/")))
    device = await new_device(client, admin)
    setup = await provision(client, admin, device)
    assert setup["sync"] == {"records": f"https://settee.example.org/sync/devices/{device}",
                             "catalog": "https://settee.example.org/sync/catalog"}
