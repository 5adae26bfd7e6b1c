"""A loopback receiver of back-channel logout requests and pushed SETs, and a way to write
the feed events the signals react to (the same outbox every session-ending path uses)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from joserfc import jwt
from joserfc.jwk import KeySet

from propylon.directory.events import DomainEvent, Outbox
from propylon.rfc3339 import rfc3339
from tests.conftest import Server
from tests.loopback_http import LoopbackHttp, Received


class Receiver:
    """Answers 200 (logout, §2.8) or 202 (SET push, RFC 8935 §2.2) on every path, except
    ``fail`` times 500 first on paths given to :meth:`failing`."""

    def __init__(self) -> None:
        self.failures: dict[str, int] = {}
        self.http = LoopbackHttp(self._answer)

    def _answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        left = self.failures.get(path, 0)
        if left:
            self.failures[path] = left - 1
            return 500, {}, b"down"
        return (202 if path.startswith("/ssf/") else 200), {}, b""

    def url(self, kind: str) -> str:
        return f"{self.http.origin}/{kind}/{secrets.token_hex(6)}"

    def failing(self, url: str, times: int) -> None:
        self.failures[url.removeprefix(self.http.origin)] = times

    def at(self, url: str) -> list[Received]:
        path = url.removeprefix(self.http.origin)
        return [r for r in list(self.http.requests) if r.path == path]

    async def wait(self, url: str, count: int = 1, timeout: float = 20) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.at(url)
            if len(got) >= count:
                return got
            await asyncio.sleep(0.05)
        raise AssertionError(f"{url}: {len(self.at(url))} requests, expected {count}")


@contextmanager
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.http.close()


def logout_token_of(request: Received) -> str:
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = parse_qs(request.body.decode())
    assert list(form) == ["logout_token"]
    return form["logout_token"][0]


def verified(token: str, keys: KeySet) -> tuple[dict[str, Any], dict[str, Any]]:
    t = jwt.decode(token, keys, algorithms=["ES256", "RS256"])
    return dict(t.header), dict(t.claims)


async def emit(
    server: Server, tenant_id: str, type_: str, subject: tuple[str, str], data: dict[str, Any]
) -> None:
    """Write one event through the outbox, as the session-ending paths do."""
    rt = server.rt
    async with rt.db.write() as s:
        box = Outbox(tenant_id)
        box.emit(DomainEvent(type_, subject[0], subject[1], data))
        await box.flush(s, rt.clock())


def when(moment: datetime) -> str:
    return rfc3339(moment)
