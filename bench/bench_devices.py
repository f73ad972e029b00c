"""Device sync: two devices (stock PouchDB in Node, the test suite's device app
tests/devices/device.mjs) each record 5,000 interactions offline and push them at once.

Through the service: each pushes into its own device database; the time runs from the start of
the pushes until `GET /interaction/list` counts all 10,000 (checked by the sync worker, copied
into `records`, indexed). Against the engine: the same devices push the same documents into
plain databases (no validate_doc_update, nobody following them); the time runs until both
pushes end. Target: at most 2x.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import time
from typing import Any

from service.settings import PROJECT_ROOT

from .harness import BenchEnv, Result, check

DEVICE_APP = PROJECT_ROOT / "tests" / "devices" / "device.mjs"
DEVICES = 2
PER_DEVICE = 5000
DELEGATES = 200
BATCH = 100  # PouchDB's default batch_size
REPEATS = 3



async def _device(setup: dict[str, Any], *steps: dict[str, Any]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not on PATH")
    config = json.dumps({"setup": setup, "adapter": "memory", "steps": list(steps)})
    process = await asyncio.create_subprocess_exec(
        node, str(DEVICE_APP), config, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the device app failed: {err.decode()[-2000:]}")
    answers = [json.loads(line) for line in out.decode().splitlines()]
    failed = [a for a in answers if "error" in a]
    if failed:
        raise RuntimeError(f"a device step failed: {failed[0]}")
    return answers


async def _provisioned(env: BenchEnv, first: int) -> list[dict[str, Any]]:
    http, admin, service = env.http, env.admin_headers, env.service_url
    setups = []
    for n in range(first, first + DEVICES):
        async with http.post(f"{service}/device/new", json={"name": f"Bench kiosk {n}",
                                                            "kind": "kiosk"},
                             headers=admin) as resp:
            check(resp.status, 201, "creating a device")
            device = (await resp.json())["data"]["id"]
        async with http.post(f"{service}/device/id:{device}/provision", headers=admin) as resp:
            check(resp.status, 201, "provisioning a device")
            setup = (await resp.json())["data"]
        while len(setup["idBlocks"]) * setup["blockSize"] < PER_DEVICE:
            async with http.post(f"{service}/device/id:{device}/idblocks",
                                 headers=admin) as resp:
                check(resp.status, 201, "another id block")
                setup = {**setup, "idBlocks": (await resp.json())["data"]["idBlocks"]}
        setups.append(setup)
    return setups


async def _listed(env: BenchEnv) -> int:
    async with env.http.get(f"{env.service_url}/interaction/list?limit=1",
                            headers=env.admin_headers) as resp:
        check(resp.status, 200, "listing")
        return int((await resp.json())["meta"]["total"])


async def _catalog_holds(env: BenchEnv, count: int) -> None:
    url = f"{env.engine_url}/{env.db_prefix}catalog/_all_docs"
    headers = {**env.admin_headers, "Accept": "application/json"}
    params = {"startkey": '"delegate:"', "endkey": '"delegate:\ufff0"', "limit": str(count)}
    for _ in range(600):
        async with env.http.get(url, params=params, headers=headers) as resp:
            if len((await resp.json())["rows"]) >= count:
                return
        await asyncio.sleep(0.1)
    raise RuntimeError("the catalog never held the delegates")


async def _plain_database(env: BenchEnv, setup: dict[str, Any], name: str) -> dict[str, Any]:
    """A database of the engine's own, no checks, holding the device's configuration; the
    device reaches it as the engine's admin."""
    http, headers = env.http, {**env.admin_headers, "Accept": "application/json"}
    url = f"{env.engine_url}/{env.db_prefix}plain_{name}"
    async with http.put(url, headers=headers) as resp:
        check(resp.status, 201, "creating a plain database")
    async with http.get(setup["sync"]["records"] + "/deviceConfig", headers=headers) as resp:
        config = {k: v for k, v in (await resp.json()).items() if k != "_rev"}
    async with http.put(f"{url}/deviceConfig", json=config, headers=headers) as resp:
        check(resp.status, 201, "writing a configuration")
    user, password = env.engine_user, env.engine_password
    return {**setup, "user": user, "password": password,
            "sync": {**setup["sync"], "records": url}}


def _steps() -> list[dict[str, Any]]:
    return [{"do": "pull"}, {"do": "record", "interactions": PER_DEVICE, "uploadEvery": 50},
            {"do": "push", "batchSize": BATCH}]


def _push(answers: list[dict[str, Any]]) -> dict[str, Any]:
    (push,) = [a for a in answers if a["step"] == "push"]
    if push["docs_written"] != PER_DEVICE or push["doc_write_failures"]:
        raise RuntimeError(f"a push did not write everything: {push}")
    return push


async def _straight_to_the_engine(env: BenchEnv, setups: list[dict[str, Any]], run: int
                                  ) -> float:
    """Seconds from the first push's start until both pushes ended, into plain databases."""
    plain = [await _plain_database(env, setup, f"{run}_{n}") for n, setup in enumerate(setups)]
    runs = await asyncio.gather(*(_device(setup, *_steps()) for setup in plain))
    pushes = [_push(answers) for answers in runs]
    return (max(p["endedAt"] for p in pushes) - min(p["startedAt"] for p in pushes)) / 1000


async def _through_the_service(env: BenchEnv, setups: list[dict[str, Any]]
                               ) -> tuple[float, float]:
    """Seconds from the first push's start until the service lists every record, and until
    the pushes ended."""
    before = await _listed(env)
    tasks = [asyncio.create_task(_device(setup, *_steps())) for setup in setups]
    while True:
        listed = await _listed(env)
        if listed >= before + DEVICES * PER_DEVICE:
            done_at = time.time()
            break
        await asyncio.sleep(0.2)
    pushes = [_push(answers) for answers in await asyncio.gather(*tasks)]
    started = min(p["startedAt"] for p in pushes) / 1000
    return done_at - started, max(p["endedAt"] for p in pushes) / 1000 - started


async def run(env: BenchEnv) -> list[Result]:
    http, admin = env.http, env.admin_headers
    for n in range(DELEGATES):
        async with http.post(f"{env.service_url}/delegate/new", headers=admin,
                             json={"name": f"Visitor {n}", "company": "Bench"}) as resp:
            check(resp.status, 201, "creating a delegate")
    await _catalog_holds(env, DELEGATES)
    engine_s: list[float] = []
    service_s: list[float] = []
    pushed_s: list[float] = []
    cpu: dict[str, list[float]] = {"engine, plain": [], "engine, service": [], "service": []}

    async def engine_side(setups: list[dict[str, Any]], run_: int) -> float:
        engine_before = env.engine_cpu_seconds()
        took = await _straight_to_the_engine(env, setups, run_)
        engine_after = env.engine_cpu_seconds()
        if engine_before is not None and engine_after is not None:
            cpu["engine, plain"].append(engine_after - engine_before)
        return took

    async def service_side(setups: list[dict[str, Any]]) -> tuple[float, float]:
        engine_before, service_before = env.engine_cpu_seconds(), env.service_cpu_seconds()
        took = await _through_the_service(env, setups)
        engine_after = env.engine_cpu_seconds()
        cpu["service"].append(env.service_cpu_seconds() - service_before)
        if engine_before is not None and engine_after is not None:
            cpu["engine, service"].append(engine_after - engine_before)
        return took

    for run_ in range(REPEATS):
        # New devices each time (new ids); the two sides take turns going first, so that
        # what the machine does meanwhile hits both alike.
        plain = engine_side(await _provisioned(env, 2 * run_), run_)
        checked = service_side(await _provisioned(env, 2 * run_ + 1))
        if run_ % 2:
            (listed, pushed), took = await checked, await plain
        else:
            took = await plain
            listed, pushed = await checked
        engine_s.append(took)
        service_s.append(listed)
        pushed_s.append(pushed)
    service, engine = statistics.median(service_s), statistics.median(engine_s)
    pushed = statistics.median(pushed_s)
    spent = "; ".join(f"{who} {statistics.median(seconds):.1f}"
                      for who, seconds in cpu.items() if seconds)
    return [Result(
        f"device sync: {DEVICES} devices x {PER_DEVICE:,} pushed, until listed", "s",
        service, engine, higher_is_better=False, target=2.0,
        note=f"medians of {REPEATS} turns; engine: the same pushes into plain databases; "
             f"through the service the pushes took {pushed:.1f} s, the last record was "
             f"listed {service - pushed:.1f} s after; CPU seconds: {spent}",
    )]
