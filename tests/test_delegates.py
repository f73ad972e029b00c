"""Delegates and devices: /delegate/... and /device/... (shape, revisions, badges, lists)."""

from __future__ import annotations

import asyncio
from typing import Any

from service.store import REGISTRY, Store
from tests.interaction_helpers import Client, Headers, is_iso


async def test_delegate_lifecycle(client: Client, admin: Headers, store: Store) -> None:
    resp = await client.post("/delegate/new", json={
        "name": "Ada Lovelace", "email": "ada@example.org", "company": "Engines Ltd",
        "badge": "B-0001", "data": {"diet": "vegan"}}, headers=admin)
    assert resp.status == 201
    body = await resp.json()
    data = body["data"]
    number = data["id"]
    assert is_iso(data["createdAt"]) and data["createdAt"] == data["updatedAt"]
    assert data == {"id": number, "_type": "delegate", "name": "Ada Lovelace",
                    "email": "ada@example.org", "company": "Engines Ltd", "badge": "B-0001",
                    "data": {"diet": "vegan"}, "createdAt": data["createdAt"],
                    "updatedAt": data["createdAt"]}
    rev = body["meta"]["rev"]
    assert resp.headers["ETag"] == f'"{rev}"'
    doc = await store.get(REGISTRY, f"delegate:{number:010d}")
    assert doc["type"] == "delegate" and "_type" not in doc

    got = await client.get(f"/delegate/id:{number}", headers=admin)
    assert await got.json() == body

    resp = await client.put(f"/delegate/id:{number}", json={"_rev": rev, "name": "Ada L."},
                            headers=admin)
    assert resp.status == 200
    changed = await resp.json()
    assert changed["data"]["name"] == "Ada L." and changed["data"]["badge"] is None
    assert changed["data"]["createdAt"] == data["createdAt"]
    # The old revision is stale now: in the body or as If-Match.
    stale = await client.put(f"/delegate/id:{number}", json={"_rev": rev, "name": "X"},
                             headers=admin)
    assert stale.status == 409
    error = (await stale.json())["meta"]["error"]
    assert (error["code"], error["internalCode"]) == (409, 1601)
    stale = await client.put(f"/delegate/id:{number}", json={"name": "X"},
                             headers={**admin, "If-Match": f'"{rev}"'})
    assert stale.status == 409
    stale = await client.delete(f"/delegate/id:{number}", headers={**admin, "If-Match": rev})
    assert stale.status == 409
    # Without a revision the change applies to the current one.
    resp = await client.put(f"/delegate/id:{number}", json={"name": "Ada"}, headers=admin)
    assert resp.status == 200

    resp = await client.delete(f"/delegate/id:{number}", headers=admin)
    assert resp.status == 204
    for method in ("get", "delete"):
        resp = await getattr(client, method)(f"/delegate/id:{number}", headers=admin)
        assert resp.status == 404
        assert await resp.json() == {"data": {}, "meta": {"error": {
            "code": 404, "message": f"no delegate with id {number}", "internalCode": 1301}}}
    resp = await client.put(f"/delegate/id:{number}", json={"name": "Ada"}, headers=admin)
    assert resp.status == 404


async def test_device_lifecycle(client: Client, admin: Headers) -> None:
    resp = await client.post("/device/new", json={"name": "Door 3", "kind": "scanner"},
                             headers=admin)
    assert resp.status == 201
    data = (await resp.json())["data"]
    assert {k: data[k] for k in ("_type", "name", "kind", "data")} == {
        "_type": "device", "name": "Door 3", "kind": "scanner", "data": None}
    resp = await client.put(f"/device/id:{data['id']}", json={"name": "Door 4", "kind": "kiosk"},
                            headers=admin)
    assert (await resp.json())["data"]["name"] == "Door 4"
    assert (await client.delete(f"/device/id:{data['id']}", headers=admin)).status == 204
    resp = await client.get(f"/device/id:{data['id']}", headers=admin)
    assert resp.status == 404
    assert (await resp.json())["meta"]["error"]["internalCode"] == 1401
    resp = await client.post("/device/new", json={"kind": "kiosk"}, headers=admin)
    assert resp.status == 400
    assert (await resp.json())["meta"]["error"]["details"][0]["pointer"] == "/name"


async def test_ids_are_unique_across_kinds(client: Client, admin: Headers) -> None:
    ids = []
    for path in ("/delegate/new", "/device/new", "/delegate/new"):
        resp = await client.post(path, json={"name": "n"}, headers=admin)
        ids.append((await resp.json())["data"]["id"])
    assert len(set(ids)) == 3 and ids == sorted(ids)


async def test_badge_is_unique_even_when_creates_race(client: Client, admin: Headers) -> None:
    answers = await asyncio.gather(*(
        client.post("/delegate/new", json={"name": f"n{i}", "badge": "RACE-1"}, headers=admin)
        for i in range(5)
    ))
    assert sorted(a.status for a in answers) == [201, 409, 409, 409, 409]
    loser = next(a for a in answers if a.status == 409)
    assert (await loser.json())["meta"]["error"]["internalCode"] == 1302
    winner = await next(a for a in answers if a.status == 201).json()
    found = await (await client.get("/delegate/list?badge=RACE-1", headers=admin)).json()
    assert found["data"] == [winner["data"]] and found["meta"]["total"] == 1
    # Changing a delegate to a taken badge is refused; its old badge is freed on a change.
    other = await (await client.post("/delegate/new", json={"name": "o", "badge": "B-2"},
                                     headers=admin)).json()
    resp = await client.put(f"/delegate/id:{other['data']['id']}",
                            json={"name": "o", "badge": "RACE-1"}, headers=admin)
    assert resp.status == 409
    resp = await client.put(f"/delegate/id:{other['data']['id']}",
                            json={"name": "o", "badge": "B-3"}, headers=admin)
    assert resp.status == 200
    resp = await client.post("/delegate/new", json={"name": "p", "badge": "B-2"}, headers=admin)
    assert resp.status == 201
    # A deleted delegate's badge is free again.
    await client.delete(f"/delegate/id:{winner['data']['id']}", headers=admin)
    resp = await client.post("/delegate/new", json={"name": "q", "badge": "RACE-1"}, headers=admin)
    assert resp.status == 201
    found = await (await client.get("/delegate/list?badge=nobody", headers=admin)).json()
    assert found == {"data": [], "meta": {"total": 0, "offset": 0, "limit": 5000, "next": None,
                                          "previous": None}}


async def test_delegate_list_pages(client: Client, admin: Headers) -> None:
    made = []
    for i in range(5):
        resp = await client.post("/delegate/new", json={"name": f"d{i}"}, headers=admin)
        made.append((await resp.json())["data"])
    url: str | None = "/delegate/list?limit=2"
    seen: list[dict[str, Any]] = []
    while url:
        body = await (await client.get(url, headers=admin)).json()
        assert body["meta"]["total"] == 5
        seen += body["data"]
        url = body["meta"]["next"]
    assert seen == made
    devices = await (await client.get("/device/list", headers=admin)).json()
    assert devices["data"] == [] and devices["meta"]["total"] == 0


async def test_idempotent_delegate_create(client: Client, admin: Headers) -> None:
    key = {**admin, "Idempotency-Key": "import-row-1"}
    first = await client.post("/delegate/new", json={"name": "Ada"}, headers=key)
    again = await client.post("/delegate/new", json={"name": "Ada"}, headers=key)
    assert again.status == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert await again.json() == await first.json()
    other = await client.post("/delegate/new", json={"name": "Bob"}, headers=key)
    assert other.status == 409
    assert (await other.json())["meta"]["error"]["internalCode"] == 1602


async def test_an_idempotent_create_never_answers_a_record_written_ahead_at_its_id(
    client: Client, admin: Headers, store: Store
) -> None:

    first = await (await client.post("/delegate/new", json={"name": "First"}, headers=admin)).json()
    ahead = first["data"]["id"] + 1  # the id this process hands out next
    await store.put(REGISTRY, {"_id": f"delegate:{ahead:010d}", "type": "delegate", "id": ahead,
                               "name": "Squatter", "createdAt": "2026-01-01T00:00:00+00:00",
                               "updatedAt": "2026-01-01T00:00:00+00:00"})
    headers = {**admin, "Idempotency-Key": "squat-1"}
    resp = await client.post("/delegate/new", json={"name": "Mine"}, headers=headers)
    assert resp.status == 201
    mine = (await resp.json())["data"]
    assert mine["name"] == "Mine" and mine["id"] != ahead
    again = await client.post("/delegate/new", json={"name": "Mine"}, headers=headers)
    assert (await again.json())["data"] == mine  # the retry answers the client's own record
    stored = await (await client.get(f"/delegate/id:{mine['id']}", headers=admin)).json()
    assert stored["data"]["name"] == "Mine"
