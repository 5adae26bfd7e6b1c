"""Reading what a revocation wrote: the outbox's event rows and the refresh tokens."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.db.tables import Event
from propylon.db.tables_sso import RefreshToken
from propylon.tenants.credentials import hash_secret
from tests.conftest import Server


async def events(server: Server, tenant_id: str, kind: str | None = None) -> list[dict[str, Any]]:
    """The tenant's event rows (of type ``kind``), in sequence order."""
    query = select(Event).where(Event.tenant_id == tenant_id).order_by(Event.seq)
    if kind is not None:
        query = query.where(Event.type == kind)
    async with server.rt.db.read() as s:
        rows = (await s.scalars(query)).all()
        return [
            {
                "type": e.type,
                "seq": e.seq,
                "subject": (e.subject_type, e.subject_id),
                "data": e.data,
            }
            for e in rows
        ]


async def token_revoked(server: Server, refresh_token: str) -> bool:
    """Whether the refresh token's row says it is revoked (its family is)."""
    async with server.rt.db.read() as s:
        row = await s.get(RefreshToken, hash_secret(refresh_token))
        assert row is not None
        return row.revoked_at is not None


async def management(server: Server) -> httpx.AsyncClient:
    """A management API client (a key made through the service layer: no CLI call)."""
    key = (await ops.create_api_key(server.rt, CLI, "revocation tests"))["key"]
    return httpx.AsyncClient(
        base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=30
    )


async def user_revocations(server: Server, email: str) -> list[tuple[str, int]]:
    """``(reason, epoch)`` of every ``user.sessions_revoked`` of the password account
    ``email``, in order."""
    from propylon.db.tables_password import PasswordCredential

    async with server.rt.db.read() as s:
        cred = await s.scalar(
            select(PasswordCredential).where(PasswordCredential.email == email.lower())
        )
        assert cred is not None
        user_id, tenant_id = cred.user_id, cred.tenant_id
    rows = await events(server, tenant_id, "user.sessions_revoked")
    return [
        (e["data"]["reason"], e["data"]["epoch"]) for e in rows if e["subject"] == ("user", user_id)
    ]
