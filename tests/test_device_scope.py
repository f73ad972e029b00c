"""What a device-only caller reads through the REST API: its own interactions (and uploads), its
own questionnaire sessions, and delegates as the catalog shows them; another device's records
answer exactly as missing ones do. Readers and admins still see everything."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .conftest import Headers, UserFactory, basic_auth
from .interaction_helpers import Client, new_delegate, new_device
from .test_devices import provision
from .test_sessions import call, make_form, open_session, q

KIOSK_FIELDS = {"id", "_type", "name", "company", "badge", "createdAt", "updatedAt"}
UPLOAD = base64.b64encode(b"\x89PNG\r\n\x1a\nleads").decode()


@dataclass
class Kiosk:
    device: int
    user: str
    headers: Headers
    interactions: list[int]
    upload: int


@dataclass
class Event:
    delegates: list[int]
    a: Kiosk
    b: Kiosk
    reader: Headers


async def record(client: Client, who: Headers, kind: str, body: dict[str, Any]) -> int:
    resp = await client.post(f"/interaction/new/{kind}", json=body, headers=who)
    assert resp.status == 201, await resp.text()
    return int((await resp.json())["data"]["id"])


async def kiosk(client: Client, admin: Headers, delegates: list[int], leads: int) -> Kiosk:
    device = await new_device(client, admin)
    setup = await provision(client, admin, device)
    me = basic_auth(setup["user"], setup["password"])
    numbers = [await record(client, me, "lead", {"delegate": delegates[i % len(delegates)]})
               for i in range(leads)]
    upload = await record(client, me, "upload", {"delegate": delegates[0], "upload": UPLOAD,
                                                 "data": {"contentType": "image/png"}})
    return Kiosk(device, setup["user"], me, [*numbers, upload], upload)


async def event(client: Client, admin: Headers, make_user: UserFactory) -> Event:
    delegates = [await new_delegate(client, admin, name=f"Delegate {i}", company="ACME",
                                    email=f"d{i}@example.org", badge=f"B-{i}", data={"vip": i})
                 for i in range(2)]
    a = await kiosk(client, admin, delegates, leads=4)
    b = await kiosk(client, admin, delegates, leads=2)
    return Event(delegates, a, b, await make_user("reader"))


async def listed(client: Client, who: Headers, query: str = "") -> tuple[list[int], dict[str, Any]]:
    resp = await client.get(f"/interaction/list?{query}", headers=who)
    body = await resp.json()
    assert resp.status == 200, body
    return [row["id"] for row in body["data"]], body["meta"]


async def test_a_device_lists_only_its_own_interactions(
    client: Client, admin: Headers, make_user: UserFactory
) -> None:
    ev = await event(client, admin, make_user)
    a, b = ev.a, ev.b
    ids, meta = await listed(client, a.headers)
    assert ids == a.interactions and meta["total"] == len(a.interactions)
    # Filters stay within its own records.
    assert (await listed(client, a.headers, f"device={a.device}"))[0] == a.interactions
    ids, meta = await listed(client, a.headers, f"delegate={ev.delegates[1]}")
    assert ids == [a.interactions[1], a.interactions[3]] and meta["total"] == 2
    ids, meta = await listed(client, a.headers, "interactionType=upload")
    assert ids == [a.upload] and meta["total"] == 1
    # Naming another device is refused.
    resp = await client.get(f"/interaction/list?device={b.device}", headers=a.headers)
    assert resp.status == 403
    assert (await resp.json())["meta"]["error"] == {
        "code": 403, "internalCode": 1102,
        "message": f"this user reads only device {a.device}'s interactions, not device "
                   f"{b.device}'s"}
    # Readers and admins still see everyone's.
    for who in (ev.reader, admin):
        ids, meta = await listed(client, who)
        assert ids == sorted(a.interactions + b.interactions) and meta["total"] == len(ids)
        assert (await listed(client, who, f"device={b.device}"))[0] == b.interactions


async def test_a_device_pages_through_its_own_interactions_by_cursor(
    client: Client, admin: Headers, make_user: UserFactory
) -> None:
    ev = await event(client, admin, make_user)
    a = ev.a
    seen: list[int] = []
    url: str | None = "/interaction/list?limit=2"
    pages = 0
    previous = None
    while url is not None:
        resp = await client.get(url, headers=a.headers)
        body = await resp.json()
        assert resp.status == 200, body
        seen += [row["id"] for row in body["data"]]
        assert body["meta"]["total"] == len(a.interactions)
        url, previous, pages = body["meta"]["next"], body["meta"]["previous"], pages + 1
    assert seen == a.interactions and pages == 3
    # And back from the last page.
    back = await (await client.get(str(previous), headers=a.headers)).json()
    assert [row["id"] for row in back["data"]] == a.interactions[2:4]
    # A cursor of another listing (a reader's, over every interaction) does not reach outside
    # the device's own range.
    resp = await client.get("/interaction/list?limit=1", headers=ev.reader)
    foreign = parse_qs(urlsplit((await resp.json())["meta"]["next"]).query)["cursor"][0]
    resp = await client.get(f"/interaction/list?limit=5&cursor={foreign}", headers=a.headers)
    assert resp.status == 400
    error = (await resp.json())["meta"]["error"]
    assert error["internalCode"] == 1002 and error["details"][0]["pointer"] == "?cursor"


async def test_another_devices_interaction_and_upload_answer_as_missing_ones(
    client: Client, admin: Headers, make_user: UserFactory
) -> None:
    ev = await event(client, admin, make_user)
    a, b = ev.a, ev.b
    mine = await client.get(f"/interaction/id:{a.interactions[0]}", headers=a.headers)
    assert mine.status == 200
    missing = 9_999_999_999
    for number in (b.interactions[0], missing):
        resp = await client.get(f"/interaction/id:{number}", headers=a.headers)
        assert resp.status == 404
        assert await resp.json() == {"data": {}, "meta": {"error": {
            "code": 404, "internalCode": 1504, "message": f"no interaction with id {number}"}}}
    own_upload = await client.get(f"/interaction/id:{a.upload}/upload", headers=a.headers)
    assert own_upload.status == 200 and (await own_upload.read()).endswith(b"leads")
    for number in (b.upload, missing):
        resp = await client.get(f"/interaction/id:{number}/upload", headers=a.headers)
        assert resp.status == 404
        assert await resp.json() == {"data": {}, "meta": {"error": {
            "code": 404, "internalCode": 1504, "message": f"interaction {number} has no upload"}}}
    # Readers and admins read every device's.
    for who in (ev.reader, admin):
        assert (await client.get(f"/interaction/id:{b.interactions[0]}", headers=who)).status == 200
        resp = await client.get(f"/interaction/id:{b.upload}/upload", headers=who)
        assert resp.status == 200 and (await resp.read()).endswith(b"leads")


async def test_a_device_user_bound_to_no_device_reads_the_interactions_it_created(
    client: Client, admin: Headers, make_user: UserFactory
) -> None:
    ev = await event(client, admin, make_user)
    legacy = await make_user("device")  # created before provisioning existed: no device id
    own = await record(client, legacy, "lead", {"delegate": ev.delegates[0], "device": ev.a.device})
    ids, meta = await listed(client, legacy)
    assert ids == [own] and meta["total"] == 1
    assert (await listed(client, legacy, f"device={ev.a.device}"))[0] == [own]
    assert (await client.get(f"/interaction/id:{own}", headers=legacy)).status == 200
    # Device A's own records name the same device, but this user did not create them.
    resp = await client.get(f"/interaction/id:{ev.a.interactions[0]}", headers=legacy)
    assert resp.status == 404
    # Device A sees the record made as itself (firstDevice), as replication's rule has it.
    assert own in (await listed(client, ev.a.headers))[0]


async def test_a_device_reads_delegates_as_the_catalog_shows_them(
    client: Client, admin: Headers, make_user: UserFactory
) -> None:
    ev = await event(client, admin, make_user)
    first = ev.delegates[0]
    expected = {"id": first, "_type": "delegate", "name": "Delegate 0", "company": "ACME",
                "badge": "B-0"}
    for who in (ev.a.headers, await make_user("device")):
        resp = await client.get(f"/delegate/id:{first}", headers=who)
        shown = (await resp.json())["data"]
        assert resp.status == 200 and set(shown) == KIOSK_FIELDS
        assert {k: shown[k] for k in expected} == expected
        listing = (await (await client.get("/delegate/list", headers=who)).json())["data"]
        assert [set(row) for row in listing] == [KIOSK_FIELDS, KIOSK_FIELDS]
        by_badge = (await (await client.get("/delegate/list?badge=B-0", headers=who)).json())["data"]
        assert by_badge == [shown]
    for who in (ev.reader, admin):
        shown = (await (await client.get(f"/delegate/id:{first}", headers=who)).json())["data"]
        assert shown["email"] == "d0@example.org" and shown["data"] == {"vip": 0}
        listing = (await (await client.get("/delegate/list?badge=B-0", headers=who)).json())["data"]
        assert listing[0]["email"] == "d0@example.org"


async def test_a_device_reads_and_answers_only_its_own_sessions(
    client: Client, admin: Headers, make_user: UserFactory
) -> None:
    await make_form(client, admin)
    ev = await event(client, admin, make_user)
    a, b = ev.a, ev.b
    mine = await open_session(client, a.headers)
    theirs = await open_session(client, b.headers)
    missing = "0" * 32
    # A session's owner is the user that opened it.
    by_owner = await call(client, "GET", f"/api/questionnaires?owner={a.user}", admin)
    assert [row["_id"] for row in by_owner["rows"]] == [mine]
    listing = await call(client, "GET", "/api/questionnaires", a.headers)
    assert [row["_id"] for row in listing["rows"]] == [mine]
    listing = await call(client, "GET", f"/api/questionnaires?owner={a.user}", a.headers)
    assert [row["_id"] for row in listing["rows"]] == [mine]
    refused = await call(client, "GET", f"/api/questionnaires?owner={b.user}", a.headers,
                         status=403)
    assert refused["error"] == "forbidden"
    assert [s["id"] for s in await call(client, "GET", "/v2/questionnaires", a.headers)] == [mine]

    rev = (await call(client, "GET", q(theirs), admin))["_rev"]
    reads = ["", "/answers", "/pages", "/items", "/errors", "/status", "/valueSets", "/delivery",
             "/items/question1", "/items/group2/rows", "/valueSets/vs1"]
    for sid in (theirs, missing):
        gone = {"error": "not_found", "reason": f"questionnaire session {sid} not found"}
        for rest in reads:
            assert await call(client, "GET", q(sid, rest), a.headers, status=404) == gone, rest
        for method, path, body in [
            ("PUT", q(sid, "/answers/question1"), {"value": "Ann"}),
            ("POST", q(sid, "/answers"), [{"id": "question1", "value": "Ann"}]),
            ("POST", q(sid, "/actions"), [{"type": "NEXT"}]),
            ("PUT", q(sid, "/status"), {"status": "COMPLETED"}),
            ("PUT", q(sid), {"_rev": rev, "answers": []}),
            ("DELETE", q(sid, "/answers/question1"), None),
            ("POST", q(sid, "/items/group2/rows"), None),
            ("DELETE", q(sid, "/items/group2/rows/group2[1]"), None),
            ("PUT", q(sid, "/pages"), {"action": "NEXT"}),
            ("POST", f"/v2/questionnaires/{sid}/answers", [{"id": "question1", "value": "A"}]),
            ("GET", f"/v2/questionnaires/{sid}/items", None),
            ("GET", f"/v2/questionnaires/{sid}/errors", None),
            ("GET", f"/v2/questionnaires/{sid}/pages", None),
            ("PUT", f"/v2/questionnaires/{sid}/status", "COMPLETED"),
            ("GET", f"/session/dialob/{sid}", None),
            ("POST", f"/session/dialob/{sid}", {"rev": rev, "actions": []}),
            ("GET", f"/fill/dialob/{sid}", None),
            ("GET", f"/v2/questionnaires/{sid}", None),
            ("PUT", f"/v2/questionnaires/{sid}", {"_rev": rev, "answers": []}),
        ]:
            resp = await client.request(method, path, json=body, headers=a.headers)
            assert resp.status == 404, (method, path)
            assert (await resp.json())["error"] == "not_found", (method, path)
        assert (await client.get(f"/fill/{sid}", headers=a.headers)).status == 404
    # Nothing of B's session changed; B, readers and admins still read it.
    assert (await call(client, "GET", q(theirs), admin))["_rev"] == rev
    await call(client, "GET", q(theirs), b.headers)
    for who in (ev.reader, admin):
        listing = await call(client, "GET", "/api/questionnaires", who)
        assert sorted(row["_id"] for row in listing["rows"]) == sorted([mine, theirs])
        await call(client, "GET", q(theirs, "/pages"), who)
    # A answers its own session through every door.
    await call(client, "PUT", q(mine, "/answers/question1"), a.headers, {"value": "Ann"})
    state = await call(client, "GET", f"/fill/dialob/{mine}", a.headers)
    assert state["rev"].startswith("2-")


def test_who_is_a_device_only_caller() -> None:
    from service.auth import User
    from service.scope import Owner, owner_of

    bound = owner_of(User("device-7", ("settee:device", "settee:device:7")))
    assert bound == Owner("device-7", 7) and bound.interactions_key == ("device", 7)
    legacy = owner_of(User("kiosk", ("settee:device",)))
    assert legacy == Owner("kiosk", None) and legacy.interactions_key == ("user", "kiosk")
    for everything in (("settee:device", "settee:reader"), ("settee:device", "settee:admin"),
                       ("_admin",), ("settee:reader",)):
        assert owner_of(User("someone", everything)) is None, everything
