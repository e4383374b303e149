"""Skilljar auth: HTTP Basic with the organisation's API key and an empty password."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp
from pydantic import SecretStr

__all__ = ["SkilljarAuth"]


@dataclass(frozen=True, slots=True)
class SkilljarAuth:
    """``Authorization: Basic base64("<api_key>:")`` on every call; nothing to renew."""

    api_key: SecretStr = field(repr=False)

    async def headers(self, session: aiohttp.ClientSession) -> Mapping[str, str]:
        basic = base64.b64encode(f"{self.api_key.get_secret_value()}:".encode()).decode("ascii")
        return {"Authorization": f"Basic {basic}", "Accept": "application/json"}

    async def renew(self, session: aiohttp.ClientSession) -> bool:
        return False  # API keys do not expire: a 401 is final.
