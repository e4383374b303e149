"""The GraphiQL page's pieces that need no browser and no npm."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from graph.config import parse_config
from graph.graphiql import DEFAULT_QUERY, default_assets_dir, missing_assets, pinned_assets

KOMBO = """
[[sources]]
name = "acme"
kind = "kombo"
base_url = "https://api.kombo.dev/v1"
api_key = "k"
integration_id = "acme:42"
"""


def test_the_pinned_assets_are_read_from_strawberrys_page() -> None:
    assets = pinned_assets()
    # Strawberry's page: React, ReactDOM, js-cookie, GraphiQL (script, style), explorer (both).
    assert len(assets) == 7
    packages = {a.package for a in assets}
    assert packages == {"react", "react-dom", "js-cookie", "graphiql", "@graphiql/plugin-explorer"}
    for asset in assets:
        assert re.fullmatch(r"\d+\.\d+\.\d+", asset.version), asset.path
        assert asset.integrity.startswith("sha384-"), asset.path
    assert not pinned_assets()[0].matches(b"tampered")


def test_the_page_opens_on_the_readmes_try_it_query() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    try_it = readme.split("## Try it", 1)[1].split("```graphql\n", 1)[1].split("```", 1)[0]
    assert try_it == DEFAULT_QUERY


def test_assets_live_per_user_outside_the_repo_unless_configured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_assets_dir() == tmp_path / "data" / "lms-graph" / "graphiql"
    assert parse_config(KOMBO).graphiql.assets_dir == default_assets_dir()
    configured = parse_config(KOMBO + '\n[graphiql]\nassets_dir = "/srv/graphiql"\n')
    assert configured.graphiql.assets_dir == Path("/srv/graphiql")
    assert missing_assets(tmp_path) == list(pinned_assets())
