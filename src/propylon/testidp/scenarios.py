"""What a test sign-in should go wrong with: one scenario per failure a real IdP causes.

Each scenario changes one thing in an otherwise correct answer, so the refusal it causes is
the one a connection test must name. ``protocols`` says where it applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Final

__all__ = [
    "OTHER_DOMAIN",
    "SCENARIOS",
    "SKEW",
    "WRONG_AUDIENCE",
    "Scenario",
    "ScenarioInfo",
    "parse_scenario",
    "scenarios_for",
]


class Scenario(StrEnum):
    SUCCESS = "success"
    ERROR_RESPONSE = "error_response"
    EXPIRED = "expired"
    OTHER_DOMAIN = "other_domain"
    WRONG_AUDIENCE = "wrong_audience"
    MISSING_EMAIL = "missing_email"
    SHA1 = "sha1"
    WRONG_KEY = "wrong_key"
    CLOCK_SKEW = "clock_skew"
    NONCE_MISMATCH = "nonce_mismatch"


@dataclass(frozen=True)
class ScenarioInfo:
    scenario: Scenario
    label: str
    description: str
    protocols: frozenset[str]


_BOTH: Final = frozenset({"saml", "oidc"})
SKEW: Final = timedelta(minutes=10)
"""How far ahead the ``clock_skew`` scenario's clock runs (and how long ago ``expired``'s
answer stopped being valid)."""
OTHER_DOMAIN: Final = "test-idp-other-domain.example"
"""The domain the ``other_domain`` scenario's email address is moved to (``.example``: RFC
2606, owned by no tenant)."""
WRONG_AUDIENCE: Final = "https://wrong-audience.test-idp.invalid/sp"
"""The audience of the ``wrong_audience`` scenario (``.invalid``: RFC 2606)."""

SCENARIOS: Final[tuple[ScenarioInfo, ...]] = (
    ScenarioInfo(Scenario.SUCCESS, "Success", "A correct, signed answer.", _BOTH),
    ScenarioInfo(
        Scenario.ERROR_RESPONSE,
        "Error response",
        "The IdP refuses the sign-in (SAML Status Responder/AuthnFailed; OpenID Connect "
        "error=access_denied).",
        _BOTH,
    ),
    ScenarioInfo(
        Scenario.EXPIRED,
        "Expired",
        "The answer stopped being valid ten minutes ago.",
        _BOTH,
    ),
    ScenarioInfo(
        Scenario.OTHER_DOMAIN,
        "Email of another domain",
        f"The email address is moved to {OTHER_DOMAIN}, a domain no tenant owns.",
        _BOTH,
    ),
    ScenarioInfo(
        Scenario.WRONG_AUDIENCE,
        "Wrong audience",
        "The answer is meant for another service provider or client.",
        _BOTH,
    ),
    ScenarioInfo(
        Scenario.MISSING_EMAIL,
        "No email",
        "No email attribute or claim, and an opaque subject instead of the address.",
        _BOTH,
    ),
    ScenarioInfo(
        Scenario.SHA1,
        "SHA-1 signature",
        "Signed with RSA-SHA1 and a SHA-1 digest (refused unless SHA-1 is allowed).",
        frozenset({"saml"}),
    ),
    ScenarioInfo(
        Scenario.WRONG_KEY,
        "Unknown signing key",
        "Signed with a key that is not in the test IdP's metadata or JWK Set.",
        _BOTH,
    ),
    ScenarioInfo(
        Scenario.CLOCK_SKEW,
        "Clock ahead",
        "The IdP's clock runs ten minutes ahead: the answer is not valid yet.",
        _BOTH,
    ),
    ScenarioInfo(
        Scenario.NONCE_MISMATCH,
        "Nonce mismatch",
        "The ID token carries another nonce than the one the sign-in sent.",
        frozenset({"oidc"}),
    ),
)


def scenarios_for(protocol: str) -> list[ScenarioInfo]:
    return [s for s in SCENARIOS if protocol in s.protocols]


def parse_scenario(value: str | None, protocol: str) -> Scenario | None:
    """The scenario named ``value`` if it applies to ``protocol`` (else None)."""
    for info in SCENARIOS:
        if info.scenario.value == (value or "success") and protocol in info.protocols:
            return info.scenario
    return None
