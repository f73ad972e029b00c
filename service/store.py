"""The store: the only module that talks to CouchDB (through aiocouch's connection).

It owns the engine connection, names the databases, turns CouchDB's answers into the
service's own errors, and hides the differences between Apache CouchDB 3 and PouchDB Server
(see docs/ARCHITECTURE.md, "Engine differences").
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from urllib.parse import quote

import aiocouch
import aiohttp

from . import jsoncodec
from .errors import ApiError, Conflict, EngineUnavailable, Forbidden, NotFound
from .settings import Settings

log = logging.getLogger(__name__)

JsonDict = dict[str, Any]
T = TypeVar("T")

# Which database holds what (DESIGN §2): what a device pulls, what it pushes, what it never sees.
REGISTRY = "registry"  # delegates, devices, forms, form revisions: written by admins, read by devices
RECORDS = "records"  # interactions, sessions, limit guards: written by the service, read through it
INTERNAL = "internal"  # id blocks, idempotency keys, delivery queue: the service's own
DATABASES = (REGISTRY, RECORDS, INTERNAL)

ADMIN_ROLE = "settee:admin"
DEVICE_ROLE = "settee:device"
READER_ROLE = "settee:reader"
USER_ROLES = (ADMIN_ROLE, DEVICE_ROLE, READER_ROLE)

# CouchDB reads these view parameters as JSON values.
_JSON_PARAMS = frozenset(
    {"key", "keys", "startkey", "endkey", "start_key", "end_key", "startkey_docid"}
)


class DocumentNotFound(NotFound):
    def __init__(self, reason: str = "missing") -> None:
        super().__init__(reason)


class DocumentConflict(Conflict):
    pass


class EngineRefused(ApiError):
    """The engine refused a request the service made (a validate_doc_update `forbidden`, a bad request)."""

    def __init__(self, status: int, error: str, reason: str) -> None:
        code = 1102 if status in (401, 403) else 1002 if status == 400 else 1999
        super().__init__(code, reason, status=status, couch_error=error)


@dataclass(frozen=True)
class UserContext:
    name: str | None
    roles: tuple[str, ...]


def _quote(part: str) -> str:
    return quote(part, safe="")


def doc_path(db: str, doc_id: str) -> str:
    # Design documents keep their slash: CouchDB answers `_design%2Fx` with a redirect.
    if doc_id.startswith("_design/"):
        return f"/{db}/_design/{_quote(doc_id[8:])}"
    return f"/{db}/{_quote(doc_id)}"


def _view_params(params: Mapping[str, Any]) -> dict[str, str]:
    encoded: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if key in _JSON_PARAMS:
            encoded[key] = json.dumps(value, separators=(",", ":"))
        elif isinstance(value, bool):
            encoded[key] = "true" if value else "false"
        else:
            encoded[key] = str(value)
    return encoded


class Store:
    """A connection to one CouchDB-compatible engine, with the service's databases under one prefix."""

    def __init__(
        self, settings: Settings, url: str, user: str | None = None, password: str | None = None
    ) -> None:
        self.settings = settings
        self.url = url.rstrip("/")
        self.prefix = settings.db_prefix
        self._companions: dict[Callable[[Store], Any], Any] = {}
        self._timeout = aiohttp.ClientTimeout(total=settings.engine_timeout)
        self._couch = aiocouch.CouchDB(self.url, user=user, password=password, timeout=self._timeout)
        # PouchDB Server answers text/plain unless asked for JSON (CouchDB 3 always answers JSON),
        # and aiocouch sends no Accept header: ask for JSON on every request, here, once.
        headers = {"Accept": "application/json"}
        self._http.headers.update(headers)
        # Users' credentials are checked on a session that carries none of the service's.
        self._anonymous = aiohttp.ClientSession(headers=headers, timeout=self._timeout)

    @property
    def _http(self) -> aiohttp.ClientSession:
        return self._couch._server._http_session  # the session aiocouch authenticated

    def db(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def companion(self, make: Callable[[Store], T]) -> T:
        """The one `make(self)` of this connection: a process's helper bound to these databases
        (its id block, the roster, the sessions it wrote last), made on first use."""
        found = self._companions.get(make)
        if found is None:
            found = self._companions[make] = make(self)
        return cast(T, found)

    async def close(self) -> None:
        await self._couch.close()
        await self._anonymous.close()

    # -- the one place requests are made ------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        session: aiohttp.ClientSession | None = None,
        allow_seconds: float | None = None,
    ) -> Any:
        """Send one request and return its JSON answer, or raise the service's error for it."""
        kwargs: dict[str, Any] = {"params": _view_params(params or {})}
        if allow_seconds is not None:  # longer than the engine timeout: an index build, say
            kwargs["timeout"] = aiohttp.ClientTimeout(total=allow_seconds)
        if body is not None:
            kwargs["data"] = jsoncodec.dumps(body)
            kwargs["headers"] = {"Content-Type": "application/json", **(headers or {})}
        elif data is not None:
            kwargs["data"] = data
            kwargs["headers"] = dict(headers or {})
        elif headers:
            kwargs["headers"] = dict(headers)
        # A kept-alive connection the engine closed (a restart) fails once; reading again is safe.
        attempts = 2 if method in ("GET", "HEAD") else 1
        for attempt in range(attempts):
            try:
                async with (session or self._http).request(
                    method, self.url + path, **kwargs
                ) as resp:
                    payload = await resp.read()
                    status = resp.status
                break
            except aiohttp.ServerDisconnectedError as exc:
                if attempt + 1 == attempts:
                    raise EngineUnavailable(self.settings.retry_after) from exc
            except (TimeoutError, aiohttp.ClientConnectionError) as exc:
                raise EngineUnavailable(self.settings.retry_after) from exc
        answer = json.loads(payload) if payload else None
        if status >= 400:
            raise self._error(status, answer)
        return answer

    @asynccontextmanager
    async def stream(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """The raw answer, for bodies too large to hold (attachments, long listings)."""
        try:
            async with self._http.request(
                method, self.url + path, params=_view_params(params or {}),
                headers=dict(headers or {}), timeout=aiohttp.ClientTimeout(sock_connect=5),
            ) as resp:
                if resp.status >= 400:
                    raise self._error(resp.status, json.loads(await resp.read() or b"null"))
                yield resp
        except (TimeoutError, aiohttp.ClientConnectionError) as exc:
            raise EngineUnavailable(self.settings.retry_after) from exc

    def _error(self, status: int, answer: Any) -> ApiError:
        error = answer.get("error", "") if isinstance(answer, dict) else ""
        reason = answer.get("reason", "") if isinstance(answer, dict) else ""
        reason = str(reason or error or f"engine answered {status}")
        if status == 404:
            return DocumentNotFound(reason)
        if status == 409:
            return DocumentConflict()
        if status == 503:
            return EngineUnavailable(self.settings.retry_after, reason)
        if status == 403 and error == "forbidden":
            return Forbidden(reason)
        return EngineRefused(status, str(error or "error"), reason)

    # -- server ---------------------------------------------------------------------------

    async def server_info(self) -> JsonDict:
        info: JsonDict = await self.request("GET", "/")
        return info

    async def session(
        self, *, authorization: str | None = None, cookie: str | None = None
    ) -> UserContext:
        """Ask the engine who these credentials are (401 from the engine: not anybody)."""
        headers = {}
        if authorization:
            headers["Authorization"] = authorization
        if cookie:
            headers["Cookie"] = f"AuthSession={cookie}"
        answer = await self.request("GET", "/_session", headers=headers, session=self._anonymous)
        ctx = answer.get("userCtx") or {}
        return UserContext(ctx.get("name"), tuple(ctx.get("roles") or ()))

    async def ensure_databases(self) -> None:
        for name in DATABASES:
            # aiocouch's create with exists_ok is safe when several processes race.
            await self._call_aiocouch(self._couch.create(self.db(name), exists_ok=True))
            await self.request("PUT", f"/{self.db(name)}/_security", body=_security(name))

    async def _call_aiocouch(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except (TimeoutError, aiohttp.ClientConnectionError) as exc:
            raise EngineUnavailable(self.settings.retry_after) from exc
        except aiocouch.exception.UnauthorizedError as exc:
            raise EngineRefused(401, "unauthorized", str(exc)) from exc
        except aiocouch.exception.ForbiddenError as exc:
            raise EngineRefused(403, "forbidden", str(exc)) from exc
        except aiocouch.exception.RemoteResponseError as exc:  # not what a CouchDB answers
            raise EngineRefused(exc.status, "error", f"engine answered {exc.status}") from exc

    async def delete_databases(self) -> None:
        for name in DATABASES:
            try:
                await self.request("DELETE", f"/{self.db(name)}")
            except DocumentNotFound:
                pass

    async def put_user(self, name: str, password: str, roles: list[str]) -> str:
        """Create a CouchDB user (users are engine-wide, not under the prefix)."""
        doc_id = f"org.couchdb.user:{name}"
        doc = {"_id": doc_id, "name": name, "password": password, "roles": roles, "type": "user"}
        answer = await self.request("PUT", doc_path("_users", doc_id), body=doc)
        return str(answer["rev"])

    # -- documents --------------------------------------------------------------------------

    async def get(self, db: str, doc_id: str, **params: Any) -> JsonDict:
        doc: JsonDict = await self.request("GET", doc_path(self.db(db), doc_id), params=params)
        return doc

    async def get_or_none(self, db: str, doc_id: str, **params: Any) -> JsonDict | None:
        try:
            return await self.get(db, doc_id, **params)
        except DocumentNotFound:
            return None

    async def put(self, db: str, doc: JsonDict) -> str:
        """Write a document (create when it has no `_rev`); return its new revision."""
        answer = await self.request("PUT", doc_path(self.db(db), doc["_id"]), body=doc)
        return str(answer["rev"])

    async def delete(self, db: str, doc_id: str, rev: str) -> str:
        answer = await self.request("DELETE", doc_path(self.db(db), doc_id), params={"rev": rev})
        return str(answer["rev"])

    async def bulk_docs(self, db: str, docs: list[JsonDict]) -> list[JsonDict]:
        """Write many documents in one request; each result says `rev` or `error` on its own."""
        results: list[JsonDict] = await self.request(
            "POST", f"/{self.db(db)}/_bulk_docs", body={"docs": docs}
        )
        return results

    async def all_docs(self, db: str, **params: Any) -> JsonDict:
        answer: JsonDict = await self.request("GET", f"/{self.db(db)}/_all_docs", params=params)
        return answer

    async def fetch_docs(self, db: str, ids: Iterable[str]) -> dict[str, JsonDict]:
        """The current documents with these ids (missing and deleted ones left out)."""
        answer = await self.request(
            "POST", f"/{self.db(db)}/_all_docs", params={"include_docs": True},
            body={"keys": list(ids)},
        )
        return {row["id"]: row["doc"] for row in answer["rows"] if row.get("doc")}

    async def view(
        self, db: str, ddoc: str, view: str, *, allow_seconds: float | None = None, **params: Any
    ) -> JsonDict:
        path = f"/{self.db(db)}/_design/{_quote(ddoc)}/_view/{_quote(view)}"
        keys = params.pop("keys", None)
        if keys is not None:
            answer: JsonDict = await self.request(
                "POST", path, params=params, body={"keys": keys}, allow_seconds=allow_seconds
            )
        else:
            answer = await self.request("GET", path, params=params, allow_seconds=allow_seconds)
        return answer

    async def doc_count(self, db: str) -> int:
        info = await self.request("GET", f"/{self.db(db)}")
        return int(info.get("doc_count") or 0)

    async def put_attachment(
        self, db: str, doc_id: str, rev: str, name: str, content: bytes, content_type: str
    ) -> str:
        answer = await self.request(
            "PUT", f"{doc_path(self.db(db), doc_id)}/{_quote(name)}", params={"rev": rev},
            data=content, headers={"Content-Type": content_type},
        )
        return str(answer["rev"])

    async def changes(self, db: str, **params: Any) -> JsonDict:
        answer: JsonDict = await self.request("GET", f"/{self.db(db)}/_changes", params=params)
        return answer

    # -- for the Interaction API -------------------------------------------------------------

    async def existing_ids(self, db: str, ids: Iterable[str]) -> set[str]:
        """Which of these documents exist (deleted ones do not), without reading them."""
        answer = await self.request("POST", f"/{self.db(db)}/_all_docs", body={"keys": list(ids)})
        return {
            row["id"] for row in answer["rows"]
            if isinstance(row.get("value"), dict) and not row["value"].get("deleted")
        }

    # -- for the Session API -----------------------------------------------------------------

    async def post_json_out(
        self, url: str, body: Any, headers: Mapping[str, str], seconds: float
    ) -> int:
        """POST JSON to a URL outside the engine (a session's submitUrl); the answer's status.

        Sent without the service's credentials; unreachable, refused or too slow: ConnectionError.
        """
        try:
            async with self._anonymous.post(
                url, data=json.dumps(body, separators=(",", ":")),
                headers={"Content-Type": "application/json", **headers},
                timeout=aiohttp.ClientTimeout(total=seconds),
            ) as resp:
                await resp.read()
                return resp.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ConnectionError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc


def _security(name: str) -> JsonDict:
    if name == INTERNAL:
        # A role nobody is given: only server admins (the service) may read or write.
        return {"admins": {"names": [], "roles": []}, "members": {"names": [], "roles": ["_admin"]}}
    if name == RECORDS:
        # Written at volume by the service alone, without a validate_doc_update: admins only.
        return {"admins": {"names": [], "roles": []},
                "members": {"names": [], "roles": ["_admin", ADMIN_ROLE]}}
    return {
        "admins": {"names": [], "roles": []},
        "members": {"names": [], "roles": list(USER_ROLES)},
    }
