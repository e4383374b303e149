"""Absorb LMS, Integration API v2 (https://docs.myabsorb.com)."""

from connectors.absorb.client import AbsorbConnector

__all__ = ["AbsorbConnector"]
