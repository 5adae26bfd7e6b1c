"""The stream's heartbeats certify a read of the database: while the process cannot read it
(its PostgreSQL stopped) no heartbeat is sent though the stream stays open, so a client knows
its view may be stale; once the database is back, heartbeats and events resume. Stopping the
server ends its streams at once (an open one would hold its graceful shutdown)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from propylon.runtime import build_runtime
from tests.conftest import Server, make_backend, new_directory, start_server, stop_server
from tests.feed.helpers import sse
from tests.http.test_scim_users import user_body
from tests.own_postgres import OwnPostgres, own_postgres


@pytest.fixture
async def own(tmp_path: Path) -> AsyncIterator[tuple[Server, OwnPostgres]]:
    with own_postgres() as pg:
        env = {"PROPYLON_DATABASE_URL": pg.url, "PROPYLON_BACKGROUND_RETRY_MAX_SECONDS": "0.5"}
        backend = make_backend("sqlite", tmp_path, env)
        backend.name = "own-postgres"
        url, proc = start_server(backend)
        rt = build_runtime(backend.settings().model_copy(update={"public_url": url}))
        try:
            yield Server(backend, url, proc, rt), pg
        finally:
            await rt.close()
            stop_server(proc)


async def test_heartbeats_stop_while_the_database_is_down_and_resume_after(
    own: tuple[Server, OwnPostgres],
) -> None:
    server, pg = own
    key = server.cli_json("api-key", "create")["key"]
    d = await new_directory(server)
    async with sse(server.url, key, {"tenant": d.tenant_id}) as stream:
        await stream.until(lambda s: len(s.of("heartbeat")) >= 2)
        pg.stop()
        stopped_wall, stopped = time.time(), time.monotonic()
        await stream.until(lambda s: time.monotonic() > stopped + 3.5, timeout=5)
        after = [f for f in stream.of("heartbeat") if f.at > stopped]
        # at most one in flight, certified by a read made before the stop; then silence
        assert len(after) <= 1 and all(f.data["at"] < stopped_wall for f in after)
        assert not stream.closed  # the connection stays: only the certification stops
        pg.start()
        restarted = time.monotonic()
        await stream.until(lambda s: any(f.at > restarted for f in s.of("heartbeat")), timeout=15)
        fresh = [f.data for f in stream.of("heartbeat") if f.at > restarted]
        assert fresh[0]["at"] > stopped_wall
        async with d.client() as scim:
            assert (await scim.post("/Users", json=user_body("back@hb.test"))).status_code == 201
        await stream.until(lambda s: bool(s.events()), timeout=10)
        assert stream.events()[0].event == "user.created"
        # stopping the server ends its streams at once (they would hold a graceful shutdown)
        stopping = time.monotonic()
        server.proc.terminate()
        server.proc.wait(timeout=10)
        assert time.monotonic() - stopping < 5
        await stream.until(lambda s: s.closed, timeout=5)
        assert stream.frames[-1].event == "end"
