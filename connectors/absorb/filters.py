"""Absorb's ``_filter`` (an OData subset) as we write it: literals, ID and email look-ups.

Only GUIDs are ever put into a filter or a path: anything else cannot be an Absorb ID,
and checking the shape first means no input can change the meaning of a filter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

__all__ = [
    "absorb_datetime",
    "edited_after",
    "email_filter",
    "guids",
    "id_filter",
    "string_literal",
]

_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", re.ASCII)


def absorb_datetime(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, ``2024-01-02T03:04:05.678Z``; naive means UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def string_literal(value: str) -> str:
    """An OData string literal: quotes doubled, as OData escapes them."""
    return "'" + value.replace("'", "''") + "'"


def guids(ids: Iterable[str]) -> list[str]:
    """The distinct IDs that are GUIDs, in the order given (others cannot exist in Absorb)."""
    return [i for i in dict.fromkeys(ids) if _GUID.fullmatch(i)]


def id_filter(ids: Iterable[str]) -> str:
    """``id eq guid'a' or id eq guid'b'`` (the IDs must have passed :func:`guids`)."""
    return " or ".join(f"id eq guid'{i}'" for i in ids)


def email_filter(emails: Iterable[str]) -> str:
    """Case-insensitive email match: ``tolower(emailAddress) eq 'a@x.com' or …``."""
    return " or ".join(f"tolower(emailAddress) eq {string_literal(e.lower())}" for e in emails)


def edited_after(moment: datetime) -> str:
    """``dateEdited gt datetime'…'``: strictly after, as ``updated_after`` means."""
    return f"dateEdited gt datetime'{absorb_datetime(moment)}'"
