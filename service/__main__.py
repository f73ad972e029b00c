"""The command line: `python -m service --help`."""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
from collections.abc import Callable, Coroutine
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

import segno
from jsonschema.exceptions import relevance

from . import __version__, logs
from .app import create_app
from .couchapp import deploy
from .directory import provisioning
from .directory.importing import DelegateFileError, import_delegates, read_delegates
from .engine import EngineStartError, Readiness, connected_store, start_embedded
from .errors import ApiError, EngineUnavailable
from .forms.storage import form_doc_id, list_forms
from .interactions.export import export_interactions
from .interactions.types import InteractionTypes
from .questionnaires.export import export_answers
from .schemas import SchemaFileError, SchemaRegistry
from .server import run
from .settings import Settings, SettingsError
from .store import REGISTRY, EngineRefused, Store
from .users import create_user

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


class CommandError(Exception):
    """A mistake in how the command was called; the message says what to do instead."""


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
        run(create_app(settings, engine=embedded), host, port)
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


def _check_user(settings: Settings, name: str, password: str, roles: list[str]) -> None:
    """The rules of POST /api/users, from the same schema file."""
    schemas = SchemaRegistry(settings.schemas_dir)
    request = {"name": name, "password": password, "roles": sorted(set(roles))}
    errors = sorted(schemas.validator("user.create").exact.iter_errors(request), key=relevance)
    if not errors:
        return
    member = str(errors[0].absolute_path[0]) if errors[0].absolute_path else "user"
    rule = schemas.documents["defs"]["$defs"].get("userName" if member == "name" else member, {})
    shown = "--password" if member == "password" else f"{member} {request.get(member)!r}"
    if "description" in rule:
        raise CommandError(f"{shown} refused: {rule['description']}")
    raise CommandError(f"{shown}: {errors[0].message.replace(repr(password), 'it')}")


async def create_user_command(args: argparse.Namespace, settings: Settings) -> int:
    password = args.password or secrets.token_urlsafe(12)
    _check_user(settings, args.name, password, args.role)
    async with connected_store(settings) as store:
        await create_user(store, args.name, password, args.role)
    print(f"created user {args.name} with roles {', '.join(args.role)}")
    if not args.password:
        print(f"password: {password}")
    return 0


async def import_delegates_command(args: argparse.Namespace, settings: Settings) -> int:
    source = read_delegates(Path(args.file))  # a file it cannot use stops it before the engine
    async with connected_store(settings) as store:
        await Readiness(store).ensure()
        report = await import_delegates(store, SchemaRegistry(settings.schemas_dir), source)
    print(report.summary())
    return 1 if report.failed else 0


def _check_interaction_type(settings: Settings, name: str | None) -> None:
    known = sorted(t.name for t in InteractionTypes(SchemaRegistry(settings.schemas_dir)))
    if name is not None and name not in known:
        raise CommandError(f"--type {name}: no such interaction type; known: {', '.join(known)}")


async def _check_form(store: Store, form_id: str | None) -> None:
    if form_id is None:
        return
    # A deleted form's sessions stay exportable: only a form that never was is refused.
    if (await store.all_docs(REGISTRY, key=form_doc_id(form_id)))["rows"]:
        return
    forms, more = await list_forms(store, 20, None)
    listed = ", ".join(form["_id"] for form in forms) + (", ..." if more else "")
    raise CommandError(f"--form {form_id}: no such form; known: {listed or 'none yet'}")


def _output(file: str | None) -> AbstractContextManager[IO[str]]:
    """Where an export writes: the file (opened before any engine work), or standard output."""
    if file is None:
        return nullcontext(sys.stdout)
    try:
        return open(file, "w", newline="", encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write {file}: {exc.strerror}") from None


async def export_interactions_command(args: argparse.Namespace, settings: Settings) -> int:
    _check_interaction_type(settings, args.type)
    # A command line: nothing else waits on this loop while the file is written.
    with _output(args.file) as out:
        async with connected_store(settings) as store:
            await Readiness(store).ensure()
            written = await export_interactions(store, out, interaction_type=args.type)
    print(f"exported {written} interaction(s)", file=sys.stderr)
    return 0


async def export_answers_command(args: argparse.Namespace, settings: Settings) -> int:
    with _output(args.file) as out:
        async with connected_store(settings) as store:
            await Readiness(store).ensure()
            await _check_form(store, args.form)
            written = await export_answers(store, out, form_id=args.form, status=args.status)
    print(f"exported {written} answer(s)", file=sys.stderr)
    return 0


async def provision_device_command(args: argparse.Namespace, settings: Settings) -> int:
    async with connected_store(settings) as store:
        await Readiness(store).ensure()
        if args.revoke:
            setup = await provisioning.revoke(store, args.device)
        else:
            setup = await provisioning.provision(store, args.device)
    text = json.dumps(setup, indent=2)
    print(text)
    if args.qr and not args.revoke:
        # What a kiosk scans to set itself up (the secret included: show it to that kiosk only).
        segno.make(json.dumps(setup, separators=(",", ":")), error="l").terminal(compact=True)
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
    device = commands.add_parser(
        "provision-device", help="set a device up for offline work (its user, secret, database "
        "and id blocks; again: a new secret) and print the set-up")
    device.add_argument("device", type=int, help="the device's id")
    device.add_argument("--qr", action="store_true", help="also print the set-up as a QR code")
    device.add_argument("--revoke", action="store_true",
                        help="revoke the device instead: its user is deleted")
    return top


ASYNC_COMMANDS: dict[str, Command] = {
    "deploy": deploy_command,
    "create-user": create_user_command,
    "import-delegates": import_delegates_command,
    "export-interactions": export_interactions_command,
    "export-answers": export_answers_command,
    "provision-device": provision_device_command,
}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        return fail(str(exc))
    logs.configure(settings.log_level, settings.log_format)
    command = args.command or "serve"
    try:
        if command == "serve":
            if args.command is None:
                args.host = args.port = None
            return serve(args, settings)
        return asyncio.run(ASYNC_COMMANDS[command](args, settings))
    except (CommandError, DelegateFileError, SchemaFileError, EngineStartError) as exc:
        return fail(str(exc))
    except EngineUnavailable:
        where = (f"the embedded engine on port {settings.engine_port} stopped answering"
                 if settings.embedded else
                 f"no CouchDB answers at {settings.couchdb_url}: start it, or set COUCHDB_URL "
                 "to where it runs")
        return fail(where)
    except EngineRefused as exc:
        if exc.status == 401:
            return fail(f"the engine refused the credentials ({exc.message}): check "
                        "COUCHDB_USER and COUCHDB_PASSWORD")
        where = settings.couchdb_url or f"port {settings.engine_port}"
        return fail(f"the engine at {where} refused: {exc.message} (is it a CouchDB, with "
                    "COUCHDB_USER a server admin?)")
    except ApiError as exc:
        return fail(exc.message)
    except KeyboardInterrupt:
        return fail("interrupted", status=130)


def fail(message: str, status: int = 1) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
