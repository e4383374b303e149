"""compose.yaml without a container engine: valid Compose, its services wired to each
other, to the Dockerfile, to the load balancer's config and to the deploy config; its Redis
command run by the real redis-server with its healthcheck."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from graph.cli import listen_refusal
from graph.clients import key_sha256
from graph.config import load_config
from tests.cache.helpers import free_port
from tests.deploy.compose import interpolate, load_compose
from tests.deploy.image import stages
from tests.deploy.instances import ROOT

INSTANCES = ("lms-graph-1", "lms-graph-2")
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOTENV = {
    "REDIS_PASSWORD": "9d0c4e7f1a2b3c4d5e6f7a8b9c0d1e2f",
    "LMS_GRAPH_CURSOR_SECRET": "cursor-secret-of-the-compose-test",
    "LMS_GRAPH_APP_KEY_SHA256": key_sha256("app-key-of-the-compose-test"),
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose(ROOT / "compose.yaml")


def _environment(service: dict[str, Any], dotenv: dict[str, str] = DOTENV) -> dict[str, str]:
    return {name: interpolate(value, dotenv) for name, value in service["environment"].items()}


def _mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> file of this repository, for each read-only bind mount."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target, mode = volume.split(":")
        assert mode == "ro", volume
        assert (ROOT / source).is_file(), volume
        mounts[target] = ROOT / source
    return mounts


def test_the_services_and_who_waits_for_whom(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"redis", "lb", *INSTANCES}
    assert "healthcheck" in services["redis"]
    (_, runtime) = stages(ROOT / "Dockerfile")
    assert runtime.all("HEALTHCHECK"), "service_healthy below needs the image's HEALTHCHECK"
    for name in INSTANCES:
        assert services[name]["build"] == "."
        assert services[name]["depends_on"] == {"redis": {"condition": "service_healthy"}}
    assert services["lb"]["depends_on"] == {
        name: {"condition": "service_healthy"} for name in INSTANCES
    }
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"lb"}, "only the load balancer is reachable from outside"


def test_every_instance_reads_the_deploy_config_with_its_environment(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _check_instances(compose, DOTENV, monkeypatch)


def test_the_readme_commands_write_the_env_file_compose_needs(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The README's block up to ``docker compose up``, run: its .env makes both instances
    start, and the key it prints is the one the config accepts."""
    (block,) = [b for b in re.findall(r"```sh\n(.*?)```", README, re.DOTALL) if "> .env" in b]
    script = block[: block.index("\ndocker compose up")]
    done = subprocess.run(  # noqa: S603
        ["/bin/bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    )  # fmt: skip
    key = done.stdout.strip().rpartition(": ")[2]
    dotenv = dict(
        line.split("=", 1) for line in (tmp_path / ".env").read_text().splitlines() if line
    )
    required = set(re.findall(r"\$\{(\w+):\?", (ROOT / "compose.yaml").read_text()))
    assert set(dotenv) == required
    assert dotenv["LMS_GRAPH_APP_KEY_SHA256"] == key_sha256(key)
    _check_instances(compose, dotenv, monkeypatch)


def _check_instances(
    compose: dict[str, Any], dotenv: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (_, runtime) = stages(ROOT / "Dockerfile")
    mounted = runtime.env()["LMS_GRAPH_CONFIG"]
    for name in INSTANCES:
        service = compose["services"][name]
        assert _mounts(service) == {mounted: ROOT / "deploy" / "config.toml"}
        env = _environment(service, dotenv)
        for variable, value in env.items():
            monkeypatch.setenv(variable, value)
        config = load_config(ROOT / "deploy" / "config.toml")
        assert config.cache.backend == "redis"
        grace = float(service["stop_grace_period"].removesuffix("s"))
        assert grace > config.server.request_timeout_seconds
        assert config.cache.url is not None
        url = config.cache.url.get_secret_value()
        assert url == f"redis://:{dotenv['REDIS_PASSWORD']}@redis:6379/0"
        assert config.server.cursor_secret is not None
        assert config.server.cursor_secret.get_secret_value() == dotenv["LMS_GRAPH_CURSOR_SECRET"]
        assert [c.key_sha256 for c in config.clients] == [dotenv["LMS_GRAPH_APP_KEY_SHA256"]]
        assert listen_refusal(config, "0.0.0.0") is None  # noqa: S104 - as CMD listens
    first, second = (_environment(compose["services"][name], dotenv) for name in INSTANCES)
    assert first == second


def test_the_load_balancer_sends_to_both_instances_on_the_image_port(
    compose: dict[str, Any],
) -> None:
    lb = compose["services"]["lb"]
    mounts = _mounts(lb)
    assert set(mounts) == {"/usr/local/etc/haproxy/haproxy.cfg"}  # the image's default
    config = mounts["/usr/local/etc/haproxy/haproxy.cfg"].read_text(encoding="utf-8")
    (_, runtime) = stages(ROOT / "Dockerfile")
    (port,) = runtime.one("EXPOSE").value
    servers = re.findall(r"^\s*server (\S+) (\S+)", config, re.MULTILINE)
    assert servers == [(name, f"{name}:{port}") for name in INSTANCES]
    assert "option httpchk GET /healthz" in config
    (bind,) = re.findall(r"^\s*bind :(\d+)$", config, re.MULTILINE)
    assert [p.split(":")[-1] for p in lb["ports"]] == [bind]


def test_redis_runs_with_the_compose_command_and_its_healthcheck_authenticates(
    compose: dict[str, Any], redis_binary: None
) -> None:
    service = compose["services"]["redis"]
    env = {**os.environ, **_environment(service)}
    command = [interpolate(part, DOTENV) for part in service["command"]]
    # The redis image's entrypoint drops root only for a command that starts so.
    assert command[0] == "redis-server"
    port = free_port()
    # Compose's Redis listens on 6379 of its own network; here, a free loopback port.
    process = subprocess.Popen(  # noqa: S603
        [*command, "--port", str(port), "--bind", "127.0.0.1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        check = service["healthcheck"]["test"]
        assert isinstance(check, str)  # the spec's shell form: CMD-SHELL
        check = check.replace("redis-cli ", f"redis-cli -p {port} ", 1)
        deadline = time.monotonic() + 10
        while _healthcheck(check, env) != 0:
            assert process.poll() is None, "redis-server refused the compose command"
            assert time.monotonic() < deadline, "the healthcheck never passed"
            time.sleep(0.05)
        without_password = {k: v for k, v in env.items() if k != "REDISCLI_AUTH"}
        assert _healthcheck(check, without_password) != 0
        client = redis.Redis(port=port, password=DOTENV["REDIS_PASSWORD"])
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "volatile-lru"}
        assert client.config_get("save") == {"save": ""}
        client.close()
        anonymous = redis.Redis(port=port)
        with pytest.raises(redis.AuthenticationError):
            anonymous.ping()
        anonymous.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def _healthcheck(command: str, env: dict[str, str]) -> int:
    """A CMD-SHELL healthcheck's exit code: Docker reads nothing else."""
    done = subprocess.run(  # noqa: S603
        ["/bin/sh", "-c", command], env=env, capture_output=True, check=False
    )  # fmt: skip
    return done.returncode
