"""StackOne's unified LMS API (https://docs.stackone.com)."""

from connectors.stackone.client import StackOneConnector

__all__ = ["StackOneConnector"]
