"""Absorb auth: the portal's API key on every call, plus a token from ``POST /authenticate``.

One token per (portal, admin user) is shared by every request of the connector, and
through a :class:`~connectors.absorb.tokens.TokenStore` by every process reading the same
portal: Absorb keeps one live token per user, so logging in again invalidates the
previous token, and concurrent logins would knock each other's tokens out. Hence one login
at a time (the store's lock: an ``asyncio.Lock`` in one process, a Redis lock across
processes), a token reused until shortly before it expires, and on a 401 a renewal only if
the rejected token is still the cached one; the store is read again before logging in,
so a token another process renewed is taken instead of logging in twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field

import aiohttp
from pydantic import SecretStr, ValidationError

from connectors._http import HttpTransport
from connectors.absorb import payloads
from connectors.absorb.tokens import LocalTokenStore, TokenAccount, TokenStore
from connectors.errors import VendorAuthError, VendorBadResponse, VendorRejectedRequest

__all__ = ["API_VERSION", "AUTHENTICATE_PATH", "AbsorbKeyAuth", "AbsorbTokenAuth"]

API_VERSION = "2"
AUTHENTICATE_PATH = "/authenticate"

# The token the current task last sent. A 401 on it must not throw away a token that a
# concurrent request has already renewed (that would log in again and invalidate it).
# Each asyncio task has its own context, so this is per request.
_SENT_TOKEN: ContextVar[str | None] = ContextVar("absorb_sent_token", default=None)


@dataclass(frozen=True, slots=True)
class AbsorbKeyAuth:
    """The headers every Absorb call carries, ``POST /authenticate`` included."""

    api_key: SecretStr = field(repr=False)

    async def headers(self, session: aiohttp.ClientSession) -> Mapping[str, str]:
        # Behaviour without `x-api-version` is UNVERIFIED: always say which version we speak.
        return {"x-api-key": self.api_key.get_secret_value(), "x-api-version": API_VERSION}

    async def renew(self, session: aiohttp.ClientSession) -> bool:
        return False  # a rejected key or login is final


@dataclass(eq=False)
class AbsorbTokenAuth:
    """Key headers plus ``Authorization: <token>`` (or ``<prefix> <token>``).

    Attributes:
        key: The portal's API key headers, sent with the token.
        login_http: Transport for ``POST /authenticate``, authenticated by ``key`` only,
            so a rejected login is final and never recurses into another login.
        username: The admin user the token is issued for.
        password: That user's password.
        token_prefix: Put before the token with a space, e.g. ``"Bearer"``; empty sends the
            raw token.
        valid_for: Seconds a fresh token is used for (its lifetime minus a safety margin).
        store: Where the token is shared (and logins are locked); None: this process's
            own, on ``clock``.
        clock: Monotonic seconds; replaceable in tests.
    """

    key: AbsorbKeyAuth
    login_http: HttpTransport
    username: str
    password: SecretStr = field(repr=False)
    token_prefix: str = ""
    valid_for: float = 4 * 3600.0
    store: TokenStore | None = None
    clock: Callable[[], float] = time.monotonic
    _token: str | None = field(default=None, init=False, repr=False)
    _expires_at: float = field(default=0.0, init=False, repr=False)
    # A token a vendor refused: never taken from the store again.
    _rejected: str | None = field(default=None, init=False, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self._store = self.store or LocalTokenStore(lambda: self.clock())

    @property
    def account(self) -> TokenAccount:
        return TokenAccount(
            self.login_http.base_url, self.username, self.key.api_key, self.password
        )

    async def headers(self, session: aiohttp.ClientSession) -> Mapping[str, str]:
        _SENT_TOKEN.set(None)  # a failing login below sends no token: nothing to renew
        token = await self._current_token()
        _SENT_TOKEN.set(token)
        value = f"{self.token_prefix} {token}" if self.token_prefix else token
        return {**(await self.key.headers(session)), "Authorization": value}

    async def renew(self, session: aiohttp.ClientSession) -> bool:
        sent = _SENT_TOKEN.get()
        if sent is None:
            return False  # the login itself was rejected: retrying cannot help
        if sent == self._token:
            # Invalidated (a newer login elsewhere) or expired early: the next request
            # reads the store, and logs in only if it still holds this token.
            self._token, self._rejected = None, sent
        return True  # the retry uses the token renewed by whoever got here first

    def _valid_token(self) -> str | None:
        return self._token if self._token is not None and self.clock() < self._expires_at else None

    async def _current_token(self) -> str:
        token = self._valid_token()
        if token is not None:
            return token
        # One task of this process goes to the store at a time; the others wait for it.
        async with self._lock:
            token = self._valid_token()  # another request may have logged in meanwhile
            if token is not None:
                return token
            shared = await self._shared_token()
            if shared is None:
                async with self._store.login_lock(self.account):
                    shared = await self._shared_token()  # another process logged in?
                    if shared is None:
                        shared = (await self._login(), self.valid_for)
                        await self._store.write(self.account, *shared)
            token, valid_for = shared
            self._token, self._expires_at = token, self.clock() + valid_for
            return token

    async def _shared_token(self) -> tuple[str, float] | None:
        stored = await self._store.read(self.account)
        if stored is None or stored[0] == self._rejected:
            return None
        return stored

    async def _login(self) -> str:
        body = {
            "username": self.username,
            "password": self.password.get_secret_value(),
            "privateKey": self.key.api_key.get_secret_value(),
        }
        try:
            answer = await self.login_http.request_json("POST", AUTHENTICATE_PATH, json_body=body)
        except VendorRejectedRequest as exc:
            # Absorb answers 400 when a credential is empty: the config is wrong, not the call.
            raise self.login_http.error(  # noqa: TRY400 - builds an error, does not log
                VendorAuthError,
                "credentials rejected",
                method="POST",
                path=AUTHENTICATE_PATH,
                status=exc.status,
                vendor_code=exc.vendor_code,
            ) from None
        try:
            token: str | None = payloads.TOKEN.validate_python(answer)
        except ValidationError:
            token = None  # not chained: the validation error quotes the answer, maybe a token
        if token is None:
            raise self.login_http.error(
                VendorBadResponse,
                "authenticate did not answer a token string",
                method="POST",
                path=AUTHENTICATE_PATH,
                status=200,
            )
        return token
