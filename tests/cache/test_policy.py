"""TTL selection: per kind, defaults, lists, negative entries and the stale window."""

from __future__ import annotations

import pytest

from connectors.model import EntityKind
from graph.config import parse_config
from resolvers.cache import CachePolicy
from resolvers.cache.policy import DEFAULT_LIST_TTL_CAP


def test_an_entity_kind_uses_its_own_ttl_else_the_default() -> None:
    policy = CachePolicy(ttl_seconds=60, entity_ttls={EntityKind.USERS: 300})
    assert policy.entity_ttl(EntityKind.USERS) == 300
    assert policy.entity_ttl(EntityKind.COURSES) == 60
    assert policy.entity_ttl(EntityKind.PROGRESSIONS) == 60


def test_lists_default_to_a_capped_ttl_unless_set() -> None:
    assert CachePolicy(ttl_seconds=600).list_ttl == DEFAULT_LIST_TTL_CAP
    assert CachePolicy(ttl_seconds=10).list_ttl == 10
    assert CachePolicy(ttl_seconds=600, list_ttl_seconds=120).list_ttl == 120
    assert CachePolicy(ttl_seconds=600, list_ttl_seconds=0).list_ttl == 0


def test_storage_keeps_entries_through_the_stale_window() -> None:
    policy = CachePolicy(stale_if_error_seconds=300)
    assert policy.storage_ttl(60) == 360
    assert policy.storage_ttl(0) == 0  # not cached at all
    assert CachePolicy(stale_if_error_seconds=0).storage_ttl(60) == 60
    assert policy.storage_ttl(1) == 1 + policy.stale_if_error_seconds


def test_negative_ttls_are_refused() -> None:
    with pytest.raises(ValueError, match=r"^cache TTLs must not be negative$"):
        CachePolicy(ttl_seconds=-1)
    with pytest.raises(ValueError, match=r"^cache TTLs must not be negative$"):
        CachePolicy(entity_ttls={EntityKind.SKILLS: -5})


def test_config_maps_onto_the_policy() -> None:
    config = parse_config(
        """
        [cache]
        ttl_seconds = 90
        negative_ttl_seconds = 5
        stale_if_error_seconds = 0
        [cache.ttl]
        users = 300
        skills = 3600
        lists = 20

        [[sources]]
        name = "acme"
        kind = "kombo"
        base_url = "https://api.kombo.dev/v1"
        api_key = "k"
        integration_id = "acme:42"
        """
    )
    policy = config.cache.policy()
    assert policy.entity_ttl(EntityKind.USERS) == 300
    assert policy.entity_ttl(EntityKind.SKILLS) == 3600
    assert policy.entity_ttl(EntityKind.COURSES) == 90
    assert policy.list_ttl == 20
    assert policy.negative_ttl_seconds == 5
    assert policy.stale_if_error_seconds == 0
