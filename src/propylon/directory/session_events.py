"""The events that say a sign-in ended: session, user, tenant, grant and connection changes.

They go through the same :class:`~propylon.directory.events.Outbox` as the directory's own
events, in the transaction that ends the sessions, so a receiver (the events feed, webhooks,
back-channel logout, Shared Signals) learns of a revocation exactly when it took effect, and
never of one that rolled back. Payloads carry whole objects (receivers upsert), and times are
RFC 3339 strings (UTC).

Types and payloads (the shared contract of issue 14):

- ``session.revoked`` (subject ``session``/sid): ``{"session": {"id", "user_id",
  "tenant_id", "auth_method", "connection_id"}, "reason"}``; reason one of
  :data:`SESSION_REASONS`.
- ``user.sessions_revoked`` (subject ``user``): every session of the user created before
  ``before`` is dead (the user's revocation ``epoch`` went up to ``epoch``): ``{"user_id",
  "tenant_id", "before", "epoch", "reason"}``; reason one of :data:`USER_REASONS`.
- ``tenant.sessions_revoked`` (subject ``tenant``): the tenant's sessions of the given auth
  methods created before ``before`` are dead: ``{"tenant_id", "auth_methods", "before",
  "reason"}``; reason one of :data:`TENANT_REASONS`.
- ``grant.revoked`` (subject ``grant``/grant id, the refresh-token family; the access
  tokens' ``grant_id`` claim): ``{"grant_id", "client_id", "user_id", "tenant_id", "sid",
  "reason"}``; reason one of :data:`GRANT_REASONS` (``revoked``: RFC 7009; ``code_replay``:
  RFC 6749 §4.1.2; ``refresh_token_replay``: RFC 9700 §4.14.2).
- ``connection.created|updated|deleted`` (subject ``connection``): ``{"connection": {...the
  management view, no secrets...}, "protocol": "saml"|"oidc"}``.

This module is pure (no I/O): it names the types and builds the events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from propylon.directory.events import DomainEvent
from propylon.rfc3339 import rfc3339

SESSION_REVOKED = "session.revoked"
USER_SESSIONS_REVOKED = "user.sessions_revoked"
TENANT_SESSIONS_REVOKED = "tenant.sessions_revoked"
GRANT_REVOKED = "grant.revoked"
CONNECTION_CREATED = "connection.created"
CONNECTION_UPDATED = "connection.updated"
CONNECTION_DELETED = "connection.deleted"

REVOCATION_TYPES = frozenset(
    {SESSION_REVOKED, USER_SESSIONS_REVOKED, TENANT_SESSIONS_REVOKED, GRANT_REVOKED}
)
"""The types after which some session or token is dead."""
CONNECTION_TYPES = frozenset({CONNECTION_CREATED, CONNECTION_UPDATED, CONNECTION_DELETED})

# session.revoked reasons
LOGOUT = "logout"
IDP_LOGOUT = "idp_logout"
ADMIN = "admin"
CONNECTION_DISABLED = "connection_disabled"
CONNECTION_DELETED_REASON = "connection_deleted"
SESSION_REASONS = frozenset(
    {LOGOUT, IDP_LOGOUT, ADMIN, CONNECTION_DISABLED, CONNECTION_DELETED_REASON}
)

# user.sessions_revoked reasons
DEACTIVATED = "deactivated"
DELETED = "deleted"
PASSWORD_RESET = "password_reset"
PASSWORD_CHANGED = "password_changed"
USER_REASONS = frozenset({DEACTIVATED, DELETED, PASSWORD_RESET, PASSWORD_CHANGED, ADMIN})

# tenant.sessions_revoked reasons
SSO_ENFORCED = "sso_enforced"
TENANT_REASONS = frozenset({SSO_ENFORCED})

# grant.revoked reasons
REVOKED = "revoked"
CODE_REPLAY = "code_replay"
REFRESH_TOKEN_REPLAY = "refresh_token_replay"
"""A rotated-out refresh token presented again (RFC 9700 §4.14.2): the family is revoked."""
GRANT_REASONS = frozenset({REVOKED, CODE_REPLAY, REFRESH_TOKEN_REPLAY})


def session_revoked(
    *,
    sid: str,
    user_id: str,
    tenant_id: str,
    auth_method: str,
    connection_id: str | None,
    reason: str,
) -> DomainEvent:
    if reason not in SESSION_REASONS:
        raise ValueError(f"unknown session.revoked reason {reason!r}")
    session = {
        "id": sid,
        "user_id": user_id,
        "tenant_id": tenant_id,
        "auth_method": auth_method,
        "connection_id": connection_id,
    }
    return DomainEvent(SESSION_REVOKED, "session", sid, {"session": session, "reason": reason})


def user_sessions_revoked(
    *, user_id: str, tenant_id: str, before: datetime, epoch: int, reason: str
) -> DomainEvent:
    if reason not in USER_REASONS:
        raise ValueError(f"unknown user.sessions_revoked reason {reason!r}")
    data = {
        "user_id": user_id,
        "tenant_id": tenant_id,
        "before": rfc3339(before),
        "epoch": epoch,
        "reason": reason,
    }
    return DomainEvent(USER_SESSIONS_REVOKED, "user", user_id, data)


def tenant_sessions_revoked(
    *, tenant_id: str, auth_methods: list[str], before: datetime, reason: str
) -> DomainEvent:
    if reason not in TENANT_REASONS:
        raise ValueError(f"unknown tenant.sessions_revoked reason {reason!r}")
    data = {
        "tenant_id": tenant_id,
        "auth_methods": sorted(auth_methods),
        "before": rfc3339(before),
        "reason": reason,
    }
    return DomainEvent(TENANT_SESSIONS_REVOKED, "tenant", tenant_id, data)


def grant_revoked(
    *,
    grant_id: str,
    client_id: str,
    user_id: str | None,
    tenant_id: str,
    sid: str | None,
    reason: str,
) -> DomainEvent:
    if reason not in GRANT_REASONS:
        raise ValueError(f"unknown grant.revoked reason {reason!r}")
    data = {
        "grant_id": grant_id,
        "client_id": client_id,
        "user_id": user_id,
        "tenant_id": tenant_id,
        "sid": sid,
        "reason": reason,
    }
    return DomainEvent(GRANT_REVOKED, "grant", grant_id, data)


def connection_changed(kind: str, connection: dict[str, Any], protocol: str) -> DomainEvent:
    """``connection.created|updated|deleted``; ``connection`` is the management view (which
    never holds a secret)."""
    if kind not in CONNECTION_TYPES:
        raise ValueError(f"unknown connection event {kind!r}")
    if protocol not in ("saml", "oidc"):
        raise ValueError(f"unknown protocol {protocol!r}")
    cid = str(connection.get("connection_id") or connection.get("id") or "")
    return DomainEvent(kind, "connection", cid, {"connection": connection, "protocol": protocol})
