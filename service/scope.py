"""What a device-only caller (Settee role `device`, neither `admin` nor `reader`) reads through
the REST API: what replication gives it (docs/DEVICES.md, docs/SECURITY.md). Its own
interactions and sessions, the registry as the catalog shows it; another device's records
answer as missing records do, so their existence does not show.

Admins and readers see everything: `owner_of` answers None for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .auth import User
from .errors import Forbidden
from .sync.catalog import project

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class Owner:
    """Whose records a device-only caller sees: those of its device (an interaction's
    `firstDevice`, the rule replication's ownership check applies), or, for a device user bound
    to no device (created before provisioning existed), the interactions it created
    (`createdBy`); sessions: those it opened (`owner`), either way."""

    name: str
    device: int | None

    @property
    def interactions_key(self) -> tuple[str, str | int]:
        """The prefix of its interactions in the view `owners/interactions_by_owner`."""
        return ("device", self.device) if self.device is not None else ("user", self.name)

    def owns_interaction(self, doc: JsonDict) -> bool:
        if self.device is not None:
            return doc.get("firstDevice") == self.device
        return doc.get("createdBy") == self.name

    def owns_session(self, doc: JsonDict) -> bool:
        return doc.get("owner") == self.name

    def device_filter(self, wanted: int | None) -> None:
        """A bound device lists only its own device's interactions: naming another is 403."""
        if wanted is not None and self.device is not None and wanted != self.device:
            raise Forbidden(f"this user reads only device {self.device}'s interactions, "
                            f"not device {wanted}'s")

    def owner_filter(self, wanted: str | None) -> str:
        """The sessions listing's `owner`: always this user; naming another is 403."""
        if wanted is not None and wanted != self.name:
            raise Forbidden(f"this user reads only its own sessions ({self.name}), "
                            f"not {wanted}'s")
        return self.name


def owner_of(user: User) -> Owner | None:
    """None: the caller sees every record (an admin, a reader)."""
    if not user.device_only or user.name is None:
        return None
    return Owner(user.name, user.device_id)


def delegate_shown(user: User, doc: JsonDict, public: JsonDict) -> JsonDict:
    """A delegate as the caller sees it: whole (`public`), or, for a device-only caller, only
    the fields the catalog gives devices."""
    if not user.device_only:
        return public
    seen = project(doc) or {}
    return {"id": public["id"], "_type": public["_type"],
            **{k: v for k, v in seen.items() if k not in ("_id", "type", "id")}}


def session_owner(user: User) -> str | None:
    """The only owner whose sessions the caller sees (None: every session)."""
    owner = owner_of(user)
    return owner.name if owner is not None else None


def sessions_listed(user: User, wanted: str | None) -> str | None:
    """The sessions listing's `owner` filter as the caller may use it."""
    owner = owner_of(user)
    return owner.owner_filter(wanted) if owner is not None else wanted
