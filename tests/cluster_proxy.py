"""A CouchDB cluster, as the service sees one, simulated in front of the embedded engine.

Apache CouchDB cannot be installed here, so the cluster behaviours Settee must hold under are
reproduced by a proxy (a real HTTP server between the service and PouchDB Server):

- **Contended writes** (`contention_seconds`): on a cluster, two writes to one document made
  at nearly the same time can both be accepted by different copies; internal replication turns
  them into a conflicted document. Here a write the engine refuses with 409 while another
  write to the same document was accepted less than `contention_seconds` before is stored as a
  conflicting revision instead (`_bulk_docs` with `new_edits: false`, as internal replication
  does) and answered **202 Accepted** with its revision.
- **Stale copies** (`stale_writes`): a write naming an old revision lands on a copy that has
  not seen the newer one: stored as a conflicting branch and answered 202.
- **Missing quorum** (`quorum_missing`): every write is answered 202 instead of 201.
- **Lagging views** (`view_lag_seconds`): view reads are served from the index as it was
  (`stale=ok`), refreshed only every `view_lag_seconds`: a read right after a write misses it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp
from aiohttp import web
from yarl import URL

from .engine_proxy import SKIP, EngineProxy


@dataclass
class ClusterProxy(EngineProxy):
    """The engine proxy (tests/engine_proxy.py: its server, its client session) answering as a
    cluster would."""

    admin: aiohttp.BasicAuth | None = None  # writes the conflicting revisions
    contention_seconds: float = 0.25
    stale_writes: bool = False
    quorum_missing: bool = False
    view_lag_seconds: float = 0.0
    accepted: list[tuple[str, str]] = field(default_factory=list)  # (doc path, rev) answered 202
    _recent: dict[str, float] = field(default_factory=dict)
    _views: dict[str, float] = field(default_factory=dict)

    async def _send(self, method: str, raw_path: str, headers: dict[str, str], body: bytes
                    ) -> tuple[int, bytes, list[tuple[str, str]]]:
        assert self._http is not None
        async with self._http.request(method, URL(self.target + raw_path, encoded=True),
                                      headers=headers, data=body, allow_redirects=False) as resp:
            return resp.status, await resp.read(), [
                (k, v) for k, v in resp.headers.items() if k.lower() not in SKIP]

    async def _handle(self, request: web.Request) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in SKIP}
        body = await request.read()
        raw = request.raw_path
        split = urlsplit(raw)
        segments = [unquote(s) for s in split.path.split("/")[1:]]
        if self.view_lag_seconds and request.method == "GET" and "_view" in segments:
            raw = await self._lagging(raw, headers)
        status, payload, out = await self._send(request.method, raw, headers, body)
        doc_write = (request.method in ("PUT", "DELETE") and len(segments) == 2
                     and not segments[1].startswith("_"))
        if doc_write:
            status, payload = await self._document_write(split.path, segments, request, body,
                                                         status, payload)
        elif request.method == "POST" and len(segments) == 2 and segments[1] == "_bulk_docs":
            status, payload = await self._bulk_write(segments[0], body, status, payload)
        return web.Response(status=status, body=payload, headers=out)

    async def _lagging(self, raw: str, headers: dict[str, str]) -> str:
        base = raw.split("?")[0]
        now = time.monotonic()
        if now - self._views.get(base, 0.0) >= self.view_lag_seconds:
            self._views[base] = now
            await self._send("GET", base + "?limit=0", headers, b"")  # the index catches up
            return raw
        return raw + ("&" if "?" in raw else "?") + "stale=ok"

    def _contended(self, key: str) -> bool:
        return time.monotonic() - self._recent.get(key, -1e9) < self.contention_seconds

    async def _document_write(self, doc_path: str, segments: list[str], request: web.Request,
                              body: bytes, status: int, payload: bytes) -> tuple[int, bytes]:
        key = doc_path
        if status in (200, 201):
            self._recent[key] = time.monotonic()
            return self._quorum(status, payload, doc_path)
        if status != 409 or request.method != "PUT":
            return status, payload
        doc = json.loads(body or b"{}")
        if not (self._contended(key) or (self.stale_writes and doc.get("_rev"))):
            return status, payload
        doc["_id"] = segments[1]
        rev = await self._store_as_conflict(segments[0], doc)
        self.accepted.append((doc_path, rev))
        return 202, json.dumps({"ok": True, "id": segments[1], "rev": rev}).encode()

    def _quorum(self, status: int, payload: bytes, doc_path: str) -> tuple[int, bytes]:
        if self.quorum_missing:
            answer = json.loads(payload)
            self.accepted.append((doc_path, str(answer.get("rev"))))
            return 202, payload
        return status, payload

    async def _bulk_write(self, db: str, body: bytes, status: int, payload: bytes
                          ) -> tuple[int, bytes]:
        request = json.loads(body or b"{}")
        if status not in (200, 201) or request.get("new_edits") is False:
            return status, payload
        results = json.loads(payload)
        accepted = self.quorum_missing
        for index, (doc, result) in enumerate(zip(request.get("docs", []), results, strict=False)):
            key = f"/{db}/{doc.get('_id')}"
            if "error" not in result:
                self._recent[key] = time.monotonic()
            elif result.get("error") == "conflict" and (
                    self._contended(key) or (self.stale_writes and doc.get("_rev"))):
                rev = await self._store_as_conflict(db, doc)
                results[index] = {"ok": True, "id": doc["_id"], "rev": rev}
                self.accepted.append((key, rev))
                accepted = True
        return (202 if accepted else status), json.dumps(results).encode()

    async def _store_as_conflict(self, db: str, doc: dict[str, Any]) -> str:
        """Store `doc` as a sibling revision (what the other copy accepted)."""
        parent = doc.get("_rev")
        position = int(parent.split("-")[0]) + 1 if parent else 1
        digest = hashlib.md5(uuid.uuid4().bytes).hexdigest()
        ids = [digest] + ([parent.split("-", 1)[1]] if parent else [])
        stored = {**{k: v for k, v in doc.items() if k != "_rev"},
                  "_rev": f"{position}-{digest}", "_revisions": {"start": position, "ids": ids}}
        assert self._http is not None
        async with self._http.post(
            URL(f"{self.target}/{db}/_bulk_docs"), json={"docs": [stored], "new_edits": False},
            auth=self.admin, headers={"Accept": "application/json"},
        ) as resp:
            assert resp.status in (201, 202), await resp.text()
        return str(stored["_rev"])


async def settle(seconds: float = 0.05) -> None:
    """Let the simulated cluster's moments pass (its contention window, its view lag)."""
    await asyncio.sleep(seconds)
