"""Management operations on SAML connections, shared by the CLI and the management API."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.audit import Actor, AuditRecord
from propylon.db.tables_saml import SamlConnection
from propylon.errors import InvalidInput, PropylonError
from propylon.runtime import SIGN_IN_CHANNEL, Runtime
from propylon.tenants import saml_connections as conns
from propylon.tenants.metadata_fetch import fetch_metadata
from propylon.tenants.operations import audited
from propylon.tenants.service import get_tenant

log = structlog.get_logger("propylon.saml")
SYSTEM = Actor("system", "metadata-refresh")


async def _fetch(rt: Runtime, url: str) -> bytes:
    return await fetch_metadata(url, allow_private=rt.settings.saml_metadata_allow_private_hosts)


def _view(rt: Runtime, conn: SamlConnection) -> dict[str, Any]:
    return conns.view(
        conn,
        rt.settings.public_url,
        now=rt.clock(),
        expiry_warning_days=rt.settings.saml_cert_expiry_warning_days,
    )


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
    idp_initiated_app: str | None = None,
) -> dict[str, Any]:
    """Connect a tenant's IdP. ``idp_initiated_app`` names the app (``client_id``)
    IdP-initiated logins land in (see :mod:`propylon.sessions.landing`)."""
    if source.metadata_url and source.metadata_xml is None:
        source = conns.IdpSource(
            metadata_xml=await _fetch(rt, source.metadata_url),
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
            box=rt.secret_box,
            idp_initiated_app=idp_initiated_app,
        )
        rec.tenant_id, rec.target_type, rec.target_id = conn.tenant_id, "saml_connection", conn.id
        rec.diff = {
            "idp_entity_id": {"before": None, "after": conn.idp_entity_id},
            "allow_idp_initiated": {"before": None, "after": conn.allow_idp_initiated},
            "idp_initiated_app": {"before": None, "after": conn.idp_initiated_client_id},
        }
        return _view(rt, conn)

    return await audited(rt, actor, "saml.connection.create", op)


async def list_connections(rt: Runtime, tenant_ref: str) -> list[dict[str, Any]]:
    async with rt.db.read() as s:
        tenant = await get_tenant(s, tenant_ref)
        rows = await conns.list_connections(s, tenant.id)
        return [_view(rt, c) for c in rows]


async def refresh_metadata(rt: Runtime, actor: Actor, connection_id: str) -> dict[str, Any]:
    async with rt.db.read() as s:
        url = (await conns.get_connection(s, connection_id)).metadata_url
    if not url:
        raise InvalidInput("this connection was not created from a metadata URL")
    xml = await _fetch(rt, url)

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
        return _view(rt, conn)

    out = await audited(rt, actor, "saml.connection.refresh", op)
    await rt.cache.publish(SIGN_IN_CHANNEL, connection_id)  # after commit: copies drop it
    return out


async def refresh_all_metadata(rt: Runtime, actor: Actor = SYSTEM) -> dict[str, str]:
    """Re-read every connection's metadata URL once; ``{connection_id: "ok" | error}``.
    A failing IdP is logged and skipped, it never stops the others."""
    async with rt.db.read() as s:
        ids = list(
            (
                await s.scalars(
                    select(SamlConnection.id)
                    .where(SamlConnection.metadata_url.is_not(None))
                    .order_by(SamlConnection.id)
                )
            ).all()
        )
    out: dict[str, str] = {}
    for connection_id in ids:
        try:
            await refresh_metadata(rt, actor, connection_id)
            out[connection_id] = "ok"
        except PropylonError as exc:
            out[connection_id] = exc.detail
            log.warning(
                "saml_metadata_refresh_failed", connection_id=connection_id, error=exc.detail
            )
        except Exception as exc:  # a background task must not die
            out[connection_id] = type(exc).__name__
            log.exception("saml_metadata_refresh_error", connection_id=connection_id)
    return out


async def metadata_refresh_loop(rt: Runtime, interval_seconds: float) -> None:
    """Background task of the app lifespan: refresh, sleep, repeat until cancelled."""
    interval = max(interval_seconds, 0.05)
    while True:
        await asyncio.sleep(interval)
        try:
            # several processes share one accelerator: one of them refreshes per interval
            slot = int(time.time() // interval)
            if await rt.cache.remember_once(f"saml:metadata-refresh:{slot}", int(interval) + 1):
                await asyncio.wait_for(refresh_all_metadata(rt), timeout=max(interval, 60.0))
        except asyncio.CancelledError:
            raise
        except Exception:  # a background task must not die
            log.exception("saml_metadata_refresh_loop_error")
