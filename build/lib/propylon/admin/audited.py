"""The one way to audit a management operation: run it in its own transaction and record
an audit entry in that same transaction; a failure is audited after the rollback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from propylon import errors
from propylon.audit import (
    Actor,
    AuditRecord,
    internal_error,
    record,
    record_failure,
    unexpected_status,
)
from propylon.runtime import Runtime

T = TypeVar("T")
CLI = Actor("cli", "cli")


async def audited(
    rt: Runtime, actor: Actor, action: str, op: Callable[[AsyncSession, AuditRecord], Awaitable[T]]
) -> T:
    now = rt.clock()
    rec = AuditRecord(action=action)
    try:
        async with rt.db.write() as s:
            result = await op(s, rec)
            record(s, actor, rec, now)
            return result
    except Exception as exc:  # every failure is audited, the unanticipated ones too
        if isinstance(exc, errors.PropylonError):
            rec.reason = exc.detail
        else:
            rec.reason, rec.status = internal_error(exc), unexpected_status(exc)
        await record_failure(rt.db, actor, rec, now)
        raise
