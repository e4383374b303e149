"""Errors a connector raises, grouped by what the caller does about them.

    ConnectorError                 anything that went wrong talking to a source
    ├── VendorAuthError            credentials or tenant rejected: fatal until config changes
    ├── VendorRateLimited          the vendor asked us to slow down: retriable later
    ├── VendorUnavailable          5xx, timeout, connection refused, breaker open: retriable
    ├── VendorTimeout              the request's deadline came before the answer: not retried
    ├── VendorBadResponse          a 2xx we cannot read (garbage, wrong shape): not retried
    ├── VendorRejectedRequest      the vendor refused our request (4xx input errors)
    └── VendorNotFound             the vendor says the object does not exist

Messages never contain credentials, tokens or response bodies: they name the source,
the vendor, the method and path, and the vendor's own error code where it gave one.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ConnectorError",
    "VendorAuthError",
    "VendorBadResponse",
    "VendorNotFound",
    "VendorRateLimited",
    "VendorRejectedRequest",
    "VendorTimeout",
    "VendorUnavailable",
]


class ConnectorError(Exception):
    """Base class; ``code`` is the stable code clients see in GraphQL errors.

    Attributes:
        source: The configured source's name.
        vendor: The vendor kind (``kombo``, ``absorb`` …).
        method: The HTTP method of the failing call, if any.
        path: The path of the failing call below the source's base URL (no query string).
        status: The HTTP status, if a response arrived.
        vendor_code: The vendor's own error code, if its body named one.
        retry_after: Seconds the vendor asked us to wait (``Retry-After``), if it said.
        breaker: The source's circuit breaker state when it refused the call, else None.
    """

    code: ClassVar[str] = "SOURCE_ERROR"
    retriable: ClassVar[bool] = False

    def __init__(
        self,
        detail: str,
        *,
        source: str,
        vendor: str,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        vendor_code: str | None = None,
        retry_after: float | None = None,
        breaker: str | None = None,
    ) -> None:
        self.detail = detail
        self.source = source
        self.vendor = vendor
        self.method = method
        self.path = path
        self.status = status
        self.vendor_code = vendor_code
        self.retry_after = retry_after
        self.breaker = breaker
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = f" on {self.method} {self.path}" if self.method and self.path else ""
        status = f" (HTTP {self.status})" if self.status is not None else ""
        code = f" [{self.vendor_code}]" if self.vendor_code else ""
        return f"source {self.source!r} ({self.vendor}){where}{status}{code}: {self.detail}"


class VendorAuthError(ConnectorError):
    code = "SOURCE_AUTH_FAILED"


class VendorRateLimited(ConnectorError):
    code = "SOURCE_RATE_LIMITED"
    retriable = True


class VendorUnavailable(ConnectorError):
    code = "SOURCE_UNAVAILABLE"
    retriable = True


class VendorBadResponse(ConnectorError):
    code = "SOURCE_BAD_RESPONSE"


class VendorRejectedRequest(ConnectorError):
    code = "SOURCE_REJECTED_REQUEST"


class VendorNotFound(ConnectorError):
    code = "SOURCE_NOT_FOUND"


class VendorTimeout(ConnectorError):
    code = "SOURCE_TIMEOUT"
