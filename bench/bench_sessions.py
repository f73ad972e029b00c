"""Session API: sessions created and answered through the service, against the same document
creates and updates sent straight to a plain database (no design documents), in the same run
(target >= 0.7x); and the engine requests of the fill path, against their budget.

One "session" is one create and ANSWERS updates: through the service `POST /api/questionnaires`
then `PUT .../answers/{id}` (rules evaluated, conflicts handled); on the engine a `PUT` of a
document of the same shape, then ANSWERS `PUT`s of it with the revision it just got.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from service.clock import now_iso

from .harness import PLAIN, BenchEnv, CpuMeter, Result, check, new_form, timed, within_budget

FORM: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent.parent / "docs" / "examples" / "visitor-survey.form.json")
    .read_text("utf-8")
)
ANSWERS = [("question1", "Ann"), ("age", 42), ("question2", ["a", "b"]), ("question1", "Bob")]
CONCURRENCY = 8
SLICES = 4


async def run(env: BenchEnv) -> list[Result]:
    http, admin = env.http, env.admin_headers
    create_body = await new_form(env, FORM, "bench")
    plain = env.db(PLAIN)
    engine_headers = env.engine_headers

    def through(url: str) -> Callable[[], Coroutine[Any, Any, None]]:
        async def fill() -> None:
            async with http.post(f"{url}/api/questionnaires", json=create_body,
                                 headers=admin) as resp:
                check(resp.status, 201, "service create")
                sid = (await resp.json())["_id"]
            for answer_id, value in ANSWERS:
                async with http.put(f"{url}/api/questionnaires/{sid}/answers/{answer_id}",
                                    json={"value": value}, headers=admin) as resp:
                    check(resp.status, 200, "service answer")
        return fill

    async def straight_to_engine() -> None:
        doc: dict[str, Any] = {
            "_id": uuid.uuid4().hex, "type": "questionnaire", "createdAt": now_iso(),
            "updatedAt": now_iso(), "owner": "bench", "answers": [],
            "tables": [{"tableId": "group2", "rows": []}], "context": create_body["context"],
            "activeItem": "page1", "metadata": {**create_body["metadata"], "status": "OPEN"},
        }
        async with http.put(f"{plain}/{doc['_id']}", json=doc, headers=engine_headers) as resp:
            check(resp.status, 201, "engine create")
            doc["_rev"] = (await resp.json())["rev"]
        for answer_id, value in ANSWERS:
            doc["answers"] = [a for a in doc["answers"] if a["id"] != answer_id]
            doc["answers"].insert(0, {"id": answer_id, "value": value})
            doc["updatedAt"] = now_iso()
            async with http.put(f"{plain}/{doc['_id']}", json=doc, headers=engine_headers) as resp:
                check(resp.status, 201, "engine update")
                doc["_rev"] = (await resp.json())["rev"]

    through_service = through(env.service_url)
    sessions = 1000 if env.large else 200
    await timed(through_service, 20, CONCURRENCY)  # warm-up: caches, parsed form revisions
    await timed(straight_to_engine, 20, CONCURRENCY)
    # Alternate slices so machine noise falls on both sides alike.
    cpu = CpuMeter(env)
    service_s = engine_s = 0.0
    for _ in range(SLICES):
        service_s += await cpu.timed(through_service, sessions // SLICES, CONCURRENCY,
                                     1 + len(ANSWERS))
        engine_s += await timed(straight_to_engine, sessions // SLICES, CONCURRENCY)
    requests = sessions * (1 + len(ANSWERS))
    counted = through(env.counted_url)
    await counted()  # the counting service's own warm-up (the form revision it parses)

    async def fill_counted(_: str) -> None:
        await counted()

    return [
        Result(
            name=f"Session create + {len(ANSWERS)} answers, {CONCURRENCY} clients",
            unit="req/s", service=requests / service_s, engine=requests / engine_s,
            higher_is_better=True, target=0.7,
            note=f"{sessions} sessions; engine: the same PUTs to a plain database",
            cpu_us_per_record=cpu.micros_per_record,
        ),
        within_budget(
            f"session create + {len(ANSWERS)} answers", await env.requests_made(fill_counted),
            1 + len(ANSWERS), "the create, one write per answer (the form's newest revision "
            "is in memory)",
        ),
    ]
