"""The benchmark harness: one engine, one service process on it, ratios against the engine.

Each `bench/bench_*.py` module defines `async def run(env: BenchEnv) -> list[Result]`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from service.engine import EmbeddedEngine
from service.settings import PROJECT_ROOT

BENCH_ADMIN = "settee-bench"


@dataclass
class BenchEnv:
    engine_url: str
    admin_headers: dict[str, str]
    service_url: str
    db_prefix: str
    large: bool
    http: aiohttp.ClientSession
    service_pid: int  # for memory readings: /proc/<pid>/status VmRSS
    engine_user: str = ""  # the engine's admin, for clients that log in themselves (devices)
    engine_password: str = ""

    def service_rss_kib(self) -> int:
        for line in Path(f"/proc/{self.service_pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0


@dataclass
class Result:
    name: str
    unit: str
    service: float
    engine: float
    higher_is_better: bool
    target: float
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.service / self.engine if self.engine else float("inf")

    @property
    def passed(self) -> bool:
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target


async def timed(call: Callable[[], Awaitable[object]], n: int, concurrency: int) -> float:
    """Seconds taken by `n` calls of `call()` spread over `concurrency` workers."""
    remaining = iter(range(n))

    async def worker() -> None:
        for _ in remaining:
            await call()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


@contextmanager
def running_stack() -> Iterator[tuple[str, str, str, str, int]]:
    """An engine and a service on it: (engine url, admin user, password, service url, service pid)."""
    with tempfile.TemporaryDirectory(prefix="settee-bench-") as tmp:
        engine = EmbeddedEngine(Path(tmp) / "engine", free_port())
        engine.start()
        password = secrets.token_urlsafe(12)
        engine.create_admin(BENCH_ADMIN, password)
        port = free_port()
        env = {
            **os.environ,
            "COUCHDB_URL": engine.url,
            "COUCHDB_USER": BENCH_ADMIN,
            "COUCHDB_PASSWORD": password,
            "SETTEE_DB_PREFIX": "bench_",
            "SETTEE_PORT": str(port),
            "SETTEE_LOG_LEVEL": "WARNING",
            "SETTEE_LOG_FORMAT": "json",
        }
        service = subprocess.Popen(
            [sys.executable, "-m", "service", "serve"], cwd=PROJECT_ROOT, env=env,
            stdout=subprocess.DEVNULL,
        )
        try:
            service_url = f"http://127.0.0.1:{port}"
            _wait_for(service_url + "/", service)
            yield engine.url, BENCH_ADMIN, password, service_url, service.pid
        finally:
            service.terminate()
            service.wait(timeout=10)
            engine.stop()
