"""The feed hook: numbered events that end sessions or change claims become deliveries.

Runs inside the sequencer's transaction (``feed/model.py FeedHook``), so what it enqueues
commits exactly with the numbering.

- ``backchannel_logout`` (OpenID Connect Back-Channel Logout 1.0 §2.7): one item per app a
  revoked session reached (``oauth_store/session_grants.py``) whose app registered a
  ``backchannel_logout_uri``; each session is announced to an app once (the grant rows are
  marked). ``session.revoked`` names the session; ``user.sessions_revoked`` every session of
  the user created at or before ``before``; ``tenant.sessions_revoked`` those of the tenant's
  given sign-in methods; ``grant.revoked`` the grant's session at its app.
- ``ssf`` (Shared Signals Framework 1.0, CAEP 1.0): per stream that requested it, a
  ``session-revoked`` SET for the session, user or tenant events above, and a
  ``token-claims-change`` SET for ``user.entitlements_changed``. The ``jti`` is fixed here,
  so a retried push is the same SET (RFC 8935 §2.4: receivers recognise duplicates by it).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from propylon.delivery.model import KIND_BACKCHANNEL_LOGOUT, KIND_SSF, Delivery, enqueue
from propylon.directory import session_events as se
from propylon.entitlements.model import EVENT_TYPE as ENTITLEMENTS_CHANGED
from propylon.entitlements.model import Entitlements, Grant
from propylon.feed.model import SequencedEvent
from propylon.oauth_store.session_grants import Reached, mark_told, reached
from propylon.provider import secevent
from propylon.signals import streams

LOGOUT_TYPES = se.REVOCATION_TYPES
"""Every event after which a session or token family is dead reaches the apps it reached."""
SSF_TYPES = {
    se.SESSION_REVOKED: secevent.SESSION_REVOKED,
    se.USER_SESSIONS_REVOKED: secevent.SESSION_REVOKED,
    se.TENANT_SESSIONS_REVOKED: secevent.SESSION_REVOKED,
    ENTITLEMENTS_CHANGED: secevent.TOKEN_CLAIMS_CHANGE,
}
_INITIATOR = {
    "logout": "user",
    "password_changed": "user",
    "password_reset": "user",
    "idp_logout": "system",
    "sso_enforced": "policy",
    "deactivated": "admin",
    "deleted": "admin",
    "admin": "admin",
    "connection_disabled": "admin",
    "connection_deleted": "admin",
    "revoked": "user",
    "code_replay": "system",
    "refresh_token_replay": "system",
}


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


async def _reached_by(s: AsyncSession, e: SequencedEvent) -> list[Reached]:
    """The grants an ending event concerns (not yet announced)."""
    d = e.data
    if e.type == se.SESSION_REVOKED:
        return await reached(s, sid=e.subject_id)
    if e.type == se.GRANT_REVOKED:
        return await reached(s, grant_id=_str(d, "grant_id") or e.subject_id)
    before = _when(d.get("before"))
    if before is None:
        return []
    if e.type == se.USER_SESSIONS_REVOKED:
        user_id = _str(d, "user_id") or e.subject_id
        return await reached(s, user_id=user_id, before=before)
    methods = d.get("auth_methods")
    if not isinstance(methods, list) or not methods:
        return []
    tenant_id = _str(d, "tenant_id") or e.tenant_id
    return await reached(s, tenant_id=tenant_id, auth_methods=methods, before=before)


def _ssf_subject(issuer: str, e: SequencedEvent) -> dict[str, Any]:
    d = e.data
    if e.type == se.SESSION_REVOKED:
        session = d.get("session")
        user_id = _str(session, "user_id") if isinstance(session, dict) else None
        return secevent.subject(issuer, tenant_id=e.tenant_id, user_id=user_id, sid=e.subject_id)
    if e.type == se.TENANT_SESSIONS_REVOKED:
        return secevent.subject(issuer, tenant_id=e.tenant_id)
    user_id = _str(d, "user_id") or e.subject_id
    return secevent.subject(issuer, tenant_id=e.tenant_id, user_id=user_id)


def _ssf_event(e: SequencedEvent) -> dict[str, Any] | None:
    at = int(e.created_at.timestamp())
    d = e.data
    if e.type == ENTITLEMENTS_CHANGED:
        ent = d.get("entitlements")
        if not isinstance(ent, dict):
            return None
        grant = Grant.of(ent.get("roles") or [], ent.get("tier"), ent.get("programs") or [])
        claims = Entitlements(int(ent.get("version") or 0), grant).claims()
        return secevent.token_claims_change(event_timestamp=at, claims=claims)
    reason = _str(d, "reason") or "revoked"
    return secevent.session_revoked(
        event_timestamp=at,
        initiating_entity=_INITIATOR.get(reason, "system"),
        reason=reason.replace("_", " "),
    )



def logout_destination(client_id: str, sid: str) -> str:
    """The queue destination of one app's logout token for one session: the app and the
    start of the session id, so each logout is its own ordering key (``delivery/model.py``)."""
    return f"{client_id}#{sid[:20]}"

class SignalsHook:
    """The :data:`~propylon.feed.model.FeedHook` of back-channel logout and Shared Signals."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer.rstrip("/")

    async def __call__(self, s: AsyncSession, events: list[SequencedEvent], now: datetime) -> None:
        relevant = [e for e in events if e.type in LOGOUT_TYPES or e.type in SSF_TYPES]
        if not relevant:
            return
        items: list[Delivery] = []
        told: list[str] = []
        seen: set[tuple[str, str]] = set()
        targets: Sequence[streams.StreamTarget] | None = None
        for e in relevant:
            if e.type in LOGOUT_TYPES:
                for grant in await _reached_by(s, e):
                    told.append(grant.grant_id)
                    if (grant.client_id, grant.sid) in seen:
                        continue
                    seen.add((grant.client_id, grant.sid))
                    payload = {"sub": grant.user_id, "sid": grant.sid, "client_id": grant.client_id}
                    # one ordering key per (app, session): logout tokens need no order, and an
                    # app refusing one (§2.8: 400 for a session it no longer knows) must not
                    # hold back the app's other logouts for the whole retry period
                    target = logout_destination(grant.client_id, grant.sid)
                    items.append(
                        Delivery(KIND_BACKCHANNEL_LOGOUT, target, e.tenant_id, payload, e.id)
                    )
            event_type = SSF_TYPES.get(e.type)
            if event_type is None:
                continue
            if targets is None:
                targets = await streams.targets(s)
            wanting = [t for t in targets if t.wants(event_type, e.tenant_id)]
            event = _ssf_event(e) if wanting else None
            if event is None:
                continue
            sub_id = _ssf_subject(self.issuer, e)
            for t in wanting:
                set_payload: dict[str, Any] = {
                    "jti": secrets.token_urlsafe(16),
                    "event_type": event_type,
                    "event": event,
                    "sub_id": sub_id,
                    "txn": e.id,
                }
                items.append(Delivery(KIND_SSF, t.id, e.tenant_id, set_payload, e.id))
        await mark_told(s, told, now)
        if items:
            await enqueue(s, items, now)
