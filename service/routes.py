"""The routes table: every route, its name (`<resource>.<action>`), who may call it, and the
schema its body must match (`schemas/<name>.json`, required for routes that take a body).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from . import keys
from .auth import ADMINS, DEVICES, PUBLIC, READERS, Roles
from .handlers import (
    dialob_api,
    fill,
    forms,
    interactions,
    provisioning,
    questionnaires,
    sync,
    system,
    users,
)
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
    # Another route's schema, for a route that takes the same body under another path.
    schema_of: str | None = None

    @property
    def schema(self) -> str | None:
        takes_body = self.method in BODY_METHODS if self.body is None else self.body
        return (self.schema_of or self.name) if takes_body else None


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
    Route("POST", "/device/id:{id}/provision", provisioning.provision, "device.provision", ADMINS,
          body=False, summary="Set a device up for offline work: its user and secret (shown "
          "once), its database, its first id blocks"),
    Route("POST", "/device/id:{id}/credentials", provisioning.rotate, "device.rotate", ADMINS,
          body=False, summary="A new secret for a provisioned device (the old one stops working)"),
    Route("DELETE", "/device/id:{id}/credentials", provisioning.revoke, "device.revoke", ADMINS,
          summary="Revoke a device: its user is deleted, REST and replication refuse it"),
    Route("GET", "/device/id:{id}/sync", provisioning.show, "device.sync", DEVICES,
          summary="A provisioned device's set-up (the device itself or an admin)"),
    Route("POST", "/device/id:{id}/idblocks", provisioning.next_block, "device.idblock", DEVICES,
          body=False, summary="Another block of ids for the device to use offline"),
    Route("GET", "/sync/flags", sync.list_flags, "sync.flags", ADMINS,
          summary="Replicated records the arrival checks flagged (?state=quarantined|violation|"
          "resolved)"),
    Route("GET", "/sync/conflicts", sync.list_conflicts, "sync.conflicts", ADMINS,
          summary="Records with conflicting revisions no rule resolved"),
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
    Route("PUT", "/api/forms/{formId}/tags/latest", forms.tag_latest, "form.tag_latest", ADMINS,
          summary="Dialob: the named tag on the newest revision (LATEST always is; tags never move)"),
    Route("GET", "/api/forms/{formId}/tags/{name}", forms.get_tag, "form.tag_get", READERS,
          summary="One tag of a form"),
    Route("GET", "/api/tags", forms.find_tags, "form.find_tags", READERS,
          summary="Dialob: tags by formId (or formName) and/or name, as a list"),
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
    Route("GET", "/api/questionnaires/{id}/answers", questionnaires.answers_list,
          "questionnaire.answers_list", READERS, summary="Dialob: the answers, [{id, value}]"),
    Route("POST", "/api/questionnaires/{id}/answers", questionnaires.answers,
          "questionnaire.answers", DEVICES, summary="Set answers [{id, value}], all or none"),
    Route("PUT", "/api/questionnaires/{id}/answers/{answerId}", questionnaires.answer,
          "questionnaire.answer", DEVICES, summary="Set one answer"),
    Route("DELETE", "/api/questionnaires/{id}/answers/{answerId}", questionnaires.unanswer,
          "questionnaire.unanswer", DEVICES, summary="Clear one answer"),
    Route("GET", "/api/questionnaires/{id}/items/{itemId}", questionnaires.item,
          "questionnaire.item", READERS, summary="Dialob: one item as an ActionItem"),
    Route("GET", "/api/questionnaires/{id}/items/{itemId}/rows", questionnaires.item_rows,
          "questionnaire.rows", READERS, summary="Dialob: a row group's row ids"),
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
    Route("GET", "/api/questionnaires/{id}/status", questionnaires.status_get,
          "questionnaire.status_get", READERS, summary="Dialob: the status, a bare JSON string"),
    Route("PUT", "/api/questionnaires/{id}/status", questionnaires.status,
          "questionnaire.status", DEVICES,
          summary="Complete a session ({\"status\"} or Dialob's bare string)"),
    Route("GET", "/api/questionnaires/{id}/valueSets", questionnaires.value_sets,
          "questionnaire.value_sets", READERS,
          summary="Dialob: the form's value sets in the session's language"),
    Route("GET", "/api/questionnaires/{id}/valueSets/{valueSetId}", questionnaires.value_set,
          "questionnaire.value_set", READERS, summary="Dialob: one value set"),
    Route("GET", "/api/questionnaires/{id}/delivery", questionnaires.delivery_state,
          "questionnaire.delivery", READERS, summary="The submitUrl delivery: state, attempts, log"),
    # -- Dialob's fill protocol (@dialob/fill-api's endpoint is <settee>/session/dialob) --
    Route("GET", "/session/dialob/{sessionId}", fill.state, "fill.state", READERS,
          summary="A session's full state as fill actions ({rev, actions})"),
    Route("POST", "/session/dialob/{sessionId}", fill.update, "fill.update", DEVICES,
          summary="Apply fill actions in one update; answers {rev, actions} with what changed"),
    # -- the kiosk fill page: the page, its assets, and the fill protocol under its own path
    #    (so the browser's Basic credentials for the page go along with every request) --
    Route("GET", "/fill/assets/{file}", fill.asset, "fill.asset", PUBLIC),
    Route("GET", "/fill/dialob/{sessionId}", fill.state, "fill.page_state", DEVICES,
          summary="The fill protocol for the fill page (as /session/dialob)"),
    Route("POST", "/fill/dialob/{sessionId}", fill.update, "fill.page_update", DEVICES,
          schema_of="fill.update", summary="The fill protocol for the fill page (as /session/dialob)"),
    Route("GET", "/fill/{sessionId}", fill.page, "fill.page", DEVICES,
          summary="The kiosk fill page of a session (devices and admins; HTTP Basic)"),
    # -- Dialob's REST API at its swagger's base path /v2, answering exactly its shapes --
    *(
        Route(method, "/v2" + path, handler, "dialob_" + name, roles, schema_of=name,
              body=False if name == "questionnaire.add_row" else None,
              summary="Dialob: " + summary)
        for method, path, handler, name, roles, summary in [
            ("POST", "/forms", forms.create, "form.create", ADMINS, "postForm"),
            ("GET", "/forms/{formId}", forms.get, "form.get", READERS, "getForm"),
            ("PUT", "/forms/{formId}", forms.update, "form.update", ADMINS, "putForm"),
            ("DELETE", "/forms/{formId}", forms.delete, "form.delete", ADMINS, "deleteForm"),
            ("GET", "/forms/{formId}/tags", dialob_api.form_tags, "form.tags", READERS,
             "getFormTags"),
            ("POST", "/forms/{formId}/tags", dialob_api.create_tag, "form.tag", ADMINS,
             "postFormTag"),
            ("PUT", "/forms/{formId}/tags/latest", forms.tag_latest, "form.tag_latest", ADMINS,
             "putFormTagLatest"),
            ("GET", "/forms/{formId}/tags/{name}", forms.get_tag, "form.tag_get", READERS,
             "getFormTag"),
            ("GET", "/tags", forms.find_tags, "form.find_tags", READERS, "getTags"),
            ("GET", "/questionnaires", dialob_api.listing, "questionnaire.list", READERS,
             "getQuestionnaires"),
            ("POST", "/questionnaires", dialob_api.create, "questionnaire.create", DEVICES,
             "postQuestionnaire"),
            ("GET", "/questionnaires/{id}", dialob_api.get, "questionnaire.get", READERS,
             "getQuestionnaire"),
            ("PUT", "/questionnaires/{id}", dialob_api.replace, "questionnaire.replace", DEVICES,
             "putQuestionnaire"),
            ("DELETE", "/questionnaires/{id}", dialob_api.delete, "questionnaire.delete", ADMINS,
             "deleteQuestionnaire"),
            ("GET", "/questionnaires/{id}/answers", questionnaires.answers_list,
             "questionnaire.answers_list", READERS, "getQuestionnaireAnswers"),
            ("POST", "/questionnaires/{id}/answers", dialob_api.answers, "questionnaire.answers",
             DEVICES, "putQuestionnaireAnswers"),
            ("PUT", "/questionnaires/{id}/answers/{answerId}", dialob_api.answer,
             "questionnaire.answer", DEVICES, "putQuestionnaireAnswer"),
            ("DELETE", "/questionnaires/{id}/answers/{answerId}", dialob_api.unanswer,
             "questionnaire.unanswer", DEVICES, "deleteQuestionnaireAnswer"),
            ("GET", "/questionnaires/{id}/errors", dialob_api.errors, "questionnaire.errors",
             READERS, "getQuestionnaireErrors"),
            ("GET", "/questionnaires/{id}/items", dialob_api.items, "questionnaire.items",
             READERS, "getQuestionnaireItems"),
            ("GET", "/questionnaires/{id}/items/{itemId}", questionnaires.item,
             "questionnaire.item", READERS, "getQuestionnaireItem"),
            ("GET", "/questionnaires/{id}/items/{itemId}/rows", questionnaires.item_rows,
             "questionnaire.rows", READERS, "getQuestionnaireItemRows"),
            ("POST", "/questionnaires/{id}/items/{groupId}/rows", dialob_api.add_row,
             "questionnaire.add_row", DEVICES, "postQuestionnaireItemRow"),
            ("DELETE", "/questionnaires/{id}/items/{groupId}/rows/{rowId}",
             dialob_api.delete_row, "questionnaire.delete_row", DEVICES,
             "deleteQuestionnaireItemRow"),
            ("GET", "/questionnaires/{id}/pages", dialob_api.pages, "questionnaire.pages",
             READERS, "getQuestionnairePages"),
            ("PUT", "/questionnaires/{id}/pages", dialob_api.move, "questionnaire.move", DEVICES,
             "putQuestionnairePages"),
            ("GET", "/questionnaires/{id}/status", questionnaires.status_get,
             "questionnaire.status_get", READERS, "getQuestionnaireStatus"),
            ("PUT", "/questionnaires/{id}/status", dialob_api.status, "questionnaire.status",
             DEVICES, "putQuestionnaireStatus"),
            ("GET", "/questionnaires/{id}/valueSets", questionnaires.value_sets,
             "questionnaire.value_sets", READERS, "getQuestionnaireValueSets"),
            ("GET", "/questionnaires/{id}/valueSets/{valueSetId}", questionnaires.value_set,
             "questionnaire.value_set", READERS, "getQuestionnaireValueSet"),
        ]
    ),
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
