"""Management operations on SAML connections, shared by the CLI and the management API."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.audit import Actor, AuditRecord
from propylon.errors import InvalidInput
from propylon.runtime import Runtime
from propylon.tenants import saml_connections as conns
from propylon.tenants.operations import audited
from propylon.tenants.service import get_tenant

METADATA_TIMEOUT = httpx.Timeout(10.0)
MAX_METADATA_BYTES = 4 * 1024 * 1024


async def fetch_metadata(url: str) -> bytes:
    """GET an IdP metadata document (bounded size, no redirects to other schemes)."""
    if not url.startswith(("https://", "http://")):
        raise InvalidInput("metadata URL must be http(s)")
    try:
        async with httpx.AsyncClient(timeout=METADATA_TIMEOUT, follow_redirects=True) as client:
            response = await client.get(url)
    except httpx.HTTPError as exc:
        raise InvalidInput(f"could not fetch metadata: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise InvalidInput(f"metadata URL answered {response.status_code}")
    if len(response.content) > MAX_METADATA_BYTES:
        raise InvalidInput("metadata document too large")
    return response.content


async def create_connection(
    rt: Runtime,
    actor: Actor,
    tenant_ref: str,
    source: conns.IdpSource,
    *,
    name: str | None = None,
    sp_entity_id: str | None = None,
    allow_idp_initiated: bool = False,
    jit: bool = False,
    preset: str = "okta",
    match_by: str = "email",
) -> dict[str, Any]:
    if source.metadata_url and source.metadata_xml is None:
        source = conns.IdpSource(
            metadata_xml=await fetch_metadata(source.metadata_url),
            metadata_url=source.metadata_url,
        )

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        conn = await conns.create_connection(
            s,
            tenant_ref,
            source,
            public_url=rt.settings.public_url,
            name=name,
            sp_entity_id=sp_entity_id,
            allow_idp_initiated=allow_idp_initiated,
            jit=jit,
            preset=preset,
            match_by=match_by,
            now=rt.clock(),
        )
        rec.tenant_id, rec.target_type, rec.target_id = conn.tenant_id, "saml_connection", conn.id
        rec.diff = {"idp_entity_id": {"before": None, "after": conn.idp_entity_id}}
        return conns.view(conn, rt.settings.public_url)

    return await audited(rt, actor, "saml.connection.create", op)


async def list_connections(rt: Runtime, tenant_ref: str) -> list[dict[str, Any]]:
    async with rt.db.read() as s:
        tenant = await get_tenant(s, tenant_ref)
        rows = await conns.list_connections(s, tenant.id)
        return [conns.view(c, rt.settings.public_url) for c in rows]


async def refresh_metadata(rt: Runtime, actor: Actor, connection_id: str) -> dict[str, Any]:
    async with rt.db.read() as s:
        url = (await conns.get_connection(s, connection_id)).metadata_url
    if not url:
        raise InvalidInput("this connection was not created from a metadata URL")
    xml = await fetch_metadata(url)

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        conn = await conns.get_connection(s, connection_id)
        before = conn.idp_certificates
        await conns.refresh_from_metadata(conn, xml, rt.clock())
        rec.tenant_id, rec.target_type, rec.target_id = conn.tenant_id, "saml_connection", conn.id
        if before != conn.idp_certificates:
            rec.diff = {
                "idp_certificates": {
                    "before": len(before["pem"]),
                    "after": len(conn.idp_certificates["pem"]),
                }
            }
        return conns.view(conn, rt.settings.public_url)

    return await audited(rt, actor, "saml.connection.refresh", op)
