"""Persisted documents in Redis: every instance shares APQ registrations and the trusted
documents ``lms-graph documents add`` writes; ``cache clear`` leaves them alone."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from connectors.sandbox import Emulator, KomboTenant
from graph.cli import main
from graph.config import DocumentsSettings
from graph.documents import DocumentMode
from tests.cache.conftest import REDIS_PASSWORD
from tests.cache.helpers import RedisServer
from tests.cache.test_server import redis_cache, source
from tests.e2e.test_documents import USERS, apollo_manifest, apollo_post, not_found, sha
from tests.e2e.test_http import send
from tests.harness import run_server

COURSES = "query OneCourse { courses(first: 1) { edges { node { title } } } }"


def config_file(tmp_path: Path, cache: str) -> Path:
    path = tmp_path / "lms-graph.toml"
    path.write_text(
        cache + '[[sources]]\nname = "acme"\nkind = "kombo"\nbase_url = "http://127.0.0.1:1"\n'
        'api_key = "k"\nintegration_id = "acme:1"\n',
        encoding="utf-8",
    )
    return path


async def test_two_instances_share_apq_registrations(
    redis_server: RedisServer, emulator: Emulator, acme: KomboTenant
) -> None:
    cache = redis_cache(redis_server)
    async with (
        run_server([source(emulator, acme)], cache) as first,
        run_server([source(emulator, acme)], cache) as second,
    ):
        not_found(await apollo_post(second, None, sha(USERS)))
        registered = await apollo_post(first, USERS, sha(USERS))
        assert "errors" not in registered.body
        answer = await apollo_post(second, None, sha(USERS))
        assert answer.body == registered.body
    client = redis_server.client()
    assert client.get(f"lms-graph:documents:v1:apq:sha256:{sha(USERS)}") == USERS.encode()
    assert 0 < client.ttl(f"lms-graph:documents:v1:apq:sha256:{sha(USERS)}") <= 86_400
    client.close()


async def test_documents_add_registers_for_every_trusted_instance(
    redis_server: RedisServer,
    emulator: Emulator,
    acme: KomboTenant,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    manifest = tmp_path / "apollo.json"
    manifest.write_text(json.dumps(apollo_manifest(("FirstUsers", USERS))), encoding="utf-8")
    relay = tmp_path / "persisted_queries.json"
    relay.write_text(json.dumps({"course-1": COURSES}), encoding="utf-8")
    config = config_file(tmp_path, f'[cache]\nbackend = "redis"\nurl = "{redis_server.url}"\n')
    args = ["documents", "add", str(manifest), str(relay), "--config", str(config)]
    assert await asyncio.to_thread(main, args) == 0
    assert "stored 2 trusted documents" in capsys.readouterr().out

    trusted = DocumentsSettings(mode=DocumentMode.TRUSTED)
    async with run_server(
        [source(emulator, acme)], redis_cache(redis_server), documents=trusted
    ) as server:
        by_hash = await apollo_post(server, None, sha(USERS))
        assert len(by_hash.body["data"]["users"]["edges"]) == 2
        by_relay_id = await send(server, body={"doc_id": "course-1"})
        assert by_relay_id.body["data"]["courses"]["edges"]
        refused = await send(server, body={"query": "{ users(first: 1) { totalCount } }"})
        assert (refused.status, refused.code) == (403, "PERSISTED_QUERY_REQUIRED")

    assert await asyncio.to_thread(main, ["cache", "clear", "--config", str(config)]) == 0
    listing = ["documents", "list", "--config", str(config)]
    assert await asyncio.to_thread(main, listing) == 0
    out = capsys.readouterr().out
    assert f"{sha(USERS)}  FirstUsers" in out
    assert "course-1  OneCourse" in out
    assert REDIS_PASSWORD not in out
    client = redis_server.client()
    assert client.ttl(f"lms-graph:documents:v1:trusted:sha256:{sha(USERS)}") == -1  # no expiry
    client.close()


async def test_documents_add_stores_nothing_when_one_file_is_invalid(
    redis_server: RedisServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.graphql"
    good.write_text(USERS, encoding="utf-8")
    bad = tmp_path / "bad.graphql"
    bad.write_text("query Bad { noSuchField }", encoding="utf-8")
    config = config_file(tmp_path, f'[cache]\nbackend = "redis"\nurl = "{redis_server.url}"\n')
    args = ["documents", "add", str(good), str(bad), "--config", str(config)]
    assert await asyncio.to_thread(main, args) == 2
    err = capsys.readouterr().err
    assert f"nothing stored: {bad}: does not validate" in err
    client = redis_server.client()
    assert client.keys("lms-graph:documents:*") == []
    client.close()


def test_documents_add_explains_the_memory_backend(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "users.graphql"
    good.write_text(USERS, encoding="utf-8")
    config = config_file(tmp_path, "")
    assert main(["documents", "add", str(good), "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "1 documents are valid, but not stored" in out
    assert "inside each server process" in out
    assert "[documents] manifests" in out
