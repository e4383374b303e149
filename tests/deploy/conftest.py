"""What the container and compose.yaml run, without a container engine: the real Redis of
the cache tests, and several ``lms-graph serve`` processes on the committed deploy config."""

from __future__ import annotations

from tests.cache.conftest import redis_binary, redis_server, redis_session

__all__ = ["redis_binary", "redis_server", "redis_session"]
