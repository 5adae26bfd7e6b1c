"""Recomputing users' entitlements when an input changed, in the caller's transaction.

Inputs: the user's SCIM document (core, enterprise and extension attributes), the names of
the SCIM groups the user is a direct member of, the IdP groups of their last SSO sign-in, and
the tenant's rule set. Whoever changes one of them calls :func:`recompute` for the users it
touched before the unit of work's outbox is flushed: a user whose result differs from what is
stored gets the next version and a ``user.entitlements_changed`` event in the same
transaction (so the event and the change commit or roll back together).

Recomputing takes the tenant row's lock first (PostgreSQL ``FOR UPDATE``; SQLite's writers
are serialized anyway), the lock the outbox flush takes at the end in any case: so two units
of work recomputing the same tenant's users (two SCIM group changes at once, a rule save, a
sign-in's group claim) run one after the other, each reading memberships, rules and stored
versions as the other committed them: no result computed from a stale snapshot, no version
given twice. Lock order: the rows the unit of work changed (users, groups), then the tenant
row, then ``user_entitlements`` rows.

A large recompute (a rule save over a whole tenant) flushes its outbox every
:data:`CHUNK` users, so no statement exceeds PostgreSQL's bind-parameter limit.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import GroupMember, Tenant, User, core
from propylon.db.tables_entitlements import UserEntitlements
from propylon.directory import events as ev
from propylon.directory.events import DomainEvent, Outbox, Row
from propylon.directory.payloads import user_object
from propylon.entitlements import store
from propylon.entitlements.model import EMPTY, EVENT_TYPE, Entitlements, Grant, changed_data
from propylon.entitlements.rules import EMPTY_SET, RuleSet

CHUNK = 500
_USERS, _UE, _TENANTS = core(User), core(UserEntitlements), core(Tenant)
_LOCK_TENANT = select(_TENANTS.c.id).where(_TENANTS.c.id == bindparam("tenant")).with_for_update()
_USER_EVENTS = frozenset(
    {ev.USER_CREATED, ev.USER_UPDATED, ev.USER_DEACTIVATED, ev.USER_REACTIVATED, ev.USER_DELETED}
)


@dataclass(frozen=True)
class Change:
    user_id: str
    previous: Entitlements
    current: Entitlements


async def affected_users(s: AsyncSession, pending: Iterable[DomainEvent]) -> set[str]:
    """The users whose inputs the unit of work's events changed: users written, members
    added to or removed from a group, the members of a renamed or deleted group."""
    users: set[str] = set()
    renamed: set[str] = set()
    for e in pending:
        if e.type in _USER_EVENTS:
            users.add(e.subject_id)
        elif e.type == ev.GROUP_MEMBERSHIP_CHANGED:
            users.update(e.data.get("added") or [])
            users.update(e.data.get("removed") or [])
        elif e.type == ev.GROUP_DELETED:
            users.update(e.data.get("removed") or [])
        elif e.type == ev.GROUP_UPDATED:
            changes = e.data.get("changes")
            if changes is None or "displayName" in changes:  # the name is what rules see
                renamed.add(e.subject_id)
    if renamed:
        q = select(GroupMember.member_id).where(
            GroupMember.group_id.in_(renamed), GroupMember.member_type == "User"
        )
        users.update((await s.scalars(q)).all())
    return users


async def on_outbox(s: AsyncSession, outbox: Outbox, now: datetime) -> list[Change]:
    """The SCIM hook: recompute the users the pending events touched (the caller has checked
    that the tenant has a rule set)."""
    users = await affected_users(s, outbox.pending)
    if not users:
        return []
    return await recompute(s, outbox, outbox.tenant_id, sorted(users), now)


async def recompute(
    s: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    user_ids: Collection[str],
    now: datetime,
    *,
    rules: RuleSet | None = None,
    idp_groups: Mapping[str, list[str]] | None = None,
) -> list[Change]:
    """Recompute ``user_ids`` (users of ``tenant_id``) with ``rules`` (default: the stored
    rule set); ``idp_groups`` replaces the stored IdP groups of those users (a sign-in)."""
    await s.execute(_LOCK_TENANT, {"tenant": tenant_id})
    if rules is None:
        rules = await store.rules_of(s, tenant_id) or EMPTY_SET
    ids = list(user_ids)
    changes: list[Change] = []
    for i in range(0, len(ids), CHUNK):
        changes += await _chunk(s, outbox, tenant_id, ids[i : i + CHUNK], now, rules, idp_groups)
        if i + CHUNK < len(ids) and len(outbox.pending) + len(outbox.rows) >= CHUNK:
            await outbox.flush(s, now)  # more to come: keep each statement's parameters bounded
    return changes


async def _chunk(
    s: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    ids: list[str],
    now: datetime,
    rules: RuleSet,
    idp_groups: Mapping[str, list[str]] | None,
) -> list[Change]:
    # A user created in this unit of work is still a row waiting in the outbox (written by its
    # flush, one statement on PostgreSQL): it has no groups and no entitlements yet.
    users = {uid: u for uid, u in _created(outbox).items() if uid in ids}
    stale = [uid for uid in ids if uid not in users]
    if stale:
        q = select(User).where(User.id.in_(stale), User.tenant_id == tenant_id)
        users |= {u.id: u for u in await s.scalars(q)}
    in_db = sorted(uid for uid in users if uid in stale)
    groups = await store.scim_groups(s, in_db)
    rows = await store.user_rows(s, in_db)
    changes = []
    for uid in sorted(users):
        user, row = users[uid], rows.get(uid)
        seen = list(idp_groups[uid]) if idp_groups and uid in idp_groups else None
        idp = seen if seen is not None else store.names_of(row.idp_groups if row else None)
        scim = groups.get(uid, [])
        grant = EMPTY if user.deleted_at is not None else evaluate(rules, scim, idp, user)
        previous = store.stored(row)
        if grant == previous.grant:
            if (
                seen is not None
                and row is not None
                and sorted(seen) != store.names_of(row.idp_groups)
            ):
                row.idp_groups = _names(seen)
            elif seen and row is None:
                outbox.insert(Row(_UE, _values(uid, tenant_id, previous, seen, now)))
            continue
        current = Entitlements(previous.version + 1, grant)
        if row is None:
            outbox.insert(Row(_UE, _values(uid, tenant_id, current, idp, now)))
        else:
            row.version, row.tier, row.updated_at = current.version, grant.tier, now
            row.roles, row.programs = _names(grant.roles), _names(grant.programs)
            row.idp_groups = _names(idp)
        data = changed_data(user_object(user), current, previous)
        outbox.emit(DomainEvent(EVENT_TYPE, "user", uid, data))
        changes.append(Change(uid, previous, current))
    if s.dirty:
        await s.flush()  # before the outbox takes the tenant lock (see the module docstring)
    return changes


def _created(outbox: Outbox) -> dict[str, User]:
    return {
        str(r.values["id"]): User(**r.values)
        for r in outbox.rows
        if r.table is _USERS and "id" in r.values
    }


def evaluate(rules: RuleSet, scim: list[str], idp: list[str], user: User) -> Grant:
    return rules.evaluate([*scim, *idp], user.doc or {})


def _names(names: Iterable[str]) -> dict[str, Any]:
    return {"names": sorted(names)}


def _values(
    uid: str, tenant_id: str, e: Entitlements, idp: Iterable[str], now: datetime
) -> dict[str, Any]:
    return {
        "user_id": uid,
        "tenant_id": tenant_id,
        "version": e.version,
        "roles": _names(e.grant.roles),
        "tier": e.grant.tier,
        "programs": _names(e.grant.programs),
        "idp_groups": _names(idp),
        "updated_at": now,
    }
