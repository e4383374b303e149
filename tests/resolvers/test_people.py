"""What counts as a work email when people are looked up across sources."""

from __future__ import annotations

import pytest

from resolvers.errors import InvalidArgumentError
from resolvers.people import MAX_EMAIL_LENGTH, normalise_email


@pytest.mark.parametrize(
    ("raw", "email"),
    [
        ("ann.lee@acme.com", "ann.lee@acme.com"),
        ("  Ann.Lee@ACME.com\t", "ann.lee@acme.com"),
        ("a@b", "a@b"),
        ("x" * (MAX_EMAIL_LENGTH - 4) + "@a.b", "x" * (MAX_EMAIL_LENGTH - 4) + "@a.b"),
    ],
)
def test_emails_are_compared_trimmed_and_lower_cased(raw: str, email: str) -> None:
    assert normalise_email(raw) == email


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "ann",
        "@acme.com",
        "ann@",
        "@ann@acme.com",
        "ann lee@acme.com",
        "x" * (MAX_EMAIL_LENGTH - 3) + "@a.b",  # one over RFC 5321's 254
    ],
)
def test_anything_else_is_refused_with_a_clear_message(raw: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        normalise_email(raw)
    assert str(caught.value) == "`email` must be an email address such as ann@example.com"
