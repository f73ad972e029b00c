"""Requests to addresses outside the engine (a session's `submitUrl`).

They go out on an HTTP session of their own: it carries none of the engine's credentials,
keeps no cookies (a receiver cannot plant one that a later delivery would carry to another
receiver), and follows no redirects (a receiver cannot bounce a delivery elsewhere).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiohttp


class Outbound:
    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def post_json(
        self, url: str, body: Any, headers: Mapping[str, str], seconds: float
    ) -> int:
        """POST JSON; the answer's status. Unreachable, refused or too slow: ConnectionError."""
        if self._session is None:
            self._session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        try:
            async with self._session.post(
                url, data=json.dumps(body, separators=(",", ":")),
                headers={"Content-Type": "application/json", **headers},
                timeout=aiohttp.ClientTimeout(total=seconds), allow_redirects=False,
            ) as resp:
                await resp.read()
                return resp.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ConnectionError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
