"""`python -m service export-answers [FILE.csv]`: every answer of the questionnaire sessions as
CSV, one row per answer (long format, so any form fits), sessions oldest first, read from the
listing view a chunk at a time (memory stays flat whatever the count).
"""

from __future__ import annotations

import csv
import json
from typing import IO, Any

from tqdm import tqdm

from ..listing import Index, scan
from ..store import RECORDS, Store

COLUMNS = ("sessionId", "formId", "formRevision", "status", "language", "owner", "created",
           "lastAnswer", "answerId", "value")


def _cell(value: Any) -> str:
    # Text as written; everything else (numbers, booleans, multichoice lists) as JSON.
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def sessions_index(form_id: str | None, status: str | None) -> Index:
    if form_id and status:
        prefix: tuple[Any, ...] = ("fs", form_id, status)
    elif form_id:
        prefix = ("f", form_id)
    elif status:
        prefix = ("s", status)
    else:
        prefix = ("all",)
    return Index(RECORDS, "questionnaires", "questionnaires_by_filter", prefix)


async def export_answers(
    store: Store, out: IO[str], *, form_id: str | None = None, status: str | None = None,
    progress: bool = True,
) -> int:
    """Write the header and one row per answer; the number of rows written."""
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    written = 0
    with tqdm(unit="session", desc="sessions", disable=not progress) as bar:
        async for row in scan(store, sessions_index(form_id, status), include_docs=True):
            doc = row["doc"]
            meta = doc["metadata"]
            session = [doc["_id"], meta.get("formId"), meta.get("formRevision"), meta.get("status"),
                       meta.get("language"), doc.get("owner"), meta.get("created"),
                       meta.get("lastAnswer")]
            for answer in doc.get("answers", []):
                writer.writerow([*session, answer["id"], _cell(answer["value"])])
                written += 1
            bar.update()
    return written
