"""Per-request DataLoaders over the real Kombo connector and its emulator: more keys than
one vendor call takes go out as chunks of the vendor's batch size (split again by the
connector where grouped results are paged), all at once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pydantic import SecretStr

from connectors._http import RetryPolicy
from connectors.kombo import KomboConnector
from connectors.kombo.client import (
    COURSES_PER_GROUPED_CALL,
    MAX_IDS_PER_CALL,
    USERS_PER_GROUPED_CALL,
)
from connectors.sandbox import Emulator, KomboTenant, World, generate_world
from resolvers.loaders import RevisionRef, SourceLoaders

WANTED = MAX_IDS_PER_CALL + 20

#: Each loader, with WANTED of its keys from a world.
KEYS: dict[str, Callable[[World], list[Any]]] = {
    "users": lambda w: [u.id for u in w.users],
    "users_by_email": lambda w: [u.email for u in w.users],
    "courses": lambda w: [c.id for c in w.courses],
    "skills": lambda w: [s.id for s in w.skills],
    "progressions": lambda w: [p.id for p in w.progressions],
    "progressions_of_user": lambda w: [u.id for u in w.users],
    "progressions_of_course": lambda w: [c.id for c in w.courses],
}
#: The connector splits each loader batch again where its vendor pages grouped results.
PER_CALL = {
    "progressions_of_user": USERS_PER_GROUPED_CALL,
    "progressions_of_course": COURSES_PER_GROUPED_CALL,
}


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(seed=5, users=WANTED, courses=WANTED, skills=WANTED)


@pytest.fixture
async def kombo(world: World) -> AsyncIterator[tuple[Emulator, KomboConnector]]:
    tenant = KomboTenant("loader-key", "loaders:1", world)
    async with Emulator([tenant]) as emulator:
        connector = KomboConnector(
            name="acme",
            base_url=emulator.kombo_base_url,
            api_key=SecretStr(tenant.api_key),
            integration_id=tenant.integration_id,
            retry=RetryPolicy(max_attempts=1),
        )
        await connector.open()
        try:
            yield emulator, connector
        finally:
            await connector.close()


@pytest.mark.parametrize("loader", sorted(KEYS))
async def test_more_keys_than_a_vendor_call_takes_go_out_in_parallel_chunks(
    kombo: tuple[Emulator, KomboConnector], world: World, loader: str
) -> None:
    emulator, connector = kombo
    keys = KEYS[loader](world)[:WANTED]
    assert len(keys) == WANTED
    emulator.latency_seconds = 0.2  # each call is still open when the other one starts
    emulator.clear_requests()
    found = await getattr(SourceLoaders(connector), loader).load_many(keys)
    sizes = sorted(
        len(value.split(","))
        for r in emulator.requests
        if "cursor" not in r.query  # a later page of the same chunk
        for name, value in r.query.items()
        if name in ("ids", "work_emails", "user_ids", "course_ids")
    )
    per_call = PER_CALL.get(loader, MAX_IDS_PER_CALL)
    batches = [MAX_IDS_PER_CALL, WANTED - MAX_IDS_PER_CALL]
    chunks = sorted(min(per_call, b - i) for b in batches for i in range(0, b, per_call))
    assert sizes == chunks
    assert emulator.peak_in_flight == len(chunks)
    if loader in ("users", "courses", "skills", "progressions"):
        assert [record.id if record else None for record in found] == keys
    else:
        assert any(found), "the chunks must find something"


async def test_revisions_are_read_through_their_courses(
    kombo: tuple[Emulator, KomboConnector], world: World
) -> None:
    emulator, connector = kombo
    course = world.courses[0]
    refs = [RevisionRef(course.id, r.id) for r in course.revisions]
    refs += [RevisionRef(course.id, "no-such-revision"), RevisionRef("no-such-course", "x")]
    emulator.clear_requests()
    found = await SourceLoaders(connector).revisions.load_many(refs)
    assert [r.id if r else None for r in found] == [r.id for r in course.revisions] + [None, None]
    assert [r.path for r in emulator.requests] == ["/lms/courses"]
