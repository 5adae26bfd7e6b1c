"""The pending sign-in cookie carries an OpenID Connect login (its nonce and PKCE verifier)
as sealed as a SAML one, and is ``SameSite=Lax`` (the callback is a top-level GET) where the
SAML one must be ``None`` (the ACS receives a cross-site POST)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from starlette.responses import Response

from propylon.sessions.pending_cookie import (
    PendingLogin,
    PendingLoginSeal,
    new_relay_state,
    set_pending_cookie,
)

NOW = datetime(2026, 12, 5, 1, 2, 3, tzinfo=UTC)
OIDC = PendingLogin(
    request_id="",
    connection_id="oidc_1",
    return_to="/oauth2/authorize?client_id=c",
    force_authn=False,
    created_at=NOW,
    expires_at=NOW + timedelta(minutes=10),
    kind="oidc",
    nonce="n-" + secrets.token_urlsafe(16),
    code_verifier=secrets.token_urlsafe(48),
)


def test_an_oidc_login_round_trips_with_its_nonce_and_verifier_encrypted() -> None:
    seal = PendingLoginSeal(lambda: [secrets.token_bytes(32)])
    state = new_relay_state()
    value = seal.seal(state, OIDC)
    assert seal.open(state, value) == OIDC
    assert OIDC.code_verifier is not None and OIDC.code_verifier.encode() not in value.encode()
    assert seal.open(new_relay_state(), value) is None
    saml = replace(OIDC, kind="saml", nonce=None, code_verifier=None, request_id="_r")
    assert seal.open(state, seal.seal(state, saml)) == saml  # SAML cookies unchanged


def test_the_oidc_cookie_is_lax_and_the_saml_cookie_none() -> None:
    for same_site, expected in (("lax", "samesite=lax"), ("none", "samesite=none")):
        response = Response()
        set_pending_cookie(
            response,
            "propylon_login_x",
            "v",
            "/oidc/a/callback",
            "https://idp.example",
            600,
            same_site,  # type: ignore[arg-type]
        )
        header = response.headers["set-cookie"].lower()
        assert expected in header and "secure" in header and "httponly" in header
    response = Response()  # plain http elsewhere than loopback: Lax still set, not Secure
    set_pending_cookie(response, "n", "v", "/p", "http://sso.example", 600, "lax")
    header = response.headers["set-cookie"].lower()
    assert "samesite=lax" in header and "secure" not in header
