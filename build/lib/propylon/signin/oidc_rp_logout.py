"""RP-initiated logout onward to the OpenID Provider (OpenID Connect RP-Initiated Logout 1.0,
Propylon as the RP): after a session that an OIDC connection (or Google) started has ended
at ``/oauth2/logout``, the person goes on to the OP's ``end_session_endpoint`` (Discovery
metadata, §2.1) so the OP's own session ends too.

The request carries ``client_id`` and ``post_logout_redirect_uri`` (§2: the OP can tell
whose logout it is without an ``id_token_hint``, which Propylon does not keep), the latter
being ``/oidc/{id}/signed-out`` (register it at the OP) and ``state`` (§2, §3). Where the
person goes after that (the app's validated ``post_logout_redirect_uri``, if any) is sealed
in a cookie of this browser named by the ``state``, as a pending sign-in is
(:mod:`propylon.sessions.pending_cookie`, ``kind="logout"``), scoped to the signed-out path:
nothing is written on the server and a forged return cannot redirect anywhere. An OP without
an ``end_session_endpoint``, or one that cannot be reached, ends nothing more: the person is
signed out here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from propylon.errors import NotFound
from propylon.oidc.errors import OidcError
from propylon.outbound import OutboundError
from propylon.runtime import Runtime
from propylon.sessions.pending_cookie import (
    COOKIE_PREFIX,
    PendingLogin,
    cookie_name,
    cookie_path,
    new_relay_state,
)
from propylon.sessions.service import SessionRecord
from propylon.signin.oidc_rp import load_rp, metadata
from propylon.tenants.oidc_connections import rp_urls

LOGOUT_LIFETIME = timedelta(minutes=10)


def signed_out_url(public_url: str, connection_id: str) -> str:
    """The ``post_logout_redirect_uri`` an OP admin registers for the connection."""
    return rp_urls(public_url, connection_id)["post_logout_redirect_uri"]


@dataclass(frozen=True)
class Onward:
    """The OP's end-session URL and the cookie keeping where to go after it."""

    url: str
    cookie_name: str
    cookie_value: str
    cookie_path: str
    max_age: int


async def continue_to_op(
    rt: Runtime, row: SessionRecord, return_to: str, now: datetime
) -> Onward | None:
    """For a session just ended at ``/oauth2/logout``: the OP's end-session request, or
    ``None`` when the session did not come through OIDC or its OP has no such endpoint."""
    if row.auth_method not in ("oidc", "google") or row.connection_id is None:
        return None
    try:
        conn = await load_rp(rt, row.connection_id)
        meta = await metadata(rt, conn)
    except (NotFound, OidcError, OutboundError):
        return None
    if not meta.end_session_endpoint:
        return None
    state = new_relay_state()
    after = PendingLogin(
        request_id="",
        connection_id=conn.id,
        return_to=return_to,
        force_authn=False,
        created_at=now,
        expires_at=now + LOGOUT_LIFETIME,
        kind="logout",
    )
    back = signed_out_url(rt.settings.public_url, conn.id)
    query = urlencode(
        {"client_id": conn.client_id, "post_logout_redirect_uri": back, "state": state}
    )
    endpoint = meta.end_session_endpoint
    url = endpoint + ("&" if "?" in endpoint else "?") + query
    sealed = rt.pending_logins.seal(state, after)
    max_age = int(LOGOUT_LIFETIME.total_seconds())
    return Onward(url, COOKIE_PREFIX + state, sealed, cookie_path(back), max_age)


def after_op(
    rt: Runtime, connection_id: str, state: str | None, sealed: str | None, now: datetime
) -> str | None:
    """Where the person goes once the OP has signed them out (the app's address kept at
    :func:`continue_to_op`), if the browser holds that logout's cookie; else ``None``."""
    if cookie_name(state) is None or state is None or sealed is None:
        return None
    after = rt.pending_logins.open(state, sealed)
    if after is None or after.kind != "logout" or after.connection_id != connection_id:
        return None
    if after.expires_at <= now or not after.return_to:
        return None
    return after.return_to
