"""Whether the fan-out currently guards this process's copies, and what "Redis is down" is.

Per-process copies (``cache/copies.py``, the SCIM scope cache, the sign-in copies, the
signing-key cache) are only correct while this process hears every invalidation message. A
:class:`FanoutHealth` says whether it does: the Redis listener marks it lost the moment its
connection fails and restored only once it has subscribed again; each change moves the
``epoch``. While it is not trusted, copies are neither served nor kept (reads go through to the
database); a copy kept in an earlier epoch is never served again, since messages may have
been missed in between.
"""

from __future__ import annotations

import redis.exceptions
import structlog

from propylon.cache.base import Accelerator

log = structlog.get_logger("propylon.cache")


UNAVAILABLE: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
"""What a request meets when the accelerator is down (``BusyLoadingError``, Redis loading its
data after a restart, is a ``ConnectionError`` too): answered 503 with ``Retry-After``
(``api/errors.py``), never 500."""


class FanoutHealth:
    """The trusted state of this process's fan-out. Starts untrusted: copies are kept only
    once the listener has subscribed."""

    def __init__(self, trusted: bool = False) -> None:
        self.trusted = trusted
        self.epoch = 0

    def lost(self) -> None:
        self.trusted = False

    def restored(self) -> None:
        self.epoch += 1
        self.trusted = True


def trusted_epoch(health: FanoutHealth | None) -> int | None:
    """The epoch a copy made now belongs to; ``None`` while copies are not trusted. Without a
    fan-out to watch (``health`` is ``None``) copies are bounded by their lifetime alone."""
    if health is None:
        return 0
    return health.epoch if health.trusted else None


async def publish_committed(
    cache: Accelerator, channel: str, message: str, lifetime_seconds: float
) -> dict[str, str]:
    """Publish an invalidation after the change committed. The change stands whatever
    happens here: if the accelerator is down, log it and return what to tell the caller
    (``{"fanout": "failed", "note": ...}``; ``{}`` once published). Every other process then
    drops its copies within their lifetime (``lifetime_seconds``), or at once when its
    listener reconnects; a listener that lost Redis serves no copy meanwhile."""
    try:
        await cache.publish(channel, message)
    except UNAVAILABLE as exc:
        log.warning("fanout_publish_failed", channel=channel, error=type(exc).__name__)
        note = (
            "the change is committed; Redis could not be reached to tell the other "
            f"processes, which drop their copies within {lifetime_seconds:g} s (the cache "
            "lifetime) or when they reconnect to Redis"
        )
        return {"fanout": "failed", "note": note}
    return {}
