"""The store of test connections (table ``connection_tests``): a row written ``pending``
when a test starts, completed once with its result, read by the portal and the console
within one tenant (another tenant's test is :class:`~propylon.errors.NotFound`, never a
hint that it exists).

Readers take the runtime (anything with a ``db``), the :class:`~propylon.db.engine.Database`
or an open session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.engine import Database
from propylon.db.tables_setup import ConnectionTestRow
from propylon.errors import NotFound
from propylon.ids import plausible
from propylon.setup.model import ConnectionTest, Stage, TestStatus

MAX_LIST = 100


class HasDatabase(Protocol):
    @property
    def db(self) -> Database: ...


Source = AsyncSession | Database | HasDatabase


@asynccontextmanager
async def _reading(source: Source) -> AsyncIterator[AsyncSession]:
    if isinstance(source, AsyncSession):
        yield source
        return
    db = source if isinstance(source, Database) else source.db
    async with db.read() as session:
        yield session


def _stage(doc: dict[str, Any]) -> Stage:
    return Stage(
        name=str(doc["name"]),
        label=str(doc["label"]),
        state=doc["state"],
        detail=str(doc.get("detail", "")),
        remedy=doc.get("remedy"),
        facts=dict(doc.get("facts") or {}),
    )


def stage_doc(stage: Stage) -> dict[str, Any]:
    return asdict(stage)


def as_test(row: ConnectionTestRow) -> ConnectionTest:
    result = row.result or {}
    return ConnectionTest(
        id=row.id,
        connection_id=row.connection_id,
        tenant_id=row.tenant_id,
        protocol="oidc" if row.protocol == "oidc" else "saml",
        status=cast(TestStatus, row.status),
        started_at=row.started_at,
        finished_at=row.finished_at,
        stages=tuple(_stage(d) for d in result.get("stages", [])),
        failed_stage=row.failed_stage,
        reason=row.reason,
        remedy=result.get("remedy"),
        attributes=dict(result.get("attributes") or {}),
        mapped=dict(result.get("mapped") or {}),
        user=dict(result.get("user") or {}),
        started_by=row.started_by,
        expires_at=row.expires_at,
    )


async def get_row(session: AsyncSession, test_id: str) -> ConnectionTestRow | None:
    """The row by id alone (the sign-in side: the id comes from the sealed pending login)."""
    if not plausible(test_id):
        return None
    return await session.get(ConnectionTestRow, test_id)


async def get_test(source: Source, test_id: str, tenant_id: str) -> ConnectionTest:
    """The test ``test_id`` of tenant ``tenant_id``; :class:`NotFound` for any other."""
    async with _reading(source) as s:
        row = await get_row(s, test_id)
        if row is None or row.tenant_id != tenant_id:
            raise NotFound(f"no connection test {test_id[:64]!r}")
        return as_test(row)


def _of(connection_id: str, tenant_id: str) -> Any:
    return (
        select(ConnectionTestRow)
        .where(
            ConnectionTestRow.tenant_id == tenant_id,
            ConnectionTestRow.connection_id == connection_id,
        )
        .order_by(ConnectionTestRow.started_at.desc(), ConnectionTestRow.id.desc())
    )


async def list_tests(
    source: Source, connection_id: str, tenant_id: str, limit: int = 20
) -> list[ConnectionTest]:
    """The connection's latest tests (newest first), only within ``tenant_id``."""
    if not plausible(connection_id):
        return []
    async with _reading(source) as s:
        rows = await s.scalars(_of(connection_id, tenant_id).limit(max(1, min(limit, MAX_LIST))))
        return [as_test(r) for r in rows.all()]


async def latest_test(
    source: Source, connection_id: str, tenant_id: str, *, finished: bool = False
) -> ConnectionTest | None:
    """The connection's newest test (``finished``: the newest with a result), or None."""
    if not plausible(connection_id):
        return None
    query = _of(connection_id, tenant_id)
    if finished:
        query = query.where(ConnectionTestRow.status != "pending")
    async with _reading(source) as s:
        row = (await s.scalars(query.limit(1))).first()
        return as_test(row) if row is not None else None


async def lock_pending(session: AsyncSession, test_id: str) -> ConnectionTestRow | None:
    """The test's row, locked for the caller's transaction, if it is still pending (its
    answer not yet recorded); None otherwise."""
    if not plausible(test_id):
        return None
    row = await session.get(ConnectionTestRow, test_id, with_for_update=True)
    return row if row is not None and row.status == "pending" else None


def new_row(
    *,
    test_id: str,
    tenant_id: str,
    connection_id: str,
    protocol: str,
    vendor: str,
    result_path: str,
    started_by: str,
    now: datetime,
    expires_at: datetime,
    stages: list[Stage],
) -> ConnectionTestRow:
    return ConnectionTestRow(
        id=test_id,
        tenant_id=tenant_id,
        connection_id=connection_id,
        protocol=protocol,
        vendor=vendor,
        status="pending",
        result_path=result_path,
        started_by=started_by[:128],
        started_at=now,
        expires_at=expires_at,
        finished_at=None,
        failed_stage=None,
        reason=None,
        result={"stages": [stage_doc(s) for s in stages]},
    )


def complete(
    row: ConnectionTestRow,
    *,
    stages: list[Stage],
    failed_stage: str | None,
    reason: str | None,
    remedy: str | None,
    attributes: dict[str, list[str]],
    mapped: dict[str, Any],
    user: dict[str, Any],
    now: datetime,
) -> None:
    """Record the result on the pending row (in the caller's transaction)."""
    row.status = "failed" if failed_stage else "passed"
    row.finished_at = now
    row.failed_stage = failed_stage
    row.reason = reason[:64] if reason else None
    row.result = {
        "stages": [stage_doc(s) for s in stages],
        "remedy": remedy,
        "attributes": attributes,
        "mapped": mapped,
        "user": user,
    }
