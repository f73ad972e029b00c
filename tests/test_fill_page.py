"""The kiosk fill page: its HTTP rules (who may open it, how a browser logs in, its assets), and
the page itself driven in headless Chromium (Debian's, through playwright-core) from the first
page to COMPLETED, as a device user at a tablet."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from .conftest import Headers, UserFactory
from .test_sessions import Client, call, make_form, open_session, q

ROOT = Path(__file__).parent.parent
PAGE_SCRIPT = Path(__file__).parent / "js" / "fill_page.js"
TYPES_SCRIPT = Path(__file__).parent / "js" / "fill_types.js"
ALL_TYPES_FORM = json.loads((Path(__file__).parent / "data" / "all-types.form.json").read_text())
CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(),
                                    reason="make browser installs Debian's chromium")


def credentials(headers: Headers) -> tuple[str, str]:
    user, _, password = base64.b64decode(headers["Authorization"].split()[1]).decode().partition(":")
    return user, password


async def test_the_page_needs_a_device_or_an_admin_and_asks_a_browser_to_log_in(
    client: Client, admin: Headers, make_user: UserFactory
) -> None:
    await make_form(client, admin)
    device = await make_user("device")
    # A device fills the sessions it opened (service/scope.py).
    sid = await open_session(client, device)
    resp = await client.get(f"/fill/{sid}")
    assert resp.status == 401
    # A browser asks for a user name and password, and sends them along afterwards.
    assert resp.headers["WWW-Authenticate"] == 'Basic realm="settee"'
    reader = await make_user("reader")
    assert (await client.get(f"/fill/{sid}", headers=reader)).status == 403
    for who in (admin, device):
        resp = await client.get(f"/fill/{sid}", headers=who)
        assert resp.status == 200 and resp.content_type == "text/html"
        assert '<script src="/fill/assets/fill-api.js">' in await resp.text()
    missing = await client.get(f"/fill/{'0' * 32}", headers=admin)
    assert missing.status == 404 and (await missing.json())["error"] == "not_found"


async def test_assets_are_served_from_the_service(client: Client) -> None:
    bundle = await client.get("/fill/assets/fill-api.js")
    assert bundle.status == 200 and bundle.content_type == "text/javascript"
    text = await bundle.text()
    assert "window.DialobFill = load('index')" in text and "sourceMappingURL" not in text
    for name, kind in (("fill.js", "text/javascript"), ("fill.css", "text/css")):
        resp = await client.get(f"/fill/assets/{name}")
        assert resp.status == 200 and resp.content_type == kind
    for name in ("index.html", "..%2Fsettings.py", "nothing.js"):
        assert (await client.get(f"/fill/assets/{name}")).status == 404


async def run_node(*args: str) -> dict[str, Any]:
    node = shutil.which("node")
    assert node
    process = await asyncio.create_subprocess_exec(
        node, *args, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    result: dict[str, Any] = json.loads(out)
    assert result["consoleErrors"] == []
    return result


@needs_chromium
async def test_a_device_fills_the_example_form_to_completion_in_chromium(
    client: Client, admin: Headers, make_user: UserFactory, tmp_path: Path
) -> None:
    await make_form(client, admin)
    device = await make_user("device")
    sid = await open_session(client, device)
    user, password = credentials(device)
    screenshot = tmp_path / "fill-page.png"
    result = await run_node(str(PAGE_SCRIPT), str(client.make_url(f"/fill/{sid}")), user,
                            password, str(screenshot), str(tmp_path / "chromium-profile"))
    steps = {s["step"]: s for s in result["seen"]}
    assert steps["first page"]["progress"] == "1 / 2"
    assert steps["next refused"] == {"step": "next refused", "heading": "About you",
                                     "error": "This answer is required",
                                     "notice": "Please check the answers marked below."}
    assert steps["age invalid"]["error"] == "Age cannot be negative"
    assert steps["page2"]["progress"] == "2 / 2"
    assert steps["complete refused"]["rows"] == 1
    assert "Thank you" in steps["completed"]["text"]
    assert screenshot.read_bytes().startswith(b"\x89PNG")

    state = await call(client, "GET", q(sid), admin)
    assert state["metadata"]["status"] == "COMPLETED"
    assert sorted((a["id"], a["value"]) for a in state["answers"]) == [
        ("age", 42), ("group2[2].question3", "Bob"), ("group2[2].question4", "Sales"),
        ("question1", "Ann"), ("question2", ["a", "b"])]
    assert state["tables"] == [{"tableId": "group2", "rows": ["group2[2]"]}]


@needs_chromium
async def test_every_item_type_answered_on_the_page_in_the_session_language(
    client: Client, admin: Headers, make_user: UserFactory, tmp_path: Path
) -> None:
    await make_form(client, admin, ALL_TYPES_FORM)
    device = await make_user("device")
    sid = await open_session(client, device, {"metadata": {"formId": "all-types", "language": "fi"}})
    user, password = credentials(device)
    seen = (await run_node(str(TYPES_SCRIPT), str(client.make_url(f"/fill/{sid}")), user,
                           password, str(tmp_path / "chromium-profile")))["seen"]
    assert seen["lang"] == "fi" and seen["note"] == "Tervetuloa osastolle" and seen["group"] == 1
    assert seen["inputs"] == [["name", "text", None], ["visits", "number", "numeric"],
                              ["budget", "number", "decimal"], ["day", "date", None],
                              ["at", "time", None]]
    assert seen["button"] == "Valmis" and "Kiitos" in seen["completed"]
    state = await call(client, "GET", q(sid), admin)
    assert state["metadata"]["status"] == "COMPLETED"
    assert {a["id"]: a["value"] for a in state["answers"]} == {
        "name": "Ann", "visits": 3, "budget": 12.5, "member": True, "day": "2026-05-01",
        "at": "09:30", "size": "l", "extras": ["s", "l"]}
