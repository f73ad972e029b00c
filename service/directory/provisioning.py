"""Provisioning devices for offline work: a CouchDB user bound to the device, its own database
to replicate with, and blocks of interaction ids it can hand out offline.

- The user is `device-<id>` with the roles `settee:device` and `settee:device:<id>`; its
  password is a random secret shown once (provisioning again, or rotating, makes a new one;
  revoking deletes the user, so the engine refuses its replication at once).
- Its database is `device_<id, 10 digits>` with that user as the only member and the device
  design documents (couchapp/device/: what a device may write there). The service follows it
  and copies what passes its checks into `records` (service/sync/).
- Its id blocks are reserved like a service process's (ids.py), owned by `device:<id>`, and
  listed on `provision:<id>` in the internal database and on the `deviceConfig` document of
  its database, which the device pulls. It starts with FIRST_BLOCKS and asks for the next one
  while online (`POST /device/id:{id}/idblocks`).
"""

from __future__ import annotations

import secrets
from typing import Any

from ..clock import now_iso
from ..couchapp import deploy_device_database
from ..errors import ApiError
from ..ids import BLOCK_SIZE, block_range, doc_id, padded, reserve_block
from ..settings import Settings
from ..store import (
    DEVICE_DB_PREFIX,
    DEVICE_ROLE,
    INTERNAL,
    REGISTRY,
    DocumentConflict,
    Store,
)

JsonDict = dict[str, Any]
FIRST_BLOCKS = 2  # 2,000 ids: a day of a busy door; the next block is asked for at half
CONFIG_ID = "deviceConfig"
USER_PREFIX = "device-"


def user_name(number: int) -> str:
    return f"{USER_PREFIX}{number}"


def database(number: int) -> str:
    return f"{DEVICE_DB_PREFIX}{padded(number)}"


def device_of_database(name: str) -> int | None:
    text = name.removeprefix(DEVICE_DB_PREFIX)
    return int(text) if text != name and text.isascii() and text.isdigit() else None


def _record_id(number: int) -> str:
    return f"provision:{padded(number)}"


async def _require_device(store: Store, number: int) -> None:
    if await store.get_or_none(REGISTRY, doc_id("device", number)) is None:
        raise ApiError(1401, f"no device with id {number}")


async def provisioning(store: Store, number: int) -> JsonDict | None:
    """The device's provisioning record (None: never provisioned)."""
    return await store.get_or_none(INTERNAL, _record_id(number))


def _blocks(record: JsonDict) -> list[JsonDict]:
    return [{"block": b, "first": block_range(b).start, "last": block_range(b).stop - 1}
            for b in record.get("blocks", [])]


def sync_base(settings: Settings, origin: str | None = None) -> str:
    """The service's address as devices reach it: SETTEE_SYNC_URL, else the address a request
    came to, else where the service listens."""
    return (settings.sync_url or origin or f"http://{settings.host}:{settings.port}").rstrip("/")


def setup(store: Store, number: int, record: JsonDict, password: str | None,
          origin: str | None = None) -> JsonDict:
    """What a device needs to work offline (the password only when it was just made). Its sync
    URLs are the service's replication endpoint (handlers/replication.py), not the engine."""
    base = sync_base(store.settings, origin)
    answer: JsonDict = {
        "device": number,
        "user": record["user"],
        "state": record["state"],
        "sync": {"records": f"{base}/sync/devices/{number}", "catalog": f"{base}/sync/catalog"},
        "idBlocks": _blocks(record),
        "blockSize": BLOCK_SIZE,
        "provisionedAt": record["provisionedAt"],
        "updatedAt": record["updatedAt"],
    }
    if password is not None:
        answer["password"] = password
    return answer


async def _save(store: Store, record: JsonDict) -> JsonDict:
    record["updatedAt"] = now_iso()
    record["_rev"] = await store.put(INTERNAL, record)
    return record


async def _write_config(store: Store, number: int, record: JsonDict) -> None:
    """The `deviceConfig` document of its database: its id blocks, pulled by the device."""
    db = database(number)
    current = await store.get_or_none(db, CONFIG_ID)
    config: JsonDict = {
        "_id": CONFIG_ID, "type": CONFIG_ID, "device": number, "user": record["user"],
        "idBlocks": _blocks(record), "createdAt": (current or {}).get("createdAt", now_iso()),
        "updatedAt": now_iso(),
    }
    if current is not None:
        config["_rev"] = current["_rev"]
    await store.put(db, config)


async def _set_password(store: Store, name: str, number: int) -> str:
    password = secrets.token_urlsafe(24)
    existing = await store.get_user(name)
    roles = [DEVICE_ROLE, f"{DEVICE_ROLE}:{number}"]
    await store.put_user(name, password, roles, rev=existing["_rev"] if existing else None)
    return password


async def provision(store: Store, number: int, origin: str | None = None) -> JsonDict:
    """Provision a device (again: a new secret; its database, records and blocks stay)."""
    await _require_device(store, number)
    name = user_name(number)
    record = await provisioning(store, number) or {
        "_id": _record_id(number), "type": "provisioning", "device": number, "user": name,
        "blocks": [], "provisionedAt": now_iso(), "createdAt": now_iso(),
    }
    for _ in range(FIRST_BLOCKS - len(record["blocks"])):
        after = max(record["blocks"]) if record["blocks"] else None
        record["blocks"].append(await reserve_block(store, f"device:{number}", after))
    record["state"] = "active"
    record = await _save(store, record)  # first: the sync worker reads it for the database
    await store.ensure_device_database(database(number), name)
    await deploy_device_database(store, database(number))
    await _write_config(store, number, record)
    password = await _set_password(store, name, number)
    return setup(store, number, record, password, origin)


async def rotate(store: Store, number: int, origin: str | None = None) -> JsonDict:
    record = await _provisioned(store, number)
    password = await _set_password(store, record["user"], number)
    record["state"] = "active"
    record = await _save(store, record)
    return setup(store, number, record, password, origin)


async def revoke(store: Store, number: int, origin: str | None = None) -> JsonDict:
    """The device's user is deleted: REST and replication refuse it at once (its database and
    what it recorded stay)."""
    record = await _provisioned(store, number)
    user = await store.get_user(record["user"])
    if user is not None:
        await store.delete_user(record["user"], user["_rev"])
    record["state"] = "revoked"
    record = await _save(store, record)
    return setup(store, number, record, None, origin)


async def next_block(store: Store, number: int, origin: str | None = None) -> JsonDict:
    """Reserve one more id block for the device (it asks while online)."""
    for _ in range(5):
        record = await _provisioned(store, number)
        if record["state"] != "active":
            raise ApiError(1102, f"device {number} is revoked")
        after = max(record["blocks"]) if record["blocks"] else None
        record["blocks"].append(await reserve_block(store, f"device:{number}", after))
        try:
            record = await _save(store, record)
        except DocumentConflict:
            continue  # another request added a block meanwhile: ours stays reserved, unused
        await _write_config(store, number, record)
        return setup(store, number, record, None, origin)
    raise ApiError(1601, "the device's blocks kept changing; retry")


async def _provisioned(store: Store, number: int) -> JsonDict:
    await _require_device(store, number)
    record = await provisioning(store, number)
    if record is None:
        raise ApiError(1401, f"device {number} is not provisioned: POST /device/id:{number}/provision",
                       status=409)
    return record


def owns(record: JsonDict, number: int) -> bool:
    """Is this id inside one of the device's blocks?"""
    return number // BLOCK_SIZE in set(record.get("blocks", []))
