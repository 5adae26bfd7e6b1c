"""``propylon purge`` removes console sessions once they have expired (their absolute
lifetime over); live ones stay."""

from __future__ import annotations

from contextlib import aclosing
from datetime import timedelta

from sqlalchemy import func, select, update

from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.db.tables_operators import ConsoleSession
from tests.conftest import Server
from tests.console.helpers import new_operator, signed_in


async def _count(server: Server, operator_id: str) -> int:
    async with server.rt.db.read() as s:
        found = await s.scalar(
            select(func.count())
            .select_from(ConsoleSession)
            .where(ConsoleSession.operator_id == operator_id)
        )
    return int(found or 0)


async def test_purge_removes_expired_console_sessions(server: Server) -> None:
    rt = server.rt
    gone, kept = await new_operator(server), await new_operator(server)
    old, live = await signed_in(server.url, gone), await signed_in(server.url, kept)
    async with aclosing(old), aclosing(live):
        async with rt.db.write() as s:
            await s.execute(
                update(ConsoleSession)
                .where(ConsoleSession.operator_id == gone["id"])
                .values(expires_at=rt.clock() - timedelta(seconds=1))
            )
        counted = await ops.purge_expired_sign_in_state(rt, CLI, dry_run=True)
        assert counted["console_sessions"] >= 1
        assert await _count(server, gone["id"]) == 1
        await ops.purge_expired_sign_in_state(rt, CLI, dry_run=False)
        assert await _count(server, gone["id"]) == 0
        assert await _count(server, kept["id"]) == 1
        assert (await old.get("/admin")).status_code == 302
        assert (await live.get("/admin")).status_code == 200
