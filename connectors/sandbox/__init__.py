"""An in-process emulator of LMS vendor APIs over a deterministic generated data set.

Start :class:`Emulator` in tests or the demo; see :mod:`connectors.sandbox.world` for the
data and :mod:`connectors.sandbox.kombo` for the Kombo wire format.
"""

from __future__ import annotations

from connectors.sandbox.kombo import KOMBO_PREFIX, KomboTenant, build_kombo_app, kombo_error_body
from connectors.sandbox.rounds import sequential_round_trips
from connectors.sandbox.server import (
    DEMO_KOMBO_API_KEY,
    DEMO_KOMBO_INTEGRATION_ID,
    Emulator,
    RecordedRequest,
    demo_emulator,
    demo_tenants,
)
from connectors.sandbox.world import (
    World,
    WorldCourse,
    WorldProgression,
    WorldProvider,
    WorldRevision,
    WorldSkill,
    WorldUser,
    generate_world,
)

__all__ = [
    "DEMO_KOMBO_API_KEY",
    "DEMO_KOMBO_INTEGRATION_ID",
    "KOMBO_PREFIX",
    "Emulator",
    "KomboTenant",
    "RecordedRequest",
    "World",
    "WorldCourse",
    "WorldProgression",
    "WorldProvider",
    "WorldRevision",
    "WorldSkill",
    "WorldUser",
    "build_kombo_app",
    "demo_emulator",
    "demo_tenants",
    "generate_world",
    "kombo_error_body",
    "sequential_round_trips",
]
