"""Device provisioning routes: set a device up for offline work, rotate or revoke its secret,
give it another block of ids, show its set-up (service/directory/provisioning.py)."""

from __future__ import annotations

from aiohttp import web

from .. import keys
from ..auth import ADMIN
from ..directory import provisioning
from ..directory.entries import DEVICES
from ..errors import ApiError
from ..ids import number_of
from ..interactions.envelope import answer

NO_STORE = {"Cache-Control": "no-store"}  # answers that carry a secret


def _device(request: web.Request) -> int:
    number = number_of("device", request.match_info["id"])
    if number is None:
        raise DEVICES.missing(request.match_info["id"])
    user = request[keys.USER]
    if ADMIN not in user.roles and user.device_id != number:
        raise ApiError(1102, f"only device {number} itself or an admin may do this")
    return number


def _origin(request: web.Request) -> str:
    return str(request.url.origin())


async def provision(request: web.Request) -> web.Response:
    setup = await provisioning.provision(request.app[keys.STORE], _device(request),
                                           _origin(request))
    request.app[keys.AUTHENTICATOR].forget(setup["user"])
    return answer(setup, {}, status=201, headers=NO_STORE)


async def rotate(request: web.Request) -> web.Response:
    setup = await provisioning.rotate(request.app[keys.STORE], _device(request),
                                        _origin(request))
    request.app[keys.AUTHENTICATOR].forget(setup["user"])
    return answer(setup, {}, headers=NO_STORE)


async def revoke(request: web.Request) -> web.Response:
    setup = await provisioning.revoke(request.app[keys.STORE], _device(request),
                                        _origin(request))
    request.app[keys.AUTHENTICATOR].forget(setup["user"])
    return answer(setup, {})


async def next_block(request: web.Request) -> web.Response:
    setup = await provisioning.next_block(request.app[keys.STORE], _device(request),
                                          _origin(request))
    return answer(setup, {}, status=201)


async def show(request: web.Request) -> web.Response:
    store = request.app[keys.STORE]
    number = _device(request)
    record = await provisioning.provisioning(store, number)
    if record is None:
        raise ApiError(1401, f"device {number} is not provisioned")
    return answer(provisioning.setup(store, number, record, None, _origin(request)), {})
