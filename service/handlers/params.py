"""Request parameters the handlers share: a page's `limit`, and the revision a write replaces."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .. import keys
from ..errors import ApiError, Conflict


def page_limit(request: web.Request, default: int) -> int:
    raw = request.query.get("limit", str(default))
    most = request.app[keys.SETTINGS].max_page_size
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= most:
        raise ApiError(1002, f"limit must be an integer from 1 to {most}",
                       details=[{"pointer": "?limit", "message": f"an integer from 1 to {most}"}])
    return int(raw)


def expected_rev(request: web.Request, body: Any = None) -> str | None:
    """The revision the client says it changes: `If-Match`, `?rev=` or the body's `_rev`.

    As CouchDB: any of the three will do, and two that disagree are a bad request.
    """
    given = set()
    header = request.headers.get("If-Match")
    if header:
        given.add(header.strip().removeprefix("W/").strip('"'))
    if request.query.get("rev"):
        given.add(request.query["rev"])
    if isinstance(body, dict) and isinstance(body.get("_rev"), str):
        given.add(body["_rev"])
    if len(given) > 1:
        raise ApiError(1002, "Document rev from request body and query string have different values")
    return given.pop() if given else None


def required_rev(request: web.Request, body: Any = None) -> str:
    """As CouchDB, a replacement or deletion without a revision is a conflict; unlike its bare
    "Document update conflict.", the answer says what to send."""
    rev = expected_rev(request, body)
    if rev is None:
        where = "_rev in the body, an If-Match header or ?rev=" if body is not None \
            else "an If-Match header or ?rev="
        raise Conflict(f"Document update conflict: no revision given; send the revision you "
                       f"read ({where})")
    return rev
