"""The Interaction API's answer shape: `{"data": ..., "meta": {...}}` (errors: see errors.py),
for single answers and for listings streamed row by row.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from .. import jsoncodec
from ..errors import ApiError

JsonDict = dict[str, Any]


def dumps(value: Any) -> bytes:
    return jsoncodec.dumps(value)


def answer(
    data: Any, meta: JsonDict | None = None, *, status: int = 200,
    headers: dict[str, str] | None = None,
) -> web.Response:
    return web.Response(
        body=dumps({"data": data, "meta": meta or {}}), status=status,
        content_type="application/json", charset="utf-8", headers=headers,
    )


def error_entry(error: ApiError) -> JsonDict:
    """A failed entry of a batch: the same envelope as a failed request."""
    return error.envelope()


async def stream_list(
    request: web.Request,
    items: AsyncIterator[JsonDict],
    meta: Callable[[], Awaitable[JsonDict]],
) -> web.StreamResponse:
    """Write `{"data": [...], "meta": {...}}` as the items come (memory stays flat); `meta`
    is asked for once every item is written (it knows the next cursor then).

    The first item is read before the answer starts, so an engine failure before any row
    still gets a proper error answer.
    """
    iterator = items.__aiter__()
    try:
        first: JsonDict | None = await iterator.__anext__()
    except StopAsyncIteration:
        first = None
    response = web.StreamResponse(headers={"Content-Type": "application/json; charset=utf-8"})
    await response.prepare(request)
    if request.method == "HEAD":  # the headers only
        await response.write_eof()
        return response
    buffer = [b'{"data":[']
    if first is not None:
        buffer.append(dumps(first))
        async for item in iterator:
            buffer.append(b",")
            buffer.append(dumps(item))
            if len(buffer) >= 1000:
                await response.write(b"".join(buffer))
                buffer = []
    buffer.append(b'],"meta":')
    buffer.append(dumps(await meta()))
    buffer.append(b"}")
    await response.write(b"".join(buffer))
    await response.write_eof()
    return response
