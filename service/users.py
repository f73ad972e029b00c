"""Settee users are CouchDB users (`_users`) whose roles name what they may do here."""

from __future__ import annotations

from collections.abc import Iterable

from .errors import ApiError
from .store import ADMIN_ROLE, DEVICE_ROLE, READER_ROLE, DocumentConflict, Store

COUCH_ROLE_OF = {"admin": ADMIN_ROLE, "device": DEVICE_ROLE, "reader": READER_ROLE}


async def create_user(
    store: Store, name: str, password: str, roles: Iterable[str], extra_roles: Iterable[str] = ()
) -> dict[str, object]:
    couch_roles = [COUCH_ROLE_OF[r] for r in roles] + list(extra_roles)
    try:
        await store.put_user(name, password, couch_roles)
    except DocumentConflict as exc:
        raise ApiError(1601, f"user {name} already exists", status=409) from exc
    return {"name": name, "roles": sorted(roles)}
