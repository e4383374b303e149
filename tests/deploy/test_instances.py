"""Two ``lms-graph serve`` processes on one config and one Redis, as compose.yaml runs
them behind its load balancer: whichever instance a request reaches, it sees the cache,
the persisted documents and the cursors the other one made."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from connectors.sandbox import Emulator, demo_emulator
from tests.cache.helpers import RedisServer
from tests.deploy.instances import deploy_config, instance, instance_env
from tests.e2e.test_documents import USERS, apollo_post, not_found, sha
from tests.harness import CANONICAL_QUERY

SECRET = "cursor-secret-shared-by-every-instance-51b7"
PAGE = "query Page($after: String) { users(first: 7, after: $after) { pageInfo { endCursor } edges { node { id email } } } }"  # noqa: E501


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with demo_emulator(seed=7, users=40) as running:
        yield running


async def test_a_query_warmed_through_one_is_answered_by_the_other_without_a_vendor_call(
    redis_server: RedisServer, emulator: Emulator, tmp_path: Path
) -> None:
    config, env = deploy_config(tmp_path, emulator), instance_env(redis_server, SECRET)
    async with instance(config, env) as first, instance(config, env) as second:
        emulator.clear_requests()
        warmed = await first.data(CANONICAL_QUERY, {"first": 10})
        assert emulator.count() > 0, "the first query made no vendor call: nothing was warmed"
        vendors = {request.vendor for request in emulator.requests}
        assert vendors == {"kombo", "absorb", "skilljar", "stackone"}
        emulator.clear_requests()
        answered = await second.data(CANONICAL_QUERY, {"first": 10})
        assert emulator.count() == 0, [r.describe() for r in emulator.requests]
    assert answered == warmed
    assert len(answered["users"]["edges"]) == 10
    client = redis_server.client()
    assert client.keys("lms-graph:v1:kombo-demo:*"), "the cache is not in the shared Redis"
    client.close()


async def test_a_persisted_query_registered_through_one_runs_through_the_other(
    redis_server: RedisServer, emulator: Emulator, tmp_path: Path
) -> None:
    config, env = deploy_config(tmp_path, emulator), instance_env(redis_server, SECRET)
    async with instance(config, env) as first, instance(config, env) as second:
        not_found(await apollo_post(second, None, sha(USERS)))
        registered = await apollo_post(first, USERS, sha(USERS))
        assert "errors" not in registered.body, registered.body
        answered = await apollo_post(second, None, sha(USERS))
    assert answered.status == 200
    assert answered.body == registered.body


async def test_a_cursor_issued_by_one_is_accepted_by_the_other_and_refused_elsewhere(
    redis_server: RedisServer, emulator: Emulator, tmp_path: Path
) -> None:
    config, env = deploy_config(tmp_path, emulator), instance_env(redis_server, SECRET)
    elsewhere = instance_env(redis_server, "another-deployments-secret-0d42")
    async with (
        instance(config, env) as first,
        instance(config, env) as second,
        instance(config, elsewhere) as other,
    ):
        cursor = (await first.data(PAGE))["users"]["pageInfo"]["endCursor"]
        on_first = await first.data(PAGE, {"after": cursor})
        on_second = await second.data(PAGE, {"after": cursor})
        refused = await other.post(PAGE, {"after": cursor})
    assert on_second == on_first
    assert len(on_second["users"]["edges"]) == 7
    (error,) = refused["errors"]
    assert error["extensions"]["code"] == "INVALID_CURSOR"
    assert error["message"] == "cursor is malformed or was modified"
