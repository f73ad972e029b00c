"""The replication endpoint devices sync with (docs/DEVICES.md, "Sync"): CouchDB's replication
protocol on `/sync/devices/{device}` (the device's own database) and `/sync/catalog`.

Every request is relayed to the engine with the caller's own credentials, so the engine's
`_security` and `validate_doc_update` judge it as if the device had come straight to it; the
service first checks the caller is that device (or an admin). One exception: what a device
pushes (`_bulk_docs` with `new_edits: false`). Its first revisions that pass every arrival
check are copied straight into `records`, one write instead of a write into its database and
a copy by the sync worker; the rest go to its database, where the validation refuses what a
device may never write and the worker judges and flags the others as ever. `_revs_diff`
answers what `records` lacks, so a push resumed after an interruption sends only what is
missing there.
"""

from __future__ import annotations

import binascii
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from .. import jsoncodec, keys
from ..auth import ADMIN, DEVICE, User
from ..directory.provisioning import CONFIG_ID, database
from ..errors import ApiError
from ..middlewares import REQUEST_ID_HEADER, parse_json
from ..store import CATALOG, RECORDS
from ..sync import ingest

DEVICES_PREFIX = "/sync/devices/"
CATALOG_PATH = "/sync/catalog"
# The endpoints a replicator (PouchDB's or CouchDB's) calls on a database; besides these, only
# documents (and their attachments) are relayed.
ENDPOINTS = frozenset({"", "_changes", "_revs_diff", "_bulk_docs", "_bulk_get", "_all_docs",
                       "_local", "_ensure_full_commit"})
REQUEST_HEADERS = ("Authorization", "Cookie", "Content-Type", "Accept", "If-None-Match",
                   "If-Match")
ANSWER_HEADERS = ("Content-Type", "ETag", "Cache-Control", "Location")


def _tail(request: web.Request, depth: int) -> str:
    """The rest of the path after the database's `depth` segments, still escaped; 404 for what
    no replicator asks (another database by `..`, `_security`, `_design/...`)."""
    segments = request.rel_url.raw_path.split("/")[depth + 1:]
    if segments == [""]:
        segments = []  # the database itself, with its trailing slash
    raw = "/".join(segments)
    names = [unquote(s) for s in segments]
    if any(n in ("", ".", "..") or "/" in n for n in names):
        raise ApiError(1201, "No such route or resource")
    first = names[0] if names else ""
    if (first.startswith("_") and first not in ENDPOINTS) or (first == "_local" and len(names) != 2):
        raise ApiError(1201, f"{first} is not relayed: only what replication uses is")
    return raw


async def _caller(request: web.Request) -> User:
    await request.app[keys.READINESS].ensure()
    return await request.app[keys.AUTHENTICATOR].user(request)


async def device_database(request: web.Request) -> web.StreamResponse:
    number_text = request.match_info["device"]
    if not (number_text.isascii() and number_text.isdigit()) or len(number_text) > 10:
        raise ApiError(1401, f"no device {number_text}")
    number = int(number_text)
    user = await _caller(request)
    if ADMIN not in user.roles and user.device_id != number:
        raise ApiError(1102, f"only device {number} itself or an admin syncs its database")
    tail = _tail(request, 3)  # /sync/devices/{device}
    if user.device_id == number and ADMIN not in user.roles and request.method == "POST" \
            and tail in ("_revs_diff", "_bulk_docs"):
        body = parse_json(await request.read(), request.app[keys.SETTINGS].max_json_depth)
        if tail == "_revs_diff":
            return await _revs_diff(request, body)
        if isinstance(body, dict) and body.get("new_edits") is False:
            return await _bulk_docs(request, number, body)
    # A device never provisioned has no database: the engine's 404 says so.
    return await _relay(request, database(number), tail)


async def catalog(request: web.Request) -> web.StreamResponse:
    user = await _caller(request)
    if not user.roles & {ADMIN, DEVICE}:
        raise ApiError(1102, "only devices and admins sync the catalog")
    return await _relay(request, CATALOG, _tail(request, 2))  # /sync/catalog


async def _relay(request: web.Request, db: str, tail: str, data: Any = None) -> web.StreamResponse:
    headers = {name: request.headers[name] for name in REQUEST_HEADERS if name in request.headers}
    headers["Accept-Encoding"] = "identity"
    if data is None and request.body_exists:
        data = await request.read()  # once read (a push looked at), aiohttp keeps it
    store = request.app[keys.STORE]
    async with store.relay(request.method, db, tail, query=request.rel_url.raw_query_string,
                           headers=headers, data=data) as upstream:
        answer = web.StreamResponse(status=upstream.status, headers={
            name: upstream.headers[name] for name in ANSWER_HEADERS if name in upstream.headers})
        answer.headers[REQUEST_ID_HEADER] = request[keys.REQUEST_ID]
        await answer.prepare(request)
        async for chunk in upstream.content.iter_any():  # a live `_changes` feed streams
            await answer.write(chunk)
        await answer.write_eof()
        return answer


def _bad_request(message: str) -> ApiError:
    return ApiError(1001, message)


async def _revs_diff(request: web.Request, body: Any) -> web.StreamResponse:
    """What `records` lacks. A revision the device's database holds and `records` does not (one
    a check kept out) is asked for again, after an interrupted push only: writing it there again
    changes nothing, and asking both databases for every push would cost more."""
    if not isinstance(body, dict) or not all(
            isinstance(revs, list) and all(isinstance(r, str) for r in revs)
            for revs in body.values()):
        raise _bad_request("_revs_diff takes an object of document ids to lists of revisions")
    # Its design document and configuration come from its database and never go back.
    asked = {doc_id: revs for doc_id, revs in body.items()
             if not doc_id.startswith("_design/") and doc_id != CONFIG_ID}
    in_records = await request.app[keys.STORE].revs_diff(RECORDS, asked) if asked else {}
    missing = {doc_id: {"missing": entry["missing"]} for doc_id, entry in in_records.items()
               if entry.get("missing")}
    return web.json_response(missing, headers={REQUEST_ID_HEADER: request[keys.REQUEST_ID]})


def _check_inline_attachments(docs: list[Any]) -> None:
    """Attachment content that is not base64 refuses the whole request, as CouchDB does (400),
    before anything is written (PouchDB Server would answer 500)."""
    for doc in docs:
        attachments = doc.get("_attachments") if isinstance(doc, dict) else None
        for name, attachment in (attachments.items() if isinstance(attachments, dict) else ()):
            data = attachment.get("data") if isinstance(attachment, dict) else None
            if data is None:
                continue
            try:
                if not isinstance(data, str):
                    raise ValueError
                binascii.a2b_base64(data, strict_mode=True)
            except (ValueError, binascii.Error):
                raise _bad_request(f"Invalid attachment data for {doc.get('_id')}/{name}") from None


async def _bulk_docs(request: web.Request, device: int, body: dict[str, Any]
                     ) -> web.StreamResponse:
    docs = body.get("docs")
    if not isinstance(docs, list):
        raise _bad_request("_bulk_docs takes {\"docs\": [...]}")
    _check_inline_attachments(docs)
    arrival = await ingest.arrival_of(request.app[keys.STORE], request.app[keys.INTERACTION_TYPES],
                                      device)
    if arrival is None:
        raise ApiError(1401, f"device {device} is not provisioned")
    answers: list[Any] = []
    taken, rest = await ingest.take_pushed(arrival, docs)
    if taken:
        request.app[keys.SYNC].keep_listed({doc.get("type", "") for doc in taken})
    if rest:
        # The device's credentials: its database's validation judges these as it always has.
        headers = {name: request.headers[name] for name in ("Authorization", "Cookie")
                   if name in request.headers}
        headers.update({"Content-Type": "application/json", "Accept": "application/json"})
        async with request.app[keys.STORE].relay(
                "POST", database(arrival.device), "_bulk_docs", headers=headers,
                data=jsoncodec.dumps({"docs": rest, "new_edits": False})) as upstream:
            raw = await upstream.read()
            if upstream.status >= 300:
                return web.Response(body=raw, status=upstream.status,
                                    content_type="application/json")
            answers = jsoncodec.loads(raw) or []
    return web.json_response(answers, status=201,
                             headers={REQUEST_ID_HEADER: request[keys.REQUEST_ID]})
