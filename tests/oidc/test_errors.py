"""Every refusal of the library names a reason from one list (callers audit it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import propylon.oidc
from propylon.oidc.errors import REASONS, OidcError


def test_every_reason_raised_in_the_library_is_listed() -> None:
    source = "\n".join(p.read_text() for p in Path(propylon.oidc.__file__).parent.glob("*.py"))
    raised = set(re.findall(r'OidcError\(\s*"(\w+)"', source))
    assert raised and raised <= REASONS
    assert len(raised) > 30


def test_an_unlisted_reason_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        OidcError("not_a_reason", "x")
    error = OidcError("expired", "the token has expired", "id_token", {"exp": 1})
    assert (error.reason, error.detail, error.stage, error.details) == (
        "expired",
        "the token has expired",
        "id_token",
        {"exp": 1},
    )
