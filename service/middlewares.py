"""The request pipeline: request id, errors in the API's shape, engine readiness, who may call,
and the body checked against the route's schema, in that order.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from . import keys
from .errors import ApiError, EngineUnavailable
from .logs import request_id_var
from .parameters import check_request
from .schemas import validate

log = logging.getLogger(__name__)
access_log = logging.getLogger("service.access")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REQUEST_ID_HEADER = "X-Request-Id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# The Session API answers in CouchDB's error shape; the rest in the seed's envelope.
COUCH_SHAPED_PREFIX = "/api/"


def error_response(request: web.Request, error: ApiError) -> web.Response:
    couch_shaped = request.path.startswith(COUCH_SHAPED_PREFIX)
    body = error.couch_shape() if couch_shaped else error.envelope()
    return web.json_response(body, status=error.status, headers=error.headers)


_HTTP_ERRORS = {404: 1201, 405: 1202, 413: 1003, 415: 1004}


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
    request[keys.REQUEST_ID] = request_id
    token = request_id_var.set(request_id)
    started = time.monotonic()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers[REQUEST_ID_HEADER] = request_id
        return response
    except web.HTTPException as exc:  # a redirect, say: aiohttp answers it
        status = exc.status
        raise
    finally:
        access_log.info(
            "%s %s %s", request.method, request.path_qs, status,
            extra={"status": status, "route": request.match_info.route.name,
                   "ms": round((time.monotonic() - started) * 1000, 1)},
        )
        request_id_var.reset(token)


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
        if exc.status == 404:
            message = "No such route or resource"
        return error_response(request, ApiError(code, message, status=exc.status))
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
    raw = await request.read()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(1001, f"Body is not valid JSON: {exc}") from exc
    validate(request.app[keys.SCHEMAS].validator(route.schema), body)
    request[keys.BODY] = body
    return await handler(request)
