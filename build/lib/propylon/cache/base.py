"""The accelerator contract every backend implements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after: int
    """Seconds until the current window ends (0 when allowed)."""


@dataclass(frozen=True)
class WindowCount:
    """A counter in fixed windows, as :meth:`Accelerator.count` left it."""

    current: int
    """Hits in the current window, this one included (every process's, with Redis)."""
    previous: int
    """Hits in the window before it: with ``current``, a burst that straddles the boundary
    still counts whole."""

    @property
    def recent(self) -> int:
        return self.current + self.previous


@dataclass(frozen=True)
class Delay:
    """Failures recorded on a key and how long it is refused for (see
    :meth:`Accelerator.add_failure`)."""

    failures: int
    retry_after: int
    """Seconds until the key may be tried again (0: now)."""


@dataclass(frozen=True)
class BackoffPolicy:
    """``free`` failures cost nothing; the next waits ``base`` seconds, each further one
    twice the one before, never more than ``cap``; failures are forgotten ``memory``
    seconds after the last one."""

    free: int
    base: int
    cap: int
    memory: int

    def delay(self, failures: int) -> int:
        over = failures - self.free
        if over <= 0:
            return 0
        return min(self.cap, self.base * (1 << min(over - 1, 40)))


class Accelerator(Protocol):
    fanout: bool
    """True when :meth:`publish` reaches every Propylon process (Redis); the in-process
    accelerator reaches only its own, so caches that need invalidation stay off with it."""

    async def rate_hit(self, key: str, limit: int, window_seconds: int) -> RateDecision:
        """Count one hit on ``key`` in a fixed window; refuse once ``limit`` is passed."""
        ...

    async def count(self, key: str, window_seconds: int) -> WindowCount:
        """Add one hit to ``key`` in the current fixed window and say how many it has now,
        and had in the window before (failed authentications per client address)."""
        ...

    async def remember_once(self, key: str, ttl_seconds: int) -> bool:
        """True the first time ``key`` is seen while it lives; False on a replay."""
        ...

    async def backoff(self, key: str) -> Delay:
        """The failures on ``key`` and how long it is still refused for; writes nothing."""
        ...

    async def add_failure(self, key: str, policy: BackoffPolicy) -> Delay:
        """Record one failure on ``key`` (atomically across processes with Redis): refused
        from now for ``policy.delay(failures)`` seconds."""
        ...

    async def clear_failures(self, key: str) -> None: ...

    async def publish(self, channel: str, message: str) -> None:
        """Fan a message out to every Propylon process (revocations)."""
        ...

    def subscribe(self, channel: str, handler: Callable[[str], Awaitable[None]]) -> None: ...

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...
