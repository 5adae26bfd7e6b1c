"""The event feed over HTTP (``docs/events.md``): ``GET /api/v1/events`` (a cursor page) and
``GET /api/v1/events/stream`` (Server-Sent Events, HTML Living Standard §9.2: ``id`` is the
event's gseq, so a reconnecting client's ``Last-Event-ID`` resumes after it)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from propylon.admin import events as ops
from propylon.api.http import StandardInputRoute
from propylon.api.mgmt_routes import PROBLEMS, Caller, Rt
from propylon.errors import InvalidInput, Unauthenticated
from propylon.feed.query import MAX_LIMIT
from propylon.feed.stream import Heartbeat, Item, StreamEnded
from propylon.scim.errors import TooManyRequests
from propylon.tenants.api_keys import authenticate_api_key

router = APIRouter(
    prefix="/api/v1", tags=["events"], responses=PROBLEMS, route_class=StandardInputRoute
)

MAX_GSEQ = 2**63 - 1
MAX_TYPES = 64
Types = Annotated[
    list[str] | None,
    Query(
        alias="type",
        max_length=MAX_TYPES,
        description="Only these event types (repeatable, at most 64).",
    ),
]
TenantRef = Annotated[str | None, Query(description="Only this tenant's events (id or slug).")]


class Subject(BaseModel):
    type: str = Field(examples=["user"])
    id: str


class EventEnvelope(BaseModel):
    """One event (``docs/events.md``): the same JSON as the stream's ``data`` and a
    webhook's body."""

    id: str
    seq: int = Field(description="The global sequence number: the cursor.")
    tenant_id: str
    tenant_seq: int = Field(description="The tenant's gapless sequence number.")
    type: str = Field(examples=["user.deactivated"])
    subject: Subject
    data: dict[str, Any] = Field(description="The whole object, and what changed.")
    created_at: str = Field(description="RFC 3339, UTC.")


class EventsPage(BaseModel):
    data: list[EventEnvelope]
    next_after: int = Field(description="The cursor of the next page.")


@router.get("/events", response_model=EventsPage)
async def list_events(
    rt: Rt,
    _: Caller,
    after: Annotated[int, Query(ge=0, le=MAX_GSEQ, description="The cursor: a gseq.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    types: Types = None,
    tenant: TenantRef = None,
) -> dict[str, Any]:
    """Sequenced events after the cursor, in global order (each tenant's in its own ``seq``
    order); ``next_after`` is the cursor of the next page (the given one when empty)."""
    return await ops.list_events(rt, after=after, limit=limit, types=types or (), tenant=tenant)


def _frame(item: Item) -> bytes:
    if isinstance(item, Heartbeat):
        data = json.dumps({"seq": item.seq, "at": item.at})
        return f"event: heartbeat\ndata: {data}\n\n".encode()
    if isinstance(item, StreamEnded):
        return b"event: end\ndata: {}\n\n"
    data = json.dumps(item.envelope(), separators=(",", ":"))
    return f"id: {item.seq}\nevent: {item.type}\ndata: {data}\n\n".encode()


async def _frames(
    items: AsyncIterator[Item], still_allowed: Callable[[], Awaitable[bool]], every: float
) -> AsyncIterator[bytes]:
    """The stream's frames; at the first heartbeat ``every`` seconds after the last check,
    the caller's API key is checked again, and a revoked key's stream ends there."""
    checked = time.monotonic()
    async for item in items:
        if isinstance(item, Heartbeat) and time.monotonic() - checked >= every:
            if not await still_allowed():
                yield _frame(StreamEnded())
                return
            checked = time.monotonic()
        yield _frame(item)
        if isinstance(item, StreamEnded):
            return


@router.get(
    "/events/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "SSE"}},
)
async def stream_events(
    request: Request,
    rt: Rt,
    actor: Caller,
    after: Annotated[int | None, Query(ge=0, le=MAX_GSEQ)] = None,
    types: Types = None,
    tenant: TenantRef = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Events after ``Last-Event-ID`` (or ``after``; neither: from now on) as they are
    numbered, and ``event: heartbeat`` with ``{"seq", "at"}`` every
    ``PROPYLON_EVENTS_STREAM_HEARTBEAT_SECONDS``, sent only after this process read the
    database: no heartbeat means the stream may be stale."""
    cursor = after
    if last_event_id:
        digits = last_event_id.isascii() and last_event_id.isdigit()
        if not digits or len(last_event_id) > 19 or int(last_event_id) > MAX_GSEQ:
            raise InvalidInput("Last-Event-ID must be an event's seq")
        cursor = int(last_event_id)
    owner = actor.id or ""
    if ops.stream_refused(rt, owner):
        raise TooManyRequests("too many open event streams", headers={"Retry-After": "30"})
    items = await ops.stream(rt, after=cursor, types=types or (), tenant=tenant, owner=owner)
    key = request.headers.get("authorization", "").removeprefix("Bearer ").strip()

    async def still_allowed() -> bool:
        try:
            async with rt.db.read() as s:
                await authenticate_api_key(s, key)
        except Unauthenticated:
            return False
        return True

    frames = _frames(items, still_allowed, rt.settings.events_stream_reauth_seconds)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(frames, media_type="text/event-stream", headers=headers)
