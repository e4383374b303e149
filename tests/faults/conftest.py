"""The real server over the demo emulator, with short deadlines; faults go through the
emulator's HTTP control endpoint, as another process would drive them."""

from __future__ import annotations

from tests.demo_fixtures import control, emulator  # noqa: F401  (fixtures of this folder)
