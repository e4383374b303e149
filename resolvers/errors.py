"""Errors the API reports to clients for their own input, each with a stable code."""

from __future__ import annotations

from typing import ClassVar

__all__ = ["InvalidArgumentError", "InvalidCursorError", "InvalidIdError", "UserInputError"]


class UserInputError(ValueError):
    """The request itself is wrong; the message says how, and is safe to show."""

    code: ClassVar[str] = "BAD_USER_INPUT"


class InvalidIdError(UserInputError):
    code = "INVALID_ID"


class InvalidCursorError(UserInputError):
    code = "INVALID_CURSOR"


class InvalidArgumentError(UserInputError):
    code = "INVALID_ARGUMENT"
