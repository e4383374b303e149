"""CancelOnDisconnect on plain ASGI messages: an app that listens for the disconnect
itself (Starlette's file and streamed responses) hears only a real one."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from starlette.responses import FileResponse

from graph.disconnect import CancelOnDisconnect

SCOPE: dict[str, Any] = {
    "type": "http",
    "http_version": "1.1",
    "method": "GET",
    "path": "/asset.js",
    "raw_path": b"/asset.js",
    "query_string": b"",
    "headers": [],
}


async def test_a_file_response_is_sent_whole(tmp_path: Path) -> None:
    content = b"x" * 200_000
    (tmp_path / "asset.js").write_bytes(content)
    requests = [{"type": "http.request", "body": b"", "more_body": False}]
    client_still_there = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if requests:
            return requests.pop()
        await client_still_there.wait()  # never set: the client stays
        return {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    app = CancelOnDisconnect(FileResponse(tmp_path / "asset.js"))
    await asyncio.wait_for(app(dict(SCOPE), receive, send), timeout=5)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert body == content


async def test_a_real_disconnect_cancels_the_app() -> None:
    requests = [{"type": "http.request", "body": b"", "more_body": False}]
    client_left = asyncio.Event()
    started = asyncio.Event()
    cancelled = False

    async def receive() -> dict[str, Any]:
        if requests:
            return requests.pop()
        await client_left.wait()
        return {"type": "http.disconnect"}

    async def slow_app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal cancelled
        await receive()
        started.set()
        try:
            await asyncio.Event().wait()  # a vendor that never answers
        except asyncio.CancelledError:
            cancelled = True
            raise

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError("nothing is sent to a client that left")

    running = asyncio.create_task(CancelOnDisconnect(slow_app)(dict(SCOPE), receive, send))
    await asyncio.wait_for(started.wait(), timeout=5)
    client_left.set()
    await asyncio.wait_for(running, timeout=5)
    assert cancelled
