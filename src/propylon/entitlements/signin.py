"""The IdP's group claim at an SSO sign-in as an input of the rules (SAML attribute or OIDC
claim named ``groups`` by the connection's map): stored with the user's entitlements, which
are recomputed in the sign-in's transaction when the groups changed, so the tokens of that
very sign-in carry the result."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from propylon.directory.events import Outbox
from propylon.entitlements import store
from propylon.entitlements.recompute import recompute

MAX_GROUPS = 1000
"""More group values than this in one sign-in are cut (a bound on what is stored)."""


async def groups_seen(
    s: AsyncSession, tenant_id: str, user_id: str, groups: Sequence[str], now: datetime
) -> None:
    """Record the groups the IdP sent for ``user_id`` and recompute their entitlements if
    they changed, or were never computed (one read when nothing changed)."""
    seen = sorted({g.strip() for g in groups if g and g.strip()})[:MAX_GROUPS]
    current, stored = await store.read(s, user_id)
    if sorted(stored) == seen and (current.version > 0 or not await store.has_rules(s, tenant_id)):
        return  # nothing new (a user never computed is, once the tenant has rules: JIT)
    outbox = Outbox(tenant_id)
    await recompute(s, outbox, tenant_id, [user_id], now, idp_groups={user_id: seen})
    await outbox.flush(s, now)
