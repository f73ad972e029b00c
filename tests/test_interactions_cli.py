"""The command line's `import-delegates` and `export-interactions`, run as a user runs them."""

from __future__ import annotations

import csv
from pathlib import Path

from service.engine import EngineAccess
from service.settings import Settings
from tests.interaction_helpers import Client, Headers, new_device
from tests.test_cli import engine_env, run_cli


async def test_import_delegates_then_again(
    engine: EngineAccess, settings: Settings, client: Client, admin: Headers, tmp_path: Path
) -> None:
    path = tmp_path / "delegates.csv"
    path.write_text(
        "name,email,company,badge,diet\n"
        "Ada Lovelace,ada@example.org,Engines,B-1,vegan\n"
        "Bob,not-an-email,,B-2,\n"
        "Carol,,,B-1,\n"
        "Dan,,,,\n",
        encoding="utf-8",
    )
    env = engine_env(engine, settings)
    first = run_cli("import-delegates", str(path), env=env)
    assert first.returncode == 1, first.stderr
    lines = first.stdout.strip().splitlines()
    assert lines[0] == "created 2 delegate(s), 0 already imported, 2 row(s) refused"
    assert lines[1].startswith("  line 3: /email:")
    assert lines[2] == "  line 4: badge B-1 already belongs to delegate " + lines[2].split()[-1]
    found = await (await client.get("/delegate/list?badge=B-1", headers=admin)).json()
    assert found["data"][0]["name"] == "Ada Lovelace"
    assert found["data"][0]["data"] == {"diet": "vegan"}
    again = run_cli("import-delegates", str(path), env=env)
    assert again.stdout.splitlines()[0] == \
        "created 0 delegate(s), 2 already imported, 2 row(s) refused"
    listed = await (await client.get("/delegate/list", headers=admin)).json()
    assert listed["meta"]["total"] == 2


async def test_export_interactions(
    engine: EngineAccess, settings: Settings, client: Client, admin: Headers, tmp_path: Path
) -> None:
    resp = await client.post("/delegate/new", json={"name": "Ada"}, headers=admin)
    delegate = (await resp.json())["data"]["id"]
    device = await new_device(client, admin)
    made = []
    for kind, extra in (("check-in", {"device": device}), ("join", {"data": {"activity": "x"}})):
        resp = await client.post(f"/interaction/new/{kind}",
                                 json={"delegate": delegate, "recordedAt": 100, **extra},
                                 headers=admin)
        made.append((await resp.json())["data"])
    out = tmp_path / "interactions.csv"
    result = run_cli("export-interactions", str(out), env=engine_env(engine, settings))
    assert result.returncode == 0, result.stderr
    assert "exported 2 interaction(s)" in result.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [row["id"] for row in rows] == [str(m["id"]) for m in made]
    assert rows[0]["interactionType"] == "check-in" and rows[0]["firstDevice"] == str(device)
    assert rows[0]["recordedAt"] == "1970-01-01T00:01:40+00:00"
    assert rows[0]["createdAt"] == made[0]["createdAt"]
    assert rows[1]["data"] == '{"activity": "x"}' and rows[1]["firstDevice"] == ""
    only = run_cli("export-interactions", "--type", "join", env=engine_env(engine, settings))
    assert only.returncode == 0
    assert len(only.stdout.strip().splitlines()) == 2
