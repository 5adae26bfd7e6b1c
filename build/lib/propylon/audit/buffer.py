"""Batched audit writes for reads.

A read changes nothing, so its audit entry need not share a transaction with it: reads hand
their entries here and a background task writes them in one multi-row insert every
``interval`` seconds (and on shutdown). Writes keep recording in their own transaction.
At most one interval of read entries can be lost if the process dies. While the database
cannot take them, the flusher keeps the entries (up to :data:`MAX_PENDING`) and tries again
with capped exponential backoff (``propylon/background.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy import insert

from propylon.background import Backoff, watch
from propylon.db.engine import Database
from propylon.db.tables import AuditEntry, core

log = structlog.get_logger("propylon.audit")
MAX_PENDING = 50_000
_INSERT = insert(core(AuditEntry))


class AuditBuffer:
    def __init__(
        self, db: Database, interval: float = 0.2, *, retry_max_seconds: float = 5.0
    ) -> None:
        self._db = db
        self._interval = interval
        self._backoff = Backoff(max(retry_max_seconds, interval), base=interval)
        self._pending: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self._sources: list[Callable[[], None]] = []

    def add_source(self, source: Callable[[], None]) -> None:
        """Call ``source`` before each flush: it may :meth:`add` entries it has gathered
        (the summaries of failed authentication, ``audit/auth_failures.py``)."""
        self._sources.append(source)

    def add(self, entry: dict[str, Any]) -> None:
        """Queue one entry's column values (:func:`propylon.audit.log.values`)."""
        if len(self._pending) >= MAX_PENDING:
            log.warning("audit_buffer_full", dropped=1)
            return
        self._pending.append(entry)

    async def flush(self) -> bool:
        """Write the pending entries (first collecting what the sources hold); ``False`` if
        that failed (they stay pending)."""
        for source in self._sources:
            source()
        batch, self._pending = self._pending, []
        if not batch:
            return True
        try:
            async with self._db.write() as s:
                # one executemany; ORM instances would cost milliseconds on the event loop
                await (await s.connection()).execute(_INSERT, batch)
        except Exception as exc:  # keep serving; the entries are tried again
            log.error("audit_flush_failed", error=type(exc).__name__, entries=len(batch))
            self._pending = (batch + self._pending)[:MAX_PENDING]
            return False
        return True

    async def _loop(self) -> None:
        delay = self._interval
        while True:
            await asyncio.sleep(delay)
            if await self.flush():
                self._backoff.reset()
                delay = self._interval
            else:
                delay = self._backoff.next_delay()

    def start(self) -> None:
        if self._task is None:
            task = asyncio.get_running_loop().create_task(self._loop(), name="audit-flusher")
            self._task = watch(task)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
