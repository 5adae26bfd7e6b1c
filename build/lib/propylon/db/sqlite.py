"""The embedded SQLite database: connection settings and how its statements run.

Settings of every connection (``PRAGMA``, https://sqlite.org/pragma.html):

- ``journal_mode=WAL``: readers never block the writer nor the writer the readers
  (https://sqlite.org/wal.html).
- ``synchronous``: ``NORMAL`` by default (``PROPYLON_SQLITE_SYNCHRONOUS``). In WAL mode a
  commit then writes the WAL without waiting for the disk; the WAL is synced before each
  checkpoint. The database is never corrupted; a power loss or OS crash (not a crash of
  Propylon itself) may roll back the last transactions committed since then. ``FULL``
  syncs the WAL on every commit (durable up to the last commit, one ``fsync`` per write).
- ``busy_timeout``: how long a connection waits for another *process*'s write lock
  (``propylon serve --workers N`` on one file); writers of one process queue on
  :class:`WriterLock` first and so never wait for each other here.
- a 16 MiB page cache and 64 MiB of memory-mapped reads per connection, so hot pages are
  read without a ``pread`` each.

How statements run: aiosqlite runs each call (open a cursor, execute, fetch, close) on the
connection's own thread and hands the result back to the event loop, several thread
switches per statement, which on a busy 2-core machine cost more CPU than the statements
themselves. :class:`InlineConnection` runs them on the event loop's thread instead: a
statement takes microseconds and does not wait for a lock there, since readers do not wait
in WAL mode and the writers of the process take :class:`WriterLock` first. What would wait
goes to the connection's thread, so it never stalls the event loop: a ``BEGIN IMMEDIATE``
while another process writes, and with ``synchronous`` ``FULL`` each ``COMMIT``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy.exc import OperationalError

BUSY_TIMEOUT_MS = 30_000
SYNCHRONOUS_LEVELS = ("NORMAL", "FULL", "EXTRA")
CACHE_KIB = 16_384
MMAP_BYTES = 64 * 1024 * 1024


def configure(dbapi_conn: Any, synchronous: str) -> None:
    """The settings above, on one new connection (a pysqlite connection or SQLAlchemy's
    adapter around an aiosqlite one)."""
    if synchronous not in SYNCHRONOUS_LEVELS:
        raise ValueError(f"synchronous must be one of {', '.join(SYNCHRONOUS_LEVELS)}")
    # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit transactions are off).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA synchronous={synchronous}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    cur.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
    # LIKE must be case-sensitive so caseExact attributes compare exactly; case-insensitive
    # comparisons lower() both sides explicitly, the same SQL on PostgreSQL.
    cur.execute("PRAGMA case_sensitive_like=ON")
    cur.close()


def _is_begin_immediate(fn: Callable[..., Any], args: tuple[Any, ...]) -> bool:
    return (
        getattr(fn, "__name__", "") == "execute"
        and bool(args)
        and isinstance(args[0], str)
        and args[0].lstrip()[:15].upper() == "BEGIN IMMEDIATE"
    )


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    # primary result code in the low byte (https://sqlite.org/rescode.html)
    return (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF == sqlite3.SQLITE_BUSY


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run on the event loop's thread, except a wait:
    one call at a time either way (SQLAlchemy awaits each before the next).

    ``BEGIN IMMEDIATE`` is tried at once without waiting (``busy_timeout`` 0 for that one
    statement); only if another process holds the write lock does it go to the connection's
    own thread, to wait there up to ``busy_timeout``. ``COMMIT`` goes there too when
    ``offload_commit`` (``synchronous`` ``FULL``/``EXTRA``: every commit syncs the disk);
    with ``NORMAL`` a commit only writes the WAL, and the checkpoint that syncs it runs once
    per ~1000 pages written."""

    offload_commit = False

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        if _is_begin_immediate(fn, args):
            conn = self._connection
            conn.execute("PRAGMA busy_timeout=0")
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
            finally:
                conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            return await self._on_thread(fn, *args, **kwargs)
        if self.offload_commit and getattr(fn, "__name__", "") == "commit":
            return await self._on_thread(fn, *args, **kwargs)
        return fn(*args, **kwargs)

    async def _on_thread(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]


def inline_creator(path: str, synchronous: str) -> Callable[[], Any]:
    """``async_creator`` for SQLAlchemy's aiosqlite dialect: an :class:`InlineConnection`
    to ``path`` (used from two threads in turn, never at once: ``check_same_thread`` off)."""

    async def create() -> InlineConnection:
        connector = partial(
            sqlite3.connect,
            path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            check_same_thread=False,
            isolation_level=None,
            uri=path.startswith("file:"),
        )
        conn = InlineConnection(connector, iter_chunk_size=64)
        conn.offload_commit = synchronous != "NORMAL"
        conn._thread.daemon = True
        await conn
        return conn

    return create


class WriterLock:
    """One write transaction at a time in this process, waiting in the event loop.

    SQLite has one writer. Without this, concurrent write transactions of one process each
    hold a pooled connection and poll for the file lock (SQLite's busy handler sleeps 1 ms up
    to 100 ms between tries), so under load writers wake late, in no order, and the slowest
    wait seconds. Here they queue first come, first served, and the next starts the moment
    the previous one commits. Other processes on the same file are still guarded by
    ``busy_timeout``. A writer that waits longer than ``busy_timeout`` gets the error SQLite
    would have given it (``database is locked``), never a hang. Bound to the running loop (a
    new loop gets a new lock)."""

    def __init__(self) -> None:
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop = asyncio.Lock(), loop
        lock = self._lock
        try:
            async with asyncio.timeout(BUSY_TIMEOUT_MS / 1000):
                await lock.acquire()
        except TimeoutError:
            locked = sqlite3.OperationalError("database is locked")
            raise OperationalError("BEGIN IMMEDIATE", None, locked) from None
        try:
            yield
        finally:
            lock.release()
