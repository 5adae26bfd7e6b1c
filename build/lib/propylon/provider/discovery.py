"""OpenID Provider metadata (OpenID Connect Discovery 1.0 §3, RFC 8414 §2) served at
``/.well-known/openid-configuration``; every endpoint Propylon implements is listed here."""

from __future__ import annotations

from typing import Any

from propylon.oauth_store.signing_keys import SUPPORTED_ALGS
from propylon.provider.models import CONFIDENTIAL_AUTH, SCOPES

CLAIMS = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "sid",
    "org_id",
    "org_slug",
    "email",
    "given_name",
    "family_name",
    "name",
    "amr",
    "auth_method",
    "idp",
]


def metadata(issuer: str) -> dict[str, Any]:
    base = issuer.rstrip("/")
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/oauth2/authorize",
        "token_endpoint": f"{base}/oauth2/token",
        "jwks_uri": f"{base}/oauth2/jwks",
        "userinfo_endpoint": f"{base}/oauth2/userinfo",
        "introspection_endpoint": f"{base}/oauth2/introspect",
        "revocation_endpoint": f"{base}/oauth2/revoke",
        "end_session_endpoint": f"{base}/oauth2/logout",
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(SUPPORTED_ALGS),
        "token_endpoint_auth_methods_supported": [*CONFIDENTIAL_AUTH, "none"],
        "introspection_endpoint_auth_methods_supported": list(CONFIDENTIAL_AUTH),
        "revocation_endpoint_auth_methods_supported": [*CONFIDENTIAL_AUTH, "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": CLAIMS,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "frontchannel_logout_supported": False,
        "backchannel_logout_supported": False,
    }
