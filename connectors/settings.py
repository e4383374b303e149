"""Settings of one configured source, per vendor kind, and the factory that builds its connector.

Credentials are :class:`pydantic.SecretStr`: they print as ``**********`` in reprs,
logs and validation errors. A credential written as ``"env:NAME"`` is read from the
environment variable NAME when the config is loaded.
"""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

import aiohttp
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr

from connectors._http import DEFAULT_MAX_RESPONSE_BYTES, RetryPolicy
from connectors.absorb import AbsorbConnector
from connectors.absorb.client import MAX_CONCURRENCY as ABSORB_CONCURRENCY
from connectors.absorb.tokens import TokenStore
from connectors.base import Connector
from connectors.breaker import CircuitBreaker
from connectors.kombo import KomboConnector
from connectors.kombo.client import MAX_CONCURRENCY as KOMBO_CONCURRENCY
from connectors.skilljar import SkilljarConnector
from connectors.skilljar.client import MAX_CONCURRENCY as SKILLJAR_CONCURRENCY
from connectors.stackone import StackOneConnector
from connectors.stackone.client import MAX_CONCURRENCY as STACKONE_CONCURRENCY

__all__ = [
    "SOURCE_NAME_PATTERN",
    "AbsorbSettings",
    "Credential",
    "KomboSettings",
    "PlainSetting",
    "SkilljarSettings",
    "SourceSettings",
    "StackOneSettings",
    "UnsupportedSourceKind",
    "build_connector",
]

SOURCE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$"
# aiohttp's connection pool holds 100 connections per session: more calls would only queue.
_MOST_CONCURRENT = 100


def _concurrency(default: int) -> Any:
    """``max_concurrency``: vendor calls of one source in flight at once; the default is
    the vendor's own (its client module says where it comes from)."""
    return Field(default=default, ge=1, le=_MOST_CONCURRENT)


def _from_env(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("env:"):
        variable = value.removeprefix("env:")
        if variable not in os.environ:
            raise ValueError(f"environment variable {variable} is not set")
        return os.environ[variable]
    return value


Credential = Annotated[SecretStr, BeforeValidator(_from_env)]
PlainSetting = Annotated[str, BeforeValidator(_from_env)]


class UnsupportedSourceKind(ValueError):
    """The config names a vendor kind this version has no connector for yet."""


class BaseSourceSettings(BaseModel):
    """Settings every source has.

    Attributes:
        name: Unique name of the source; part of every global ID, so keep it stable.
        base_url: The vendor API's base URL (region and version included).
        timeout_seconds: Total time one vendor call may take (each call is also cut at
            the GraphQL request's deadline, ``[server] request_timeout_seconds``).
        max_attempts: Tries of one vendor call when it fails in a retriable way.
        breaker_failures: Outages in a row (timeouts, connection failures, 5xx) that open
            the source's circuit breaker; 0 never opens it.
        breaker_cooldown_seconds: How long an open breaker refuses calls before one
            probe may go through.
        max_response_bytes: Largest vendor body read; a larger one is cut while it
            streams in and answered with SOURCE_BAD_RESPONSE.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=SOURCE_NAME_PATTERN)
    base_url: PlainSetting = Field(pattern=r"^https?://")
    # A hanging vendor costs at most the request's deadline (10 s by default): a call
    # is cut at 5 s, or at the deadline, and a retry that would pass it is not made.
    timeout_seconds: float = Field(default=5.0, gt=0)
    max_attempts: int = Field(default=3, ge=1, le=10)
    breaker_failures: int = Field(default=5, ge=0, le=1000)
    breaker_cooldown_seconds: float = Field(default=30.0, gt=0, le=3600)
    max_response_bytes: int = Field(default=DEFAULT_MAX_RESPONSE_BYTES, ge=1024)

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(max_attempts=self.max_attempts)

    def circuit_breaker(self) -> CircuitBreaker:
        return CircuitBreaker(self.breaker_failures, self.breaker_cooldown_seconds)

    def client_timeout(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(
            total=self.timeout_seconds, connect=min(5.0, self.timeout_seconds)
        )


class KomboSettings(BaseSourceSettings):
    """Kombo: ``max_concurrency`` bounds the chunks of one batched look-up read at once."""

    kind: Literal["kombo"]
    api_key: Credential
    integration_id: PlainSetting
    max_concurrency: int = _concurrency(KOMBO_CONCURRENCY)


class StackOneSettings(BaseSourceSettings):
    """StackOne: no batch look-ups, so ``max_concurrency`` bounds the per-ID fan-out."""

    kind: Literal["stackone"]
    api_key: Credential
    account_id: PlainSetting
    max_concurrency: int = _concurrency(STACKONE_CONCURRENCY)


class AbsorbSettings(BaseSourceSettings):
    """Absorb: ``token_prefix`` is put before the token in ``Authorization`` (UNVERIFIED
    whether Absorb wants the raw token, the default, or ``"Bearer"``); ``max_concurrency``
    bounds the per-ID enrolment look-ups and the chunks of a bulk look-up."""

    kind: Literal["absorb"]
    api_key: Credential
    username: PlainSetting
    password: Credential
    token_prefix: Literal["", "Bearer"] = ""
    max_concurrency: int = _concurrency(ABSORB_CONCURRENCY)


class SkilljarSettings(BaseSourceSettings):
    """Skilljar: no batch look-ups, so ``max_concurrency`` bounds the per-ID fan-out."""

    kind: Literal["skilljar"]
    api_key: Credential
    domain: PlainSetting
    max_concurrency: int = _concurrency(SKILLJAR_CONCURRENCY)


SourceSettings = Annotated[
    KomboSettings | StackOneSettings | AbsorbSettings | SkilljarSettings,
    Field(discriminator="kind"),
]


def build_connector(
    settings: SourceSettings, *, absorb_tokens: TokenStore | None = None
) -> Connector:
    """The connector for one configured source (not yet opened); Absorb sources keep
    their tokens in ``absorb_tokens`` (shared with other processes), else in-process."""
    if isinstance(settings, KomboSettings):
        return KomboConnector(
            name=settings.name,
            base_url=settings.base_url,
            api_key=settings.api_key,
            integration_id=settings.integration_id,
            max_concurrency=settings.max_concurrency,
            retry=settings.retry_policy(),
            timeout=settings.client_timeout(),
            breaker=settings.circuit_breaker(),
            max_response_bytes=settings.max_response_bytes,
        )
    if isinstance(settings, AbsorbSettings):
        return AbsorbConnector(
            name=settings.name,
            base_url=settings.base_url,
            api_key=settings.api_key,
            username=settings.username,
            password=settings.password,
            token_prefix=settings.token_prefix,
            max_concurrency=settings.max_concurrency,
            retry=settings.retry_policy(),
            timeout=settings.client_timeout(),
            breaker=settings.circuit_breaker(),
            max_response_bytes=settings.max_response_bytes,
            token_store=absorb_tokens,
        )
    if isinstance(settings, StackOneSettings):
        return StackOneConnector(
            name=settings.name,
            base_url=settings.base_url,
            api_key=settings.api_key,
            account_id=settings.account_id,
            max_concurrency=settings.max_concurrency,
            retry=settings.retry_policy(),
            timeout=settings.client_timeout(),
            breaker=settings.circuit_breaker(),
            max_response_bytes=settings.max_response_bytes,
        )
    if isinstance(settings, SkilljarSettings):
        return SkilljarConnector(
            name=settings.name,
            base_url=settings.base_url,
            api_key=settings.api_key,
            domain=settings.domain,
            max_concurrency=settings.max_concurrency,
            retry=settings.retry_policy(),
            timeout=settings.client_timeout(),
            breaker=settings.circuit_breaker(),
            max_response_bytes=settings.max_response_bytes,
        )
    raise UnsupportedSourceKind(
        f"source {settings.name!r}: kind {settings.kind!r} is not supported by this version yet"
    )
