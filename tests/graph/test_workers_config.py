"""``--workers`` and ``[server] workers``, and the config each worker is handed."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest
from pydantic import SecretStr

from graph.cli import main
from graph.config import ConfigError, demo_config, parse_config
from graph.workers import WorkerApp, worker_config
from tests.cache.helpers import free_port

KOMBO = """
[[sources]]
name = "a"
kind = "kombo"
base_url = "https://x"
api_key = "k"
integration_id = "i"
"""


@pytest.mark.parametrize("value", ["0", "65", "two"])
def test_workers_outside_1_to_64_are_refused_in_one_line(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--workers", value])
    assert exited.value.code == 2
    assert f"{value!r} is not a number of workers (1 to 64)" in capsys.readouterr().err


@pytest.mark.parametrize("value", [0, 65])
def test_server_workers_is_checked_like_the_flag(value: int) -> None:
    with pytest.raises(ConfigError, match=r"server\.workers"):
        parse_config(f"[server]\nworkers = {value}\n{KOMBO}")
    assert parse_config(KOMBO).server.workers == 1


def test_workers_share_one_random_cursor_secret_and_not_the_emulator(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = demo_config()
    assert config.server.cursor_secret is None
    with caplog.at_level(logging.WARNING, logger="lms_graph"):
        shared = worker_config(config, 3)
    secret = shared.server.cursor_secret
    assert secret is not None
    assert len(secret.get_secret_value()) >= 40
    assert shared.emulator is None
    assert shared.sources == config.sources
    assert worker_config(config, 3).server.cursor_secret != secret  # random per start
    assert "no [server] cursor_secret" in caplog.text
    assert "shared by the 3 workers" in caplog.text
    assert secret.get_secret_value() not in caplog.text


def test_a_configured_cursor_secret_is_kept_and_not_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = parse_config(f'[server]\ncursor_secret = "s3cret"\n[cache]\nbackend = "none"\n{KOMBO}')
    with caplog.at_level(logging.WARNING, logger="lms_graph"):
        shared = worker_config(config, 2)
    assert shared.server.cursor_secret == SecretStr("s3cret")
    assert "cursor_secret" not in caplog.text


def test_a_per_process_cache_is_warned_about_and_absorb_named(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="lms_graph"):
        worker_config(demo_config(), 2)  # memory cache, an Absorb source
        worker_config(parse_config(KOMBO), 2)
    first, second = [r.getMessage() for r in caplog.records if "[cache]" in r.getMessage()]
    assert "each worker has its own cache" in first
    assert "Absorb" in first
    assert "each worker has its own cache" in second
    assert "Absorb" not in second


def test_the_worker_app_travels_to_a_spawned_process() -> None:
    """multiprocessing's spawn pickles the factory with the config, secrets included."""
    app = WorkerApp(worker_config(demo_config(), 2), "warning")
    copy = pickle.loads(pickle.dumps(app))  # noqa: S301 - our own bytes
    assert copy == app
    assert copy.config.server.cursor_secret == app.config.server.cursor_secret


def test_a_bad_manifest_stops_the_parent_before_any_worker_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "lms.toml"
    config.write_text(
        f'[cache]\nbackend = "none"\n[documents]\nmanifests = ["missing.json"]\n{KOMBO}',
        encoding="utf-8",
    )
    args = ["serve", "--config", str(config), "--port", str(free_port()), "--workers", "2"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("lms-graph: [documents] ")
    assert len(err.strip().splitlines()) == 1


def test_a_worker_that_cannot_load_its_config_exits_as_a_failed_start(tmp_path: Path) -> None:
    """uvicorn's supervisor stops (rather than restarts) a worker exiting with 3."""
    config = parse_config(f'[documents]\nmanifests = ["{tmp_path / "gone.json"}"]\n{KOMBO}')
    with pytest.raises(SystemExit) as exited:
        WorkerApp(config, "warning")()
    assert exited.value.code == 3
