"""Shared Signals Framework 1.0 event streams (SSF §8.1.1): the rows a receiver manages
through the stream configuration, status and verification endpoints
(``admin/ssf_streams.py``), read by the feed hook and the renderer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.crypto.secretbox import SecretBox
from propylon.db.tables_signals import SsfStream
from propylon.provider import secevent

ENABLED, PAUSED, DISABLED = "enabled", "paused", "disabled"
STATUSES = (ENABLED, PAUSED, DISABLED)
STREAM_AUTHORIZATION = "ssf-stream-authorization"
"""The secret-box purpose of a stream's ``authorization_header``."""


@dataclass(frozen=True)
class StreamTarget:
    """What the feed hook needs of a stream to decide whether an event goes to it."""

    id: str
    tenant_id: str | None
    events: frozenset[str]

    def wants(self, event_type: str, tenant_id: str) -> bool:
        return event_type in self.events and self.tenant_id in (None, tenant_id)


def delivered(config: dict[str, Any]) -> list[str]:
    """``events_delivered`` (SSF §8.1.1): requested and supported."""
    requested = config.get("events_requested") or []
    return [e for e in secevent.EVENTS_SUPPORTED if e in requested]


async def targets(s: AsyncSession) -> list[StreamTarget]:
    """Streams that take events now (enabled, or paused: held until enabled, SSF §8.1.2)."""
    rows = await s.execute(
        select(SsfStream.id, SsfStream.tenant_id, SsfStream.config).where(
            SsfStream.status.in_((ENABLED, PAUSED))
        )
    )
    return [StreamTarget(r[0], r[1], frozenset(delivered(r[2]))) for r in rows]


async def load(s: AsyncSession, stream_id: str) -> SsfStream | None:
    if not 0 < len(stream_id) <= 64:
        return None
    return await s.get(SsfStream, stream_id)


def authorization(box: SecretBox, row: SsfStream) -> str | None:
    """The ``Authorization`` header value pushes carry (RFC 8935 §2), opened."""
    if row.authorization_header is None:
        return None
    return box.open_text(row.authorization_header, STREAM_AUTHORIZATION, row.id)


def seal_authorization(box: SecretBox, stream_id: str, value: str | None) -> str | None:
    return None if not value else box.seal_text(value, STREAM_AUTHORIZATION, stream_id)


def reseal_authorization(box: SecretBox, stream_id: str, stored: str) -> str:
    """A stored header sealed again under the box's first key (``propylon secrets rotate``)."""
    return box.reseal(stored, STREAM_AUTHORIZATION, stream_id)


def configuration(row: SsfStream, issuer: str) -> dict[str, Any]:
    """The stream configuration (SSF §8.1.1) as the receiver reads it: the authorization
    header is never returned."""
    config = row.config
    out: dict[str, Any] = {
        "stream_id": row.id,
        "iss": issuer,
        "aud": config.get("aud") or [],
        "delivery": {"method": secevent.PUSH, "endpoint_url": row.endpoint_url},
        "events_supported": list(secevent.EVENTS_SUPPORTED),
        "events_requested": config.get("events_requested") or [],
        "events_delivered": delivered(config),
    }
    if config.get("description"):
        out["description"] = config["description"]
    if row.tenant_id is not None:
        out["tenant_id"] = row.tenant_id
    return out


def status(row: SsfStream) -> dict[str, Any]:
    """SSF §8.1.2 stream status."""
    out: dict[str, Any] = {"stream_id": row.id, "status": row.status}
    if row.reason:
        out["reason"] = row.reason
    return out


def touched(row: SsfStream, now: datetime) -> None:
    row.updated_at = now
