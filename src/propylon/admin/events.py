"""The event feed for the management API and the CLI (``feed/``, ``docs/events.md``)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

from propylon.errors import InvalidInput, NotFound
from propylon.feed.query import page
from propylon.feed.stream import Item, StreamFilter, follow, start_cursor
from propylon.ids import plausible
from propylon.runtime import Runtime
from propylon.tenants.service import get_tenant

_TYPE = re.compile(r"[a-z][a-z0-9_]{0,31}(\.[a-z][a-z0-9_]{0,31}){0,3}")
"""An event type's shape (``user.created``, ``user.entitlements_changed``): a filter that is
not one matches nothing, and is refused before it reaches a query."""


def checked_types(types: Sequence[str]) -> Sequence[str]:
    for t in types:
        if not _TYPE.fullmatch(t):
            raise InvalidInput(f"type {t[:64]!r} is not an event type (docs/events.md)")
    return types


async def tenant_filter(rt: Runtime, ref: str | None) -> str | None:
    """A tenant by id or slug; an id no live tenant has is taken as it is (the events of a
    deleted tenant stay readable for the retention period)."""
    if ref is None:
        return None
    if not plausible(ref):
        raise InvalidInput("tenant must be a tenant's id or slug")
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
    types = checked_types(types)
    tenant_id = await tenant_filter(rt, tenant)
    async with rt.db.read() as s:
        events, cursor = await page(s, after=after, limit=limit, types=types, tenant_id=tenant_id)
    return {"data": [e.envelope() for e in events], "next_after": cursor}


async def stream(
    rt: Runtime,
    *,
    after: int | None,
    types: Sequence[str] = (),
    tenant: str | None = None,
    owner: str = "",
) -> AsyncIterator[Item]:
    """The stream of one client: replay after ``after`` (none: from now on), live events,
    heartbeats (``feed/stream.py``)."""
    which = StreamFilter(frozenset(checked_types(types)), await tenant_filter(rt, tenant))
    cursor = await start_cursor(rt.db, after)
    return follow(
        rt.db,
        rt.feed.follower,
        after=cursor,
        which=which,
        heartbeat_seconds=rt.settings.events_stream_heartbeat_seconds,
        owner=owner,
    )


def stream_refused(rt: Runtime, owner: str) -> bool:
    """Whether this process already serves as many streams as it may, to ``owner`` or in all
    (``PROPYLON_EVENTS_STREAM_MAX_PER_KEY``, ``PROPYLON_EVENTS_STREAM_MAX``)."""
    follower, st = rt.feed.follower, rt.settings
    return (
        follower.open_streams(owner) >= st.events_stream_max_per_key
        or follower.open_streams() >= st.events_stream_max
    )
