"""What an SSO sign-in tells the rules: the IdP's group claim (SAML attribute or OIDC claim
named ``groups`` by the connection's map), stored with the user's entitlements, and the
department it names, kept on a user no SCIM directory manages (the IdP's sign-in is then its
only source; a SCIM directory's users change through SCIM alone). Entitlements are recomputed
in the sign-in's transaction when either changed, so the tokens of that very sign-in carry the
result."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import User
from propylon.directory import events as ev
from propylon.directory.events import DomainEvent, Outbox
from propylon.directory.payloads import user_object
from propylon.directory.schema import ENTERPRISE_USER_SCHEMA
from propylon.entitlements import store
from propylon.entitlements.recompute import recompute

MAX_GROUPS = 1000
"""More group values than this in one sign-in are cut (a bound on what is stored)."""


async def seen_at_sign_in(
    s: AsyncSession,
    tenant_id: str,
    user_id: str,
    groups: Sequence[str],
    department: str | None,
    now: datetime,
) -> None:
    """Record the groups (and department) the IdP sent for ``user_id`` and recompute their
    entitlements if they changed, or were never computed (one read when nothing changed)."""
    seen = sorted({g.strip() for g in groups if g and g.strip()})[:MAX_GROUPS]
    outbox = Outbox(tenant_id)
    moved = await _department_seen(s, user_id, department, outbox, now)
    current, stored = await store.read(s, user_id)
    unchanged = sorted(stored) == seen and not moved
    if unchanged and (current.version > 0 or not await store.has_rules(s, tenant_id)):
        return  # nothing new (a user never computed is, once the tenant has rules: JIT)
    await recompute(s, outbox, tenant_id, [user_id], now, idp_groups={user_id: seen})
    await outbox.flush(s, now)


async def _department_seen(
    s: AsyncSession, user_id: str, department: str | None, outbox: Outbox, now: datetime
) -> bool:
    """Keep the department an SSO-only user's IdP sends (column and the stored document's
    enterprise extension, RFC 7643 §4.3), with its ``user.updated`` event; True if it moved."""
    value = department.strip()[:255] if department else None
    if not value:
        return False
    user = await s.get(User, user_id)
    if user is None or user.directory_id is not None or user.department == value:
        return False
    before = user.department
    enterprise = dict(user.doc.get(ENTERPRISE_USER_SCHEMA) or {})
    enterprise["department"] = value
    user.doc = {**user.doc, ENTERPRISE_USER_SCHEMA: enterprise}
    user.department, user.version, user.updated_at = value, user.version + 1, now
    change = {"before": before, "after": value}
    data = {"user": user_object(user), "changes": {"department": change}, "department": change}
    outbox.emit(DomainEvent(ev.USER_UPDATED, "user", user.id, data))
    return True
