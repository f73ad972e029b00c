"""POST /interaction/batch, uploads as attachments, and idempotent creates (new and batch)."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import replace
from typing import Any

from service.store import RECORDS, Store
from tests.interaction_helpers import Client, Headers, new_delegate, new_device

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
PNG_B64 = base64.b64encode(PNG).decode()


async def test_seed_batch_with_shared_upload(client: Client, admin: Headers, store: Store) -> None:
    first, third = await new_delegate(client, admin), await new_delegate(client, admin)
    device = await new_device(client, admin)
    resp = await client.post("/interaction/batch", json={
        "interactions": {
            "a": {"firstDelegate": first, "interactionType": "upload"},
            "b": {"firstDelegate": third, "firstDevice": device, "interactionType": "check-in"},
        },
        "sharedValues": {"upload": PNG_B64},
    }, headers=admin)
    assert resp.status == 200
    body = await resp.json()
    assert list(body["data"]) == ["a", "b"]
    assert body["meta"] == {"total": 2, "succeeded": 2, "failed": 0}
    a, b = body["data"]["a"], body["data"]["b"]
    number = a["data"]["id"]
    assert a["data"]["interactionType"] == "upload"
    assert a["data"]["firstDelegate"] == {"id": first, "_type": "delegate"}
    assert "upload" not in a["data"]
    assert a["meta"] == {"attachments": {"upload": {
        "contentType": "image/png", "length": len(PNG), "href": f"/interaction/id:{number}/upload"}}}
    # The shared value only went to the type that declares it.
    assert b["meta"] == {} and b["data"]["interactionType"] == "check-in"
    assert b["data"]["id"] != number
    # Stored as an attachment, not inline.
    doc = await store.get(RECORDS, f"interaction:{number:010d}")
    assert "upload" not in doc and doc["_attachments"]["upload"]["stub"] is True
    got = await client.get(f"/interaction/id:{number}/upload", headers=admin)
    assert got.status == 200 and got.content_type == "image/png"
    assert await got.read() == PNG
    head = await client.head(f"/interaction/id:{number}/upload", headers=admin)
    assert head.status == 200 and head.headers["Content-Length"] == str(len(PNG))
    assert await head.read() == b""
    one = await client.get(f"/interaction/id:{number}", headers=admin)
    assert (await one.json())["meta"] == a["meta"]
    missing = await client.get(f"/interaction/id:{b['data']['id']}/upload", headers=admin)
    assert missing.status == 404
    assert (await missing.json())["meta"]["error"]["internalCode"] == 1504


async def test_upload_on_new_and_its_own_value_wins(client: Client, admin: Headers) -> None:
    delegate = await new_delegate(client, admin)
    pdf = b"%PDF-1.4 hello"
    resp = await client.post("/interaction/batch", json={
        "interactions": {"own": {"delegate": delegate, "interactionType": "upload",
                                 "upload": base64.b64encode(pdf).decode(),
                                 "data": {"fileName": "a.pdf"}}},
        "sharedValues": {"upload": PNG_B64},
    }, headers=admin)
    entry = (await resp.json())["data"]["own"]
    assert entry["meta"]["attachments"]["upload"]["contentType"] == "application/pdf"
    got = await client.get(entry["meta"]["attachments"]["upload"]["href"], headers=admin)
    assert await got.read() == pdf
    resp = await client.post("/interaction/new/upload", json={"delegate": delegate,
                                                              "upload": "not base64!"},
                             headers=admin)
    assert resp.status == 422
    assert (await resp.json())["meta"]["error"]["details"] == [
        {"pointer": "/upload", "message": "not base64-encoded content"}]


async def test_batch_is_ordered_and_each_entry_independent(
    client: Client, admin: Headers
) -> None:
    delegate, door = await new_delegate(client, admin), await new_device(client, admin)
    entries = {
        "z-first": {"delegate": delegate, "device": door, "interactionType": "check-in"},
        "bad-type": {"delegate": delegate, "interactionType": "nope"},
        "no-type": {"delegate": delegate},
        "ghost": {"delegate": 987654, "device": door, "interactionType": "check-out"},
        "again": {"delegate": delegate, "device": door, "interactionType": "check-in"},
        "bad-data": {"delegate": delegate, "device": door, "interactionType": "print",
                     "data": {"copies": 0}},
        "a-last": {"delegate": delegate, "device": door, "interactionType": "check-out",
                   "recordedAt": "2024-01-02T03:04:05Z"},
    }
    resp = await client.post("/interaction/batch", json={"interactions": entries}, headers=admin)
    assert resp.status == 200
    body = await resp.json()
    assert list(body["data"]) == list(entries)
    assert body["meta"] == {"total": 7, "succeeded": 2, "failed": 5}

    def code(name: str) -> Any:
        return body["data"][name]["meta"].get("error", {}).get("internalCode")

    assert [code(n) for n in entries] == [None, 1501, 1002, 1301, 740, 1502, None]
    assert body["data"]["no-type"]["meta"]["error"]["details"][0]["pointer"] == \
        "/interactions/no-type/interactionType"
    assert body["data"]["ghost"]["meta"]["error"]["details"] == [
        {"pointer": "/interactions/ghost/firstDelegate", "message": "no delegate with id 987654"}
    ]
    assert body["data"]["a-last"]["data"]["recordedAt"] == "2024-01-02T03:04:05+00:00"
    assert body["data"]["z-first"]["data"]["id"] < body["data"]["a-last"]["data"]["id"]
    assert body["data"]["bad-type"] == {"data": {}, "meta": {"error": {
        "code": 404, "internalCode": 1501,
        "message": body["data"]["bad-type"]["meta"]["error"]["message"],
        "details": [{"pointer": "/interactions/bad-type/interactionType",
                     "message": "unknown type 'nope'"}]}}}


async def test_a_batch_is_created_at_one_moment(client: Client, admin: Headers) -> None:
    """Every entry of a batch has the request's time as its `createdAt` (and `updatedAt`)."""
    visitor, stand = await new_delegate(client, admin), await new_device(client, admin)
    entries = {str(n): {"delegate": visitor, "device": stand, "interactionType": "lead",
                        "data": {"notes": "x" * 2000}} for n in range(300)}
    resp = await client.post("/interaction/batch", json={"interactions": entries}, headers=admin)
    assert resp.status == 200
    written = [entry["data"] for entry in (await resp.json())["data"].values()]
    assert {(e["createdAt"], e["updatedAt"]) for e in written} == \
        {(written[0]["createdAt"], written[0]["createdAt"])}
    assert len({e["id"] for e in written}) == 300


async def test_batch_size_limit_1003(
    aiohttp_client: Any, settings: Any, admin: Headers
) -> None:
    from service.app import create_app

    client = await aiohttp_client(create_app(replace(settings, max_batch_size=3)))
    delegate = await new_delegate(client, admin)
    entries = {str(i): {"delegate": delegate, "interactionType": "join"} for i in range(4)}
    resp = await client.post("/interaction/batch", json={"interactions": entries}, headers=admin)
    assert resp.status == 413
    assert await resp.json() == {"data": {}, "meta": {"error": {
        "code": 413, "internalCode": 1003,
        "message": "a batch holds at most 3 interactions, not 4",
        "details": [{"pointer": "/interactions", "message": "more than 3 entries"}]}}}
    entries.pop("3")
    resp = await client.post("/interaction/batch", json={"interactions": entries}, headers=admin)
    assert resp.status == 200


async def test_body_too_large_1003(aiohttp_client: Any, settings: Any, admin: Headers) -> None:
    from service.app import create_app

    client = await aiohttp_client(create_app(replace(settings, max_body_bytes=1024)))
    resp = await client.post("/interaction/new/upload",
                             json={"delegate": 1, "upload": "A" * 4000}, headers=admin)
    assert resp.status == 413
    assert (await resp.json())["meta"]["error"]["internalCode"] == 1003


async def count_interactions(store: Store) -> int:
    answer = await store.view(RECORDS, "interactions", "interactions_by_id", reduce=True)
    rows = answer["rows"]
    return int(rows[0]["value"]) if rows else 0


async def test_idempotent_new_retry_and_race(client: Client, admin: Headers, store: Store) -> None:
    delegate = await new_delegate(client, admin)
    body = {"delegate": delegate, "recordedAt": 1700000000}
    key = {"Idempotency-Key": "scan-42", **admin}
    first = await client.post("/interaction/new/join", json=body, headers=key)
    assert first.status == 201 and "Idempotent-Replayed" not in first.headers
    retry = await client.post("/interaction/new/join", json=body, headers=key)
    assert retry.status == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert await retry.json() == await first.json()
    assert await count_interactions(store) == 1
    # The same key with another request: refused.
    other = await client.post("/interaction/new/join", json={**body, "recordedAt": 1}, headers=key)
    assert other.status == 409
    assert (await other.json())["meta"]["error"]["internalCode"] == 1602
    # The key may also travel in the body.
    in_body = {**body, "idempotencyKey": "scan-43"}
    answers = await asyncio.gather(*(
        client.post("/interaction/new/join", json=in_body, headers=admin) for _ in range(5)
    ))
    assert {a.status for a in answers} == {201}
    ids = {(await a.json())["data"]["id"] for a in answers}
    assert len(ids) == 1
    assert await count_interactions(store) == 2


async def test_a_retry_after_the_answer_was_lost_writes_nothing_new(
    client: Client, admin: Headers, store: Store
) -> None:
    """The engine took the first write, then the service lost its answer (engine gone: 503)
    before it could record the result: the key's claim is left pending, with its reserved id.
    The client's retry, once that claim is stale, answers the record already written."""
    from service.store import INTERNAL

    delegate = await new_delegate(client, admin)
    body = {"delegate": delegate, "recordedAt": 1700000000}
    key = {"Idempotency-Key": "lost-answer", **admin}
    first = await client.post("/interaction/new/join", json=body, headers=key)
    assert first.status == 201
    written = await first.json()
    claims = (await store.all_docs(INTERNAL, startkey="idem:", endkey="idem:\ufff0",
                                   include_docs=True))["rows"]
    assert len(claims) == 1
    claim = claims[0]["doc"]
    assert claim["reserved"] == {"id": written["data"]["id"]}
    # As the engine failure leaves it: pending, no result, older than the stale limit.
    claim.update(state="pending", updatedAt="2000-01-01T00:00:00+00:00")
    claim.pop("result")
    await store.put(INTERNAL, claim)

    retry = await client.post("/interaction/new/join", json=body, headers=key)
    assert retry.status == 201
    assert await retry.json() == written
    assert await count_interactions(store) == 1


async def test_idempotent_batch_entries(client: Client, admin: Headers, store: Store) -> None:
    delegate = await new_delegate(client, admin)
    batch = {"interactions": {
        "x": {"delegate": delegate, "interactionType": "join"},
        "y": {"delegate": delegate, "interactionType": "join", "idempotencyKey": "own-y"},
    }}
    key = {"Idempotency-Key": "batch-7", **admin}
    first = await (await client.post("/interaction/batch", json=batch, headers=key)).json()
    again = await (await client.post("/interaction/batch", json=batch, headers=key)).json()
    assert again == first
    assert await count_interactions(store) == 2
    # Without the header, "y" still has its own key; "x" is new.
    third = await (await client.post("/interaction/batch", json=batch, headers=admin)).json()
    assert third["data"]["y"] == first["data"]["y"]
    assert third["data"]["x"]["data"]["id"] != first["data"]["x"]["data"]["id"]
    assert await count_interactions(store) == 3
