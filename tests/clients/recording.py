"""What the server received and answered, recorded by an ASGI middleware around the app.

Client tests assert the exchange from the server's side (a persisted-query link that got
data back may still have sent the full query every time), so every HTTP request to
``/graphql`` is kept with its parsed body and the response's status, headers and body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Exchange", "RequestLog"]


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


@dataclass
class Exchange:
    """One request to ``/graphql`` and the server's answer."""

    method: str
    params: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    response: Any = None

    @property
    def payload(self) -> dict[str, Any]:
        """The GraphQL request as sent: the JSON body, or the GET parameters decoded."""
        if self.method == "GET":
            return {k: _json(v.encode()) if k != "query" else v for k, v in self.params.items()}
        return self.body if isinstance(self.body, dict) else {}

    @property
    def sha256_hash(self) -> str | None:
        extensions = self.payload.get("extensions") or {}
        hash_: str | None = (extensions.get("persistedQuery") or {}).get("sha256Hash")
        return hash_

    @property
    def error_codes(self) -> list[str]:
        errors = self.response.get("errors", []) if isinstance(self.response, dict) else []
        return [e.get("extensions", {}).get("code") for e in errors]

    @property
    def has_data(self) -> bool:
        return isinstance(self.response, dict) and bool(self.response.get("data"))

    def describe(self) -> str:
        """One line for reports: ``POST hash+query -> 200 data``."""
        sent = "+".join(
            part
            for part, present in (("hash", self.sha256_hash), ("query", "query" in self.payload))
            if present
        )
        sent = sent or ", ".join(sorted(self.payload)) or "-"
        got = "data" if self.has_data else ",".join(map(str, self.error_codes)) or "-"
        kind = self.response_headers.get("content-type", "").split(";")[0]
        return f"{self.method} {sent} -> {self.status} {kind} {got}"


@dataclass
class RequestLog:
    """``wrap`` for :func:`tests.harness.run_server`; ``exchanges`` holds every request."""

    path: str = "/graphql"
    exchanges: list[Exchange] = field(default_factory=list)

    def __call__(self, app: ASGIApp) -> ASGIApp:
        async def recorded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope["path"] != self.path:
                await app(scope, receive, send)
                return
            query = parse_qs(scope["query_string"].decode(), keep_blank_values=True)
            exchange = Exchange(
                method=scope["method"],
                params={k: v[-1] for k, v in query.items()},
                headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
                body=None,
            )
            self.exchanges.append(exchange)
            chunks: list[bytes] = []
            answer: list[bytes] = []

            async def receive_recorded() -> Message:
                message = await receive()
                if message["type"] == "http.request":
                    chunks.append(message.get("body", b""))
                    if not message.get("more_body"):
                        exchange.body = _json(b"".join(chunks)) if any(chunks) else None
                return message

            async def send_recorded(message: Message) -> None:
                if message["type"] == "http.response.start":
                    exchange.status = message["status"]
                    exchange.response_headers = {
                        k.decode().lower(): v.decode() for k, v in message.get("headers", [])
                    }
                elif message["type"] == "http.response.body":
                    answer.append(message.get("body", b""))
                    if not message.get("more_body"):
                        exchange.response = _json(b"".join(answer))
                await send(message)

            await app(scope, receive_recorded, send_recorded)

        return recorded

    def describe(self) -> list[str]:
        return [exchange.describe() for exchange in self.exchanges]
