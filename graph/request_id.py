"""``X-Request-ID``: every request has an ID, returned in the response and put on log lines.

A sane incoming ID (a proxy's or the client's) is kept, so one ID follows a request
through every hop; anything else is replaced by a new random one.
"""

from __future__ import annotations

import re

from asgi_correlation_id import CorrelationIdMiddleware, correlation_id
from starlette.middleware import Middleware

__all__ = ["REQUEST_ID_HEADER", "current_request_id", "is_sane_request_id", "request_id_middleware"]

REQUEST_ID_HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def is_sane_request_id(value: str) -> bool:
    """Up to 128 letters, digits and ``._:-``: safe in a log line and a header."""
    return _SANE.fullmatch(value) is not None


def current_request_id() -> str | None:
    """The ID of the request being handled, or None outside one."""
    return correlation_id.get()


def request_id_middleware() -> Middleware:
    return Middleware(
        CorrelationIdMiddleware, header_name=REQUEST_ID_HEADER, validator=is_sane_request_id
    )
