"""JSON on the hot path: fast where exact, and exact where the fast library is not."""

from __future__ import annotations

import json

from service import jsoncodec
from service.store import RECORDS, Store
from tests.interaction_helpers import Client, Headers, new_delegate, new_device

HUGE = 10**30


def test_dumps_and_copy_keep_integers_beyond_64_bits() -> None:
    value = {"n": HUGE, "list": [1, {"deep": HUGE}], "text": "é"}
    assert json.loads(jsoncodec.dumps(value)) == value
    copied = jsoncodec.copy(value)
    assert copied == value and copied is not value and copied["list"] is not value["list"]
    plain = {"a": [1, 2.5, None, True, "x"]}
    assert jsoncodec.copy(plain) == plain and jsoncodec.dumps(plain) == b'{"a":[1,2.5,null,true,"x"]}'


async def test_an_interaction_keeps_a_huge_integer(client: Client, admin: Headers,
                                                   store: Store) -> None:
    visitor, stand = await new_delegate(client, admin), await new_device(client, admin)
    body = {"delegate": visitor, "device": stand, "data": {"answers": {"budget": HUGE}}}
    resp = await client.post("/interaction/new/lead", json=body, headers=admin)
    assert resp.status == 201
    data = json.loads(await resp.read())["data"]
    assert data["data"] == {"answers": {"budget": HUGE}}
    # What the engine keeps is its own affair: CouchDB keeps the integer, PouchDB Server a double.
    stored = await store.get(RECORDS, f"interaction:{data['id']:010d}")
    assert stored["data"]["answers"]["budget"] in (HUGE, float(HUGE))


def test_loads_answers_what_the_standard_library_does() -> None:
    for raw in [b'{"a": [1, 2.5, -0.0, 1e2, "x\\u00e9"]}', b'[18446744073709551616]',
                b'{"n": -9223372036854775809, "m": 100000000000000000000000000000.5}',
                b'"\\ud800"', b'\xef\xbb\xbf{"bom": 1}', b'{"a": 1, "a": 2}', b'[NaN]']:
        expected = json.loads(raw)
        found = jsoncodec.loads(raw)
        assert repr(found) == repr(expected), raw
    assert jsoncodec.loads(b'{"n": %d}' % HUGE) == {"n": HUGE}
