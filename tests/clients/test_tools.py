"""A missing Node or Chromium skips the client tests here, and fails them under CI."""

from __future__ import annotations

import pytest

from tests.clients.conftest import require


def test_a_missing_tool_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="node is not installed"):
        require("node is not installed")


def test_a_missing_tool_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the client tests"):
        require("node is not installed")
    require(None)  # nothing missing: nothing happens
