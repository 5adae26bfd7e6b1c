"""The identity claims about a signed-in person, shared by the ID token, the access token
(RFC 9068 §2.2.1) and userinfo (OpenID Connect Core 1.0 §5.1, §5.3)."""

from __future__ import annotations

from typing import Any

from propylon.sessions.service import ActiveSession


def identity_claims(login: ActiveSession) -> dict[str, Any]:
    """Claims about the signed-in person and how they signed in. A claim without a value is
    left out, never sent as ``null`` or empty (OpenID Connect Core §5.3.2)."""
    user, tenant, row = login.user, login.tenant, login.record
    name = user.display_name or " ".join(p for p in (user.given_name, user.family_name) if p)
    claims: dict[str, Any] = {
        "sub": user.id,
        "org_id": tenant.id,
        "org_slug": tenant.slug,
        "email": user.email,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "name": name,
        "amr": [row.auth_method],
        "auth_method": row.auth_method,
        "idp": row.connection_id,
        "sid": row.id,
    }
    return {k: v for k, v in claims.items() if v not in (None, "", [])}
