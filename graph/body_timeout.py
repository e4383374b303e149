"""Request bodies must arrive in time: a slow or half-sent body is answered 408 and dropped.

Uvicorn bounds idle keep-alive connections but not a body that trickles in, so without
this a client can hold a request (and its worker slot) open for as long as it likes.
The body is read here, under one timeout for all of it, and handed to the app whole.
"""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BODY_TIMEOUT_CODE", "BodyReadTimeout"]

BODY_TIMEOUT_CODE = "REQUEST_TIMEOUT"


class BodyReadTimeout:
    """Reads each HTTP request's body within ``seconds``, or answers 408 and closes."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        try:
            async with asyncio.timeout(self.seconds):
                while True:
                    message = await receive()
                    messages.append(message)
                    if message["type"] != "http.request" or not message.get("more_body"):
                        break
        except TimeoutError:
            await self._refuse(send)
            return
        replay = iter(messages)

        async def receive_whole() -> Message:
            return next(replay, None) or await receive()

        await self.app(scope, receive_whole, send)

    async def _refuse(self, send: Send) -> None:
        error = {
            "message": f"request body not received within {self.seconds:g} seconds",
            "extensions": {"code": BODY_TIMEOUT_CODE},
        }
        payload = json.dumps({"errors": [error]}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 408, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
