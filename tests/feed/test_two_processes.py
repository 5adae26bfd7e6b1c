"""Two Propylon processes on one PostgreSQL database (and Redis): events written through both
at once get one global numbering, gapless as given and in each tenant's own order; a change
at one process reaches a stream open at the other at once, woken through the accelerator
(the polling fallback is set far longer than the wait)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from propylon.db.tables import Event
from propylon.tenants.directories import scim_base_url
from tests.conftest import (
    Directory,
    Server,
    make_backend,
    new_directory,
    running_server,
    start_server,
    stop_server,
)
from tests.feed.helpers import sse, wait_for_events
from tests.http.test_scim_users import user_body

SLOW_POLL = {"PROPYLON_FEED_POLL_SECONDS": "5", "PROPYLON_EVENTS_STREAM_HEARTBEAT_SECONDS": "5"}


@pytest.fixture(scope="module")
async def pair(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Server, str]]:
    backend = make_backend("postgres", tmp_path_factory.mktemp("pair"), SLOW_POLL)
    async with running_server(backend) as a:
        url_b, proc_b = start_server(backend)
        try:
            yield a, url_b
        finally:
            stop_server(proc_b)


async def _provision(d: Directory, base: str, names: list[str]) -> None:
    client = Directory(d.tenant_slug, d.tenant_id, d.directory_id, base, d.token)
    async with client.client() as scim:
        for name in names:
            assert (await scim.post("/Users", json=user_body(name))).status_code == 201


async def test_writes_at_two_processes_get_one_gapless_order_consistent_per_tenant(
    pair: tuple[Server, str],
) -> None:
    a, url_b = pair
    dirs = [await new_directory(a) for _ in range(3)]
    writers = []
    for i, d in enumerate(dirs):
        for j, url in enumerate((a.url, url_b)):
            base = scim_base_url(url, d.directory_id)
            names = [f"u{i}-{j}-{k}@two.test" for k in range(8)]
            writers.append(_provision(d, base, names))
    await asyncio.gather(*writers)
    total = 3 * 2 * 8
    deadline = time.monotonic() + 15
    while True:
        async with a.rt.db.read() as s:
            rows = (await s.execute(select(Event.gseq, Event.tenant_id, Event.seq))).all()
        if all(g is not None for g, _, _ in rows) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert len(rows) == total
    assert sorted(g for g, _, _ in rows) == list(range(1, total + 1))  # gapless, no duplicate
    for d in dirs:
        mine = sorted((g, seq) for g, t, seq in rows if t == d.tenant_id)
        assert [seq for _, seq in mine] == list(range(1, 17))  # gseq order = the tenant's


async def test_a_change_at_one_process_reaches_a_stream_at_the_other_at_once(
    pair: tuple[Server, str],
) -> None:
    a, url_b = pair
    key = a.cli_json("api-key", "create")["key"]
    d = await new_directory(a)
    async with sse(url_b, key, {"tenant": d.tenant_id}) as stream:
        await asyncio.sleep(0.3)  # the stream is registered at B
        lags = []
        for k in range(3):
            sent = time.monotonic()
            await _provision(d, scim_base_url(a.url, d.directory_id), [f"x{k}@two.test"])
            await stream.until(lambda s, n=k + 1: len(s.events()) >= n, timeout=4)
            lags.append(stream.events()[k].at - sent)
    # polling is every 5 s here: well under one second means B was woken through Redis
    assert max(lags) < 1.0, lags
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url_b, headers=headers) as api:
        listed = await wait_for_events(api, d.tenant_id, 3)
    assert [f.data for f in stream.events()] == listed
