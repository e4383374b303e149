"""HTTP-level refusals shaped like GraphQL responses: ``{"errors": [...]}`` with a code."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse

from graph.telemetry import note_refusal

__all__ = ["graphql_error_response"]


def graphql_error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """A response a GraphQL client can read: one error with ``extensions.code``; the
    refusal is counted by its code (:mod:`graph.telemetry`)."""
    note_refusal(code)
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))
