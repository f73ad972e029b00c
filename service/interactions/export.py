"""`python -m service export-interactions [FILE.csv]`: every interaction as a CSV row, in id
order, read from the id view a chunk at a time (memory stays flat whatever the count).
"""

from __future__ import annotations

import csv
import json
from typing import IO, Any

from tqdm import tqdm

from ..listing import count, scan
from ..store import Store
from .search import Filters, plan
from .types import DELEGATE_SLOTS, DEVICE_SLOTS

COLUMNS = ("id", "interactionType", *DELEGATE_SLOTS, *DEVICE_SLOTS, "recordedAt", "createdAt",
           "updatedAt", "data")


def row_of(doc: dict[str, Any]) -> list[Any]:
    row = [doc.get(column) for column in COLUMNS[:-1]]
    row.append(json.dumps(doc["data"], ensure_ascii=False) if "data" in doc else "")
    return row


async def export_interactions(
    store: Store, out: IO[str], *, interaction_type: str | None = None, progress: bool = True
) -> int:
    """Write the header and one row per interaction; the number of rows written."""
    index, matches = plan(Filters(interaction_type=interaction_type))
    total = await count(store, index)
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    written = 0
    with tqdm(total=total, unit="row", desc="interactions", disable=not progress) as bar:
        async for row in scan(store, index, include_docs=True):
            if matches is None or matches(row["value"]):
                writer.writerow(row_of(row["doc"]))
                written += 1
            bar.update()
    return written
