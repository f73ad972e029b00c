"""Who is asking: HTTP Basic credentials or CouchDB's AuthSession cookie, checked against the
engine's `_session` and cached briefly; and what each Settee role may do.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections import OrderedDict
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from .errors import ApiError, EngineUnavailable
from .logins import LoginLimiter, client_address, parse_networks
from .settings import Settings
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
            number = role.removeprefix(DEVICE_ROLE_PREFIX)
            if number != role and number.isascii() and number.isdigit():
                return int(number)
        return None

    @property
    def device_only(self) -> bool:
        """A device and nothing more: it reads only what it works with (service/scope.py)."""
        roles = self.roles
        return DEVICE in roles and ADMIN not in roles and READER not in roles

    def may(self, allowed: frozenset[str]) -> bool:
        return bool(self.roles & allowed)


class Authenticator:
    """Checks credentials against the engine; a bounded cache keeps that off the hot path, and
    a limit on failed logins keeps anybody from locking a user out (service/logins.py)."""

    def __init__(self, store: Store, settings: Settings, max_entries: int = 10_000) -> None:
        self.store = store
        self.ttl = settings.auth_cache_seconds
        self.max_entries = max_entries
        self.limiter = LoginLimiter(settings.login_max_failures, settings.address_max_failures,
                                    settings.login_window_seconds)
        self.trusted = parse_networks(settings.trusted_proxies)
        self._cache: OrderedDict[str, tuple[float, User | None]] = OrderedDict()

    async def user(self, request: web.Request) -> User:
        authorization = request.headers.get("Authorization")
        cookie = request.cookies.get("AuthSession")
        if not authorization and not cookie:
            raise ApiError(1101, "Authentication required", headers=_challenge())
        name = _basic_name(authorization) if authorization else None
        if cookie is not None and not _COOKIE.match(cookie):
            raise _refused("The AuthSession cookie is malformed")
        key = hashlib.sha256(f"{authorization}\0{cookie}".encode()).hexdigest()
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            user = cached[1]
        else:
            address = client_address(request.remote, request.headers.getall("X-Forwarded-For", []),
                                     self.trusted)
            self.limiter.check(name, address)
            user = await self._ask_engine(authorization, cookie)
            if user is None:
                self.limiter.failed(name, address)
            self._cache[key] = (now + self.ttl, user)
            self._cache.move_to_end(key)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        if user is None:
            raise _refused("Name or password is incorrect.")
        return user

    async def watch_users(self, seconds: float) -> None:
        """Forget users as soon as they change on the engine (a password rotated, a device
        revoked, maybe by another process or the command line): the cache never outlives a
        revocation by more than `seconds`."""
        since: str | None = None
        while True:
            try:
                answer = await self.store.user_changes(since)
                since = str(answer.get("last_seq")) if answer.get("last_seq") is not None else since
                for change in answer.get("results") or []:
                    self.forget(str(change["id"]).removeprefix("org.couchdb.user:"))
            except ApiError:
                pass  # the engine is away: nothing is checked meanwhile either
            await asyncio.sleep(seconds)

    def forget(self, name: str) -> None:
        """Drop what this process remembers of a user's credentials (rotated or revoked)."""
        for key in [k for k, (_, user) in self._cache.items() if user and user.name == name]:
            del self._cache[key]

    async def _ask_engine(self, authorization: str | None, cookie: str | None) -> User | None:
        try:
            ctx = await self.store.session(authorization=authorization, cookie=cookie)
        except EngineUnavailable:
            raise
        except ApiError as exc:
            # 400 (a cookie CouchDB cannot parse), 401, 403 (an account CouchDB locked): nobody.
            if exc.status in (400, 401, 403):
                return None
            raise
        if ctx.name is None:  # an expired cookie reads as nobody
            return None
        return User(ctx.name, ctx.roles)


def _challenge() -> dict[str, str]:
    return {"WWW-Authenticate": 'Basic realm="settee"'}


def _refused(message: str) -> ApiError:
    return ApiError(1101, message, headers=_challenge())


# CouchDB's AuthSession cookie is base64url text.
_COOKIE = re.compile(r"^[A-Za-z0-9_=+/.-]{1,4096}$")
_MAX_NAME = 200


def _basic_name(authorization: str) -> str:
    """The user name of Basic credentials; anything else is refused here, never sent on."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "basic":
        raise _refused("Only HTTP Basic credentials are accepted")
    try:
        credentials = aiohttp.BasicAuth.decode(f"Basic {token.strip()}")
    except ValueError:
        raise _refused("The Basic credentials are not base64 of name:password") from None
    name = str(credentials.login)
    if not name or len(name) > _MAX_NAME or any(ord(c) < 0x20 or c == "\x7f" for c in name):
        raise _refused("Name or password is incorrect.")
    return name
