"""Failed authentication is limited per client address and audited in aggregate (issue 12):
random SCIM tokens, API keys and OAuth client credentials cost no database write each, an
address past the limit gets 429 with Retry-After, and others are still served.

The server under test allows 5 failures; each test attacks from its own loopback address
(Linux routes all of 127.0.0.0/8 to the loopback interface), the legitimate caller comes from
127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from propylon.api.client_address import limit_unit
from propylon.audit.auth_failures import AuthFailures, Failure
from propylon.audit.buffer import AuditBuffer
from propylon.cache.local import LocalAccelerator
from propylon.db.tables import AuditEntry
from propylon.scim.errors import ERROR_SCHEMA
from propylon.tenants.directories import scim_base_url
from tests.conftest import (
    Directory,
    Server,
    backend_env_server,
    new_directory,
    start_server,
    stop_server,
)
from tests.provider.helpers import new_app

LIMIT = 5
ATTEMPTS = 30


@pytest.fixture(scope="module")
async def limited(server: Server) -> AsyncIterator[tuple[str, Directory]]:
    """A server on the test's backend allowing :data:`LIMIT` failures per address."""
    extra = {"PROPYLON_AUTH_FAILURE_RATE_LIMIT_PER_MINUTE": str(LIMIT)}
    async with backend_env_server(server, extra) as (url, d):
        yield url, d


def client(base_url: str, address: str, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    """A client whose connections come from ``address``."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=base_url, headers=headers, transport=transport, timeout=30)


async def audit_rows(server: Server, address: str) -> list[AuditEntry]:
    """The audit entries about failures from ``address``, once the batched writer has written
    the first (it writes every 0.2 s; waited for at most 10 s)."""
    rows: list[AuditEntry] = []
    for _ in range(100):
        async with server.rt.db.read() as s:
            query = select(AuditEntry).where(AuditEntry.target_id == address)
            rows = list((await s.scalars(query)).all())
        if rows:
            break
        await asyncio.sleep(0.1)
    return rows


async def attack(send: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
    """Send :data:`ATTEMPTS` failing requests: the first :data:`LIMIT` get 401, the rest 429.
    Returns the last."""
    statuses = []
    for _ in range(ATTEMPTS):
        r = await send()
        statuses.append(r.status_code)
    assert statuses == [401] * LIMIT + [429] * (ATTEMPTS - LIMIT), statuses
    return r


def assert_one_failure_then_summary(rows: list[AuditEntry]) -> None:
    """One ``auth.failure`` row, and at most the summary that follows when the minute is over
    (a slow run can cross the minute's end before the rows are read)."""
    actions = sorted(r.action for r in rows)
    assert actions in (["auth.failure"], ["auth.failure", "auth.failure.summary"]), actions


def retry_after(r: httpx.Response) -> int:
    return int(r.headers["retry-after"])


async def test_random_scim_tokens_are_limited_per_address_without_a_write_each(
    server: Server, limited: tuple[str, Directory]
) -> None:
    _url, d = limited
    attacker, valid = "127.0.0.2", {"Authorization": f"Bearer {d.token}"}
    async with client(d.base_url, attacker) as c:
        # an IdP behind the same address (a NAT) authenticated before the attack began
        assert (await c.get("/Users", headers=valid)).status_code == 200
        random_token = {"Authorization": f"Bearer {secrets.token_urlsafe(32)}"}
        r = await attack(
            lambda: c.get("/Users", headers={"Authorization": f"Bearer {secrets.token_hex(16)}"})
        )
        assert r.json()["schemas"] == [ERROR_SCHEMA] and r.json()["status"] == "429"
        assert 1 <= retry_after(r) <= 60
        # a body is not read, nor a request without a token served, from a refused address
        assert (await c.post("/Users", headers=random_token)).status_code == 429
        assert (await c.get("/Users", headers={"Authorization": ""})).status_code == 429
        # the IdP's token, known good in this process, is still served from that address
        assert (await c.get("/Users", headers=valid)).status_code == 200
    async with client(d.base_url, "127.0.0.1", valid) as other:
        assert (await other.get("/Users")).status_code == 200

    rows = await audit_rows(server, attacker)
    first = [r for r in rows if r.action == "auth.failure"]
    assert len(first) == 1 and len(rows) <= 2  # a summary follows when the minute is over
    assert first[0].actor_type == "scim_token" and first[0].directory_id == d.directory_id
    assert first[0].status == 401 and first[0].request_id and first[0].tenant_id is None
    async with server.rt.db.read() as s:
        failures = (
            await s.scalars(
                select(AuditEntry).where(
                    AuditEntry.directory_id == d.directory_id, AuditEntry.outcome == "failure"
                )
            )
        ).all()
    assert len(failures) == 1, [(f.action, f.status) for f in failures]


async def test_bad_api_keys_are_limited_per_address_without_a_write_each(
    server: Server, limited: tuple[str, Directory]
) -> None:
    url, _d = limited
    attacker = "127.0.0.3"
    async with client(url, attacker) as c:
        r = await attack(
            lambda: c.get(
                "/api/v1/tenants", headers={"Authorization": f"Bearer pk_{secrets.token_hex(16)}"}
            )
        )
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["status"] == 429 and 1 <= retry_after(r) <= 60
        assert (await c.get("/api/v1/tenants")).status_code == 429  # no key at all: the same
    async with client(url, "127.0.0.5") as c:  # no key: audited, not held against the address
        statuses = [(await c.get("/api/v1/tenants")).status_code for _ in range(LIMIT + 2)]
        assert statuses == [401] * (LIMIT + 2)
    key = server.cli_json("api-key", "create")["key"]
    async with client(url, "127.0.0.1", {"Authorization": f"Bearer {key}"}) as platform:
        assert (await platform.get("/api/v1/tenants")).status_code == 200

    rows = await audit_rows(server, attacker)
    assert_one_failure_then_summary(rows)
    rows = [r for r in rows if r.action == "auth.failure"]
    assert rows[0].actor_type == "api_key" and rows[0].diff["surface"] == "management_api"


def _basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


async def test_bad_client_credentials_are_limited_per_address_without_a_write_each(
    server: Server, limited: tuple[str, Directory]
) -> None:
    url, _d = limited
    app = await new_app(server)
    assert app.client_secret is not None
    attacker = "127.0.0.4"
    form: dict[str, Any] = {"grant_type": "authorization_code", "code": "nope"}
    async with client(url, attacker) as c:
        r = await attack(
            lambda: c.post(
                "/oauth2/token", data=form, headers=_basic(app.client_id, secrets.token_hex(16))
            )
        )
        bad = _basic(app.client_id, "wrong")
        assert r.json()["error"] == "slow_down" and 1 <= retry_after(r) <= 60
        assert r.headers["cache-control"] == "no-store"
        # introspection and revocation authenticate clients too: the same limit
        for endpoint in ("/oauth2/introspect", "/oauth2/revoke"):
            r = await c.post(endpoint, data={"token": "x"}, headers=bad)
            assert r.status_code == 429, (endpoint, r.text)
    async with client(url, "127.0.0.1", _basic(app.client_id, app.client_secret)) as rp:
        r = await rp.post("/oauth2/token", data=form)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"  # authenticated

    rows = await audit_rows(server, attacker)
    assert_one_failure_then_summary(rows)
    rows = [r for r in rows if r.action == "auth.failure"]
    assert rows[0].actor_type == "oauth_client" and rows[0].diff["client_id"] == app.client_id


async def test_failures_of_a_minute_become_one_entry_and_one_summary_per_address(
    server: Server,
) -> None:
    """The aggregation itself, on the backend's database with the in-process accelerator and
    a clock the test moves: per address and minute, the first failure and then a summary of
    how many failed and were refused; two hosts of one IPv6 /64 count as one client."""
    now = [1_800_000_000.0]
    buffer = AuditBuffer(server.rt.db)
    guard = AuthFailures(
        LocalAccelerator(server.rt.db, clock=lambda: now[0]),
        buffer,
        limit=3,
        clock=lambda: now[0],
    )
    v4 = f"198.51.100.{secrets.randbelow(250) + 1}"
    net = f"2001:db8:{secrets.randbelow(65535):x}:1"
    try:
        for i in range(3):
            assert guard.refused(v4, None, "scim") is None
            await guard.failed(Failure("scim", v4, "unknown token", f"req-{i}"))
        for _ in range(4):
            assert guard.refused(v4, None, "scim") == 60
        # the edge hands the guard each client's limit unit (api/client_address.py)
        a, b, c = (limit_unit(f"{net}::{h}", 64) for h in "abc")
        await guard.failed(Failure("management_api", a, "unknown API key"))
        await guard.failed(Failure("management_api", b, "unknown API key"))
        assert guard.refused(c, None, "management_api") is None  # 2 of 3
        await buffer.flush()
        assert [r.action for r in await audit_rows(server, v4)] == ["auth.failure"]
        now[0] += 60  # the minute is over: the writer's next flush takes its summaries
        await buffer.flush()
        v4_rows = await audit_rows(server, v4)
        v6_rows = await audit_rows(server, f"{net}::/64")
    finally:
        guard.roll()
        await buffer.flush()
    first = next(r for r in v4_rows if r.action == "auth.failure")
    summary = next(r for r in v4_rows if r.action == "auth.failure.summary")
    assert len(v4_rows) == 2 and first.request_id == "req-0" and first.reason == "unknown token"
    assert summary.diff["failures"] == 3 and summary.diff["refused"] == 4
    assert summary.status == 429
    assert sorted(r.action for r in v6_rows) == ["auth.failure", "auth.failure.summary"]
    assert next(r for r in v6_rows if r.diff.get("failures")).diff["failures"] == 2


async def test_an_address_refused_by_one_worker_is_refused_by_every_worker(
    server: Server,
) -> None:
    """Two workers behind one port (each connection goes to either): once one refuses an
    address, the other refuses it too, without first trying another guess on the database
    (the refusal is fanned out through Redis)."""
    if server.backend.name != "postgres":
        pytest.skip("several workers is the production mode (PostgreSQL + Redis)")
    extra = {"PROPYLON_AUTH_FAILURE_RATE_LIMIT_PER_MINUTE": str(LIMIT)}
    url, proc = start_server(server.backend, extra, ("--workers", "2"))
    try:
        d = await new_directory(server)
        base = scim_base_url(url, d.directory_id)

        async def fresh_connection() -> httpx.Response:
            async with client(base, "127.0.0.6") as c:  # a connection of its own: any worker
                bad = {"Authorization": f"Bearer {secrets.token_hex(16)}"}
                return await c.get("/Users", headers=bad)

        assert [(await fresh_connection()).status_code for _ in range(LIMIT)] == [401] * LIMIT
        await asyncio.sleep(3)  # the refusal reaches the other worker (milliseconds; slack
        # for a loaded machine)
        assert [(await fresh_connection()).status_code for _ in range(20)] == [429] * 20
    finally:
        stop_server(proc)
