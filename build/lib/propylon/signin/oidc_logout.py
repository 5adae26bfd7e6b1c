"""OpenID Connect Back-Channel Logout 1.0 as relying party: the OP ends a person's sessions
here by POSTing a logout token to ``/oidc/{id}/backchannel-logout`` (§2.5).

The token is validated by :func:`propylon.oidc.logout_token.validate_logout_token` (§2.6: the
connection's issuer and client as audience, a signature by the OP's keys with an allowed
algorithm, ``iat``/``exp``, the back-channel logout event, ``sub`` or ``sid``, no ``nonce``)
and accepted once: its ``jti`` (which the library requires) is remembered in
``oidc_token_uses`` until it expires, in the same transaction that ends the sessions, so a
replayed token is refused (§2.6 point 9 allows it). The sessions the connection started for
the token's ``sub`` (the session's ``name_id``), narrowed to its ``sid`` (``session_index``)
when both are given, or every session of that ``sid`` alone (§2.4), end through the session
store; their codes' and refresh tokens' next use then finds no active session and is refused
(``provider/`` checks the session of a grant at every use). Every outcome is audited as
``sso.oidc.backchannel_logout``.
"""

from __future__ import annotations

from datetime import timedelta

from propylon.audit import Actor, AuditRecord, record_failure
from propylon.audit.log import insert_success
from propylon.oidc.errors import OidcError
from propylon.oidc.logout_token import validate_logout_token
from propylon.outbound import OutboundError
from propylon.runtime import Runtime
from propylon.signin.oidc_rp import keys_of, load_rp
from propylon.signin.replay import OIDC_TOKENS, remember_once

ACTION = "sso.oidc.backchannel_logout"


class BackchannelRefused(ValueError):
    """The logout token was not accepted; ``reason`` goes to the audit trail and, as the
    ``error_description``, to the OP (§2.8)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def backchannel_logout(
    rt: Runtime, connection_id: str, token: str, request_id: str | None = None
) -> int:
    """Validate ``token`` from the connection's OP and end the sessions it names; how many
    ended. :class:`BackchannelRefused` for a token not accepted;
    :class:`~propylon.errors.NotFound` for no such live connection."""
    now = rt.clock()
    conn = await load_rp(rt, connection_id)
    tenant_id = conn.tenant_id or None
    actor = Actor("oidc", conn.id, tenant_id)
    rec = AuditRecord(ACTION, "oidc_connection", conn.id, tenant_id, request_id=request_id)
    s_ = rt.settings
    try:
        claims = await validate_logout_token(
            token,
            keys=keys_of(rt, conn.issuer),
            issuer=conn.issuer,
            client_id=conn.client_id,
            now=now,
            skew=timedelta(seconds=s_.oidc_clock_skew_seconds),
            allowed_algs=s_.oidc_algorithms(),
            max_bytes=s_.oidc_max_token_bytes,
        )
    except (OidcError, OutboundError) as exc:
        reason = exc.reason if isinstance(exc, OidcError) else "keys_unreachable"
        rec.reason, rec.status = reason, 400
        await record_failure(rt.db, actor, rec, now)
        raise BackchannelRefused(reason) from exc
    key = "logout\x00" + claims.issuer + "\x00" + claims.jti  # §2.6 step 8
    async with rt.db.write() as s:
        if not await remember_once(s, OIDC_TOKENS, conn.id, key, claims.replay_until, now):
            ended = -1
        elif claims.sub is not None:
            ended = await rt.sessions.end_for(s, conn.id, claims.sub, claims.sid, now)
        else:
            ended = await rt.sessions.end_for_sid(s, conn.id, claims.sid or "", now)
        if ended >= 0:
            rec.diff = {
                "logout.sub": {"before": None, "after": claims.sub},
                "logout.sid": {"before": None, "after": claims.sid},
                "sessions_ended": {"before": None, "after": ended},
            }
            await insert_success(s, actor, rec, now)
    if ended < 0:
        rec.reason, rec.status = "logout_token_replayed", 400
        await record_failure(rt.db, actor, rec, now)
        raise BackchannelRefused("logout_token_replayed")
    return ended
