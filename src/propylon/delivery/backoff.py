"""When a failed delivery is tried again: capped exponential backoff with jitter, for a
retry period (at least three days by default), then dead-lettered."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from propylon.settings import Settings


@dataclass(frozen=True)
class RetrySchedule:
    base_seconds: float = 5.0
    max_interval_seconds: float = 3600.0
    retry_for_seconds: float = 259200.0

    @classmethod
    def from_settings(cls, st: Settings) -> RetrySchedule:
        return cls(
            st.delivery_retry_base_seconds,
            st.delivery_retry_max_interval_seconds,
            st.delivery_retry_for_seconds,
        )

    def delay(self, failures: int) -> float:
        """After the ``failures``-th consecutive failure (1, 2, ...): a random time between
        half and all of ``min(max_interval, base * 2**(failures-1))`` (jitter, so receivers
        that came back are not hit in step)."""
        ceiling = min(self.max_interval_seconds, self.base_seconds * 2 ** min(failures - 1, 40))
        return random.uniform(ceiling / 2, ceiling)

    def next_attempt(self, failures: int, retry_since: datetime, now: datetime) -> datetime | None:
        """When to try again, or None: the retry period is over (dead-letter). The last
        attempt is made at the end of the period, so an item is retried for all of it."""
        end = retry_since + timedelta(seconds=self.retry_for_seconds)
        if now >= end:
            return None
        return min(now + timedelta(seconds=self.delay(failures)), end)
