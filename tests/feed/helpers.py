"""Reading the event feed in tests: pages of the events API and a Server-Sent Events client."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import httpx


async def events(api: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    r = await api.get("/api/v1/events", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def wait_for_events(
    api: httpx.AsyncClient, tenant: str, count: int, timeout: float = 10.0, **params: Any
) -> list[dict[str, Any]]:
    """The tenant's events once at least ``count`` are sequenced (bounded wait)."""
    deadline = time.monotonic() + timeout
    while True:
        got = (await events(api, tenant=tenant, limit=1000, **params))["data"]
        if len(got) >= count or time.monotonic() > deadline:
            return list(got)
        await asyncio.sleep(0.05)


@dataclass
class Frame:
    event: str
    data: dict[str, Any]
    id: str | None
    at: float  # monotonic time received


@dataclass
class Stream:
    frames: list[Frame] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False
    error: BaseException | None = None

    def of(self, kind: str) -> list[Frame]:
        return [f for f in self.frames if f.event == kind]

    def events(self) -> list[Frame]:
        return [f for f in self.frames if f.event not in ("heartbeat", "end")]

    async def until(self, predicate: Any, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self):
            left = deadline - time.monotonic()
            assert left > 0, f"stream condition not met: {self.frames[-5:]} {self.error!r}"
            self.arrived.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), timeout=min(left, 0.5))


async def _read(response: httpx.Response, stream: Stream) -> None:
    kind, data, eid = "message", "", None
    try:
        async for line in response.aiter_lines():
            if line == "":
                if data:
                    stream.frames.append(Frame(kind, json.loads(data), eid, time.monotonic()))
                    stream.arrived.set()
                kind, data, eid = "message", "", None
            elif line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data += line[6:]
            elif line.startswith("id: "):
                eid = line[4:]
    except (httpx.HTTPError, asyncio.CancelledError) as exc:
        stream.error = exc
    finally:
        stream.closed = True
        stream.arrived.set()


@asynccontextmanager
async def sse(
    base_url: str, key: str, params: dict[str, Any] | None = None, last_event_id: str | None = None
) -> AsyncIterator[Stream]:
    """A stream of ``/api/v1/events/stream`` read in the background while the block runs."""
    headers = {"Authorization": f"Bearer {key}"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    stream = Stream()
    timeout = httpx.Timeout(30.0, read=None)
    async with (
        httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout) as client,
        client.stream("GET", "/api/v1/events/stream", params=params) as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        task = asyncio.create_task(_read(response, stream))
        try:
            yield stream
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
