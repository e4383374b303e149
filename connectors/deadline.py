"""The request deadline every vendor call runs under.

The server binds a deadline per GraphQL request (:func:`bind_deadline`); it lives in a
context variable, so the DataLoader tasks and shared calls a request starts inherit it.
:class:`connectors._http.HttpTransport` reads it: an attempt is cut when it is reached,
and a retry or ``Retry-After`` wait that would pass it is not made. Outside a request
(the CLI, benches) there is no deadline and only the per-call timeouts apply.

Deadlines are in the event loop's clock (monotonic), never wall time.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar, Token

__all__ = ["bind_deadline", "deadline", "remaining"]

_DEADLINE: ContextVar[float | None] = ContextVar("lms_graph_deadline", default=None)


def bind_deadline(seconds: float) -> Token[float | None]:
    """Give the current task, and the tasks it starts, ``seconds`` from now."""
    return _DEADLINE.set(asyncio.get_running_loop().time() + seconds)


def deadline() -> float | None:
    """The deadline in the loop's clock, or None outside a request."""
    return _DEADLINE.get()


def remaining() -> float | None:
    """Seconds left before the deadline (may be negative), or None without one."""
    at = _DEADLINE.get()
    return None if at is None else at - asyncio.get_running_loop().time()
