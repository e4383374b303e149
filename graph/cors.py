"""CORS for ``[server] cors_allow_origins``: Starlette's middleware, with its refusal of a
preflight given as a GraphQL error body, like every other refused request."""

from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from graph.config import ServerSettings
from graph.request_id import REQUEST_ID_HEADER

__all__ = ["CORS_REFUSED_CODE", "GraphQLCORSMiddleware", "cors_middleware"]

CORS_REFUSED_CODE = "CORS_NOT_ALLOWED"


class GraphQLCORSMiddleware(CORSMiddleware):
    """Starlette's CORS middleware; a refused preflight answers JSON, not ``text/plain``."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        reason = bytes(response.body).decode("utf-8", "replace")  # "Disallowed CORS origin"
        body = {"errors": [{"message": reason, "extensions": {"code": CORS_REFUSED_CODE}}]}
        headers = {k: v for k, v in response.headers.items() if k.startswith("access-control-")}
        return Response(
            json.dumps(body, separators=(",", ":")),
            status_code=response.status_code,
            headers=headers,
            media_type="application/json",
        )


def cors_middleware(settings: ServerSettings) -> list[Middleware]:
    """The CORS middleware for ``settings``; none when no origin is allowed."""
    if not settings.cors_allow_origins:
        return []
    return [
        Middleware(
            GraphQLCORSMiddleware,
            allow_origins=settings.cors_exact_origins(),
            allow_origin_regex=settings.cors_origin_regex(),
            allow_methods=["GET", "POST"],
            # Clients add their own (Apollo's apollographql-client-name …); the origin
            # list, not the header list, is the guard.
            allow_headers=["*"],
            expose_headers=[REQUEST_ID_HEADER],  # so a browser client can quote it
            allow_credentials=settings.cors_allow_credentials,
            max_age=settings.cors_max_age_seconds,
        )
    ]
