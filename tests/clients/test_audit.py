"""graphql-http's server audits: every MUST and every SHOULD of GraphQL over HTTP passes.

The MAYs are reported (printed) but not required.
"""

from __future__ import annotations

from collections import Counter

import pytest

from connectors.settings import SourceSettings
from graph.config import CacheSettings
from tests.clients.conftest import run_node
from tests.harness import CACHES, run_server


# With the memory cache, stored responses answer the audit's repeated requests.
@pytest.mark.parametrize("cache", CACHES.values(), ids=CACHES.keys())
async def test_graphql_http_audits_all_pass(
    node: None, sources: list[SourceSettings], cache: CacheSettings
) -> None:
    async with run_server(sources, cache) as server:
        result = await run_node("audit.mjs", server.url + "/graphql")

    audits = result["audits"]
    # Each audit's name starts with its level; a failed MUST is "error", a failed SHOULD "warn".
    counts = Counter((a["name"].split()[0], a["status"]) for a in audits)
    print(", ".join(f"{level} {status}: {n}" for (level, status), n in sorted(counts.items())))
    assert {"MUST", "SHOULD"} <= {level for level, _ in counts}
    required = [a for a in audits if a["name"].startswith(("MUST ", "SHOULD "))]
    failed = [
        f"{a['id']} {a['status']}: {a['name']} ({a['reason']})"
        for a in required
        if a["status"] != "ok"
    ]
    assert not failed, "\n".join(failed)
