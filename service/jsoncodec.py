"""JSON on the hot path: orjson (several times faster than the standard library) wherever it
is exact, the standard library where it is not.

orjson refuses integers beyond 64 bits (a client may send one; CouchDB keeps it): those
values are encoded and copied by the standard library instead. Decoding engine answers stays
with the standard library, which keeps such integers exact (orjson would make them floats).
"""

from __future__ import annotations

import copy as _copy
import json
from typing import Any, TypeVar

import orjson

T = TypeVar("T")


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON."""
    try:
        return orjson.dumps(value)
    except TypeError:  # an integer beyond 64 bits
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def copy(value: T) -> T:
    """A deep copy of a JSON value (a round trip through orjson: a tenth of deepcopy's time)."""
    try:
        copied: T = orjson.loads(orjson.dumps(value))
        return copied
    except TypeError:
        return _copy.deepcopy(value)
