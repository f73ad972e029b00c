"""Settings: read once from the environment into one frozen dataclass (tests build one directly)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class SettingsError(ValueError):
    """An environment variable that cannot be read; the message names it."""


@dataclass(frozen=True)
class Settings:
    # None: start the embedded PouchDB Server and use it.
    couchdb_url: str | None = None
    couchdb_user: str | None = None
    couchdb_password: str | None = None
    # The service's address as devices reach it, for their sync URLs (default: where a request
    # came to; directory/provisioning.py).
    sync_url: str | None = None
    # A cluster's copies of each document (`n`): a write only some copies took (202) is read
    # back from all of them (`r`) before it counts (0: the engine's default read quorum).
    couchdb_copies: int = 0
    db_prefix: str = "settee_"
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "INFO"
    # "json" (one object per line) or "text"; empty: text on a terminal, json otherwise.
    log_format: str = ""
    data_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "var")
    engine_port: int = 5984
    engine_timeout: float = 10.0
    retry_after: int = 5
    auth_cache_seconds: float = 30.0
    # Failed logins (service/logins.py): per user name, per client address, in a window.
    login_max_failures: int = 4
    address_max_failures: int = 20
    login_window_seconds: float = 300.0
    # Comma-separated addresses or networks whose X-Forwarded-For is believed.
    trusted_proxies: str = ""
    max_body_bytes: int = 16 * 1024 * 1024
    # Slow clients: headers of a new connection, a whole body, an idle kept-alive connection.
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 60.0
    keepalive_timeout_seconds: float = 15.0
    # How deep a JSON body may nest (a clear 400 beyond, never a RecursionError).
    max_json_depth: int = 64
    max_batch_size: int = 1000
    max_page_size: int = 5000
    # Changed views on a database this large are built before they go live (0: never stage).
    stage_views_at: int = 50_000
    # submitUrl delivery (docs/SESSIONS.md): retried with exponential back-off for this long.
    delivery_retry_seconds: float = 3 * 24 * 3600.0
    delivery_backoff_seconds: float = 30.0
    delivery_backoff_max_seconds: float = 3600.0
    delivery_timeout_seconds: float = 30.0
    delivery_poll_seconds: float = 5.0
    # Arrivals from devices (service/sync/): how often the lease holder looks, how long a lease.
    sync_poll_seconds: float = 1.0
    sync_lease_seconds: float = 30.0
    # The JSON Schemas, interaction types among them (tests point it at a copy).
    schemas_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "schemas")

    @property
    def embedded(self) -> bool:
        return not self.couchdb_url

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        defaults = cls()

        def number(name: str, default: int) -> int:
            try:
                return int(env.get(name) or default)
            except ValueError:
                raise SettingsError(f"{name} must be a whole number, not {env[name]!r}") from None

        def seconds(name: str, default: float) -> float:
            try:
                return float(env.get(name) or default)
            except ValueError:
                raise SettingsError(f"{name} must be a number of seconds, not {env[name]!r}") from None

        def one_of(name: str, default: str, allowed: tuple[str, ...]) -> str:
            value = (env.get(name) or default).strip()
            if value.lower() not in [a.lower() for a in allowed]:
                raise SettingsError(f"{name} must be one of {', '.join(a for a in allowed if a)}, "
                                    f"not {value!r}")
            return value

        url = env.get("COUCHDB_URL") or None
        if url is not None and not url.startswith(("http://", "https://")):
            raise SettingsError(f"COUCHDB_URL must start with http:// or https://, not {url!r}")
        return cls(
            couchdb_url=url,
            couchdb_user=env.get("COUCHDB_USER") or None,
            couchdb_password=env.get("COUCHDB_PASSWORD") or None,
            sync_url=env.get("SETTEE_SYNC_URL") or None,
            couchdb_copies=number("SETTEE_COUCHDB_COPIES", defaults.couchdb_copies),
            db_prefix=env.get("SETTEE_DB_PREFIX", defaults.db_prefix),
            host=env.get("SETTEE_HOST") or defaults.host,
            port=number("SETTEE_PORT", defaults.port),
            log_level=one_of("SETTEE_LOG_LEVEL", defaults.log_level, LOG_LEVELS).upper(),
            log_format=one_of("SETTEE_LOG_FORMAT", "", ("json", "text", "")).lower(),
            data_dir=Path(env.get("SETTEE_DATA_DIR") or defaults.data_dir),
            engine_port=number("SETTEE_ENGINE_PORT", defaults.engine_port),
            engine_timeout=seconds("SETTEE_ENGINE_TIMEOUT", defaults.engine_timeout),
            auth_cache_seconds=seconds("SETTEE_AUTH_CACHE_SECONDS", defaults.auth_cache_seconds),
            login_max_failures=number("SETTEE_LOGIN_MAX_FAILURES", defaults.login_max_failures),
            address_max_failures=number("SETTEE_ADDRESS_MAX_FAILURES",
                                        defaults.address_max_failures),
            login_window_seconds=seconds("SETTEE_LOGIN_WINDOW_SECONDS",
                                         defaults.login_window_seconds),
            trusted_proxies=env.get("SETTEE_TRUSTED_PROXIES", defaults.trusted_proxies),
            max_body_bytes=number("SETTEE_MAX_BODY_BYTES", defaults.max_body_bytes),
            header_timeout_seconds=seconds("SETTEE_HEADER_TIMEOUT_SECONDS",
                                           defaults.header_timeout_seconds),
            body_timeout_seconds=seconds("SETTEE_BODY_TIMEOUT_SECONDS",
                                         defaults.body_timeout_seconds),
            keepalive_timeout_seconds=seconds("SETTEE_KEEPALIVE_TIMEOUT_SECONDS",
                                              defaults.keepalive_timeout_seconds),
            max_json_depth=number("SETTEE_MAX_JSON_DEPTH", defaults.max_json_depth),
            max_batch_size=number("SETTEE_MAX_BATCH_SIZE", defaults.max_batch_size),
            max_page_size=number("SETTEE_MAX_PAGE_SIZE", defaults.max_page_size),
            stage_views_at=number("SETTEE_STAGE_VIEWS_AT", defaults.stage_views_at),
            delivery_retry_seconds=seconds("SETTEE_DELIVERY_RETRY_SECONDS",
                                           defaults.delivery_retry_seconds),
            delivery_backoff_seconds=seconds("SETTEE_DELIVERY_BACKOFF_SECONDS",
                                             defaults.delivery_backoff_seconds),
            delivery_backoff_max_seconds=seconds("SETTEE_DELIVERY_BACKOFF_MAX_SECONDS",
                                                 defaults.delivery_backoff_max_seconds),
            delivery_timeout_seconds=seconds("SETTEE_DELIVERY_TIMEOUT_SECONDS",
                                             defaults.delivery_timeout_seconds),
            sync_poll_seconds=seconds("SETTEE_SYNC_POLL_SECONDS", defaults.sync_poll_seconds),
            sync_lease_seconds=seconds("SETTEE_SYNC_LEASE_SECONDS", defaults.sync_lease_seconds),
            delivery_poll_seconds=seconds("SETTEE_DELIVERY_POLL_SECONDS",
                                          defaults.delivery_poll_seconds),
        )
