"""The contract of a test connection's result, shared by the sign-in code that records it
(``signin/connection_test.py``), the portal and the console that show it.

A test is a real sign-in against the configured IdP that starts no session: each stage of
checking the IdP's answer is ``passed``, ``failed`` (the first failure names the reason and
the remedy) or ``not_reached``; the attributes received and what the connection's mapping
made of them are kept (bounded) for the attribute mapping's preview."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

StageState = Literal["passed", "failed", "not_reached", "skipped"]
TestStatus = Literal["pending", "passed", "failed"]

SAML_STAGES: tuple[str, ...] = (
    "idp_reached",
    "response_received",
    "signature",
    "issuer",
    "destination",
    "in_response_to",
    "time_window",
    "audience",
    "attributes",
    "user",
)
"""The stages of a SAML test, in the order a person reads them, which is the order the
validator checks in (a signed Response: its signature, Status, Issuer, Destination and
InResponseTo, then the assertion's SubjectConfirmation and Conditions: time, then audience),
so a failure at one stage means the earlier ones passed (``setup/stages.py``)."""

OIDC_STAGES: tuple[str, ...] = (
    "idp_reached",
    "response_received",
    "token",
    "signature",
    "issuer",
    "audience",
    "time_window",
    "nonce",
    "attributes",
    "user",
)
"""The stages of an OpenID Connect test, in the order a person reads them."""


@dataclass(frozen=True)
class Stage:
    name: str
    """One of :data:`SAML_STAGES` / :data:`OIDC_STAGES`."""
    label: str
    """What a person reads ("Signature", "Audience")."""
    state: StageState
    detail: str = ""
    """What was found, in plain words ("signed with RSA-SHA1", "expected …, got …")."""
    remedy: str | None = None
    """For a failed stage: what to change, and where, in the connection's IdP."""
    facts: dict[str, Any] = field(default_factory=dict)
    """Bounded facts (fingerprints, times, expected/received values); never a secret."""


@dataclass(frozen=True)
class ConnectionTest:
    id: str
    """``ctest_…``"""
    connection_id: str
    tenant_id: str
    protocol: Literal["saml", "oidc"]
    status: TestStatus
    started_at: datetime
    finished_at: datetime | None
    stages: tuple[Stage, ...]
    failed_stage: str | None = None
    reason: str | None = None
    """The stable reason of the refusal (``saml.errors.Reason`` / ``oidc.errors.REASONS`` /
    sign-in reasons such as ``jit_without_email``)."""
    remedy: str | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    """The attributes (SAML) or claims (OIDC) received, names and values bounded."""
    mapped: dict[str, Any] = field(default_factory=dict)
    """What the connection's mapping made of them: email, given_name, family_name, groups,
    department, … (the preview of the attribute mapping)."""
    user: dict[str, Any] = field(default_factory=dict)
    """``{"outcome": "existing"|"would_create"|"refused", "user_id": …, "email": …}``"""
    started_by: str = ""
    """Who started it (``portal:plk_…``, ``operator:op_…``)."""
    expires_at: datetime | None = None
    """A ``pending`` test is answered before this or never (abandoned at the IdP)."""

    def abandoned(self, now: datetime) -> bool:
        """Still pending though its answer can no longer come (the pending login expired)."""
        return self.status == "pending" and self.expires_at is not None and now >= self.expires_at
