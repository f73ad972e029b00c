"""POST /interaction/new|test, GET and DELETE /interaction/id:{id}, /interaction/types."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from service.store import RECORDS, Store
from tests.interaction_helpers import Headers, is_iso, new_delegate, new_device

SEED_RECORDED = 1696185089
SEED_RECORDED_ISO = "2023-10-01T18:31:29+00:00"


def without_times(data: dict[str, Any]) -> dict[str, Any]:
    assert is_iso(data["createdAt"]) and data["createdAt"] == data["updatedAt"]
    return {k: v for k, v in data.items() if k not in ("createdAt", "updatedAt")}


async def test_seed_check_in_full_form(client: TestClient, admin: Headers, store: Store) -> None:
    delegate = await new_delegate(client, admin)
    device = await new_device(client, admin)
    resp = await client.post(
        "/interaction/new/check-in",
        json={"firstDelegate": delegate, "firstDevice": device, "recordedAt": SEED_RECORDED},
        headers=admin,
    )
    assert resp.status == 201
    body = await resp.json()
    number = body["data"]["id"]
    assert isinstance(number, int)
    assert without_times(body["data"]) == {
        "id": number,
        "_type": "interaction",
        "firstDelegate": {"id": delegate, "_type": "delegate"},
        "firstDevice": {"id": device, "_type": "device"},
        "interactionType": "check-in",
        "recordedAt": SEED_RECORDED_ISO,
    }
    assert body["meta"] == {}
    # The stored document: `type`, never `_type`; recordedAt and createdAt kept apart.
    doc = await store.get(RECORDS, f"interaction:{number:010d}")
    assert doc["type"] == "interaction" and "_type" not in doc
    assert doc["recordedAt"] == SEED_RECORDED_ISO
    assert doc["createdAt"] == body["data"]["createdAt"] != doc["recordedAt"]
    assert doc["firstDelegate"] == delegate and doc["firstDevice"] == device


async def test_seed_check_in_shorthand_and_iso_time(client: TestClient, admin: Headers) -> None:
    delegate = await new_delegate(client, admin)
    device = await new_device(client, admin)
    resp = await client.post(
        "/interaction/new/check-in",
        json={"delegate": delegate, "device": device, "recordedAt": "2023-10-01T20:31:29+02:00"},
        headers=admin,
    )
    assert resp.status == 201
    data = (await resp.json())["data"]
    assert data["firstDelegate"] == {"id": delegate, "_type": "delegate"}
    assert data["firstDevice"] == {"id": device, "_type": "device"}
    assert data["recordedAt"] == SEED_RECORDED_ISO
    got = await client.get(f"/interaction/id:{data['id']}", headers=admin)
    assert got.status == 200
    assert await got.json() == {"data": data, "meta": {}}
