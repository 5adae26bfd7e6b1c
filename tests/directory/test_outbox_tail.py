"""The unit of work's tail: rows written with the events by ``Outbox.flush``.

On PostgreSQL a new user, its audit entry and its event are one statement, and a unit that sent
nothing before it runs that statement without a transaction around it. Both backends: a taken
userName leaves nothing written (no audit entry, no event, no sequence number used).
"""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import func, select

from propylon.audit.log import TABLE as AUDIT_TABLE
from propylon.db.tables import AuditEntry, Event, Tenant, User
from propylon.directory.errors import AlreadyExists
from propylon.directory.events import Outbox, Row
from propylon.directory.scope import DirectoryScope
from propylon.directory.users import UserDraft, create_user
from propylon.ids import Kind, new_id
from propylon.runtime import utcnow
from tests.conftest import Directory, Server


def _scope(directory: Directory) -> DirectoryScope:
    return DirectoryScope(directory.tenant_id, directory.directory_id, None, None)


def _audit(directory: Directory, marker: str) -> Row:
    return Row(
        AUDIT_TABLE,
        {
            "id": new_id(Kind.AUDIT),
            "tenant_id": directory.tenant_id,
            "directory_id": directory.directory_id,
            "actor_type": "test",
            "actor_id": None,
            "action": "test.create",
            "target_type": "user",
            "target_id": marker,
            "outcome": "success",
            "status": 201,
            "reason": None,
            "diff": {},
            "request_id": None,
            "created_at": utcnow(),
        },
    )


async def _visible_elsewhere(server: Server, user_id: str) -> bool:
    async with server.rt.db.read() as other:
        return await other.scalar(select(User.id).where(User.id == user_id)) is not None


async def _state(server: Server, directory: Directory, marker: str) -> tuple[int, int, int]:
    async with server.rt.db.read() as s:
        seq = await s.scalar(select(Tenant.event_seq).where(Tenant.id == directory.tenant_id))
        events = await s.scalar(
            select(func.count()).select_from(Event).where(Event.tenant_id == directory.tenant_id)
        )
        audits = await s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.target_id == marker)
        )
    return int(seq or 0), int(events or 0), int(audits or 0)


async def _create(server: Server, directory: Directory, user_name: str, marker: str) -> str:
    async with server.rt.db.write() as s:
        outbox = Outbox(directory.tenant_id)
        user = await create_user(s, _scope(directory), UserDraft(user_name), outbox, utcnow())
        outbox.insert(_audit(directory, marker))
        written = await outbox.flush(s, utcnow())
        assert [e.type for e in written] == ["user.created"]
        committed_before_commit = await _visible_elsewhere(server, user.id)
        # PostgreSQL: one statement and nothing sent before it, so it ran in autocommit.
        # SQLite keeps its BEGIN IMMEDIATE transaction until the unit ends.
        assert committed_before_commit is (server.name == "postgres")
    assert await _visible_elsewhere(server, user.id)
    return user.id


async def test_user_audit_entry_and_event_are_written_together(
    server: Server, directory: Directory
) -> None:
    before = await _state(server, directory, "m1")
    await _create(server, directory, f"ana-{secrets.token_hex(3)}@example.com", "m1")
    seq, events, audits = await _state(server, directory, "m1")
    assert (seq, events, audits) == (before[0] + 1, before[1] + 1, 1)


async def test_taken_username_leaves_nothing_written(server: Server, directory: Directory) -> None:
    name = f"bo-{secrets.token_hex(3)}@example.com"
    await _create(server, directory, name, "first")
    before = await _state(server, directory, "second")
    with pytest.raises(AlreadyExists, match="userName"):
        await _create(server, directory, name.upper(), "second")
    assert await _state(server, directory, "second") == before


async def test_a_unit_that_already_read_keeps_its_transaction(
    server: Server, directory: Directory
) -> None:
    async with server.rt.db.write() as s:
        await s.scalar(select(Tenant.seats).where(Tenant.id == directory.tenant_id))
        outbox = Outbox(directory.tenant_id)
        draft = UserDraft(f"cy-{secrets.token_hex(3)}@example.com")
        user = await create_user(s, _scope(directory), draft, outbox, utcnow())
        await outbox.flush(s, utcnow())
        assert not await _visible_elsewhere(server, user.id)
    assert await _visible_elsewhere(server, user.id)
