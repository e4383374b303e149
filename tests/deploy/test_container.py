"""The Dockerfile, checked without a container engine (none runs here or in CI): linted,
read by BuildKit's parser, its build context selected by Docker's .dockerignore rules, and
its steps run in order (DEVELOPERS.md, "The container")."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from connectors.sandbox import Emulator, demo_emulator
from tests.cache.helpers import RedisServer, free_port
from tests.deploy.image import Stage, build_context, copy_context, run_step, stages
from tests.deploy.instances import APP_KEY, ROOT, deploy_config, instance_env
from tests.harness import cli_server

DOCKERFILE = ROOT / "Dockerfile"
PACKAGES = ("graph", "resolvers", "connectors")
BASE = "python:3.11-slim-bookworm"
PORT = "8000"  # EXPOSEd, and where CMD listens and HEALTHCHECK asks


def git_files(*paths: str) -> set[str]:
    listed = subprocess.run(  # noqa: S603
        ["git", "ls-files", *paths],  # noqa: S607
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return set(listed.split())


def test_hadolint_finds_nothing() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    done = subprocess.run(  # noqa: S603
        [str(hadolint), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_two_stages_the_runtime_without_sources_or_build_tools() -> None:
    build, runtime = stages(DOCKERFILE)
    assert (build.base, build.name, runtime.base) == (BASE, "build", BASE)
    assert [run.value[0].split()[:2] for run in build.all("RUN")] == [["pip", "wheel"]]
    # The runtime stage copies nothing: it mounts the build stage's wheels for one RUN.
    assert runtime.all("COPY") == []
    assert runtime.all("ADD") == []
    install = runtime.all("RUN")[0]
    assert install.flags == ("--mount=type=bind,from=build,source=/wheels,target=/wheels",)
    assert "--no-index" in install.value[0].split()
    # An extra (otel) must be built into wheels and installed, so both stages declare it.
    assert build.run_env()["EXTRAS"] == runtime.run_env()["EXTRAS"] == ""


def test_it_runs_as_a_numeric_non_root_user_that_exists() -> None:
    (_, runtime) = stages(DOCKERFILE)
    user = runtime.one("USER").value[0]
    uid, _, gid = user.partition(":")
    assert uid.isdigit(), user
    assert int(uid) >= 1000, user
    assert gid == uid
    useradd = [r.value[0] for r in runtime.all("RUN") if r.value[0].startswith("useradd")]
    assert len(useradd) == 1
    assert f"--uid {uid} --user-group" in useradd[0]
    # Nothing after USER runs as root, and nothing after it may need root.
    after = runtime.instructions[runtime.instructions.index(runtime.one("USER")) :]
    assert [i.cmd for i in after if i.cmd in {"RUN", "COPY", "ADD"}] == []


def test_the_port_is_the_same_in_expose_cmd_and_healthcheck() -> None:
    (_, runtime) = stages(DOCKERFILE)
    assert runtime.one("EXPOSE").value == (PORT,)
    assert runtime.one("ENTRYPOINT").value == ("lms-graph",)
    listen = ("--host", "0.0.0.0", "--port", PORT)  # noqa: S104 - the container's own interface
    assert runtime.one("CMD").value == ("serve", *listen)
    check = runtime.one("HEALTHCHECK")
    assert check.value[:3] == ("CMD", "python", "-c")
    assert f"http://127.0.0.1:{PORT}/healthz" in check.value[3]
    assert runtime.env()["LMS_GRAPH_CONFIG"] == "/etc/lms-graph/config.toml"


def test_the_build_context_is_the_package_and_nothing_else() -> None:
    context = build_context(ROOT)
    wanted = git_files(*PACKAGES) | {"pyproject.toml", "README.md"}
    assert wanted <= context, sorted(wanted - context)
    # Not .git, .venv, tests/clients/node_modules, .env, caches or a local config.
    allowed = {"Dockerfile", ".dockerignore", "pyproject.toml", "README.md", *PACKAGES}
    stray = {p for p in context if p.split("/")[0] not in allowed or "__pycache__" in p}
    assert stray == set()
    (build, _) = stages(DOCKERFILE)
    for copy in build.all("COPY"):
        assert all(source.rstrip("/") in context for source in copy.value[:-1]), copy.original


@dataclass
class Installed:
    """The image's steps, run here: the runtime venv holds what the image would."""

    runtime: Stage
    venv: Path
    env: dict[str, str]  # the image's ENV, container paths mapped, PATH on the venv
    root: Path  # the image's filesystem root, for mapped paths


def _container_env(env: dict[str, str], venv: Path) -> dict[str, str]:
    # Only what an image has: no PYTHONPATH, no VIRTUAL_ENV, nothing of this checkout.
    return {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": "/home/lms-graph", **env}


def _fresh_python(path: Path) -> Path:
    """A venv standing for the image's Python: the same 3.11, nothing installed in it."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)  # noqa: S603
    return path


@pytest.fixture(scope="module")
def installed() -> Iterator[Installed]:
    """The Dockerfile's steps, once per module (about a minute: `pip wheel` resolves and
    fetches every dependency, as the image build does)."""
    top = Path(tempfile.mkdtemp(prefix="lms-graph-image-"))
    try:
        build, runtime = stages(DOCKERFILE)
        context, wheels = top / "context", top / "wheels"
        copy_context(ROOT, context)
        workdir = top / "build" / build.one("WORKDIR").value[0].lstrip("/")
        workdir.mkdir(parents=True)
        for copy in build.all("COPY"):
            assert copy.flags == ()
            *sources, target = copy.value
            for source in sources:
                origin, into = context / source, workdir / target
                if origin.is_dir():
                    shutil.copytree(origin, into, dirs_exist_ok=True)
                else:
                    into.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(origin, into / origin.name)
        # The build stage only runs `pip wheel`, which installs nothing where it runs: this
        # venv's pip does what the base image's does (a fresh one would cost ~10 s more).
        builder = Path(sys.executable).parent.parent
        for step in build.all("RUN"):
            env = _container_env(build.run_env(), builder)
            run_step(step.value[0], workdir, env, {"/wheels": wheels})
        venv = _fresh_python(top / "image")
        for step in runtime.all("RUN"):
            if step.value[0].startswith("useradd"):
                continue  # the user is this machine's business: the tests run as its UID
            env = _container_env(runtime.run_env(), venv)
            run_step(step.value[0], top, env, {"/wheels": wheels})
        yield Installed(runtime, venv, _container_env(runtime.env(), venv), top / "root")
    finally:
        shutil.rmtree(top)


def test_the_image_runs_the_installed_wheel_with_its_dependencies_met(
    installed: Installed,
) -> None:
    python = str(installed.venv / "bin" / "python")
    where = subprocess.run(  # noqa: S603
        [python, "-c", "import graph.app, connectors.sandbox; print(graph.app.__file__)"],
        cwd=installed.venv, env=installed.env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert Path(where.strip()).is_relative_to(installed.venv / "lib")  # not this checkout
    check = subprocess.run(  # noqa: S603
        [python, "-m", "pip", "check"], env=installed.env, capture_output=True, text=True
    )  # fmt: skip
    assert check.returncode == 0, check.stdout


def test_lms_graph_clients_new_runs_through_the_entrypoint(installed: Installed) -> None:
    """``docker run IMAGE clients new app`` prints a key and the table to paste."""
    done = _run(installed, installed.env, "clients", "new", "app")
    assert done.returncode == 0, done.stderr
    assert "[[clients]]" in done.stdout
    assert 'name = "app"' in done.stdout


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with demo_emulator(seed=7, users=20) as running:
        yield running


def _mount(installed: Installed, config: Path) -> Path:
    """``config`` where the image's LMS_GRAPH_CONFIG expects the mounted file."""
    mounted = installed.root / installed.env["LMS_GRAPH_CONFIG"].lstrip("/")
    mounted.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(config, mounted)
    return mounted


def _healthcheck(installed: Installed, port: int) -> int:
    """The HEALTHCHECK's exit code (0 healthy, 1 unhealthy), run as the image runs it."""
    check = installed.runtime.one("HEALTHCHECK").value[1:]
    command = [part.replace(f"127.0.0.1:{PORT}", f"127.0.0.1:{port}") for part in check]
    command[0] = str(installed.venv / "bin" / command[0])
    timeout = next(f for f in installed.runtime.one("HEALTHCHECK").flags if "--timeout" in f)
    done = subprocess.run(  # noqa: S603
        command, env=installed.env, capture_output=True,
        timeout=float(timeout.split("=")[1].rstrip("s")), check=False,
    )  # fmt: skip
    return done.returncode


async def test_cmd_serves_the_mounted_config_healthcheck_follows_and_sigterm_drains(
    installed: Installed, redis_server: RedisServer, emulator: Emulator, tmp_path: Path
) -> None:
    mounted = _mount(installed, deploy_config(tmp_path, emulator))  # compose.yaml's config
    env = {**installed.env, "LMS_GRAPH_CONFIG": str(mounted)}
    env |= {k: v for k, v in instance_env(redis_server, "s3cret").items() if k.startswith("LMS_")}
    serve, *cmd = installed.runtime.one("CMD").value
    assert serve == "serve"
    port = free_port()
    args = [str(port) if part == PORT else part for part in cmd]
    entrypoint = installed.runtime.one("ENTRYPOINT").value[0]
    key = {"Authorization": f"Bearer {APP_KEY}"}
    async with aiohttp.ClientSession(headers=key) as late:
        async with cli_server(
            *args,
            command=[str(installed.venv / "bin" / entrypoint)],
            env=env,
            headers=key,
            stop=signal.SIGTERM,  # what docker stop sends
            exit_codes=(0, -signal.SIGTERM),
        ) as server:
            assert await asyncio.to_thread(_healthcheck, installed, port) == 0
            data = await server.data("{ sources { name } }")
            async with server.session.post(
                server.url + "/graphql", json={"query": "{ sources { name } }"},
                headers={"Authorization": "Bearer not-a-key"},
            ) as refused:  # fmt: skip
                assert refused.status == 401
            # A request still waiting on its vendor when docker stop comes is answered.
            emulator.latency_seconds = 0.5
            in_flight = asyncio.create_task(_post(late, server.url, USERS))
            await _until(lambda: bool(emulator.in_flight))
        answer = await in_flight
    assert [s["name"] for s in data["sources"]] == [
        "kombo-demo", "absorb-demo", "skilljar-demo", "stackone-demo",
    ]  # fmt: skip
    assert answer[0] == 200
    assert len(answer[1]["data"]["users"]["edges"]) == 3
    assert await asyncio.to_thread(_healthcheck, installed, port) == 1
    # `docker exec … lms-graph cache clear`: the same config and environment.
    cleared = _run(installed, env, "cache", "clear")
    assert cleared.returncode == 0, cleared.stderr
    assert cleared.stdout.startswith("deleted ")
    assert "cached entries of every source" in cleared.stdout


def test_cmd_without_client_keys_stops_at_start_naming_the_fix(
    installed: Installed, tmp_path: Path
) -> None:
    """The image listens on 0.0.0.0, which a config without [[clients]] may not."""
    # `docker run --rm lms-graph demo-config > lms-graph.toml`: a config to start from.
    printed = _run(installed, installed.env, "demo-config")
    assert "[[clients]]" not in printed.stdout
    (tmp_path / "demo.toml").write_text(printed.stdout, encoding="utf-8")
    mounted = _mount(installed, tmp_path / "demo.toml")
    _, *cmd = installed.runtime.one("CMD").value
    done = _run(installed, {**installed.env, "LMS_GRAPH_CONFIG": str(mounted)}, "serve", *cmd)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "lms-graph: refusing to listen on 0.0.0.0 without client keys: add [[clients]] "
        "(lms-graph clients new NAME) or set [server] allow_anonymous = true"
    ]


def _run(installed: Installed, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``docker run IMAGE ARGS``: the ENTRYPOINT with these arguments."""
    (entrypoint,) = installed.runtime.one("ENTRYPOINT").value
    return subprocess.run(  # noqa: S603
        [str(installed.venv / "bin" / entrypoint), *args],
        cwd=installed.venv, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


USERS = "{ users(first: 3) { edges { node { id } } } }"


async def _post(session: aiohttp.ClientSession, url: str, query: str) -> tuple[int, Any]:
    async with session.post(url + "/graphql", json={"query": query}) as response:
        return response.status, await response.json()


async def _until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)
