"""The engine the service runs on: the embedded PouchDB Server when no COUCHDB_URL is set, and
readiness (databases created, design documents deployed) that recovers by itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from .couchapp import deploy
from .errors import EngineUnavailable
from .settings import PROJECT_ROOT, Settings
from .store import Store

log = logging.getLogger(__name__)

POUCHDB_SERVER = PROJECT_ROOT / "node_modules" / "pouchdb-server" / "bin" / "pouchdb-server"
DEV_ADMIN_USER = "settee"
# Written beside the engine's data while it runs: which process and port serve that data.
RUNNING_FILE = "engine.json"
STDERR_FILE = "stderr.log"


class EngineStartError(RuntimeError):
    """The embedded engine could not start; the message says what to do about it."""


@dataclass(frozen=True)
class EngineAccess:
    url: str
    user: str | None
    password: str | None


def _http(
    method: str, url: str, *, user: str | None = None, password: str | None = None,
    body: object = None, timeout: float = 2.0,
) -> tuple[int, object]:
    """A blocking request, for start-up only (before and outside the event loop)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Accept", "application/json")
    request.add_header("Content-Type", "application/json")
    if user and password:
        token = b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


class EmbeddedEngine:
    """PouchDB Server as a child process, bound to 127.0.0.1.

    `directory` holds its data, config and log; `in_memory` keeps data in memory only (tests).
    """

    def __init__(self, directory: Path, port: int, *, in_memory: bool = False) -> None:
        self.directory = directory
        self.port = port
        self.in_memory = in_memory
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def answers(self) -> bool:
        try:
            status, body = _http("GET", self.url + "/", timeout=0.5)
        except (OSError, ValueError):
            return False
        return status == 200 and isinstance(body, dict)

    def start(self, timeout: float = 60.0) -> None:
        node = shutil.which("node")
        if node is None or not POUCHDB_SERVER.exists():
            raise EngineStartError(
                "the embedded engine is not installed: run `make install` (or set COUCHDB_URL)"
            )
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EngineStartError(f"cannot keep the engine's data in {self.directory}: "
                                   f"{exc.strerror} (set SETTEE_DATA_DIR)") from None
        args = [
            node, str(POUCHDB_SERVER), "--host", "127.0.0.1", "--port", str(self.port),
            "--dir", str(self.directory), "--config", str(self.directory / "config.json"),
            "--no-stdout-logs", "--no-color",
        ]
        if self.in_memory:
            args.append("--in-memory")
        # Its log.txt lands in the working directory: keep that out of the repository. Its
        # stderr goes to a file (a pipe nobody reads would fill and stall it), and it runs in
        # a session of its own: Ctrl-C stops the service, which then stops its engine.
        with (self.directory / STDERR_FILE).open("wb") as stderr:
            self.process = subprocess.Popen(
                args, cwd=self.directory, stdout=subprocess.DEVNULL, stderr=stderr,
                start_new_session=True,
            )
        try:
            self._wait_until_it_answers(timeout)
        except BaseException:  # Ctrl-C reaches only the service: leave no engine behind
            self.stop()
            raise
        assert self.process is not None
        (self.directory / RUNNING_FILE).write_text(
            json.dumps({"pid": self.process.pid, "port": self.port}) + "\n", "utf-8"
        )

    def _wait_until_it_answers(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.answers():
            assert self.process is not None
            if self.process.poll() is not None:
                self.process = None
                raise EngineStartError(self._why_it_exited())
            if time.monotonic() > deadline:
                raise EngineStartError(f"the embedded engine did not answer on {self.url} "
                                       f"within {timeout:.0f} s (see {self.directory / 'log.txt'})")
            time.sleep(0.1)

    def _why_it_exited(self) -> str:
        err = (self.directory / STDERR_FILE).read_text("utf-8", errors="replace")
        if "EADDRINUSE" in err or "already in use" in err:
            return (f"port {self.port} is taken by another program: set SETTEE_ENGINE_PORT "
                    "to a free port")
        if "LOCK" in err and "Resource temporarily unavailable" in err:
            other = self._running_elsewhere()
            where = f" on port {other}" if other is not None else ""
            use = f"SETTEE_ENGINE_PORT={other}" if other is not None else \
                "SETTEE_ENGINE_PORT to the port it answers on"
            return (f"the engine data in {self.directory} is in use by another engine{where}: "
                    f"stop it, or set {use}")
        lines = [line for line in err.strip().splitlines() if line.strip()]
        last = next((line for line in reversed(lines) if "Error" in line), lines[-1] if lines else "")
        return f"the embedded engine exited at start-up: {last.strip()} (see {self.directory / STDERR_FILE})"

    def _running_elsewhere(self) -> int | None:
        """The port of the engine that last started on this data, if that one still answers."""
        try:
            running = json.loads((self.directory / RUNNING_FILE).read_text("utf-8"))
            port = int(running["port"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        other = EmbeddedEngine(self.directory, port)
        return port if port != self.port and other.answers() else None

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def admin_party(self) -> bool:
        status, body = _http("GET", self.url + "/_session")
        roles = body.get("userCtx", {}).get("roles", []) if isinstance(body, dict) else []
        return status == 200 and "_admin" in roles

    def create_admin(self, user: str, password: str) -> None:
        status, body = _http("PUT", f"{self.url}/_config/admins/{user}", body=password)
        if status != 200:
            raise EngineStartError(f"could not create the engine's admin {user}: {body}")


def development_admin(settings: Settings, engine: EmbeddedEngine) -> tuple[str, str, bool]:
    """The embedded engine's admin: created on first start, remembered under the data dir.

    Returns (user, password, created now).
    """
    credentials_file = settings.data_dir / "dev-admin.json"
    if settings.couchdb_user and settings.couchdb_password:
        return settings.couchdb_user, settings.couchdb_password, False
    if engine.admin_party():
        password = secrets.token_urlsafe(12)
        engine.create_admin(DEV_ADMIN_USER, password)
        credentials_file.write_text(
            json.dumps({"user": DEV_ADMIN_USER, "password": password}) + "\n", "utf-8"
        )
        credentials_file.chmod(0o600)
        return DEV_ADMIN_USER, password, True
    if credentials_file.exists():
        saved = json.loads(credentials_file.read_text("utf-8"))
        return str(saved["user"]), str(saved["password"]), False
    raise EngineStartError(
        f"the engine on port {engine.port} has an admin and {credentials_file} is gone: if it "
        "is another CouchDB, set SETTEE_ENGINE_PORT to a free port (or COUCHDB_URL to use it); "
        "if it is this one, set COUCHDB_USER and COUCHDB_PASSWORD"
    )


def start_embedded(settings: Settings) -> tuple[EmbeddedEngine | None, EngineAccess, bool]:
    """Start (or join, when it already runs) the embedded engine under `data_dir`.

    Returns the engine this call started (None when it joined one), how to reach it, and
    whether the development admin was created now.
    """
    engine = EmbeddedEngine(settings.data_dir / "pouchdb", settings.engine_port)
    try:
        engine.directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EngineStartError(f"cannot keep the engine's data in {settings.data_dir}: "
                               f"{exc.strerror} (set SETTEE_DATA_DIR)") from None
    started: EmbeddedEngine | None = None
    if not engine.answers():
        engine.start()
        started = engine
    try:
        user, password, created = development_admin(settings, engine)
    except BaseException:
        engine.stop()  # only stops what this call started
        raise
    return started, EngineAccess(engine.url, user, password), created


def engine_access(settings: Settings) -> EngineAccess:
    assert settings.couchdb_url
    return EngineAccess(settings.couchdb_url, settings.couchdb_user, settings.couchdb_password)


@asynccontextmanager
async def connected_store(settings: Settings) -> AsyncIterator[Store]:
    """The store on the configured engine; the embedded one is started (or joined) when no
    COUCHDB_URL is set, and stopped again afterwards if this call started it."""
    embedded = None
    if settings.embedded:
        embedded, access, created = start_embedded(settings)
        if created:
            log.warning("created the development admin %r; its password is in %s",
                        access.user, settings.data_dir / "dev-admin.json")
    else:
        access = engine_access(settings)
    store = Store(settings, access.url, access.user, access.password)
    try:
        yield store
    finally:
        await store.close()
        if embedded is not None:
            embedded.stop()


class Readiness:
    """Databases created and design documents deployed, once per engine incarnation.

    Tried at start-up; if the engine is down then, tried again by the next request that
    needs it, so the service recovers by itself when the engine returns.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.ready = False
        self._lock = asyncio.Lock()

    async def ensure(self) -> None:
        if self.ready:
            return
        async with self._lock:
            if self.ready:
                return
            await self.store.ensure_databases()
            written = await deploy(self.store)
            if written:
                log.info("design documents deployed: %s", ", ".join(written))
            self.ready = True

    def reset(self) -> None:
        """A new engine incarnation (the embedded engine restarted): check again."""
        self.ready = False

    async def try_ensure(self) -> bool:
        try:
            await self.ensure()
        except EngineUnavailable:
            log.warning("engine unavailable at %s; will retry on the next request", self.store.url)
            return False
        return True
