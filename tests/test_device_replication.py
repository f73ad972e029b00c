"""Real devices: stock PouchDB in Node (tests/devices/device.mjs), in memory and on disk,
provisioned through the API, pulling the catalog, recording offline and replicating with the
engine as a kiosk does; the service checks and lists what arrives."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from service.app import create_app
from service.settings import Settings
from service.store import CATALOG, RECORDS, Store

from .conftest import Headers
from .interaction_helpers import new_delegate, new_device
from .receiver import Receiver
from .test_devices import provision
from .test_sessions import FORM_ID, make_form

Json = dict[str, Any]
SCRIPT = Path(__file__).parent / "devices" / "device.mjs"
PER_DEVICE = 2000
DELEGATES = 20
ANSWERS = [{"id": "question1", "value": "skip"}]
CONTEXT = [{"id": "contextVar1", "value": 21}, {"id": "contextVar2", "value": "test"}]


@pytest.fixture
async def client(aiohttp_client: Callable[..., Awaitable[TestClient]], settings: Settings
                 ) -> TestClient:
    return await aiohttp_client(create_app(replace(
        settings, sync_poll_seconds=0.05, delivery_poll_seconds=0.05,
        delivery_backoff_seconds=0.05, delivery_backoff_max_seconds=0.2)))


class Device:
    """One device app: its set-up and, on disk, its PouchDB folder (kept between runs)."""

    def __init__(self, setup: Json, adapter: str = "memory", directory: Path | None = None,
                 pouchdb: str = "7") -> None:
        self.setup = setup
        self.adapter = adapter
        self.directory = directory
        self.pouchdb = pouchdb  # "9": the `pouchdb` package of PouchDB 9

    def _config(self, steps: list[Json]) -> str:
        return json.dumps({"setup": self.setup, "adapter": self.adapter,
                           "dir": str(self.directory) if self.directory else None,
                           "pouchdb": self.pouchdb, "steps": steps})

    async def start(self, *steps: Json) -> asyncio.subprocess.Process:
        node = shutil.which("node")
        assert node is not None
        return await asyncio.create_subprocess_exec(
            node, str(SCRIPT), self._config(list(steps)),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)

    async def run(self, *steps: Json) -> list[Json]:
        """Run the steps in one app process (a memory device forgets everything after it);
        each step's answer."""
        process = await self.start(*steps)
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        answers = [json.loads(line) for line in out.decode().splitlines()]
        return [a for a in answers if "step" in a]


async def eventually(check: Callable[[], Awaitable[bool]], what: str, tries: int = 1200) -> None:
    for _ in range(tries):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def listed_total(client: TestClient, admin: Headers, query: str = "") -> int:
    resp = await client.get(f"/interaction/list?limit=1{query}", headers=admin)
    assert resp.status == 200, await resp.text()
    return int((await resp.json())["meta"]["total"])


async def flags_of(client: TestClient, admin: Headers, state: str | None = None) -> list[Json]:
    query = f"&state={state}" if state else ""
    resp = await client.get(f"/sync/flags?limit=1000{query}", headers=admin)
    assert resp.status == 200
    return list((await resp.json())["data"])


async def event(client: TestClient, admin: Headers, store: Store, devices: int = 1
                ) -> tuple[list[int], list[Device]]:
    """Delegates, a form, provisioned devices, and the catalog holding them all."""
    delegates = [await new_delegate(client, admin, name=f"Visitor {n}", email=f"v{n}@example.org",
                                    company="ACME") for n in range(DELEGATES)]
    await make_form(client, admin)
    setups = [await provision(client, admin, await new_device(client, admin))
              for _ in range(devices)]

    async def catalog_ready() -> bool:
        found = await store.fetch_docs(CATALOG, [f"delegate:{d:010d}" for d in delegates])
        return len(found) == DELEGATES

    await eventually(catalog_ready, "the delegates in the catalog")
    return delegates, [Device(setup) for setup in setups]


def step(answers: list[Json], name: str) -> Json:
    (found,) = [a for a in answers if a["step"] == name]
    assert "error" not in found, found
    return found


async def test_two_devices_pull_record_offline_push_and_everything_is_listed(
    client: TestClient, admin: Headers, store: Store, receiver: Receiver
) -> None:
    delegates, devices = await event(client, admin, store, devices=2)
    devices[1].pouchdb = "9"  # a fleet of old and new device apps
    service = str(client.make_url("")).rstrip("/")
    runs = await asyncio.gather(*(device.run(
        {"do": "pull"},
        {"do": "askBlock", "service": service},  # online: one more block before the day
        {"do": "pull"},
        {"do": "record", "interactions": PER_DEVICE + 10, "uploadEvery": 50, "sessions": 3,
         "formId": FORM_ID, "answers": ANSWERS, "context": CONTEXT, "submitUrl": receiver.url},
        {"do": "push", "batchSize": 200},
    ) for device in devices))
    for device, answers in zip(devices, runs, strict=True):
        first_pull, asked, pulled = (a for a in answers[:3])
        # What a device sees: the catalog (delegates without their emails) and its blocks.
        assert first_pull["counts"]["delegate"] == DELEGATES
        assert first_pull["counts"]["interactionType"] >= 6
        assert first_pull["counts"]["form"] == 1 and first_pull["counts"]["form-revision"] == 1
        assert first_pull["delegateFields"] == [
            "_id", "_rev", "badge", "company", "createdAt", "id", "name", "type", "updatedAt"]
        assert len(first_pull["idBlocks"]) == 2 and len(asked["idBlocks"]) == 3
        assert pulled["idBlocks"] == asked["idBlocks"]
        recorded = step(answers, "record")
        assert recorded["interactions"] == PER_DEVICE + 10 and len(recorded["sessions"]) == 3
        pushed = step(answers, "push")
        assert pushed["ok"] and pushed["doc_write_failures"] == 0
        assert pushed["docs_written"] == PER_DEVICE + 10 + 3
        device.setup["recorded"] = recorded
    total = 2 * (PER_DEVICE + 10)

    async def all_listed() -> bool:
        return await listed_total(client, admin) == total

    await eventually(all_listed, f"{total} interactions listed")
    for device in devices:
        number = device.setup["device"]
        assert await listed_total(client, admin, f"&device={number}") == PER_DEVICE + 10
    assert await flags_of(client, admin) == []
    # An upload recorded offline: its attachment is served as a file.
    first = devices[0].setup["recorded"]["first"]
    upload = first + 50  # index 50: the first upload (every delegate checked in before)
    resp = await client.get(f"/interaction/id:{upload}", headers=admin)
    assert (await resp.json())["data"]["interactionType"] == "upload"
    resp = await client.get(f"/interaction/id:{upload}/upload", headers=admin)
    assert resp.status == 200 and resp.content_type == "image/png"
    assert (await resp.read()).startswith(b"\x89PNG")
    resp = await client.get(f"/interaction/id:{first}", headers=admin)
    checked_in = (await resp.json())["data"]
    assert checked_in["interactionType"] == "check-in"
    assert checked_in["firstDelegate"] == {"id": delegates[0], "_type": "delegate"}
    assert checked_in["firstDevice"] == {"id": devices[0].setup["device"], "_type": "device"}
    # Sessions completed offline: listed, and delivered to their submitUrl, each once.
    sessions = {s for device in devices for s in device.setup["recorded"]["sessions"]}
    for sid in sessions:
        resp = await client.get(f"/api/questionnaires/{sid}", headers=admin)
        assert resp.status == 200
        assert (await resp.json())["metadata"]["status"] == "COMPLETED"

    async def delivered() -> bool:
        return {body["_id"] for body, _ in receiver.received} == sessions

    await eventually(delivered, "six sessions delivered")
    assert len(receiver.received) == 6
    records = await store.all_docs_keys(RECORDS, [f"interaction:{first:010d}"])
    assert records[0]["value"]["rev"].startswith("1-")  # the device's own revision, copied


async def test_a_push_killed_midway_resumes_and_lands_exactly_once(
    client: TestClient, admin: Headers, store: Store, tmp_path: Path
) -> None:
    _, (device,) = await event(client, admin, store)
    device.adapter, device.directory = "leveldb", tmp_path / "kiosk"
    process = await device.start(
        {"do": "pull"}, {"do": "record", "interactions": PER_DEVICE},
        {"do": "push", "batchSize": 20, "progress": True})
    assert process.stdout is not None
    written = 0
    while written < PER_DEVICE // 5:
        line = await process.stdout.readline()
        assert line, "the app ended before it was stopped"
        written = json.loads(line).get("progress", written)
    process.kill()  # the tablet's battery, mid-push
    await process.wait()
    (resumed,) = await device.run({"do": "push", "batchSize": 200})
    assert resumed["ok"] and resumed["doc_write_failures"] == 0
    # From its checkpoint: not everything again, and not nothing.
    assert 0 < resumed["docs_written"] < PER_DEVICE
    number = device.setup["device"]

    async def all_listed() -> bool:
        return await listed_total(client, admin, f"&device={number}") == PER_DEVICE

    await eventually(all_listed, f"{PER_DEVICE} interactions listed")
    first = device.setup["idBlocks"][0]["first"]
    ids = [f"interaction:{n:010d}" for n in range(first, first + PER_DEVICE)]
    copied = await store.fetch_docs(RECORDS, ids)
    assert sorted(copied) == ids
    assert {doc["_rev"].split("-")[0] for doc in copied.values()} == {"1"}
    assert await listed_total(client, admin) == PER_DEVICE
    resp = await client.get("/sync/conflicts", headers=admin)
    assert (await resp.json())["meta"]["total"] == 0
    assert await flags_of(client, admin) == []


@pytest.mark.parametrize("pouchdb", ["7", "9"])
async def test_a_device_reads_and_writes_only_its_own_records_and_a_revoked_one_is_refused(
    client: TestClient, admin: Headers, store: Store, pouchdb: str
) -> None:
    delegates, (one, two) = await event(client, admin, store, devices=2)
    one.pouchdb = two.pouchdb = pouchdb
    first = one.setup["idBlocks"][0]["first"]
    good = {"_id": f"interaction:{first:010d}", "type": "interaction", "id": first,
            "interactionType": "lead", "firstDelegate": delegates[0],
            "firstDevice": one.setup["device"], "recordedAt": "2026-11-25T09:00:00+00:00",
            "createdAt": "2026-11-25T09:00:00+00:00", "updatedAt": "2026-11-25T09:00:00+00:00"}
    as_two = {**good, "_id": f"interaction:{first + 1:010d}", "id": first + 1,
              "firstDevice": two.setup["device"]}
    base = f"{store.url}/{store.prefix}"  # the engine itself: devices are given the service
    await two.run({"do": "pull"}, {"do": "record", "interactions": 5}, {"do": "push"})
    answers = await one.run(
        {"do": "pull"},
        {"do": "write", "docs": [good, as_two]},
        {"do": "push"},
        {"do": "pullFrom", "url": two.setup["sync"]["records"]},
        {"do": "pushTo", "url": two.setup["sync"]["records"]},
        {"do": "pullFrom", "url": base + "records"},
        {"do": "pullFrom", "url": base + "registry"},
        {"do": "pullFrom", "url": base + "internal"},
        {"do": "pullFrom", "url": f"{base}device_{two.setup['device']:010d}"},
    )
    pulled, wrote, pushed, *elsewhere = answers
    # It pulled its configuration, none of two's records.
    assert pulled["records"]["docs_written"] == 2  # its configuration and design document
    assert [r["ok"] for r in wrote["results"]] == [True, True]  # offline, nothing stops it
    # Its database's validate_doc_update refuses the record made as the other device.
    assert pushed["docs_written"] == 1 and pushed["doc_write_failures"] == 1
    assert pushed["errors"][0]["id"] == as_two["_id"]
    assert pushed["errors"][0]["name"] == "forbidden"
    for attempt in elsewhere:
        assert attempt.get("error") in (401, 403), attempt
    # Revoked: replication is refused at once.
    resp = await client.delete(f"/device/id:{one.setup['device']}/credentials", headers=admin)
    assert resp.status == 200
    refused = await one.run({"do": "push"}, {"do": "pull"})
    assert [answer.get("error") for answer in refused] == [401, 401]


async def test_bad_records_are_flagged_and_the_rest_listed(
    client: TestClient, admin: Headers, store: Store
) -> None:
    delegates, (device,) = await event(client, admin, store)
    number = device.setup["device"]
    first = device.setup["idBlocks"][0]["first"]
    stamp = "2026-11-25T09:00:00+00:00"

    def record(id_: int, kind: str = "lead", delegate: int = delegates[0], **extra: Any) -> Json:
        return {"_id": f"interaction:{id_:010d}", "type": "interaction", "id": id_,
                "interactionType": kind, "firstDelegate": delegate, "firstDevice": number,
                "recordedAt": extra.pop("recordedAt", stamp), "createdAt": stamp,
                "updatedAt": stamp, **extra}

    bad = {
        f"interaction:{first + 1:010d}": (record(first + 1, delegate=999_999), "participants"),
        f"interaction:{first + 2:010d}": (record(first + 2, "teleport"), "schema"),
        f"interaction:{first + 3:010d}": (record(first + 3, data={"answers": "no"}), "schema"),
        "interaction:0000000005": (record(5), "ownership"),
    }
    early = record(first + 4, "check-in", recordedAt="2026-11-25T08:00:00+00:00")
    late = record(first + 5, "check-in", recordedAt="2026-11-25T08:30:00+00:00")
    answers = await device.run(
        {"do": "pull"},
        {"do": "write", "docs": [record(first), *(doc for doc, _ in bad.values()), early, late]},
        {"do": "push"})
    assert step(answers, "push")["docs_written"] == 7

    async def flagged() -> bool:
        return len(await flags_of(client, admin)) == 5

    await eventually(flagged, "five records flagged")
    quarantined = {f["docId"]: f for f in await flags_of(client, admin, "quarantined")}
    assert {doc_id: [p["rule"] for p in f["problems"]] for doc_id, f in quarantined.items()} == {
        doc_id: [rule] for doc_id, (_, rule) in bad.items()}
    assert {f["device"] for f in quarantined.values()} == {number}
    (violation,) = await flags_of(client, admin, "violation")
    assert violation["docId"] == late["_id"] and violation["problems"][0]["rule"] == "limit"
    # What passed is listed, the violation too (it happened); the quarantined are not.
    resp = await client.get("/interaction/list", headers=admin)
    assert sorted(row["id"] for row in (await resp.json())["data"]) == [
        first, first + 4, first + 5]


async def test_conflicts_from_two_copies_of_a_device_are_merged_or_listed(
    client: TestClient, admin: Headers, store: Store, tmp_path: Path
) -> None:
    """A kiosk's app restored from an old backup runs beside the current one: it hands out
    ids again, and answers a session the other one answers too."""
    delegates, (current,) = await event(client, admin, store)
    current.adapter, current.directory = "leveldb", tmp_path / "current"
    restored = Device(current.setup, "leveldb", tmp_path / "restored")
    number = current.setup["device"]
    first = current.setup["idBlocks"][0]["first"]

    def lead(notes: str) -> Json:
        stamp = "2026-11-25T09:00:00+00:00"
        return {"_id": f"interaction:{first:010d}", "type": "interaction", "id": first,
                "interactionType": "lead", "firstDelegate": delegates[0], "firstDevice": number,
                "data": {"notes": notes}, "recordedAt": stamp, "createdAt": stamp,
                "updatedAt": stamp}

    opened = await current.run({"do": "pull"}, {"do": "openSession", "formId": FORM_ID,
                                                "context": CONTEXT}, {"do": "sync"})
    sid = step(opened, "openSession")["id"]
    await restored.run({"do": "pull"})
    await current.run(
        {"do": "write", "docs": [lead("met Ada at the stand")]},
        {"do": "answer", "id": sid, "answers": [
            {"id": "q1", "value": "current", "at": "2026-11-25T09:01:00+00:00"},
            {"id": "q2", "value": "current", "at": "2026-11-25T09:03:00+00:00"}]},
        {"do": "push"})
    pushed = await restored.run(
        {"do": "write", "docs": [lead("a printer demo")]},
        {"do": "answer", "id": sid, "answers": [
            {"id": "q1", "value": "restored", "at": "2026-11-25T09:02:00+00:00"}]},
        {"do": "push"})
    assert step(pushed, "push")["docs_written"] == 2

    async def resolved_and_listed() -> bool:
        # The lead reaches `records` as it is pushed, the session through the sync worker.
        resp = await client.get("/sync/conflicts", headers=admin)
        body = await resp.json()
        session = await store.get(RECORDS, sid, conflicts=True)
        answers = {a["id"]: a["value"] for a in session.get("answers", [])}
        return [row["docId"] for row in body["data"]] == [lead("")["_id"]] \
            and "_conflicts" not in session and answers.get("q1") == "restored"

    # The session: merged answer by answer, the later of each wins; the lead: two different
    # records under one id, which only a person can sort out, listed.
    # (Both are replicated edits of documents the device's database holds: on PouchDB Server
    # they need its fix for replicated writes into a database with a validate_doc_update.)
    await eventually(resolved_and_listed, "the session merged and the lead listed", 200)
    merged = await store.get(RECORDS, sid, conflicts=True)
    assert "_conflicts" not in merged
    assert {a["id"]: a["value"] for a in merged["answers"]} == {"q1": "restored", "q2": "current"}
    stored = await store.get(RECORDS, lead("")["_id"], conflicts=True)
    assert len(stored["_conflicts"]) == 1
    notes = {stored["data"]["notes"],
             (await store.get(RECORDS, stored["_id"], rev=stored["_conflicts"][0]))["data"]["notes"]}
    assert notes == {"met Ada at the stand", "a printer demo"}


async def test_the_documented_device_example_records_a_check_in_and_syncs_it(
    client: TestClient, admin: Headers, store: Store, tmp_path: Path
) -> None:
    """docs/DEVICES.md's complete example, as printed, with the `pouchdb` package (PouchDB 9,
    installed as `pouchdb9` beside PouchDB Server's own PouchDB 7)."""
    delegates, (device,) = await event(client, admin, store)
    guide = (Path(__file__).parent.parent / "docs" / "DEVICES.md").read_text("utf-8")
    example = guide.split("// checkin.mjs", 1)[1].split("```", 1)[0]
    (tmp_path / "checkin.mjs").write_text("// checkin.mjs" + example, "utf-8")
    modules = Path(__file__).parent.parent / "node_modules"
    shim = tmp_path / "node_modules" / "pouchdb"
    shim.mkdir(parents=True)
    (shim / "package.json").write_text('{"name": "pouchdb", "main": "index.js"}', "utf-8")
    (shim / "index.js").write_text(
        f"module.exports = require({json.dumps(str(modules / 'pouchdb9'))});\n", "utf-8")
    (tmp_path / "setup.json").write_text(json.dumps(device.setup), "utf-8")
    node = shutil.which("node")
    assert node is not None
    process = await asyncio.create_subprocess_exec(
        node, "checkin.mjs", "setup.json", str(delegates[3]), cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    first = device.setup["idBlocks"][0]["first"]
    assert json.loads(out) == {"id": first, "pushed": 1, "refused": 0}

    async def listed() -> bool:
        return (await client.get(f"/interaction/id:{first}", headers=admin)).status == 200

    await eventually(listed, "the check-in listed")
    resp = await client.get(f"/interaction/id:{first}", headers=admin)
    data = (await resp.json())["data"]
    assert data["interactionType"] == "check-in"
    assert data["firstDelegate"] == {"id": delegates[3], "_type": "delegate"}
