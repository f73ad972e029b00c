"""Hostile requests get a defined answer in the API's own shape, never a 500: bodies nested too
deep, numbers JSON has not, decimals for ids, foreign digits in paths, bodies that lie about
their encoding, methods a route lacks, requests the HTTP parser cannot read, slow clients."""

from __future__ import annotations

import asyncio
import contextvars
import gzip
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from service.errors import ApiError
from service.middlewares import _parse_exactly, parse_json
from service.schemas import integral_floats
from service.settings import Settings

from .conftest import Headers
from .interaction_helpers import new_delegate, new_device

JSON = {"Content-Type": "application/json"}


def nested(levels: int) -> bytes:
    return b'{"delegate": 1, "data": ' + b"[" * levels + b"]" * levels + b"}"


@pytest.mark.parametrize("levels", [65, 1000, 100_000])
@pytest.mark.parametrize("path", ["/interaction/new/lead", "/interaction/test/lead",
                                  "/api/questionnaires", "/interaction/batch"])
async def test_a_body_nested_too_deep_is_a_400_naming_the_limit(
    client: TestClient, admin: Headers, levels: int, path: str
) -> None:
    resp = await client.post(path, data=nested(levels), headers={**admin, **JSON})
    assert resp.status == 400
    body = await resp.json()
    reason = body["reason"] if path.startswith("/api/") else body["meta"]["error"]["message"]
    assert reason == "Body nests deeper than 64 levels"


async def test_a_body_nested_within_the_limit_is_taken(client: TestClient, admin: Headers) -> None:
    delegate = await new_delegate(client, admin)
    device = await new_device(client, admin)
    body = {"delegate": delegate, "device": device,
            "data": {"notes": "x", "answers": [[[[{"deep": [1, [2, [3]]]}]]]]}}
    resp = await client.post("/interaction/test/lead", json=body, headers=admin)
    assert resp.status in (200, 422), await resp.text()
    assert "nests deeper" not in await resp.text()


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999"])
@pytest.mark.parametrize("path", ["/interaction/new/lead", "/interaction/test/lead"])
async def test_numbers_json_does_not_have_are_refused(
    client: TestClient, admin: Headers, number: str, path: str
) -> None:
    raw = ('{"delegate": 1, "device": 2, "recordedAt": ' + number + "}").encode()
    resp = await client.post(path, data=raw, headers={**admin, **JSON})
    assert resp.status == 400
    error = (await resp.json())["meta"]["error"]
    assert error["internalCode"] == 1001
    assert error["message"].startswith("Body is not valid JSON")


async def test_an_integer_id_written_as_a_decimal_is_refused(
    client: TestClient, admin: Headers
) -> None:
    delegate = await new_delegate(client, admin)
    device = await new_device(client, admin)
    raw = f'{{"delegate": {delegate}.0, "device": {device}}}'.encode()
    resp = await client.post("/interaction/new/lead", data=raw, headers={**admin, **JSON})
    assert resp.status == 400
    error = (await resp.json())["meta"]["error"]
    assert error["internalCode"] == 1002
    assert error["details"][0]["pointer"] == "/delegate"
    assert "is not of type 'integer'" in error["details"][0]["message"]


@pytest.mark.parametrize("path_id", ["\u0661", "\u0661\u0662", "\uff11", "1\u0662", "²"])
@pytest.mark.parametrize("kind", ["delegate", "device", "interaction"])
async def test_path_ids_are_ascii_digits_only(
    client: TestClient, admin: Headers, path_id: str, kind: str
) -> None:
    for _ in range(12):  # ids 1 to 12 exist, whatever digits the path's characters stand for
        await new_delegate(client, admin)
    resp = await client.get(f"/{kind}/id:{path_id}", headers=admin)
    assert resp.status == 404


async def test_405_names_the_allowed_methods(client: TestClient, admin: Headers) -> None:
    resp = await client.patch("/interaction/list", headers=admin)
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET, HEAD"
    assert (await resp.json())["meta"]["error"]["internalCode"] == 1202
    resp = await client.request("PATCH", "/api/forms", headers=admin)
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET, HEAD, POST"
    assert (await resp.json())["error"] == "method_not_allowed"


async def test_a_body_that_is_not_what_its_content_encoding_says_is_a_400(
    client: TestClient, admin: Headers
) -> None:
    headers = {**admin, **JSON, "Content-Encoding": "gzip"}
    # The server closes a connection whose body it could not read: say so, not to reuse it.
    resp = await client.post("/interaction/test/lead", data=b'{"delegate": 1}',
                             headers={**headers, "Connection": "close"})
    assert resp.status == 400
    assert (await resp.json())["meta"]["error"]["internalCode"] == 1001
    # A body that is what it says is read as usual.
    resp = await client.post("/interaction/test/lead", data=gzip.compress(b"[]"), headers=headers)
    assert resp.status == 400
    assert (await resp.json())["meta"]["error"]["internalCode"] == 1002


async def _raw_exchange(url: str, request: bytes, *, wait: float = 10.0) -> bytes:
    """Send raw bytes; the answer up to its end (its Content-Length, or the connection's)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(request)
    await writer.drain()

    async def answer() -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                return head + await reader.readexactly(int(line.split(b":")[1]))
        return head + await reader.read()

    try:
        return await asyncio.wait_for(answer(), wait)
    except asyncio.IncompleteReadError as exc:
        return exc.partial
    finally:
        writer.close()


@pytest.mark.parametrize("request_bytes", [
    b"GET /interaction/list HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + b"Q" * 9000
    + b"\r\n\r\n",
    b"GET /api/forms HTTP/1.1\r\nHost: x\r\nX-Secret-Token: " + b"S" * 9000 + b"\r\n\r\n",
    b"\x16\x03\x01 not http at all\r\n\r\n",
    b"GET /api/forms HTTP/1.1\r\nHost: x\r\nBad Header Name: 1\r\n\r\n",
])
async def test_requests_the_http_parser_cannot_read_get_json_without_an_echo(
    served: str, request_bytes: bytes
) -> None:
    answer = await _raw_exchange(served, request_bytes)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"400", head
    assert b"application/json" in head
    assert b"QQQQ" not in answer and b"SSSS" not in answer and b"not http" not in answer
    import json

    parsed = json.loads(body)
    assert parsed["error"] == "bad_request"
    assert parsed["meta"]["error"]["code"] == 400


async def test_a_connection_that_never_finishes_its_headers_is_closed(
    settings: Settings
) -> None:
    from service.app import create_app
    from service.server import start

    from .conftest import free_port

    quick = replace(settings, header_timeout_seconds=0.3)
    port = free_port()
    runner = await start(create_app(quick), "127.0.0.1", port)
    try:
        answer = await _raw_exchange(f"http://127.0.0.1:{port}", b"GET / HTTP/1.1\r\nHost: x\r\n")
        assert answer == b""  # closed by the server, with nothing said
    finally:
        await runner.cleanup()


async def test_a_body_that_never_arrives_is_a_408_and_a_client_that_hangs_up_is_logged_499(
    settings: Settings, admin: Headers, caplog: pytest.LogCaptureFixture
) -> None:
    from service.app import create_app
    from service.server import start

    from .conftest import free_port

    quick = replace(settings, body_timeout_seconds=0.3)
    port = free_port()
    runner = await start(create_app(quick), "127.0.0.1", port)
    url = f"http://127.0.0.1:{port}"
    head = ("POST /interaction/test/lead HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: {admin['Authorization']}\r\nContent-Length: 100\r\n\r\n").encode()
    try:
        async with aiohttp.ClientSession() as http:
            assert (await http.get(url + "/interaction/types", headers=admin)).status == 200
        answer = await _raw_exchange(url, head + b'{"deleg')
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b'"internalCode": 1005' in answer
        with caplog.at_level(logging.INFO, logger="service.access"):
            host, port_text = url.removeprefix("http://").split(":")
            _, writer = await asyncio.open_connection(host, int(port_text))
            writer.write(head + b'{"deleg')
            await writer.drain()
            writer.close()
            for _ in range(100):
                if any(getattr(r, "status", None) == 499 for r in caplog.records):
                    break
                await asyncio.sleep(0.05)
        statuses = [getattr(r, "status", None) for r in caplog.records if r.name == "service.access"]
        assert 499 in statuses and 500 not in statuses
    finally:
        await runner.cleanup()


async def test_user_names_are_a_safe_set(client: TestClient, admin: Headers) -> None:
    for name in ["a\x00b", "a\nb", "_admin", "a:b", "a/b", "a b", "x" * 129, "é"]:
        resp = await client.post("/api/users", json={"name": name, "password": "long enough",
                                                     "roles": ["reader"]}, headers=admin)
        assert resp.status == 400, name
    resp = await client.post("/api/users", json={"name": "kiosk-1.door+a@example", "password":
                                                 "long enough", "roles": ["reader"]}, headers=admin)
    assert resp.status == 201


@pytest.mark.parametrize("raw", [
    b'{"a": 1}', b'[]', b'8.0', b'"text"', b'{"n": 123456789012345678901234567890}',
    b'[-9223372036854775809, 18446744073709551615, 18446744073709551616]',
    b'{"delegate": 8.0}', b'{"x": 1e2}', b'{"x": 1E-2}', b'{"x": 1.5, "y": -0.0}',
    b'{"note": "v1.2 at 3e4 stars", "n": 3}', b'{"n": 0.1234567890123456789}',
    b'\xef\xbb\xbf{"bom": 1}', b'{"s": "\\ud800"}', b'{"a": 1, "a": 2.0}',
    b'[NaN]', b'{"x": Infinity}', b'{"x": -1e400}', b'{"a": 1} x', b'', b'{"a": "\xff"}',
    b'{"a": [1, 2,]}', b'\x00', nested(64), nested(65), b"[" * 65 + b"1" + b"]" * 65,
    b"[" * 64 + b"[]" + b"]" * 64, b"[" * 2000 + b"]" * 2000,
    b'{"e": [' + b'{"k": [1, 2.0]},' * 100 + b'1]}',
])
def test_the_fast_parser_answers_what_the_exact_one_does(raw: bytes) -> None:
    """orjson parses most bodies; whatever it parses, the answer (value, error message, depth
    verdict, the integral-float flag) is the standard library's."""
    def outcome(parse: Callable[[bytes, int], Any]) -> tuple[str, bool]:
        def run() -> tuple[str, bool]:
            try:
                found = repr(parse(raw, 64))
            except ApiError as exc:
                found = f"ApiError {exc.internal_code}: {exc.message}"
            return found, integral_floats.get()
        return contextvars.copy_context().run(run)

    assert outcome(parse_json) == outcome(_parse_exactly)


def test_integers_beyond_64_bits_stay_exact_and_decimals_are_flagged() -> None:
    assert parse_json(b'{"n": 123456789012345678901234}', 64) == {"n": 123456789012345678901234}
    assert parse_json(b'[-9223372036854775809]', 64) == [-9223372036854775809]
    for raw, flagged in [(b'{"d": 8.0}', True), (b'{"d": [1, {"e": 2E3}]}', True),
                         (b'{"d": 8.5}', False), (b'{"d": 8, "s": "8.0"}', False)]:
        context = contextvars.copy_context()
        context.run(parse_json, raw, 64)
        assert context.get(integral_floats, False) is flagged, raw


def test_depth_counts_levels_of_containers_that_hold_something() -> None:
    assert parse_json(b"[" * 64 + b"[]" + b"]" * 64, 64) is not None  # the empty one: no level
    assert parse_json(b'{"a": ' * 63 + b"[1]" + b"}" * 63, 64) is not None
    for raw in (b"[" * 65 + b"1" + b"]" * 65, b'{"a": ' * 64 + b'{"b": 1}' + b"}" * 64):
        with pytest.raises(ApiError, match="Body nests deeper than 64 levels"):
            parse_json(raw, 64)
