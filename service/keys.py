"""Typed application and request keys: the only way state is kept on the app and on requests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:  # the keys name these types only as strings: importing them would be circular
    from .auth import Authenticator, User  # noqa: F401
    from .engine import Readiness  # noqa: F401
    from .interactions.types import InteractionTypes  # noqa: F401
    from .questionnaires.delivery import DeliveryWorker  # noqa: F401
    from .routes import Route  # noqa: F401
    from .schemas import SchemaRegistry  # noqa: F401
    from .settings import Settings  # noqa: F401
    from .store import Store  # noqa: F401
    from .supervision import EngineSupervisor  # noqa: F401
    from .sync.worker import SyncWorker  # noqa: F401

SETTINGS = web.AppKey["Settings"]("settings")
SCHEMAS = web.AppKey["SchemaRegistry"]("schemas")
STORE = web.AppKey["Store"]("store")
READINESS = web.AppKey["Readiness"]("readiness")
AUTHENTICATOR = web.AppKey["Authenticator"]("authenticator")
ROUTES = web.AppKey["dict[str, Route]"]("routes")
OPENAPI = web.AppKey["dict[str, Any]"]("openapi")
INTERACTION_TYPES = web.AppKey["InteractionTypes"]("interaction_types")
DELIVERY = web.AppKey["DeliveryWorker"]("delivery")
SYNC = web.AppKey["SyncWorker"]("sync")
SUPERVISOR = web.AppKey["EngineSupervisor"]("supervisor")  # only when this process started the engine

BODY = web.RequestKey[Any]("body")
USER = web.RequestKey["User"]("user")
REQUEST_ID = web.RequestKey[str]("request_id")
