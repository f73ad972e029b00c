"""The contract check of the whole suite: every status a route answers in any test (the fuzz
test included) must be one the OpenAPI document gives that route.

Each answer is seen through the access log (`service.access`: route name and status). At the
end of the session an answer the document does not describe fails the run; a full run also
fails when a documented route never answered its success status in any test, so the check
cannot pass by seeing nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict

import pytest

from service.openapi import accepted, documented, error_statuses
from service.routes import ROUTES

ACCESS_LOGGER = "service.access"


class StatusRecorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen: dict[str, set[int]] = defaultdict(set)

    def emit(self, record: logging.LogRecord) -> None:
        route = getattr(record, "route", None)
        status = getattr(record, "status", None)
        # 499 is logged for a client that hung up, never sent (service/middlewares.py).
        if isinstance(route, str) and isinstance(status, int) and status != 499:
            self.seen[route].add(status)


RECORDER = StatusRecorder()


def documented_statuses() -> dict[str, set[int]]:
    return {r.name: {r.ok, *error_statuses(r), *([202] if accepted(r) else [])}
            for r in ROUTES if documented(r)}


def undocumented(seen: dict[str, set[int]]) -> list[str]:
    allowed = documented_statuses()
    return [f"{name} answered {status}, which its OpenAPI description does not list"
            for name, statuses in sorted(seen.items()) if name in allowed
            for status in sorted(statuses - allowed[name])]


def never_succeeded(seen: dict[str, set[int]]) -> list[str]:
    return [f"{r.name} never answered {r.ok} in any test"
            for r in ROUTES if documented(r) and r.ok not in seen.get(r.name, set())]


def install() -> None:
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.setLevel(logging.INFO)
    logger.addHandler(RECORDER)


def full_run(config: pytest.Config) -> bool:
    return (config.args_source == pytest.Config.ArgsSource.TESTPATHS
            and not config.option.keyword and not config.option.markexpr)


def report(session: pytest.Session) -> None:
    problems = undocumented(RECORDER.seen)
    if full_run(session.config) and session.testsfailed == 0:
        problems += never_succeeded(RECORDER.seen)
    if not problems:
        return
    terminal = session.config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None:
        terminal.write_sep("=", "answers the OpenAPI document does not describe", red=True)
        for line in problems:
            terminal.write_line(line)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
