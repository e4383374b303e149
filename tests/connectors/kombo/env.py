"""The one configured Kombo source the connector tests talk to (see ``conftest.kombo``)."""

from __future__ import annotations

KOMBO_BASE_URL = "https://api.kombo.dev/v1"
KOMBO_API_KEY = "test-key-123"
KOMBO_INTEGRATION_ID = "acme:42"
KOMBO_SOURCE = "kombo-test"
