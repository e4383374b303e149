"""``lms-graph serve --workers 2`` on Redis: the real process tree, each request sent to a
known worker (a keep-alive connection stays with the worker that accepted it; ``/readyz``
names the instance). Vendor calls and Absorb logins are counted by the emulator, which
runs once, in the parent process."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from graph.config import CacheSettings
from tests.cache.helpers import RedisServer, free_port
from tests.harness import CANONICAL_QUERY
from tests.processes import ServeProcess, demo_config_text, serve_process

ABSORB_USERS = '{ users(first: 5, source: "absorb-demo") { edges { node { id email } } } }'


def redis_cache(redis: RedisServer, *lines: str) -> str:
    return "\n".join(['backend = "redis"', f'url = "{redis.url}"', *lines])


@pytest.fixture
async def two_workers(redis_server: RedisServer, tmp_path: Path) -> AsyncIterator[ServeProcess]:
    port = free_port()
    # The entity cache alone: a response cache would answer the second query before it.
    off = ["responses = false"] if "responses" in CacheSettings.model_fields else []
    text = demo_config_text(port, redis_cache(redis_server, "ttl_seconds = 300", *off), users=40)
    async with serve_process(text, tmp_path / "lms.toml", workers=2, emulator_port=port) as s:
        yield s


async def test_a_query_warmed_through_one_worker_is_a_cache_hit_and_pages_on_at_the_other(
    two_workers: ServeProcess,
) -> None:
    first, second = await two_workers.pinned(2)
    assert first.instance != second.instance
    warm = await first.post(CANONICAL_QUERY, {"first": 10})
    assert "errors" not in warm
    assert await two_workers.vendor_requests(), "the first query reached no vendor"

    await two_workers.clear_vendor_requests()
    hit = await second.post(CANONICAL_QUERY, {"first": 10})
    assert await two_workers.vendor_requests() == []
    assert hit["data"]["users"]["edges"] == warm["data"]["users"]["edges"]

    # Without [server] cursor_secret each process would sign with its own random key.
    cursor = warm["data"]["users"]["pageInfo"]["endCursor"]
    following = await second.post(CANONICAL_QUERY, {"first": 3, "after": cursor})
    assert "errors" not in following, following["errors"]
    seen = {e["node"]["id"] for e in warm["data"]["users"]["edges"]}
    assert len(following["data"]["users"]["edges"]) == 3
    assert not seen & {e["node"]["id"] for e in following["data"]["users"]["edges"]}

    # Each connection stayed with its worker: the hit was the other process's.
    assert (await first.instance_now(), await second.instance_now()) == (
        first.instance,
        second.instance,
    )


@pytest.mark.skipif(
    "responses" not in CacheSettings.model_fields, reason="this build has no response cache"
)
async def test_a_response_stored_by_one_worker_is_a_response_cache_hit_at_the_other(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    port = free_port()
    cache = redis_cache(redis_server, "ttl_seconds = 300", "responses = true")
    text = demo_config_text(port, cache, users=40)
    async with serve_process(text, tmp_path / "lms.toml", workers=2, emulator_port=port) as s:
        first, second = await s.pinned(2)
        stored, headers = await first.send(CANONICAL_QUERY, {"first": 10})
        assert "errors" not in stored
        assert headers["X-LMS-Graph-Cache"] == "MISS"
        await s.clear_vendor_requests()
        hit, headers = await second.send(CANONICAL_QUERY, {"first": 10})
        assert headers["X-LMS-Graph-Cache"] == "HIT"
        assert await s.vendor_requests() == []
        assert hit == stored  # the same bytes: cursors signed with the workers' one secret
        assert await second.instance_now() == second.instance


async def test_both_workers_log_in_to_absorb_once_and_once_again_after_expiry(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    port = free_port()
    # No entity caching: every query reads Absorb with the token.
    text = demo_config_text(port, redis_cache(redis_server, "ttl_seconds = 0"), users=40)
    async with serve_process(text, tmp_path / "lms.toml", workers=2, emulator_port=port) as s:
        first, second = await s.pinned(2)

        async def through_both(times: int) -> None:
            answers = await asyncio.gather(
                *(w.post(ABSORB_USERS) for _ in range(times) for w in (first, second))
            )
            for answer in answers:
                assert "errors" not in answer, answer["errors"]
                assert len(answer["data"]["users"]["edges"]) == 5

        await through_both(4)
        assert await s.logins() == 1
        absorb_reads = [r for r in await s.vendor_requests() if r["vendor"] == "absorb"]
        assert [r["status"] for r in absorb_reads].count(401) == 0

        assert await s.expire_absorb_tokens() == 1
        await through_both(4)
        assert await s.logins() == 2
        await through_both(2)
        assert await s.logins() == 2


async def test_a_killed_worker_is_replaced_and_sigterm_stops_them_all(tmp_path: Path) -> None:
    """Also: ``[server] workers`` without ``--workers``, and the memory cache's warning."""
    port = free_port()
    text = demo_config_text(port, 'backend = "memory"', users=10)
    text = text.replace("[server]\n", "[server]\nworkers = 2\n", 1)
    path = tmp_path / "lms.toml"
    async with serve_process(
        text, path, workers=2, emulator_port=port, stop=signal.SIGTERM, flag=False
    ) as server:
        workers = server.worker_pids()
        assert len(workers) == 2
        before = {p.instance for p in await server.pinned(2)}
        await server.close_pinned()
        os.kill(workers[0], signal.SIGKILL)
        # uvicorn's supervisor checks its workers every half second and replaces the dead.
        for _ in range(600):
            now = server.worker_pids()
            if len(now) == 2 and workers[0] not in now:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the killed worker was not replaced")
        await server.wait_for_workers(1, besides=before)  # the new one has started
        pinned = await server.pinned(2)
        assert len({p.instance for p in pinned} - before) == 1  # one new, one lived on
        for each in pinned:
            data = await each.post(CANONICAL_QUERY, {"first": 2})
            assert len(data["data"]["users"]["edges"]) == 2
    assert "each worker has its own cache" in server.stderr
