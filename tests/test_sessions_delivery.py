"""submitUrl delivery on a real engine and a real local HTTP receiver: failure then success across
a service restart, retries with back-off, 410 Gone, giving up, one delivery with two workers, and
the crash window between queueing and completing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from yarl import URL

from service.app import create_app
from service.clock import iso, now, parse_timestamp
from service.keys import STORE
from service.questionnaires.delivery import DeliveryWorker, delivery_id
from service.settings import Settings
from service.store import INTERNAL, Store

from .conftest import Headers
from .receiver import Receiver
from .test_sessions import call, make_form, open_session, q, seed_request, session

Client = TestClient[web.Request, web.Application]
Json = dict[str, Any]
AppFactory = Callable[[], Awaitable[Client]]


@pytest.fixture
def fast(settings: Settings) -> Settings:
    """Back-off and polling short enough for a test; the same databases as `settings`."""
    return replace(settings, delivery_backoff_seconds=0.05, delivery_backoff_max_seconds=0.2,
                   delivery_poll_seconds=0.05, delivery_timeout_seconds=5.0)


@pytest.fixture
def start(
    aiohttp_client: Callable[..., Awaitable[Client]], fast: Settings
) -> AppFactory:
    async def start_app() -> Client:
        return await aiohttp_client(create_app(fast))

    return start_app


async def poll(fetch: Callable[[], Awaitable[Json | None]], done: Callable[[Json], bool]) -> Json:
    """Fetch until `done` (bounded: a few seconds)."""
    state: Json | None = None
    for _ in range(200):
        state = await fetch()
        if state is not None and done(state):
            return state
        await asyncio.sleep(0.025)
    raise AssertionError(f"delivery never got there: {state}")


async def wait_for(
    client: Client, admin: Headers, sid: str, done: Callable[[Json], bool]
) -> Json:
    """The delivery as the API shows it, once `done`."""

    async def fetch() -> Json | None:
        resp = await client.get(q(sid, "/delivery"), headers=admin)
        return await resp.json() if resp.status == 200 else None

    return await poll(fetch, done)


async def completed_session(client: Client, admin: Headers, submit_url: str) -> str:
    await make_form(client, admin)
    sid = await open_session(client, admin, seed_request(submitUrl=submit_url))
    await call(client, "POST", q(sid, "/actions"), admin, [
        {"type": "ANSWER", "id": "question1", "value": "skip"}, {"type": "COMPLETE"},
    ])
    return sid


async def test_delivery_fails_then_succeeds_across_a_restart(
    start: AppFactory, admin: Headers, receiver: Receiver, store: Store
) -> None:
    receiver.then = 500
    first = await start()
    sid = await completed_session(first, admin, receiver.url)
    state = await wait_for(first, admin, sid, lambda s: s["attempts"] >= 2)
    assert state["lastStatus"] == 500 and state["lastError"] == "HTTP 500"
    await first.close()
    # Nobody runs: the delivery waits in the engine, still pending.
    tries = len(receiver.received)
    queued = await store.get(INTERNAL, delivery_id(sid))
    assert queued["state"] in ("pending", "delivering") and queued["attempts"] == tries
    receiver.then = 200
    second = await start()
    state = await wait_for(second, admin, sid, lambda s: s["state"] == "delivered")
    final = await session(second, admin, sid)
    assert state["attempts"] == tries + 1 == len(receiver.received)
    assert [entry["status"] for entry in state["log"]] == [500] * tries + [200]
    assert [entry["attempt"] for entry in state["log"]] == list(range(1, tries + 2))
    assert state["lastStatus"] == 200 and state["lastError"] is None
    assert state["deliveredAt"] is not None and state["submitUrl"] == receiver.url
    body, headers = receiver.received[-1]
    assert body == final  # the session's GET shape
    assert headers["Idempotency-Key"] == f"{sid}:{final['_rev']}"
    assert headers["X-Settee-Delivery-Attempt"] == str(tries + 1)
    assert headers["Content-Type"] == "application/json"
    # Every try carried the same idempotency key: the receiver can tell a repeat.
    assert {h["Idempotency-Key"] for _, h in receiver.received} == {f"{sid}:{final['_rev']}"}


async def test_a_stopping_service_finishes_the_send_under_way(
    start: AppFactory, admin: Headers, receiver: Receiver, store: Store
) -> None:
    receiver.then, receiver.delay = 500, 0.3
    first = await start()
    sid = await completed_session(first, admin, receiver.url)
    await asyncio.wait_for(receiver.arrived.wait(), 5)
    await first.close()  # while the receiver is still answering
    queued = await store.get(INTERNAL, delivery_id(sid))
    # The outcome is recorded and the claim released: the next process need not wait for a lease.
    assert queued["state"] == "pending" and queued["leaseUntil"] is None
    assert [entry["status"] for entry in queued["log"]] == [500]


async def test_status_endpoint_completion_delivers_and_retries_with_backoff(
    start: AppFactory, admin: Headers, receiver: Receiver
) -> None:
    receiver.plan = [503, 500]
    client = await start()
    await make_form(client, admin)
    sid = await open_session(client, admin, seed_request(submitUrl=receiver.url))
    await call(client, "PUT", q(sid, "/answers/question1"), admin, {"value": "skip"})
    answer = await call(client, "GET", q(sid, "/delivery"), admin, status=404)
    assert answer["error"] == "not_found"
    await call(client, "PUT", q(sid, "/status"), admin, {"status": "COMPLETED"})
    state = await wait_for(client, admin, sid, lambda s: s["state"] == "delivered")
    assert [entry["status"] for entry in state["log"]] == [503, 500, 200]
    assert state["attempts"] == 3
    # Back-off: each retry waited at least the configured, doubling delay (0.05 s, then 0.1 s).
    started = [parse_timestamp(entry["at"]) for entry in state["log"]]
    assert started[1] - started[0] >= timedelta(seconds=0.05)
    assert started[2] - started[1] >= timedelta(seconds=0.1)


async def test_410_gone_stops_at_once(
    start: AppFactory, admin: Headers, receiver: Receiver
) -> None:
    receiver.then = 410
    client = await start()
    sid = await completed_session(client, admin, receiver.url)
    state = await wait_for(client, admin, sid, lambda s: s["state"] == "failed")
    assert state["attempts"] == 1 and len(receiver.received) == 1
    assert state["lastStatus"] == 410
    assert state["lastError"] == "HTTP 410 Gone: the receiver refuses it for good"
    assert state["nextAttemptAt"] is not None  # unchanged, but no longer due: failed is final


async def test_gives_up_after_the_retry_period(
    aiohttp_client: Callable[..., Awaitable[Client]], fast: Settings, admin: Headers,
    receiver: Receiver,
) -> None:
    receiver.then = 500
    client = await aiohttp_client(create_app(replace(fast, delivery_retry_seconds=0.3)))
    sid = await completed_session(client, admin, receiver.url)
    state = await wait_for(client, admin, sid, lambda s: s["state"] == "failed")
    assert state["attempts"] == len(receiver.received) >= 2
    assert state["lastError"] == f"HTTP 500; gave up after {state['attempts']} attempt(s)"


async def test_unreachable_receiver_is_retried_with_the_error_logged(
    start: AppFactory, admin: Headers, receiver: Receiver
) -> None:
    client = await start()
    sid = await completed_session(client, admin, "http://127.0.0.1:9/nobody-listens")
    # An attempt counts from its claim: wait until it is settled (its error recorded).
    state = await wait_for(client, admin, sid,
                           lambda s: s["attempts"] >= 1 and s["state"] != "delivering")
    assert state["lastStatus"] is None and "Connect" in state["lastError"]
    assert state["log"][0]["status"] is None and state["log"][0]["error"] == state["lastError"]


async def test_two_service_processes_deliver_once(
    start: AppFactory, admin: Headers, receiver: Receiver
) -> None:
    first, second = await start(), await start()
    sid = await completed_session(first, admin, receiver.url)
    # Both workers look at once; the claim on the delivery's _rev lets only one send.
    state = await wait_for(second, admin, sid, lambda s: s["state"] == "delivered")
    for _ in range(10):  # a few more rounds of both workers: nothing more is sent
        await asyncio.sleep(0.05)
    assert state["attempts"] == 1 and len(receiver.received) == 1


async def test_a_worker_never_claims_a_delivery_another_settled_or_holds(
    start: AppFactory, admin: Headers, receiver: Receiver, store: Store, fast: Settings
) -> None:
    client = await start()
    sid = await completed_session(client, admin, receiver.url)
    await wait_for(client, admin, sid, lambda s: s["state"] == "delivered")
    # A second worker whose view row said "due" but whose document is already delivered.
    late = DeliveryWorker(store, fast)
    delivered = await store.get(INTERNAL, delivery_id(sid))
    assert await late.attempt(delivered) is False
    # Or still held by a live claim of another process.
    held = {**delivered, "state": "delivering", "leaseUntil": iso(now() + timedelta(minutes=1))}
    assert await late.attempt(held) is False
    assert len(receiver.received) == 1


async def test_deleting_a_session_cancels_its_delivery(
    start: AppFactory, admin: Headers, receiver: Receiver
) -> None:
    receiver.then = 500
    client = await start()
    sid = await completed_session(client, admin, receiver.url)
    await wait_for(client, admin, sid, lambda s: s["attempts"] >= 1)
    rev = (await session(client, admin, sid))["_rev"]
    await call(client, "DELETE", q(sid) + f"?rev={rev}", admin)
    queued = await poll(lambda: client.app[STORE].get(INTERNAL, delivery_id(sid)),
                        lambda d: d["state"] == "cancelled")
    assert queued["lastError"] == "the session was deleted"


async def test_crash_window_orphan_is_cancelled(
    start: AppFactory, admin: Headers, receiver: Receiver, store: Store
) -> None:
    client = await start()
    await make_form(client, admin)
    # A delivery queued for a completion that never landed (the process died in between).
    sid = await open_session(client, admin, seed_request(submitUrl=receiver.url))
    long_ago = iso(now() - timedelta(minutes=5))
    await store.put(INTERNAL, {
        "_id": delivery_id(sid), "type": "delivery", "createdAt": long_ago, "updatedAt": long_ago,
        "sessionId": sid, "submitUrl": receiver.url, "state": "pending", "attempts": 0,
        "nextAttemptAt": long_ago, "giveUpAt": iso(now() + timedelta(days=1)), "leaseUntil": None,
        "deliveredAt": None, "lastStatus": None, "lastError": None, "log": [],
    })
    state = await wait_for(client, admin, sid, lambda s: s["state"] == "cancelled")
    assert state["lastError"] == "the session was never completed" and receiver.received == []
    # Completing it now queues it afresh and delivers.
    await call(client, "POST", q(sid, "/actions"), admin, [
        {"type": "ANSWER", "id": "question1", "value": "skip"}, {"type": "COMPLETE"},
    ])
    await wait_for(client, admin, sid, lambda s: s["state"] == "delivered")
    assert len(receiver.received) == 1


async def test_deliveries_carry_no_credentials_and_keep_no_cookies(
    start: AppFactory, admin: Headers, receiver: Receiver
) -> None:
    # A host name (a cookie jar refuses cookies from IP addresses) that plants a cookie on
    # every answer: the next try, to it or to anyone else, must not carry it back.
    receiver.set_cookie = "planted"
    receiver.plan = [500]
    client = await start()
    url = str(URL(receiver.url).with_host("localhost"))
    sid = await completed_session(client, admin, url)
    await wait_for(client, admin, sid, lambda s: s["state"] == "delivered")
    assert len(receiver.received) == 2
    for _, headers in receiver.received:
        assert "Cookie" not in headers and "Authorization" not in headers
