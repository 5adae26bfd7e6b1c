"""Migrations and models agree, on both backends: upgrading an empty database to head gives
exactly the tables and indexes the models declare, and every migration downgrades cleanly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from propylon.db.engine import Database
from propylon.db.migrate import alembic_config, current_revision, head_revision, upgrade
from propylon.db.tables import Base
from tests.conftest import Backend, drop_backend, make_backend


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    b = make_backend(request.param, tmp_path, migrated=False)
    try:
        yield b
    finally:
        drop_backend(b)


def _diff(sync: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(sync), Base.metadata))


async def test_head_matches_models_and_downgrades_round_trip(backend: Backend) -> None:
    db = Database(backend.settings().resolved_database_url())
    try:
        await upgrade(db)
        assert await current_revision(db) == head_revision()
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "base"))
        assert await current_revision(db) is None
        await upgrade(db)
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await db.dispose()


async def test_postgres_knows_a_directory_belongs_to_one_tenant(backend: Backend) -> None:
    """Extended statistics (migration 0007): without them a directory beside a large tenant
    is estimated at a few hundred rows and its listing pages sort instead of walking the
    listing index."""
    if backend.name != "postgres":
        pytest.skip("planner statistics are PostgreSQL's")
    db = Database(backend.settings().resolved_database_url())
    try:
        await upgrade(db)
        async with db.engine.connect() as conn:
            found = await conn.exec_driver_sql(
                "SELECT stxname, stxkind::text FROM pg_statistic_ext ORDER BY stxname"
            )
            assert [tuple(r) for r in found] == [
                ("st_groups_tenant_directory", "{f}"),
                ("st_users_tenant_directory", "{f}"),
            ]
    finally:
        await db.dispose()
