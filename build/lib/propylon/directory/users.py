"""User lifecycle: create, replace, deactivate, reactivate, deprovision, purge.

Services take plain drafts, never wire formats. Every change emits its domain event into the
caller's :class:`~propylon.directory.events.Outbox` in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import ColumnCollection

from propylon.audit import diff
from propylon.db.tables import Group, GroupMember, User, core
from propylon.db.tables_sso import LoginSession
from propylon.db.types import json_pairs
from propylon.directory import events as ev
from propylon.directory.compiled import Compiled
from propylon.directory.errors import AlreadyExists, NotFound
from propylon.directory.events import DomainEvent, Outbox, Row
from propylon.directory.scope import (
    DirectoryScope,
    ensure_seat_available,
    for_change,
    one,
    page,
    scope_params,
    scoped,
)
from propylon.ids import Kind, new_id


@dataclass
class UserDraft:
    """The attributes a protocol hands the directory for one user."""

    user_name: str
    active: bool = True
    external_id: str | None = None
    email: str | None = None
    display_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    department: str | None = None
    doc: dict[str, Any] = field(default_factory=dict)


def _snapshot(user: User) -> dict[str, Any]:
    return {**user.doc, "active": user.active}


_TABLE = core(User)


def member_of(user_id: ColumnElement[str]) -> ColumnElement[Any]:
    """The groups of the user ``user_id`` as one JSON column (see :func:`memberships`)."""
    return (
        select(json_pairs(Group.id, Group.display_name))
        .select_from(GroupMember)
        .join(Group, Group.id == GroupMember.group_id)
        .where(GroupMember.member_id == user_id, Group.deleted_at.is_(None))
        .scalar_subquery()
        .label("member_of")
    )


_SCOPED = scoped(_TABLE)
# Reads carry the user's groups in the same statement (one round trip, not two).
_MEMBER_OF = member_of(_TABLE.c.id)
_ROW_BY_ID = _SCOPED.add_columns(_MEMBER_OF).where(_TABLE.c.id == bindparam("rid"))


def _with_groups(columns: ColumnCollection[str, Any]) -> list[ColumnElement[Any]]:
    """The groups column of a listing page (built once per shape: see ``scope.page``)."""
    return [member_of(columns["id"])]


_BY_ID = for_change(User)


def _apply(user: User, draft: UserDraft) -> None:
    user.user_name = draft.user_name
    user.user_name_ci = draft.user_name.lower()
    user.external_id = draft.external_id
    user.email = draft.email.lower() if draft.email else None
    user.display_name = draft.display_name
    user.given_name = draft.given_name
    user.family_name = draft.family_name
    user.department = draft.department
    user.doc = draft.doc


def _conflict(draft: UserDraft) -> Callable[[IntegrityError], AlreadyExists | None]:
    """A unique-index violation as :class:`AlreadyExists`. The partial unique indexes are the
    one source of truth (no check-then-insert race): two processes creating the same userName
    get one row and one error."""

    def mapped(exc: IntegrityError) -> AlreadyExists | None:
        text = str(exc.orig).lower()
        if "unique" not in text:
            return None
        if "external" in text:
            return AlreadyExists(
                f"externalId {draft.external_id!r} is already in use in this directory",
                "externalId",
            )
        return AlreadyExists(f"userName {draft.user_name!r} is already in use", "userName")

    return mapped


async def _flush_unique(session: AsyncSession, draft: UserDraft) -> None:
    """Flush a changed user, turning a unique-index violation into :class:`AlreadyExists`."""
    try:
        await session.flush()
    except IntegrityError as exc:
        mapped = _conflict(draft)(exc)
        if mapped is None:
            raise
        raise mapped from exc


async def create_user(
    session: AsyncSession, scope: DirectoryScope, draft: UserDraft, outbox: Outbox, now: datetime
) -> User:
    """A new user, written by ``outbox.flush`` with its event (one statement on PostgreSQL);
    a taken userName or externalId fails there as :class:`AlreadyExists`."""
    if draft.active:
        await ensure_seat_available(session, scope)
    user = User(
        id=new_id(Kind.USER),
        tenant_id=scope.tenant_id,
        directory_id=scope.directory_id,
        active=draft.active,
        version=1,
        created_at=now,
        updated_at=now,
        deactivated_at=None if draft.active else now,
        revocation_epoch=0,
    )
    _apply(user, draft)
    values = {c.key: getattr(user, c.key) for c in _TABLE.c}
    outbox.insert(Row(_TABLE, values, _conflict(draft)))
    outbox.emit(
        DomainEvent(
            ev.USER_CREATED,
            "user",
            user.id,
            {"user_name": user.user_name, "active": user.active, "department": user.department},
        )
    )
    return user


async def get_user(session: AsyncSession, scope: DirectoryScope, user_id: str) -> User:
    """The user as an ORM instance, for changing it."""
    found: User = await one(session, _BY_ID, scope, user_id, "user", rows=False)
    return found


_BY_ID_WITH_GROUPS = _BY_ID.add_columns(_MEMBER_OF)


async def get_user_and_groups(
    session: AsyncSession, scope: DirectoryScope, user_id: str
) -> tuple[User, list[tuple[str, str]]]:
    """The user as an ORM instance to change, and its groups (:func:`memberships`), in one
    round trip."""
    found = await session.execute(_BY_ID_WITH_GROUPS, {**scope_params(scope), "rid": user_id})
    row = found.first()
    if row is None:
        raise NotFound(f"no user {user_id!r}")
    return row[0], memberships(row)


async def read_user(session: AsyncSession, scope: DirectoryScope, user_id: str) -> Any:
    """The user as a read-only row (no ORM instance), for GET; see :func:`memberships`."""
    return await one(session, _ROW_BY_ID, scope, user_id, "user", rows=True)


def memberships(row: Any) -> list[tuple[str, str]]:
    """``[(group_id, display_name)]`` of a row from :func:`read_user` or :func:`list_users`,
    sorted by display name."""
    pairs = row.member_of or []
    return sorted(((gid, name) for gid, name in pairs), key=lambda p: (p[1], p[0]))


_END_SESSIONS = (
    update(core(LoginSession))
    .where(LoginSession.user_id == bindparam("uid"), LoginSession.ended_at.is_(None))
    .values(ended_at=bindparam("now"))
)


async def revoke_sign_ins(session: AsyncSession, user: User, now: datetime) -> None:
    """Revoke every sign-in of ``user`` for good, in the caller's transaction: its
    ``revocation_epoch`` goes up, so every session created before (in either session store)
    and every refresh and access token naming one is refused from the commit on, whatever
    the user's state becomes later (a reactivated user signs in afresh); the embedded
    store's session rows are ended too. See :mod:`propylon.sessions.service`."""
    user.revocation_epoch = (user.revocation_epoch or 0) + 1
    await session.execute(_END_SESSIONS, {"uid": user.id, "now": now})


async def revoke_sign_ins_where(
    session: AsyncSession, users: ColumnElement[bool], now: datetime
) -> None:
    """:func:`revoke_sign_ins` for every user ``users`` selects at once (deleting a tenant or
    a directory), as two set-based statements."""
    ids = select(User.id).where(users).scalar_subquery()
    await session.execute(
        update(LoginSession)
        .where(LoginSession.user_id.in_(ids), LoginSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    epoch = User.revocation_epoch + 1
    await session.execute(update(User).where(users).values(revocation_epoch=epoch))


async def replace_user(
    session: AsyncSession,
    scope: DirectoryScope,
    user: User,
    draft: UserDraft,
    outbox: Outbox,
    now: datetime,
) -> dict[str, Any]:
    """Apply ``draft`` to ``user``; returns the attribute diff (empty when nothing changed)."""
    before = _snapshot(user)
    was_active, old_department = user.active, user.department
    if draft.active and not was_active:
        await ensure_seat_available(session, scope)
    _apply(user, draft)
    user.active = draft.active
    changes = diff(before, _snapshot(user))
    if not changes:
        return changes
    user.version += 1
    user.updated_at = now
    if was_active and not draft.active:
        user.deactivated_at = now
        await revoke_sign_ins(session, user, now)
        outbox.emit(DomainEvent(ev.USER_DEACTIVATED, "user", user.id, {}))
    elif draft.active and not was_active:
        user.deactivated_at = None
        outbox.emit(DomainEvent(ev.USER_REACTIVATED, "user", user.id, {}))
    data: dict[str, Any] = {"changes": changes}
    if old_department != user.department:
        data["department"] = {"before": old_department, "after": user.department}
    outbox.emit(DomainEvent(ev.USER_UPDATED, "user", user.id, data))
    await _flush_unique(session, draft)
    return changes


async def delete_user(
    session: AsyncSession, scope: DirectoryScope, user: User, outbox: Outbox, now: datetime
) -> list[str]:
    """Deprovision: gone from SCIM, retained until purge; frees the seat and memberships."""
    group_ids = list(
        (
            await session.scalars(
                select(GroupMember.group_id).where(GroupMember.member_id == user.id)
            )
        ).all()
    )
    await session.execute(delete(GroupMember).where(GroupMember.member_id == user.id))
    user.deleted_at = now
    user.updated_at = now
    user.version += 1
    await revoke_sign_ins(session, user, now)
    if user.active:
        user.deactivated_at = now
    user.active = False
    for gid in group_ids:
        outbox.emit(
            DomainEvent(
                ev.GROUP_MEMBERSHIP_CHANGED, "group", gid, {"removed": [user.id], "added": []}
            )
        )
    outbox.emit(DomainEvent(ev.USER_DELETED, "user", user.id, {"groups": group_ids}))
    return group_ids


async def list_users(
    session: AsyncSession,
    scope: DirectoryScope,
    *,
    where: Compiled | None,
    order_by: Compiled | None,
    descending: bool,
    offset: int,
    limit: int,
) -> tuple[int, list[Any]]:
    """One page of rows (Core rows: attribute access by column name, read-only), each with
    its groups (:func:`memberships`)."""
    return await page(
        session,
        _SCOPED,
        where=where,
        order_by=order_by,
        descending=descending,
        offset=offset,
        limit=limit,
        tiebreak=[User.created_at, User.id],
        params=scope_params(scope),
        decorate=_with_groups,
    )
