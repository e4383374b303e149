"""Cache keys: source and tenant first, parameters normalised, no personal data in clear."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from connectors.base import ListQuery
from connectors.model import EntityKind
from resolvers.cache import ALL_KEYS_PREFIX, CacheKeys, source_prefix

ACME = CacheKeys("acme", "kombo", "acme:42")


def test_every_key_starts_with_the_source_and_a_digest_of_its_tenant() -> None:
    keys = [
        ACME.entity(EntityKind.USERS, "u1"),
        ACME.page(EntityKind.COURSES, ListQuery(), None, 50),
        ACME.group("progressions_of_user", "u1"),
    ]
    for key in keys:
        assert key.startswith(ACME.prefix)
        assert key.startswith(source_prefix("acme"))
        assert key.startswith(ALL_KEYS_PREFIX)
        assert "acme:42" not in key  # the tenant is digested, not spelled out
    prefix = ACME.prefix.split(":")
    assert prefix[:3] == ["lms-graph", "v1", "acme"]
    assert len(prefix[3]) == 24
    assert ACME.entity(EntityKind.USERS, "u1") == ACME.prefix + "entity:users:u1"


def test_tenant_and_vendor_kind_both_separate_keys() -> None:
    same_ids = "u1"
    other_tenant = CacheKeys("acme", "kombo", "acme:43")
    other_kind = CacheKeys("acme", "stackone", "acme:42")
    entity = {k.entity(EntityKind.USERS, same_ids) for k in (ACME, other_tenant, other_kind)}
    assert len(entity) == 3
    assert CacheKeys("acme", "kombo", "acme:42").prefix == ACME.prefix


def test_a_source_prefix_does_not_cover_a_source_whose_name_extends_it() -> None:
    longer = CacheKeys("acme-eu", "kombo", "acme:42")
    assert not longer.entity(EntityKind.USERS, "u1").startswith(source_prefix("acme"))


def test_page_keys_normalise_the_instant_and_tell_parameters_apart() -> None:
    instant = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    cest = instant.astimezone(timezone(timedelta(hours=2)))
    naive = instant.replace(tzinfo=None)
    same = {
        ACME.page(EntityKind.USERS, ListQuery(updated_after=moment), None, 50)
        for moment in (instant, cest, naive)
    }
    assert len(same) == 1
    variants = {
        ACME.page(EntityKind.USERS, ListQuery(), None, 50),
        ACME.page(EntityKind.USERS, ListQuery(), "t2", 50),
        ACME.page(EntityKind.USERS, ListQuery(), None, 25),
        ACME.page(EntityKind.USERS, ListQuery(include_deleted=True), None, 50),
        ACME.page(EntityKind.USERS, ListQuery(updated_after=instant), None, 50),
        ACME.page(EntityKind.COURSES, ListQuery(), None, 50),
    }
    assert len(variants) == 6


def test_hashed_group_keys_keep_emails_out_of_the_store() -> None:
    key = ACME.group("users_by_email", "ann@acme.com", hashed=True)
    assert "ann" not in key
    assert "acme.com" not in key
    assert key == ACME.group("users_by_email", "ann@acme.com", hashed=True)
    assert key != ACME.group("users_by_email", "bob@acme.com", hashed=True)
    assert ACME.group("progressions_of_user", "u1").endswith(":progressions_of_user:u1")


def test_naive_instants_mean_utc_whatever_the_servers_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    instant = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    in_utc = ACME.page(EntityKind.USERS, ListQuery(updated_after=instant), None, 50)
    monkeypatch.setenv("TZ", "IST-5:30")  # a POSIX zone: no tz database needed
    time.tzset()
    try:
        naive, aware = (
            ACME.page(EntityKind.USERS, ListQuery(updated_after=moment), None, 50)
            for moment in (instant.replace(tzinfo=None), instant)
        )
    finally:
        monkeypatch.undo()
        time.tzset()
    assert naive == aware == in_utc  # one spelling of the instant on every server
