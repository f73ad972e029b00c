"""Time as the APIs write it: ISO 8601 in UTC; and reading what clients send (unix seconds or ISO 8601)."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """`2018-03-13T23:31:32+00:00`, or with milliseconds when the moment has them."""
    moment = moment.astimezone(UTC)
    spec = "milliseconds" if moment.microsecond else "seconds"
    return moment.isoformat(timespec=spec)


def now_iso() -> str:
    return iso(now())


def parse_timestamp(value: int | float | str) -> datetime:
    """Unix seconds or ISO 8601 with a zone; ValueError for anything else."""
    if isinstance(value, bool):
        raise ValueError("a timestamp is a number or a string")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return parsed.astimezone(UTC)
