"""Where an IdP-initiated SAML login lands.

An unsolicited Response (SAML Profiles §4.1.5) answers no authorization request of ours, so
nothing says which application the person wanted. The connection may name one
(``--idp-initiated-app CLIENT_ID``); otherwise the platform's only confidential app is used
if there is exactly one. Anything else is refused with a reason for the audit trail, never a
guess. The landing URI is the app's first registered redirect URI, reached through the
authorization endpoint so the app receives an ordinary authorization code (RFC 6749 §4.1).
"""

from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables_sso import OAuthClient
from propylon.errors import PropylonError
from propylon.tenants.saml_connections import ConnectionRecord, landing_problem

LANDING_SCOPE = "openid email profile"


class NoLandingApp(PropylonError):
    """No app to land in. ``reason`` is for the audit trail; the detail is for the person."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            "This sign-in did not say which application to open. "
            "Start from your application instead."
        )
        self.reason = reason


def authorize_url(client: OAuthClient) -> str:
    query = {
        "response_type": "code",
        "client_id": client.id,
        "redirect_uri": client.redirect_uris["uris"][0],
        "scope": LANDING_SCOPE,
    }
    return "/oauth2/authorize?" + urlencode(query)


async def landing_app(s: AsyncSession, conn: ConnectionRecord) -> OAuthClient:
    """The app an IdP-initiated login on ``conn`` lands in, or :class:`NoLandingApp`."""
    if conn.idp_initiated_client_id is not None:
        client = await s.get(OAuthClient, conn.idp_initiated_client_id)
        if client is None or landing_problem(client) is not None:
            raise NoLandingApp("idp_initiated_app_unavailable")
        return client
    return await default_app(s)


async def default_app(s: AsyncSession) -> OAuthClient:
    """The platform's only confidential app (a sign-in that names no app lands there), or
    :class:`NoLandingApp` when there is none or several."""
    confidential = list(
        await s.scalars(
            select(OAuthClient)
            .where(OAuthClient.revoked_at.is_(None), OAuthClient.secret_hash.is_not(None))
            .order_by(OAuthClient.created_at, OAuthClient.id)
            .limit(2)
        )
    )
    if not confidential:
        raise NoLandingApp("idp_initiated_no_app")
    if len(confidential) > 1:
        raise NoLandingApp("idp_initiated_app_ambiguous")
    (client,) = confidential
    if landing_problem(client) is not None:
        raise NoLandingApp("idp_initiated_app_unavailable")
    return client


async def idp_initiated_landing(s: AsyncSession, conn: ConnectionRecord) -> str:
    """The authorization request an IdP-initiated login on ``conn`` continues with."""
    return authorize_url(await landing_app(s, conn))
