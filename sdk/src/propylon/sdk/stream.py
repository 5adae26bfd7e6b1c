"""Propylon's event stream read into the local view: ``GET /api/v1/events/stream``
(Server-Sent Events, HTML Living Standard §9.2), a background thread per process.

It resumes after the last event it applied (``Last-Event-ID``, §9.2.4) on every reconnection;
the first connection starts at ``after`` (0 by default: the whole retained history of the
subscribed types, so a restarted host process forgets no revocation). Heartbeats
(``event: heartbeat``) mark the view fresh; a broken connection marks it stale at once, and
the thread reconnects with a capped backoff.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx

from propylon.sdk.view import SUBSCRIBED, LocalView

log = logging.getLogger("propylon.sdk")


def parse_sse(lines: Iterable[str]) -> Iterator[tuple[str, str, str | None]]:
    """``(event, data, id)`` per dispatched message of an SSE stream (§9.2.6): ``data`` lines
    joined by newlines, comments and unknown fields skipped, ``event`` defaulting to
    ``message``."""
    event, last_id = "", None
    data: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r")
        if not line:
            if data:
                yield event or "message", "\n".join(data), last_id
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id" and "\0" not in value:
            last_id = value


class EventStream:
    """Keeps ``view`` up to date from the stream until :meth:`stop`."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        view: LocalView,
        *,
        after: int = 0,
        types: tuple[str, ...] = SUBSCRIBED,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        read_timeout: float = 10.0,
        max_backoff: float = 2.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/api/v1/events/stream"
        self.view = view
        self.after = after
        self.types = types
        self.on_event = on_event
        self.max_backoff = max_backoff
        self._stop = threading.Event()
        self._client = httpx.Client(
            headers={"Authorization": f"Bearer {api_key}", "Accept": "text/event-stream"},
            timeout=httpx.Timeout(5.0, read=read_timeout),
            transport=transport,
        )
        self._thread = threading.Thread(target=self._run, name="propylon-events", daemon=True)
        self.connections = 0

    def start(self) -> EventStream:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._client.close()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        backoff = 0.05
        while not self._stop.is_set():
            try:
                self._follow()
                backoff = 0.05
            except Exception as exc:  # any failure, the callback's included: reconnect
                if self._stop.is_set():
                    return
                log.warning("propylon event stream interrupted: %r", exc)
            self.view.lost()
            self._stop.wait(backoff)
            backoff = min(backoff * 2, self.max_backoff)

    def _follow(self) -> None:
        cursor = max(self.view.last_seq, self.after)
        params: list[tuple[str, str | int | float | bool | None]] = [
            ("type", t) for t in self.types
        ]
        params.append(("after", cursor))  # without one the stream starts at "now"
        with self._client.stream("GET", self.url, params=params) as r:
            if r.status_code != 200:
                raise RuntimeError(f"event stream answered {r.status_code}")
            self.connections += 1
            for event, data, _ in parse_sse(r.iter_lines()):
                if self._stop.is_set():
                    return
                body = json.loads(data)
                if event == "end":  # fell behind: reconnect and replay from the cursor
                    return
                if event == "heartbeat":
                    seq = body.get("seq") if isinstance(body, dict) else None
                    at = body.get("at") if isinstance(body, dict) else None
                    self.view.heartbeat(
                        seq if isinstance(seq, int) else 0,
                        float(at) if isinstance(at, int | float) else None,
                    )
                elif isinstance(body, dict):
                    self.view.apply(body)
                    if self.on_event is not None:
                        self.on_event(body)
