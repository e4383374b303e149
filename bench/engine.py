"""The execution engine's own cost: lms-graph beside plain graphql-core on the same response.

Builds the canonical traversal (users → progressions → revision → course → skills) for one
page of users two ways, in one run, interleaved:

- **lms-graph**: the real app (Strawberry schema, limits, error shaping, DataLoaders,
  connectors behind the memory entity cache), warmed by one request first, so no vendor
  is called: only the server's own work is left;
- **graphql-core**: plain graphql-core over the same SDL (``schema.graphql``) with trivial
  async resolvers reading the same records from dicts (each node stored once by ID and
  reached through its parent, as a loader would), parsing and validating each request as
  a plain server does, and encoding with ``json.dumps``.

Two ways to measure, each the median of ``--runs`` (in process also in CPU time of this
process, which other jobs on a shared machine disturb less than the wall clock):

- **in process**: lms-graph's ASGI app called directly (request body in, response bytes
  out: HTTP view, parse, validate, execute, encode) against ``graphql()`` + ``json.dumps``;
  then the same for a small query (the page's users with two fields each), where parsing
  and validating weigh as much as executing;
- **loopback HTTP**: each served by uvicorn on a free loopback port, POSTed to by aiohttp.

It stops with an error when a warm lms-graph request calls a vendor (the emulator's request
log) or the two answers differ (their ``data``, compared as JSON: cursors included, since
the graphql-core records carry lms-graph's own). It prints the ratio lms-graph /
graphql-core, which the issue's target puts at 1.6 or less.

    python -m bench.engine [--runs 30] [--users 120] [--first 50] [--no-http]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import uvicorn
from graphql import (
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    build_schema,
    get_named_type,
    get_nullable_type,
    graphql,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message

from bench.checks import BenchError, require_warm
from connectors.sandbox import Emulator, KomboTenant, generate_world
from graph.app import create_app
from graph.config import AppConfig, CacheSettings, ServerSettings
from tests.harness import CANONICAL_QUERY, kombo_source

SDL = Path(__file__).resolve().parent.parent / "schema.graphql"
#: A query whose parse and validation weigh as much as its execution: the same page of
#: users, two fields each (the graphql-core records hold the canonical page).
SMALL_QUERY = "query Small($first: Int!) { users(first: $first) { edges { node { id email } } } }"


# -- lms-graph, in process -------------------------------------------------------------


async def asgi_post(app: ASGIApp, body: bytes) -> tuple[int, bytes]:
    """POST ``body`` to ``/graphql`` of ``app`` in this process: the status and the body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
    }
    answered = asyncio.Event()
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            _require_executed(dict(message.get("headers", [])).get(b"x-lms-graph-cache", b""))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                answered.set()

    await app(scope, receive, send)
    return status, b"".join(chunks)


def _require_executed(cache_status: bytes | str) -> None:
    """This bench measures execution: an answer from the response cache would not."""
    if cache_status in (b"HIT", "HIT"):
        raise BenchError("answered from the response cache, not executed: set responses = false")


# -- plain graphql-core over the same records --------------------------------------------


class _Ref(str):
    """A node's ID standing where the node is: the resolver looks the node up."""


def _normalize(value: Any, nodes: dict[str, dict[str, Any]]) -> Any:
    """``value`` with every node (an object with an ``id``) stored once in ``nodes``
    and replaced by a reference to it."""
    if isinstance(value, list):
        return [_normalize(item, nodes) for item in value]
    if not isinstance(value, dict):
        return value
    record = {key: _normalize(item, nodes) for key, item in value.items()}
    if isinstance(record.get("id"), str):
        nodes.setdefault(record["id"], record)
        return _Ref(record["id"])
    return record


def plain_schema(data: dict[str, Any]) -> tuple[GraphQLSchema, dict[str, Any]]:
    """graphql-core's schema from ``schema.graphql`` over records normalized from ``data``,
    and its root value.

    Its resolvers are async where lms-graph's are (fields with arguments, and a node's
    relation to another node, which a DataLoader answers) and plain functions elsewhere
    (lms-graph's plain attributes); every one looks its value up in a dict."""
    nodes: dict[str, dict[str, Any]] = {}
    root = _normalize(data, nodes)

    def lookup(parent: Any, info: GraphQLResolveInfo, **_: Any) -> Any:
        value = parent[info.field_name]
        if isinstance(value, _Ref):
            return nodes[value]
        if isinstance(value, list):
            return [nodes[item] if isinstance(item, _Ref) else item for item in value]
        return value

    async def load(parent: Any, info: GraphQLResolveInfo, **_: Any) -> Any:
        return lookup(parent, info)

    schema = build_schema(SDL.read_text())
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        is_node = any(interface.name == "Node" for interface in named.interfaces)
        for graphql_field in named.fields.values():
            target = get_nullable_type(graphql_field.type)
            relation = is_node and not isinstance(target, GraphQLList) and _is_node(target)
            graphql_field.resolve = load if graphql_field.args or relation else lookup
    return schema, root


def _is_node(target: Any) -> bool:
    named = get_named_type(target)
    if isinstance(named, GraphQLInterfaceType):
        return named.name == "Node"
    return isinstance(named, GraphQLObjectType) and any(
        interface.name == "Node" for interface in named.interfaces
    )


async def plain_answer(
    schema: GraphQLSchema,
    root: dict[str, Any],
    variables: dict[str, Any],
    query: str = CANONICAL_QUERY,
) -> bytes:
    result = await graphql(schema, query, root, variable_values=variables)
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [error.formatted for error in result.errors]
    return json.dumps(body).encode()


def plain_app(schema: GraphQLSchema, root: dict[str, Any]) -> Starlette:
    """The graphql-core baseline as a minimal HTTP endpoint."""

    async def endpoint(request: Request) -> Response:
        params = json.loads(await request.body())
        body = await plain_answer(schema, root, params.get("variables") or {}, params["query"])
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/graphql", endpoint, methods=["POST"])])


# -- measuring -----------------------------------------------------------------------------


def resolved_fields(value: Any) -> int:
    """Fields in a response's data: every key of every object."""
    if isinstance(value, list):
        return sum(resolved_fields(item) for item in value)
    if isinstance(value, dict):
        return len(value) + sum(resolved_fields(item) for item in value.values())
    return 0


def _data(label: str, status: int, body: bytes) -> dict[str, Any]:
    answer = json.loads(body)
    if status != 200 or answer.get("errors") or not answer.get("data"):
        raise BenchError(f"{label}: HTTP {status}, errors {answer.get('errors')}")
    data: dict[str, Any] = answer["data"]
    return data


@dataclass
class Times:
    """Seconds per run: wall clock, and this process's CPU (steadier on a shared machine)."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def median_ms(self, cpu: bool = False) -> float:
        return statistics.median(self.cpu if cpu else self.wall) * 1000


async def _interleaved(
    runs: int,
    ours: Callable[[], Awaitable[tuple[int, bytes]]],
    plain: Callable[[], Awaitable[tuple[int, bytes]]],
    emulator: Emulator,
    expected: dict[str, Any],
) -> tuple[Times, Times]:
    """Both, one after the other, ``runs`` times; each answer checked after its timing."""
    times = (Times(), Times())
    for _ in range(runs):
        for label, call, taken in (
            ("lms-graph", ours, times[0]),
            ("graphql-core", plain, times[1]),
        ):
            emulator.clear_requests()
            wall, cpu = time.perf_counter(), time.process_time()
            status, body = await call()
            taken.cpu.append(time.process_time() - cpu)
            taken.wall.append(time.perf_counter() - wall)
            require_warm(label, len(emulator.requests))
            if _data(label, status, body) != expected:
                raise BenchError(f"{label}: the answer differs from lms-graph's first one")
    return times


def _report(
    label: str, times: tuple[Times, Times], fields: int, *, cpu: bool, target: bool = True
) -> None:
    kinds = [("wall", False), ("CPU", True)] if cpu else [("wall", False)]
    for kind, of_cpu in kinds:
        ours, plain = (t.median_ms(of_cpu) for t in times)
        print(
            f"{label:>13} ({kind:>4}): lms-graph {ours:.1f} ms "
            f"({ours * 1000 / fields:.1f} µs/field), graphql-core {plain:.1f} ms "
            f"({plain * 1000 / fields:.1f} µs/field); ratio {ours / plain:.2f}"
            + (" (target ≤ 1.6)" if target else "")
        )


async def _small(
    app: ASGIApp,
    emulator: Emulator,
    schema: GraphQLSchema,
    root: dict[str, Any],
    first: int,
    runs: int,
) -> tuple[tuple[Times, Times], int]:
    """The small query, both ways: the times, and its resolved fields."""
    variables = {"first": first}
    request = json.dumps({"query": SMALL_QUERY, "variables": variables}).encode()
    answer = _data("lms-graph (small)", *await asgi_post(app, request))

    async def plain() -> tuple[int, bytes]:
        return 200, await plain_answer(schema, root, variables, SMALL_QUERY)

    ours = lambda: asgi_post(app, request)  # noqa: E731
    return await _interleaved(runs, ours, plain, emulator, answer), resolved_fields(answer)


@asynccontextmanager
async def serve(app: ASGIApp) -> AsyncIterator[str]:
    """``app`` under uvicorn on a free loopback port; yields its ``/graphql`` URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        if not server.started:
            raise BenchError("a server did not start")
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/graphql"
    finally:
        server.should_exit = True
        await task
        sock.close()


def _poster(
    session: aiohttp.ClientSession, url: str, body: bytes
) -> Callable[[], Awaitable[tuple[int, bytes]]]:
    async def post() -> tuple[int, bytes]:
        headers = {"content-type": "application/json"}
        async with session.post(url, data=body, headers=headers) as response:
            _require_executed(response.headers.get("x-lms-graph-cache", ""))
            return response.status, await response.read()

    return post


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--users", type=int, default=120)
    parser.add_argument("--first", type=int, default=50)
    parser.add_argument("--no-http", action="store_true", help="in process only")
    args = parser.parse_args(argv)
    print(f"command: python -m bench.engine {' '.join(argv)}".rstrip())
    variables = {"first": args.first}
    request = json.dumps({"query": CANONICAL_QUERY, "variables": variables}).encode()
    tenant = KomboTenant("bench-key", "bench:tenant", generate_world(seed=7, users=args.users))
    async with Emulator([tenant]) as emulator:
        config = AppConfig(
            sources=[kombo_source("bench", emulator, tenant)],
            # The entity cache warm, the response cache off: every run executes the query.
            cache=CacheSettings(backend="memory", responses=False),
            server=ServerSettings.model_validate({"cursor_secret": "bench"}),
        )
        app = create_app(config)
        async with app.router.lifespan_context(app):
            status, body = await asgi_post(app, request)  # fills the entity cache
            expected = _data("lms-graph (cold)", status, body)
            if len(expected["users"]["edges"]) != args.first:
                raise BenchError(f"lms-graph answered {len(expected['users']['edges'])} users")
            schema, root = plain_schema(expected)
            fields = resolved_fields(expected)
            print(
                f"canonical query, first={args.first} of {args.users} users: {fields} resolved "
                f"fields, {len(body) / 1000:.0f} KB; entity cache warm (0 vendor calls, "
                f"checked), answers equal (checked); median of {args.runs} interleaved runs"
            )

            async def plain_in_process() -> tuple[int, bytes]:
                return 200, await plain_answer(schema, root, variables)

            in_process = await _interleaved(
                args.runs, lambda: asgi_post(app, request), plain_in_process, emulator, expected
            )
            small, small_fields = await _small(app, emulator, schema, root, args.first, args.runs)
        _report("in process", in_process, fields, cpu=True)
        _report("small query", small, small_fields, cpu=True, target=False)
        if args.no_http:
            return
        async with serve(create_app(config)) as ours_url, aiohttp.ClientSession() as session:
            ours = _poster(session, ours_url, request)
            _data("lms-graph (cold, HTTP)", *await ours())  # fills this server's entity cache
            # This server signs cursors with a random key of its own: its answer is the one.
            expected = _data("lms-graph (HTTP)", *await ours())
            async with serve(plain_app(*plain_schema(expected))) as plain_url:
                plain = _poster(session, plain_url, request)
                over_http = await _interleaved(args.runs, ours, plain, emulator, expected)
        # Client and servers share this process: only the wall clock tells them apart.
        _report("loopback HTTP", over_http, fields, cpu=False)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
