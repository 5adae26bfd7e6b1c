"""``connection.created|updated|deleted`` and what disabling or deleting a SAML or OIDC
connection does to its sessions, in the management operation's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from propylon.directory import session_events as se
from propylon.revocation.service import Outboxes, cut_off_connection
from propylon.sessions.store import SessionStore


def disabled_now(diff: dict[str, Any] | None) -> bool:
    """An edit's audit diff says the connection went from enabled to disabled."""
    change = (diff or {}).get("disabled")
    return isinstance(change, dict) and not change.get("before") and bool(change.get("after"))


async def connection_changed(
    s: AsyncSession,
    store: SessionStore,
    out: Outboxes,
    now: datetime,
    *,
    kind: str,
    protocol: str,
    view: dict[str, Any],
    end_sessions: str | None = None,
) -> int:
    """Emit ``kind`` for the connection's management ``view`` (no secrets); with
    ``end_sessions`` (``connection_disabled`` or ``connection_deleted``) every session it
    started is ended for good (:func:`~propylon.revocation.service.cut_off_connection`).
    How many sessions ended now."""
    tenant_id = view.get("tenant_id") or None  # None: a platform-wide connection (Google)
    if tenant_id is not None:  # events are per tenant
        out.emit(str(tenant_id), se.connection_changed(kind, view, protocol))
    if end_sessions is None:
        return 0
    cid = str(view["connection_id"])
    return await cut_off_connection(s, store, cid, tenant_id, end_sessions, out, now)
