"""The benchmark harness: one engine, the service on it, ratios against the engine.

The engine is the one named by `COUCHDB_URL` (with `COUCHDB_USER`/`COUCHDB_PASSWORD`, a server
admin) when set, else an embedded PouchDB Server started for the run. Each run uses databases
of its own (a fresh prefix) and deletes them at the end, so it can run beside real data.

Two service processes run on the engine: the measured one talks to it directly; a second one
talks through a counting proxy (bench/proxy.py) and is used only to count the engine
requests each operation makes.

Each `bench/bench_*.py` module defines `async def run(env: BenchEnv) -> list[Result]`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from service.engine import EmbeddedEngine
from service.settings import PROJECT_ROOT

from .proxy import CountingProxy

BENCH_ADMIN = "settee-bench"
PLAIN = "plain"  # the database without design documents the engine's side writes into
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class BenchEnv:
    engine_url: str
    admin_headers: dict[str, str]
    service_url: str
    db_prefix: str
    large: bool
    http: aiohttp.ClientSession
    service_pid: int  # for memory and CPU readings: /proc/<pid>/status, /proc/<pid>/stat
    counted_url: str  # the same service, through the counting proxy
    proxy: CountingProxy
    engine_user: str = ""  # the engine's admin, for clients that log in themselves (devices)
    engine_password: str = ""
    engine_pid: int = 0  # the embedded engine's process (0: an engine of COUCHDB_URL)

    def service_rss_kib(self) -> int:
        for line in Path(f"/proc/{self.service_pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def service_cpu_seconds(self) -> float:
        """User and system CPU the measured service process has used so far."""
        return _cpu_seconds(self.service_pid)

    def engine_cpu_seconds(self) -> float | None:
        """The same for the embedded engine (None: another engine, not measured here)."""
        return _cpu_seconds(self.engine_pid) if self.engine_pid else None

    async def settled(self, most_seconds: float = 30.0) -> None:
        """Wait until the engine and the service are idle: under a twentieth of a core for
        half a second (or `most_seconds` passed)."""
        def busy() -> float:
            return self.service_cpu_seconds() + (self.engine_cpu_seconds() or 0.0)

        for _ in range(int(most_seconds / 0.5)):
            before = busy()
            await asyncio.sleep(0.5)
            if busy() - before < 0.025:
                return

    def db(self, name: str) -> str:
        return f"{self.engine_url}/{self.db_prefix}{name}"

    @property
    def engine_headers(self) -> dict[str, str]:
        return {**self.admin_headers, "Accept": "application/json"}  # PouchDB Server: else text/plain

    async def requests_made(self, operation: Callable[[str], Awaitable[object]]) -> list[str]:
        """The engine requests `operation(counted service url)` makes, as `METHOD /path`."""
        mark = self.proxy.mark()
        await operation(self.counted_url)
        return [f"{method} {path.removeprefix('/' + self.db_prefix)}"
                for method, path in self.proxy.since(mark)]


@dataclass
class Result:
    name: str
    unit: str
    service: float
    engine: float
    higher_is_better: bool
    target: float
    note: str = ""
    budget: bool = False  # an engine-request count against its budget: exceeding it fails the run
    cpu_us_per_record: float | None = None  # the measured service's CPU in its timed phases

    @property
    def ratio(self) -> float:
        return self.service / self.engine if self.engine else float("inf")

    @property
    def passed(self) -> bool:
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target


def check(status: int, expected: int, what: str) -> None:
    """A benchmark's request answered as expected, or the run stops. CouchDB answers a write
    202 instead of 201 when a cluster has not reached its quorum yet: done all the same."""
    if status != expected and not (expected == 201 and status == 202):
        raise RuntimeError(f"{what}: HTTP {status}")


async def new_form(env: BenchEnv, form: dict[str, object], name: str) -> dict[str, object]:
    """`form` saved through the service under a new id (`name` and a random suffix), and the
    body of a session create on it."""
    saved = {**form, "id": f"{name}-{secrets.token_hex(4)}"}
    async with env.http.post(f"{env.service_url}/api/forms", json=saved,
                             headers=env.admin_headers) as resp:
        check(resp.status, 201, "creating the form")
    return {"metadata": {"formId": saved["id"], "formRev": "LATEST", "language": "en"},
            "context": [{"id": "contextVar1", "value": 21}, {"id": "contextVar2", "value": "test"}]}


def within_budget(name: str, requests: list[str], budget: int, why: str) -> Result:
    return Result(name, "req", len(requests), budget, False, 1.0,
                  f"{why}: {', '.join(requests)}", budget=True)


async def timed(call: Callable[[], Awaitable[object]], n: int, concurrency: int) -> float:
    """Seconds taken by `n` calls of `call()` spread over `concurrency` workers."""
    remaining = iter(range(n))

    async def worker() -> None:
        for _ in remaining:
            await call()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


class CpuMeter:
    """Service CPU per record over several timed phases."""

    def __init__(self, env: BenchEnv) -> None:
        self.env = env
        self.seconds = 0.0
        self.records = 0

    async def timed(self, call: Callable[[], Awaitable[object]], n: int, concurrency: int,
                    records_per_call: int = 1) -> float:
        before = self.env.service_cpu_seconds()
        took = await timed(call, n, concurrency)
        self.seconds += self.env.service_cpu_seconds() - before
        self.records += n * records_per_call
        return took

    @property
    def micros_per_record(self) -> float:
        return self.seconds / self.records * 1e6 if self.records else 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


START_SECONDS = 60


async def _wait_for(url: str, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + START_SECONDS
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"the service exited with {process.returncode}")
            try:
                async with http.get(url, timeout=aiohttp.ClientTimeout(total=1)) as resp:
                    if resp.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


@asynccontextmanager
async def _service(engine_url: str, user: str, password: str, prefix: str
                   ) -> AsyncIterator[tuple[str, int]]:
    port = free_port()
    env = {
        **os.environ,
        "COUCHDB_URL": engine_url,
        "COUCHDB_USER": user,
        "COUCHDB_PASSWORD": password,
        "SETTEE_DB_PREFIX": prefix,
        "SETTEE_PORT": str(port),
        "SETTEE_LOG_LEVEL": "WARNING",
        "SETTEE_LOG_FORMAT": "json",
    }
    service = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", "serve", cwd=PROJECT_ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        await _wait_for(url + "/", service)
        yield url, service.pid
    finally:
        if service.returncode is None:
            service.terminate()
        await asyncio.wait_for(service.wait(), 10)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@asynccontextmanager
async def _engine() -> AsyncIterator[tuple[str, str, str, str, int]]:
    """(engine url, admin user, password, what it is, its process id or 0)."""
    url = os.environ.get("COUCHDB_URL")
    if url:
        user, password = os.environ.get("COUCHDB_USER"), os.environ.get("COUCHDB_PASSWORD")
        if not user or not password:
            raise SystemExit("COUCHDB_URL needs COUCHDB_USER and COUCHDB_PASSWORD (a server admin)")
        yield url.rstrip("/"), user, password, url, 0
        return
    with tempfile.TemporaryDirectory(prefix="settee-bench-") as tmp:
        engine = EmbeddedEngine(Path(tmp) / "engine", free_port())
        engine.start()
        try:
            password = secrets.token_urlsafe(12)
            engine.create_admin(BENCH_ADMIN, password)
            assert engine.process is not None
            yield (engine.url, BENCH_ADMIN, password, "the embedded PouchDB Server",
                   engine.process.pid)
        finally:
            engine.stop()


async def _drop_databases(http: aiohttp.ClientSession, env: BenchEnv) -> None:
    async with http.get(f"{env.engine_url}/_all_dbs", headers=env.engine_headers) as resp:
        names = await resp.json()
    for name in names:
        if name.startswith(env.db_prefix):
            async with http.delete(f"{env.engine_url}/{name}", headers=env.engine_headers):
                pass


@asynccontextmanager
async def running_stack(large: bool) -> AsyncIterator[tuple[BenchEnv, str]]:
    """An engine, a plain database on it, the service measured, and the service counted."""
    prefix = f"bench{secrets.token_hex(3)}_"
    async with AsyncExitStack() as stack:
        engine_url, user, password, what, engine_pid = await stack.enter_async_context(_engine())
        http = await stack.enter_async_context(
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)))
        proxy = CountingProxy(engine_url)
        await proxy.start()
        stack.push_async_callback(proxy.close)
        admin = {"Authorization": aiohttp.encode_basic_auth(user, password)}
        env = BenchEnv(engine_url=engine_url, admin_headers=admin, service_url="",
                       db_prefix=prefix, large=large, http=http, service_pid=0,
                       counted_url="", proxy=proxy, engine_user=user or "",
                       engine_password=password or "", engine_pid=engine_pid)
        stack.push_async_callback(_drop_databases, http, env)  # after the services stopped
        env.service_url, env.service_pid = await stack.enter_async_context(
            _service(engine_url, user, password, prefix))
        env.counted_url, _ = await stack.enter_async_context(
            _service(proxy.url, user, password, prefix))
        async with http.put(env.db(PLAIN), headers=env.engine_headers) as resp:
            if resp.status not in (201, 202):
                raise RuntimeError(f"creating the plain database: HTTP {resp.status}")
        yield env, what
