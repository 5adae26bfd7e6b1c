"""Units of work (``db/engine.py``), on both backends: what a failing unit leaves behind and
when another connection sees a unit's write."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from propylon.db.engine import Database
from tests.conftest import Backend, drop_backend, make_backend


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    backend: Backend = make_backend(request.param, tmp_path)
    database = Database(backend.settings().resolved_database_url())
    try:
        async with database.write() as s:
            await s.execute(text("CREATE TABLE notes (n INTEGER PRIMARY KEY)"))
        yield database
    finally:
        await database.dispose()
        drop_backend(backend)


async def _seen(db: Database) -> list[int]:
    async with db.engine.connect() as other:  # another connection, as another request
        return [row[0] for row in await other.execute(text("SELECT n FROM notes ORDER BY n"))]


async def test_a_failing_write_unit_leaves_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.write() as s:
            await s.execute(text("INSERT INTO notes (n) VALUES (1)"))
            raise RuntimeError("the request failed half-way")
    assert await _seen(db) == []


async def test_a_single_write_needs_no_transaction_on_postgres_only(db: Database) -> None:
    """PostgreSQL: the one write of a ``single_write`` unit is committed by itself, so
    another connection sees it before the unit ends (no BEGIN/COMMIT round trips). SQLite:
    a write transaction, seen once the unit ends."""
    async with db.single_write() as s:
        await s.execute(text("SELECT count(*) FROM notes"))  # the reads come first
        await s.execute(text("INSERT INTO notes (n) VALUES (7)"))
        seen_inside = await _seen(db)
    assert seen_inside == ([] if db.is_sqlite else [7])
    assert await _seen(db) == [7]
