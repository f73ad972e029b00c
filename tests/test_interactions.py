"""POST /interaction/new|test, GET and DELETE /interaction/id:{id}, /interaction/types."""

from __future__ import annotations

from typing import Any

from service.store import RECORDS, Store
from tests.interaction_helpers import Client, Headers, is_iso, new_delegate, new_device

SEED_RECORDED = 1696185089
SEED_RECORDED_ISO = "2023-10-01T18:31:29+00:00"


def without_times(data: dict[str, Any]) -> dict[str, Any]:
    assert is_iso(data["createdAt"]) and data["createdAt"] == data["updatedAt"]
    return {k: v for k, v in data.items() if k not in ("createdAt", "updatedAt")}


async def test_seed_check_in_full_form(client: Client, admin: Headers, store: Store) -> None:
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


async def test_seed_check_in_shorthand_and_iso_time(client: Client, admin: Headers) -> None:
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


async def test_test_endpoint_checks_and_writes_nothing(
    client: Client, admin: Headers, store: Store
) -> None:
    delegate = await new_delegate(client, admin)
    device = await new_device(client, admin)
    before = await store.all_docs(RECORDS)
    resp = await client.post(
        "/interaction/test/check-in",
        json={"delegate": delegate, "device": device, "recordedAt": SEED_RECORDED},
        headers=admin,
    )
    assert resp.status == 200
    body = await resp.json()
    assert without_times(body["data"]) == {
        "id": None,
        "_type": "interaction",
        "firstDelegate": {"id": delegate, "_type": "delegate"},
        "firstDevice": {"id": device, "_type": "device"},
        "interactionType": "check-in",
        "recordedAt": SEED_RECORDED_ISO,
    }
    after = await store.all_docs(RECORDS)
    assert after["rows"] == before["rows"]
    # The same checks as new: an unknown delegate fails the test too.
    resp = await client.post("/interaction/test/check-in",
                             json={"delegate": 999_999, "device": device}, headers=admin)
    assert resp.status == 422
    assert (await resp.json())["meta"]["error"]["internalCode"] == 1301


async def test_limit_rule_740_on_new_and_test(client: Client, admin: Headers) -> None:
    delegate = await new_delegate(client, admin)
    door, other_door = await new_device(client, admin), await new_device(client, admin)
    body = {"delegate": delegate, "device": door}
    assert (await client.post("/interaction/new/check-in", json=body, headers=admin)).status == 201
    expected = {
        "data": {},
        "meta": {"error": {
            "code": 412, "message": "Too many interactions", "internalCode": 740,
            "details": [{"pointer": "/firstDelegate",
                         "message": f"delegate {delegate} on device {door} already has 1 "
                                    "check-in interaction(s), the most its type allows"}],
        }},
    }
    for route in ("new", "test"):
        resp = await client.post(f"/interaction/{route}/check-in", json=body, headers=admin)
        assert resp.status == 412
        assert await resp.json() == expected
    # Another door is another count; check-out has no limit.
    other = {"delegate": delegate, "device": other_door}
    assert (await client.post("/interaction/new/check-in", json=other, headers=admin)).status == 201
    for _ in range(2):
        resp = await client.post("/interaction/new/check-out", json=body, headers=admin)
        assert resp.status == 201


async def test_limit_slot_is_free_again_after_delete(client: Client, admin: Headers) -> None:
    delegate, door = await new_delegate(client, admin), await new_device(client, admin)
    body = {"delegate": delegate, "device": door}
    first = await client.post("/interaction/new/check-in", json=body, headers=admin)
    number = (await first.json())["data"]["id"]
    resp = await client.delete(f"/interaction/id:{number}", headers=admin)
    assert resp.status == 204
    # The deletion took its guard with it: the slot is free at once.
    resp = await client.post("/interaction/new/check-in", json=body, headers=admin)
    assert resp.status == 201
    resp = await client.post("/interaction/new/check-in", json=body, headers=admin)
    assert resp.status == 412


async def test_limit_rule_holds_when_requests_race(client: Client, admin: Headers) -> None:
    import asyncio

    delegate, door = await new_delegate(client, admin), await new_device(client, admin)
    body = {"delegate": delegate, "device": door}
    answers = await asyncio.gather(*(
        client.post("/interaction/new/check-in", json=body, headers=admin) for _ in range(6)
    ))
    assert sorted(a.status for a in answers) == [201, 412, 412, 412, 412, 412]


async def test_delete_is_a_couchdb_deletion(client: Client, admin: Headers, store: Store) -> None:
    delegate = await new_delegate(client, admin)
    resp = await client.post("/interaction/new/join", json={"delegate": delegate}, headers=admin)
    number = (await resp.json())["data"]["id"]
    resp = await client.delete(f"/interaction/id:{number}", headers=admin)
    assert resp.status == 204
    assert await resp.read() == b""
    # A tombstone: the engine knows the id was deleted (so devices replicate the deletion).
    tombstone = await store.request(
        "POST", f"/{store.db(RECORDS)}/_all_docs", body={"keys": [f"interaction:{number:010d}"]},
    )
    assert tombstone["rows"][0]["value"]["deleted"] is True
    for method in ("get", "delete"):
        resp = await getattr(client, method)(f"/interaction/id:{number}", headers=admin)
        assert resp.status == 404
        assert await resp.json() == {"data": {}, "meta": {"error": {
            "code": 404, "message": f"no interaction with id {number}", "internalCode": 1504}}}
    resp = await client.get("/interaction/id:nonsense", headers=admin)
    assert (await resp.json())["meta"]["error"]["internalCode"] == 1504


async def test_errors_of_new(client: Client, admin: Headers) -> None:
    delegate, device = await new_delegate(client, admin), await new_device(client, admin)

    async def error(path: str, body: Any, status: int) -> dict[str, Any]:
        if isinstance(body, bytes):
            resp = await client.post(path, data=body, headers={
                **admin, "Content-Type": "application/json"})
        else:
            resp = await client.post(path, json=body, headers=admin)
        assert resp.status == status, await resp.text()
        answer = await resp.json()
        assert answer["data"] == {} and answer["meta"]["error"]["code"] == status
        return dict(answer["meta"]["error"])

    assert (await error("/interaction/new/check-in", b"{nope", 400))["internalCode"] == 1001
    found = await error("/interaction/new/check-in", {"delegate": "x", "device": device}, 400)
    assert found["internalCode"] == 1002 and found["details"][0]["pointer"] == "/delegate"
    found = await error("/interaction/new/check-in",
                        {"delegate": delegate, "firstDelegate": delegate, "device": device}, 400)
    assert found["internalCode"] == 1002 and found["details"][0]["pointer"] == "/delegate"
    found = await error("/interaction/new/no-such-type", {"delegate": delegate}, 404)
    assert found["internalCode"] == 1501
    found = await error("/interaction/new/check-in", {"delegate": delegate, "device": device,
                                                      "data": {"ticket": 5, "colour": "red"}}, 422)
    assert found["internalCode"] == 1502
    assert {d["pointer"] for d in found["details"]} == {"/data/ticket", "/data"}
    found = await error("/interaction/new/check-in", {"delegate": delegate, "device": device,
                                                      "upload": "aGk="}, 422)
    assert found["internalCode"] == 1502
    assert found["details"] == [{"pointer": "/upload",
                                 "message": "upload is not a member of check-in"}]
    found = await error("/interaction/new/check-in", {"delegate": delegate}, 422)
    assert found["internalCode"] == 1503
    assert found["details"] == [{"pointer": "/firstDevice",
                                 "message": "check-in needs at least 1 device(s)"}]
    found = await error("/interaction/new/check-in", {"delegate": delegate, "device": device,
                                                      "secondDelegate": delegate}, 422)
    assert found["internalCode"] == 1503
    found = await error("/interaction/new/join", {"secondDelegate": delegate}, 422)
    assert found["internalCode"] == 1503
    found = await error("/interaction/new/join", {"delegate": delegate, "secondDelegate": delegate},
                        422)
    assert found["details"] == [{"pointer": "/secondDelegate",
                                 "message": f"delegate {delegate} is named twice"}]
    found = await error("/interaction/new/check-in", {"delegate": 987654, "device": device}, 422)
    assert found == {"code": 422, "message": "/firstDelegate: no delegate with id 987654",
                     "internalCode": 1301, "details": [
                         {"pointer": "/firstDelegate", "message": "no delegate with id 987654"}]}
    found = await error("/interaction/new/check-in", {"delegate": delegate, "device": 987654}, 422)
    assert found["internalCode"] == 1401
    assert found["details"] == [{"pointer": "/firstDevice", "message": "no device with id 987654"}]


async def test_types_listed_with_their_schemas(client: Client, make_user: Any) -> None:
    reader = await make_user("reader")
    resp = await client.get("/interaction/types", headers=reader)
    assert resp.status == 200
    body = await resp.json()
    names = [t["id"] for t in body["data"]]
    assert {"check-in", "check-out", "join", "lead", "print", "upload"} <= set(names)
    assert body["meta"] == {"total": len(names)}
    check_in = next(t for t in body["data"] if t["id"] == "check-in")
    assert check_in["_type"] == "interactionType"
    assert check_in["participants"] == {"delegates": {"min": 1, "max": 1},
                                        "devices": {"min": 1, "max": 1}}
    assert check_in["rules"] == {"maxPerDelegatePerDevice": 1}
    assert check_in["schema"]["$id"].endswith("/interaction-types/check-in.json")


async def test_a_new_type_is_a_new_file(
    aiohttp_client: Any, settings: Any, admin: Headers, tmp_path: Any
) -> None:
    import json
    import shutil
    from dataclasses import replace

    from service.app import create_app
    from service.schemas import SCHEMAS_DIR

    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS_DIR, schemas)
    (schemas / "interaction-types" / "badge-scan.json").write_text(json.dumps({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://settee.example/schemas/interaction-types/badge-scan.json",
        "title": "Badge scan",
        "participants": {"delegates": {"min": 1, "max": 1}, "devices": {"min": 0, "max": 1}},
        "rules": {"maxPerDelegate": 2},
        "type": "object",
        "required": ["data"],
        "properties": {"data": {"type": "object", "required": ["zone"],
                                "properties": {"zone": {"type": "string"}}}},
    }))
    client = await aiohttp_client(create_app(replace(settings, schemas_dir=schemas)))
    delegate = await new_delegate(client, admin)
    resp = await client.post("/interaction/new/badge-scan", json={"delegate": delegate},
                             headers=admin)
    assert resp.status == 422
    assert (await resp.json())["meta"]["error"]["details"] == [
        {"pointer": "/data", "message": "'data' is a required property"}]
    statuses = []
    for _ in range(3):
        resp = await client.post("/interaction/new/badge-scan",
                                 json={"delegate": delegate, "data": {"zone": "hall B"}},
                                 headers=admin)
        statuses.append(resp.status)
    assert statuses == [201, 201, 412]
    types = await (await client.get("/interaction/types", headers=admin)).json()
    assert "badge-scan" in [t["id"] for t in types["data"]]


async def test_roles_per_route(client: Client, admin: Headers, make_user: Any) -> None:
    reader = await make_user("reader")
    delegate, device = await new_delegate(client, admin), await new_device(client, admin)
    device_user = await make_user("device", extra_roles=(f"settee:device:{device}",))
    body = {"delegate": delegate, "device": device}
    created = await client.post("/interaction/new/check-out", json=body, headers=device_user)
    assert created.status == 201
    number = (await created.json())["data"]["id"]
    upload = await client.post("/interaction/new/upload", json={"delegate": delegate,
                                                                "upload": "aGVsbG8="},
                               headers=device_user)
    upload_href = (await upload.json())["meta"]["attachments"]["upload"]["href"]
    routes: list[tuple[str, str, Any, set[str]]] = [
        ("GET", upload_href, None, {"admin", "device", "reader"}),
        ("GET", "/interaction/types", None, {"admin", "device", "reader"}),
        ("GET", "/interaction/list", None, {"admin", "device", "reader"}),
        ("GET", f"/interaction/id:{number}", None, {"admin", "device", "reader"}),
        ("POST", "/interaction/new/check-out", body, {"admin", "device"}),
        ("POST", "/interaction/test/check-out", body, {"admin", "device"}),
        ("POST", "/interaction/batch", {"interactions": {"a": {**body, "interactionType":
                                                                "check-out"}}},
         {"admin", "device"}),
        ("GET", "/delegate/list", None, {"admin", "device", "reader"}),
        ("GET", f"/delegate/id:{delegate}", None, {"admin", "device", "reader"}),
        ("POST", "/delegate/new", {"name": "X"}, {"admin"}),
        ("PUT", f"/delegate/id:{delegate}", {"name": "Ada"}, {"admin"}),
        ("GET", "/device/list", None, {"admin", "device", "reader"}),
        ("GET", f"/device/id:{device}", None, {"admin", "device", "reader"}),
        ("POST", "/device/new", {"name": "X"}, {"admin"}),
        ("PUT", f"/device/id:{device}", {"name": "Door"}, {"admin"}),
        ("DELETE", f"/interaction/id:{number}", None, {"admin"}),
    ]
    callers = {"reader": reader, "device": device_user, "admin": admin}
    for method, path, payload, allowed in routes:
        resp = await client.request(method, path, json=payload)
        assert resp.status == 401, (method, path)
        assert (await resp.json())["meta"]["error"]["internalCode"] == 1101
        for role in ("reader", "device", "admin"):
            resp = await client.request(method, path, json=payload, headers=callers[role])
            if role in allowed:
                assert resp.status < 400, (method, path, role, await resp.text())
            else:
                assert resp.status == 403, (method, path, role)
                assert (await resp.json())["meta"]["error"]["internalCode"] == 1102
    for path in (f"/delegate/id:{delegate}", f"/device/id:{device}"):
        for role in ("reader", "device"):
            resp = await client.delete(path, headers=callers[role])
            assert resp.status == 403
        assert (await client.delete(path, headers=admin)).status == 204


async def test_engine_down_is_1901(aiohttp_client: Any, settings: Any, admin: Headers) -> None:
    from dataclasses import replace

    from service.app import create_app
    from tests.conftest import closed_port

    with closed_port() as port:
        down = replace(settings, couchdb_url=f"http://127.0.0.1:{port}", engine_timeout=2.0)
        client = await aiohttp_client(create_app(down))
        for method, path in (("GET", "/interaction/list"), ("POST", "/interaction/new/join")):
            resp = await client.request(method, path, json={"delegate": 1}, headers=admin)
            assert resp.status == 503
            assert resp.headers["Retry-After"] == str(settings.retry_after)
            error = (await resp.json())["meta"]["error"]
            assert (error["code"], error["internalCode"]) == (503, 1901)


async def test_a_deleted_delegate_is_refused_at_once(client: Client, admin: Headers) -> None:
    delegate = await new_delegate(client, admin)
    body = {"delegate": delegate}
    assert (await client.post("/interaction/new/join", json=body, headers=admin)).status == 201
    assert (await client.delete(f"/delegate/id:{delegate}", headers=admin)).status == 204
    resp = await client.post("/interaction/new/join", json=body, headers=admin)
    assert resp.status == 422
    assert (await resp.json())["meta"]["error"]["internalCode"] == 1301


async def test_roster_follows_changes_made_elsewhere(client: Client, admin: Headers) -> None:
    import asyncio

    from service import keys
    from service.clock import now_iso
    from service.directory.roster import roster

    store = client.app[keys.STORE]
    for _ in range(100):
        if roster(store).ready:
            break
        await asyncio.sleep(0.05)
    assert roster(store).ready
    # A delegate written by another process (straight to the engine here) is known at once.
    stamp = now_iso()
    doc = {"_id": "delegate:0999999001", "type": "delegate", "id": 999999001, "name": "Elsewhere",
           "createdAt": stamp, "updatedAt": stamp}
    rev = await store.put("registry", doc)
    body = {"delegate": 999999001}
    assert (await client.post("/interaction/new/join", json=body, headers=admin)).status == 201
    for _ in range(100):
        if "delegate:0999999001" in roster(store).ids:
            break
        await asyncio.sleep(0.05)
    assert "delegate:0999999001" in roster(store).ids
    # Deleted elsewhere: the feed tells the roster, and the delegate is refused again.
    await store.delete("registry", doc["_id"], rev)
    status = 201
    for _ in range(100):
        resp = await client.post("/interaction/test/join", json=body, headers=admin)
        status = resp.status
        if status == 422:
            break
        await asyncio.sleep(0.05)
    assert status == 422
    assert (await resp.json())["meta"]["error"]["internalCode"] == 1301


def test_a_broken_type_file_stops_start_up(settings: Any, tmp_path: Any) -> None:
    import json
    import shutil
    from dataclasses import replace

    import pytest

    from service.app import create_app
    from service.schemas import SCHEMAS_DIR

    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS_DIR, schemas)
    (schemas / "interaction-types" / "no-participants.json").write_text(json.dumps({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://settee.example/schemas/interaction-types/no-participants.json",
        "type": "object",
    }))
    with pytest.raises(ValueError, match=r"interaction-types/no-participants\.json"):
        create_app(replace(settings, schemas_dir=schemas))
