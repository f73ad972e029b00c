"""The command line: `python -m service --help`."""

from __future__ import annotations

import argparse
import asyncio
import gc
import secrets
import sys
from collections.abc import Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any

import uvloop
from aiohttp import web

from . import __version__, logs
from .app import create_app
from .couchapp import deploy
from .directory.importing import import_delegates
from .engine import Readiness, connected_store, start_embedded
from .errors import ApiError
from .interactions.export import export_interactions
from .questionnaires.export import export_answers
from .schemas import SchemaRegistry
from .settings import Settings
from .users import create_user

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


GC_YOUNG_THRESHOLD = 20_000  # Python's default is 700 allocations


def serve(args: argparse.Namespace, settings: Settings) -> int:
    host = args.host or settings.host
    port = args.port or settings.port
    base = f"http://{host}:{port}"
    embedded = None
    login = ""
    if settings.embedded:
        embedded, access, created = start_embedded(settings)
        settings = replace(
            settings, couchdb_url=access.url, couchdb_user=access.user,
            couchdb_password=access.password,
        )
        login = (
            f"  Fauxton:    {access.url}/_utils/\n"
            f"  log in as:  {access.user} / {access.password}"
            f"{'  (development admin, created now)' if created else ''}\n"
            f"              saved in {settings.data_dir / 'dev-admin.json'}; "
            f"try: curl -u {access.user}:{access.password} {base}/api/whoami\n"
        )
    engine_note = (
        f"embedded PouchDB Server (data in {settings.data_dir})" if embedded or login
        else str(settings.couchdb_url)
    )
    print(
        f"Settee {__version__} on {base}\n"
        f"  API:        {base}/  (Interaction API /interaction, Session API /api)\n"
        f"  Swagger UI: {base}/api/docs/\n"
        f"  engine:     {engine_note}\n" + login + "Ctrl-C stops.",
        flush=True,
    )
    try:
        app = create_app(settings)
        # Start-up's objects (schemas, routes, libraries) live as long as the process: keep
        # them out of every collection, and collect young objects less often (a batch makes
        # tens of thousands of short-lived ones).
        gc.freeze()
        gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
        web.run_app(app, host=host, port=port, print=None, access_log=None,
                    loop=uvloop.new_event_loop())  # less CPU per request than asyncio's loop
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc.strerror} "
              "(is another Settee running? set SETTEE_PORT)", file=sys.stderr)
        return 1
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


async def deploy_command(args: argparse.Namespace, settings: Settings) -> int:
    async with connected_store(settings) as store:
        await store.ensure_databases()
        written = await deploy(store)
    print("deployed: " + ", ".join(written) if written else "design documents already up to date")
    return 0


async def create_user_command(args: argparse.Namespace, settings: Settings) -> int:
    password = args.password or secrets.token_urlsafe(12)
    async with connected_store(settings) as store:
        await create_user(store, args.name, password, args.role)
    print(f"created user {args.name} with roles {', '.join(args.role)}")
    if not args.password:
        print(f"password: {password}")
    return 0


async def import_delegates_command(args: argparse.Namespace, settings: Settings) -> int:
    async with connected_store(settings) as store:
        await Readiness(store).ensure()
        report = await import_delegates(store, SchemaRegistry(settings.schemas_dir),
                                        Path(args.file))
    print(report.summary())
    return 1 if report.failed else 0


async def export_interactions_command(args: argparse.Namespace, settings: Settings) -> int:
    async with connected_store(settings) as store:
        await Readiness(store).ensure()
        if args.file is None:
            written = await export_interactions(store, sys.stdout, interaction_type=args.type)
        else:
            # A command line: nothing else waits on this loop while the file is written.
            with open(args.file, "w", newline="", encoding="utf-8") as out:  # noqa: ASYNC230
                written = await export_interactions(store, out, interaction_type=args.type)
    print(f"exported {written} interaction(s)", file=sys.stderr)
    return 0


async def export_answers_command(args: argparse.Namespace, settings: Settings) -> int:
    async with connected_store(settings) as store:
        await Readiness(store).ensure()
        if args.file is None:
            written = await export_answers(store, sys.stdout, form_id=args.form, status=args.status)
        else:
            # A command line: nothing else waits on this loop while the file is written.
            with open(args.file, "w", newline="", encoding="utf-8") as out:  # noqa: ASYNC230
                written = await export_answers(store, out, form_id=args.form, status=args.status)
    print(f"exported {written} answer(s)", file=sys.stderr)
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m service",
        description="Settee: event data capture on CouchDB. Configuration comes from the "
        "environment (COUCHDB_URL, COUCHDB_USER, COUCHDB_PASSWORD, SETTEE_*; see README.md).",
    )
    top.add_argument("--version", action="version", version=f"settee {__version__}")
    commands = top.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("serve", help="serve the API (starts the embedded engine if needed)")
    run.add_argument("--host", help="address to bind (default: SETTEE_HOST or 127.0.0.1)")
    run.add_argument("--port", type=int, help="port (default: SETTEE_PORT or 8080)")

    commands.add_parser("deploy", help="create missing databases and deploy changed design documents")

    user = commands.add_parser("create-user", help="create a CouchDB user with Settee roles")
    user.add_argument("name")
    user.add_argument("--role", action="append", choices=["admin", "device", "reader"],
                      required=True, help="a role; repeat for several")
    user.add_argument("--password", help="the password (default: generated and printed)")

    delegates = commands.add_parser(
        "import-delegates", help="create delegates from a CSV file (name, email, company, "
        "badge; other columns go into data); importing the same file again adds nothing")
    delegates.add_argument("file", help="the CSV file (a header row first)")

    export = commands.add_parser("export-interactions", help="write every interaction as CSV")
    export.add_argument("file", nargs="?", help="the CSV file to write (default: standard output)")
    export.add_argument("--type", help="only interactions of this type")

    answers = commands.add_parser(
        "export-answers", help="write every questionnaire answer as CSV (one row per answer)")
    answers.add_argument("file", nargs="?", help="the CSV file to write (default: standard output)")
    answers.add_argument("--form", help="only sessions on this form id")
    answers.add_argument("--status", choices=["OPEN", "COMPLETED"], help="only sessions in this status")
    return top


ASYNC_COMMANDS: dict[str, Command] = {
    "deploy": deploy_command,
    "create-user": create_user_command,
    "import-delegates": import_delegates_command,
    "export-interactions": export_interactions_command,
    "export-answers": export_answers_command,
}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings.from_env()
    logs.configure(settings.log_level, settings.log_format)
    command = args.command or "serve"
    if command == "serve":
        if args.command is None:
            args.host = args.port = None
        return serve(args, settings)
    try:
        return asyncio.run(ASYNC_COMMANDS[command](args, settings))
    except ApiError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
