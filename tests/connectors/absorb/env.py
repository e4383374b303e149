"""The one configured Absorb source the connector tests talk to (see ``conftest.absorb``)."""

from __future__ import annotations

ABSORB_BASE_URL = "https://rest.myabsorb.eu"
ABSORB_API_KEY = "4c0ffee0-key0-4abc-9def-0123456789ab"
ABSORB_USERNAME = "api-admin"
ABSORB_PASSWORD = "pw-Sup3r-s3cret"
ABSORB_SOURCE = "absorb-test"
ABSORB_TOKEN = "tok-0123456789abcdef"
