"""Where Absorb tokens live between logins: in this process, or in Redis for every process.

Absorb keeps one live token per admin user: a login invalidates the previous token. Two
processes reading one portal (``lms-graph serve --workers N``, or several instances) must
therefore share one token and log in one at a time, or each login knocks the others'
token out. A :class:`TokenStore` gives :class:`~connectors.absorb.auth.AbsorbTokenAuth`
three things: the current token of an account, a place to put a new one with a TTL, and
a lock held around a login.

:class:`RedisTokenStore` keeps the token encrypted (Fernet, with a key derived from the
account's API key and password, which every process reading the portal has anyway): the
same Redis holds cached vendor answers, and whoever can read those must not also get a
token that reads the whole portal. Its key is a digest of the account (gateway, user and
API key), never a credential, and expires before the token does. Redis failures never fail
a query: reads answer "no token", writes are skipped and the lock is skipped, so the
process logs in on its own (and one warning says so).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr
from redis.asyncio import Redis
from redis.exceptions import LockError, RedisError

__all__ = [
    "LOGIN_LOCK_SECONDS",
    "REDIS_KEY_PREFIX",
    "LocalTokenStore",
    "RedisTokenStore",
    "TokenAccount",
    "TokenStore",
]

logger = logging.getLogger("lms_graph.absorb")

#: Keys of shared tokens; the rest of the key is a digest of the account.
REDIS_KEY_PREFIX = "lms-graph:absorb-token:"
#: A login lock is released after this long even if its holder died mid-login; a waiter
#: gives up after as long (then logs in without it): longer than any login may take.
LOGIN_LOCK_SECONDS = 30.0
_STORE_ERRORS = (RedisError, OSError, TimeoutError)


@dataclass(frozen=True, slots=True)
class TokenAccount:
    """Whose token: one admin user of one portal on one gateway."""

    base_url: str
    username: str
    api_key: SecretStr = field(repr=False)
    password: SecretStr = field(repr=False)

    @property
    def digest(self) -> str:
        """Names the account in keys without a credential (a SHA-256 of all of it but
        the password, which changes without the account changing)."""
        parts = (self.base_url.rstrip("/"), self.username, self.api_key.get_secret_value())
        return hashlib.sha256("\x00".join(parts).encode()).hexdigest()

    def cipher(self) -> Fernet:
        """Encrypts the account's token at rest with a key only its credentials give."""
        secret = "\x00".join((self.api_key.get_secret_value(), self.password.get_secret_value()))
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"lms-graph absorb token v1"
        ).derive(secret.encode())
        return Fernet(base64.urlsafe_b64encode(key))


class TokenStore(Protocol):
    """The shared token of each account, and the lock around its logins."""

    async def read(self, account: TokenAccount) -> tuple[str, float] | None:
        """The stored token and the seconds it is still good for, or None."""
        ...

    async def write(self, account: TokenAccount, token: str, ttl: float) -> None:
        """Store ``token`` for ``ttl`` seconds (> 0)."""
        ...

    def login_lock(self, account: TokenAccount) -> AbstractAsyncContextManager[None]:
        """Held around a login, so that one process (or task) logs in at a time."""
        ...

    async def close(self) -> None: ...


@dataclass(eq=False)
class LocalTokenStore:
    """Tokens of this process only (the default): one login at a time among its tasks."""

    clock: Callable[[], float] = time.monotonic
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict, init=False)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict, init=False)

    async def read(self, account: TokenAccount) -> tuple[str, float] | None:
        stored = self._tokens.get(account.digest)
        if stored is None:
            return None
        token, expires_at = stored
        left = expires_at - self.clock()
        return (token, left) if left > 0 else None

    async def write(self, account: TokenAccount, token: str, ttl: float) -> None:
        self._tokens[account.digest] = (token, self.clock() + ttl)

    def login_lock(self, account: TokenAccount) -> AbstractAsyncContextManager[None]:
        return self._locks.setdefault(account.digest, asyncio.Lock())

    async def close(self) -> None:
        self._tokens.clear()


class RedisTokenStore:
    """Tokens shared through Redis by every process that reads the same portal."""

    def __init__(self, client: Redis, description: str = "redis") -> None:
        self._client = client
        self._description = description
        self._warned = False

    @classmethod
    def from_url(cls, url: str, description: str, *, timeout: float = 1.0) -> RedisTokenStore:
        """A store on the Redis of ``url`` (``redis://`` or ``rediss://``, as ``[cache] url``);
        ``description`` names it in logs without the URL's password."""
        client = Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        return cls(client, description)

    def key(self, account: TokenAccount) -> str:
        return REDIS_KEY_PREFIX + account.digest

    async def read(self, account: TokenAccount) -> tuple[str, float] | None:
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.get(self.key(account))
                pipe.pttl(self.key(account))
                sealed, ttl_ms = await pipe.execute()
        except _STORE_ERRORS as error:
            self._failed(error)
            return None
        if sealed is None or ttl_ms <= 0:
            return None
        try:
            token = account.cipher().decrypt(sealed).decode()
        except InvalidToken:
            return None  # sealed with other credentials (a changed password): log in again
        return token, ttl_ms / 1000

    async def write(self, account: TokenAccount, token: str, ttl: float) -> None:
        sealed = account.cipher().encrypt(token.encode())
        try:
            await self._client.set(self.key(account), sealed, px=max(1, int(ttl * 1000)))
        except _STORE_ERRORS as error:
            self._failed(error)

    def login_lock(self, account: TokenAccount) -> AbstractAsyncContextManager[None]:
        return self._locked(account)

    @asynccontextmanager
    async def _locked(self, account: TokenAccount) -> AsyncIterator[None]:
        lock = self._client.lock(
            self.key(account) + ":login",
            timeout=LOGIN_LOCK_SECONDS,
            blocking_timeout=LOGIN_LOCK_SECONDS,
        )
        try:
            held = await lock.acquire()
        except _STORE_ERRORS as error:
            self._failed(error)
            held = False
        try:
            yield
        finally:
            # Expired meanwhile (LockError): the next holder's lock is not ours to drop.
            if held:
                with contextlib.suppress(LockError, RedisError, OSError, TimeoutError):
                    await lock.release()

    def _failed(self, error: BaseException) -> None:
        if not self._warned:
            # The class name only: a driver's message may quote the URL it was given.
            logger.warning(
                "Absorb token store %s failed (%s): this process logs in on its own, and "
                "other processes reading the same portal may lose their token",
                self._description,
                type(error).__name__,
            )
            self._warned = True

    async def close(self) -> None:
        await self._client.aclose()
