"""The one configured StackOne source the connector tests talk to (see ``conftest.stackone``)."""

from __future__ import annotations

STACKONE_BASE_URL = "https://api.stackone.com"
STACKONE_API_KEY = "v1.eu1.test-secret-key-123"
STACKONE_ACCOUNT_ID = "46132201201510402136"
STACKONE_SOURCE = "stackone-test"
LMS = STACKONE_BASE_URL + "/unified/lms"
