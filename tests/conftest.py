"""Test fixtures: a real CouchDB-compatible engine for the session, databases of its own per test.

With COUCHDB_URL (and COUCHDB_USER/COUCHDB_PASSWORD) set, the suite runs against that engine;
otherwise it starts PouchDB Server in memory on a free loopback port, with a server admin
configured (never "admin party", so authentication behaves as in production).
"""

from __future__ import annotations

import os
import secrets
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from service.app import create_app
from service.engine import EmbeddedEngine, EngineAccess
from service.settings import Settings
from service.store import Store
from service.users import create_user
from tests import observed_statuses

from .receiver import Receiver

ADMIN_USER = "settee-test-admin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections for as long as it is held (bound, never
    listening), so nothing else can start answering on it meanwhile."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def start_engine(directory: Path, *, in_memory: bool) -> tuple[EmbeddedEngine, EngineAccess]:
    engine = EmbeddedEngine(directory, free_port(), in_memory=in_memory)
    engine.start()
    password = secrets.token_urlsafe(12)
    engine.create_admin(ADMIN_USER, password)
    return engine, EngineAccess(engine.url, ADMIN_USER, password)


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineAccess]:
    url = os.environ.get("COUCHDB_URL")
    if url:
        yield EngineAccess(url, os.environ.get("COUCHDB_USER"), os.environ.get("COUCHDB_PASSWORD"))
        return
    embedded, access = start_engine(tmp_path_factory.mktemp("engine"), in_memory=True)
    yield access
    embedded.stop()


def settings_for(access: EngineAccess, tmp_path: Path, **overrides: object) -> Settings:
    base = Settings(
        couchdb_url=access.url,
        couchdb_user=access.user,
        couchdb_password=access.password,
        db_prefix=f"t{uuid.uuid4().hex[:12]}_",
        data_dir=tmp_path / "var",
        log_format="text",
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


@pytest.fixture
async def settings(engine: EngineAccess, tmp_path: Path) -> AsyncIterator[Settings]:
    settings = settings_for(engine, tmp_path)
    yield settings
    store = Store(settings, engine.url, engine.user, engine.password)
    try:
        await store.delete_databases()
    finally:
        await store.close()


@pytest.fixture
async def store(settings: Settings, engine: EngineAccess) -> AsyncIterator[Store]:
    """A store on this test's databases (created, design documents deployed)."""
    from service.engine import Readiness

    store = Store(settings, engine.url, engine.user, engine.password)
    await Readiness(store).ensure()
    yield store
    await store.close()


@pytest.fixture
async def client(
    aiohttp_client: Callable[..., Awaitable[TestClient]], settings: Settings
) -> TestClient:
    return await aiohttp_client(create_app(settings))


Headers = dict[str, str]


def basic_auth(user: str, password: str) -> Headers:
    """Request headers that log in as this user (pass as `headers=`)."""
    return {"Authorization": aiohttp.encode_basic_auth(user, password)}


@pytest.fixture
def admin(engine: EngineAccess) -> Headers:
    """The engine's server admin: an admin of Settee too."""
    assert engine.user and engine.password
    return basic_auth(engine.user, engine.password)


UserFactory = Callable[..., Awaitable[Headers]]


@pytest.fixture
async def make_user(engine: EngineAccess, settings: Settings) -> AsyncIterator[UserFactory]:
    """Create a CouchDB user with Settee roles; answers its credentials."""
    store = Store(settings, engine.url, engine.user, engine.password)

    async def make(*roles: str, extra_roles: tuple[str, ...] = ()) -> Headers:
        name = f"user-{uuid.uuid4().hex[:10]}"
        password = secrets.token_urlsafe(12)
        await create_user(store, name, password, roles, extra_roles)
        return basic_auth(name, password)

    yield make
    await store.close()


@pytest.fixture
async def served(settings: Settings) -> AsyncIterator[str]:
    """The service as `python -m service serve` runs it (its own HTTP server, not the test
    client's), on a free loopback port; answers its base URL."""
    from service.server import start

    port = free_port()
    runner = await start(create_app(settings), "127.0.0.1", port)
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


# -- the contract: statuses answered during the suite against those the OpenAPI document lists --


def pytest_configure(config: pytest.Config) -> None:
    observed_statuses.install()


def pytest_sessionfinish(session: pytest.Session) -> None:
    observed_statuses.report(session)


@pytest.fixture
async def receiver(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> Receiver:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    server = await aiohttp_server(app, host="127.0.0.1")
    hook.url = str(server.make_url("/hook"))
    return hook
