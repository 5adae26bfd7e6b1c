"""Every failure reaches the audit trail, 500s included (issue 12), and a client that leaves
mid-body aborted its own request: no server error in the audit trail or the metrics."""

from __future__ import annotations

import asyncio
import secrets
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select, text

from propylon.db.tables import AuditEntry
from tests.conftest import Directory, Server
from tests.http.test_scim_users import ERROR, user_body

TRIGGER_MESSAGE = "refused by the test trigger"


async def _install_trigger(server: Server, name: str, table: str, column: str, value: str) -> None:
    """A rule of the database the code knows nothing about: inserting ``value`` as ``column``
    of ``table`` fails (on SQLite with an error no code maps, as a RAISE would be taken for a
    constraint)."""
    async with server.rt.db.write() as s:
        if server.rt.db.is_sqlite:
            await s.execute(
                text(
                    f"CREATE TRIGGER {name} BEFORE INSERT ON {table} "
                    f"WHEN NEW.{column} = '{value}' "
                    f"BEGIN SELECT json('{TRIGGER_MESSAGE}'); END"
                )
            )
        else:
            await s.execute(
                text(
                    f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
                    f"$$ BEGIN RAISE EXCEPTION '{TRIGGER_MESSAGE} %', NEW.{column}; END $$"
                )
            )
            await s.execute(
                text(
                    f"CREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW "
                    f"WHEN (NEW.{column} = '{value}') EXECUTE FUNCTION {name}()"
                )
            )


async def _drop_trigger(server: Server, name: str, table: str) -> None:
    async with server.rt.db.write() as s:
        if server.rt.db.is_sqlite:
            await s.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        else:
            await s.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
            await s.execute(text(f"DROP FUNCTION IF EXISTS {name}()"))


async def _failures(server: Server, directory_id: str) -> list[AuditEntry]:
    async with server.rt.db.read() as s:
        query = select(AuditEntry).where(
            AuditEntry.directory_id == directory_id, AuditEntry.outcome == "failure"
        )
        return list((await s.scalars(query)).all())


async def test_an_unanticipated_database_failure_is_a_500_in_the_audit_trail(
    server: Server, directory: Directory, scim: httpx.AsyncClient
) -> None:
    name = f"test_refuse_{secrets.token_hex(4)}"
    user_name = f"refused-{secrets.token_hex(4)}@acme.test"
    request_id = f"req-{secrets.token_hex(6)}"
    await _install_trigger(server, name, "users", "user_name", user_name)
    try:
        r = await scim.post(
            "/Users", json=user_body(user_name), headers={"X-Request-Id": request_id}
        )
    finally:
        await _drop_trigger(server, name, "users")
    assert r.status_code == 500, r.text
    rows = [e for e in await _failures(server, directory.directory_id) if e.status == 500]
    assert len(rows) == 1, rows
    body = r.json()
    assert body["schemas"] == [ERROR] and body["status"] == "500"
    assert request_id in body["detail"]  # what a person hands the administrator
    entry = rows[0]
    assert entry.action == "scim.user.create" and entry.request_id == request_id
    assert entry.tenant_id == directory.tenant_id and entry.actor_id
    assert entry.reason and "internal error" in entry.reason
    assert TRIGGER_MESSAGE not in entry.reason and user_name not in entry.reason
    assert TRIGGER_MESSAGE not in r.text and user_name not in r.text


async def _tenant_create_500s(server: Server) -> list[AuditEntry]:
    async with server.rt.db.read() as s:
        query = select(AuditEntry).where(
            AuditEntry.action == "tenant.create", AuditEntry.status == 500
        )
        return list((await s.scalars(query)).all())


async def test_an_unanticipated_failure_of_a_management_operation_is_audited(
    server: Server,
) -> None:
    name, slug = f"test_refuse_{secrets.token_hex(4)}", f"refused-{secrets.token_hex(4)}"
    before = {e.id for e in await _tenant_create_500s(server)}
    await _install_trigger(server, name, "tenants", "slug", slug)
    try:
        async with server.api("/api/v1") as api:
            r = await api.post("/tenants", json={"slug": slug, "name": "Refused"})
    finally:
        await _drop_trigger(server, name, "tenants")
    assert r.status_code == 500, r.text
    entries = [e for e in await _tenant_create_500s(server) if e.id not in before]
    assert len(entries) == 1 and entries[0].outcome == "failure"
    assert entries[0].actor_type == "api_key"
    assert entries[0].reason and entries[0].reason.startswith("internal error (")
    assert TRIGGER_MESSAGE not in entries[0].reason and slug not in entries[0].reason


def _server_errors(metrics: str) -> float:
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith("propylon_http_requests_total{") and 'status="5' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_a_client_that_leaves_mid_body_is_no_server_error(
    server: Server, directory: Directory
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        before = _server_errors((await http.get("/metrics")).text)
    url = urlsplit(directory.base_url)
    assert url.hostname and url.port
    _reader, writer = await asyncio.open_connection(url.hostname, url.port)
    head = (
        f"POST {url.path}/Users HTTP/1.1\r\n"
        f"Host: {url.netloc}\r\n"
        f"Authorization: Bearer {directory.token}\r\n"
        "Content-Type: application/scim+json\r\n"
        "Content-Length: 4096\r\n\r\n"
    )
    writer.write(head.encode() + b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]')
    await writer.drain()
    writer.close()  # 4096 bytes announced, 60 sent
    await writer.wait_closed()

    rows: list[AuditEntry] = []
    for _ in range(100):  # the server notices, answers (nobody) and audits: at most 10 s
        rows = await _failures(server, directory.directory_id)
        if rows:
            break
        await asyncio.sleep(0.1)
    assert [(e.action, e.status) for e in rows] == [("scim.user.create", 400)]
    assert rows[0].reason and "closed the connection" in rows[0].reason
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert _server_errors((await http.get("/metrics")).text) == before
