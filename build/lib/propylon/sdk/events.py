"""Iterating Propylon's events API: ``GET /api/v1/events?after=&limit=&type=&tenant=``
returns ``{"data": [envelope, ...], "next_after": seq}`` in global order; the cursor is the
last ``seq`` a consumer has processed (store it with your own writes to resume exactly)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx


@dataclass(frozen=True, slots=True)
class Event:
    """One event envelope (``docs/events.md``)."""

    seq: int
    id: str
    tenant_id: str
    tenant_seq: int
    type: str
    subject_type: str
    subject_id: str
    data: Mapping[str, Any]
    created_at: datetime

    @classmethod
    def from_json(cls, e: Mapping[str, Any]) -> Event:
        subject = e.get("subject") or {}
        return cls(
            seq=int(e["seq"]),
            id=str(e["id"]),
            tenant_id=str(e.get("tenant_id")),
            tenant_seq=int(e.get("tenant_seq") or 0),
            type=str(e["type"]),
            subject_type=str(subject.get("type")),
            subject_id=str(subject.get("id")),
            data=e.get("data") or {},
            created_at=datetime.fromisoformat(str(e["created_at"])),
        )


def _params(
    after: int, limit: int, types: tuple[str, ...], tenant: str | None
) -> list[tuple[str, str | int]]:
    params: list[tuple[str, str | int]] = [("after", after), ("limit", limit)]
    params += [("type", t) for t in types]
    if tenant:
        params.append(("tenant", tenant))
    return params


def iter_events(
    client: httpx.Client,
    *,
    after: int = 0,
    types: tuple[str, ...] = (),
    tenant: str | None = None,
    limit: int = 500,
    follow: bool = False,
    poll: float = 1.0,
) -> Iterator[Event]:
    """Every event after ``after`` (``client``: base URL Propylon, API key header); with
    ``follow``, keeps polling for new ones forever."""
    while True:
        r = client.get("/api/v1/events", params=_params(after, limit, types, tenant))
        r.raise_for_status()
        page = r.json()
        for e in page["data"]:
            yield Event.from_json(e)
        after = int(page.get("next_after", after))
        if len(page["data"]) < limit:
            if not follow:
                return
            time.sleep(poll)


async def aiter_events(
    client: httpx.AsyncClient,
    *,
    after: int = 0,
    types: tuple[str, ...] = (),
    tenant: str | None = None,
    limit: int = 500,
) -> AsyncIterator[Event]:
    """:func:`iter_events` without ``follow``, for an event loop."""
    while True:
        r = await client.get("/api/v1/events", params=_params(after, limit, types, tenant))
        r.raise_for_status()
        page = r.json()
        for e in page["data"]:
            yield Event.from_json(e)
        after = int(page.get("next_after", after))
        if len(page["data"]) < limit:
            return
