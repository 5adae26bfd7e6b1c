"""Engine, sessions and transactions.

``Database.write()`` opens a transaction that commits on success and rolls back on any error,
so a failing request never leaves anything half-written. On SQLite the writers of one process
queue on an in-process lock (:class:`propylon.db.sqlite.WriterLock`), then the transaction
starts with ``BEGIN IMMEDIATE`` so a writer of another process is waited for (busy timeout)
instead of failing on a lock upgrade; reads use plain deferred transactions. The embedded
database's settings and how its statements run: ``db/sqlite.py``.

A unit of work whose whole write is one statement needs no transaction around it: see
:func:`tail_connection`.

The engine hides bound parameters (user data, filter values) from its errors and logs
(``hide_parameters``), and PostgreSQL's ``DETAIL`` (which repeats a duplicate key's or a
failing row's values) is dropped from the driver's exception (:func:`_drop_detail`).
An embedded database file, its ``-wal`` and ``-shm`` are owner-only (0600), created so and
tightened on every start if found looser; a missing directory for it is created owner-only
(0700).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction

from propylon.db import sqlite
from propylon.owner_only import DIR_MODE, FILE_MODE, tighten

SQLITE_BUSY_TIMEOUT_MS = sqlite.BUSY_TIMEOUT_MS
IMMEDIATE = "propylon_sqlite_immediate"
_CONNECTED = "propylon_connected"


class _Session(Session):
    """Sessions of :class:`Database`: they note when they first use a connection."""


@event.listens_for(_Session, "after_begin")
def _on_session_begin(session: Session, _tx: SessionTransaction, _conn: Any) -> None:
    session.info[_CONNECTED] = True


async def tail_connection(session: AsyncSession) -> AsyncConnection:
    """The connection for a unit of work's last statement.

    On PostgreSQL, a unit that has sent nothing so far and holds no unflushed ORM change runs
    that statement alone in autocommit: a single statement is atomic by itself (PostgreSQL
    manual §13.2.1), so the ``BEGIN`` and ``COMMIT`` round trips buy nothing. Anything else
    (SQLite included) keeps its transaction.
    """
    if (
        not session.info.get(_CONNECTED)
        and session.bind is not None
        and session.bind.dialect.name == "postgresql"
        and not (session.new or session.dirty or session.deleted)
    ):
        return await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return await session.connection()


class Database:
    def __init__(
        self, url: str, *, pool_size: int = 20, sqlite_synchronous: str = "NORMAL"
    ) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        self._writer = sqlite.WriterLock()
        kwargs: dict[str, Any] = {"hide_parameters": True}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                secure_sqlite_files(Path(parsed.database))
                if parsed.get_driver_name() == "aiosqlite" and not parsed.query:
                    kwargs["async_creator"] = sqlite.inline_creator(
                        parsed.database, sqlite_synchronous
                    )
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size // 2
            kwargs["pool_pre_ping"] = False
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine, sqlite_synchronous)
        event.listen(self.engine.sync_engine, "handle_error", _drop_detail)
        self._sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=_Session
        )
        # Reads on PostgreSQL: each statement in autocommit, and a connection only once the
        # unit sends one (a unit answered from per-process copies never takes one).
        self._reads = async_sessionmaker(
            self.engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One atomic unit of work: commit on success, roll back on any exception."""
        if not self.is_sqlite:
            async with self._sessions() as session, session.begin():
                yield session
            return
        # the lock is released only after the commit (or rollback) and the session's close
        async with self._writer.hold(), self._sessions() as session, session.begin():
            await session.connection(execution_options={IMMEDIATE: True})
            yield session

    def single_write(self) -> AbstractAsyncContextManager[AsyncSession]:
        """Reads, then at most one write statement. On PostgreSQL that is :meth:`read`: each
        statement in autocommit, the one write atomic by itself (PostgreSQL manual §13.2.1),
        and reads under READ COMMITTED see no more inside a transaction than outside it, so
        ``BEGIN`` and ``COMMIT`` would buy nothing. On SQLite it is :meth:`write`, since a
        read transaction cannot safely turn into a write one."""
        return self.write() if self.is_sqlite else self.read()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """Reads only. On PostgreSQL each statement runs in autocommit (no BEGIN/COMMIT round
        trips); a caller needing one snapshot across statements uses :meth:`write`."""
        if self.is_sqlite:
            async with self._sessions() as session, session.begin():
                yield session
        else:
            async with self._reads() as session:
                yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


def _drop_detail(context: ExceptionContext) -> None:
    """Forget the ``DETAIL`` of a database error (PostgreSQL manual §55.8: for a unique or
    not-null violation it spells out the key or the whole row, i.e. user data) in every
    exception of the chain, so no traceback or log line carries it; the message, the
    constraint and the SQLSTATE stay."""
    exc: BaseException | None = context.original_exception
    for _ in range(8):  # the driver's own exception is one or two causes down
        if exc is None:
            return
        if getattr(exc, "detail", None):
            exc.detail = None  # type: ignore[attr-defined]
        exc = exc.__cause__


def secure_sqlite_files(path: Path) -> None:
    """Make the database file owner-only before SQLite opens it (SQLite creates its ``-wal``
    and ``-shm`` with the database file's permissions), and tighten the three if they exist
    with looser ones."""
    path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE))
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        tighten(name, FILE_MODE)


def _configure_sqlite(engine: AsyncEngine, synchronous: str) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        sqlite.configure(dbapi_conn, synchronous)

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
