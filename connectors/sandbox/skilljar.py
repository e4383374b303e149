"""Skilljar's REST API v1 emulated over a generated :class:`~connectors.sandbox.world.World`.

PLACEHOLDER: the contract only (prefix, tenant, app factory, error body); the wire format
is being written. Mount the application returned by :func:`build_skilljar_app` at ``/skilljar``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from connectors.sandbox.records import World

__all__ = ["SKILLJAR_PREFIX", "SkilljarTenant", "build_skilljar_app", "skilljar_error_body"]

SKILLJAR_PREFIX = "/skilljar"


@dataclass(frozen=True, slots=True)
class SkilljarTenant:
    """One Skilljar organisation and its domain."""

    api_key: str = field(repr=False)
    domain: str
    world: World = field(repr=False)


def skilljar_error_body(status: int, message: str) -> dict[str, Any]:
    """Skilljar's REST API v1's error body for ``status``."""
    return {"detail": message}


def build_skilljar_app(tenants: Sequence[SkilljarTenant]) -> web.Application:
    """The Skilljar's REST API v1 emulator as an aiohttp sub-application, mounted at ``/skilljar``."""
    del tenants
    return web.Application()
