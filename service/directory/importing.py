"""`python -m service import-delegates FILE.csv`: delegates from a CSV file, written in bulk.

Columns `name` (required), `email`, `company`, `badge`; any other column goes into the
delegate's `data`. The header row is checked once, before anything is written: a missing
`name` column, a column that differs from a known one only in case or spaces (`Email`), an
unnamed or repeated column stops the import with one message. Each row is then checked like
`POST /delegate/new`; a bad row is reported and the others go on.

Rows are written `CHUNK` at a time, in two `_bulk_docs` requests per chunk (two documents
per row) instead of a few requests per row. Each row has a record keyed by what identifies
it: its badge claim (`badges.py`), noting the row's content, or for a row without a badge an
idempotency record keyed by its content (the records `Idempotency-Key` uses,
`service/idempotency.py`). Per chunk:
1. the records are read: a row whose record names it was imported before, and identical
   rows are one delegate;
2. new records are written in one request; a badge claimed already is settled row by row as
   `POST /delegate/new` settles it, so a badge of an existing delegate, or of an earlier row
   of the file, is refused naming that delegate;
3. the delegates are written in one request.
A record is written before its delegate, so an import stopped between the two leaves a
record whose delegate is missing: the next import (which checks) writes it under the
record's id, never a second copy. Rows repeating a badge of an earlier row (with other
content) are written in a later pass, after that row's claim.
"""

from __future__ import annotations

import asyncio
import csv
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..clock import now_iso
from ..errors import ApiError
from ..idempotency import fingerprint_of, key_doc_id, pending_record
from ..ids import allocator, doc_id
from ..interactions.types import inlined
from ..schemas import SchemaRegistry, problems
from ..store import INTERNAL, REGISTRY, JsonDict, Store
from . import badges
from .entries import DELEGATES, new_document

FIELDS = ("name", "email", "company", "badge")
SCOPE = "delegate.import"
EXTRA_CELLS = "\0"  # where a row's cells beyond the header's columns go (no column has this name)
IMPORTED_ROW = "importedRow"  # on a badge claim: the content of the row it was imported from
CHUNK = 500
# The engine works on one chunk while the service prepares or sends the next.
CHUNKS_IN_FLIGHT = 3
CONCURRENCY = 8  # badge claims settled one by one (rare: badges taken already)



class DelegateFileError(ValueError):
    """A file that cannot be imported at all (missing, unreadable, a header it cannot use)."""


@dataclass
class ImportReport:
    created: int = 0
    already: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)

    def refuse(self, line: int, reason: str) -> None:
        self.failed.append((line, reason))

    def summary(self) -> str:
        lines = [f"created {self.created} delegate(s), {self.already} already imported, "
                 f"{len(self.failed)} row(s) refused"]
        lines += [f"  line {line}: {reason}" for line, reason in sorted(self.failed)]
        return "\n".join(lines)


@dataclass
class DelegateFile:
    path: Path
    rows: list[tuple[int, dict[str, str]]]  # (line number, row)


def read_delegates(path: Path) -> DelegateFile:
    """The file's rows, once its header is known to be usable."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle, restkey=EXTRA_CELLS)
            header_problems = _header_problems(reader.fieldnames)
            if header_problems:
                raise DelegateFileError(
                    f"{path}: {'; '.join(header_problems)} (the first row names the columns: "
                    f"{', '.join(FIELDS)}; any other column goes into data)")
            # Line 1 is the header; reader.line_num counts quoted line breaks too.
            rows = [(reader.line_num, row) for row in reader]
    except FileNotFoundError:
        raise DelegateFileError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise DelegateFileError(f"{path} is a folder, not a CSV file") from None
    except PermissionError:
        raise DelegateFileError(f"{path} cannot be read (permission denied)") from None
    except UnicodeDecodeError as exc:
        raise DelegateFileError(f"{path} is not UTF-8 text (byte {exc.start}): save it as "
                                "CSV UTF-8") from None
    except csv.Error as exc:
        raise DelegateFileError(f"{path} line {reader.line_num}: {exc}") from None
    return DelegateFile(path, rows)


def _header_problems(columns: Iterable[str] | None) -> list[str]:
    if columns is None:
        return ["the file is empty"]
    found: list[str] = []
    names = list(columns)
    for position, name in enumerate(names, start=1):
        plain = name.strip().lower()
        if not plain:
            found.append(f"column {position} has no name")
        elif plain in FIELDS and name != plain:
            found.append(f"column {name!r} should be {plain!r}")
    found += [f"column {name!r} appears {count} times"
              for name, count in Counter(names).items() if count > 1 and name.strip()]
    if "name" not in names and not any(name.strip().lower() == "name" for name in names):
        found.append(f"no 'name' column (found: {', '.join(repr(n) for n in names)})")
    return found


def row_body(row: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {k: row[k].strip() for k in FIELDS if (row.get(k) or "").strip()}
    extra = {k: v for k, v in row.items() if k and k not in FIELDS and v not in (None, "")}
    if extra:
        body["data"] = extra
    return body


@dataclass
class _Row:
    line: int
    body: JsonDict
    fingerprint: str
    number: int = 0
    # What marks the row imported: its badge's claim (noting the row), or its own idempotency
    # record when it has no badge; once read or made.
    record: JsonDict = field(default_factory=dict)

    @property
    def badge(self) -> str | None:
        badge = self.body.get("badge")
        return str(badge) if badge is not None else None

    @property
    def record_id(self) -> str:
        return badges.claim_id(self.badge) if self.badge else key_doc_id(SCOPE, self.fingerprint)

    def imported_as(self, record: JsonDict) -> int | None:
        """The delegate a stored record gives this row; None when it is not this row's."""
        if self.badge:
            mine = record.get(IMPORTED_ROW) == self.fingerprint
            return int(record["delegate"]) if mine else None
        return int(record.get("result") or (record.get("reserved") or {}).get("id") or 0) or None

    def new_record(self) -> JsonDict:
        if self.badge:
            return {**badges.claim_document(self.badge, self.number),
                    IMPORTED_ROW: self.fingerprint}
        return {**pending_record(SCOPE, self.fingerprint, self.fingerprint, {"id": self.number}),
                "state": "done", "result": self.number}


async def import_delegates(
    store: Store, schemas: SchemaRegistry, source: DelegateFile, *, progress: bool = True,
    chunk_size: int = CHUNK,
) -> ImportReport:
    report = ImportReport()
    # The schema with its references resolved once: checking each row is twice as fast.
    validator = schemas.validator_for(inlined(schemas, "delegate.new"))
    passes: list[list[_Row]] = []
    seen_content: set[str] = set()
    badge_seen: Counter[str] = Counter()
    bar = tqdm(total=len(source.rows), unit="row", desc="delegates", disable=not progress)
    try:
        for line, row in source.rows:
            if row.get(EXTRA_CELLS):
                report.refuse(line, f"{len(row[EXTRA_CELLS])} cell(s) more than the header has "
                                    "columns")
                bar.update()
                continue
            body = row_body(row)
            found = problems(validator, body)
            if found:
                report.refuse(line, f"{found[0]['pointer']}: {found[0]['message']}")
                bar.update()
                continue
            fingerprint = fingerprint_of(body)
            if fingerprint in seen_content:  # the same row again: the same delegate
                report.already += 1
                bar.update()
                continue
            seen_content.add(fingerprint)
            # The n-th row with a badge goes in pass n, after the claims of the rows before it.
            occurrence = badge_seen[body["badge"]] if "badge" in body else 0
            if "badge" in body:
                badge_seen[body["badge"]] += 1
            while len(passes) <= occurrence:
                passes.append([])
            passes[occurrence].append(_Row(line, body, fingerprint))
        in_flight = asyncio.Semaphore(CHUNKS_IN_FLIGHT)

        async def one(chunk: list[_Row]) -> None:
            async with in_flight:
                await _import_chunk(store, chunk, report)
            bar.update(len(chunk))

        for rows in passes:  # a pass's chunks share no badge: they may go side by side
            await asyncio.gather(*(one(rows[start:start + chunk_size])
                                   for start in range(0, len(rows), chunk_size)))
    finally:
        bar.close()
    return report


async def _import_chunk(store: Store, rows: list[_Row], report: ImportReport) -> None:
    rows = await _assign(store, rows, report)
    rows = await _claim(store, rows, report)
    if not rows:
        return
    docs = [new_document(DELEGATES, row.body, row.number, now_iso()) for row in rows]
    refused: list[_Row] = []
    for row, result in zip(rows, await store.bulk_docs(REGISTRY, docs), strict=True):
        if "error" not in result:
            report.created += 1
        elif result["error"] == "conflict":  # written meanwhile by an import of the same row
            report.already += 1
        else:
            report.refuse(row.line, str(result.get("reason") or result["error"]))
            refused.append(row)
    await _release_badges(store, refused)
    lost = [{**row.record, "_deleted": True} for row in refused if not row.badge]
    if lost:
        await store.bulk_docs(INTERNAL, lost)


async def _assign(store: Store, rows: list[_Row], report: ImportReport) -> list[_Row]:
    """The rows to write, each with its delegate's id: the id its record holds for a row
    imported before (written again only if its delegate is missing), a new one otherwise."""
    records = await store.fetch_docs(INTERNAL, [row.record_id for row in rows])
    for row in rows:
        record = records.get(row.record_id)
        number = row.imported_as(record) if record is not None else None
        if number is not None:
            row.number, row.record = number, record or {}
    seen = [doc_id(DELEGATES.name, row.number) for row in rows if row.number]
    written = await store.existing_ids(REGISTRY, seen) if seen else set()
    todo: list[_Row] = []
    for row in rows:
        if row.number and doc_id(DELEGATES.name, row.number) in written:
            report.already += 1
            continue
        if not row.number:
            row.number = await allocator(store).next_id()
            row.record = row.new_record()
        todo.append(row)
    return todo


async def _claim(store: Store, rows: list[_Row], report: ImportReport) -> list[_Row]:
    """New records (badge claims among them) in one request; the rows whose badge, if any,
    is now theirs. A badge claimed already is settled as `POST /delegate/new` settles it."""
    new = [row for row in rows if "_rev" not in row.record]
    results = await store.bulk_docs(INTERNAL, [row.record for row in new]) if new else []
    refused: set[int] = set()
    contested: list[_Row] = []
    for row, result in zip(new, results, strict=True):
        if "error" not in result:
            row.record["_rev"] = result["rev"]
        elif row.badge:
            contested.append(row)
        else:  # another import of the same row, right now
            report.refuse(row.line, "being imported by another run at the same time; import "
                                    "the file again when it is done")
            refused.add(row.line)
    limit = asyncio.Semaphore(CONCURRENCY)

    async def settle(row: _Row) -> None:
        assert row.badge is not None
        async with limit:
            try:
                await badges.claim(store, row.badge, row.number, {IMPORTED_ROW: row.fingerprint})
            except ApiError as exc:
                report.refuse(row.line, exc.message)
                refused.add(row.line)

    await asyncio.gather(*(settle(row) for row in contested))
    return [row for row in rows if row.line not in refused]


async def _release_badges(store: Store, rows: list[_Row]) -> None:
    for row in rows:
        if row.badge:
            await badges.release(store, row.badge, row.number)
