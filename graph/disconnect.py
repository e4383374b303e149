"""A client that hangs up stops its request: the vendor calls only it waited for are cancelled.

Starlette and Strawberry never look for ``http.disconnect`` while a query runs, so a
request whose client left would go on calling vendors until its deadline. Once the
body has been read, this middleware listens on ``receive`` and cancels the request's
task when the client disconnects. Cancellation reaches every vendor call the request
awaits (DataLoader batches cancel when all their callers have); calls shared with
other requests through the cache's single flight go on for them.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CancelOnDisconnect"]

logger = logging.getLogger("lms_graph")


class CancelOnDisconnect:
    """Cancels an HTTP request's handling when its client disconnects before the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        task = asyncio.current_task()
        if task is None:  # not under asyncio: nothing to cancel
            await self.app(scope, receive, send)
            return
        body_read = asyncio.Event()
        disconnected = asyncio.Event()
        answered = False
        gone = False

        async def receive_body() -> Message:
            if body_read.is_set():
                # Past the body only the watcher reads the channel; an app listening for
                # the disconnect itself (a streamed or file response) hears it from there.
                await disconnected.wait()
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body"):
                body_read.set()
            return message

        async def send_watched(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.body" and not message.get("more_body"):
                answered = True
            await send(message)

        async def watch() -> None:
            nonlocal gone
            await body_read.wait()
            while (await receive())["type"] != "http.disconnect":
                pass
            disconnected.set()
            if not answered:
                gone = True
                logger.info("client disconnected: cancelling %s %s", scope["method"], scope["path"])
                task.cancel()

        watcher = asyncio.create_task(watch())
        try:
            await self.app(scope, receive_body, send_watched)
        except asyncio.CancelledError:
            if not gone:
                raise
            task.uncancel()  # our own cancel: nobody is left to answer
        finally:
            watcher.cancel()
