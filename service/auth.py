"""Who is asking: HTTP Basic credentials or CouchDB's AuthSession cookie, checked against the
engine's `_session` and cached briefly; and what each Settee role may do.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass

from aiohttp import web

from .errors import ApiError, EngineUnavailable
from .store import ADMIN_ROLE, DEVICE_ROLE, READER_ROLE, Store

ADMIN = "admin"
DEVICE = "device"
READER = "reader"

Roles = frozenset[str]

# Who may call a route: each route names one of these (docs/ARCHITECTURE.md, "Users and access").
PUBLIC: Roles = frozenset()
ADMINS = frozenset({ADMIN})
DEVICES = frozenset({ADMIN, DEVICE})
READERS = frozenset({ADMIN, DEVICE, READER})

_ROLE_OF_COUCH_ROLE = {"_admin": ADMIN, ADMIN_ROLE: ADMIN, DEVICE_ROLE: DEVICE, READER_ROLE: READER}
DEVICE_ROLE_PREFIX = DEVICE_ROLE + ":"  # a device user also has `settee:device:<id>`


@dataclass(frozen=True)
class User:
    name: str | None
    couch_roles: tuple[str, ...]

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(_ROLE_OF_COUCH_ROLE[r] for r in self.couch_roles if r in _ROLE_OF_COUCH_ROLE)

    @property
    def device_id(self) -> int | None:
        for role in self.couch_roles:
            if role.startswith(DEVICE_ROLE_PREFIX) and role[len(DEVICE_ROLE_PREFIX):].isdigit():
                return int(role[len(DEVICE_ROLE_PREFIX):])
        return None

    def may(self, allowed: frozenset[str]) -> bool:
        return bool(self.roles & allowed)


class Authenticator:
    """Checks credentials against the engine; a bounded cache keeps that off the hot path."""

    def __init__(self, store: Store, ttl: float, max_entries: int = 10_000) -> None:
        self.store = store
        self.ttl = ttl
        self.max_entries = max_entries
        self._cache: OrderedDict[str, tuple[float, User | None]] = OrderedDict()

    async def user(self, request: web.Request) -> User:
        authorization = request.headers.get("Authorization")
        cookie = request.cookies.get("AuthSession")
        if not authorization and not cookie:
            raise ApiError(1101, "Authentication required", headers=_challenge())
        if authorization and not authorization.lower().startswith("basic "):
            raise ApiError(1101, "Only HTTP Basic credentials are accepted", headers=_challenge())
        key = hashlib.sha256(f"{authorization}\0{cookie}".encode()).hexdigest()
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            user = cached[1]
        else:
            user = await self._ask_engine(authorization, cookie)
            self._cache[key] = (now + self.ttl, user)
            self._cache.move_to_end(key)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        if user is None:
            raise ApiError(1101, "Name or password is incorrect.", headers=_challenge())
        return user

    async def _ask_engine(self, authorization: str | None, cookie: str | None) -> User | None:
        try:
            ctx = await self.store.session(authorization=authorization, cookie=cookie)
        except EngineUnavailable:
            raise
        except ApiError as exc:
            if exc.status == 401:
                return None
            raise
        if ctx.name is None:  # an expired cookie reads as nobody
            return None
        return User(ctx.name, ctx.roles)


def _challenge() -> dict[str, str]:
    return {"WWW-Authenticate": 'Basic realm="settee"'}
