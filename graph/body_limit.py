"""A cap on request body size, refused with a GraphQL error (``REQUEST_TOO_LARGE``).

Modelled on Starlette's ``RequestBodyLimitMiddleware``, which answers in plain text: a
declared ``Content-Length`` over the cap is refused before anything is read, and a body
without one (chunked) is counted while it streams and refused as soon as it passes the
cap, so no more of it is buffered.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph.http_errors import graphql_error_response

__all__ = ["BODY_TOO_LARGE_CODE", "BodySizeLimit"]

BODY_TOO_LARGE_CODE = "REQUEST_TOO_LARGE"


class _TooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuses request bodies over ``max_bytes`` with 413 and a GraphQL error body."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except _TooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"the request body is larger than {self.max_bytes} bytes"
        response = graphql_error_response(
            413, BODY_TOO_LARGE_CODE, message, {"Connection": "close"}
        )
        await response(scope, receive, send)
