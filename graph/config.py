"""The server's TOML configuration: server, clients, limits, sources, cache and the
optional embedded emulator.

Loading fails with :class:`ConfigError`, whose message is one line naming the file,
the setting and the problem, never a value (a value may be a secret).
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from graphql import GraphQLSchema
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from connectors.model import EntityKind
from connectors.settings import SOURCE_NAME_PATTERN, Credential, PlainSetting, SourceSettings
from graph.documents import (
    ApqPolicy,
    DocumentMode,
    InvalidDocumentError,
    PersistedDocument,
    read_manifest,
)
from graph.graphiql import default_assets_dir
from resolvers.cache import CachePolicy, CacheStore, MemoryStore, create_store

__all__ = [
    "DEMO_CONFIG",
    "AppConfig",
    "CacheSettings",
    "CacheTtlSettings",
    "ClientSettings",
    "ConfigError",
    "DocumentsSettings",
    "EmulatorSettings",
    "GraphiQLSettings",
    "LimitsSettings",
    "ServerSettings",
    "TracingSettings",
    "demo_config",
    "load_config",
    "parse_config",
]


class ConfigError(ValueError):
    """The configuration cannot be used; the message is safe to print."""


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _cache_url(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("env:"):
        variable = value.removeprefix("env:")
        if variable not in os.environ:
            raise ValueError(f"environment variable {variable} is not set")
        value = os.environ[variable]
    if not isinstance(value, str) or not value.startswith(("redis://", "rediss://")):
        raise ValueError("must start with redis:// or rediss://")
    database = urlsplit(value).path.strip("/") or "0"
    if not database.isdigit():
        raise ValueError("must end with a database number, as in redis://host:6379/0")
    return value


#: A Redis URL may carry a password: kept secret, and ``env:NAME`` reads it from NAME.
RedisUrl = Annotated[SecretStr, BeforeValidator(_cache_url)]
Seconds = Annotated[int, Field(ge=0)]


class CacheTtlSettings(StrictModel):
    """``[cache.ttl]``: seconds each kind stays fresh; unset ones use ``ttl_seconds``
    (``lists``: ``ttl_seconds`` capped at 30). 0 turns caching of that kind off."""

    users: Seconds | None = None
    courses: Seconds | None = None
    skills: Seconds | None = None
    progressions: Seconds | None = None
    lists: Seconds | None = None


#: 256 MiB: about 85,000 entries of the canonical query's mix (``python -m bench.memory``),
#: the users, courses and progressions of several 2,000-user tenants, while the process
#: stays far below the 1 GiB or more a server of this kind is usually given.
DEFAULT_CACHE_MAX_BYTES = 256 * 2**20
#: What one entry of the canonical query's mix costs in the memory backend, measured by
#: ``python -m bench.memory``: how a deprecated ``max_entries`` is read as bytes.
BYTES_PER_ENTRY = 3_100

logger = logging.getLogger("lms_graph")


class CacheSettings(StrictModel):
    """``[cache]``: the cross-request cache of vendor answers (README, "Cache").

    ``max_entries`` is deprecated: the memory backend is bounded by ``max_bytes``. A
    config that still sets it alone is read as ``max_bytes = max_entries * BYTES_PER_ENTRY``
    with a warning; setting both is an error.
    """

    backend: Literal["memory", "redis", "none"] = "memory"
    url: RedisUrl | None = None
    ttl_seconds: Seconds = 60
    ttl: CacheTtlSettings = CacheTtlSettings()
    negative_ttl_seconds: Seconds = 15
    stale_if_error_seconds: Seconds = 300
    max_bytes: int = Field(default=DEFAULT_CACHE_MAX_BYTES, ge=2**20, le=2**40)
    max_entries: int | None = Field(default=None, ge=1, le=10_000_000)
    timeout_seconds: float = Field(default=1.0, gt=0, le=30)
    #: Whole responses, in front of execution (README, "Response cache").
    responses: bool = True
    #: Every response carries extensions.freshness (else only when asked with a header).
    report_freshness: bool = False

    @model_validator(mode="before")
    @classmethod
    def _entries_as_bytes(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("max_entries") is None:
            return data
        if "max_bytes" in data:
            raise ValueError("max_entries is deprecated: give max_bytes only")
        entries = data["max_entries"]
        if isinstance(entries, int) and not isinstance(entries, bool) and entries >= 1:
            bytes_ = max(2**20, entries * BYTES_PER_ENTRY)
            logger.warning(
                "[cache] max_entries is deprecated and read as max_bytes = %d (%d entries of "
                "about %d bytes); write max_bytes instead",
                bytes_,
                entries,
                BYTES_PER_ENTRY,
            )
            return {**data, "max_bytes": bytes_}
        return data

    @model_validator(mode="after")
    def _url_for_redis(self) -> CacheSettings:
        if self.backend == "redis" and self.url is None:
            raise ValueError('backend "redis" needs url = "redis://host:6379/0"')
        if self.backend != "redis" and self.url is not None:
            raise ValueError('url is only used with backend = "redis"')
        return self

    @property
    def enabled(self) -> bool:
        return self.backend != "none"

    @property
    def responses_enabled(self) -> bool:
        """Responses are cached: ``responses = true`` and a cache backend."""
        return self.enabled and self.responses

    def policy(self) -> CachePolicy:
        """The TTLs as the cache layer reads them."""
        kinds = {
            EntityKind.USERS: self.ttl.users,
            EntityKind.COURSES: self.ttl.courses,
            EntityKind.SKILLS: self.ttl.skills,
            EntityKind.PROGRESSIONS: self.ttl.progressions,
        }
        return CachePolicy(
            ttl_seconds=self.ttl_seconds,
            entity_ttls={kind: ttl for kind, ttl in kinds.items() if ttl is not None},
            list_ttl_seconds=self.ttl.lists,
            negative_ttl_seconds=self.negative_ttl_seconds,
            stale_if_error_seconds=self.stale_if_error_seconds,
        )

    def create_store(self) -> CacheStore:
        """The configured store (not for ``backend = "none"``); Redis connects lazily."""
        url = self.url.get_secret_value() if self.url is not None else None
        return create_store(
            self.backend, url, max_bytes=self.max_bytes, timeout=self.timeout_seconds
        )


#: An origin with ``*`` as its port (``http://localhost:*``) allows every port of that host.
_WILDCARD_PORT = re.compile(r"^(https?)://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\*$")
_ORIGIN = re.compile(r"^https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$")


def _origin(value: Any) -> Any:
    if value == "*" or not isinstance(value, str):
        return value
    if not (_ORIGIN.match(value) or _WILDCARD_PORT.match(value)):
        raise ValueError(
            f"{value!r} is not an origin: scheme://host[:port] without a path, "
            'port * for any port, or "*" for every origin'
        )
    return value


Origin = Annotated[str, BeforeValidator(_origin)]


class ServerSettings(StrictModel):
    """``[server]``: the HTTP edge."""

    # -- CORS (README, "Clients"): which browser origins may call the API.
    cors_allow_origins: list[Origin] = []
    cors_allow_credentials: bool = False
    cors_max_age_seconds: int = Field(default=600, ge=0, le=86_400)

    # -- deadlines (README, "Deadlines, breakers and health") --------------------------------
    #: Every GraphQL request's deadline: its vendor calls are cut there, and the answer
    #: carries what arrived plus SOURCE_TIMEOUT for the sources that did not answer.
    request_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    #: Time to receive a request's whole body; a slower (or half-sent) one gets 408.
    body_timeout_seconds: float = Field(default=10.0, gt=0, le=600)

    # -- observability (README, "Observability") ---------------------------------------
    #: "json": one JSON object per log line (ours and uvicorn's), with an access line per
    #: request carrying the request ID, client, operation, duration and per-source outcomes.
    log_format: Literal["text", "json"] = "text"
    #: Serve Prometheus metrics on /metrics.
    metrics: bool = True
    #: Serve /metrics on this port (on ``metrics_host``) instead of the main one.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    #: Where ``metrics_port`` listens: loopback unless a scraper elsewhere must reach it.
    metrics_host: str = "127.0.0.1"
    #: Distinct operation names with their own series; later ones count as "other".
    metrics_max_operations: int = Field(default=100, ge=0, le=10_000)

    # -- processes (README, "Workers"): `lms-graph serve --workers` overrides it.
    workers: int = Field(default=1, ge=1, le=64)

    # -- access and cursors (README, "Access"): who may call, what they see.
    allow_anonymous: bool = False
    introspection: bool = True
    cursor_secret: Credential | None = None

    # -- federation (README, "Federation subgraph") -----------------------------------------
    #: Serve the schema as an Apollo Federation v2 subgraph: `_service`, `_entities`, `@key`.
    federation: bool = False

    @model_validator(mode="after")
    def _no_credentials_for_everyone(self) -> ServerSettings:
        if self.cors_allow_credentials and "*" in self.cors_allow_origins:
            raise ValueError(
                'cors_allow_credentials = true cannot be used with "*" in cors_allow_origins: '
                "list the origins"
            )
        return self

    def cors_exact_origins(self) -> list[str]:
        return [o for o in self.cors_allow_origins if not _WILDCARD_PORT.match(o)]

    def cors_origin_regex(self) -> str | None:
        """One regex for the ``host:*`` origins (Starlette takes one), None without any."""
        patterns = []
        for origin in self.cors_allow_origins:
            if match := _WILDCARD_PORT.match(origin):
                scheme, host = match.groups()
                patterns.append(f"{re.escape(scheme)}://{re.escape(host)}(:[0-9]{{1,5}})?")
        return f"(?:{'|'.join(patterns)})" if patterns else None


class DocumentsSettings(StrictModel):
    """``[documents]``: persisted queries (APQ) and trusted documents (README, "Clients")."""

    mode: DocumentMode = DocumentMode.OPEN
    apq: bool = True
    apq_ttl_seconds: int = Field(default=86_400, ge=1)
    manifests: list[Path] = []
    max_entries: int = Field(default=10_000, ge=1, le=10_000_000)

    def policy(self) -> ApqPolicy:
        return ApqPolicy(mode=self.mode, apq=self.apq, apq_ttl_seconds=self.apq_ttl_seconds)

    def load_manifests(self, schema: GraphQLSchema) -> list[PersistedDocument]:
        """Every manifest's documents, each validated against ``schema``.

        Raises:
            ConfigError: one line naming the manifest and the entry that is wrong.
        """
        documents: list[PersistedDocument] = []
        for path in self.manifests:
            try:
                documents.extend(read_manifest(path, schema))
            except InvalidDocumentError as exc:
                raise ConfigError(f"[documents] {exc}") from None
        return documents


class EmulatorSettings(StrictModel):
    """``[emulator]``: start the built-in vendor emulator in-process, for demos and trials."""

    host: Literal["127.0.0.1", "localhost", "::1"] = "127.0.0.1"
    port: int = Field(default=8700, ge=0, le=65535)
    seed: int = 7
    users: int = Field(default=120, ge=1, le=100_000)
    latency_ms: float = Field(default=0, ge=0, le=60_000)


class GraphiQLSettings(StrictModel):
    """``[graphiql]``: where ``lms-graph graphiql install`` put GraphiQL's assets."""

    assets_dir: Path = Field(default_factory=default_assets_dir)


class ClientSettings(StrictModel):
    """One ``[[clients]]`` table: an API client, known by the SHA-256 of its key."""

    name: str = Field(pattern=SOURCE_NAME_PATTERN)
    #: May be ``env:NAME``: one mounted config serves deployments with their own keys.
    key_sha256: PlainSetting = Field(pattern=r"^[0-9a-f]{64}$")
    #: The sources it may read; None (unset): every source.
    sources: Annotated[list[str], Field(min_length=1)] | None = None


class LimitsSettings(StrictModel):
    """``[limits]``: what one request may ask for; each refusal has its own code."""

    max_body_bytes: int = Field(default=262_144, ge=1_024)
    max_tokens: int = Field(default=5_000, ge=100)
    max_fields: int = Field(default=5_000, ge=10)
    max_depth: int = Field(default=12, ge=2)
    max_aliases: int = Field(default=30, ge=0)
    max_root_fields: int = Field(default=20, ge=1)
    max_errors: int = Field(default=100, ge=1)
    max_cost: int = Field(default=2_500, ge=1)
    report_cost: bool = False
    #: Representations one `_entities` call takes (federation subgraph only).
    max_representations: int = Field(default=250, ge=1, le=10_000)


class TracingSettings(StrictModel):
    """``[tracing]``: OpenTelemetry spans over OTLP/HTTP (needs ``lms-graph[otel]``)."""

    #: The collector's OTLP/HTTP traces URL.
    endpoint: str = Field(default="http://127.0.0.1:4318/v1/traces", pattern=r"^https?://")
    service_name: str = Field(default="lms-graph", min_length=1)
    #: Share of traces started here that are kept; a caller's ``traceparent`` decides for
    #: its own traces.
    sample_ratio: float = Field(default=1.0, ge=0, le=1)


class AppConfig(StrictModel):
    cache: CacheSettings = CacheSettings()
    documents: DocumentsSettings = DocumentsSettings()
    server: ServerSettings = ServerSettings()
    limits: LimitsSettings = LimitsSettings()
    clients: list[ClientSettings] = []
    emulator: EmulatorSettings | None = None
    #: None (no ``[tracing]`` table): tracing is off.
    tracing: TracingSettings | None = None
    graphiql: GraphiQLSettings = Field(default_factory=GraphiQLSettings)
    sources: Annotated[list[SourceSettings], Field(min_length=1)]

    def documents_store(self) -> CacheStore:
        """Where APQ and CLI-added documents live: the cache's Redis when there is one (so
        every instance shares them), else a store of this process."""
        if self.cache.backend == "redis":
            return self.cache.create_store()
        return MemoryStore(max_entries=self.documents.max_entries)

    @model_validator(mode="after")
    def _unique_names(self) -> AppConfig:
        names = [source.name for source in self.sources]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"source names must be unique; repeated: {', '.join(duplicates)}")
        return self

    @model_validator(mode="after")
    def _clients_name_sources(self) -> AppConfig:
        known = {source.name for source in self.sources}
        names = [client.name for client in self.clients]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"client names must be unique; repeated: {', '.join(duplicates)}")
        for client in self.clients:
            unknown = sorted(set(client.sources or ()) - known)
            if unknown:
                raise ValueError(
                    f"client {client.name!r} names unknown source(s): {', '.join(unknown)}"
                )
        return self

    def with_emulator_port(self, port: int) -> AppConfig:
        """This config with ``[emulator]`` on ``port``, and every source that pointed at
        the emulator (a loopback base URL on its old port) pointed at the new one."""
        if self.emulator is None:
            raise ConfigError("--emulator-port: this config has no [emulator] to move")
        old = self.emulator.port
        sources = [
            source.model_copy(update={"base_url": _moved(source.base_url, old, port)})
            for source in self.sources
        ]
        emulator = self.emulator.model_copy(update={"port": port})
        return self.model_copy(update={"emulator": emulator, "sources": sources})


_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _moved(url: str, old_port: int, new_port: int) -> str:
    """``url`` on ``new_port`` if it is a loopback URL on ``old_port``, else as it is."""
    parts = urlsplit(url)
    if parts.hostname not in _LOOPBACK or parts.port != old_port:
        return url
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return parts._replace(netloc=f"{host}:{new_port}").geturl()


_ADAPTER = TypeAdapter(AppConfig)

DEMO_CONFIG = """\
# The embedded demo: lms-graph starts its vendor emulator on 127.0.0.1:8700 with a
# generated data set and reads it through the real connectors over HTTP.
# Copy this file, drop [emulator] and point the sources at real vendors to go live.

[emulator]
port = 8700
seed = 7
users = 120
latency_ms = 0

[cache]
backend = "memory"
ttl_seconds = 60

[server]
# Browser apps served from any port of this machine may call the API (a dev server, say).
cors_allow_origins = ["http://localhost:*", "http://127.0.0.1:*"]

[documents]
mode = "open"     # any query runs; "trusted" runs only registered documents
apq = true        # Apollo's automatic persisted queries

[[sources]]
name = "kombo-demo"
kind = "kombo"
base_url = "http://127.0.0.1:8700/kombo/v1"   # real: https://api.kombo.dev/v1
api_key = "demo-kombo-key"            # real deployments: api_key = "env:KOMBO_API_KEY"
integration_id = "demo:acme-learning"

[[sources]]
name = "absorb-demo"
kind = "absorb"
base_url = "http://127.0.0.1:8700/absorb"     # real: https://rest.myabsorb.com (or .eu …)
api_key = "demo-absorb-key"           # the portal's private API key
username = "demo-admin"
password = "demo-absorb-password"     # real deployments: password = "env:ABSORB_PASSWORD"

[[sources]]
name = "skilljar-demo"
kind = "skilljar"
base_url = "http://127.0.0.1:8700/skilljar"   # real: https://api.skilljar.com
api_key = "demo-skilljar-key"
domain = "academy.demo.example"

[[sources]]
name = "stackone-demo"
kind = "stackone"
base_url = "http://127.0.0.1:8700/stackone"   # real: https://api.stackone.com
api_key = "demo-stackone-key"
account_id = "demo-stackone-account"
"""


def _describe(error: ValidationError) -> str:
    first = error.errors(include_input=False, include_url=False)[0]
    location = ".".join(str(part) for part in first["loc"] if part not in {"function-after"})
    message = first["msg"].removeprefix("Value error, ")
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{location}: {message}{more}" if location else f"{message}{more}"


def parse_config(text: str, origin: str = "<config>") -> AppConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {origin}: not valid TOML: {exc}") from None
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise ConfigError(f"config {origin}: {_describe(exc)}") from None


def load_config(path: str | Path) -> AppConfig:
    """The config in ``path``; relative manifest paths are read from the file's folder."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"config {path}: cannot read file ({exc.strerror})") from None
    config = parse_config(text, str(path))
    folder = Path(path).parent
    manifests = [folder / manifest for manifest in config.documents.manifests]
    documents = config.documents.model_copy(update={"manifests": manifests})
    return config.model_copy(update={"documents": documents})


def demo_config() -> AppConfig:
    return parse_config(DEMO_CONFIG, "<embedded demo>")
