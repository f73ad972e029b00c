"""Typed application and request keys: the only way state is kept on the app and on requests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from .auth import Authenticator, User
    from .engine import Readiness
    from .routes import Route
    from .schemas import SchemaRegistry
    from .settings import Settings
    from .store import Store

SETTINGS = web.AppKey["Settings"]("settings")
SCHEMAS = web.AppKey["SchemaRegistry"]("schemas")
STORE = web.AppKey["Store"]("store")
READINESS = web.AppKey["Readiness"]("readiness")
AUTHENTICATOR = web.AppKey["Authenticator"]("authenticator")
ROUTES = web.AppKey["dict[str, Route]"]("routes")
OPENAPI = web.AppKey["dict[str, Any]"]("openapi")

BODY = web.RequestKey[Any]("body")
USER = web.RequestKey["User"]("user")
REQUEST_ID = web.RequestKey[str]("request_id")
