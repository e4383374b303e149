"""A client of the emulator's control endpoint, for tests and benches in another process.

control = EmulatorControl("http://127.0.0.1:8700", session)
fault = await control.add_fault(vendor="kombo", path="/lms/users", mode="hang", count=None)
...
await control.clear_faults()
log = await control.requests()
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from connectors.sandbox.faults import CONTROL_PREFIX

__all__ = ["EmulatorControl"]


@dataclass
class EmulatorControl:
    """Drives the faults of the emulator at ``base_url`` (``http://127.0.0.1:<port>``)."""

    base_url: str
    session: aiohttp.ClientSession

    @property
    def _root(self) -> str:
        return self.base_url.rstrip("/") + CONTROL_PREFIX

    async def add_fault(self, **spec: Any) -> dict[str, Any]:
        """Add a fault (the fields of :class:`~connectors.sandbox.faults.FaultSpec`)."""
        async with self.session.post(self._root + "/faults", json=spec) as response:
            body: dict[str, Any] = await response.json()
            if response.status != 201:
                raise ValueError(f"fault refused: {body.get('error')}")
            return body

    async def faults(self) -> list[dict[str, Any]]:
        async with self.session.get(self._root + "/faults") as response:
            response.raise_for_status()
            faults: list[dict[str, Any]] = (await response.json())["faults"]
            return faults

    async def clear_faults(self) -> None:
        async with self.session.delete(self._root + "/faults") as response:
            response.raise_for_status()

    async def requests(self) -> dict[str, Any]:
        """``{"requests": [...], "in_flight": [...]}``, oldest request first."""
        async with self.session.get(self._root + "/requests") as response:
            response.raise_for_status()
            log: dict[str, Any] = await response.json()
            return log

    async def clear_requests(self) -> None:
        async with self.session.delete(self._root + "/requests") as response:
            response.raise_for_status()
