"""The identity claims about a signed-in person, shared by the ID token, the access token
(RFC 9068 §2.2.1) and userinfo (OpenID Connect Core 1.0 §5.1, §5.3)."""

from __future__ import annotations

from typing import Any

from propylon.sessions.service import ActiveSession
from propylon.tenants.individuals import is_individuals

_AMR = {"password": ["pwd"]}
"""RFC 8176 §2 values where one is true of the method: a password session is ``pwd``. Other
methods keep naming themselves (what the upstream IdP did is not known here)."""
_IDP = {"password": "password"}
"""The ``idp`` of a session without an upstream connection."""


def identity_claims(login: ActiveSession) -> dict[str, Any]:
    """Claims about the signed-in person and how they signed in. A claim without a value is
    left out, never sent as ``null`` or empty (OpenID Connect Core §5.3.2). A user of the
    reserved tenant of individuals belongs to no organisation: no ``org_id`` nor ``org_slug``."""
    user, tenant, row = login.user, login.tenant, login.record
    name = user.display_name or " ".join(p for p in (user.given_name, user.family_name) if p)
    org = not is_individuals(tenant.id)
    claims: dict[str, Any] = {
        "sub": user.id,
        "org_id": tenant.id if org else None,
        "org_slug": tenant.slug if org else None,
        "email": user.email,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "name": name,
        "amr": _AMR.get(row.auth_method, [row.auth_method]),
        "auth_method": row.auth_method,
        "idp": row.connection_id or _IDP.get(row.auth_method),
        "sid": row.id,
    }
    return {k: v for k, v in claims.items() if v not in (None, "", [])}
