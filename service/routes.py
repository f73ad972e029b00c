"""The routes table: every route, its name (`<resource>.<action>`), who may call it, and the
schema its body must match (`schemas/<name>.json`, required for routes that take a body).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from . import keys
from .auth import ADMINS, DEVICES, PUBLIC, READERS, Roles
from .handlers import forms, interactions, questionnaires, system, users
from .handlers.directory import DELEGATE, DEVICE

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    name: str
    roles: Roles
    # The schema file (without .json) for the body; defaults to the route's name when it takes one.
    body: bool | None = None
    summary: str = ""

    @property
    def schema(self) -> str | None:
        takes_body = self.method in BODY_METHODS if self.body is None else self.body
        return self.name if takes_body else None


ROUTES: list[Route] = [
    Route("GET", "/", system.index, "system.index", PUBLIC, summary="Service name, version, engine"),
    Route("GET", "/api/openapi.json", system.openapi, "system.openapi", PUBLIC,
          summary="This API as OpenAPI 3.1"),
    Route("GET", "/api/docs", system.docs_redirect, "system.docs_redirect", PUBLIC),
    Route("GET", "/api/docs/", system.docs, "system.docs", PUBLIC, summary="Swagger UI"),
    Route("GET", "/api/docs/{file}", system.docs_asset, "system.docs_asset", PUBLIC),
    Route("GET", "/api/whoami", system.whoami, "system.whoami", READERS,
          summary="The caller's name and Settee roles"),
    Route("POST", "/api/users", users.create, "user.create", ADMINS,
          summary="Create a user (admin, device or reader)"),
    # -- Interaction API: delegates, devices, interactions (envelope-shaped errors) --
    Route("GET", "/interaction/types", interactions.types, "interaction.types", READERS,
          summary="The interaction types and their schemas"),
    Route("GET", "/interaction/list", interactions.list_, "interaction.list", READERS,
          summary="Interactions by id, filtered, paged (limit, offset, cursor)"),
    Route("POST", "/interaction/new/{type}", interactions.new, "interaction.new", DEVICES,
          summary="Record an interaction of a type"),
    Route("POST", "/interaction/test/{type}", interactions.test, "interaction.test", DEVICES,
          summary="Check an interaction without recording it (id: null)"),
    Route("POST", "/interaction/batch", interactions.batch, "interaction.batch", DEVICES,
          summary="Record many interactions, in order, each on its own"),
    Route("GET", "/interaction/id:{id}", interactions.get, "interaction.get", READERS,
          summary="One interaction"),
    Route("DELETE", "/interaction/id:{id}", interactions.delete, "interaction.delete", ADMINS,
          summary="Delete an interaction (a CouchDB deletion)"),
    Route("GET", "/interaction/id:{id}/{name}", interactions.attachment,
          "interaction.attachment", READERS, summary="An interaction's upload (e.g. upload)"),
    Route("GET", "/delegate/list", DELEGATE.list_, "delegate.list", READERS,
          summary="Delegates by id, or by badge (?badge=), paged"),
    Route("POST", "/delegate/new", DELEGATE.new, "delegate.new", ADMINS,
          summary="Create a delegate"),
    Route("GET", "/delegate/id:{id}", DELEGATE.get, "delegate.get", READERS,
          summary="One delegate"),
    Route("PUT", "/delegate/id:{id}", DELEGATE.update, "delegate.update", ADMINS,
          summary="Replace a delegate (with _rev or If-Match: refused when stale)"),
    Route("DELETE", "/delegate/id:{id}", DELEGATE.delete, "delegate.delete", ADMINS,
          summary="Delete a delegate"),
    Route("GET", "/device/list", DEVICE.list_, "device.list", READERS,
          summary="Devices by id, paged"),
    Route("POST", "/device/new", DEVICE.new, "device.new", ADMINS, summary="Create a device"),
    Route("GET", "/device/id:{id}", DEVICE.get, "device.get", READERS, summary="One device"),
    Route("PUT", "/device/id:{id}", DEVICE.update, "device.update", ADMINS,
          summary="Replace a device (with _rev or If-Match: refused when stale)"),
    Route("DELETE", "/device/id:{id}", DEVICE.delete, "device.delete", ADMINS,
          summary="Delete a device"),
    # -- Session API: forms and questionnaire sessions (CouchDB-shaped errors) --
    Route("POST", "/api/forms", forms.create, "form.create", ADMINS,
          summary="Create a form (checked: schema, references, types, cycles)"),
    Route("GET", "/api/forms", forms.list_forms, "form.list", READERS,
          summary="List forms (?limit=, ?cursor=)"),
    Route("GET", "/api/forms/{formId}", forms.get, "form.get", READERS,
          summary="A form: ?rev=LATEST (default), a revision or a tag"),
    Route("PUT", "/api/forms/{formId}", forms.update, "form.update", ADMINS,
          summary="Save a new revision of a form (with _rev; stale: 409)"),
    Route("DELETE", "/api/forms/{formId}", forms.delete, "form.delete", ADMINS,
          summary="Delete a form (?rev= or If-Match); its revisions and tags stay loadable"),
    Route("POST", "/api/forms/{formId}/tags", forms.create_tag, "form.tag", ADMINS,
          summary="Tag (freeze) the current or a given revision of a form"),
    Route("GET", "/api/forms/{formId}/tags", forms.list_tags, "form.tags", READERS,
          summary="A form's tags"),
    Route("GET", "/api/forms/{formId}/tags/{name}", forms.get_tag, "form.tag_get", READERS,
          summary="One tag of a form"),
    Route("POST", "/api/questionnaires", questionnaires.create,
          "questionnaire.create", DEVICES, summary="Open a questionnaire session on a form"),
    Route("GET", "/api/questionnaires", questionnaires.listing,
          "questionnaire.list", READERS, summary="Sessions by formId, status, owner; limit and cursor"),
    Route("GET", "/api/questionnaires/{id}", questionnaires.get,
          "questionnaire.get", READERS, summary="A session's state (Dialob's shape)"),
    Route("PUT", "/api/questionnaires/{id}", questionnaires.replace,
          "questionnaire.replace", DEVICES, summary="Replace a session's state (with _rev)"),
    Route("DELETE", "/api/questionnaires/{id}", questionnaires.delete,
          "questionnaire.delete", ADMINS, summary="Delete a session (with rev or If-Match)"),
    Route("POST", "/api/questionnaires/{id}/answers", questionnaires.answers,
          "questionnaire.answers", DEVICES, summary="Set answers [{id, value}], all or none"),
    Route("PUT", "/api/questionnaires/{id}/answers/{answerId}", questionnaires.answer,
          "questionnaire.answer", DEVICES, summary="Set one answer"),
    Route("DELETE", "/api/questionnaires/{id}/answers/{answerId}", questionnaires.unanswer,
          "questionnaire.unanswer", DEVICES, summary="Clear one answer"),
    Route("POST", "/api/questionnaires/{id}/items/{groupId}/rows", questionnaires.add_row,
          "questionnaire.add_row", DEVICES, body=False, summary="Add a row to a row group"),
    Route("DELETE", "/api/questionnaires/{id}/items/{groupId}/rows/{rowId}", questionnaires.delete_row,
          "questionnaire.delete_row", DEVICES, summary="Delete a row and its answers"),
    Route("GET", "/api/questionnaires/{id}/pages", questionnaires.pages,
          "questionnaire.pages", READERS, summary="The active page and the active pages"),
    Route("PUT", "/api/questionnaires/{id}/pages", questionnaires.move,
          "questionnaire.move", DEVICES, summary="Move: NEXT, PREVIOUS or GOTO a page"),
    Route("POST", "/api/questionnaires/{id}/actions", questionnaires.actions,
          "questionnaire.actions", DEVICES, summary="Actions applied together in one update"),
    Route("GET", "/api/questionnaires/{id}/items", questionnaires.items,
          "questionnaire.items", READERS, summary="The items as this session sees them"),
    Route("GET", "/api/questionnaires/{id}/errors", questionnaires.errors,
          "questionnaire.errors", READERS, summary="The errors that stand"),
    Route("PUT", "/api/questionnaires/{id}/status", questionnaires.status,
          "questionnaire.status", DEVICES, summary="Complete a session"),
    Route("GET", "/api/questionnaires/{id}/delivery", questionnaires.delivery_state,
          "questionnaire.delivery", READERS, summary="The submitUrl delivery: state, attempts, log"),
]


def setup_routes(app: web.Application) -> None:
    table: dict[str, Route] = {}
    for route in ROUTES:
        if route.name in table:
            raise ValueError(f"two routes are named {route.name}")
        if route.schema is not None and route.schema not in app[keys.SCHEMAS]:
            raise ValueError(f"route {route.name} takes a body but schemas/{route.schema}.json is missing")
        table[route.name] = route
        if route.method == "GET":  # GET routes answer HEAD too
            app.router.add_get(route.path, route.handler, name=route.name)
        else:
            app.router.add_route(route.method, route.path, route.handler, name=route.name)
    app[keys.ROUTES] = table
