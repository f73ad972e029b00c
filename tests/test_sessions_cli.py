"""`python -m service export-answers`, run as a user runs it."""

from __future__ import annotations

import csv
import io
from typing import Any

from service.engine import EngineAccess
from service.settings import Settings
from tests.conftest import Headers
from tests.test_cli import engine_env, run_cli
from tests.test_sessions import FORM, call, make_form, open_session, q, seed_request


async def test_export_answers_one_row_per_answer(
    engine: EngineAccess, settings: Settings, client: Any, admin: Headers
) -> None:
    await make_form(client, admin)
    first = await open_session(client, admin, seed_request())
    await call(client, "POST", q(first, "/answers"), admin, [
        {"id": "question1", "value": "Ada"}, {"id": "question2", "value": ["a", "b"]},
        {"id": "age", "value": 36},
    ])
    await call(client, "POST", q(first, "/actions"), admin, [{"type": "COMPLETE"}])
    second = await open_session(client, admin, seed_request())
    await call(client, "POST", q(second, "/answers"), admin, [{"id": "question1", "value": "skip"}])

    everything = run_cli("export-answers", env=engine_env(engine, settings))
    assert everything.returncode == 0, everything.stderr
    rows = list(csv.DictReader(io.StringIO(everything.stdout)))
    assert everything.stderr.strip().splitlines()[-1] == "exported 4 answer(s)"
    by_session: dict[str, dict[str, str]] = {}
    for row in rows:
        by_session.setdefault(row["sessionId"], {})[row["answerId"]] = row["value"]
    assert by_session == {
        first: {"question1": "Ada", "question2": '["a", "b"]', "age": "36"},
        second: {"question1": "skip"},
    }
    assert {row["formId"] for row in rows} == {"visitor-survey"}
    assert all(row["formRevision"].startswith("1-") for row in rows)

    completed = run_cli("export-answers", "--status", "COMPLETED", env=engine_env(engine, settings))
    assert {row["sessionId"] for row in csv.DictReader(io.StringIO(completed.stdout))} == {first}
    await make_form(client, admin, {**FORM, "id": "unused-form"})
    other_form = run_cli("export-answers", "--form", "unused-form", env=engine_env(engine, settings))
    assert list(csv.reader(io.StringIO(other_form.stdout))) == [[
        "sessionId", "formId", "formRevision", "status", "language", "owner", "created",
        "lastAnswer", "answerId", "value"]]
    no_form = run_cli("export-answers", "--form", "nope", env=engine_env(engine, settings))
    assert no_form.returncode == 1
    assert no_form.stdout == ""
    assert no_form.stderr.strip().splitlines()[-1] == \
        "error: --form nope: no such form; known: unused-form, visitor-survey"
