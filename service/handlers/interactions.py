"""The Interaction API's interaction routes: thin, the domain is `service/interactions/`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from .. import keys
from ..idempotency import HEADER as IDEMPOTENCY_HEADER
from ..interactions import records, search
from ..interactions.envelope import answer, stream_list
from ..listing import Page, page_query
from ..scope import owner_of
from ..store import DocumentNotFound


def _caller(request: web.Request) -> records.Caller:
    app = request.app
    return records.Caller(app[keys.STORE], app[keys.INTERACTION_TYPES], app[keys.SETTINGS],
                          request[keys.USER])


async def new(request: web.Request) -> web.Response:
    replay = await records.create(
        _caller(request), request.match_info["type"], request[keys.BODY],
        request.headers.get(IDEMPOTENCY_HEADER),
    )
    headers = {"Idempotent-Replayed": "true"} if replay.replayed else None
    return answer(replay.result["data"], replay.result["meta"], status=201, headers=headers)


async def test(request: web.Request) -> web.Response:
    result = await records.test(_caller(request), request.match_info["type"], request[keys.BODY])
    return answer(result["data"], result["meta"])


async def batch(request: web.Request) -> web.Response:
    results = await records.batch(
        _caller(request), request[keys.BODY], request.headers.get(IDEMPOTENCY_HEADER)
    )
    failed = sum(1 for entry in results.values() if "error" in entry["meta"])
    return answer(results, {"total": len(results), "succeeded": len(results) - failed,
                            "failed": failed})


async def get(request: web.Request) -> web.Response:
    result = await records.read(request.app[keys.STORE], request.match_info["id"],
                                owner_of(request[keys.USER]))
    return answer(result["data"], result["meta"])


async def delete(request: web.Request) -> web.Response:
    await records.delete(request.app[keys.STORE], request.match_info["id"])
    return web.Response(status=204)


async def attachment(request: web.Request) -> web.StreamResponse:
    store = request.app[keys.STORE]
    path = await records.attachment_path(store, request.app[keys.INTERACTION_TYPES],
                                         request.match_info["id"], request.match_info["name"],
                                         owner_of(request[keys.USER]))
    try:
        async with store.stream("GET", path) as upstream:
            response = web.StreamResponse(headers={
                "Content-Type": upstream.headers.get("Content-Type", "application/octet-stream"),
            })
            if upstream.content_length is not None:
                response.content_length = upstream.content_length
            await response.prepare(request)
            if request.method != "HEAD":
                async for chunk in upstream.content.iter_chunked(64 * 1024):
                    await response.write(chunk)
            await response.write_eof()
            return response
    except DocumentNotFound:
        raise records.missing_upload(request.match_info["id"], request.match_info["name"]) from None


async def types(request: web.Request) -> web.Response:
    found = [t.public() for t in request.app[keys.INTERACTION_TYPES]]
    return answer(found, {"total": len(found)})


async def list_(request: web.Request) -> web.StreamResponse:
    settings = request.app[keys.SETTINGS]
    index, matches = search.plan(search.filters(request.query), owner_of(request[keys.USER]))
    listing = Page(request.app[keys.STORE], index, page_query(request.query, settings.max_page_size),
                   matches)
    listing.start_total()

    async def rows() -> AsyncIterator[dict[str, Any]]:
        async for row in listing.rows():
            yield records.public(row["doc"])

    async def meta() -> dict[str, object]:
        next_link, previous_link = listing.links(request.path, request.query)
        return {"total": await listing.total(), "offset": listing.offset,
                "limit": listing.query.limit, "next": next_link, "previous": previous_link}

    try:
        return await stream_list(request, rows(), meta)
    finally:
        listing.cancel()
