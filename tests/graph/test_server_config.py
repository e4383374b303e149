"""[server] and [[clients]] settings, `lms-graph clients new` and the loopback rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graph.cli import listen_refusal, main
from graph.clients import key_sha256
from graph.config import AppConfig, ClientSettings

SOURCE = {
    "name": "a",
    "kind": "kombo",
    "base_url": "https://x",
    "api_key": "k",
    "integration_id": "i",
}
ANY_HOST = "0.0.0.0"  # noqa: S104 - what the rule is about
CLIENT = ClientSettings(name="admin", key_sha256=key_sha256("some key"))


def test_a_cursor_secret_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LMS_GRAPH_CURSOR_SECRET", "from the environment")
    config = AppConfig.model_validate(
        {
            "server": {"cursor_secret": "env:LMS_GRAPH_CURSOR_SECRET"},
            "sources": [SOURCE],
        }
    )
    secret = config.server.cursor_secret
    assert secret is not None
    assert secret.get_secret_value() == "from the environment"
    assert "from the environment" not in repr(config)


def test_two_keys_never_print_alike(capsys: pytest.CaptureFixture[str]) -> None:
    keys = set()
    for _ in range(2):
        assert main(["clients", "new", "x"]) == 0
        keys.add(capsys.readouterr().out.splitlines()[1])
    assert len(keys) == 2


def _config(clients: list[ClientSettings], **server: Any) -> AppConfig:
    return AppConfig.model_validate(
        {"sources": [SOURCE], "clients": [c.model_dump() for c in clients], "server": server}
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_loopback_is_always_allowed(host: str) -> None:
    assert listen_refusal(_config([]), host) is None


def test_other_hosts_need_clients_or_allow_anonymous(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "allow_anonymous" in (listen_refusal(_config([]), ANY_HOST) or "")
    assert listen_refusal(_config([CLIENT]), ANY_HOST) is None
    assert listen_refusal(_config([], allow_anonymous=True), ANY_HOST) is None
    path = tmp_path / "lms.toml"
    path.write_text("[[sources]]\n" + "".join(f'{k} = "{v}"\n' for k, v in SOURCE.items()))
    assert main(["serve", "--config", str(path), "--host", ANY_HOST, "--port", "9399"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    assert "Traceback" not in captured.err


def test_clients_must_name_configured_sources() -> None:
    bad = ClientSettings(name="x", key_sha256="0" * 64, sources=["nope"])
    with pytest.raises(ValueError, match="unknown source"):
        _config([bad])


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"name": "x", "key_sha256": "0" * 64, "sources": []}, "at least 1"),
        ({"name": "x", "key_sha256": "not-a-digest"}, "key_sha256"),
        ({"name": "x", "key_sha256": "0" * 64, "key": "plain"}, "key"),
    ],
)
def test_client_tables_are_checked(entry: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        _config([]).model_validate({"sources": [SOURCE], "clients": [entry]})


def test_two_clients_cannot_share_a_name() -> None:
    with pytest.raises(ValueError, match="client names must be unique"):
        _config([CLIENT, CLIENT])
