"""Groups and memberships. Members live in ``group_members``, never in the group document,
so a 10,000-member group is cheap to read without its members and cheap to change in batches."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.audit import diff
from propylon.cooperative import slices
from propylon.db.tables import Group, GroupMember, core
from propylon.directory import events as ev
from propylon.directory import member_sql
from propylon.directory.compiled import Compiled
from propylon.directory.errors import AlreadyExists, InvalidMember
from propylon.directory.events import DomainEvent, Outbox
from propylon.directory.scope import DirectoryScope, for_change, one, page, scope_params, scoped
from propylon.ids import Kind, new_id


@dataclass
class GroupDraft:
    display_name: str
    external_id: str | None = None
    doc: dict[str, Any] = field(default_factory=dict)


@dataclass
class MembershipChange:
    """What to do to a group's members. ``replace`` (when not None) wins over the rest."""

    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    remove_all: bool = False
    replace: list[str] | None = None

    @property
    def empty(self) -> bool:
        return not (self.add or self.remove or self.remove_all or self.replace is not None)


@dataclass(frozen=True)
class Member:
    id: str
    type: str


_TABLE = core(Group)
_SCOPED = scoped(_TABLE)
_ROW_BY_ID = _SCOPED.where(_TABLE.c.id == bindparam("rid"))
_BY_ID = for_change(Group)


async def _ensure_unique(
    session: AsyncSession, scope: DirectoryScope, draft: GroupDraft, exclude: str | None
) -> None:
    if draft.external_id is None:
        return
    q = select(Group.id).where(
        Group.directory_id == scope.directory_id,
        Group.external_id == draft.external_id,
        Group.deleted_at.is_(None),
    )
    if exclude:
        q = q.where(Group.id != exclude)
    if await session.scalar(q.limit(1)):
        raise AlreadyExists(f"externalId {draft.external_id!r} is already in use", "externalId")


_MEMBERS = core(GroupMember)
_CURRENT = select(_MEMBERS.c.member_id).where(_MEMBERS.c.group_id == bindparam("group"))


async def _current_members(session: AsyncSession, group_id: str) -> set[str]:
    rows = await (await session.connection()).execute(_CURRENT, {"group": group_id})
    return set(rows.scalars())


async def change_members(
    session: AsyncSession,
    scope: DirectoryScope,
    group: Group,
    change: MembershipChange,
    outbox: Outbox,
    now: datetime,
) -> tuple[list[str], list[str]]:
    """Apply a membership change; returns ``(added, removed)`` member ids.

    Linear in the members named and held: sets and dicts in memory, and a set-based statement
    per chunk of ids (:mod:`propylon.directory.member_sql`). An id both removed and re-added
    in one request stays a member, untouched. Ids naming nothing live in this directory
    (unknown, deleted, or another tenant's) are left out: a membership always points at a
    live resource of the same directory, and the caller learns nothing about ids outside its
    scope."""
    if change.empty:
        return [], []
    current = await _current_members(session, group.id)
    if change.replace is not None:
        wanted = dict.fromkeys(change.replace)
        to_remove = sorted(current.difference(wanted))
    else:
        wanted = dict.fromkeys(change.add)
        dropped = current if change.remove_all else current.intersection(change.remove)
        to_remove = sorted(m for m in dropped if m not in wanted)
    if group.id in wanted:
        raise InvalidMember("a group cannot be a member of itself")
    candidates = [m for m in wanted if m not in current]
    conn = await session.connection()
    types = await member_sql.live_members(conn, scope.tenant_id, scope.directory_id, candidates)
    to_add = [m for m in candidates if m in types]
    await member_sql.delete_members(conn, group.id, to_remove)
    added = [(m, types[m]) for m in to_add]
    await member_sql.insert_members(conn, group.id, scope.tenant_id, added, now)
    if to_add or to_remove:
        group.version += 1
        group.updated_at = now
        outbox.emit(
            DomainEvent(
                ev.GROUP_MEMBERSHIP_CHANGED,
                "group",
                group.id,
                {"added": to_add, "removed": to_remove, "display_name": group.display_name},
            )
        )
    return to_add, to_remove


async def create_group(
    session: AsyncSession,
    scope: DirectoryScope,
    draft: GroupDraft,
    members: list[str] | None,
    outbox: Outbox,
    now: datetime,
) -> Group:
    await _ensure_unique(session, scope, draft, exclude=None)
    group = Group(
        id=new_id(Kind.GROUP),
        tenant_id=scope.tenant_id,
        directory_id=scope.directory_id,
        display_name=draft.display_name,
        display_name_ci=draft.display_name.lower(),
        external_id=draft.external_id,
        doc=draft.doc,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(group)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise AlreadyExists("externalId is already in use", "externalId") from exc
    outbox.emit(
        DomainEvent(ev.GROUP_CREATED, "group", group.id, {"display_name": group.display_name})
    )
    if members:
        await change_members(session, scope, group, MembershipChange(add=members), outbox, now)
        group.version = 1
    return group


async def get_group(session: AsyncSession, scope: DirectoryScope, group_id: str) -> Group:
    """The group as an ORM instance, for changing it."""
    found: Group = await one(session, _BY_ID, scope, group_id, "group", rows=False)
    return found


async def read_group(session: AsyncSession, scope: DirectoryScope, group_id: str) -> Any:
    """The group as a read-only row (no ORM instance), for GET."""
    return await one(session, _ROW_BY_ID, scope, group_id, "group", rows=True)


async def replace_group(
    session: AsyncSession,
    scope: DirectoryScope,
    group: Group,
    draft: GroupDraft,
    outbox: Outbox,
    now: datetime,
) -> dict[str, Any]:
    before = {**group.doc, "displayName": group.display_name}
    if draft.external_id != group.external_id:
        await _ensure_unique(session, scope, draft, exclude=group.id)
    group.display_name = draft.display_name
    group.display_name_ci = draft.display_name.lower()
    group.external_id = draft.external_id
    group.doc = draft.doc
    changes = diff(before, {**group.doc, "displayName": group.display_name})
    if changes:
        group.version += 1
        group.updated_at = now
        outbox.emit(DomainEvent(ev.GROUP_UPDATED, "group", group.id, {"changes": changes}))
    return changes


async def delete_group(
    session: AsyncSession, scope: DirectoryScope, group: Group, outbox: Outbox, now: datetime
) -> None:
    removed = sorted(await _current_members(session, group.id))
    await session.execute(delete(GroupMember).where(GroupMember.group_id == group.id))
    await session.execute(delete(GroupMember).where(GroupMember.member_id == group.id))
    group.deleted_at = now
    group.updated_at = now
    group.version += 1
    outbox.emit(DomainEvent(ev.GROUP_DELETED, "group", group.id, {"removed": removed}))


async def list_groups(
    session: AsyncSession,
    scope: DirectoryScope,
    *,
    where: Compiled | None,
    order_by: Compiled | None,
    descending: bool,
    offset: int,
    limit: int,
) -> tuple[int, list[Any]]:
    """One page of rows (Core rows: attribute access by column name, read-only)."""
    return await page(
        session,
        _SCOPED,
        where=where,
        order_by=order_by,
        descending=descending,
        offset=offset,
        limit=limit,
        tiebreak=[Group.created_at, Group.id],
        params=scope_params(scope),
    )


_MEMBERS_OF = (
    select(_MEMBERS.c.group_id, _MEMBERS.c.member_id, _MEMBERS.c.member_type)
    .where(_MEMBERS.c.group_id.in_(bindparam("groups", expanding=True)))
    .order_by(_MEMBERS.c.created_at, _MEMBERS.c.member_id)
)


async def members_of(session: AsyncSession, group_ids: list[str]) -> dict[str, list[Member]]:
    """Each group's members in the order they joined; built in slices (a group can have tens
    of thousands), letting other requests run between them."""
    out: dict[str, list[Member]] = {gid: [] for gid in group_ids}
    if not group_ids:
        return out
    conn = await session.connection()
    rows = (await conn.execute(_MEMBERS_OF, {"groups": group_ids})).all()
    async for part in slices(rows):
        for gid, mid, mtype in part:
            out[gid].append(Member(mid, mtype))
    return out
