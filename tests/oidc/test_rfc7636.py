"""PKCE S256 (RFC 7636)."""

from __future__ import annotations

import re

import pytest

from propylon.oidc.rfc7636 import new_verifier, s256_challenge


def test_the_challenge_is_the_rfc_s_example() -> None:
    """RFC 7636 Appendix B."""
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert s256_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_verifiers_are_long_random_and_unreserved() -> None:
    verifiers = {new_verifier() for _ in range(50)}
    assert len(verifiers) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{86}", v) for v in verifiers)


@pytest.mark.parametrize("verifier", ["short", "x" * 129, "a" * 42 + "!", "é" * 43])
def test_a_verifier_outside_the_grammar_is_refused(verifier: str) -> None:
    with pytest.raises(ValueError, match="43 to 128"):
        s256_challenge(verifier)
