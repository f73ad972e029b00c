"""`python -m service import-delegates FILE.csv`: delegates from a CSV file.

Columns `name` (required), `email`, `company`, `badge`; any other column goes into the
delegate's `data`. Each row is checked like `POST /delegate/new` and created on its own, so
a bad row is reported and the others go on. Importing the same file again creates nothing
new: each row is created under an idempotency key made of its content (identical rows are
one delegate), and a badge already taken is reported, not duplicated.
"""

from __future__ import annotations

import asyncio
import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..errors import ApiError
from ..idempotency import Reserved, fingerprint_of, run_once
from ..ids import reserve_id
from ..schemas import SchemaRegistry, problems
from ..store import Store
from .entries import DELEGATES, create

FIELDS = ("name", "email", "company", "badge")
SCOPE = "delegate.import"
CONCURRENCY = 8


@dataclass
class ImportReport:
    created: int = 0
    already: int = 0
    failed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"created {self.created} delegate(s), {self.already} already imported, "
                 f"{len(self.failed)} row(s) refused"]
        lines += [f"  {problem}" for problem in self.failed]
        return "\n".join(lines)


def row_body(row: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {k: row[k].strip() for k in FIELDS if (row.get(k) or "").strip()}
    extra = {k: v for k, v in row.items() if k and k not in FIELDS and v not in (None, "")}
    if extra:
        body["data"] = extra
    return body


async def import_delegates(
    store: Store, schemas: SchemaRegistry, path: Path, *, progress: bool = True
) -> ImportReport:
    report = ImportReport()
    validator = schemas.validator("delegate.new")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    limit = asyncio.Semaphore(CONCURRENCY)
    bar = tqdm(total=len(rows), unit="row", desc="delegates", disable=not progress)

    async def one(line: int, row: dict[str, str]) -> None:
        body = row_body(row)
        found = problems(validator, body)
        if found:
            report.failed.append(f"line {line}: {found[0]['pointer']}: {found[0]['message']}")
            bar.update()
            return

        async def make(reserved: Reserved) -> int:
            return int((await create(store, DELEGATES, body, reserved.get("id")))["id"])

        async with limit:
            try:
                replay = await run_once(store, SCOPE, fingerprint_of(body), fingerprint_of(body),
                                        make, reserve=reserve_id(store))
            except ApiError as exc:
                report.failed.append(f"line {line}: {exc.message}")
            else:
                if replay.replayed:
                    report.already += 1
                else:
                    report.created += 1
        bar.update()

    try:
        # Line 1 is the header.
        await asyncio.gather(*(one(n, row) for n, row in enumerate(rows, start=2)))
    finally:
        bar.close()
    report.failed.sort(key=lambda text: int(text.split()[1].rstrip(":")))
    return report
