"""Forms in the registry database (what devices replicate): the current form, an immutable
snapshot per saved revision, and tags. Layout (docs/FORMS.md, "Storage"):

- `form:<formId>`            type "form": the current revision (`_rev` is the form's revision)
- `formrev:<formId>:<rev>`   type "form-revision": the form as it was at revision `<rev>`, never changed
- `formtag:<formId>:<name>`  type "form-tag": a name for one revision, never changed

A snapshot is written right after each save, and again (if missing) before a revision is
replaced, deleted or tagged, so every revision a session may have recorded stays loadable.
"""

from __future__ import annotations

import re
import uuid
from collections import OrderedDict
from typing import Any

from ..clock import now_iso
from ..directory.roster import roster
from ..errors import ApiError, Conflict, NotFound
from ..store import REGISTRY, DocumentConflict, DocumentNotFound, Store
from .check import check_form
from .evaluation import FormRevision

JsonDict = dict[str, Any]

LATEST = "LATEST"
FORM = "form"
FORM_REVISION = "form-revision"
FORM_TAG = "form-tag"
DDOC = "forms"
_REV = re.compile(r"^[0-9]+-[0-9a-zA-Z]+$")
# Loaded snapshots never change: keep the recent ones (keyed by engine and database too).
_SNAPSHOTS: OrderedDict[tuple[str, str, str, str], FormRevision] = OrderedDict()
_SNAPSHOT_CACHE_SIZE = 256


def form_doc_id(form_id: str) -> str:
    return f"form:{form_id}"


def revision_doc_id(form_id: str, rev: str) -> str:
    return f"formrev:{form_id}:{rev}"


def tag_doc_id(form_id: str, name: str) -> str:
    return f"formtag:{form_id}:{name}"


def form_not_found(form_id: str, reason: str = "") -> ApiError:
    return NotFound(reason or f"form {form_id} not found", internal_code=2102)


# -- loading ---------------------------------------------------------------------------------


class NewestRevisions:
    """The newest revision of each form this process loaded, so that a session on LATEST costs
    no read. Trusted only while the roster follows the registry's feed, which tells of every
    change to a form (a save through another process is seen within the roster's lag, a
    quarter of a second); this process's own saves and deletions forget it at once."""

    def __init__(self, store: Store) -> None:
        self.feed = roster(store)
        self.forms: dict[str, FormRevision] = {}
        self.changes: dict[str, int] = {}  # per form id: how often it was forgotten
        self.feed.listeners.append(self.changed)

    def get(self, form_id: str) -> FormRevision | None:
        return self.forms.get(form_id) if self.feed.ready else None

    def mark(self, form_id: str) -> int:
        """Taken before reading the form: `keep` with it keeps the read only if nothing
        changed the form meanwhile."""
        return self.changes.get(form_id, 0)

    def keep(self, form: FormRevision, mark: int) -> None:
        if self.changes.get(form.form_id, 0) == mark:
            self.forms[form.form_id] = form

    def forget(self, form_id: str) -> None:
        self.forms.pop(form_id, None)
        self.changes[form_id] = self.changes.get(form_id, 0) + 1

    def changed(self, results: list[JsonDict]) -> None:
        for change in results:
            doc_id = str(change.get("id", ""))
            if doc_id.startswith("form:"):
                self.forget(doc_id.removeprefix("form:"))


def newest(store: Store) -> NewestRevisions:
    return store.companion(NewestRevisions)


async def load_form(store: Store, form_id: str, rev: str = LATEST) -> FormRevision:
    """The form at `rev`: "LATEST", a revision (`_rev` as the forms API answers it) or a tag."""
    if rev == LATEST:
        known = newest(store)
        found = known.get(form_id)
        if found is not None:
            return found
        mark = known.mark(form_id)
        current = await store.get_or_none(REGISTRY, form_doc_id(form_id))
        if current is None:
            raise form_not_found(form_id)
        key = (store.url, store.prefix, form_id, str(current["_rev"]))
        # The same revision, already read (and indexed), or a new one.
        form = _SNAPSHOTS.get(key) or _remember(
            key, FormRevision(form_id, str(current["_rev"]), current["form"]))
        known.keep(form, mark)
        return form
    if _REV.match(rev):
        return await _load_revision(store, form_id, rev)
    tag = await store.get_or_none(REGISTRY, tag_doc_id(form_id, rev))
    if tag is None:
        await _exists_or_existed(store, form_id)  # no such form: say that, not "no tag"
        raise form_not_found(form_id, f"form {form_id} has no tag {rev}")
    return await _load_revision(store, form_id, str(tag["formRev"]))


async def _load_revision(store: Store, form_id: str, rev: str) -> FormRevision:
    key = (store.url, store.prefix, form_id, rev)
    cached = _SNAPSHOTS.get(key)
    if cached is not None:
        _SNAPSHOTS.move_to_end(key)
        return cached
    snapshot = await store.get_or_none(REGISTRY, revision_doc_id(form_id, rev))
    if snapshot is None:
        # The snapshot of the newest save may not be written yet (a failure right after it).
        current = await store.get_or_none(REGISTRY, form_doc_id(form_id))
        if current is None or current["_rev"] != rev:
            raise form_not_found(form_id, f"form {form_id} has no revision {rev}")
        await _ensure_snapshot(store, current)
        snapshot = {"form": current["form"]}
    return _remember(key, FormRevision(form_id, rev, snapshot["form"]))


def _remember(key: tuple[str, str, str, str], form: FormRevision) -> FormRevision:
    _SNAPSHOTS[key] = form
    _SNAPSHOTS.move_to_end(key)
    while len(_SNAPSHOTS) > _SNAPSHOT_CACHE_SIZE:
        _SNAPSHOTS.popitem(last=False)
    return form


async def _ensure_snapshot(store: Store, current: JsonDict) -> None:
    form_id = str(current["formId"])
    doc = {
        "_id": revision_doc_id(form_id, str(current["_rev"])),
        "type": FORM_REVISION,
        "formId": form_id,
        "formRev": current["_rev"],
        "form": current["form"],
        "savedAt": current["updatedAt"],
        "createdAt": now_iso(),
        "updatedAt": now_iso(),
    }
    try:
        await store.put(REGISTRY, doc)
    except DocumentConflict:
        pass  # already there: snapshots never change


# -- saving ----------------------------------------------------------------------------------


async def create_form(store: Store, body: JsonDict) -> JsonDict:
    form = dict(body)
    form.setdefault("id", uuid.uuid4().hex)
    form_id = str(form["id"])
    check_form(form)
    now = now_iso()
    doc = {"_id": form_doc_id(form_id), "type": FORM, "formId": form_id, "form": form,
           "createdAt": now, "updatedAt": now}
    try:
        rev = await store.put(REGISTRY, doc)
    except DocumentConflict as exc:
        raise Conflict(f"form {form_id} already exists") from exc
    newest(store).forget(form_id)  # a form id may be used again after a delete
    await _ensure_snapshot(store, {**doc, "_rev": rev})
    return {"_id": form_id, "_rev": rev}


async def update_form(
    store: Store, form_id: str, body: JsonDict, rev: str | None, force: bool = False
) -> JsonDict:
    """A new revision. `force` (Dialob's `?force=true`) saves over whatever revision is current."""
    form = {k: v for k, v in body.items() if k not in ("_id", "_rev", "createdAt", "updatedAt")}
    form.setdefault("id", form_id)
    if form["id"] != form_id:
        raise ApiError(2103, f"the form's id {form['id']} is not the id in the path ({form_id})",
                       details=[{"pointer": "/id", "message": "must be " + form_id}])
    check_form(form)
    current = await _current(store, form_id)
    if rev != current["_rev"] and not force:
        raise Conflict()
    await _ensure_snapshot(store, current)
    doc = {**current, "form": form, "updatedAt": now_iso()}
    new_rev = await store.put(REGISTRY, doc)
    newest(store).forget(form_id)
    await _ensure_snapshot(store, {**doc, "_rev": new_rev})
    # Dialob's FormPutResponse (ok, id, rev) beside Settee's _id and _rev.
    return {"_id": form_id, "_rev": new_rev, "ok": True, "id": form_id, "rev": new_rev}


async def delete_form(store: Store, form_id: str, rev: str | None) -> JsonDict:
    current = await _current(store, form_id)
    if rev != current["_rev"]:
        raise Conflict()
    await _ensure_snapshot(store, current)
    new_rev = await store.delete(REGISTRY, form_doc_id(form_id), str(rev))
    newest(store).forget(form_id)
    return {"_id": form_id, "_rev": new_rev}


async def _current(store: Store, form_id: str) -> JsonDict:
    current = await store.get_or_none(REGISTRY, form_doc_id(form_id))
    if current is None:
        raise form_not_found(form_id)
    return current


# -- reading ---------------------------------------------------------------------------------


def form_body(form: FormRevision) -> JsonDict:
    """A revision as the forms API shows it: `_id`, `_rev` and the form as written."""
    return {"_id": form.form_id, "_rev": form.rev, **form.document}


async def list_forms(store: Store, limit: int, cursor: str | None) -> tuple[list[JsonDict], str | None]:
    """A page of forms by id, and the id the next page starts at (None on the last page)."""
    answer = await store.view(REGISTRY, DDOC, "forms_by_id", startkey=cursor, limit=limit + 1)
    rows = answer["rows"]
    forms = [{"_id": row["key"], **row["value"]} for row in rows[:limit]]
    following = rows[limit]["key"] if len(rows) > limit else None
    return forms, following


# -- tags ------------------------------------------------------------------------------------


async def create_tag(store: Store, form_id: str, body: JsonDict) -> JsonDict:
    name = str(body["name"])
    rev = body.get("rev")
    form = await load_form(store, form_id, str(rev) if rev else LATEST)
    if rev is None:
        # Tagging the current revision: make sure its snapshot exists before naming it.
        await _load_revision(store, form_id, form.rev)
    now = now_iso()
    doc = {"_id": tag_doc_id(form_id, name), "type": FORM_TAG, "formId": form_id, "name": name,
           "description": body.get("description", ""), "formRev": form.rev,
           "createdAt": now, "updatedAt": now}
    try:
        await store.put(REGISTRY, doc)
    except DocumentConflict as exc:
        raise Conflict(f"form {form_id} already has a tag {name}") from exc
    return tag_body(doc)


def tag_body(doc: JsonDict) -> JsonDict:
    # formName is Dialob's name for the form a tag belongs to: Settee's form id.
    return {"name": doc["name"], "description": doc.get("description", ""),
            "formId": doc["formId"], "formName": doc["formId"], "formRev": doc["formRev"],
            "created": doc["createdAt"]}


async def find_tags(store: Store, form_id: str | None, name: str | None) -> list[JsonDict]:
    """Tags of one form or of every form (Dialob's `GET /tags`), optionally by tag name."""
    prefix = tag_doc_id(form_id, "") if form_id is not None else "formtag:"
    answer = await store.all_docs(REGISTRY, startkey=prefix, endkey=prefix + "\ufff0",
                                  include_docs=True)
    return [tag_body(row["doc"]) for row in answer["rows"]
            if row.get("doc") and (name is None or row["doc"]["name"] == name)]


async def tag_latest(store: Store, form_id: str, name: str) -> JsonDict:
    """Dialob's `PUT .../tags/latest`: the tag `name` on the newest revision.

    LATEST always is the newest revision, so naming it changes nothing; another name is tagged
    on the newest revision when it is new, and is refused (409) when it already freezes an
    older one: a tag never moves.
    """
    current = await _current(store, form_id)
    if name != LATEST:
        existing = await store.get_or_none(REGISTRY, tag_doc_id(form_id, name))
        if existing is None:
            await create_tag(store, form_id, {"name": name})
        elif existing["formRev"] != current["_rev"]:
            raise Conflict(f"tag {name} of form {form_id} freezes revision {existing['formRev']}; "
                           "a tag never moves")
    return {"ok": True, "id": form_id, "rev": current["_rev"]}


async def list_tags(store: Store, form_id: str) -> JsonDict:
    prefix = tag_doc_id(form_id, "")
    answer = await store.all_docs(REGISTRY, startkey=prefix, endkey=prefix + "\ufff0",
                                  include_docs=True)
    tags = [tag_body(row["doc"]) for row in answer["rows"] if row.get("doc")]
    if not tags:
        await _exists_or_existed(store, form_id)
    return {"tags": tags}


async def get_tag(store: Store, form_id: str, name: str) -> JsonDict:
    try:
        doc = await store.get(REGISTRY, tag_doc_id(form_id, name))
    except DocumentNotFound as exc:
        raise form_not_found(form_id, f"form {form_id} has no tag {name}") from exc
    return tag_body(doc)


async def _exists_or_existed(store: Store, form_id: str) -> None:
    """404 for a form that never was (a deleted form keeps its tags and revisions)."""
    answer = await store.all_docs(REGISTRY, key=form_doc_id(form_id))
    if not answer["rows"]:
        raise form_not_found(form_id)
