"""StackOne's unified LMS API emulated over a generated :class:`~connectors.sandbox.world.World`.

PLACEHOLDER: the contract only (prefix, tenant, app factory, error body); the wire format
is being written. Mount the application returned by :func:`build_stackone_app` at ``/stackone``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from connectors.sandbox.records import World

__all__ = ["STACKONE_PREFIX", "StackOneTenant", "build_stackone_app", "stackone_error_body"]

STACKONE_PREFIX = "/stackone"


@dataclass(frozen=True, slots=True)
class StackOneTenant:
    """One StackOne linked account."""

    api_key: str = field(repr=False)
    account_id: str
    world: World = field(repr=False)


def stackone_error_body(status: int, message: str) -> dict[str, Any]:
    """StackOne's unified LMS API's error body for ``status``."""
    return {"statusCode": status, "message": message, "timestamp": "2026-01-01T00:00:00.000Z"}


def build_stackone_app(tenants: Sequence[StackOneTenant]) -> web.Application:
    """The StackOne's unified LMS API emulator as an aiohttp sub-application, mounted at ``/stackone``."""
    del tenants
    return web.Application()
