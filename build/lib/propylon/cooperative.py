"""Long loops over in-memory data in bounded slices, handing the event loop to other requests
between two slices: a 20,000-member group is rendered in 20 steps of a few milliseconds each
instead of one stretch that would hold up every request of the process (``/healthz``
included) meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import TypeVar

T = TypeVar("T")

SLICE = 1000
"""Items per slice: small enough that a slice of any loop here costs a few milliseconds."""


async def slices(items: Sequence[T], size: int = SLICE) -> AsyncIterator[Sequence[T]]:
    """``items`` in slices of ``size``, letting other tasks run before each slice after the
    first (a short sequence costs no extra turn of the event loop)."""
    for i in range(0, len(items), size):
        if i:
            await asyncio.sleep(0)
        yield items[i : i + size]
