"""What the audit entry of a refused SAML sign-in tells an administrator.

The person sees a plain page with the request id; the administrator finds the entry by that
id (``propylon audit list TENANT --json``: ``request_id``) and reads ``diff.diagnosis``: the
named ``stage`` that refused the sign-in and its facts. From the SAML checks
(:attr:`propylon.saml.SamlValidationError.details`): expected and received issuer,
audience, destination or recipient, InResponseTo; the times, the clock difference and the
allowed skew of a validity window; a refused signature's algorithms and the fingerprints of
the certificates tried (pinned) and presented (in the message). After the assertion was
verified, the asserted NameID, email and assertion id too. No secrets (no key, no
attribute values beyond the email), every value bounded (:func:`propylon.saml.errors.bounded`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from propylon.saml import Assertion
from propylon.saml.errors import bounded
from propylon.signin.saml_users import attribute
from propylon.tenants.saml_connections import ConnectionRecord

__all__ = ["login_diagnosis"]

_STAGES: Final = {
    "request_used_or_expired": "pending_request",
    "authn_not_fresh": "freshness",
    "assertion_replayed": "replay",
    "unknown_user": "user",
    "jit_without_email": "user",
    "user_deactivated": "user",
    "user_deprovisioned": "user",
}


def login_diagnosis(
    reason: str,
    details: Mapping[str, Any],
    conn: ConnectionRecord,
    assertion: Assertion | None,
) -> dict[str, Any]:
    """The ``diagnosis`` of a refused sign-in: its stage and facts (see the module doc)."""
    out: dict[str, Any] = {"stage": details.get("stage") or _STAGES.get(reason, "landing")}
    out.update(details)
    out["connection_id"] = conn.id
    if assertion is not None:
        email = attribute(assertion, conn, "email")
        out.update(
            name_id=bounded(assertion.name_id),
            email=bounded(email) if email else None,
            assertion_id=bounded(assertion.assertion_id),
            issuer=bounded(assertion.issuer),
        )
    return out
