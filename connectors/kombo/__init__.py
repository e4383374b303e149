"""Kombo's unified LMS API (https://docs.kombo.dev)."""

from connectors.kombo.client import KomboConnector

__all__ = ["KomboConnector"]
