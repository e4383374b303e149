"""GraphQL over HTTP as the spec draft (and the ``graphql-http`` audit) reads it, on
Strawberry's ASGI view: only its hooks are overridden.

- Media types: ``application/graphql-response+json`` when the client's ``Accept`` prefers
  it, else ``application/json``. With the former, a request error (the document does not
  parse or validate, variables do not coerce: execution never started, so there is no
  ``data``) answers 400; once execution starts the answer is 200.
- Every refused request (bad JSON, a body that is not an object, wrong parameter types,
  no query, several operations without ``operationName``, wrong method or media type, an
  unknown persisted document) answers a GraphQL error body with ``extensions.code``,
  never ``text/plain`` and never a 500.
- GET runs queries only (anything else: 405); persisted documents are resolved by
  :class:`~graph.documents.DocumentRegistry` before execution.
- With a :class:`~graph.response_cache.ResponseCache`, a request is resolved (checked,
  its document found) before Strawberry's ``run``, so a stored response answers it
  without a context, a parse or an execution; a miss goes on through ``run``, which
  reuses what was resolved.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError, OperationDefinitionNode, parse
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.base import BaseSchema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from connectors.observe import record_cache
from graph.document_cache import DocumentCache
from graph.documents import DocumentCode, DocumentRefused, DocumentRegistry, sha256_of
from graph.limits import more_tokens_than
from graph.response_cache import (
    CACHE_STATUS_HEADER,
    FRESHNESS_HEADER,
    Pending,
    ResponseCache,
    asks,
    current_pending,
    freshness_extension,
)
from graph.telemetry import note_refusal
from resolvers.context import Context

__all__ = [
    "GRAPHQL_RESPONSE_JSON",
    "JSON",
    "GraphQLOverHTTP",
    "RequestCode",
    "RequestRefused",
    "negotiate",
]

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
#: Query parameters that name a persisted document: such a GET is a query, not the IDE.
_DOCUMENT_PARAMS = ("extensions", "documentId", "doc_id", "id")
#: Apollo Server's headers on persisted-query errors, so no cache keeps a "not found".
_NO_CACHE = {"cache-control": "private, no-cache, must-revalidate"}


class RequestCode(StrEnum):
    """``extensions.code`` of a request refused before execution."""

    INVALID_JSON = "INVALID_JSON"
    BAD_REQUEST = "BAD_REQUEST"
    MISSING_QUERY = "MISSING_QUERY"
    OPERATION_NAME_REQUIRED = "OPERATION_NAME_REQUIRED"
    UNKNOWN_OPERATION = "UNKNOWN_OPERATION"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"


class RequestRefused(HTTPException):
    """A request answered with one GraphQL error and no execution."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status_code, message)
        self.code = code
        self.headers = dict(headers or {})


_GENERIC_CODES = {
    405: RequestCode.METHOD_NOT_ALLOWED,
    415: RequestCode.UNSUPPORTED_MEDIA_TYPE,
}
_DOCUMENT_STATUS = {
    DocumentCode.NOT_FOUND: 404,
    DocumentCode.NOT_SUPPORTED: 200,
    DocumentCode.HASH_MISMATCH: 400,
    DocumentCode.BAD_REQUEST: 400,
    DocumentCode.NOT_TRUSTED: 403,
}


def _media_ranges(accept: str) -> dict[str, float]:
    ranges: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            ranges[media.lower()] = max(quality, ranges.get(media.lower(), 0.0))
    return ranges


@functools.lru_cache(maxsize=256)  # clients send a handful of Accept values, on every request
def negotiate(accept: str | None) -> str:
    """The response media type for an ``Accept`` header: the GraphQL one only when the
    client names it (``*/*`` and no header mean ``application/json``) and prefers it."""
    ranges = _media_ranges(accept or "")
    graphql = ranges.get(GRAPHQL_RESPONSE_JSON, 0.0)
    plain = max(ranges.get(JSON, 0.0), ranges.get("application/*", 0.0), ranges.get("*/*", 0.0))
    return GRAPHQL_RESPONSE_JSON if graphql > 0 and graphql >= plain else JSON


def _operation_count(query: str, max_tokens: int | None, documents: DocumentCache) -> int:
    document = documents.document(query)
    if document is None:
        if max_tokens is not None and more_tokens_than(query, max_tokens):
            return 0  # refused by the token limit, without lexing it here
        try:
            document = parse(query, no_location=True, max_tokens=max_tokens)
        except GraphQLError:
            return 0  # execution reports the syntax error as usual
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)


def _checked_params(params: Any) -> dict[str, Any]:
    if not isinstance(params, dict):
        raise RequestRefused(
            400,
            RequestCode.BAD_REQUEST,
            "the request must be a JSON object such as "
            '{"query": "...", "variables": {...}, "operationName": "..."}',
        )
    expected = {
        "query": (str,),
        "operationName": (str,),
        "variables": (dict,),
        "extensions": (dict,),
    }
    for name, types in expected.items():
        value = params.get(name)
        if value is not None and not isinstance(value, types):
            kind = "a string" if types == (str,) else "an object"
            raise RequestRefused(
                400, RequestCode.BAD_REQUEST, f"{name} must be {kind} or null, if given"
            )
    return params


class GraphQLOverHTTP(GraphQL[Context, None]):
    """Strawberry's ASGI view with the GraphQL-over-HTTP media types, JSON refusals and
    persisted documents.

    Args:
        schema: The schema to serve.
        documents: Resolves persisted documents and enforces ``[documents] mode``.
        max_tokens: ``[limits] max_tokens``: the view parses a document to count its
            operations, and must not lex more of it than the token limit allows.
        document_cache: The schema's parsed documents, so counting the operations of
            a known document parses nothing.
        responses: The response cache; None when ``[cache] responses`` is off.
        report_freshness: ``[cache] report_freshness``: every response carries
            ``extensions.freshness`` (else only those asked with the header).
        clock: Seconds since the epoch, the cache's clock (tests move it).
    """

    def __init__(
        self,
        schema: BaseSchema,
        documents: DocumentRegistry,
        max_tokens: int | None = None,
        document_cache: DocumentCache | None = None,
        *,
        responses: ResponseCache | None = None,
        report_freshness: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(schema, graphql_ide="graphiql", allow_queries_via_get=True)
        self.documents = documents
        self.max_tokens = max_tokens
        self.document_cache = document_cache if document_cache is not None else DocumentCache(0)
        self.responses = responses
        self.report_freshness = report_freshness
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            response = await self._respond(request)
        except HTTPException as exc:
            response = self._refusal(request, exc)
        await response(scope, receive, send)

    async def _respond(self, request: Request) -> Response:
        """A stored response when there is one, else Strawberry's ``run``."""
        responses = self.responses
        if responses is None or request.method not in ("GET", "POST"):
            return await self.run(request)
        adapter = self.request_adapter_class(request)
        if request.method == "GET" and self.should_render_graphql_ide(adapter):
            return await self.run(request)
        params, query = await self._resolved(adapter)
        scope = self.response_scope(request)
        key = None if scope is None else responses.key(sha256_of(query), params, scope)
        pending = Pending(params, query, key)
        responses.bind(pending)
        if key is None:
            return await self.run(request)
        media = negotiate(request.headers.get("accept"))
        stored = await responses.lookup(key)
        if stored is not None:
            response = responses.render(request, stored, hit=True, media=media)
        else:
            response = await responses.execute_once(key, pending, request, self.run, media)
        if response.headers.get(CACHE_STATUS_HEADER) == "HIT":
            record_cache("response", hits=1)
        else:
            record_cache("response", misses=1)
        return response

    def response_scope(self, request: Request) -> str | None:
        """The digest of the sources this request's client may read (see
        :func:`~resolvers.cache.responses.scope_digest`); None: do not cache it."""
        return None

    def _refusal(self, request: Request, exc: HTTPException) -> Response:
        headers: dict[str, str] = {}
        if isinstance(exc, RequestRefused):
            code, headers = exc.code, exc.headers
        else:
            code = _GENERIC_CODES.get(exc.status_code, RequestCode.BAD_REQUEST)
        if exc.status_code == 405:
            headers.setdefault("allow", "GET, POST")
        note_refusal(code)
        body = {"errors": [{"message": exc.reason, "extensions": {"code": code}}]}
        media = negotiate(request.headers.get("accept"))
        return Response(
            self.encode_json(body),
            status_code=exc.status_code,
            headers=headers,
            media_type=f"{media}; charset=utf-8",
        )

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        named = any(request.query_params.get(key) is not None for key in _DOCUMENT_PARAMS)
        return not named and super().should_render_graphql_ide(request)

    def encode_json(self, data: object) -> bytes:
        """Response bodies through orjson (a 190 KB answer in a sixth of ``json.dumps``'
        time): compact, UTF-8 (``charset=utf-8``), the bytes of ``json.dumps(...,
        ensure_ascii=False, separators=(",", ":"))``. What orjson refuses (integers beyond
        64 bits or lone surrogates in vendor data passed through ``remoteData``) is
        encoded by the standard library instead, escaped to ASCII."""
        try:
            return orjson.dumps(data)
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            return json.dumps(data, separators=(",", ":")).encode()

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return self.decode_json(data)
        except ValueError:  # JSONDecodeError, and UnicodeDecodeError for non-UTF-8 bytes
            raise RequestRefused(
                400, RequestCode.INVALID_JSON, "the request is not valid JSON"
            ) from None

    async def _request_params(self, request: AsyncHTTPRequestAdapter) -> Any:
        if request.method == "GET":
            return self.parse_query_params(request.query_params)
        content_type, _ = parse_content_type(request.content_type or "")
        if content_type != JSON:
            raise RequestRefused(
                415,
                RequestCode.UNSUPPORTED_MEDIA_TYPE,
                f"POST a JSON body with content-type {JSON}",
                headers={"accept-post": JSON},
            )
        body = await request.get_body()
        if not body.strip():
            raise RequestRefused(400, RequestCode.MISSING_QUERY, "the POST has no body")
        return self.parse_json(body)

    async def _resolved(self, request: AsyncHTTPRequestAdapter) -> tuple[dict[str, Any], str]:
        """The request's checked parameters and the document text it runs."""
        params = _checked_params(await self._request_params(request))
        try:
            query = await self.documents.resolve(params)
        except DocumentRefused as refused:
            status = _DOCUMENT_STATUS[refused.code]
            if refused.by_apq_hash:
                status = 200  # what Apollo Server answers, and its link expects
            raise RequestRefused(status, refused.code, refused.message, _NO_CACHE) from None
        if query is None:
            raise RequestRefused(
                400,
                RequestCode.MISSING_QUERY,
                "no GraphQL query in the request: send query, or a persisted document's ID",
            )
        return params, query

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData:
        pending = current_pending()
        if pending is not None:  # resolved already, by the response cache's look-up
            params, query = pending.params, pending.query
        else:
            params, query = await self._resolved(request)
        operation_name = params.get("operationName")
        if (
            operation_name is None
            and _operation_count(query, self.max_tokens, self.document_cache) > 1
        ):
            raise RequestRefused(
                400,
                RequestCode.OPERATION_NAME_REQUIRED,
                "the document has several operations: name the one to run in operationName",
            )
        return GraphQLRequestData(
            query=query,
            variables=params.get("variables"),
            operation_name=operation_name,
            extensions=params.get("extensions"),
        )

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        method = request_adapter.method
        try:
            result = await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=OperationType.from_http(method),
                operation_extensions=request_data.extensions,
            )
        except InvalidOperationTypeError as exc:
            raise RequestRefused(
                405,
                RequestCode.METHOD_NOT_ALLOWED,
                f"{exc.as_http_error_reason(method)}: GET runs queries only; use POST",
                headers={"allow": "POST"},
            ) from None
        except CannotGetOperationTypeError as exc:
            raise RequestRefused(
                400, RequestCode.UNKNOWN_OPERATION, exc.as_http_error_reason()
            ) from None
        except MissingQueryError:
            raise RequestRefused(400, RequestCode.MISSING_QUERY, "no GraphQL query") from None
        self._executed(request, context, result)
        return result

    def _executed(self, request: Request, context: Context, result: ExecutionResult) -> None:
        """Adds ``extensions.freshness`` when asked, and keeps what the response cache
        may store."""
        if self.report_freshness or asks(request, FRESHNESS_HEADER):
            freshness = context.freshness
            ages = freshness_extension(freshness.oldest, self.clock(), context.vendor_calls)
            result.extensions = {**(result.extensions or {}), "freshness": ages}
        pending = current_pending()
        if self.responses is not None and pending is not None and pending.key is not None:
            pending.actual = dict(context.vendor_calls)
            pending.built = self.responses.storable(context, result)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = negotiate(request.headers.get("accept"))
        return sub_response

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        errors = result.errors or []
        if result.data is None and errors and all(error.path is None for error in errors):
            # A request error: execution never started, so the spec wants no data entry.
            response.pop("data", None)
        return response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        media = sub_response.media_type or JSON
        response.headers["content-type"] = f"{media}; charset=utf-8"
        request_error = isinstance(response_data, dict) and "data" not in response_data
        if media == GRAPHQL_RESPONSE_JSON and request_error and not sub_response.status_code:
            response.status_code = 400
        return response
