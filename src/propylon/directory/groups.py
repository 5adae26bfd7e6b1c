"""Groups and memberships. Members live in ``group_members``, never in the group document,
so a 10,000-member group is cheap to read without its members and cheap to change in batches."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.audit import diff
from propylon.db.tables import Group, GroupMember, User, core
from propylon.directory import events as ev
from propylon.directory.compiled import Compiled
from propylon.directory.errors import AlreadyExists, InvalidMember
from propylon.directory.events import DomainEvent, Outbox
from propylon.directory.scope import DirectoryScope, for_change, one, page, scope_params, scoped
from propylon.ids import Kind, new_id

_CHUNK = 500


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


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]


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


async def _member_types(
    session: AsyncSession, scope: DirectoryScope, ids: list[str], group_id: str
) -> dict[str, str]:
    """Resolve member ids to ``User``/``Group`` within the directory.

    Ids naming nothing in this directory (unknown, deleted, or another tenant's) are left out:
    a membership always points at a live resource of the same directory, and the caller
    learns nothing about ids outside its scope.
    """
    if group_id in ids:
        raise InvalidMember("a group cannot be a member of itself")
    found: dict[str, str] = {}
    for chunk in _chunks(list(dict.fromkeys(ids))):
        users = await session.scalars(
            select(User.id).where(
                User.id.in_(chunk),
                User.directory_id == scope.directory_id,
                User.deleted_at.is_(None),
            )
        )
        found.update((uid, "User") for uid in users)
        rest = [i for i in chunk if i not in found]
        if rest:
            groups = await session.scalars(
                select(Group.id).where(
                    Group.id.in_(rest),
                    Group.directory_id == scope.directory_id,
                    Group.deleted_at.is_(None),
                )
            )
            found.update((gid, "Group") for gid in groups)
    return found


async def _current_members(session: AsyncSession, group_id: str) -> set[str]:
    rows = await session.scalars(
        select(GroupMember.member_id).where(GroupMember.group_id == group_id)
    )
    return set(rows.all())


async def change_members(
    session: AsyncSession,
    scope: DirectoryScope,
    group: Group,
    change: MembershipChange,
    outbox: Outbox,
    now: datetime,
) -> tuple[list[str], list[str]]:
    """Apply a membership change; returns ``(added, removed)`` member ids."""
    if change.empty:
        return [], []
    current = await _current_members(session, group.id)
    if change.replace is not None:
        target = set(change.replace)
        to_add = [m for m in dict.fromkeys(change.replace) if m not in current]
        to_remove = sorted(current - target)
    else:
        to_remove = sorted(current) if change.remove_all else sorted(current & set(change.remove))
        remaining = current - set(to_remove)
        to_add = [m for m in dict.fromkeys(change.add) if m not in remaining]
        # an id both removed and re-added in one request stays a member
        to_remove = [m for m in to_remove if m not in set(change.add)]
    types = await _member_types(session, scope, to_add, group.id) if to_add else {}
    to_add = [m for m in to_add if m in types]
    for chunk in _chunks(to_remove):
        await session.execute(
            delete(GroupMember).where(
                GroupMember.group_id == group.id, GroupMember.member_id.in_(chunk)
            )
        )
    if to_add:
        await session.execute(
            insert(GroupMember),
            [
                {
                    "group_id": group.id,
                    "member_id": m,
                    "member_type": types[m],
                    "tenant_id": scope.tenant_id,
                    "created_at": now,
                }
                for m in to_add
            ],
        )
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


async def members_of(session: AsyncSession, group_ids: list[str]) -> dict[str, list[Member]]:
    out: dict[str, list[Member]] = {gid: [] for gid in group_ids}
    if not group_ids:
        return out
    rows = await session.execute(
        select(GroupMember.group_id, GroupMember.member_id, GroupMember.member_type)
        .where(GroupMember.group_id.in_(group_ids))
        .order_by(GroupMember.created_at, GroupMember.member_id)
    )
    for gid, mid, mtype in rows:
        out[gid].append(Member(mid, mtype))
    return out
