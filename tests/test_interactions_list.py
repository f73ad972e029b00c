"""GET /interaction/list: order, filters, totals, cursor and offset pages, limits."""

from __future__ import annotations

from typing import Any

from tests.interaction_helpers import Client, Headers, new_delegate, new_device


async def seed(client: Client, admin: Headers) -> dict[str, Any]:
    ada, bob = await new_delegate(client, admin), await new_delegate(client, admin, name="Bob")
    door, printer = await new_device(client, admin), await new_device(client, admin)
    entries = {
        "1": {"delegate": ada, "device": door, "interactionType": "check-in", "recordedAt": 100},
        "2": {"delegate": bob, "device": door, "interactionType": "check-in", "recordedAt": 200},
        "3": {"delegate": ada, "device": printer, "interactionType": "print", "recordedAt": 300},
        "4": {"delegate": ada, "secondDelegate": bob, "interactionType": "join",
              "recordedAt": 400},
        "5": {"delegate": bob, "device": door, "interactionType": "check-out", "recordedAt": 500},
        "6": {"delegate": ada, "device": door, "interactionType": "check-out", "recordedAt": 600},
        "7": {"delegate": bob, "device": printer, "interactionType": "print"},
    }
    resp = await client.post("/interaction/batch", json={"interactions": entries}, headers=admin)
    body = await resp.json()
    assert body["meta"]["failed"] == 0, body
    ids = [body["data"][k]["data"]["id"] for k in entries]
    return {"ada": ada, "bob": bob, "door": door, "printer": printer, "ids": ids,
            "answers": [body["data"][k]["data"] for k in entries]}


async def listing(client: Client, headers: Headers, url: str) -> dict[str, Any]:
    resp = await client.get(url, headers=headers)
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


async def test_whole_list_in_id_order_with_meta(client: Client, admin: Headers,
                                                make_user: Any) -> None:
    made = await seed(client, admin)
    reader = await make_user("reader")
    body = await listing(client, reader, "/interaction/list")
    assert body == {"data": made["answers"], "meta": {
        "total": 7, "offset": 0, "limit": 5000, "next": None, "previous": None}}
    assert [row["id"] for row in body["data"]] == sorted(made["ids"])


async def test_cursor_pages_over_more_than_two_pages(client: Client, admin: Headers) -> None:
    made = await seed(client, admin)
    url: str | None = "/interaction/list?limit=2"
    seen, offsets, pages = [], [], []
    while url is not None:
        body = await listing(client, admin, url)
        assert body["meta"]["total"] == 7 and body["meta"]["limit"] == 2
        seen += [row["id"] for row in body["data"]]
        offsets.append(body["meta"]["offset"])
        pages.append(body)
        url = body["meta"]["next"]
        if url is not None:
            assert "cursor=" in url and "offset=" not in url
    assert seen == made["ids"]
    assert offsets == [0, 2, 4, 6]
    assert pages[0]["meta"]["previous"] is None
    # previous from the third page is the second page.
    back = await listing(client, admin, pages[2]["meta"]["previous"])
    assert back["data"] == pages[1]["data"]
    assert back["meta"]["offset"] == 2
    back = await listing(client, admin, back["meta"]["previous"])
    assert back["data"] == pages[0]["data"] and back["meta"]["previous"] is None


async def test_plain_offset_still_works(client: Client, admin: Headers) -> None:
    made = await seed(client, admin)
    body = await listing(client, admin, "/interaction/list?offset=3&limit=2")
    assert [row["id"] for row in body["data"]] == made["ids"][3:5]
    meta = body["meta"]
    assert (meta["total"], meta["offset"], meta["limit"]) == (7, 3, 2)
    assert meta["previous"] == "/interaction/list?limit=2&offset=1"
    after = await listing(client, admin, meta["next"])
    assert [row["id"] for row in after["data"]] == made["ids"][5:7]
    assert after["meta"]["offset"] == 5 and after["meta"]["next"] is None


async def test_filters_and_their_totals(client: Client, admin: Headers) -> None:
    made = await seed(client, admin)
    ids = made["ids"]

    async def ids_of(query: str) -> tuple[list[int], int]:
        body = await listing(client, admin, "/interaction/list?" + query)
        return [row["id"] for row in body["data"]], body["meta"]["total"]

    assert await ids_of("interactionType=check-in") == ([ids[0], ids[1]], 2)
    assert await ids_of(f"delegate={made['ada']}") == ([ids[0], ids[2], ids[3], ids[5]], 4)
    assert await ids_of(f"delegate={made['bob']}") == ([ids[1], ids[3], ids[4], ids[6]], 4)
    assert await ids_of(f"device={made['printer']}") == ([ids[2], ids[6]], 2)
    assert await ids_of(f"delegate={made['bob']}&interactionType=print") == ([ids[6]], 1)
    assert await ids_of(f"delegate={made['ada']}&device={made['door']}") == (
        [ids[0], ids[5]], 2)
    assert await ids_of("recordedFrom=200&recordedTo=1970-01-01T00:08:20Z") == (
        [ids[1], ids[2], ids[3], ids[4]], 4)
    assert await ids_of("updatedSince=2000-01-01T00:00:00Z") == (ids, 7)
    assert await ids_of("updatedSince=2999-01-01T00:00:00Z") == ([], 0)
    assert await ids_of("interactionType=nothing-like-this") == ([], 0)
    # A filtered list pages with cursors too, keeping its filters in the links.
    body = await listing(client, admin, f"/interaction/list?delegate={made['ada']}&limit=3")
    assert f"delegate={made['ada']}" in body["meta"]["next"]
    rest = await listing(client, admin, body["meta"]["next"])
    assert [row["id"] for row in rest["data"]] == [ids[5]]
    assert rest["meta"]["offset"] == 3 and rest["meta"]["total"] == 4
    body = await listing(client, admin, "/interaction/list?recordedFrom=150&limit=2&offset=1")
    assert [row["id"] for row in body["data"]] == [ids[2], ids[3]]
    assert body["meta"]["total"] == 5


async def test_bad_parameters(client: Client, admin: Headers) -> None:
    for query, name in (("limit=5001", "limit"), ("limit=0", "limit"), ("offset=-1", "offset"),
                        ("cursor=zzz", "cursor"), ("delegate=abc", "delegate"),
                        ("recordedFrom=yesterday", "recordedFrom")):
        resp = await client.get(f"/interaction/list?{query}", headers=admin)
        assert resp.status == 400, query
        error = (await resp.json())["meta"]["error"]
        assert error["internalCode"] == 1002
        assert error["details"][0]["pointer"] == f"?{name}"


async def test_head_answers_headers_only(client: Client, admin: Headers) -> None:
    await seed(client, admin)
    for path in ("/interaction/list", "/delegate/list"):
        resp = await client.head(path, headers=admin)
        assert resp.status == 200
        assert resp.content_type == "application/json"
        assert await resp.read() == b""
