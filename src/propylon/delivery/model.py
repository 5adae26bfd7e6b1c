"""The delivery queue's contract: what a producer enqueues and how a kind is rendered.

Producers (the webhook FeedHook, back-channel logout, Shared Signals) call :func:`enqueue`
inside their own transaction, so an item exists exactly when what caused it committed. The
worker (:mod:`propylon.delivery.worker`) claims the head of each ordering key
``(kind, destination, tenant_id)``, asks the kind's :class:`Renderer` for the request at each
attempt (signatures and short-lived tokens are fresh), POSTs it through :mod:`propylon.outbound`
and records the attempt. A 2xx answer is delivered; anything else is retried with exponential
backoff and jitter (``PROPYLON_DELIVERY_RETRY_*``) and dead-lettered after the schedule's last
attempt. The next item of a key waits until the one before it is delivered or dead (head of
line). Renderers are registered on ``Runtime.delivery_renderers`` (a ``dict[kind, Renderer]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables_delivery import DeliveryItem

KIND_WEBHOOK = "webhook"
KIND_BACKCHANNEL_LOGOUT = "backchannel_logout"
KIND_SSF = "ssf"


@dataclass(frozen=True)
class Delivery:
    """What a producer enqueues."""

    kind: str
    """``"webhook"`` | ``"backchannel_logout"`` | ``"ssf"``."""
    destination: str
    """Endpoint id / client id / stream id."""
    tenant_id: str | None
    """Ordering: per ``(kind, destination, tenant_id)``, head of line."""
    payload: dict[str, Any]
    """What the renderer needs (JSON)."""
    event_id: str | None = None


@dataclass(frozen=True)
class QueuedDelivery:
    """A stored queue item, as a renderer sees it."""

    id: str
    kind: str
    destination: str
    tenant_id: str | None
    payload: dict[str, Any]
    event_id: str | None
    attempts: int
    """Attempts made before this one (0 at the first)."""
    created_at: datetime


@dataclass(frozen=True)
class Rendered:
    """One HTTP POST to make."""

    url: str
    body: bytes
    headers: dict[str, str]
    """``content-type`` included."""


class Renderer(Protocol):
    kind: str

    async def render(self, s: AsyncSession, item: QueuedDelivery, now: datetime) -> Rendered | None:
        """Build the request at each attempt (signatures and short-lived tokens are fresh);
        None: the destination is gone (the item is dropped, logged)."""
        ...


def order_key(kind: str, destination: str, tenant_id: str | None) -> str:
    """The ordering key's one-column form (``delivery_queue.order_key``)."""
    return f"{kind}/{destination}/{tenant_id or ''}"


async def enqueue(s: AsyncSession, items: Sequence[Delivery], now: datetime) -> None:
    """Add ``items`` to the queue in ``s``'s transaction, in the given order (order within an
    ordering key is the order of enqueueing): they exist exactly when the producer's
    transaction commits."""
    for item in items:
        s.add(
            DeliveryItem(
                kind=item.kind,
                destination=item.destination,
                tenant_id=item.tenant_id,
                order_key=order_key(item.kind, item.destination, item.tenant_id),
                payload=item.payload,
                event_id=item.event_id,
                state="pending",
                attempts=0,
                next_attempt_at=now,
                retry_since=now,
                created_at=now,
            )
        )
    await s.flush()
