"""Skilljar (REST API v1): users, courses, published courses and course progress."""

from connectors.skilljar.client import SkilljarConnector

__all__ = ["SkilljarConnector"]
