"""Long-running background tasks of a server process: they retry, and they never end silently.

A background task (the accelerator's fan-out listener, the SAML metadata refresher, the audit
buffer's flusher) that meets a failure must neither hammer the peer it lost nor stop for
good: it waits :class:`Backoff` (capped exponential with jitter, so processes that lost the
same peer at the same moment do not come back in step) and tries again. :func:`watch`
logs a task that ends anyway, so nothing stops unseen; :func:`every` is the loop of the
periodic ones (metadata refresh, domain re-check).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger("propylon.background")

RETRY_BASE_SECONDS = 0.05


class Backoff:
    """Capped exponential backoff with jitter: the ``n``-th consecutive failure waits a random
    time between half and all of ``min(cap, base * 2**n)``; :meth:`reset` after a success."""

    def __init__(self, cap: float, base: float = RETRY_BASE_SECONDS) -> None:
        self.cap = max(cap, base)
        self.base = base
        self.failures = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * 2 ** min(self.failures, 32))
        self.failures += 1
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.failures = 0


def _ended(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("background_task_died", task=task.get_name(), error=type(exc).__name__)
    else:
        log.error("background_task_ended", task=task.get_name())


def watch(task: asyncio.Task[None]) -> asyncio.Task[None]:
    """Log ``task`` if it ever ends other than by cancellation (background tasks loop
    until the process stops, so an end is a defect to see in the logs)."""
    task.add_done_callback(_ended)
    return task


async def every(
    interval_seconds: float,
    one_round: Callable[[], Awaitable[object]],
    *,
    once: Callable[[str, int], Awaitable[bool]],
    key: str,
    retry_cap_seconds: float,
    timeout_seconds: float,
    event: str,
) -> None:
    """Run ``one_round`` every ``interval_seconds`` until cancelled, in one process of those
    sharing the accelerator per interval (``once``: the accelerator's ``remember_once``, on
    ``key`` and the interval's number), each round bounded by ``timeout_seconds``. A round
    that fails (the accelerator or the database unreachable) is logged as ``event`` and tried
    again after :class:`Backoff` rather than a whole interval later."""
    interval = max(interval_seconds, 0.05)
    backoff = Backoff(min(retry_cap_seconds, interval))
    delay = interval
    while True:
        await asyncio.sleep(delay)
        try:
            slot = int(time.time() // interval)
            if await once(f"{key}:{slot}", int(interval) + 1):
                await asyncio.wait_for(one_round(), timeout=timeout_seconds)
            backoff.reset()
            delay = interval
        except asyncio.CancelledError:
            raise
        except Exception:  # a background task must not die
            log.exception(event)
            delay = backoff.next_delay()
