"""Kombo auth: a bearer API key plus the integration that selects the customer's LMS."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp
from pydantic import SecretStr

__all__ = ["KomboAuth"]


@dataclass(frozen=True, slots=True)
class KomboAuth:
    api_key: SecretStr = field(repr=False)
    integration_id: str

    async def headers(self, session: aiohttp.ClientSession) -> Mapping[str, str]:
        return {
            "Authorization": f"Bearer {self.api_key.get_secret_value()}",
            "X-Integration-Id": self.integration_id,
        }

    async def renew(self, session: aiohttp.ClientSession) -> bool:
        return False  # API keys do not expire: a 401 is final.
