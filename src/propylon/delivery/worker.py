"""The delivery worker: every process runs one (``PROPYLON_DELIVERY_WORKER_ENABLED``).

It claims due heads (``queue.claim_due``), renders each at the moment of the attempt
(signatures fresh), POSTs through the outbound guard without following redirects (a POST's
redirect is an answer, ``outbound/client.py``), and records the attempt: a 2xx answer is
delivered; anything else (a status, a refused or failed connection, a timeout) is retried on
the :class:`RetrySchedule` and dead-lettered when its period is over. A key's next item is
attempted only after the one before it is finished. Woken by the feed channel (after a batch
was numbered, so new items may exist), after each of its own attempts, and by polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import structlog

from propylon.background import Backoff
from propylon.db.engine import Database
from propylon.delivery import queue
from propylon.delivery.backoff import RetrySchedule
from propylon.delivery.model import Renderer
from propylon.outbound import OutboundError, OutboundPolicy, request
from propylon.settings import Settings

log = structlog.get_logger("propylon.delivery")

PURGE_INTERVAL_SECONDS = 60.0
MAX_ERROR_CHARS = 500


class DeliveryWorker:
    def __init__(
        self,
        db: Database,
        policy: OutboundPolicy,
        renderers: Mapping[str, Renderer],
        settings: Settings,
        clock: Callable[[], datetime],
    ) -> None:
        self.db = db
        self.policy = policy
        self.renderers = renderers
        self.schedule = RetrySchedule.from_settings(settings)
        self.poll_seconds = settings.delivery_poll_seconds
        self.concurrency = settings.delivery_concurrency
        self.lease_seconds = settings.delivery_lease_seconds
        self.retention_seconds = settings.delivery_retention_seconds
        self.retry_cap = settings.background_retry_max_seconds
        self.clock = clock
        self._wake = asyncio.Event()
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._last_purge = 0.0

    def wake(self) -> None:
        self._wake.set()

    async def on_message(self, _message: str) -> None:
        self.wake()

    async def run(self) -> None:
        """Until cancelled; a failing database is retried with backoff, never ends it."""
        backoff = Backoff(self.retry_cap)
        try:
            while True:
                try:
                    claimed = await self.round()
                    backoff.reset()
                except Exception as exc:  # the database unreachable: try again later
                    log.warning("delivery_claim_failed", error=type(exc).__name__)
                    await asyncio.sleep(backoff.next_delay())
                    continue
                if claimed and len(self._inflight) < self.concurrency:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                self._wake.clear()
        finally:
            for task in list(self._inflight.values()):
                task.cancel()
            for task in list(self._inflight.values()):
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def round(self) -> int:
        """Claim what is due and start delivering it; the number claimed."""
        await self._maybe_purge()
        room = self.concurrency - len(self._inflight)
        if room <= 0:
            return 0
        async with self.db.write() as s:
            claimed = await queue.claim_due(
                s, self.clock(), room, self.lease_seconds, set(self._inflight)
            )
        for c in claimed:
            key = queue.order_key(c.item.kind, c.item.destination, c.item.tenant_id)
            task = asyncio.create_task(self._deliver(c), name=f"delivery-{c.item.id}")
            self._inflight[key] = task
            task.add_done_callback(functools.partial(self._done, key))
        return len(claimed)

    def _done(self, key: str, _task: asyncio.Task[None]) -> None:
        self._inflight.pop(key, None)
        self.wake()

    async def _maybe_purge(self) -> None:
        if self.retention_seconds <= 0:
            return
        if time.monotonic() - self._last_purge < PURGE_INTERVAL_SECONDS:
            return
        self._last_purge = time.monotonic()
        before = self.clock() - timedelta(seconds=self.retention_seconds)
        async with self.db.write() as s:
            await queue.purge(s, before)

    async def _deliver(self, c: queue.Claimed | None) -> None:
        """Deliver ``c``, then the next items of its key while they are due."""
        while c is not None:
            c = await self._attempt(c)

    async def _attempt(self, c: queue.Claimed) -> queue.Claimed | None:
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        outcome = queue.RETRY
        try:
            renderer = self.renderers.get(c.item.kind)
            if renderer is None:
                error = f"no renderer for kind {c.item.kind!r} in this process"
            else:
                async with self.db.read() as s:
                    rendered = await renderer.render(s, c.item, self.clock())
                if rendered is None:
                    outcome, error = queue.DROPPED, "the destination is gone"
                else:
                    response = await request(
                        self.policy,
                        "POST",
                        rendered.url,
                        headers=rendered.headers,
                        content=rendered.body,
                        follow_redirects=False,
                    )
                    status = response.status
                    if 200 <= status < 300:
                        outcome = queue.DELIVERED
                    else:
                        error = f"HTTP {status}"
        except OutboundError as exc:
            error = f"{exc.reason}: {exc.detail}"
        except asyncio.CancelledError:
            raise  # shutting down: the lease runs out, another attempt is made
        except Exception as exc:
            error = f"internal: {type(exc).__name__}"
        return await self._finish(c, outcome, status, error, started)

    async def _finish(
        self, c: queue.Claimed, outcome: str, status: int | None, error: str | None, started: float
    ) -> queue.Claimed | None:
        """Record the attempt; the key's next item, claimed, when this one is finished."""
        now = self.clock()
        next_at = None
        if outcome == queue.RETRY:
            next_at = self.schedule.next_attempt(c.item.attempts + 1, c.retry_since, now)
            if next_at is None:
                outcome = queue.DEAD
        duration_ms = int((time.monotonic() - started) * 1000)
        following = None
        try:
            async with self.db.write() as s:
                kept = await queue.record_attempt(
                    s,
                    c,
                    now,
                    outcome=outcome,
                    status=status,
                    error=error[:MAX_ERROR_CHARS] if error else None,
                    duration_ms=duration_ms,
                    next_attempt_at=next_at,
                )
                if kept and outcome != queue.RETRY:
                    key = queue.order_key(c.item.kind, c.item.destination, c.item.tenant_id)
                    following = await queue.claim_next(s, key, now, self.lease_seconds)
        except Exception as exc:  # not recorded: the lease runs out, it is attempted again
            log.warning("delivery_record_failed", id=c.item.id, error=type(exc).__name__)
            return None
        log.info(
            "delivery_attempt",
            id=c.item.id,
            kind=c.item.kind,
            destination=c.item.destination,
            event_id=c.item.event_id,
            attempt=c.item.attempts + 1,
            outcome=outcome,
            status=status,
            error=error,
            lease_kept=kept,
        )
        return following
