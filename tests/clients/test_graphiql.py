"""GraphiQL without internet: the assets come from lms-graph itself, the query is filled in."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import TimeoutError as PlaywrightTimeout

from connectors.settings import SourceSettings
from graph.config import GraphiQLSettings
from graph.graphiql import CDN, DEFAULT_QUERY, pinned_assets
from tests.clients.conftest import require
from tests.clients.recording import RequestLog
from tests.harness import run_server


async def test_graphiql_runs_the_canonical_query_with_the_internet_blocked(
    browser: Any, graphiql_assets: Path, sources: list[SourceSettings], log: RequestLog
) -> None:
    settings = GraphiQLSettings(assets_dir=graphiql_assets)
    async with run_server(sources, wrap=log, graphiql=settings) as server:
        expected = await server.data(DEFAULT_QUERY)
        log.exchanges.clear()
        page = await browser.new_page()
        blocked: list[str] = []

        async def only_the_server(route: Any) -> None:
            url = route.request.url
            if url.startswith((server.url + "/", "data:")):
                await route.continue_()
            else:
                blocked.append(url)
                await route.abort()

        await page.route("**/*", only_the_server)
        await page.goto(server.url + "/graphql")
        try:
            await page.wait_for_selector(".graphiql-execute-button", timeout=30_000)
        except PlaywrightTimeout:
            pytest.fail(f"GraphiQL did not load; requests to other hosts: {blocked}")
        editor = await page.locator(".graphiql-query-editor").inner_text()
        assert "progressions(first: 20)" in editor
        async with page.expect_response(
            lambda r: r.url == server.url + "/graphql" and r.request.method == "POST"
        ) as answered:
            await page.click(".graphiql-execute-button")
        result = await (await answered.value).json()
        first_email = expected["users"]["edges"][0]["node"]["email"]
        await page.wait_for_function(
            "email => document.querySelector('.result-window')?.innerText.includes(email)",
            arg=first_email,
            timeout=30_000,
        )
    assert blocked == []
    assert result == {"data": expected}
    # The run sent the page's query as it stands in the editor: the canonical traversal.
    (run,) = [e for e in log.exchanges if e.method == "POST" and "users(" in str(e.body)]
    assert run.body["query"] == DEFAULT_QUERY


async def test_the_server_serves_each_asset_as_the_page_pins_it(
    graphiql_assets: Path, sources: list[SourceSettings]
) -> None:
    settings = GraphiQLSettings(assets_dir=graphiql_assets)
    async with run_server(sources, graphiql=settings) as server:
        async with server.session.get(
            server.url + "/graphql", headers={"Accept": "text/html"}
        ) as response:
            html = await response.text()
        assert CDN not in html
        for asset in pinned_assets():
            assert f'"/graphiql/{asset.path}"' in html
            async with server.session.get(f"{server.url}/graphiql/{asset.path}") as response:
                assert response.status == 200, asset.path
                assert asset.matches(await response.read()), asset.path


async def test_without_assets_the_page_falls_back_to_the_cdn(
    tmp_path: Path, sources: list[SourceSettings]
) -> None:
    settings = GraphiQLSettings(assets_dir=tmp_path / "not-installed")
    async with run_server(sources, graphiql=settings) as server:
        async with server.session.get(
            server.url + "/graphql", headers={"Accept": "text/html"}
        ) as response:
            html = await response.text()
        async with server.session.get(server.url + "/graphiql/anything.js") as response:
            assert response.status == 404
    assert all(f'"{CDN}{asset.path}"' in html for asset in pinned_assets())
    # Filled in either way, as a JavaScript string literal.
    assert f"const EXAMPLE_QUERY = {json.dumps(DEFAULT_QUERY)};" in html


def test_install_replaces_a_tampered_asset(graphiql_assets: Path, tmp_path: Path) -> None:
    require(None if shutil.which("npm") else "npm is not installed (apt-get install npm)")
    target = tmp_path / "graphiql"
    shutil.copytree(graphiql_assets, target)
    react = next(a for a in pinned_assets() if a.package == "react")
    (target / react.path).write_text("alert('not react')", encoding="utf-8")
    command = [sys.executable, "-m", "graph.cli", "graphiql", "install", "--dir", str(target)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"installed 1 of {len(pinned_assets())} GraphiQL assets")
    assert react.matches((target / react.path).read_bytes())


def test_install_without_npm_says_what_to_install(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "graph.cli", "graphiql", "install", "--dir", str(tmp_path)]
    done = subprocess.run(  # noqa: S603
        [*command, "--npm", "/nonexistent/npm"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "needs npm" in done.stderr
    assert list(tmp_path.iterdir()) == []
