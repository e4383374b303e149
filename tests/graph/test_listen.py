"""The socket `lms-graph serve` listens on: accepted connections send without Nagle's
delay (asyncio sets TCP_NODELAY only on sockets whose protocol says TCP)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from graph.cli import PortBusyError, _listen


async def test_accepted_connections_have_nodelay() -> None:
    listening = _listen("127.0.0.1", 0, "--port")
    accepted: asyncio.Queue[int] = asyncio.Queue()

    async def on_connect(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        await accepted.put(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(on_connect, sock=listening)
    async with server:
        port = listening.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        nodelay = await asyncio.wait_for(accepted.get(), timeout=5)
        writer.close()
    assert nodelay != 0


def test_a_busy_port_is_one_line_naming_the_setting() -> None:
    taken = _listen("127.0.0.1", 0, "--port")
    port = taken.getsockname()[1]
    try:
        with pytest.raises(PortBusyError, match=f"127.0.0.1:{port}.*--emulator-port"):
            _listen("127.0.0.1", port, "--emulator-port")
    finally:
        taken.close()
