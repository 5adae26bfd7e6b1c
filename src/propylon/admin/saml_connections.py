"""Management operations on SAML connections, shared by the CLI and the management API."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.admin.audited import audited
from propylon.admin.connection_events import write_connection_event
from propylon.audit import Actor, AuditRecord
from propylon.background import every
from propylon.cache.fanout import publish_committed
from propylon.db.tables_saml import SamlConnection
from propylon.directory import session_events as se
from propylon.errors import InvalidInput, NotFound, PropylonError
from propylon.ids import plausible
from propylon.revocation.connections import disabled_now
from propylon.revocation.service import Outboxes
from propylon.runtime import SIGN_IN_CHANNEL, Runtime
from propylon.saml import build_sp_metadata
from propylon.tenants import saml_connection_edits as edits
from propylon.tenants import saml_connections as conns
from propylon.tenants.metadata_fetch import fetch_metadata
from propylon.tenants.saml_keys import load_certificates
from propylon.tenants.service import get_tenant
from propylon.testidp.connections import check_may_be_live

log = structlog.get_logger("propylon.saml")
SYSTEM = Actor("system", "metadata-refresh")


async def _fetch(rt: Runtime, url: str) -> bytes:
    return await fetch_metadata(url, rt.outbound)


async def _with_metadata(rt: Runtime, source: conns.IdpSource) -> conns.IdpSource:
    """A source naming a metadata URL, with the document fetched (through the guard)."""
    if source.metadata_url and source.metadata_xml is None:
        fetched = await _fetch(rt, source.metadata_url)
        return conns.IdpSource(metadata_xml=fetched, metadata_url=source.metadata_url)
    return source


def _view(rt: Runtime, conn: SamlConnection) -> dict[str, Any]:
    return conns.view(
        conn,
        rt.settings.public_url,
        now=rt.clock(),
        expiry_warning_days=rt.settings.saml_cert_expiry_warning_days,
    )


async def _not_live_to_test_idp(rt: Runtime, s: AsyncSession, conn: SamlConnection) -> None:
    """A connection to the test IdP stays a draft (but the demo's): ``testidp/connections``."""
    await check_may_be_live(
        s,
        conn.tenant_id,
        conn.idp_entity_id,
        live=conn.disabled_at is None,
        public_url=rt.settings.public_url,
        demo_enabled=rt.settings.demo_enabled,
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
    preset: str = conns.DEFAULT_PRESET,
    match_by: str = "email",
    idp_initiated_app: str | None = None,
    attribute_overrides: dict[str, Any] | None = None,
    disabled: bool = False,
    connection_id: str | None = None,
) -> dict[str, Any]:
    """Connect a tenant's IdP. ``idp_initiated_app`` names the app (``client_id``)
    IdP-initiated logins land in (see :mod:`propylon.signin.landing`). ``disabled``: created
    as a draft (the setup portal's), live for no one until enabled; ``connection_id``: an id
    chosen beforehand (``tenants/connection_ids.py``)."""
    source = await _with_metadata(rt, source)
    out = Outboxes()

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
            attribute_overrides=attribute_overrides,
            disabled=disabled,
            connection_id=connection_id,
        )
        rec.tenant_id, rec.target_type, rec.target_id = conn.tenant_id, "saml_connection", conn.id
        await _not_live_to_test_idp(rt, s, conn)
        rec.diff = {
            "idp_entity_id": {"before": None, "after": conn.idp_entity_id},
            "allow_idp_initiated": {"before": None, "after": conn.allow_idp_initiated},
            "idp_initiated_app": {"before": None, "after": conn.idp_initiated_client_id},
        }
        if disabled:
            rec.diff["disabled"] = {"before": None, "after": True}
        view = _view(rt, conn)
        await write_connection_event(rt, s, out, "saml", se.CONNECTION_CREATED, view)
        return view

    done = await audited(rt, actor, "saml.connection.create", op)
    await out.published(rt.events)
    # a new connection changes where routes kept by slug, host or domain lead (one
    # connection becomes several): every process drops them
    lifetime = rt.settings.sign_in_cache_seconds
    cid = done["connection_id"]
    return done | await publish_committed(rt.cache, SIGN_IN_CHANNEL, cid, lifetime)


async def list_connections(rt: Runtime, tenant_ref: str) -> list[dict[str, Any]]:
    async with rt.db.read() as s:
        tenant = await get_tenant(s, tenant_ref)
        rows = await conns.list_connections(s, tenant.id)
        return [_view(rt, c) for c in rows]


async def show_connection(rt: Runtime, connection_id: str) -> dict[str, Any]:
    async with rt.db.read() as s:
        return _view(rt, await conns.get_connection(s, connection_id))


async def sp_metadata(rt: Runtime, connection_id: str, tenant_id: str | None = None) -> bytes:
    """Propylon's SP metadata (SAML Metadata §2.4.4) of the connection, draft (disabled) or
    live, for the admin to give the IdP; ``tenant_id``: only if it is that tenant's (another
    tenant's is :class:`NotFound`, like a missing one)."""
    if not plausible(connection_id):
        raise NotFound("no such SAML connection")
    async with rt.db.read() as s:
        conn = await s.get(SamlConnection, connection_id)
        if conn is None or (tenant_id is not None and conn.tenant_id != tenant_id):
            raise NotFound("no such SAML connection")
        entity_id, sp_pem, signs = conn.sp_entity_id, conn.sp_certificate_pem, conn.sign_requests
    urls = conns.sp_urls(rt.settings.public_url, connection_id)
    (cert,) = load_certificates([sp_pem])
    return build_sp_metadata(
        entity_id=entity_id,
        acs_url=urls["acs_url"],
        slo_url=urls["slo_url"],
        signing_certificate=cert,
        encryption_certificate=cert,
        authn_requests_signed=signs,
        want_assertions_signed=True,
    )


async def update_connection(
    rt: Runtime, actor: Actor, connection_id: str, changes: edits.ConnectionChanges
) -> dict[str, Any]:
    """Change settings, IdP (new metadata or values by hand), mapping; disable (which ends
    the sessions it started, for good) or enable."""
    if changes.source is not None:
        changes = replace(changes, source=await _with_metadata(rt, changes.source))
    out = Outboxes()

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        conn, rec.diff = await edits.update_connection(s, connection_id, changes, rt.clock())
        rec.tenant_id, rec.target_type, rec.target_id = conn.tenant_id, "saml_connection", conn.id
        await _not_live_to_test_idp(rt, s, conn)
        view = _view(rt, conn)
        if rec.diff:
            end = se.CONNECTION_DISABLED if disabled_now(rec.diff) else None
            ended = await write_connection_event(
                rt, s, out, "saml", se.CONNECTION_UPDATED, view, end
            )
            if end is not None:
                rec.diff["sessions_ended"] = {"before": None, "after": ended}
        return view

    done = await audited(rt, actor, "saml.connection.update", op)
    await out.published(rt.events)
    lifetime = rt.settings.sign_in_cache_seconds  # after commit: copies drop it
    return done | await publish_committed(rt.cache, SIGN_IN_CHANNEL, connection_id, lifetime)


async def delete_connection(rt: Runtime, actor: Actor, connection_id: str) -> dict[str, Any]:
    """Remove the connection; every session it started ends for good."""
    out = Outboxes()

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        view = _view(rt, await conns.get_connection(s, connection_id))
        conn = await edits.delete_connection(s, connection_id)
        rec.tenant_id, rec.target_type, rec.target_id = conn.tenant_id, "saml_connection", conn.id
        end = se.CONNECTION_DELETED_REASON
        ended = await write_connection_event(rt, s, out, "saml", se.CONNECTION_DELETED, view, end)
        rec.diff = {
            "idp_entity_id": {"before": conn.idp_entity_id, "after": None},
            "sessions_ended": {"before": None, "after": ended},
        }
        return {"connection_id": conn.id, "deleted": True}

    done = await audited(rt, actor, "saml.connection.delete", op)
    await out.published(rt.events)
    lifetime = rt.settings.sign_in_cache_seconds
    return done | await publish_committed(rt.cache, SIGN_IN_CHANNEL, connection_id, lifetime)


async def refresh_metadata(rt: Runtime, actor: Actor, connection_id: str) -> dict[str, Any]:
    async with rt.db.read() as s:
        url = (await conns.get_connection(s, connection_id)).metadata_url
    if not url:
        raise InvalidInput("this connection was not created from a metadata URL")
    xml = await _fetch(rt, url)

    out = Outboxes()

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        conn = await conns.get_connection(s, connection_id)
        before = conn.idp_certificates
        await conns.refresh_from_metadata(conn, xml, rt.clock())
        rec.tenant_id, rec.target_type, rec.target_id = conn.tenant_id, "saml_connection", conn.id
        view = _view(rt, conn)
        if before != conn.idp_certificates:
            rec.diff = {
                "idp_certificates": {
                    "before": len(before["pem"]),
                    "after": len(conn.idp_certificates["pem"]),
                }
            }
            await write_connection_event(rt, s, out, "saml", se.CONNECTION_UPDATED, view)
        return view

    done = await audited(rt, actor, "saml.connection.refresh", op)
    await out.published(rt.events)
    # after commit: copies drop it
    lifetime = rt.settings.sign_in_cache_seconds
    return done | await publish_committed(rt.cache, SIGN_IN_CHANNEL, connection_id, lifetime)


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
    """Background task of the app lifespan: refresh every ``interval_seconds`` (one process
    of those sharing the accelerator per interval) until cancelled (:func:`every`)."""
    await every(
        interval_seconds,
        lambda: refresh_all_metadata(rt),
        once=rt.cache.remember_once,
        key="saml:metadata-refresh",
        retry_cap_seconds=rt.settings.background_retry_max_seconds,
        timeout_seconds=max(interval_seconds, 60.0),
        event="saml_metadata_refresh_loop_error",
    )
