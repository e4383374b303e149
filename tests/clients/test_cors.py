"""A browser page on another origin calls the API: allowed for a configured origin only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from connectors.sandbox import KomboTenant
from connectors.settings import SourceSettings
from tests.clients.recording import RequestLog
from tests.e2e.expected import live_users
from tests.harness import run_server

#: What a frontend does: a JSON POST, which makes the browser send a preflight first.
CALL_API = """async (url) => {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ query: "{ users(first: 1) { edges { node { email } } } }" }),
    });
    return { status: response.status, body: await response.json() };
  } catch (error) {
    return { error: String(error) };
  }
}"""


@asynccontextmanager
async def app_origins(count: int) -> AsyncIterator[list[str]]:
    """``count`` origins (loopback, one port each) serving a blank frontend page."""

    async def page(_: web.Request) -> web.Response:
        return web.Response(text="<!doctype html><title>frontend</title>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        for _ in range(count):
            await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield [f"http://127.0.0.1:{port}" for _, port in runner.addresses]
    finally:
        await runner.cleanup()


async def test_only_a_configured_origin_may_call_the_api_from_a_browser(
    browser: Any, sources: list[SourceSettings], tenant: KomboTenant, log: RequestLog
) -> None:
    async with app_origins(2) as (allowed, other):
        cors = {"cors_allow_origins": [allowed]}
        async with run_server(sources, wrap=log, server=cors) as server:
            page = await browser.new_page()
            answers = {}
            for origin in (allowed, other):
                await page.goto(origin + "/")
                answers[origin] = await page.evaluate(CALL_API, server.url + "/graphql")

    print("\n".join(f"{e.headers.get('origin')} {e.describe()}" for e in log.exchanges))
    email = live_users(tenant.world)[0].email
    assert answers[allowed]["status"] == 200, answers[allowed]
    assert answers[allowed]["body"]["data"]["users"]["edges"][0]["node"]["email"] == email
    assert "Failed to fetch" in answers[other].get("error", ""), answers[other]
    by_origin = {
        origin: [
            (e.method, e.response_headers.get("access-control-allow-origin"))
            for e in log.exchanges
            if e.headers.get("origin") == origin
        ]
        for origin in (allowed, other)
    }
    # The allowed page: preflight answered for its origin, then the query itself.
    assert by_origin[allowed] == [("OPTIONS", allowed), ("POST", allowed)]
    # The other page: its preflight gets no permission, so the browser never sends the query.
    assert by_origin[other] == [("OPTIONS", None)]
