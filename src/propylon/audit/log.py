"""Writing and reading audit entries.

A success is recorded inside the transaction of the change itself, so it exists exactly when
the change does. A failure is recorded after the rollback, in a transaction of its own.
Entries never hold secrets: only ids, operation names and attribute diffs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.cache.fanout import UNAVAILABLE
from propylon.db.engine import Database
from propylon.db.tables import AuditEntry, core
from propylon.ids import Kind, new_id

_SECRET_KEYS = frozenset({"password", "token", "secret", "client_secret"})


@dataclass(frozen=True)
class Actor:
    """Who acted: a SCIM token, an API key, the CLI, or a person signing in."""

    type: str
    id: str | None = None
    tenant_id: str | None = None
    directory_id: str | None = None


@dataclass
class AuditRecord:
    action: str
    target_type: str | None = None
    target_id: str | None = None
    tenant_id: str | None = None
    status: int | None = None
    reason: str | None = None
    diff: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None


def _flatten(doc: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(doc, dict):
        out: dict[str, Any] = {}
        for key, value in doc.items():
            if key.lower() in _SECRET_KEYS:
                continue
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else key))
        return out
    return {prefix: doc}


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    """Changed leaf attributes as ``{"path": {"before": x, "after": y}}``; secrets never appear."""
    old, new = _flatten(before or {}), _flatten(after or {})
    return {
        key: {"before": old.get(key), "after": new.get(key)}
        for key in sorted(old.keys() | new.keys())
        if old.get(key) != new.get(key)
    }


def values(actor: Actor, rec: AuditRecord, outcome: str, now: datetime) -> dict[str, Any]:
    """The column values of one audit entry."""
    return {
        "id": new_id(Kind.AUDIT),
        "tenant_id": rec.tenant_id or actor.tenant_id,
        "directory_id": actor.directory_id,
        "actor_type": actor.type,
        "actor_id": actor.id,
        "action": rec.action,
        "target_type": rec.target_type,
        "target_id": rec.target_id,
        "outcome": outcome,
        "status": rec.status,
        "reason": rec.reason,
        "diff": rec.diff,
        "request_id": rec.request_id,
        "created_at": now,
    }


def internal_error(exc: BaseException) -> str:
    """The reason recorded for a failure nobody anticipated: its type only, since its message
    may carry user data or a statement's bound parameters."""
    return f"internal error ({type(exc).__name__})"


def unexpected_status(exc: BaseException) -> int:
    """The status the caller gets for it (``api/errors.py``): 503 when the accelerator is
    down, else 500; the audit entry records the same."""
    return 503 if isinstance(exc, UNAVAILABLE) else 500


def entry(actor: Actor, rec: AuditRecord, outcome: str, now: datetime) -> AuditEntry:
    return AuditEntry(**values(actor, rec, outcome, now))


TABLE = core(AuditEntry)
_INSERT = insert(TABLE)


async def insert_success(
    session: AsyncSession, actor: Actor, rec: AuditRecord, now: datetime
) -> None:
    """Like :func:`record`, as one Core statement now (the SCIM hot path)."""
    conn = await session.connection()
    await conn.execute(_INSERT, values(actor, rec, "success", now))


def record(session: AsyncSession, actor: Actor, rec: AuditRecord, now: datetime) -> None:
    """Add a success entry to the caller's transaction."""
    session.add(entry(actor, rec, "success", now))


async def record_failure(db: Database, actor: Actor, rec: AuditRecord, now: datetime) -> None:
    """Record a refused or failed operation in its own transaction."""
    async with db.write() as session:
        session.add(entry(actor, rec, "failure", now))


async def list_entries(
    session: AsyncSession,
    *,
    tenant_id: str | None,
    limit: int = 100,
    before: datetime | None = None,
    action: str | None = None,
    actor_id: str | None = None,
    since: datetime | None = None,
) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    if actor_id is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    if since is not None:
        query = query.where(AuditEntry.created_at >= since)
    if tenant_id is not None:
        query = query.where(AuditEntry.tenant_id == tenant_id)
    if before is not None:
        query = query.where(AuditEntry.created_at < before)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    return list((await session.scalars(query.limit(limit))).all())


DIRECTORY_ADMIN_ACTIONS = ("scim.directory.", "scim.token.")
"""``scim.*`` actions that are an admin's changes to a directory, not requests it answered."""
AUTH_FAILURE = "auth.failure"


async def directory_requests(
    s: AsyncSession, tenant_id: str, directory_id: str, limit: int = 20
) -> list[AuditEntry]:
    """A SCIM directory's latest requests, newest first: those it answered (its tenant's
    ``scim.*`` entries, but not :data:`DIRECTORY_ADMIN_ACTIONS`) and its failed
    authentications (``auth.failure``: the first failure of a client address in a minute
    names the directory the request was for; the minute's ``auth.failure.summary`` names
    none, so repeats within the minute are not listed)."""
    answered = and_(
        AuditEntry.tenant_id == tenant_id,
        AuditEntry.action.startswith("scim."),
        *(~AuditEntry.action.startswith(prefix) for prefix in DIRECTORY_ADMIN_ACTIONS),
    )
    query = (
        select(AuditEntry)
        .where(
            AuditEntry.directory_id == directory_id,
            or_(answered, AuditEntry.action == AUTH_FAILURE),
        )
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return list(await s.scalars(query))
