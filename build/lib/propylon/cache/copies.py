"""Per-process copies of rows that every request reads and an admin rarely changes.

A copy is only kept with an accelerator that fans out to every process (Redis): whoever
changes such a row publishes on the copies' channel after the commit, and every process drops
its copies at once (:meth:`LocalCopies.on_message`). A copy also expires ``ttl`` seconds after
it was read, which bounds its age should a message be lost. With the embedded accelerator
nothing is copied: another process (the CLI) could change a row unseen.

Given the fan-out's :class:`~propylon.cache.fanout.FanoutHealth`, copies are only trusted while
the listener is subscribed: while it is disconnected nothing is served or kept (every read goes
to the database), and a copy kept before the connection was lost is never served again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

from propylon.cache.fanout import FanoutHealth, trusted_epoch

K = TypeVar("K")
V = TypeVar("V")

MAX_ENTRIES = 10_000


class LocalCopies(Generic[K, V]):
    def __init__(
        self,
        ttl_seconds: float,
        enabled: bool,
        *,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
        health: FanoutHealth | None = None,
    ) -> None:
        self.ttl = ttl_seconds
        self.enabled = enabled and ttl_seconds > 0
        self._max = max_entries
        self._clock = clock
        self._health = health
        self._entries: dict[K, tuple[V, float, int]] = {}

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key) if self.enabled else None
        if entry is None:
            return None
        value, until, epoch = entry
        if epoch != trusted_epoch(self._health):
            if self._health is not None and self._health.trusted:
                self._entries.clear()  # every copy of an earlier epoch: messages were missed
            return None
        if until <= self._clock():
            self._entries.pop(key, None)
            return None
        return value

    def put(self, key: K, value: V) -> None:
        epoch = trusted_epoch(self._health) if self.enabled else None
        if epoch is None:
            return
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[key] = (value, self._clock() + self.ttl, epoch)

    def drop(self, key: K) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    async def on_message(self, _message: str) -> None:
        self.clear()
