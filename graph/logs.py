"""Log output: ``[server] log_format = "text"`` (lines for people) or ``"json"`` (one JSON
object per line, for a log pipeline), for our loggers and uvicorn's alike.

JSON lines are python-json-logger's: ``timestamp``, ``level``, ``logger``, ``message``,
the ``request_id`` of the request being handled (asgi-correlation-id's log filter) and
whatever fields the line carries (the access line's operation, client, duration and
per-source outcomes; a source failure's source, code and vendor status). No line holds
a header, a query's text or its variables.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

from asgi_correlation_id import CorrelationIdFilter
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

__all__ = ["LogFormat", "configure_logging", "json_handler"]

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"


def json_handler() -> logging.Handler:
    """A stderr handler writing JSON lines that carry the request ID."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(CorrelationIdFilter(default_value=None))
    handler.setFormatter(
        JsonFormatter(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger", "correlation_id": "request_id"},
            # uvicorn's coloured copy of its own message
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],
            timestamp=True,
        )
    )
    return handler


def configure_logging(level: str, log_format: LogFormat) -> None:
    """Route every logger (uvicorn's included: give it ``log_config=None``) through one
    root handler in ``log_format``."""
    if log_format == "text":
        logging.basicConfig(level=level.upper(), format=TEXT_FORMAT)
        return
    root = logging.getLogger()
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    root.addHandler(json_handler())
    root.setLevel(level.upper())
