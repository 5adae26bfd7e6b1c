"""Schema migrations through Alembic, on a connection Propylon opens itself.

On PostgreSQL an advisory lock makes concurrent starts of several processes migrate once.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from propylon.db.engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_KEY = 0x70726F70  # "prop"


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


async def is_current(db: Database) -> bool:
    return await current_revision(db) == head_revision()


async def upgrade(db: Database) -> None:
    async with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})"))
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "head"))
