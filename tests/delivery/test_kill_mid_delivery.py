"""At least once: a server killed (SIGKILL) while a delivery is in flight loses nothing.
The claimed item's lease runs out and the restarted server delivers it and everything after
it, still in the tenant's order."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import make_backend, new_directory, running_server, start_server, stop_server
from tests.delivery.conftest import FAST, user_body
from tests.delivery.receiver import Receiver
from tests.delivery.test_webhooks import first_receipts


@pytest.fixture(params=["sqlite", "postgres"])
async def backend_name(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    yield str(request.param)


async def test_killing_the_server_mid_delivery_loses_nothing_and_keeps_the_order(
    backend_name: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    in_flight = threading.Event()
    release = threading.Event()
    first = {"pending": True}

    def answer(_path: str, _envelope: dict[str, Any]) -> int:
        if first["pending"]:  # the first request hangs until the server is dead
            first["pending"] = False
            in_flight.set()
            release.wait(30)
            return 503  # nobody is there to read it
        return 204

    rx = Receiver(answer=answer).start()
    backend = make_backend(backend_name, tmp_path_factory.mktemp(backend_name), FAST)
    restarted = None
    try:
        async with running_server(backend) as server, server.api() as api:
            d = await new_directory(server)
            r = await api.post(
                "/api/v1/webhooks",
                json={"url": rx.url, "tenant_id": d.tenant_id, "event_types": ["user.created"]},
            )
            assert r.status_code == 201
            users = []
            async with d.client() as scim:
                for i in range(5):
                    r = await scim.post("/Users", json=user_body(f"k{i}@{d.tenant_slug}.test"))
                    users.append(r.json()["id"])
            await rx.wait_for(in_flight.is_set)
            server.proc.kill()  # SIGKILL: no shutdown, the lease stays taken
            server.proc.wait(10)
            release.set()
            assert rx.delivered() == []
            _, restarted = start_server(backend, FAST)
            await rx.wait_for(lambda: len(first_receipts(rx.delivered())) == 5, timeout=30)
            got = first_receipts(rx.delivered())
            assert [r.json["subject"]["id"] for r in got] == users
    finally:
        release.set()
        if restarted is not None:
            stop_server(restarted)
        rx.stop()
