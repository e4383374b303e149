"""Faults the emulator can play instead of a vendor's answer, and the HTTP control of them.

A fault matches one vendor and a path pattern (``fnmatch``: ``/v1/users/*``), for a
number of requests and/or a duration, and answers in one of these modes:

=================  ==========================================================================
``status``         the vendor's error body with ``status`` (default 500), and ``Retry-After``
                   when ``retry_after`` is given
``hang``           no answer for ``hang_seconds`` (default an hour), then the real answer; a
                   client that gives up closes it (logged with status 499)
``reset``          status 200 and the start of a body, then the connection is dropped
``html``           an HTML error page with ``status`` (default 200), as proxies send
``garbage``        status 200, ``Content-Type: application/json``, and a body cut mid-JSON
``missing_field``  the real answer with every key named ``field`` (default ``id``) removed
``oversized``      status 200 and a valid JSON body of ``size_bytes`` (default 40 MiB),
                   streamed in chunks without a ``Content-Length``
=================  ==========================================================================

``delay_seconds`` waits before any mode. The control endpoint (mounted by
:class:`~connectors.sandbox.server.Emulator`) lets another process drive all of it:

- ``POST /__emulator/faults`` with a JSON :class:`FaultSpec` → 201 and the fault with its ``id``
- ``GET /__emulator/faults`` → the active faults; ``DELETE /__emulator/faults`` clears them,
  ``DELETE /__emulator/faults/{id}`` one of them
- ``GET /__emulator/requests`` → the request log (``received_at`` and ``seconds`` in seconds
  since the emulator started) and the requests still in flight; ``DELETE`` empties the log
- ``POST /__emulator/absorb/expire-tokens`` → every Absorb token stops working (mounted by
  the emulator, which holds the tokens)
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["CONTROL_PREFIX", "Fault", "FaultMode", "FaultSpec"]

CONTROL_PREFIX = "/__emulator"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ErrorBody = Callable[[int, str], dict[str, Any]]

_CHUNK = 64 * 1024
_HTML = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>Bad Gateway</h1><p>The upstream server is not answering.</p></body></html>"
)


class FaultMode(StrEnum):
    STATUS = "status"
    HANG = "hang"
    RESET = "reset"
    HTML = "html"
    GARBAGE = "garbage"
    MISSING_FIELD = "missing_field"
    OVERSIZED = "oversized"


class FaultSpec(BaseModel):
    """One fault, as the control endpoint and :meth:`Emulator.inject_fault` take it.

    ``count`` None and ``duration_seconds`` None: until cleared.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    vendor: str
    path: str | None = Field(default=None, description="fnmatch pattern below the prefix")
    mode: FaultMode = FaultMode.STATUS
    status: int | None = Field(default=None, ge=100, le=599)
    retry_after: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | dict[str, Any] | None = None
    count: int | None = Field(default=1, ge=1)
    duration_seconds: float | None = Field(default=None, gt=0)
    delay_seconds: float = Field(default=0.0, ge=0)
    hang_seconds: float = Field(default=3600.0, gt=0)
    field: str = "id"
    size_bytes: int = Field(default=40 * 1024 * 1024, ge=1)


@dataclass(slots=True)
class Fault:
    """An active fault: its spec, what is left of its count, and when it ends."""

    id: int
    spec: FaultSpec
    left: int | None
    until: float | None
    error_body: ErrorBody = field(repr=False)

    def matches(self, vendor: str, path: str, now: float) -> bool:
        if self.until is not None and now >= self.until:
            return False
        pattern = self.spec.path
        return self.spec.vendor == vendor and (
            pattern is None or fnmatch.fnmatchcase(path, pattern)
        )

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, **self.spec.model_dump(mode="json"), "left": self.left}

    async def respond(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        spec = self.spec
        if spec.delay_seconds > 0:
            await asyncio.sleep(spec.delay_seconds)
        if spec.mode is FaultMode.HANG:
            await asyncio.sleep(spec.hang_seconds)
            return await handler(request)
        if spec.mode is FaultMode.MISSING_FIELD:
            return _without(await handler(request), spec.field)
        if spec.mode is FaultMode.RESET:
            return await _reset(request)
        if spec.mode is FaultMode.OVERSIZED:
            return await _oversized(request, spec.size_bytes)
        if spec.mode is FaultMode.HTML:
            return self._canned(spec.status or 200, _HTML, "text/html; charset=utf-8")
        if spec.mode is FaultMode.GARBAGE:
            return self._canned(spec.status or 200, '{"data": [{"id": "1", "na', "application/json")
        return self._status()

    def _status(self) -> web.Response:
        status = self.spec.status or 500
        body = self.spec.body
        if body is None and status >= 400:
            body = self.error_body(status, f"Injected fault ({status}).")
        if isinstance(body, dict):
            return self._canned(status, json.dumps(body), "application/json")
        return self._canned(status, body or "", "text/plain; charset=utf-8")

    def _canned(self, status: int, text: str, content_type: str) -> web.Response:
        headers = dict(self.spec.headers)
        if self.spec.retry_after is not None:
            headers["Retry-After"] = self.spec.retry_after
        if text and not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = content_type
        return web.Response(status=status, body=text.encode(), headers=headers)


def _strip(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v, key) for k, v in value.items() if k != key}
    if isinstance(value, list):
        return [_strip(item, key) for item in value]
    return value


def _without(response: web.StreamResponse, key: str) -> web.StreamResponse:
    if not isinstance(response, web.Response) or not isinstance(response.body, bytes):
        return response
    try:
        payload = json.loads(response.body)
    except ValueError:
        return response
    return web.json_response(_strip(payload, key), status=response.status)


async def _reset(request: web.Request) -> web.StreamResponse:
    start = b'{"data": [' + b" " * 4096
    headers = {"Content-Type": "application/json", "Content-Length": str(2 * len(start))}
    response = web.StreamResponse(status=200, headers=headers)
    await response.prepare(request)
    await response.write(start)
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError  # nothing more can be sent; logged as status 499


async def _oversized(request: web.Request, size: int) -> web.StreamResponse:
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    sent = 0
    padding = b"x" * _CHUNK
    with contextlib.suppress(ConnectionError):  # the client cut it, as it should
        await response.write(b'{"padding": "')
        while sent < size:
            await response.write(padding)
            sent += len(padding)
        await response.write(b'"}')
        await response.write_eof()
    return response


@dataclass(eq=False)
class FaultControl:
    """The active faults of one emulator, and the control endpoint's handlers."""

    error_bodies: Mapping[str, ErrorBody]
    started: float = field(default_factory=time.monotonic)
    faults: list[Fault] = field(default_factory=list)
    _next_id: int = 1

    def add(self, spec: FaultSpec) -> Fault:
        if spec.vendor not in self.error_bodies:
            raise ValueError(f"unknown vendor {spec.vendor!r}")
        until = None
        if spec.duration_seconds is not None:
            until = time.monotonic() + spec.duration_seconds
        fault = Fault(self._next_id, spec, spec.count, until, self.error_bodies[spec.vendor])
        self._next_id += 1
        self.faults.append(fault)
        return fault

    def take(self, vendor: str, path: str) -> Fault | None:
        """The first active fault matching a request, counted as used."""
        now = time.monotonic()
        self.faults[:] = [f for f in self.faults if f.until is None or now < f.until]
        for fault in self.faults:
            if fault.matches(vendor, path, now):
                if fault.left is not None:
                    fault.left -= 1
                    if fault.left == 0:
                        self.faults.remove(fault)
                return fault
        return None

    def since_start(self, moment: float) -> float:
        return round(moment - self.started, 6)

    def routes(
        self, requests: Callable[[], dict[str, Any]], clear_log: Callable[[], None]
    ) -> list[web.RouteDef]:
        async def post(request: web.Request) -> web.Response:
            try:
                spec = FaultSpec.model_validate_json(await request.read())
                fault = self.add(spec)
            except ValidationError as exc:
                errors = exc.errors(include_url=False, include_input=False)
                return web.json_response({"error": str(errors)}, status=400)
            except ValueError as exc:
                return web.json_response({"error": str(exc)}, status=400)
            return web.json_response(fault.describe(), status=201)

        async def listing(_: web.Request) -> web.Response:
            return web.json_response({"faults": [f.describe() for f in self.faults]})

        async def clear(_: web.Request) -> web.Response:
            self.faults.clear()
            return web.Response(status=204)

        async def clear_one(request: web.Request) -> web.Response:
            before = len(self.faults)
            self.faults[:] = [f for f in self.faults if str(f.id) != request.match_info["id"]]
            return web.Response(status=204 if len(self.faults) < before else 404)

        async def log(_: web.Request) -> web.Response:
            return web.json_response(requests())

        async def clear_requests(_: web.Request) -> web.Response:
            clear_log()
            return web.Response(status=204)

        return [
            web.post(CONTROL_PREFIX + "/faults", post),
            web.get(CONTROL_PREFIX + "/faults", listing),
            web.delete(CONTROL_PREFIX + "/faults", clear),
            web.delete(CONTROL_PREFIX + "/faults/{id}", clear_one),
            web.get(CONTROL_PREFIX + "/requests", log),
            web.delete(CONTROL_PREFIX + "/requests", clear_requests),
        ]
