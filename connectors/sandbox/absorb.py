"""Absorb's Integration API v2 emulated over a generated :class:`~connectors.sandbox.world.World`.

PLACEHOLDER: the contract only (prefix, tenant, app factory, error body); the wire format
is being written. Mount the application returned by :func:`build_absorb_app` at ``/absorb``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from connectors.sandbox.records import World

__all__ = ["ABSORB_PREFIX", "AbsorbTenant", "absorb_error_body", "build_absorb_app"]

ABSORB_PREFIX = "/absorb"


@dataclass(frozen=True, slots=True)
class AbsorbTenant:
    """One Absorb portal."""

    api_key: str = field(repr=False)
    username: str
    password: str = field(repr=False)
    world: World = field(repr=False)


def absorb_error_body(status: int, message: str) -> dict[str, Any]:
    """Absorb's Integration API v2's error body for ``status``."""
    return {"validations": [], "code": status, "message": message, "term": "", "_meta": {}}


def build_absorb_app(tenants: Sequence[AbsorbTenant]) -> web.Application:
    """The Absorb's Integration API v2 emulator as an aiohttp sub-application, mounted at ``/absorb``."""
    del tenants
    return web.Application()
