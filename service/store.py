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
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, NewType, TypeVar, cast
from urllib.parse import quote

import aiocouch
import aiohttp
from yarl import URL

from . import jsoncodec
from .errors import ApiError, Conflict, EngineUnavailable, Forbidden, NotFound
from .settings import Settings

log = logging.getLogger(__name__)

JsonDict = dict[str, Any]
T = TypeVar("T")

# Which database holds what (docs/ARCHITECTURE.md): what a device pulls, pushes, never sees.
REGISTRY = "registry"  # delegates, devices, forms, form revisions: written and read by admins
RECORDS = "records"  # interactions, sessions, limit guards: written by the service
INTERNAL = "internal"  # id blocks, idempotency keys, delivery queue, flags: the service's own
CATALOG = "catalog"  # what every device pulls: the registry's shareable part, types, forms
DATABASES = (REGISTRY, RECORDS, INTERNAL, CATALOG)
# One database per provisioned device, `device_<id, 10 digits>`: what it records offline and
# pushes (the service checks it and copies it into `records`); only that device's user is a member.
DEVICE_DB_PREFIX = "device_"
DEVICE_TEMPLATE = "device"  # the couchapp folder deployed into every device database

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


# The writes of the request under way that fewer copies than the write quorum took (a
# cluster's 202): the request is then answered 202, never as a plain success (middlewares).
minority_writes: ContextVar[list[bool] | None] = ContextVar("minority_writes", default=None)


def _note_minority_write() -> None:
    noted = minority_writes.get()
    if noted is not None:
        noted.append(True)


# An engine path, made only by `path()`: the type lets mypy prove that no request is sent to a
# path built any other way (a client's text formatted into a URL could name another database).
EnginePath = NewType("EnginePath", str)


class InvalidName(DocumentNotFound):
    """A name no document of ours can have: empty, `.`/`..`, a control character, or one of
    CouchDB's reserved `_` names where a document or attachment was meant."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name!r} is not a document or attachment name")


def path(*segments: str) -> EnginePath:
    """The engine path of these segments, each escaped whole: a `/`, `?`, `#` or `%` in a
    segment stays inside it, and `.`/`..` (which URL normalisation would resolve) are refused."""
    for segment in segments:
        if segment in ("", ".", "..") or any(ord(c) < 0x20 or c == "\x7f" for c in segment):
            raise InvalidName(segment)
    return EnginePath("/" + "/".join(quote(segment, safe="") for segment in segments))


def doc_path(db: str, doc_id: str, *rest: str) -> EnginePath:
    """A document's path (and, with `rest`, an attachment's). Only the service's own design and
    local documents may start with `_`: CouchDB reserves the others (`_all_docs`, `_changes`...)
    as endpoints, so such an id from a client would call an endpoint instead of a document."""
    if doc_id.startswith(("_design/", "_local/")):
        special, _, name = doc_id.partition("/")
        return path(db, special, name, *rest)
    if doc_id.startswith("_"):
        raise InvalidName(doc_id)
    for name in rest:
        if name.startswith("_"):
            raise InvalidName(name)
    return path(db, doc_id, *rest)


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
        # No session keeps cookies: CouchDB renews `AuthSession` by Set-Cookie and then prefers
        # the cookie to Basic credentials, so a kept cookie would make every later caller the
        # user who got it (on a host name; a cookie jar refuses cookies from IP addresses).
        self._couch = aiocouch.CouchDB(self.url, user=user, password=password, timeout=self._timeout,
                                       cookie_jar=aiohttp.DummyCookieJar())
        # PouchDB Server answers text/plain unless asked for JSON (CouchDB 3 always answers JSON),
        # and aiocouch sends no Accept header: ask for JSON on every request, here, once.
        headers = {"Accept": "application/json"}
        self._http.headers.update(headers)
        # Users' credentials are checked on a session that carries none of the service's.
        self._anonymous = aiohttp.ClientSession(headers=headers, timeout=self._timeout,
                                                cookie_jar=aiohttp.DummyCookieJar())

    @property
    def _http(self) -> aiohttp.ClientSession:
        return self._couch._server._http_session  # the session aiocouch authenticated

    def _url(self, where: EnginePath) -> URL:
        # Already escaped segment by segment: `encoded` keeps yarl from decoding or normalising it.
        return URL(self.url + where, encoded=True)

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

    async def request(self, method: str, where: EnginePath, **options: Any) -> Any:
        """Send one request and return its JSON answer, or raise the service's error for it
        (the options are `exchange`'s)."""
        return (await self.exchange(method, where, **options))[1]

    async def exchange(
        self,
        method: str,
        where: EnginePath,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        session: aiohttp.ClientSession | None = None,
        allow_seconds: float | None = None,
    ) -> tuple[int, Any]:
        """`request`, answering the status too (a write's 201 and 202 differ)."""
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
                    method, self._url(where), **kwargs
                ) as resp:
                    payload = await resp.read()
                    status = resp.status
                break
            except aiohttp.ServerDisconnectedError as exc:
                if attempt + 1 == attempts:
                    raise EngineUnavailable(self.settings.retry_after) from exc
            except (TimeoutError, aiohttp.ClientConnectionError) as exc:
                raise EngineUnavailable(self.settings.retry_after) from exc
        answer = jsoncodec.loads(payload) if payload else None
        if status >= 400:
            raise self._error(status, answer)
        return status, answer

    @asynccontextmanager
    async def stream(
        self, method: str, where: EnginePath, *, params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """The raw answer, for bodies too large to hold (attachments, long listings)."""
        try:
            async with self._http.request(
                method, self._url(where), params=_view_params(params or {}),
                headers=dict(headers or {}), timeout=aiohttp.ClientTimeout(sock_connect=5),
            ) as resp:
                if resp.status >= 400:
                    raise self._error(resp.status, json.loads(await resp.read() or b"null"))
                yield resp
        except (TimeoutError, aiohttp.ClientConnectionError) as exc:
            raise EngineUnavailable(self.settings.retry_after) from exc

    @asynccontextmanager
    async def relay(
        self, method: str, db: str, tail: str, *, query: str = "",
        headers: Mapping[str, str] | None = None, data: Any = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """A caller's own request to one of the service's databases, sent with the caller's
        credentials (never the service's): the replication endpoint's relay. `tail` is the
        already escaped rest of the path; the answer is raw, whatever its status."""
        url = URL(f"{self.url}/{quote(self.db(db), safe='')}{'/' + tail if tail else '/'}"
                  f"{'?' + query if query else ''}", encoded=True)
        try:
            # No total timeout: a device's `_changes` may be a long poll or a continuous feed.
            async with self._anonymous.request(
                method, url, headers=dict(headers or {}), data=data,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=5), auto_decompress=False,
            ) as resp:
                yield resp
        except (TimeoutError, aiohttp.ClientConnectionError) as exc:
            raise EngineUnavailable(self.settings.retry_after) from exc

    async def revs_diff(self, db: str, revisions: Mapping[str, list[str]]) -> JsonDict:
        """Which of these revisions the database lacks (`_revs_diff`, as a replicator asks)."""
        answer: JsonDict = await self.request("POST", path(self.db(db), "_revs_diff"),
                                              body=revisions)
        return answer

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
        info: JsonDict = await self.request("GET", EnginePath("/"))
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
        answer = await self.request("GET", path("_session"), headers=headers, session=self._anonymous)
        ctx = answer.get("userCtx") or {}
        return UserContext(ctx.get("name"), tuple(ctx.get("roles") or ()))

    async def ensure_databases(self) -> None:
        for name in DATABASES:
            # aiocouch's create with exists_ok is safe when several processes race.
            await self._call_aiocouch(self._couch.create(self.db(name), exists_ok=True))
            await self.request("PUT", path(self.db(name), "_security"), body=_security(name))

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
        for name in (*DATABASES, *await self.device_databases()):
            try:
                await self.request("DELETE", path(self.db(name)))
            except DocumentNotFound:
                pass

    async def device_databases(self) -> list[str]:
        """The device databases (names without the prefix)."""
        start = self.db(DEVICE_DB_PREFIX)
        names: list[str] = await self.request(
            "GET", path("_all_dbs"), params={"startkey": start, "endkey": start + "\ufff0"})
        # PouchDB Server ignores the range: filter here too.
        return sorted(n[len(self.prefix):] for n in names if n.startswith(start))

    async def ensure_device_database(self, name: str, member: str) -> None:
        """Create a device's database (if missing) with its user as the only member."""
        try:
            await self.request("PUT", path(self.db(name)))
        except EngineRefused as exc:
            if exc.status != 412:  # 412: it exists already
                raise
        await self.request("PUT", path(self.db(name), "_security"), body={
            "admins": {"names": [], "roles": []},
            "members": {"names": [member], "roles": []},
        })

    async def put_user(
        self, name: str, password: str, roles: list[str], rev: str | None = None
    ) -> str:
        """Create a CouchDB user, or with `rev` replace it (users are engine-wide, not under
        the prefix)."""
        doc_id = f"org.couchdb.user:{name}"
        doc = {"_id": doc_id, "name": name, "password": password, "roles": roles, "type": "user"}
        if rev is not None:
            doc["_rev"] = rev
        answer = await self.request("PUT", doc_path("_users", doc_id), body=doc)
        return str(answer["rev"])

    async def get_user(self, name: str) -> JsonDict | None:
        try:
            user: JsonDict = await self.request(
                "GET", doc_path("_users", f"org.couchdb.user:{name}"))
        except DocumentNotFound:
            return None
        return user

    async def user_changes(self, since: str | None) -> JsonDict:
        """What changed among users (`_users`, engine-wide) since a sequence ("now" when None)."""
        answer: JsonDict = await self.request(
            "GET", path("_users", "_changes"), params={"since": since or "now"})
        return answer

    async def delete_user(self, name: str, rev: str) -> None:
        await self.request("DELETE", doc_path("_users", f"org.couchdb.user:{name}"),
                           params={"rev": rev})

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
        """Write a document (create when it has no `_rev`); return its new revision.

        A write fewer copies than the quorum took (202) is confirmed first (`_confirm`): if
        another branch of the document exists, it yields and is a DocumentConflict."""
        status, answer = await self.exchange("PUT", doc_path(self.db(db), doc["_id"]), body=doc)
        rev = str(answer["rev"])
        if status == 202:
            await self._confirm(db, doc["_id"], rev)
        return rev

    async def delete(self, db: str, doc_id: str, rev: str) -> str:
        status, answer = await self.exchange("DELETE", doc_path(self.db(db), doc_id),
                                             params={"rev": rev})
        if status == 202:
            _note_minority_write()
        return str(answer["rev"])

    async def _confirm(self, db: str, doc_id: str, rev: str) -> None:
        """After a 202 (fewer copies than the write quorum took the write), read the document
        back from as many copies as it has (`SETTEE_COUCHDB_COPIES`) and decide, the same way
        in every process: alone, the write stands (the request is answered 202); beside
        another branch (a concurrent or a stale write that other copies took), it yields: its
        branch is removed and it is a conflict, as a 409 would have said. A write that only a
        minority of copies took never wins against one that may have reached a majority."""
        params: JsonDict = {"conflicts": True, "revs": True}
        if self.settings.couchdb_copies:
            params["r"] = self.settings.couchdb_copies
        current = await self.get_or_none(db, doc_id, **params)
        if current is None:
            raise EngineUnavailable(self.settings.retry_after,
                                    "a write fewer copies than the quorum took is not readable yet")
        leaves = [current["_rev"], *current.get("_conflicts", [])]
        if leaves == [rev]:
            _note_minority_write()
            return
        if rev in leaves:
            try:
                await self.request("DELETE", doc_path(self.db(db), doc_id), params={"rev": rev})
            except (DocumentConflict, DocumentNotFound):
                pass
            raise DocumentConflict()
        position, _, digest = rev.partition("-")
        history = current.get("_revisions") or {}
        start, ids = int(history.get("start", 0)), list(history.get("ids", []))
        if 0 <= start - int(position) < len(ids) and ids[start - int(position)] == digest:
            _note_minority_write()  # a later write built on ours: ours happened
            return
        raise DocumentConflict()  # our branch was removed: another write won

    async def bulk_docs(
        self, db: str, docs: list[JsonDict], *, new_edits: bool = True
    ) -> list[JsonDict]:
        """Write many documents in one request; each result says `rev` or `error` on its own.

        `new_edits=False` stores revisions as given (with their `_revisions` history), as
        replication does: how documents are copied from a device's database."""
        body: JsonDict = {"docs": docs}
        if not new_edits:
            body["new_edits"] = False
        status, results = await self.exchange("POST", path(self.db(db), "_bulk_docs"), body=body)
        if status == 202 and new_edits:
            await self._confirm_bulk(db, results)
        return list(results)

    async def _confirm_bulk(self, db: str, results: list[JsonDict]) -> None:
        """`_confirm` for each document of a `_bulk_docs` some copies took: one read for all;
        an entry that must yield becomes a `conflict` result."""
        written = {r["id"]: r["rev"] for r in results if "rev" in r and "error" not in r}
        if not written:
            return
        answer = await self.request("POST", path(self.db(db), "_all_docs"),
                                    params={"include_docs": True, "conflicts": True},
                                    body={"keys": list(written)})
        docs = {row["id"]: row.get("doc") for row in answer["rows"] if "id" in row}
        for result in results:
            rev = written.get(result.get("id", ""))
            doc = docs.get(result.get("id", ""))
            if rev is None or doc is None or not doc.get("_conflicts"):
                continue
            if rev in (doc["_rev"], *doc["_conflicts"]):
                try:
                    await self.request("DELETE", doc_path(self.db(db), result["id"]),
                                       params={"rev": rev})
                except (DocumentConflict, DocumentNotFound):
                    pass
                result.clear()
                result.update({"id": doc["_id"], "error": "conflict",
                               "reason": "Document update conflict."})
        _note_minority_write()

    async def bulk_get(self, db: str, refs: list[tuple[str, str]]) -> list[JsonDict]:
        """These revisions, each with its revision history and its attachments inline: what a
        replicator reads to copy them (`_bulk_get`). Missing ones are left out."""
        answer = await self.request(
            "POST", path(self.db(db), "_bulk_get"),
            params={"revs": True, "attachments": True},
            body={"docs": [{"id": doc_id, "rev": rev} for doc_id, rev in refs]},
        )
        return [entry["ok"] for result in answer.get("results", [])
                for entry in result.get("docs", []) if "ok" in entry]

    async def all_docs(self, db: str, **params: Any) -> JsonDict:
        answer: JsonDict = await self.request("GET", path(self.db(db), "_all_docs"), params=params)
        return answer

    async def fetch_docs(self, db: str, ids: Iterable[str]) -> dict[str, JsonDict]:
        """The current documents with these ids (missing and deleted ones left out)."""
        answer = await self.request(
            "POST", path(self.db(db), "_all_docs"), params={"include_docs": True},
            body={"keys": list(ids)},
        )
        return {row["id"]: row["doc"] for row in answer["rows"] if row.get("doc")}

    async def view(
        self, db: str, ddoc: str, view: str, *, allow_seconds: float | None = None, **params: Any
    ) -> JsonDict:
        where = path(self.db(db), "_design", ddoc, "_view", view)
        keys = params.pop("keys", None)
        if keys is not None:
            answer: JsonDict = await self.request(
                "POST", where, params=params, body={"keys": keys}, allow_seconds=allow_seconds
            )
        else:
            answer = await self.request("GET", where, params=params, allow_seconds=allow_seconds)
        return answer

    async def doc_count(self, db: str) -> int:
        info = await self.request("GET", path(self.db(db)))
        return int(info.get("doc_count") or 0)

    async def put_attachment(
        self, db: str, doc_id: str, rev: str, name: str, content: bytes, content_type: str
    ) -> str:
        answer = await self.request(
            "PUT", doc_path(self.db(db), doc_id, name), params={"rev": rev},
            data=content, headers={"Content-Type": content_type},
        )
        return str(answer["rev"])

    def attachment_path(self, db: str, doc_id: str, name: str) -> EnginePath:
        return doc_path(self.db(db), doc_id, name)

    async def changes(self, db: str, **params: Any) -> JsonDict:
        answer: JsonDict = await self.request("GET", path(self.db(db), "_changes"), params=params)
        return answer

    # -- for the Interaction API -------------------------------------------------------------

    async def all_docs_keys(self, db: str, ids: list[str], *, include_docs: bool = False
                            ) -> list[JsonDict]:
        """`_all_docs` rows of these ids, without documents unless asked (deleted ones say so,
        missing ones have an error)."""
        answer = await self.request("POST", path(self.db(db), "_all_docs"), body={"keys": ids},
                                    params={"include_docs": True} if include_docs else None)
        rows: list[JsonDict] = answer["rows"]
        return rows

    async def revisions(self, db: str, ids: list[str]) -> dict[str, str]:
        """The current revision of each of these documents that exists (deleted ones do not)."""
        return {row["id"]: row["value"]["rev"] for row in await self.all_docs_keys(db, ids)
                if isinstance(row.get("value"), dict) and not row["value"].get("deleted")}

    async def existing_ids(self, db: str, ids: Iterable[str]) -> set[str]:
        """Which of these documents exist (deleted ones do not), without reading them."""
        answer = await self.request("POST", path(self.db(db), "_all_docs"), body={"keys": list(ids)})
        return {
            row["id"] for row in answer["rows"]
            if isinstance(row.get("value"), dict) and not row["value"].get("deleted")
        }


def _security(name: str) -> JsonDict:
    """Who may open each database on the engine itself (the service is a server admin).

    Only the catalog is open to devices (to pull; its validate_doc_update keeps it read-only);
    readers and devices reach everything else through the service's API, which scopes it.
    Admins may replicate whole databases (operators' backups, Fauxton)."""
    if name == INTERNAL:
        # A role nobody is given: only server admins (the service) may read or write.
        return {"admins": {"names": [], "roles": []}, "members": {"names": [], "roles": ["_admin"]}}
    roles = [ADMIN_ROLE, DEVICE_ROLE] if name == CATALOG else [ADMIN_ROLE]
    return {"admins": {"names": [], "roles": []}, "members": {"names": [], "roles": roles}}
