"""Batched audit writes for reads.

A read changes nothing, so its audit entry need not share a transaction with it: reads hand
their entries here and a background task writes them in one multi-row insert every
``interval`` seconds (and on shutdown). Writes keep recording in their own transaction.
At most one interval of read entries can be lost if the process dies.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy import insert

from propylon.db.engine import Database
from propylon.db.tables import AuditEntry, core

log = structlog.get_logger("propylon.audit")
MAX_PENDING = 50_000
_INSERT = insert(core(AuditEntry))


class AuditBuffer:
    def __init__(self, db: Database, interval: float = 0.2) -> None:
        self._db = db
        self._interval = interval
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

    async def flush(self) -> None:
        for source in self._sources:
            source()
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            async with self._db.write() as s:
                # one executemany; ORM instances would cost milliseconds on the event loop
                await (await s.connection()).execute(_INSERT, batch)
        except Exception as exc:  # keep serving; the entries are retried once
            log.error("audit_flush_failed", error=type(exc).__name__, entries=len(batch))
            self._pending = batch + self._pending

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
