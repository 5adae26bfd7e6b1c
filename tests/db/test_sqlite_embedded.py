"""The embedded SQLite database (``db/sqlite.py``): the settings it runs with, writers of one
process queueing in the event loop rather than on SQLite's busy handler, a writer of another
process waited for without stalling the loop, and concurrent creates all committed."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from propylon.db.engine import Database
from propylon.runtime import build_runtime
from propylon.settings import Settings

# PRAGMA synchronous answers with the level's number (https://sqlite.org/pragma.html)
LEVELS = {"NORMAL": 1, "FULL": 2}


async def _pragma(db: Database, name: str) -> object:
    async with db.read() as s:
        return (await s.execute(text(f"PRAGMA {name}"))).scalar()


@pytest.mark.parametrize("level", ["NORMAL", "FULL"])
async def test_embedded_database_runs_wal_with_the_configured_synchronous_and_busy_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, level: str
) -> None:
    monkeypatch.setenv("PROPYLON_SQLITE_SYNCHRONOUS", level)
    rt = build_runtime(Settings(data_dir=tmp_path))
    try:
        assert rt.db.is_sqlite
        assert await _pragma(rt.db, "journal_mode") == "wal"
        assert await _pragma(rt.db, "synchronous") == LEVELS[level]
        # the guard against writers of other processes (serve --workers N on one file)
        assert await _pragma(rt.db, "busy_timeout") == 30_000
        assert await _pragma(rt.db, "foreign_keys") == 1
    finally:
        await rt.close()


def test_the_default_synchronous_level_is_normal_and_nothing_weaker_is_accepted() -> None:
    assert Settings().sqlite_synchronous == "NORMAL"
    with pytest.raises(ValueError):
        Settings(sqlite_synchronous="OFF")


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    async with database.write() as s:
        await s.execute(text("CREATE TABLE notes (n INTEGER PRIMARY KEY)"))
    return database


async def test_a_waiting_writer_holds_no_connection_and_reads_go_on(db: Database) -> None:
    """A second writer of the process waits in the event loop for the first to commit; it
    neither holds a pooled connection nor polls SQLite's lock meanwhile, reads are served,
    and the writers commit in the order they came."""
    release = asyncio.Event()
    inside: list[int] = []

    async def writer(n: int, hold: bool) -> None:
        async with db.write() as s:
            inside.append(n)
            await s.execute(text("INSERT INTO notes (n) VALUES (:n)"), {"n": n})
            if hold:
                await release.wait()

    try:
        first = asyncio.create_task(writer(1, hold=True))
        while not inside:
            await asyncio.sleep(0.01)
        second = asyncio.create_task(writer(2, hold=False))
        for _ in range(30):  # give the second writer every chance to take a connection
            await asyncio.sleep(0.01)
            assert db.engine.pool.checkedout() == 1, "a queued writer holds a connection"  # type: ignore[attr-defined]
        assert inside == [1]
        async with db.read() as s:  # readers are not held up by the queue
            assert (await s.execute(text("SELECT count(*) FROM notes"))).scalar() == 0
        release.set()
        await asyncio.gather(first, second)
        assert inside == [1, 2]
        async with db.read() as s:
            rows = (await s.execute(text("SELECT n FROM notes ORDER BY n"))).scalars().all()
        assert rows == [1, 2]
    finally:
        release.set()
        await db.dispose()


async def test_a_writer_of_another_process_is_waited_for_without_stalling_the_loop(
    db: Database, tmp_path: Path
) -> None:
    """Another connection to the file (as another ``--workers`` process) holds the write
    lock: our writer waits for it on busy_timeout off the event loop, which keeps serving,
    and commits once the lock is released."""
    other = sqlite3.connect(tmp_path / "p.db", isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO notes (n) VALUES (10)")

        async def ours() -> None:
            async with db.write() as s:
                await s.execute(text("INSERT INTO notes (n) VALUES (11)"))

        task = asyncio.create_task(ours())
        ticks = 0
        for _ in range(20):  # the loop runs while our writer waits for the other's lock
            await asyncio.sleep(0.01)
            ticks += 1
        async with db.read() as s:
            assert (await s.execute(text("SELECT count(*) FROM notes"))).scalar() == 0
        assert ticks == 20 and not task.done()
        other.execute("COMMIT")
        await task
        async with db.read() as s:
            rows = (await s.execute(text("SELECT n FROM notes ORDER BY n"))).scalars().all()
        assert rows == [10, 11]
    finally:
        other.close()
        await db.dispose()


async def test_fifty_concurrent_scim_creates_all_succeed(scim: httpx.AsyncClient) -> None:
    async def create(i: int) -> int:
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": f"concurrent{i}@example.com",
        }
        return (await scim.post("/Users", json=body)).status_code

    statuses = await asyncio.gather(*(create(i) for i in range(50)))
    assert statuses == [201] * 50
    listed = await scim.get("/Users", params={"filter": 'userName sw "concurrent"'})
    assert listed.json()["totalResults"] == 50
