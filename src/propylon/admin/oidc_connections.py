"""Management operations on OIDC connections, shared by the CLI and the management API.

An issuer is only stored once its discovery document (``{issuer}/.well-known/
openid-configuration``, fetched through the outbound guard) names exactly that issuer
(OpenID Connect Discovery 1.0 §4.3), so a typo or a mix-up is refused at the command, not at
someone's sign-in. Every change is audited, and published on the sign-in channel once
committed so each process drops the copies it keeps.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from propylon.admin.audited import audited
from propylon.admin.connection_events import write_connection_event
from propylon.audit import Actor, AuditRecord, record_failure
from propylon.cache.fanout import publish_committed
from propylon.db.tables_oidc import OidcConnection
from propylon.directory import session_events as se
from propylon.errors import InvalidInput
from propylon.oidc.discovery import ProviderMetadata, fetch_provider_metadata
from propylon.oidc.errors import OidcError
from propylon.outbound import OutboundPolicy
from propylon.revocation.connections import disabled_now
from propylon.revocation.service import Outboxes
from propylon.runtime import SIGN_IN_CHANNEL, Runtime
from propylon.tenants import oidc_client_rules as rules
from propylon.tenants import oidc_connection_edits as edits
from propylon.tenants import oidc_connections as conns
from propylon.tenants.service import get_tenant
from propylon.testidp.connections import check_may_be_live

TARGET = "oidc_connection"


async def check_issuer(rt: Runtime, issuer: str) -> ProviderMetadata:
    """The issuer's discovery document, or :class:`InvalidInput` saying why it is refused:
    not an https URL (plain http only for private hosts when the outbound guard allows
    them), unreachable, not a discovery document, or naming another issuer."""
    parsed = rules.issuer_url(issuer)
    if parsed.plain_http:
        _check_plain_http(rt.outbound)
    try:  # read now, not from a cache: what is checked is the document as it is
        return await fetch_provider_metadata(rt.outbound, parsed.issuer)
    except OidcError as exc:
        raise InvalidInput(f"the issuer's discovery failed: {exc.detail}") from None


def _check_plain_http(policy: OutboundPolicy) -> None:
    """A plain ``http`` issuer only where the outbound guard lets plain http through (an IdP
    on the operator's own network, and tests); the guard itself refuses plain http to a
    public address at every request (``outbound/client.py``)."""
    if not policy.http_allowed:
        raise InvalidInput(
            "the issuer must be an https URL (plain http only for a private host, with "
            "PROPYLON_OUTBOUND_ALLOW_PRIVATE_HOSTS=true)"
        )


async def _checked_issuer(
    rt: Runtime, actor: Actor, action: str, issuer: str, tenant_id: str
) -> ProviderMetadata:
    """:func:`check_issuer`, a refusal audited like any failed operation (the discovery is
    fetched before the operation's transaction, never inside it)."""
    try:
        return await check_issuer(rt, issuer)
    except InvalidInput as exc:
        rec = AuditRecord(action, TARGET, tenant_id=tenant_id, reason=exc.detail)
        await record_failure(rt.db, actor, rec, rt.clock())
        raise


def _view(rt: Runtime, conn: OidcConnection) -> dict[str, Any]:
    return conns.view(conn, rt.settings.public_url, rt.secret_box)


def _target(rec: AuditRecord, conn: OidcConnection) -> None:
    rec.tenant_id, rec.target_type, rec.target_id = conn.tenant_id, TARGET, conn.id


async def _not_live_to_test_idp(rt: Runtime, s: AsyncSession, conn: OidcConnection) -> None:
    """A connection to the test IdP stays a draft (but the demo's): ``testidp/connections``."""
    await check_may_be_live(
        s,
        conn.tenant_id,
        conn.issuer,
        live=conn.disabled_at is None,
        public_url=rt.settings.public_url,
        demo_enabled=rt.settings.demo_enabled,
    )


async def create_connection(
    rt: Runtime, actor: Actor, tenant_ref: str, draft: conns.OidcConnectionDraft
) -> dict[str, Any]:
    """Connect a tenant's OpenID Provider; the view names the URLs to register there."""
    async with rt.db.read() as s:  # an unknown tenant costs no request to the issuer
        tenant_id = (await get_tenant(s, tenant_ref)).id
    meta = await _checked_issuer(rt, actor, "oidc.connection.create", draft.issuer, tenant_id)
    out = Outboxes()

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        rec.tenant_id, rec.target_type = tenant_id, TARGET
        conn = await conns.create_connection(
            s, tenant_ref, draft, now=rt.clock(), box=rt.secret_box
        )
        _target(rec, conn)
        await _not_live_to_test_idp(rt, s, conn)
        rec.diff = {
            "issuer": {"before": None, "after": conn.issuer},
            "client_id": {"before": None, "after": conn.client_id},
            "auth_method": {"before": None, "after": conn.auth_method},
        }
        if draft.disabled:
            rec.diff["disabled"] = {"before": None, "after": True}
        view = _view(rt, conn)
        await write_connection_event(rt, s, out, "oidc", se.CONNECTION_CREATED, view)
        return view | {"end_session_supported": meta.end_session_endpoint is not None}

    done = await audited(rt, actor, "oidc.connection.create", op)
    await out.published(rt.events)
    # a new connection changes where routes kept by slug, host or domain lead (one
    # connection becomes several): every process drops them
    lifetime = rt.settings.sign_in_cache_seconds
    cid = done["connection_id"]
    return done | await publish_committed(rt.cache, SIGN_IN_CHANNEL, cid, lifetime)


async def list_connections(rt: Runtime, tenant_ref: str) -> list[dict[str, Any]]:
    async with rt.db.read() as s:
        return [_view(rt, c) for c in await conns.list_connections(s, tenant_ref)]


async def show_connection(rt: Runtime, connection_id: str) -> dict[str, Any]:
    async with rt.db.read() as s:
        return _view(rt, await conns.get_connection(s, connection_id))


async def update_connection(
    rt: Runtime, actor: Actor, connection_id: str, changes: edits.OidcConnectionChanges
) -> dict[str, Any]:
    """Change settings, the issuer (checked like a new one), credential, scopes or claim map;
    disable or enable."""
    if changes.issuer is not None:
        async with rt.db.read() as s:
            tenant_id = (await conns.get_connection(s, connection_id)).tenant_id
        action = "oidc.connection.update"
        meta = await _checked_issuer(rt, actor, action, changes.issuer, tenant_id)
        changes = replace(changes, issuer=meta.issuer)
    out = Outboxes()

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        _target(rec, await conns.get_connection(s, connection_id))  # a refusal names it too
        conn, rec.diff = await edits.update_connection(
            s, connection_id, changes, rt.clock(), rt.secret_box
        )
        _target(rec, conn)
        await _not_live_to_test_idp(rt, s, conn)
        view = _view(rt, conn)
        if rec.diff:
            end = se.CONNECTION_DISABLED if disabled_now(rec.diff) else None
            ended = await write_connection_event(
                rt, s, out, "oidc", se.CONNECTION_UPDATED, view, end
            )
            if end is not None:
                rec.diff["sessions_ended"] = {"before": None, "after": ended}
        return view

    done = await audited(rt, actor, "oidc.connection.update", op)
    await out.published(rt.events)
    lifetime = rt.settings.sign_in_cache_seconds  # after commit: copies drop it
    return done | await publish_committed(rt.cache, SIGN_IN_CHANNEL, connection_id, lifetime)


async def delete_connection(rt: Runtime, actor: Actor, connection_id: str) -> dict[str, Any]:
    """Remove the connection; every session it started ends for good."""
    out = Outboxes()

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        view = _view(rt, await conns.get_connection(s, connection_id))
        conn = await edits.delete_connection(s, connection_id)
        _target(rec, conn)
        end = se.CONNECTION_DELETED_REASON
        ended = await write_connection_event(rt, s, out, "oidc", se.CONNECTION_DELETED, view, end)
        rec.diff = {
            "issuer": {"before": conn.issuer, "after": None},
            "sessions_ended": {"before": None, "after": ended},
        }
        return {"connection_id": conn.id, "deleted": True}

    done = await audited(rt, actor, "oidc.connection.delete", op)
    await out.published(rt.events)
    lifetime = rt.settings.sign_in_cache_seconds
    return done | await publish_committed(rt.cache, SIGN_IN_CHANNEL, connection_id, lifetime)
