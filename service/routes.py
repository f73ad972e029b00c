"""The routes table: every route, its name (`<resource>.<action>`), who may call it, the
schema its body must match (`schemas/<name>.json`, required for routes that take a body), the
parameters it takes besides (`parameters.py`), and what it answers: its success status, the
answer's shape (a definition in `schemas/answers.json`) and the errors only it can give.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

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
    replication,
    sync,
    system,
    users,
)
from .handlers.directory import DELEGATE, DEVICE
from .parameters import (
    FORM_PAGE,
    ID_IN_PATH,
    IDEMPOTENCY_KEY,
    IF_MATCH,
    INTERACTION_PAGE,
    REVISION,
    SESSION_PAGE,
    Param,
)

# The parameters only one or two routes take, declared here beside them.
_TIME = {"type": "string", "pattern": r"^(\d+(\.\d+)?|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}"
                                      r"(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))$"}
_BIG_ID = {"type": "integer", "minimum": 1, "maximum": 10**10}
INTERACTION_FILTERS = (
    Param("interactionType", "Only interactions of this type",
          {"type": "string", "minLength": 1, "maxLength": 200}, example="check-in"),
    Param("delegate", "Only interactions with this delegate", _BIG_ID),
    Param("device", "Only interactions with this device", _BIG_ID),
    Param("recordedFrom", "Recorded at or after: Unix seconds or ISO 8601 with a zone", _TIME,
          example="2023-10-01T00:00:00Z"),
    Param("recordedTo", "Recorded at or before: Unix seconds or ISO 8601 with a zone", _TIME),
    Param("updatedSince", "Changed at or after: Unix seconds or ISO 8601 with a zone", _TIME),
)
INTERACTION_TYPE = Param("type", "An interaction type (GET /interaction/types)",
                         {"type": "string", "minLength": 1}, where="path", example="check-in")
ATTACHMENT_NAME = Param("name", "The upload's name (its type declares it)", {"type": "string"},
                        where="path", example="upload")
BADGE = Param("badge", "Only the delegate with this badge",
              {"type": "string", "minLength": 1, "maxLength": 100}, example="B-0001")
FORM_ID = Param("formId", "The form's id", {"type": "string", "minLength": 1}, where="path",
                example="visitor-survey")
FORM_REV = Param("rev", "LATEST (default), a revision (_rev) or a tag name",
                 {"type": "string", "minLength": 1, "maxLength": 200, "default": "LATEST"},
                 example="LATEST")
SESSION_FILTERS = (
    Param("formId", "Only sessions on this form", {"type": "string", "minLength": 1, "maxLength": 200},
          example="visitor-survey"),
    Param("status", "Only sessions in this status", {"enum": ["OPEN", "COMPLETED"]}),
    Param("owner", "Only sessions opened by this user",
          {"type": "string", "minLength": 1, "maxLength": 200}),
)
SESSION_STATUS = Param("status", "Only sessions in this status (Dialob's NEW is OPEN)",
                       {"enum": ["NEW", "OPEN", "COMPLETED"]})
SESSION_LIST_FILTERS = (
    *(p for p in SESSION_FILTERS if p.name != "status"), SESSION_STATUS,
    Param("formName", "Dialob: only sessions on this form (as formId)",
          {"type": "string", "minLength": 1, "maxLength": 200}),
    Param("formTag", "Dialob: only sessions on the revision this tag of formName names",
          {"type": "string", "minLength": 1, "maxLength": 200}),
)
FORCE = Param("force", "Dialob: save without (or over) the current revision",
              {"enum": ["true", "false"], "default": "false"})
# Dialob's rename of an item inside a stored form: declared so that its refusal says why.
RENAME = (Param("oldId", "Dialob: an item to rename (not supported: 400)", {"type": "string"}),
          Param("newId", "Dialob: the item's new id (not supported: 400)", {"type": "string"}))
TAG_REV = Param("rev", "The revision to tag (else the body's rev, else the current one)",
                {"type": "string", "minLength": 1, "maxLength": 200})
TAG_FILTERS = (
    Param("formId", "Only tags of this form", {"type": "string", "minLength": 1, "maxLength": 200}),
    Param("formName", "Dialob: only tags of this form (as formId)",
          {"type": "string", "minLength": 1, "maxLength": 200}),
    Param("name", "Only tags of this name", {"type": "string", "minLength": 1, "maxLength": 200}),
)
FLAG_STATE = Param("state", "Only flags in this state",
                   {"enum": ["quarantined", "violation", "resolved"]})
# A change to a session: no such session (404), stale or completed (409), does not fit (422).
SESSION_CHANGE = (409, 422)

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
    params: tuple[Param, ...] = ()
    ok: int = 200
    # The success answer: a definition of schemas/answers.json, or a media type for the rest.
    answer: str | None = None
    media: str = "application/json"
    # The statuses only this route gives; those every route of its kind gives are added
    # where the OpenAPI document is built.
    errors: tuple[int, ...] = ()

    @property
    def schema(self) -> str | None:
        takes_body = self.method in BODY_METHODS if self.body is None else self.body
        return (self.schema_of or self.name) if takes_body else None


ROUTES: list[Route] = [
    Route("GET", "/", system.index, "system.index", PUBLIC, summary="Service name, version, engine",
          answer="service"),
    Route("GET", "/api/openapi.json", system.openapi, "system.openapi", PUBLIC,
          summary="This API as OpenAPI 3.1", answer="openapi"),
    Route("GET", "/api/docs", system.docs_redirect, "system.docs_redirect", PUBLIC),
    Route("GET", "/api/docs/", system.docs, "system.docs", PUBLIC, summary="Swagger UI",
          media="text/html"),
    Route("GET", "/api/docs/{file}", system.docs_asset, "system.docs_asset", PUBLIC, media="*/*"),
    Route("GET", "/api/whoami", system.whoami, "system.whoami", READERS,
          summary="The caller's name and Settee roles", answer="whoami"),
    Route("POST", "/api/users", users.create, "user.create", ADMINS,
          summary="Create a user (admin, device or reader)", ok=201, answer="user", errors=(409,)),
    # -- Interaction API: delegates, devices, interactions (envelope-shaped errors) --
    Route("GET", "/interaction/types", interactions.types, "interaction.types", READERS,
          summary="The interaction types and their schemas", answer="interactionTypes"),
    Route("GET", "/interaction/list", interactions.list_, "interaction.list", READERS,
          summary="Interactions by id, filtered, paged (limit, offset, cursor); a device: its own",
          params=(*INTERACTION_FILTERS, *INTERACTION_PAGE), answer="interactionList"),
    Route("POST", "/interaction/new/{type}", interactions.new, "interaction.new", DEVICES,
          summary="Record an interaction of a type", params=(INTERACTION_TYPE, IDEMPOTENCY_KEY),
          ok=201, answer="interactionAnswer", errors=(409, 412, 422)),
    Route("POST", "/interaction/test/{type}", interactions.test, "interaction.test", DEVICES,
          summary="Check an interaction without recording it (id: null)", params=(INTERACTION_TYPE,),
          answer="interactionAnswer", errors=(412, 422)),
    Route("POST", "/interaction/batch", interactions.batch, "interaction.batch", DEVICES,
          summary="Record many interactions, in order, each on its own", params=(IDEMPOTENCY_KEY,),
          answer="interactionBatch", errors=(409,)),
    Route("GET", "/interaction/id:{id}", interactions.get, "interaction.get", READERS,
          summary="One interaction", params=(ID_IN_PATH,), answer="interactionAnswer"),
    Route("DELETE", "/interaction/id:{id}", interactions.delete, "interaction.delete", ADMINS,
          summary="Delete an interaction (a CouchDB deletion)", params=(ID_IN_PATH,), ok=204),
    Route("GET", "/interaction/id:{id}/{name}", interactions.attachment,
          "interaction.attachment", READERS, summary="An interaction's upload (e.g. upload)",
          params=(ID_IN_PATH, ATTACHMENT_NAME), media="application/octet-stream"),
    Route("GET", "/delegate/list", DELEGATE.list_, "delegate.list", READERS,
          summary="Delegates by id, or by badge (?badge=), paged", params=(BADGE, *INTERACTION_PAGE),
          answer="delegateList"),
    Route("POST", "/delegate/new", DELEGATE.new, "delegate.new", ADMINS,
          summary="Create a delegate", params=(IDEMPOTENCY_KEY,), ok=201, answer="delegateAnswer",
          errors=(409,)),
    Route("GET", "/delegate/id:{id}", DELEGATE.get, "delegate.get", READERS,
          summary="One delegate", params=(ID_IN_PATH,), answer="delegateAnswer"),
    Route("PUT", "/delegate/id:{id}", DELEGATE.update, "delegate.update", ADMINS,
          summary="Replace a delegate (with _rev or If-Match: refused when stale)",
          params=(ID_IN_PATH, IF_MATCH), answer="delegateAnswer", errors=(409,)),
    Route("DELETE", "/delegate/id:{id}", DELEGATE.delete, "delegate.delete", ADMINS,
          summary="Delete a delegate", params=(ID_IN_PATH, IF_MATCH), ok=204, errors=(409,)),
    Route("GET", "/device/list", DEVICE.list_, "device.list", READERS,
          summary="Devices by id, paged", params=INTERACTION_PAGE, answer="deviceList"),
    Route("POST", "/device/new", DEVICE.new, "device.new", ADMINS, summary="Create a device",
          params=(IDEMPOTENCY_KEY,), ok=201, answer="deviceAnswer", errors=(409,)),
    Route("GET", "/device/id:{id}", DEVICE.get, "device.get", READERS, summary="One device",
          params=(ID_IN_PATH,), answer="deviceAnswer"),
    Route("PUT", "/device/id:{id}", DEVICE.update, "device.update", ADMINS,
          summary="Replace a device (with _rev or If-Match: refused when stale)",
          params=(ID_IN_PATH, IF_MATCH), answer="deviceAnswer", errors=(409,)),
    Route("DELETE", "/device/id:{id}", DEVICE.delete, "device.delete", ADMINS,
          summary="Delete a device", params=(ID_IN_PATH, IF_MATCH), ok=204, errors=(409,)),
    Route("POST", "/device/id:{id}/provision", provisioning.provision, "device.provision", ADMINS,
          body=False, summary="Set a device up for offline work: its user and secret (shown "
          "once), its database, its first id blocks", params=(ID_IN_PATH,), ok=201,
          answer="deviceSetup"),
    Route("POST", "/device/id:{id}/credentials", provisioning.rotate, "device.rotate", ADMINS,
          body=False, summary="A new secret for a provisioned device (the old one stops working)",
          params=(ID_IN_PATH,), errors=(409,), answer="deviceSetup"),
    Route("DELETE", "/device/id:{id}/credentials", provisioning.revoke, "device.revoke", ADMINS,
          summary="Revoke a device: its user is deleted, REST and replication refuse it",
          params=(ID_IN_PATH,), errors=(409,), answer="deviceSetup"),
    Route("GET", "/device/id:{id}/sync", provisioning.show, "device.sync", DEVICES,
          summary="A provisioned device's set-up (the device itself or an admin)",
          params=(ID_IN_PATH,), answer="deviceSetup"),
    Route("POST", "/device/id:{id}/idblocks", provisioning.next_block, "device.idblock", DEVICES,
          body=False, summary="Another block of ids for the device to use offline",
          params=(ID_IN_PATH,), ok=201, errors=(409,), answer="deviceSetup"),
    Route("GET", "/sync/flags", sync.list_flags, "sync.flags", ADMINS,
          summary="Replicated records the arrival checks flagged (?state=quarantined|violation|"
          "resolved)", params=(FLAG_STATE, SESSION_PAGE[0]), answer="flagList"),
    Route("GET", "/sync/conflicts", sync.list_conflicts, "sync.conflicts", ADMINS,
          summary="Records with conflicting revisions no rule resolved", params=(SESSION_PAGE[0],),
          answer="conflictList"),
    # -- Session API: forms and questionnaire sessions (CouchDB-shaped errors) --
    Route("POST", "/api/forms", forms.create, "form.create", ADMINS,
          summary="Create a form (checked: schema, references, types, cycles)", ok=201,
          answer="written", errors=(409,)),
    Route("GET", "/api/forms", forms.list_forms, "form.list", READERS,
          summary="List forms (?limit=, ?cursor=)", params=FORM_PAGE, answer="formList"),
    Route("GET", "/api/forms/{formId}", forms.get, "form.get", READERS,
          summary="A form: ?rev=LATEST (default), a revision or a tag", params=(FORM_ID, FORM_REV),
          answer="form"),
    Route("PUT", "/api/forms/{formId}", forms.update, "form.update", ADMINS,
          summary="Save a new revision of a form (with _rev, If-Match or ?rev=; stale: 409)",
          params=(FORM_ID, *REVISION, FORCE, *RENAME), answer="written", errors=(409,)),
    Route("DELETE", "/api/forms/{formId}", forms.delete, "form.delete", ADMINS,
          summary="Delete a form (?rev= or If-Match); its revisions and tags stay loadable",
          params=(FORM_ID, *REVISION), answer="written", errors=(409,)),
    Route("POST", "/api/forms/{formId}/tags", forms.create_tag, "form.tag", ADMINS,
          summary="Tag (freeze) the current or a given revision of a form", params=(FORM_ID, TAG_REV),
          ok=201, answer="tag", errors=(409,)),
    Route("GET", "/api/forms/{formId}/tags", forms.list_tags, "form.tags", READERS,
          summary="A form's tags", params=(FORM_ID,), answer="tags"),
    Route("PUT", "/api/forms/{formId}/tags/{name}", forms.tag_latest, "form.tag_latest", ADMINS,
          summary="Dialob, with name `latest` only: the named tag on the newest revision (LATEST "
          "always is; tags never move)",
          params=(FORM_ID,), errors=(409,)),
    Route("GET", "/api/forms/{formId}/tags/{name}", forms.get_tag, "form.tag_get", READERS,
          summary="One tag of a form", params=(FORM_ID,), answer="tag"),
    Route("GET", "/api/tags", forms.find_tags, "form.find_tags", READERS,
          summary="Dialob: tags by formId (or formName) and/or name, as a list", params=TAG_FILTERS),
    Route("POST", "/api/questionnaires", questionnaires.create,
          "questionnaire.create", DEVICES, summary="Open a questionnaire session on a form",
          params=(IDEMPOTENCY_KEY,), ok=201, answer="sessionWritten", errors=(404, 409, 422)),
    Route("GET", "/api/questionnaires", questionnaires.listing,
          "questionnaire.list", READERS, summary="Sessions by formId, status, owner; limit and cursor",
          params=(*SESSION_LIST_FILTERS, *SESSION_PAGE), answer="sessionList",
          errors=(404,)),  # formName with formTag: no such form or tag
    Route("GET", "/api/questionnaires/{id}", questionnaires.get,
          "questionnaire.get", READERS, summary="A session's state (Dialob's shape)",
          answer="session"),
    Route("PUT", "/api/questionnaires/{id}", questionnaires.replace,
          "questionnaire.replace", DEVICES,
          summary="Replace a session's state (with _rev, If-Match or ?rev=)", params=REVISION,
          answer="sessionChanged", errors=(409, 422)),
    Route("DELETE", "/api/questionnaires/{id}", questionnaires.delete,
          "questionnaire.delete", ADMINS, summary="Delete a session (with ?rev= or If-Match)",
          params=REVISION, answer="sessionDeleted", errors=(409,)),
    Route("GET", "/api/questionnaires/{id}/answers", questionnaires.answers_list,
          "questionnaire.answers_list", READERS, summary="Dialob: the answers, [{id, value}]"),
    Route("POST", "/api/questionnaires/{id}/answers", questionnaires.answers,
          "questionnaire.answers", DEVICES, summary="Set answers [{id, value}], all or none",
          params=REVISION, answer="sessionChanged", errors=SESSION_CHANGE),
    Route("PUT", "/api/questionnaires/{id}/answers/{answerId}", questionnaires.answer,
          "questionnaire.answer", DEVICES, summary="Set one answer", params=REVISION,
          answer="sessionChanged", errors=SESSION_CHANGE),
    Route("DELETE", "/api/questionnaires/{id}/answers/{answerId}", questionnaires.unanswer,
          "questionnaire.unanswer", DEVICES, summary="Clear one answer", params=REVISION,
          answer="sessionChanged", errors=SESSION_CHANGE),
    Route("GET", "/api/questionnaires/{id}/items/{itemId}", questionnaires.item,
          "questionnaire.item", READERS, summary="Dialob: one item as an ActionItem"),
    Route("GET", "/api/questionnaires/{id}/items/{groupId}/rows", questionnaires.item_rows,
          "questionnaire.rows", READERS, summary="Dialob: a row group's row ids"),
    Route("POST", "/api/questionnaires/{id}/items/{groupId}/rows", questionnaires.add_row,
          "questionnaire.add_row", DEVICES, body=False, summary="Add a row to a row group",
          params=REVISION, answer="sessionChanged", errors=SESSION_CHANGE),
    Route("DELETE", "/api/questionnaires/{id}/items/{groupId}/rows/{rowId}", questionnaires.delete_row,
          "questionnaire.delete_row", DEVICES, summary="Delete a row and its answers",
          params=REVISION, answer="sessionChanged", errors=SESSION_CHANGE),
    Route("GET", "/api/questionnaires/{id}/pages", questionnaires.pages,
          "questionnaire.pages", READERS, summary="The active page and the active pages",
          answer="sessionPages"),
    Route("PUT", "/api/questionnaires/{id}/pages", questionnaires.move,
          "questionnaire.move", DEVICES, summary="Move: NEXT, PREVIOUS or GOTO a page",
          params=REVISION, answer="sessionPages", errors=SESSION_CHANGE),
    Route("POST", "/api/questionnaires/{id}/actions", questionnaires.actions,
          "questionnaire.actions", DEVICES, summary="Actions applied together in one update",
          params=REVISION, answer="sessionChanged", errors=SESSION_CHANGE),
    Route("GET", "/api/questionnaires/{id}/items", questionnaires.items,
          "questionnaire.items", READERS, summary="The items as this session sees them",
          answer="sessionItems"),
    Route("GET", "/api/questionnaires/{id}/errors", questionnaires.errors,
          "questionnaire.errors", READERS, summary="The errors that stand", answer="sessionErrorList"),
    Route("GET", "/api/questionnaires/{id}/status", questionnaires.status_get,
          "questionnaire.status_get", READERS, summary="Dialob: the status, a bare JSON string"),
    Route("PUT", "/api/questionnaires/{id}/status", questionnaires.status,
          "questionnaire.status", DEVICES,
          summary="Complete a session ({\"status\"} or Dialob's bare string)", params=REVISION,
          answer="sessionChanged", errors=SESSION_CHANGE),
    Route("GET", "/api/questionnaires/{id}/valueSets", questionnaires.value_sets,
          "questionnaire.value_sets", READERS,
          summary="Dialob: the form's value sets in the session's language"),
    Route("GET", "/api/questionnaires/{id}/valueSets/{valueSetId}", questionnaires.value_set,
          "questionnaire.value_set", READERS, summary="Dialob: one value set"),
    Route("GET", "/api/questionnaires/{id}/delivery", questionnaires.delivery_state,
          "questionnaire.delivery", READERS, summary="The submitUrl delivery: state, attempts, log",
          answer="delivery"),
    # -- Dialob's fill protocol (@dialob/fill-api's endpoint is <settee>/session/dialob) --
    Route("GET", "/session/dialob/{sessionId}", fill.state, "fill.state", READERS,
          summary="A session's full state as fill actions ({rev, actions})"),
    Route("POST", "/session/dialob/{sessionId}", fill.update, "fill.update", DEVICES,
          summary="Apply fill actions in one update; answers {rev, actions} with what changed"),
    # -- the kiosk fill page: the page, its assets, and the fill protocol under its own path
    #    (so the browser's Basic credentials for the page go along with every request) --
    Route("GET", "/fill/assets/{file}", fill.asset, "fill.asset", PUBLIC, media="*/*"),
    Route("GET", "/fill/dialob/{sessionId}", fill.state, "fill.page_state", DEVICES,
          summary="The fill protocol for the fill page (as /session/dialob)"),
    Route("POST", "/fill/dialob/{sessionId}", fill.update, "fill.page_update", DEVICES,
          schema_of="fill.update", summary="The fill protocol for the fill page (as /session/dialob)"),
    Route("GET", "/fill/{sessionId}", fill.page, "fill.page", DEVICES, media="text/html",
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
            ("PUT", "/forms/{formId}/tags/{name}", forms.tag_latest, "form.tag_latest", ADMINS,
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
            ("GET", "/questionnaires/{id}/items/{groupId}/rows", questionnaires.item_rows,
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



def _as_dialob(route: Route, by_name: dict[str, Route]) -> Route:
    """A /v2 route takes the parameters its /api twin takes and answers the same statuses
    (in Dialob's shapes, which the document does not describe)."""
    twin = by_name.get(route.schema_of or "")
    if not route.name.startswith("dialob_") or twin is None:
        return route
    # A twin that shares the handler answers the same success status; Dialob's own answers 200.
    ok = twin.ok if route.handler is twin.handler else 200
    return replace(route, params=twin.params, ok=ok, errors=twin.errors)


ROUTES = [_as_dialob(route, {r.name: r for r in ROUTES}) for route in ROUTES]


def setup_routes(app: web.Application) -> None:
    table: dict[str, Route] = {}
    for route in ROUTES:
        if route.name in table:
            raise ValueError(f"two routes are named {route.name}")
        if route.schema is not None and route.schema not in app[keys.SCHEMAS]:
            raise ValueError(f"route {route.name} takes a body but schemas/{route.schema}.json is missing")
        if route.answer is not None and route.answer not in app[keys.SCHEMAS].documents["answers"]["$defs"]:
            raise ValueError(f"route {route.name} answers {route.answer}: not in schemas/answers.json")
        table[route.name] = route
        if route.method == "GET":  # GET routes answer HEAD too
            app.router.add_get(route.path, route.handler, name=route.name)
        else:
            app.router.add_route(route.method, route.path, route.handler, name=route.name)
    app[keys.ROUTES] = table
    # The replication endpoint: CouchDB's protocol, not the API (no OpenAPI entry; it checks
    # its callers itself, as the engine would: handlers/replication.py).
    for where, handler in ((replication.CATALOG_PATH, replication.catalog),
                           (replication.DEVICES_PREFIX + "{device}", replication.device_database)):
        app.router.add_route("*", where, handler)
        app.router.add_route("*", where + "/{tail:.*}", handler)
