"""Questionnaire sessions: one CouchDB document each in `store.RECORDS` (docs/SESSIONS.md).

The stored document is Dialob's GET shape plus the service's own fields (`type`, `createdAt`,
`updatedAt`, `owner`, `rowCounters`, `completedAt`); `public()` answers exactly Dialob's shape.
Every change goes through `modify()`: read, apply, write with the read `_rev`; a stale `If-Match`
is CouchDB's 409, and without one a change is re-applied on the newer revision (bounded), so
answers to different items never overwrite each other.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import random
import re
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .. import jsoncodec
from ..clock import now_iso
from ..errors import ApiError, Conflict
from ..forms import Evaluation, FormRevision, answer_problem, context_problems, evaluate, load_form
from ..store import RECORDS, DocumentConflict, DocumentNotFound, Store
from . import delivery
from .documents import COMPLETED, OPEN, SESSION_TYPE, public

log = logging.getLogger(__name__)
DIGEST = "idempotencyDigest"  # the key's digest on a record an idempotent create wrote

JsonDict = dict[str, Any]
T = TypeVar("T")

DEFAULT_LANGUAGE = "en"
LATEST = "LATEST"
# Without If-Match a change is re-applied on the newer revision this many times at most.
MAX_ATTEMPTS = 30
DESIGN_DOC = "questionnaires"
LIST_VIEW = "questionnaires_by_filter"
SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
_ROW_ID = re.compile(r"^(?P<table>.+)\[(?P<number>[1-9][0-9]*)\]$")
_ROW_ANSWER = re.compile(r"^(?P<row>.+\[[1-9][0-9]*\])\.(?P<item>[^\[\]]+)$")

# The service fills these; a client's extra metadata may not use their names.
RESERVED_METADATA = (
    "formId", "formRev", "formRevision", "created", "lastAnswer", "label", "submitUrl",
    "status", "language",
)


# -- reading --------------------------------------------------------------------------------


def not_found(session_id: str) -> ApiError:
    return ApiError(2201, f"questionnaire session {session_id} not found")


async def read(store: Store, session_id: str, owner: str | None = None) -> JsonDict:
    """The session; with `owner`, only a session that user opened (another's answers as a
    missing one does: service/scope.py)."""
    if not SESSION_ID.match(session_id):
        raise not_found(session_id)
    try:
        doc = await store.get(RECORDS, session_id)
    except DocumentNotFound:
        raise not_found(session_id) from None
    if doc.get("type") != SESSION_TYPE or (owner is not None and doc.get("owner") != owner):
        raise not_found(session_id)
    return doc


async def form_of(store: Store, doc: JsonDict) -> FormRevision:
    """The exact revision the session runs on (service.forms keeps recent ones in memory)."""
    meta = doc["metadata"]
    return await load_form(store, meta["formId"], meta["formRevision"])


def row_number(row_id: str) -> int:
    match = _ROW_ID.match(row_id)
    return int(match["number"]) if match else 0


def evaluation_of(form: FormRevision, doc: JsonDict) -> Evaluation:
    return evaluate(
        form,
        {a["id"]: a["value"] for a in doc["answers"]},
        {c["id"]: c["value"] for c in doc["context"]},
        {t["tableId"]: [row_number(r) for r in t["rows"]] for t in doc["tables"]},
        doc["metadata"]["language"],
    )


def naming(answer_id: str, problem: str) -> str:
    """The problem, led by the answer's id (most problems name it already: once is enough)."""
    return problem if problem.startswith(answer_id) else f"{answer_id}: {problem}"


def error_details(evaluation_errors: list[JsonDict]) -> list[JsonDict]:
    return [{"id": e["id"], "code": e["code"], "message": e["message"]} for e in evaluation_errors]


def items_view(evaluation: Evaluation) -> list[JsonDict]:
    return [
        {
            "id": item.id,
            "type": item.type,
            "parent": item.parent,
            "active": item.active,
            "required": item.required,
            "label": item.label,
            "description": item.description,
            "value": item.value,
            "valueSet": item.value_set,
            "errors": item.errors,
        }
        for item in evaluation.items
    ]


def pages_view(doc: JsonDict, evaluation: Evaluation) -> JsonDict:
    # availableItems and items are Dialob's names: the active pages and every page.
    return {"_id": doc["_id"], "_rev": doc["_rev"], "activeItem": doc["activeItem"],
            "pages": evaluation.pages, "availableItems": evaluation.pages,
            "items": [s.id for s in evaluation.items if s.type == "page"]}


def form_label(form: FormRevision, language: str) -> str | None:
    label = form.document.get("label")
    if isinstance(label, str) or label is None:
        return label
    languages = [language, *form.document.get("languages", [])]
    for lang in languages:
        if isinstance(label.get(lang), str):
            return str(label[lang])
    return next((str(v) for v in label.values()), None)


# -- creating --------------------------------------------------------------------------------


async def create(
    store: Store, body: JsonDict, owner: str | None, session_id: str | None = None,
    digest: str | None = None,
) -> JsonDict:
    """A new session on the form revision the request names; answers the stored document.

    With `session_id` (reserved for an idempotency key) and the key's `digest`, an earlier
    try's session under that id is the answer if it carries the digest; anything else there is
    not ours, and the session gets another id.
    """
    if session_id is not None:
        stored = await store.get_or_none(RECORDS, session_id)
        if stored is not None and digest is not None and stored.get(DIGEST) == digest:
            return stored
        if stored is not None:
            session_id = uuid.uuid4().hex
    meta_in: JsonDict = body["metadata"]
    form = await load_form(store, meta_in["formId"], meta_in.get("formRev", LATEST))
    languages = list(form.document.get("languages") or [])
    language = meta_in.get("language") or (
        DEFAULT_LANGUAGE if DEFAULT_LANGUAGE in languages or not languages else languages[0]
    )
    values, problems = context_problems(form, body.get("context") or [])
    if languages and language not in languages:
        problems.append({
            "pointer": "/metadata/language", "id": "language",
            "message": f"the form is written in {', '.join(languages)}, not {language!r}",
        })
    if problems:
        raise ApiError(2203, "; ".join(str(p["message"]) for p in problems), details=problems)
    now = now_iso()
    context = [{"id": key, "value": value} for key, value in values.items()]
    first = evaluate(form, {}, values, {}, language)
    extras = {k: v for k, v in meta_in.items() if k not in RESERVED_METADATA}
    # Dialob stores a label given at creation; without one, the form's label in the language.
    label_given = "label" in meta_in
    doc: JsonDict = {
        "_id": session_id or uuid.uuid4().hex,
        "type": SESSION_TYPE,
        "createdAt": now,
        "updatedAt": now,
        "owner": owner,
        "answers": [],
        "tables": [
            {"tableId": item.id, "rows": []}
            for item in first.items if item.type == "rowgroup" and "[" not in item.id
        ],
        "context": context,
        "activeItem": first.pages[0] if first.pages else None,
        "metadata": {
            "formId": form.form_id,
            "formRev": meta_in.get("formRev", LATEST),
            "created": now,
            "lastAnswer": None,
            "label": meta_in["label"] if label_given else form_label(form, language),
            "submitUrl": meta_in.get("submitUrl"),
            "status": OPEN,
            "language": language,
            "formRevision": form.rev,
            **extras,
        },
        "rowCounters": {},
    }
    if digest is not None:
        doc[DIGEST] = digest
    if label_given:
        doc["labelGiven"] = True
    if body.get("answers") or body.get("activeItem"):
        start_with(Editor(doc, form), body.get("answers") or [], body.get("activeItem"))
    doc["_rev"] = await store.put(RECORDS, doc)
    writer(store).remember(doc)
    return doc


def start_with(editor: Editor, answers: list[JsonDict], active_item: str | None) -> None:
    """Dialob's create body may carry answers and the page to start on."""
    editor.answer_all(answers, "/answers")
    pages = editor.evaluation().pages
    if active_item in pages:
        editor.doc["activeItem"] = active_item
    elif editor.doc["activeItem"] not in pages:
        editor.doc["activeItem"] = pages[0] if pages else None


# -- changing --------------------------------------------------------------------------------


@dataclass
class Editor:
    """Changes to one session document in memory; `modify()` writes them in one update."""

    doc: JsonDict
    form: FormRevision
    became_completed: bool = False
    added_rows: list[str] = field(default_factory=list)
    _evaluation: Evaluation | None = None

    def evaluation(self) -> Evaluation:
        if self._evaluation is None:
            self._evaluation = evaluation_of(self.form, self.doc)
        return self._evaluation

    def _changed(self) -> None:
        self._evaluation = None

    # answers

    def answer_problem(self, answer_id: str, value: Any) -> str | None:
        row = _ROW_ANSWER.match(answer_id)
        if row is not None and not self._has_row(row["row"]):
            return f"no row {row['row']} in this session"
        return answer_problem(self.form, answer_id, value)

    def answer(self, answer_id: str, value: Any, pointer: str = "/value") -> None:
        problem = self.answer_problem(answer_id, value)
        if problem is not None:
            raise ApiError(2204, naming(answer_id, problem),
                           details=[{"pointer": pointer, "id": answer_id, "message": problem}])
        self._set_answer(answer_id, value)

    def answer_all(self, answers: list[JsonDict], pointer: str = "") -> None:
        """All or none: every problem of the list is named before anything changes."""
        problems = []
        for index, entry in enumerate(answers):
            problem = self.answer_problem(entry["id"], entry.get("value"))
            if problem is not None:
                problems.append({"pointer": f"{pointer}/{index}/value", "id": entry["id"],
                                 "message": problem})
        if problems:
            raise ApiError(2204, "; ".join(naming(p["id"], p["message"]) for p in problems),
                           details=problems)
        for entry in answers:
            self._set_answer(entry["id"], entry.get("value"))

    def unanswer(self, answer_id: str) -> None:
        if not any(a["id"] == answer_id for a in self.doc["answers"]):
            raise ApiError(2205, f"no answer to {answer_id} in this session")
        self._set_answer(answer_id, None)

    def _set_answer(self, answer_id: str, value: Any) -> None:
        answers: list[JsonDict] = self.doc["answers"]
        kept = [a for a in answers if a["id"] != answer_id]
        if value is None:
            self.doc["answers"] = kept
        elif len(kept) < len(answers):
            for entry in answers:
                if entry["id"] == answer_id:
                    entry["value"] = value
        else:
            answers.insert(0, {"id": answer_id, "value": value})  # newest first, as Dialob
        self.doc["metadata"]["lastAnswer"] = now_iso()
        # When each answer was last set or cleared: conflicting revisions merge item by item.
        self.doc.setdefault("answeredAt", {})[answer_id] = self.doc["metadata"]["lastAnswer"]
        self._changed()

    # rows

    def _table(self, table_id: str) -> JsonDict:
        item = self.evaluation().item(table_id)
        if item is None or item.type != "rowgroup":
            raise ApiError(2206, f"{table_id} is not a row group of this form")
        tables: list[JsonDict] = self.doc["tables"]
        for table in tables:
            if table["tableId"] == table_id:
                return table
        table = {"tableId": table_id, "rows": []}
        self.doc["tables"].append(table)
        return table

    def _has_row(self, row_id: str) -> bool:
        match = _ROW_ID.match(row_id)
        return match is not None and any(
            t["tableId"] == match["table"] and row_id in t["rows"] for t in self.doc["tables"]
        )

    def add_row(self, table_id: str) -> str:
        table = self._table(table_id)
        counters: dict[str, int] = self.doc.setdefault("rowCounters", {})
        # Row numbers are never reused: the counter only grows.
        number = max([counters.get(table_id, 0), *map(row_number, table["rows"])]) + 1
        counters[table_id] = number
        row_id = f"{table_id}[{number}]"
        table["rows"].append(row_id)
        self.added_rows.append(row_id)
        self._changed()
        return row_id

    def delete_row(self, table_id: str, row: str) -> None:
        table = self._table(table_id)
        row_id = row if row.startswith(table_id + "[") else f"{table_id}[{row}]"
        if row_id not in table["rows"]:
            raise ApiError(2207, f"no row {row_id} in this session")
        table["rows"].remove(row_id)
        inside = row_id + "."
        self.doc["answers"] = [a for a in self.doc["answers"] if not a["id"].startswith(inside)]
        self.doc["tables"] = [t for t in self.doc["tables"] if not t["tableId"].startswith(inside)]
        self._changed()

    # navigation

    def move(self, action: str, page_id: str | None = None) -> None:
        evaluation = self.evaluation()
        every = [item.id for item in evaluation.items if item.type == "page"]
        active = evaluation.pages
        current = self.doc["activeItem"]
        if action == "GOTO":
            if page_id not in active:
                raise ApiError(2208, f"{page_id} is not an active page of this session",
                               details=[{"id": page_id, "message": "not an active page"}])
            target: str | None = page_id
        else:
            position = every.index(current) if current in every else -1
            if action == "NEXT":
                if current in active:
                    errors = evaluation.errors_on_page(current)
                    if errors:
                        raise ApiError(2209, f"page {current} has errors",
                                       details=error_details(errors))
                target = next((p for p in every[position + 1:] if p in active), None)
            else:
                earlier = [p for p in every[:max(position, 0)] if p in active]
                target = earlier[-1] if earlier else None
            if target is None:
                raise ApiError(2208, f"no {action.lower()} active page after {current}"
                               if action == "NEXT" else f"no active page before {current}")
        self.doc["activeItem"] = target

    # language

    def set_language(self, language: str) -> None:
        languages = self.form.document.get("languages") or []
        if languages and language not in languages:
            raise ApiError(2203, f"the form is written in {', '.join(languages)}, not {language!r}",
                           details=[{"id": "language", "message": "not a language of the form"}])
        meta = self.doc["metadata"]
        meta["language"] = language
        if not self.doc.get("labelGiven"):
            meta["label"] = form_label(self.form, language)
        self._changed()

    # status

    def complete(self) -> None:
        errors = self.evaluation().errors
        if errors:
            raise ApiError(2209, f"the session has {len(errors)} error(s)",
                           details=error_details(errors))
        self.doc["metadata"]["status"] = COMPLETED
        self.doc["completedAt"] = now_iso()
        self.became_completed = True

    def apply(self, actions: list[JsonDict]) -> None:
        """The actions endpoint: applied in order on this one document, all or nothing."""
        for index, action in enumerate(actions):
            kind = action["type"]
            target = action.get("id")
            try:
                if kind == "ANSWER":
                    # Dialob sends the value as `answer`; Settee's own shape says `value`.
                    field_name = "answer" if "answer" in action else "value"
                    self.answer(str(target), action.get(field_name), f"/{index}/{field_name}")
                elif kind == "SET_LOCALE":
                    self.set_language(str(action["value"]))
                elif kind in ("NEXT", "PREVIOUS", "GOTO"):
                    self.move(kind, target)
                elif kind == "ADD_ROW":
                    self.add_row(str(target))
                elif kind == "DELETE_ROW":
                    match = _ROW_ID.match(str(target))
                    self.delete_row(match["table"] if match else str(target), str(target))
                elif kind == "COMPLETE":
                    self.complete()
            except ApiError as exc:
                exc.message = f"action {index} ({kind}): {exc.message}"
                for detail in exc.details:
                    detail.setdefault("action", index)
                raise


def completed_error(session_id: str) -> ApiError:
    return ApiError(2202, f"questionnaire session {session_id} is completed and takes no changes")


class Writer:
    """One service instance's writing aids: a lock per session, and the sessions it wrote last.

    A remembered session is only a guess at the newest revision: it is written with its `_rev`,
    so CouchDB refuses it if the session moved on, and the change is then judged again on the
    engine's copy. It saves the read before each write on the hot path (one client answering).
    """

    KEEP = 1000

    def __init__(self, store: Store) -> None:
        self.locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self.recent: OrderedDict[str, JsonDict] = OrderedDict()

    def lock(self, session_id: str) -> asyncio.Lock:
        lock = self.locks.get(session_id)
        if lock is None:
            lock = self.locks[session_id] = asyncio.Lock()
        return lock

    def recall(self, session_id: str) -> JsonDict | None:
        doc = self.recent.get(session_id)
        return jsoncodec.copy(doc) if doc is not None else None

    def remember(self, doc: JsonDict) -> None:
        self.recent[doc["_id"]] = jsoncodec.copy(doc)
        self.recent.move_to_end(doc["_id"])
        while len(self.recent) > self.KEEP:
            self.recent.popitem(last=False)

    def forget(self, session_id: str) -> None:
        self.recent.pop(session_id, None)


def writer(store: Store) -> Writer:
    # Per store (one per service instance), so that two instances in one process still meet as
    # two processes do: through CouchDB's conflicts.
    return store.companion(Writer)


async def modify(
    store: Store, session_id: str, change: Callable[[Editor], T], *, if_match: str | None = None,
    owner: str | None = None,
) -> tuple[Editor, T]:
    """Apply `change` to the session and write it in one document update.

    With `if_match`, a session whose `_rev` differs is CouchDB's 409. Without it, a conflict
    (another writer got in between) re-reads the session and applies `change` again. With
    `owner`, only a session that user opened (another's is not found).
    """
    aids = writer(store)
    # One writer at a time per session in this instance; other processes are met by re-applying.
    async with aids.lock(session_id):
        doc = aids.recall(session_id)
        for attempt in range(MAX_ATTEMPTS):
            fresh = doc is None or (if_match is not None and doc["_rev"] != if_match)
            if doc is None or fresh:
                doc = await read(store, session_id, owner)
            elif owner is not None and doc.get("owner") != owner:  # an owner never changes
                raise not_found(session_id)
            if if_match is not None and doc["_rev"] != if_match:
                raise Conflict()
            try:
                if doc["metadata"]["status"] == COMPLETED:
                    raise completed_error(session_id)
                editor = Editor(doc, await form_of(store, doc))
                result = change(editor)
            except ApiError:
                if fresh:
                    raise
                doc = None  # a remembered copy may be behind: judge on the engine's
                continue
            doc["updatedAt"] = now_iso()
            if editor.became_completed and doc["metadata"].get("submitUrl"):
                # The delivery document first: a crash in between leaves an orphan the worker
                # cancels, never a completed session nobody delivers (docs/SESSIONS.md).
                await delivery.enqueue(store, doc)
            try:
                doc["_rev"] = await store.put(RECORDS, doc)
            except DocumentConflict:
                aids.forget(session_id)
                if if_match is not None:
                    raise  # the client's revision (the one written on) is not the newest
                log.debug("session %s moved underneath: re-applying the change", session_id)
                await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
                doc = None
                continue
            aids.remember(doc)
            return editor, result
    raise Conflict()


async def replace(store: Store, session_id: str, body: JsonDict, if_match: str,
                  owner: str | None = None) -> Editor:
    """PUT: the client's state replaces answers, tables, context, activeItem and extra metadata."""

    def change(editor: Editor) -> None:
        doc = editor.doc
        meta = doc["metadata"]
        meta_in: JsonDict = body.get("metadata") or {}
        problems: list[JsonDict] = []
        for name in ("formId", "formRev", "formRevision", "created", "status"):
            if name in meta_in and meta_in[name] != meta[name]:
                problems.append({"pointer": f"/metadata/{name}", "id": name,
                                 "message": f"{name} cannot change (it is {meta[name]!r})"})
        language = meta_in.get("language", meta["language"])
        languages = editor.form.document.get("languages") or []
        if languages and language not in languages:
            problems.append({"pointer": "/metadata/language", "id": "language",
                             "message": f"the form is written in {', '.join(languages)}"})
        context_in: list[JsonDict] = body["context"] if "context" in body else doc["context"]
        values, context_issues = context_problems(editor.form, context_in)
        problems += context_issues
        if "tables" in body:
            doc["tables"] = []
            counters = doc.setdefault("rowCounters", {})
            for index, table in enumerate(body["tables"]):
                item = editor.evaluation().item(table["tableId"])
                if item is None or item.type != "rowgroup":
                    problems.append({"pointer": f"/tables/{index}/tableId", "id": table["tableId"],
                                     "message": "not a row group of this form"})
                    continue
                bad = [r for r in table["rows"] if not r.startswith(table["tableId"] + "[")
                       or row_number(r) == 0]
                if bad:
                    problems.append({"pointer": f"/tables/{index}/rows", "id": table["tableId"],
                                     "message": f"not rows of {table['tableId']}: {', '.join(bad)}"})
                    continue
                doc["tables"].append({"tableId": table["tableId"], "rows": list(table["rows"])})
                counters[table["tableId"]] = max(
                    [counters.get(table["tableId"], 0), *map(row_number, table["rows"])]
                )
        doc["context"] = [{"id": k, "value": v} for k, v in values.items()]
        meta["language"] = language
        # A label other than the one stored is the client's own (a whole state sent back
        # carries the stored one: then the label follows the language, unless it was given).
        if isinstance(meta_in.get("label"), str) and meta_in["label"] != meta["label"]:
            meta["label"] = meta_in["label"]
            doc["labelGiven"] = True
        elif not doc.get("labelGiven"):
            meta["label"] = form_label(editor.form, language)
        if problems:
            raise ApiError(2210, "; ".join(str(p["message"]) for p in problems), details=problems)
        if "answers" in body:
            doc["answers"] = []
            editor._changed()
            editor.answer_all(list(reversed(body["answers"])), "/answers")
            doc["answers"] = list(body["answers"])
        if "metadata" in body:  # the extra attributes are the client's: replaced as sent
            for name in [k for k in meta if k not in RESERVED_METADATA]:
                del meta[name]
            meta.update({k: v for k, v in meta_in.items() if k not in RESERVED_METADATA})
            meta["submitUrl"] = meta_in.get("submitUrl", meta["submitUrl"])
        editor._changed()
        active = editor.evaluation().pages
        wanted = body.get("activeItem", doc["activeItem"])
        if wanted not in active:
            if "activeItem" in body:
                raise ApiError(2210, f"activeItem {wanted} is not an active page",
                               details=[{"pointer": "/activeItem", "id": wanted,
                                         "message": "not an active page"}])
            wanted = active[0] if active else None
        doc["activeItem"] = wanted

    editor, _ = await modify(store, session_id, change, if_match=if_match, owner=owner)
    return editor


async def delete(store: Store, session_id: str, rev: str) -> str:
    doc = await read(store, session_id)
    if doc["_rev"] != rev:
        raise Conflict()
    writer(store).forget(session_id)
    return await store.delete(RECORDS, session_id, rev)


# -- listing ---------------------------------------------------------------------------------


def encode_cursor(key: Any, doc_id: str) -> str:
    raw = json.dumps([key, doc_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[list[Any], str]:
    try:
        key, doc_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(key, list) or not isinstance(doc_id, str):
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error):
        raise ApiError(2211, "query parameter cursor: not one this service wrote", status=400,
                       details=[{"pointer": "?cursor", "message": "not one this service wrote"}]) from None
    return key, doc_id


async def list_page(
    store: Store, *, form_id: str | None, status: str | None, owner: str | None, limit: int,
    cursor: str | None, revision: str | None = None,
) -> tuple[list[JsonDict], str | None]:
    """One page of sessions, oldest first, and the cursor of the next page (None: last page).

    With `revision` (and `form_id`): only the sessions on that exact form revision.
    """
    on_form: list[tuple[str, Any]] = (
        [("r", form_id), ("", revision)] if revision is not None else [("f", form_id)]
    )
    chosen = [(c, v) for c, v in (*on_form, ("s", status), ("o", owner)) if v is not None]
    prefix: list[Any] = ["".join(c for c, _ in chosen) or "all", *(v for _, v in chosen)]
    params: JsonDict = {"startkey": prefix, "endkey": [*prefix, {}]}
    if cursor is not None:
        key, doc_id = decode_cursor(cursor)
        if key[:len(prefix)] != prefix:
            raise ApiError(2211, "query parameter cursor: it belongs to another listing (filters changed)",
                           details=[{"pointer": "?cursor", "message": "from another listing"}])
        params.update(startkey=key, startkey_docid=doc_id)
    answer = await store.view(RECORDS, DESIGN_DOC, LIST_VIEW, include_docs=True,
                              limit=limit + 1, **params)
    rows = answer["rows"]
    following = rows[limit] if len(rows) > limit else None
    docs = [public(row["doc"]) for row in rows[:limit] if row.get("doc")]
    return docs, (encode_cursor(following["key"], following["id"]) if following else None)
