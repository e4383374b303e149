from __future__ import annotations

from pathlib import Path

import pytest

from connectors.settings import KomboSettings
from graph.cli import main
from graph.config import (
    BYTES_PER_ENTRY,
    DEMO_CONFIG,
    ConfigError,
    demo_config,
    load_config,
    parse_config,
)
from resolvers.cache import MemoryStore

KOMBO = """
[[sources]]
name = "acme"
kind = "kombo"
base_url = "https://api.kombo.dev/v1"
integration_id = "acme:42"
"""


def test_demo_config_is_what_demo_config_prints(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo-config"]) == 0
    printed = capsys.readouterr().out
    assert printed == DEMO_CONFIG
    assert parse_config(printed) == demo_config()
    config = demo_config()
    assert config.emulator is not None
    assert config.sources[0].base_url.startswith(f"http://127.0.0.1:{config.emulator.port}/")


def test_env_credentials_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_KOMBO_KEY", "s3cret-from-env")
    config = parse_config(KOMBO + 'api_key = "env:ACME_KOMBO_KEY"\n')
    source = config.sources[0]
    assert isinstance(source, KomboSettings)
    assert source.api_key.get_secret_value() == "s3cret-from-env"
    assert "s3cret-from-env" not in repr(config)
    assert config.cache.backend == "memory"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (KOMBO, "config <config>: sources.0.kombo.api_key: Field required"),
        (KOMBO + 'api_key = "env:NOT_SET_ANYWHERE"\n', "environment variable NOT_SET_ANYWHERE"),
        (KOMBO.replace('"kombo"', '"moodle"') + 'api_key = "k"\n', "'moodle'"),
        (KOMBO.replace('"acme"', '"a:b"') + 'api_key = "k"\n', "sources.0.kombo.name"),
        (KOMBO + 'api_key = "k"\n' + KOMBO + 'api_key = "k2"\n', "repeated: acme"),
        (KOMBO + 'api_key = "k"\n[cache]\nbackend = "disk"\n', "cache.backend"),
        ("[[sources]\n", "not valid TOML"),
        ("", "sources: Field required"),
    ],
)
def test_bad_config_is_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_config_errors_never_show_a_secret() -> None:
    text = KOMBO.replace('integration_id = "acme:42"\n', "") + 'api_key = "sk_live_do_not_leak"\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert "integration_id" in str(caught.value)
    assert "sk_live_do_not_leak" not in str(caught.value)


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.toml: cannot read file"):
        load_config(tmp_path / "missing.toml")


def test_serve_with_bad_config_exits_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(KOMBO + 'api_key = "sk_live_do_not_leak"\nbase_url2 = 1\n', encoding="utf-8")
    monkeypatch.setenv("LMS_GRAPH_CONFIG", str(bad))
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"lms-graph: config {bad}: sources.0.kombo.base_url2")
    assert "sk_live_do_not_leak" not in err


@pytest.mark.parametrize(
    ("cache", "message"),
    [
        ('backend = "redis"\n', 'cache: backend "redis" needs url'),
        ('backend = "redis"\nurl = "http://:pw-do-not-leak@x"\n', "cache.url: must start with"),
        ('url = "redis://:pw-do-not-leak@x/0"\n', 'url is only used with backend = "redis"'),
        ('backend = "redis"\nurl = "redis://:pw-do-not-leak@x/db"\n', "database number"),
        ("ttl_seconds = -1\n", "cache.ttl_seconds"),
        ("[cache.ttl]\nusers = -5\n", "cache.ttl.users"),
        ("[cache.ttl]\nposts = 5\n", "cache.ttl.posts"),
        ("max_entries = 0\n", "cache.max_entries"),
        ("max_bytes = 1000\n", "cache.max_bytes"),
        (
            "max_bytes = 2097152\nmax_entries = 5\n",
            "max_entries is deprecated: give max_bytes only",
        ),
        ("stale_if_error = 5\n", "cache.stale_if_error"),
    ],
)
def test_bad_cache_settings_are_one_line_without_values(cache: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(KOMBO + 'api_key = "k"\n[cache]\n' + cache)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert "pw-do-not-leak" not in str(caught.value)


def test_the_memory_cache_is_bounded_by_bytes(caplog: pytest.LogCaptureFixture) -> None:
    default = parse_config(KOMBO + 'api_key = "k"\n')
    assert default.cache.max_bytes == 256 * 2**20
    store = default.cache.create_store()
    assert isinstance(store, MemoryStore)
    assert store.backend.maxsize == 256 * 2**20
    sized = parse_config(KOMBO + 'api_key = "k"\n[cache]\nmax_bytes = 67108864\n')
    assert sized.cache.max_bytes == 64 * 2**20
    assert caplog.records == []


def test_a_deprecated_max_entries_is_read_as_bytes_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = parse_config(KOMBO + 'api_key = "k"\n[cache]\nmax_entries = 20000\n')
    assert config.cache.max_bytes == 20_000 * BYTES_PER_ENTRY
    (warning,) = caplog.records
    assert warning.levelname == "WARNING"
    assert warning.getMessage() == (
        f"[cache] max_entries is deprecated and read as max_bytes = {20_000 * BYTES_PER_ENTRY} "
        f"(20000 entries of about {BYTES_PER_ENTRY} bytes); write max_bytes instead"
    )
    # A small count still leaves room for one large entry.
    tiny = parse_config(KOMBO + 'api_key = "k"\n[cache]\nmax_entries = 1\n')
    assert tiny.cache.max_bytes == 2**20


def test_the_redis_url_is_a_secret_and_may_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CACHE_URL", "redis://:pw-do-not-leak@cache.internal:6380/3")
    config = parse_config(
        KOMBO + 'api_key = "k"\n[cache]\nbackend = "redis"\nurl = "env:CACHE_URL"\n'
    )
    assert config.cache.url is not None
    assert config.cache.url.get_secret_value().endswith("@cache.internal:6380/3")
    assert "pw-do-not-leak" not in repr(config)
    assert config.cache.create_store().description == "redis://cache.internal:6380/3"


def test_the_readme_documents_every_cache_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Cache\n", 1)[1].split("\n## ", 1)[0]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    monkeypatch.setenv("LMS_GRAPH_REDIS_URL", "redis://127.0.0.1:6379/0")
    config = parse_config(example + KOMBO + 'api_key = "k"\n')
    documented = set(config.cache.model_fields_set) | set(config.cache.ttl.model_fields_set)
    every = set(type(config.cache).model_fields) | set(type(config.cache.ttl).model_fields)
    # Deprecated, and an error beside max_bytes: documented in the prose below the example.
    assert documented == every - {"max_entries"}
    assert "`max_entries`, which bounded the number of entries, is deprecated" in section


def test_emulator_port_moves_the_emulator_and_the_sources_reading_it() -> None:
    moved = demo_config().with_emulator_port(9123)
    assert moved.emulator is not None
    assert moved.emulator.port == 9123
    assert [s.base_url.split("/")[2] for s in moved.sources] == ["127.0.0.1:9123"] * 4
    assert [s.base_url.split("/", 3)[3] for s in moved.sources] == [
        s.base_url.split("/", 3)[3] for s in demo_config().sources
    ]


def test_emulator_port_leaves_other_urls_and_needs_an_emulator() -> None:
    text = DEMO_CONFIG.replace("http://127.0.0.1:8700/absorb", "https://rest.myabsorb.com")
    moved = parse_config(text).with_emulator_port(9123)
    assert [s.base_url for s in moved.sources][1] == "https://rest.myabsorb.com"
    live = parse_config("[cache]" + text.split("[cache]", 1)[1])  # no [emulator]
    with pytest.raises(ConfigError, match=r"no \[emulator\]"):
        live.with_emulator_port(9123)


def test_deadline_and_breaker_settings() -> None:
    text = (
        "[server]\nrequest_timeout_seconds = 2.5\nbody_timeout_seconds = 3\n"
        + KOMBO
        + 'api_key = "k"\nbreaker_failures = 0\nbreaker_cooldown_seconds = 5\n'
        + "max_response_bytes = 65536\n"
    )
    config = parse_config(text)
    assert (config.server.request_timeout_seconds, config.server.body_timeout_seconds) == (2.5, 3)
    breaker = config.sources[0].circuit_breaker()
    assert (breaker.failure_threshold, breaker.cooldown_seconds) == (0, 5)
    assert config.sources[0].max_response_bytes == 65536
    defaults = parse_config(KOMBO + 'api_key = "k"\n')
    # A hanging vendor must cost at most the deadline: one call's timeout fits inside it.
    assert defaults.sources[0].timeout_seconds < defaults.server.request_timeout_seconds


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[server]\nrequest_timeout_seconds = 0\n", "server.request_timeout_seconds"),
        ("[server]\nbody_timeout_seconds = -1\n", "server.body_timeout_seconds"),
        ("[server]\nnope = 1\n", "server.nope"),
    ],
)
def test_bad_server_settings_are_one_line(extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(extra + KOMBO + 'api_key = "k"\n')


def test_a_client_key_digest_may_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A container's config is one mounted file; each deployment's keys come with its
    environment (compose.yaml sets LMS_GRAPH_APP_KEY_SHA256 from .env)."""
    digest = "ab" * 32
    monkeypatch.setenv("APP_KEY_SHA256", digest)
    clients = '[[clients]]\nname = "app"\nkey_sha256 = "env:APP_KEY_SHA256"\n'
    config = parse_config(KOMBO + 'api_key = "k"\n' + clients)
    assert config.clients[0].key_sha256 == digest
    monkeypatch.setenv("APP_KEY_SHA256", "not-a-digest")
    with pytest.raises(ConfigError, match=r"clients\.0\.key_sha256: String should match"):
        parse_config(KOMBO + 'api_key = "k"\n' + clients)
    monkeypatch.delenv("APP_KEY_SHA256")
    with pytest.raises(ConfigError, match="environment variable APP_KEY_SHA256 is not set"):
        parse_config(KOMBO + 'api_key = "k"\n' + clients)


def test_every_kind_takes_max_concurrency_with_its_vendors_default() -> None:
    defaults = {
        kind: parse_config(f'[[sources]]\nname = "s"\nkind = "{kind}"\n{extra}')
        .sources[0]
        .max_concurrency
        for kind, extra in SOURCE_BODIES.items()
    }
    assert defaults == {"kombo": 30, "absorb": 100, "skilljar": 10, "stackone": 16}
    for kind, extra in SOURCE_BODIES.items():
        chosen = parse_config(
            f'[[sources]]\nname = "s"\nkind = "{kind}"\n{extra}max_concurrency = 64\n'
        )
        assert chosen.sources[0].max_concurrency == 64
        with pytest.raises(ConfigError, match="max_concurrency"):
            parse_config(
                f'[[sources]]\nname = "s"\nkind = "{kind}"\n{extra}max_concurrency = 101\n'
            )


SOURCE_BODIES = {
    "kombo": 'base_url = "https://k.example"\napi_key = "k"\nintegration_id = "i"\n',
    "absorb": 'base_url = "https://a.example"\napi_key = "k"\nusername = "u"\npassword = "p"\n',
    "skilljar": 'base_url = "https://s.example"\napi_key = "k"\ndomain = "d.example"\n',
    "stackone": 'base_url = "https://o.example"\napi_key = "k"\naccount_id = "1"\n',
}
