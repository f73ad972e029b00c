"""Settings come from the environment once, each with a default."""

from __future__ import annotations

from pathlib import Path

from service.settings import Settings


def test_defaults_without_environment() -> None:
    settings = Settings.from_env({})
    assert settings.embedded is True
    assert (settings.host, settings.port, settings.db_prefix) == ("127.0.0.1", 8080, "settee_")
    assert settings.max_page_size == 5000 and settings.max_batch_size == 1000
    assert settings.stage_views_at == 50_000


def test_every_variable_is_read() -> None:
    settings = Settings.from_env({
        "COUCHDB_URL": "http://couch:5984", "COUCHDB_USER": "u", "COUCHDB_PASSWORD": "p",
        "SETTEE_DB_PREFIX": "event42_", "SETTEE_HOST": "0.0.0.0", "SETTEE_PORT": "9000",
        "SETTEE_LOG_LEVEL": "debug", "SETTEE_LOG_FORMAT": "json", "SETTEE_DATA_DIR": "/srv/settee",
        "SETTEE_ENGINE_PORT": "6000", "SETTEE_ENGINE_TIMEOUT": "2.5",
        "SETTEE_AUTH_CACHE_SECONDS": "5", "SETTEE_MAX_BODY_BYTES": "1024",
        "SETTEE_MAX_BATCH_SIZE": "10", "SETTEE_MAX_PAGE_SIZE": "100", "SETTEE_STAGE_VIEWS_AT": "0",
        "SETTEE_DELIVERY_RETRY_SECONDS": "60",
    })
    assert settings.embedded is False
    assert (settings.couchdb_url, settings.couchdb_user, settings.couchdb_password) == (
        "http://couch:5984", "u", "p")
    assert (settings.db_prefix, settings.host, settings.port) == ("event42_", "0.0.0.0", 9000)
    assert (settings.log_level, settings.log_format) == ("DEBUG", "json")
    assert settings.data_dir == Path("/srv/settee")
    assert (settings.engine_port, settings.engine_timeout, settings.auth_cache_seconds) == (6000, 2.5, 5)
    assert (settings.max_body_bytes, settings.max_batch_size, settings.max_page_size) == (1024, 10, 100)
    assert settings.stage_views_at == 0
    assert settings.delivery_retry_seconds == 60
