"""API clients: keys checked by their SHA-256, each client limited to its sources.

The config holds ``key_sha256``, never a key. A request names its client with
``Authorization: Bearer <key>``; the key's digest is compared with every client's in
constant time (all of them, whatever matches), so timing tells nothing about which
digest is near. Starlette's ``AuthenticationMiddleware`` runs the check; a refusal is
401 with a GraphQL error body and ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Collection, Sequence

from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    SimpleUser,
)
from starlette.requests import HTTPConnection
from starlette.responses import Response

from graph.config import ClientSettings
from graph.http_errors import graphql_error_response

__all__ = [
    "UNAUTHENTICATED_CODE",
    "ClientKeyBackend",
    "ClientUser",
    "key_sha256",
    "new_client",
    "unauthenticated",
]

UNAUTHENTICATED_CODE = "UNAUTHENTICATED"


def key_sha256(key: str) -> str:
    """What ``[[clients]] key_sha256`` holds for ``key``."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_client(name: str, sources: Sequence[str] | None) -> tuple[str, str]:
    """A fresh random key and the ``[[clients]]`` table that accepts it."""
    key = secrets.token_urlsafe(32)
    lines = ["[[clients]]", f"name = {json.dumps(name)}", f'key_sha256 = "{key_sha256(key)}"']
    if sources:
        lines.append(f"sources = [{', '.join(json.dumps(s) for s in sources)}]")
    return key, "\n".join(lines) + "\n"


class ClientUser(SimpleUser):
    """The authenticated client, as ``request.user``."""

    def __init__(self, client: ClientSettings) -> None:
        super().__init__(client.name)
        self.client = client


class _Refused(AuthenticationError):
    def __init__(self, message: str, challenge: str) -> None:
        super().__init__(message)
        self.challenge = challenge


def _is_ide_page(conn: HTTPConnection) -> bool:
    """GraphiQL's page itself: a browser cannot send a key for it; the queries GraphiQL
    sends carry the key set in its Headers tab. Only a GET with no query string at all
    (any parameter may name a query or a persisted document) asking for HTML."""
    return (
        conn.scope.get("method") == "GET"
        and not conn.scope.get("query_string")
        and "text/html" in conn.headers.get("accept", "")
    )


class ClientKeyBackend(AuthenticationBackend):
    """Finds the client of a request's bearer key; ``open_paths``, and paths below
    ``open_prefixes`` (static assets), need none."""

    def __init__(
        self,
        clients: Sequence[ClientSettings],
        open_paths: Collection[str],
        open_prefixes: Sequence[str] = (),
    ) -> None:
        self._clients = list(clients)
        self._open = frozenset(open_paths)
        self._open_prefixes = tuple(prefix.rstrip("/") + "/" for prefix in open_prefixes)

    def match(self, key: str) -> ClientSettings | None:
        digest = key_sha256(key)
        found = None
        for client in self._clients:
            if hmac.compare_digest(digest, client.key_sha256):
                found = client
        return found

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, ClientUser] | None:
        path = conn.url.path
        if path in self._open or path.startswith(self._open_prefixes) or _is_ide_page(conn):
            return None
        scheme, _, key = conn.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise _Refused(
                "an API key is required: send `Authorization: Bearer <key>`",
                'Bearer realm="lms-graph"',
            )
        client = self.match(key.strip())
        if client is None:
            raise _Refused(
                "the API key is not valid", 'Bearer realm="lms-graph", error="invalid_token"'
            )
        return AuthCredentials(["graphql"]), ClientUser(client)


def unauthenticated(_: HTTPConnection, error: AuthenticationError) -> Response:
    """401 with a GraphQL error body and the Bearer challenge."""
    challenge = error.challenge if isinstance(error, _Refused) else "Bearer"
    return graphql_error_response(
        401, UNAUTHENTICATED_CODE, str(error), {"WWW-Authenticate": challenge}
    )
