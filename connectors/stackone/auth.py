"""StackOne auth: HTTP Basic with the API key as username, plus the linked account."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp
from pydantic import SecretStr

__all__ = ["StackOneAuth"]


@dataclass(frozen=True, slots=True)
class StackOneAuth:
    """Headers of every StackOne call.

    Attributes:
        api_key: Sent as the Basic username with an empty password.
        account_id: The linked account (``x-account-id``) that selects the customer's LMS.
        user_agent: StackOne blocks requests without a real ``User-Agent`` as suspicious.
    """

    api_key: SecretStr = field(repr=False)
    account_id: str
    user_agent: str

    async def headers(self, session: aiohttp.ClientSession) -> Mapping[str, str]:
        basic = base64.b64encode(f"{self.api_key.get_secret_value()}:".encode()).decode("ascii")
        return {
            "Authorization": f"Basic {basic}",
            "x-account-id": self.account_id,
            "User-Agent": self.user_agent,
            "Accept": "application/json",
        }

    async def renew(self, session: aiohttp.ClientSession) -> bool:
        return False  # API keys do not expire: a 401 is final.
