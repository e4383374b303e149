"""Skilljar's error bodies, classified as data: which DRF error a body names, and what it means.

Skilljar v1 is Django REST Framework: errors are ``{"detail": "<message>"}`` with no code
(UNVERIFIED beyond the spec's 404, see ``client.py``). DRF's standard English messages
(we send no ``Accept-Language``) name its error codes, so those messages are the table;
a ``{"errors": [{"code": …}]}`` body, as Skilljar's v2 sends, names its code directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from connectors.errors import (
    ConnectorError,
    VendorAuthError,
    VendorNotFound,
    VendorRateLimited,
)
from connectors.skilljar.payloads import ErrorBody

__all__ = ["DRF_MESSAGES", "SKILLJAR_ERRORS", "skilljar_error_code"]

#: The start of DRF's message → DRF's error code.
DRF_MESSAGES: Mapping[str, str] = {
    "Authentication credentials were not provided": "not_authenticated",
    "Incorrect authentication credentials": "authentication_failed",
    "Invalid username/password": "authentication_failed",
    "Invalid basic header": "authentication_failed",
    "User inactive or deleted": "authentication_failed",
    "You do not have permission": "permission_denied",
    "Request was throttled": "throttled",
    "Not found": "not_found",
    "Invalid page": "not_found",
    "Invalid cursor": "not_found",
}

#: What a DRF error code means, whatever the HTTP status.
SKILLJAR_ERRORS: Mapping[str, type[ConnectorError]] = {
    "not_authenticated": VendorAuthError,
    "authentication_failed": VendorAuthError,
    "permission_denied": VendorAuthError,
    "throttled": VendorRateLimited,
    "not_found": VendorNotFound,
}


def skilljar_error_code(body: Any) -> str | None:
    """The error code an error body names, or None when it names none we can read."""
    try:
        parsed = ErrorBody.model_validate(body)
    except ValidationError:
        return None
    if parsed.errors and parsed.errors[0].code:
        return parsed.errors[0].code
    detail = parsed.detail or ""
    return next((code for text, code in DRF_MESSAGES.items() if detail.startswith(text)), None)
