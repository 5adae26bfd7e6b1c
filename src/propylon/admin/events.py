"""The event feed for the management API and the CLI (``feed/``, ``docs/events.md``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from propylon.errors import NotFound
from propylon.feed.query import page
from propylon.feed.stream import Item, StreamFilter, follow, start_cursor
from propylon.runtime import Runtime
from propylon.tenants.service import get_tenant


async def tenant_filter(rt: Runtime, ref: str | None) -> str | None:
    """A tenant by id or slug; an id no live tenant has is taken as it is (the events of a
    deleted tenant stay readable for the retention period)."""
    if ref is None:
        return None
    async with rt.db.read() as s:
        try:
            return (await get_tenant(s, ref)).id
        except NotFound:
            return ref


async def list_events(
    rt: Runtime,
    *,
    after: int = 0,
    limit: int = 100,
    types: Sequence[str] = (),
    tenant: str | None = None,
) -> dict[str, Any]:
    """``{"data": [envelope…], "next_after": cursor}``: sequenced events after ``after``."""
    tenant_id = await tenant_filter(rt, tenant)
    async with rt.db.read() as s:
        events, cursor = await page(s, after=after, limit=limit, types=types, tenant_id=tenant_id)
    return {"data": [e.envelope() for e in events], "next_after": cursor}


async def stream(
    rt: Runtime, *, after: int | None, types: Sequence[str] = (), tenant: str | None = None
) -> AsyncIterator[Item]:
    """The stream of one client: replay after ``after`` (none: from now on), live events,
    heartbeats (``feed/stream.py``)."""
    which = StreamFilter(frozenset(types), await tenant_filter(rt, tenant))
    cursor = await start_cursor(rt.db, after)
    return follow(
        rt.db,
        rt.feed.follower,
        after=cursor,
        which=which,
        heartbeat_seconds=rt.settings.events_stream_heartbeat_seconds,
    )
