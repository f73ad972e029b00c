"""Failed logins, limited by the service itself.

Apache CouchDB locks an account after 5 failed logins per user name and client address (for
5 minutes). Every check the service makes comes from the service's own address, so without a
limit here five wrong passwords from anyone would lock that user out for everybody. So the
service counts failures itself, per user name and per client address, and once a budget is
spent it answers 429 with Retry-After without asking the engine:

- per user name: `login_max_failures` (default 4, one fewer than CouchDB's threshold) in
  `login_window_seconds` (default 300, CouchDB's lockout lifetime). Credentials that already
  succeeded are answered from the credentials cache and never count here, so a user who is
  logged in keeps working while somebody guesses their password.
- per client address: `address_max_failures` (default 20) in the same window, whatever names
  they try.

The client address is the connection's, or the nearest address in `X-Forwarded-For` that is
not a trusted proxy when the connection comes from one (`trusted_proxies`).
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence

from .errors import ApiError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_KEYS = 100_000  # counters kept, oldest dropped first: memory stays bounded under attack


def parse_networks(text: str) -> tuple[Network, ...]:
    """`SETTEE_TRUSTED_PROXIES`: comma-separated addresses or networks (`10.0.0.0/8`)."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False)
                 for part in text.split(",") if part.strip())


def client_address(peer: str | None, forwarded_for: Sequence[str], trusted: Iterable[Network]) -> str:
    """The address a request comes from: walk `X-Forwarded-For` from the nearest hop while the
    hop that added it is a trusted proxy."""
    networks = tuple(trusted)
    address = peer or "unknown"
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    while hops and _trusted(address, networks):
        address = hops.pop()
    return address


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


class _Window:
    """Failure times per key within a sliding window."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self._times: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._times.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.seconds:
            times.popleft()
        if not times:
            del self._times[key]
            return None
        return times

    def wait(self, key: str, now: float) -> float:
        """Seconds until `key` may try again (0: now)."""
        times = self._recent(key, now)
        if times is None or len(times) < self.limit:
            return 0.0
        return times[len(times) - self.limit] + self.seconds - now

    def add(self, key: str, now: float) -> None:
        times = self._recent(key, now)
        if times is None:
            times = self._times[key] = deque()
        times.append(now)
        self._times.move_to_end(key)
        while len(self._times) > MAX_KEYS:
            self._times.popitem(last=False)


class LoginLimiter:
    def __init__(self, per_user: int, per_address: int, seconds: float) -> None:
        self._users = _Window(per_user, seconds)
        self._addresses = _Window(per_address, seconds)

    def check(self, user: str | None, address: str) -> None:
        """Refuse (429) before asking the engine when either budget is spent."""
        now = time.monotonic()
        wait = max(self._addresses.wait(address, now),
                   self._users.wait(user, now) if user is not None else 0.0)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise ApiError(1103, f"Too many failed logins; retry after {seconds} seconds",
                           headers={"Retry-After": str(seconds)})

    def failed(self, user: str | None, address: str) -> None:
        now = time.monotonic()
        self._addresses.add(address, now)
        if user is not None:
            self._users.add(user, now)
