"""Pages of a CouchDB view, for the list endpoints: cursors, offsets, totals, links, streaming.

A listing reads one range of one view (`Index`), ordered by key; keys end with the record's
id, so a range is ordered by id. A page is read in chunks (`CHUNK` rows per engine request,
the next chunk fetched while the current one is written out), so memory stays flat whatever
the page size. Filters the view cannot select are a `Filter` on each row's value, applied
in-process.

- `next` carries a cursor: the key of the first row of the next page (and that page's
  offset), so following it costs the same at the end of a million rows as at the start.
- `previous` carries `before=` the key of this page's first row: the page ending there is
  found by reading backwards from it (the same cost anywhere).
- A plain `offset` still works: CouchDB's `skip`, which costs in proportion to the offset.
- `total`: the view's `total_rows` for a whole view; a `_count` reduce over the range when
  only the view selects; a count of the matching rows' values when a `Filter` applies.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from .errors import ApiError
from .store import Store

JsonDict = dict[str, Any]
Filter = Callable[[Any], bool]
CHUNK = 1000


@dataclass(frozen=True)
class Index:
    """A range of a view: every key that starts with `prefix`."""

    db: str
    ddoc: str
    view: str
    prefix: tuple[Any, ...] = ()

    @property
    def startkey(self) -> list[Any]:
        return list(self.prefix)

    @property
    def endkey(self) -> list[Any]:
        return [*self.prefix, {}]


@dataclass(frozen=True)
class Cursor:
    key: list[Any]
    offset: int

    def token(self) -> str:
        raw = json.dumps([self.key, self.offset], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def parse(cls, name: str, token: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            key, offset = json.loads(raw)
            if not isinstance(key, list) or not isinstance(offset, int) or offset < 0:
                raise ValueError("not a cursor")
        except (ValueError, TypeError, binascii.Error) as exc:
            raise bad_parameter(name, "not a cursor this service gave") from exc
        return cls(key, offset)


def bad_parameter(name: str, message: str) -> ApiError:
    return ApiError(
        1002, f"query parameter {name}: {message}",
        details=[{"pointer": f"?{name}", "message": message}],
    )


@dataclass(frozen=True)
class PageQuery:
    limit: int
    offset: int = 0
    cursor: Cursor | None = None
    before: Cursor | None = None


def integer_parameter(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = query.get(name)
    if text is None or text == "":
        return default
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise bad_parameter(name, f"must be an integer from {low} to {high}")
    return int(text)


def page_query(query: Mapping[str, str], max_page_size: int) -> PageQuery:
    """`limit` (default and maximum: the configured page size), `offset`, `cursor`, `before`."""
    limit = integer_parameter(query, "limit", max_page_size, 1, max_page_size)
    offset = integer_parameter(query, "offset", 0, 0, 10**12)
    cursor = Cursor.parse("cursor", query["cursor"]) if query.get("cursor") else None
    before = Cursor.parse("before", query["before"]) if query.get("before") else None
    if cursor and before:
        raise bad_parameter("before", "give either cursor or before, not both")
    return PageQuery(limit, offset, cursor, before)


async def scan(
    store: Store, index: Index, *, startkey: list[Any] | None = None, skip: int = 0,
    descending: bool = False, include_docs: bool = False, wanted: int | None = None,
    first: dict[str, Any] | None = None,
) -> AsyncGenerator[JsonDict, None]:
    """The rows of the range from `startkey` on (inclusive; all, or the first `wanted`).

    The next chunk is requested while the rows of the current one are consumed. When given,
    `first` receives the first answer's `total_rows`.
    """
    lower, upper = index.startkey, index.endkey
    start = startkey if startkey is not None else (upper if descending else lower)
    end = lower if descending else upper

    left = wanted

    async def fetch(start: list[Any], skip: int, size: int) -> JsonDict:
        return await store.view(
            index.db, index.ddoc, index.view, startkey=start, endkey=end, skip=skip or None,
            limit=size, descending=descending or None, include_docs=include_docs or None,
            reduce=False,
        )

    size = CHUNK if left is None else min(CHUNK, left)
    pending: asyncio.Task[JsonDict] | None = asyncio.ensure_future(fetch(start, skip, size))
    try:
        while pending is not None:
            answer = await pending
            pending = None
            if first is not None and "total_rows" not in first:
                first["total_rows"] = answer.get("total_rows")
            rows = answer["rows"]
            if left is not None:
                left -= len(rows)
            if len(rows) == size and (left is None or left > 0):
                size = CHUNK if left is None else min(CHUNK, left)
                pending = asyncio.ensure_future(fetch(rows[-1]["key"], 1, size))
            for row in rows:
                yield row
    finally:
        if pending is not None:
            pending.cancel()


async def count(store: Store, index: Index, matches: Filter | None = None) -> int:
    """How many rows of the range (that `matches`, when given)."""
    if matches is None:
        answer = await store.view(
            index.db, index.ddoc, index.view, startkey=index.startkey, endkey=index.endkey,
            reduce=True,
        )
        rows = answer.get("rows") or []
        return int(rows[0]["value"]) if rows else 0
    total = 0
    async for row in scan(store, index):
        if matches(row["value"]):
            total += 1
    return total


@dataclass
class Page:
    """One page of a listing: iterate `rows()` once, then read `next`/`previous` and `total()`."""

    store: Store
    index: Index
    query: PageQuery
    matches: Filter | None = None
    offset: int = 0
    next: Cursor | None = None
    previous: Cursor | None = None
    previous_offset: int | None = None
    returned: int = 0
    _first: dict[str, Any] = field(default_factory=dict)
    _total: asyncio.Task[int] | None = None

    def start_total(self) -> None:
        """Count concurrently with reading the page (not needed for a whole view)."""
        if self.index.prefix or self.matches is not None:
            self._total = asyncio.ensure_future(count(self.store, self.index, self.matches))

    async def total(self) -> int:
        if self._total is not None:
            return await self._total
        total_rows = self._first.get("total_rows")
        if total_rows is None:
            return await count(self.store, self.index)
        return int(total_rows)

    def cancel(self) -> None:
        if self._total is not None and not self._total.done():
            self._total.cancel()

    def _check_cursors(self) -> None:
        """A cursor or `before` names a row of this listing's range: its prefix and one id.
        Any other key would start the read outside the range (another device's rows)."""
        prefix = list(self.index.prefix)
        for name, given in (("cursor", self.query.cursor), ("before", self.query.before)):
            if given is None:
                continue
            key = given.key
            last = key[-1] if key else None
            if (len(key) != len(prefix) + 1 or key[:-1] != prefix
                    or not isinstance(last, int) or isinstance(last, bool)):
                raise bad_parameter(name, "it belongs to another listing (the filters changed)")

    async def _start(self) -> tuple[list[Any] | None, int]:
        """Where the page starts (a key, and raw rows to skip) and its offset."""
        query = self.query
        self._check_cursors()
        if query.cursor is not None:
            return query.cursor.key, 0
        if query.before is not None:
            found: list[Any] | None = None
            taken = 0
            backwards = scan(
                self.store, self.index, startkey=query.before.key, skip=1, descending=True,
                wanted=query.limit if self.matches is None else None,
            )
            async with aclosing(backwards):  # stops the chunk read ahead at once
                async for row in backwards:
                    if self.matches is None or self.matches(row["value"]):
                        found, taken = row["key"], taken + 1
                        if taken == query.limit:
                            break
            self.offset = max(query.before.offset - taken, 0)
            if taken < query.limit:
                # Fewer rows than a page before it: the first page.
                self.offset = 0
                return None, 0
            return found, 0
        self.offset = query.offset
        return None, query.offset if self.matches is None else 0

    async def rows(self) -> AsyncIterator[JsonDict]:
        """The page's rows (with their documents), in key order."""
        query = self.query
        if query.cursor is not None:
            self.offset = query.cursor.offset
        startkey, skip = await self._start()
        to_skip = query.offset if (self.matches is not None and query.cursor is None
                                   and query.before is None) else 0
        first_key: list[Any] | None = None
        forwards = scan(
            self.store, self.index, startkey=startkey, skip=skip, include_docs=True,
            wanted=None if self.matches is not None else query.limit + 1, first=self._first,
        )
        async with aclosing(forwards):
            async for row in forwards:
                if self.matches is not None and not self.matches(row["value"]):
                    continue
                if to_skip:
                    to_skip -= 1
                    continue
                if self.returned == query.limit:
                    self.next = Cursor(row["key"], self.offset + self.returned)
                    break
                if first_key is None:
                    first_key = row["key"]
                self.returned += 1
                yield row
        if self.offset > 0:
            if query.cursor is None and query.before is None:
                self.previous_offset = max(self.offset - query.limit, 0)
            elif first_key is not None:
                self.previous = Cursor(first_key, self.offset)

    def links(self, path: str, params: Mapping[str, str]) -> tuple[str | None, str | None]:
        """The `next` and `previous` links, keeping the filters and the limit."""
        base = {k: v for k, v in params.items() if k not in ("offset", "cursor", "before")}
        base["limit"] = str(self.query.limit)
        next_link = previous_link = None
        if self.next is not None:
            next_link = f"{path}?{urlencode({**base, 'cursor': self.next.token()})}"
        if self.previous is not None:
            previous_link = f"{path}?{urlencode({**base, 'before': self.previous.token()})}"
        elif self.previous_offset is not None:
            previous_link = f"{path}?{urlencode({**base, 'offset': str(self.previous_offset)})}"
        return next_link, previous_link
