"""README's *Observability* section documents every setting and every metric there is."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from graph.config import ServerSettings, TracingSettings, parse_config
from graph.metrics import Metrics

README = Path(__file__).resolve().parents[2] / "README.md"
OBSERVABILITY_SETTINGS = {
    "log_format",
    "metrics",
    "metrics_port",
    "metrics_host",
    "metrics_max_operations",
}
SOURCE = """
[[sources]]
name = "k"
kind = "kombo"
base_url = "https://api.kombo.dev/v1"
api_key = "k"
integration_id = "i"
"""


def _section() -> str:
    return README.read_text(encoding="utf-8").split("\n## Observability\n", 1)[1].split("\n## ")[0]


def test_the_example_config_names_every_setting() -> None:
    example = _section().split("```toml\n", 1)[1].split("```", 1)[0]
    # The commented-out keys are documented choices: uncommented, they must parse too.
    uncommented = re.sub(r"^# (\w+ =)", r"\1", example, flags=re.MULTILINE)
    config = parse_config(uncommented + SOURCE)
    assert config.tracing is not None
    assert set(config.tracing.model_fields_set) == set(TracingSettings.model_fields)
    assert set(config.server.model_fields_set) == OBSERVABILITY_SETTINGS
    assert set(ServerSettings.model_fields) >= OBSERVABILITY_SETTINGS


def test_every_metric_is_in_the_table() -> None:
    metrics = Metrics()
    # One sample of each labelled family, so every family shows in the scrape.
    metrics.requests.labels("Q", "ok").inc()
    metrics.latency.labels("Q").observe(0.1)
    metrics.refusals.labels("X").inc()
    metrics.vendor_requests.labels("s", "/e", "200").inc()
    metrics.vendor_latency.labels("s").observe(0.1)
    metrics.retries.labels("s", "/e", "X").inc()
    metrics.cache_lookup("users", 1, 1)
    metrics.cost_estimated.labels("s").inc()
    metrics.cost_spent.labels("s").inc()
    scrape = generate_latest(metrics.registry).decode()
    # The text format's ``_created`` samples parse as families of their own.
    names = {
        family.name
        for family in text_string_to_metric_families(scrape)
        if not family.name.endswith("_created")
    }
    assert len(names) == 12
    table = _section().split("### Metrics", 1)[1].split("###", 1)[0]
    documented = set(re.findall(r"`(lms_graph_\w+)`", table))
    counters = {f"{name}_total" for name in names} | names
    assert {n for n in counters if n in documented or n.removesuffix("_total") in names}
    missing = [n for n in names if n not in documented and f"{n}_total" not in documented]
    assert missing == [], missing
