"""The emulator process piece: vendor sub-apps on one loopback aiohttp server.

Tests and the demo start an :class:`Emulator`, point connectors at
:meth:`Emulator.vendor_base_url` (or :attr:`Emulator.kombo_base_url` …), and inspect
:attr:`Emulator.requests` afterwards. Each vendor's wire format lives in its own module
(``kombo``, ``absorb``, ``skilljar``, ``stackone``) behind the same small contract: a
path prefix, a tenant class, ``build_<vendor>_app(tenants)`` and the vendor's error body.
Faults (:mod:`.faults`) are injected in-process with :meth:`Emulator.inject_fault`, or from
another process through the control endpoint under ``/__emulator`` on the same server.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from connectors.sandbox.absorb import (
    ABSORB_PORTALS,
    ABSORB_PREFIX,
    AbsorbPortals,
    AbsorbTenant,
    absorb_error_body,
    build_absorb_app,
)
from connectors.sandbox.faults import CONTROL_PREFIX, Fault, FaultControl, FaultMode, FaultSpec
from connectors.sandbox.kombo import KOMBO_PREFIX, KomboTenant, build_kombo_app, kombo_error_body
from connectors.sandbox.skilljar import (
    SKILLJAR_PREFIX,
    SkilljarTenant,
    build_skilljar_app,
    skilljar_error_body,
)
from connectors.sandbox.stackone import (
    STACKONE_PREFIX,
    StackOneTenant,
    build_stackone_app,
    stackone_error_body,
)
from connectors.sandbox.world import generate_world, share_people

__all__ = [
    "DEMO_ABSORB_API_KEY",
    "DEMO_ABSORB_PASSWORD",
    "DEMO_ABSORB_USERNAME",
    "DEMO_KOMBO_API_KEY",
    "DEMO_KOMBO_INTEGRATION_ID",
    "DEMO_SKILLJAR_API_KEY",
    "DEMO_SKILLJAR_DOMAIN",
    "DEMO_STACKONE_ACCOUNT_ID",
    "DEMO_STACKONE_API_KEY",
    "VENDOR_PREFIXES",
    "Emulator",
    "FaultMode",
    "RecordedRequest",
    "demo_emulator",
    "demo_tenants",
    "emulator_error_body",
]

DEMO_KOMBO_API_KEY = "demo-kombo-key"
DEMO_KOMBO_INTEGRATION_ID = "demo:acme-learning"
DEMO_ABSORB_API_KEY = "demo-absorb-key"
DEMO_ABSORB_USERNAME = "demo-admin"
DEMO_ABSORB_PASSWORD = "demo-absorb-password"  # noqa: S105 - the emulator's own demo account
DEMO_SKILLJAR_API_KEY = "demo-skilljar-key"
DEMO_SKILLJAR_DOMAIN = "academy.demo.example"
DEMO_STACKONE_API_KEY = "demo-stackone-key"
DEMO_STACKONE_ACCOUNT_ID = "demo-stackone-account"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_KOMBO_FAULT_CODES = {
    400: "PLATFORM.INPUT_INVALID",
    401: "PLATFORM.AUTHENTICATION_INVALID",
    404: "PLATFORM.INTEGRATION_NOT_FOUND",
    429: "PLATFORM.RATE_LIMIT_EXCEEDED",
}


def _kombo_fault_body(status: int, message: str) -> dict[str, Any]:
    return kombo_error_body(_KOMBO_FAULT_CODES.get(status, "PLATFORM.UNKNOWN_ERROR"), message)


#: Each vendor's path prefix and the error body it sends for an HTTP status.
VENDOR_PREFIXES: Mapping[str, str] = {
    "kombo": KOMBO_PREFIX,
    "absorb": ABSORB_PREFIX,
    "skilljar": SKILLJAR_PREFIX,
    "stackone": STACKONE_PREFIX,
}
_ERROR_BODIES: Mapping[str, Callable[[int, str], dict[str, Any]]] = {
    "kombo": _kombo_fault_body,
    "absorb": absorb_error_body,
    "skilljar": skilljar_error_body,
    "stackone": stackone_error_body,
}


def emulator_error_body(vendor: str, status: int, message: str) -> dict[str, Any]:
    """The body the emulator sends with an injected fault of ``status``."""
    return _ERROR_BODIES[vendor](status, message)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the emulator received.

    Attributes:
        vendor: ``"kombo"``, ``"absorb"``, ``"skilljar"``, ``"stackone"``, or ``""`` for a
            path outside every vendor prefix.
        method: HTTP method.
        path: Path below the vendor prefix, e.g. ``/lms/users``.
        query: Query parameters (the last value wins for repeated names).
        status: HTTP status of the response sent; 499 when the client went away first.
        received_at: Seconds since the emulator started when the request arrived.
        seconds: How long it took to answer (or to be abandoned).
        body: The response body, when the emulator keeps bodies (``keep_bodies``).
    """

    vendor: str
    method: str
    path: str
    query: dict[str, str]
    status: int
    received_at: float = field(default=0.0, compare=False)
    seconds: float = field(default=0.0, compare=False)
    body: bytes | None = field(default=None, compare=False, repr=False)

    def describe(self) -> dict[str, Any]:
        return {
            "vendor": self.vendor,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "received_at": self.received_at,
            "seconds": self.seconds,
        }


@dataclass(eq=False)
class Emulator:
    """Vendor emulators on one aiohttp server bound to 127.0.0.1.

    Use as ``async with Emulator(kombo_tenants=…, absorb_tenants=…) as emulator:`` or
    call :meth:`start` and :meth:`stop`. A vendor with no tenants is still mounted and
    rejects every credential, as the real one would.

    Attributes:
        kombo_tenants: The Kombo integrations served under ``/kombo/v1``.
        absorb_tenants: The Absorb portals served under ``/absorb``.
        skilljar_tenants: The Skilljar organisations served under ``/skilljar``.
        stackone_tenants: The StackOne linked accounts served under ``/stackone``.
        latency_seconds: Delay added before every response; may be changed at any time.
        keep_bodies: Keep every response body in the request log (spec conformance
            tests read them); off by default to keep the log small.
    """

    kombo_tenants: Sequence[KomboTenant] = ()
    absorb_tenants: Sequence[AbsorbTenant] = ()
    skilljar_tenants: Sequence[SkilljarTenant] = ()
    stackone_tenants: Sequence[StackOneTenant] = ()
    latency_seconds: float = 0.0
    keep_bodies: bool = False
    _log: list[RecordedRequest] = field(default_factory=list, init=False, repr=False)
    _in_flight: dict[int, tuple[str, str, str]] = field(
        default_factory=dict, init=False, repr=False
    )
    _peak_in_flight: int = field(default=0, init=False, repr=False)
    _faults: FaultControl = field(
        default_factory=lambda: FaultControl(_ERROR_BODIES), init=False, repr=False
    )
    _runner: web.AppRunner | None = field(default=None, init=False, repr=False)
    _absorb_portals: AbsorbPortals | None = field(default=None, init=False, repr=False)
    _base_url: str | None = field(default=None, init=False, repr=False)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(
        self, host: str = "127.0.0.1", port: int = 0, *, sock: socket.socket | None = None
    ) -> None:
        """Serve on ``host:port``; port 0 picks a free port (see :attr:`base_url`).

        Args:
            host: Address to listen on.
            port: Port to listen on; 0 for any free one.
            sock: A socket already bound (and named by ``host``), served instead of
                binding one: the caller has already reported a busy port its own way.
        """
        if self._runner is not None:
            message = "emulator already started"
            raise RuntimeError(message)
        tenants = {tenant.integration_id: tenant for tenant in self.kombo_tenants}
        if len(tenants) != len(self.kombo_tenants):
            message = "two Kombo tenants share an integration_id"
            raise ValueError(message)
        app = web.Application(middlewares=[self._middleware])
        app.add_routes(self._faults.routes(self._describe_requests, self.clear_requests))
        app.add_subapp(KOMBO_PREFIX, build_kombo_app(tenants))
        absorb = build_absorb_app(self.absorb_tenants)
        self._absorb_portals = absorb[ABSORB_PORTALS]
        app.add_routes([web.post(CONTROL_PREFIX + "/absorb/expire-tokens", self._expire_tokens)])
        app.add_subapp(ABSORB_PREFIX, absorb)
        app.add_subapp(SKILLJAR_PREFIX, build_skilljar_app(self.skilljar_tenants))
        app.add_subapp(STACKONE_PREFIX, build_stackone_app(self.stackone_tenants))
        # A short shutdown timeout: stop() must not wait for handlers parked in a fault delay.
        # Handler cancellation: a client that leaves ends its request here too (as at a
        # real vendor), so a test can see that a call it gave up on was closed.
        runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=0.25, handler_cancellation=True
        )
        await runner.setup()
        site: web.BaseSite = (
            web.SockSite(runner, sock) if sock is not None else web.TCPSite(runner, host, port)
        )
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        bound_port = runner.addresses[0][1]
        self._runner, self._base_url = runner, f"http://{host}:{bound_port}"

    async def stop(self) -> None:
        """Stop serving; a no-op when not started."""
        runner, self._runner, self._base_url = self._runner, None, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` of the running server."""
        if self._base_url is None:
            message = "emulator not started"
            raise RuntimeError(message)
        return self._base_url

    def vendor_base_url(self, vendor: str) -> str:
        """Base URL to configure a connector of ``vendor`` with, e.g. ``…/kombo/v1``."""
        return self.base_url + VENDOR_PREFIXES[vendor]

    @property
    def kombo_base_url(self) -> str:
        """Base URL to configure a Kombo connector with (``…/kombo/v1``)."""
        return self.vendor_base_url("kombo")

    # -- request log -------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the request log, oldest first."""
        return list(self._log)

    def clear_requests(self) -> None:
        """Empty the request log and reset :attr:`peak_in_flight`."""
        self._log.clear()
        self._peak_in_flight = len(self._in_flight)

    @property
    def peak_in_flight(self) -> int:
        """The most requests being answered at once since :meth:`clear_requests`: tells
        calls sent together from calls sent one after another."""
        return self._peak_in_flight

    def count(self, vendor: str | None = None, path: str | None = None) -> int:
        """Number of logged requests, optionally only those to ``vendor`` and/or ``path``."""
        return sum(
            1
            for r in self._log
            if (vendor is None or r.vendor == vendor) and (path is None or r.path == path)
        )

    # -- faults ------------------------------------------------------------------------------

    @property
    def in_flight(self) -> list[tuple[str, str, str]]:
        """``(vendor, method, path)`` of the requests being answered now."""
        return list(self._in_flight.values())

    def _describe_requests(self) -> dict[str, Any]:
        return {
            "requests": [request.describe() for request in self._log],
            "in_flight": [
                {"vendor": vendor, "method": method, "path": path}
                for vendor, method, path in self._in_flight.values()
            ],
        }

    # -- faults ------------------------------------------------------------------------------

    def inject_fault(
        self,
        vendor: str,
        path: str | None = None,
        *,
        mode: FaultMode | str = FaultMode.STATUS,
        status: int | None = None,
        body: str | dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        times: int | None = 1,
        duration_seconds: float | None = None,
        delay_seconds: float = 0.0,
        **options: Any,
    ) -> int:
        """Answer the next matching requests with a fault instead (see
        :mod:`connectors.sandbox.faults` for the modes; other processes use
        ``POST /__emulator/faults``).

        Args:
            vendor: Vendor whose requests fail: ``"kombo"``, ``"absorb"``, ``"skilljar"``
                or ``"stackone"``.
            path: Only requests to paths below the vendor prefix matching this ``fnmatch``
                pattern (a plain path matches itself); None for all.
            mode: ``status`` (the default), ``hang``, ``reset``, ``html``, ``garbage``,
                ``missing_field`` or ``oversized``.
            status: HTTP status to send (``status`` mode: 500 unless given).
            body: ``status`` mode: a dict is sent as JSON, a str as it is; None sends the
                vendor's error body for ``status`` >= 400 and an empty body otherwise.
            headers: Extra response headers, e.g. ``{"Retry-After": "1"}``.
            times: How many requests to answer this way; None until cleared or expired.
            duration_seconds: Active this long at most; None until cleared or used up.
            delay_seconds: Sleep before answering, to emulate a slow vendor.
            options: The other :class:`~connectors.sandbox.faults.FaultSpec` fields
                (``retry_after``, ``hang_seconds``, ``field``, ``size_bytes``).

        Returns:
            The fault's id.
        """
        if times is not None and times < 1:
            message = "times must be at least 1, or None"
            raise ValueError(message)
        spec = FaultSpec(
            vendor=vendor,
            path=path,
            mode=FaultMode(mode),
            status=status,
            body=body,
            headers=dict(headers or {}),
            count=times,
            duration_seconds=duration_seconds,
            delay_seconds=delay_seconds,
            **options,
        )
        return self._faults.add(spec).id

    def expire_absorb_tokens(self) -> int:
        """Every Absorb token stops working, as after four hours (other processes: ``POST
        /__emulator/absorb/expire-tokens``); returns how many were live."""
        if self._absorb_portals is None:
            raise RuntimeError("emulator not started")
        return self._absorb_portals.expire_tokens()

    async def _expire_tokens(self, _: web.Request) -> web.Response:
        return web.json_response({"expired": self.expire_absorb_tokens()})

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self._faults.faults.clear()

    # -- plumbing ----------------------------------------------------------------------------

    @staticmethod
    def _vendors() -> Mapping[str, str]:
        return VENDOR_PREFIXES

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX + "/"):
            return await handler(request)  # the control endpoint is not vendor traffic
        vendor, path = "", request.path
        for name, prefix in self._vendors().items():
            if path == prefix or path.startswith(prefix + "/"):
                vendor, path = name, path[len(prefix) :]
                break
        # Faults are claimed on arrival, so concurrent requests take them in order.
        fault = self._faults.take(vendor, path) if vendor else None
        status, body = 500, None
        received = time.monotonic()
        key = id(request)
        self._in_flight[key] = (vendor, request.method, path)
        self._peak_in_flight = max(self._peak_in_flight, len(self._in_flight))
        try:
            response = await self._respond(request, handler, fault)
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = 499  # the client went away or the server stopped mid-request
            raise
        else:
            status = response.status
            if self.keep_bodies and isinstance(response, web.Response):
                body = response.body if isinstance(response.body, bytes) else None
            return response
        finally:
            del self._in_flight[key]
            query = dict(request.query)
            at, seconds = self._faults.since_start(received), time.monotonic() - received
            self._log.append(
                RecordedRequest(
                    vendor, request.method, path, query, status, at, round(seconds, 6), body
                )
            )

    async def _respond(
        self, request: web.Request, handler: Handler, fault: Fault | None
    ) -> web.StreamResponse:
        if self.latency_seconds > 0:
            await asyncio.sleep(self.latency_seconds)
        if fault is None:
            return await handler(request)
        return await fault.respond(request, handler)


def demo_tenants(seed: int = 7, users: int = 120) -> list[KomboTenant]:
    """The demo's Kombo integration.

    Args:
        seed: Seed of the generated world.
        users: Number of users in it.

    Returns:
        One tenant: API key ``demo-kombo-key``, integration ``demo:acme-learning``.
    """
    world = generate_world(seed, users=users)
    return [KomboTenant(DEMO_KOMBO_API_KEY, DEMO_KOMBO_INTEGRATION_ID, world)]


def demo_emulator(seed: int = 7, users: int = 120, latency_seconds: float = 0.0) -> Emulator:
    """The demo: one tenant of each vendor, about a third of whose people are also in Kombo.

    Kombo serves ``generate_world(seed, users)`` (the same data as :func:`demo_tenants`);
    Absorb, Skilljar and StackOne serve smaller worlds of their own, with their own ID
    styles, in which some users share a work email (sometimes cased differently) with a
    Kombo user: the same person in several systems.

    Args:
        seed: Seed of the generated worlds.
        users: Users in Kombo; Absorb gets two thirds of that, Skilljar and StackOne half.
        latency_seconds: Delay before every response.

    Returns:
        The emulator, not started; credentials are the ``DEMO_*`` constants.
    """
    kombo, absorb, skilljar, stackone = share_people(
        [
            generate_world(seed, users=users),
            generate_world(seed + 1, users=max(1, users * 2 // 3), id_style="guid"),
            generate_world(seed + 2, users=max(1, users // 2), courses=20, id_style="lower36"),
            generate_world(seed + 3, users=max(1, users // 2), courses=30),
        ],
        seed=seed,
    )
    return Emulator(
        kombo_tenants=[KomboTenant(DEMO_KOMBO_API_KEY, DEMO_KOMBO_INTEGRATION_ID, kombo)],
        absorb_tenants=[
            AbsorbTenant(DEMO_ABSORB_API_KEY, DEMO_ABSORB_USERNAME, DEMO_ABSORB_PASSWORD, absorb)
        ],
        skilljar_tenants=[SkilljarTenant(DEMO_SKILLJAR_API_KEY, DEMO_SKILLJAR_DOMAIN, skilljar)],
        stackone_tenants=[
            StackOneTenant(DEMO_STACKONE_API_KEY, DEMO_STACKONE_ACCOUNT_ID, stackone)
        ],
        latency_seconds=latency_seconds,
    )
