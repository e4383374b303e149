"""The source registry, the request context and the provider look-up, over the real Kombo
connector and its emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from connectors._http import RetryPolicy
from connectors.base import ListQuery
from connectors.errors import VendorUnavailable
from connectors.kombo import KomboConnector
from connectors.sandbox import Emulator, KomboTenant, World, generate_world
from resolvers.context import Context, ReportedFailure
from resolvers.errors import InvalidArgumentError, InvalidIdError
from resolvers.paging import SourceFailure
from resolvers.providers import find_providers
from resolvers.sources import SourceRegistry


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(seed=11, users=5, courses=40, skills=3)


def kombo(
    name: str, base_url: str = "http://127.0.0.1:9", tenant: KomboTenant | None = None
) -> KomboConnector:
    return KomboConnector(
        name=name,
        base_url=base_url,
        api_key=SecretStr(tenant.api_key if tenant else "key"),
        integration_id=tenant.integration_id if tenant else "x:1",
        retry=RetryPolicy(max_attempts=1),
    )


@pytest.fixture
async def served(world: World) -> AsyncIterator[tuple[Emulator, Context]]:
    tenant = KomboTenant("providers-key", "providers:1", world)
    async with Emulator([tenant]) as emulator:
        registry = SourceRegistry([kombo("acme", emulator.kombo_base_url, tenant)])
        await registry.open()
        try:
            yield emulator, Context(registry)
        finally:
            await registry.close()


def test_the_registry_keeps_configuration_order_and_unique_names() -> None:
    a, b, c = kombo("a"), kombo("b"), kombo("c")
    registry = SourceRegistry([b, a, c])
    assert registry.names == ["b", "a", "c"]
    assert list(registry) == [b, a, c]
    assert registry.get("a") is a
    assert registry.select(None) == [b, a, c]
    assert registry.select(["c", "b"]) == [b, c]
    assert registry.scoped(None) is registry
    assert registry.scoped(["c", "a"]).names == ["a", "c"]
    with pytest.raises(ValueError, match=r"^source names must be unique$"):
        SourceRegistry([a, kombo("a")])


def test_unknown_sources_are_refused_with_what_is_configured() -> None:
    registry = SourceRegistry([kombo("a"), kombo("b")])
    with pytest.raises(InvalidIdError) as unknown_id:
        registry.get("z")
    assert str(unknown_id.value) == "ID names source 'z', which is not configured"
    with pytest.raises(InvalidArgumentError) as unknown:
        registry.select(["a", "z", "y"])
    assert str(unknown.value) == "unknown source(s) 'y', 'z'; configured: a, b"
    with pytest.raises(InvalidArgumentError) as none:
        SourceRegistry([]).select(["a"])
    assert str(none.value) == "unknown source(s) 'a'; configured: none"
    with pytest.raises(InvalidIdError):
        registry.scoped(["b"]).get("a")


def test_the_context_reports_failures_with_their_path() -> None:
    context = Context(SourceRegistry([kombo("a")]))
    error = VendorUnavailable("down", source="a", vendor="kombo")
    context.report([SourceFailure("a", error)], ("courses", 0))
    context.report([], ("users",))
    assert context.failures == [ReportedFailure(SourceFailure("a", error), ("courses", 0))]
    assert context.loaders.of("a") is context.loaders.of("a")


async def test_providers_are_found_on_courses_and_those_courses_are_primed(
    served: tuple[Emulator, Context], world: World
) -> None:
    emulator, context = served
    connector = context.sources.get("acme")
    courses = (await connector.list_courses(ListQuery(include_deleted=True), None, 250)).items
    on_courses = {c.provider.id: c.provider for c in courses if c.provider is not None}
    wanted = sorted(on_courses)[:2]
    emulator.clear_requests()
    found = await find_providers(context, [("acme", p) for p in wanted])
    assert found == {("acme", p): on_courses[p] for p in wanted}
    assert [r.path for r in emulator.requests] == ["/lms/courses"]
    emulator.clear_requests()
    assert (await context.loaders.of("acme").courses.load(courses[0].id)) == courses[0]
    assert emulator.requests == []
    emulator.clear_requests()
    missing = await find_providers(context, [("acme", "no-such-provider"), ("acme", wanted[0])])
    assert missing == {("acme", wanted[0]): on_courses[wanted[0]]}
    assert [r.path for r in emulator.requests] == ["/lms/courses"]  # the last page ends it
    with pytest.raises(InvalidIdError):
        await find_providers(context, [("other", "p")])


async def test_providers_are_looked_for_on_later_course_pages_and_deleted_courses() -> None:
    world = generate_world(seed=3, users=2, courses=400, skills=1, providers=400)
    tenant = KomboTenant("pages-key", "pages:1", world)
    async with Emulator([tenant]) as emulator:
        registry = SourceRegistry([kombo("acme", emulator.kombo_base_url, tenant)])
        await registry.open()
        try:
            connector = registry.get("acme")
            everything = ListQuery(include_deleted=True)
            first = await connector.list_courses(everything, None, 250)
            assert first.next_token is not None
            second = await connector.list_courses(everything, first.next_token, 250)
            on_first = {c.provider.id for c in first.items if c.provider is not None}
            later = {c.provider.id: c.provider for c in second.items if c.provider is not None}
            only_later = sorted(set(later) - on_first)
            assert only_later, "the world must have a provider only on the second page"
            live = await connector.list_courses(ListQuery(), None, 250)
            live_later = await connector.list_courses(ListQuery(), live.next_token, 250)
            live_ids = {
                c.provider.id for c in [*live.items, *live_later.items] if c.provider is not None
            }
            context = Context(registry)
            emulator.clear_requests()
            found = await find_providers(context, [("acme", p) for p in only_later])
            assert found == {("acme", p): later[p] for p in only_later}
            assert len(emulator.requests) == 2
            emulator.clear_requests()
            assert list(await find_providers(context, [("acme", sorted(on_first)[0])])) == [
                ("acme", sorted(on_first)[0])
            ]
            assert len(emulator.requests) == 1  # all found on the first page: no more read
            deleted_only = sorted((set(later) | on_first) - live_ids)
            assert deleted_only, "the world must have a provider only on deleted courses"
            assert set(await find_providers(context, [("acme", p) for p in deleted_only])) == {
                ("acme", p) for p in deleted_only
            }
        finally:
            await registry.close()
