"""Dialob's fill protocol: one `POST /session/dialob/{id}` of one ANSWER (as @dialob/fill-api
sends it, with the rev of its last answer), 8 clients, each on a session of its own, against
the engine's own update of a document of the same shape (a `PUT` with the revision it just
got), in the same run (target >= 0.6x).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from service.clock import now_iso

from .bench_sessions import FORM
from .harness import BenchEnv, Result, check, new_form, timed

CONCURRENCY = 8
VALUES = ["Ann", "Bob", "Cy", "Di"]


async def run(env: BenchEnv) -> list[Result]:
    http, admin = env.http, env.admin_headers
    create_body = await new_form(env, FORM, "bench-fill")
    records = f"{env.engine_url}/{env.db_prefix}records"
    engine_headers = {**admin, "Accept": "application/json"}  # PouchDB Server: else text/plain

    # One session and one engine document per client: a client answers only its own.
    fill_sessions: list[dict[str, Any]] = []
    engine_docs: list[dict[str, Any]] = []
    for _ in range(CONCURRENCY):
        async with http.post(f"{env.service_url}/api/questionnaires", json=create_body,
                             headers=admin) as resp:
            check(resp.status, 201, "service create")
            sid = (await resp.json())["_id"]
        async with http.get(f"{env.service_url}/session/dialob/{sid}", headers=admin) as resp:
            check(resp.status, 200, "fill state")
            fill_sessions.append({"id": sid, "rev": (await resp.json())["rev"], "n": 0})
        doc: dict[str, Any] = {
            "_id": uuid.uuid4().hex, "type": "questionnaire", "createdAt": now_iso(),
            "updatedAt": now_iso(), "owner": "bench", "answers": [],
            "tables": [{"tableId": "group2", "rows": []}], "context": create_body["context"],
            "activeItem": "page1", "metadata": {**create_body["metadata"], "status": "OPEN"},
        }
        async with http.put(f"{records}/{doc['_id']}", json=doc, headers=engine_headers) as resp:
            check(resp.status, 201, "engine create")
            doc["_rev"] = (await resp.json())["rev"]
        engine_docs.append(doc)

    free_sessions: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    free_docs: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for entry in fill_sessions:
        free_sessions.put_nowait(entry)
    for doc in engine_docs:
        free_docs.put_nowait(doc)

    async def through_fill_protocol() -> None:
        entry = await free_sessions.get()
        entry["n"] += 1
        body = {"rev": entry["rev"], "actions": [
            {"type": "ANSWER", "id": "question1", "answer": VALUES[entry["n"] % len(VALUES)]}]}
        async with http.post(f"{env.service_url}/session/dialob/{entry['id']}", json=body,
                             headers=admin) as resp:
            check(resp.status, 200, "fill answer")
            entry["rev"] = (await resp.json())["rev"]
        free_sessions.put_nowait(entry)

    async def straight_to_engine() -> None:
        doc = await free_docs.get()
        value = VALUES[len(doc["answers"]) % len(VALUES)]
        doc["answers"] = [{"id": "question1", "value": value}]
        doc["updatedAt"] = now_iso()
        async with http.put(f"{records}/{doc['_id']}", json=doc, headers=engine_headers) as resp:
            check(resp.status, 201, "engine update")
            doc["_rev"] = (await resp.json())["rev"]
        free_docs.put_nowait(doc)

    answers = 4000 if env.large else 1000
    await timed(through_fill_protocol, 50, CONCURRENCY)  # warm-up
    await timed(straight_to_engine, 50, CONCURRENCY)
    # Alternate halves so machine noise falls on both sides alike.
    service_s = engine_s = 0.0
    for _ in range(2):
        service_s += await timed(through_fill_protocol, answers // 2, CONCURRENCY)
        engine_s += await timed(straight_to_engine, answers // 2, CONCURRENCY)
    return [Result(
        name=f"POST /session/dialob (one ANSWER), {CONCURRENCY} clients",
        unit="req/s", service=answers / service_s, engine=answers / engine_s,
        higher_is_better=True, target=0.6,
        note=f"{answers} answers; engine: PUT of the document with its rev",
    )]
