"""The request pipeline: request id, errors in the API's shape, engine readiness, who may call,
and the body checked against the route's schema, in that order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from . import keys
from .errors import ApiError, EngineUnavailable
from .logs import request_id_var
from .parameters import check_request
from .schemas import integral_floats, validate
from .store import minority_writes

log = logging.getLogger(__name__)
access_log = logging.getLogger("service.access")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REQUEST_ID_HEADER = "X-Request-Id"
QUORUM_HEADER = "Settee-Write-Quorum"
CLIENT_CLOSED = 499  # logged (never sent) for a request whose client hung up, as nginx does
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# The Session API, Dialob's API, its fill protocol, the fill page and the replication endpoint
# answer in CouchDB's error shape; the rest in the Interaction API's envelope.
COUCH_SHAPED_PREFIXES = ("/api/", "/v2/", "/session/", "/fill/", "/sync/devices/", "/sync/catalog")
DIALOB_PREFIX = "/v2/"  # Dialob's API: its Errors fields too


def error_response(request: web.Request, error: ApiError) -> web.Response:
    couch_shaped = request.path.startswith(COUCH_SHAPED_PREFIXES)
    body = error.couch_shape() if couch_shaped else error.envelope()
    if request.path.startswith(DIALOB_PREFIX):
        body = error.dialob_shape(request.path)
    response = web.json_response(body, status=error.status, headers=error.headers)
    if error.status == 408:
        response.force_close()  # the rest of the body may still come: never read it as a request
    return response


_HTTP_ERRORS = {404: 1201, 405: 1202, 413: 1003, 415: 1004}


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
    request[keys.REQUEST_ID] = request_id
    token = request_id_var.set(request_id)
    started = time.monotonic()
    status = 500
    minority = minority_writes.set([])
    try:
        response = await handler(request)
        if minority_writes.get() and 200 <= response.status < 300 and not response.prepared:
            # Some copies took the write, fewer than the quorum: accepted, not yet done.
            response.set_status(202)
            response.headers[QUORUM_HEADER] = "not-met"
        status = response.status
        response.headers[REQUEST_ID_HEADER] = request_id
        return response
    except (ConnectionResetError, asyncio.CancelledError):
        status = CLIENT_CLOSED  # the client hung up: not the service's error
        raise
    except web.HTTPException as exc:  # a redirect, say: aiohttp answers it
        status = exc.status
        raise
    finally:
        minority_writes.reset(minority)
        access_log.info(
            "%s %s %s", request.method, request.path_qs, status,
            extra={"status": status, "route": request.match_info.route.name,
                   "ms": round((time.monotonic() - started) * 1000, 1)},
        )
        request_id_var.reset(token)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"{text[:40]} is too large for a number")
    if number.is_integer():
        integral_floats.set(True)
    return number


# orjson parses several times faster than the standard library and refuses what JSON has not
# (NaN, Infinity, numbers too large for a double), but reads an integer beyond 64 bits as a
# float: a body with 19 digits in a row, which such an integer needs, is parsed exactly.
# The body's digits are read as `0` and `.`, `e`, `E` as `.` to find these in C's time: every
# number with a fraction or an exponent has a digit just before its `.`, `e` or `E`.
_NUMBER_SHAPES = bytes.maketrans(b"123456789eE", b"000000000..")
_LONG_DIGITS = b"0" * 19
_DECIMAL = b"0."


def parse_json(raw: bytes, max_depth: int) -> Any:
    """A request body as JSON: strict (no NaN or Infinity, no number too large for a double)
    and at most `max_depth` containers deep, or the API's 400 saying which."""
    shapes = raw.translate(_NUMBER_SHAPES)
    if _LONG_DIGITS in shapes:
        return _parse_exactly(raw, max_depth)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        # The standard library says what is wrong in the words the API has always used (and
        # takes what orjson alone refuses: a byte order mark, an unpaired surrogate escape).
        return _parse_exactly(raw, max_depth)
    floats = _DECIMAL in shapes
    # Counting brackets is cheap; walking the parsed body is only needed when there are many.
    if floats or raw.count(b"[") + raw.count(b"{") > max_depth:
        depth, integral = _walk(body, max_depth, floats)
        if integral:
            integral_floats.set(True)
        _check_depth(depth, max_depth)
    return body


def _parse_exactly(raw: bytes, max_depth: int) -> Any:
    """`parse_json` by the standard library: integers of any size, every message its own."""
    try:
        body = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite)
    except RecursionError:
        body = None  # deeper than Python's own limit: the depth check below says so
        depth = max_depth + 1
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(1001, f"Body is not valid JSON: {exc}") from None
    else:
        depth = 0 if raw.count(b"[") + raw.count(b"{") <= max_depth else \
            _walk(body, max_depth, floats=False)[0]
    _check_depth(depth, max_depth)
    return body


def _check_depth(depth: int, max_depth: int) -> None:
    if depth > max_depth:
        raise ApiError(1001, f"Body nests deeper than {max_depth} levels",
                       details=[{"pointer": "", "message": f"more than {max_depth} levels"}])


def _walk(value: Any, most: int, floats: bool) -> tuple[int, bool]:
    """How deep `value` nests in non-empty containers, counting no further than `most + 1`; and
    (when `floats`) whether it holds a number like 8.0. Level by level: a batch of a thousand
    entries is a few wide levels."""
    integral = floats and type(value) is float and value.is_integer()
    level = [value] if type(value) is dict or type(value) is list else []
    depth = 0
    while level and depth <= most:
        below: list[Any] = []
        filled = False
        for node in level:
            if not node:
                continue
            filled = True
            for child in node.values() if type(node) is dict else node:
                kind = type(child)
                if kind is dict or kind is list:
                    below.append(child)
                elif floats and kind is float and child.is_integer():
                    integral = True
        depth += filled
        level = below
    return depth, integral


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        if isinstance(exc, EngineUnavailable):
            log.warning("engine unavailable: %s", exc.message)
        return error_response(request, exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_ERRORS.get(exc.status)
        if code is None:
            raise
        message = "Method not allowed" if exc.status == 405 else exc.reason
        headers = {}
        if isinstance(exc, web.HTTPMethodNotAllowed):
            headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
            message = f"{request.method} is not allowed here; allowed: {headers['Allow']}"
        if exc.status == 404:
            message = "No such route or resource"
        return error_response(request, ApiError(code, message, status=exc.status, headers=headers))
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    except Exception:
        log.exception("unexpected error")
        return error_response(request, ApiError(1999))


@web.middleware
async def access(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The engine ready, and the caller allowed by the route's roles."""
    route = request.app[keys.ROUTES].get(request.match_info.route.name or "")
    if route is None or not route.roles:
        return await handler(request)
    await request.app[keys.READINESS].ensure()
    user = await request.app[keys.AUTHENTICATOR].user(request)
    if not user.may(route.roles):
        raise ApiError(
            1102, f"{route.name} needs one of the roles: {', '.join(sorted(route.roles))}"
        )
    request[keys.USER] = user
    return await handler(request)


@web.middleware
async def validation(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Check the query against the route's parameters, and parse and check the body of routes
    that take one, by the route's name."""
    route = request.app[keys.ROUTES].get(request.match_info.route.name or "")
    if route is None:
        return await handler(request)
    check_request(route.params, request.query, request.headers, request.app[keys.SETTINGS])
    if route.schema is None:
        return await handler(request)
    if request.content_type != "application/json":
        raise ApiError(1004, f"Content-Type must be application/json, not {request.content_type}")
    settings = request.app[keys.SETTINGS]
    try:
        async with asyncio.timeout(settings.body_timeout_seconds):
            raw = await request.read()
    except TimeoutError:
        raise ApiError(1005, f"The body did not arrive within {settings.body_timeout_seconds:g} "
                             "seconds") from None
    except (HttpProcessingError, RequestPayloadError):  # not what its Content-Encoding says
        raise ApiError(1001, "The body could not be decoded as its Content-Encoding says") from None
    body = parse_json(raw, settings.max_json_depth)
    validate(request.app[keys.SCHEMAS].validator(route.schema), body)
    request[keys.BODY] = body
    return await handler(request)
