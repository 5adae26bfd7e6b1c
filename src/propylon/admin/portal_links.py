"""Setup links for the customer's IT admin, shared by the CLI, the management API and the
operator console: create (the URL with its token, shown once), list, revoke; and their
redemption by a browser (``api/portal_routes.py``). Each change is audited
(``portal.link.create``, ``portal.link.revoke``, ``portal.link.redeem``); a refused
redemption writes nothing."""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from propylon.admin.audited import audited
from propylon.audit import Actor, AuditRecord, record
from propylon.errors import InvalidInput
from propylon.portal import links
from propylon.portal.activity import ScimRequest, latest_requests
from propylon.portal.links import OpenSession
from propylon.portal.model import INTENTS, portal_actor
from propylon.runtime import Runtime
from propylon.tenants import domains as domain_store
from propylon.tenants.service import get_tenant

_DURATION = re.compile(r"\s*(\d{1,9})\s*([smhd]?)\s*")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str | int) -> int:
    """Seconds from ``"30m"``, ``"1h"``, ``"2d"``, ``"90"`` or an int."""
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        match = _DURATION.fullmatch(str(value).lower())
        if match is None:
            raise InvalidInput(f"{value!r} is not a duration (e.g. 30m, 1h, 2d or seconds)")
        seconds = int(match[1]) * _UNIT[match[2]]
    if seconds <= 0:
        raise InvalidInput("a link must live for a positive duration")
    return seconds


def parse_intents(values: list[str]) -> list[str]:
    """The intents asked for (``all`` is every one), in :data:`INTENTS` order."""
    wanted = {v.strip().lower() for v in values}
    if not wanted:
        raise InvalidInput(f"give at least one intent: {', '.join(INTENTS)} or all")
    unknown = sorted(wanted - set(INTENTS) - {"all"})
    if unknown:
        raise InvalidInput(f"unknown intent {unknown[0]!r}: use {', '.join(INTENTS)} or all")
    return list(INTENTS) if "all" in wanted else [i for i in INTENTS if i in wanted]


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_return_url(rt: Runtime, url: str | None) -> str | None:
    """https only (plain http only to loopback when private hosts are allowed), no user
    info, no fragment games: where "Done" leads."""
    if url is None or url == "":
        return None
    if len(url) > 2000 or any(c.isspace() or ord(c) < 32 for c in url):
        raise InvalidInput("return_url is not a URL")
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host or parts.username is not None or parts.password is not None:
        raise InvalidInput("return_url needs a host and no user name or password")
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and rt.settings.outbound_allow_private_hosts and _loopback(host):
        return url
    raise InvalidInput("return_url must be an https URL")


def _who(actor: Actor) -> str:
    return f"{actor.type}:{actor.id}" if actor.id else actor.type


def start_url(rt: Runtime, token: str) -> str:
    return f"{rt.settings.public_url.rstrip('/')}/portal/start?token={token}"


async def create_link(
    rt: Runtime,
    actor: Actor,
    tenant_ref: str,
    intents: list[str],
    expires_seconds: int | None,
    return_url: str | None,
) -> dict[str, Any]:
    """A new link: ``{"link_id", "url", "tenant", "intents", "expires_at", "return_url"}``;
    the URL carries the token and is never shown again."""
    chosen = parse_intents(intents)
    settings = rt.settings
    seconds = settings.portal_link_default_seconds if expires_seconds is None else expires_seconds
    if not 0 < seconds <= settings.portal_link_max_seconds:
        raise InvalidInput(
            f"a link lives between 1 second and {settings.portal_link_max_seconds} seconds"
        )
    back = check_return_url(rt, return_url)

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        now = rt.clock()
        tenant = await get_tenant(s, tenant_ref)
        row, token = await links.insert_link(
            s,
            tenant_id=tenant.id,
            intents=chosen,
            expires_at=now + timedelta(seconds=seconds),
            return_url=back,
            created_by=_who(actor),
            now=now,
        )
        rec.tenant_id, rec.target_type, rec.target_id = tenant.id, "portal_link", row.id
        rec.diff = {
            "intents": {"before": None, "after": chosen},
            "expires_at": {"before": None, "after": row.expires_at.isoformat()},
        }
        return {
            "link_id": row.id,
            "url": start_url(rt, token),
            "tenant": tenant.slug,
            "tenant_id": tenant.id,
            "intents": chosen,
            "expires_at": row.expires_at.isoformat(),
            "return_url": back,
        }

    return await audited(rt, actor, "portal.link.create", op)


async def list_links(rt: Runtime, tenant_ref: str | None) -> list[dict[str, Any]]:
    """Every link (of one tenant, or all), newest first, with its status; never a token."""
    async with rt.db.read() as s:
        tenant_id = (await get_tenant(s, tenant_ref)).id if tenant_ref else None
        rows = await links.list_links(s, tenant_id)
    now = rt.clock()
    return [links.view(row, now, slug) for row, slug in rows]


async def revoke_link(rt: Runtime, actor: Actor, link_id: str) -> dict[str, Any]:
    """Revoke a link: unusable, and the portal session it opened ends at once."""

    async def op(s: AsyncSession, rec: AuditRecord) -> dict[str, Any]:
        row, slug, changed = await links.revoke_link(s, link_id, rt.clock())
        rec.tenant_id, rec.target_type, rec.target_id = row.tenant_id, "portal_link", row.id
        if changed:
            rec.diff = {"revoked_at": {"before": None, "after": rt.clock().isoformat()}}
        return links.view(row, rt.clock(), slug)

    return await audited(rt, actor, "portal.link.revoke", op)


async def can_redeem(rt: Runtime, token: str) -> bool:
    """Whether the token would open a portal session now (a read)."""
    async with rt.db.read() as s:
        return await links.peek(s, token, rt.clock()) is not None


async def redeem(rt: Runtime, token: str, request_id: str | None) -> tuple[OpenSession, str] | None:
    """Consume the link and open its session: the session and its cookie secret, the
    redemption audited in the same transaction; ``None`` (nothing written) when refused."""
    now = rt.clock()
    async with rt.db.read() as s:  # a refused token never opens a write transaction
        if await links.peek(s, token, now) is None:
            return None
    async with rt.db.write() as s:
        done = await links.redeem(s, token, now, rt.settings.portal_session_seconds)
        if done is None:
            return None
        link, session, secret = done
        tenant = await get_tenant(s, link.tenant_id)
        actor = portal_actor(link.id, tenant.id)
        rec = AuditRecord(
            action="portal.link.redeem",
            target_type="portal_link",
            target_id=link.id,
            tenant_id=tenant.id,
            request_id=request_id,
            diff={"session_id": {"before": None, "after": session.id}},
        )
        record(s, actor, rec, now)
        return OpenSession(link, session, tenant.slug, tenant.name), secret


async def open_session(rt: Runtime, secret: str) -> OpenSession | None:
    async with rt.db.read() as s:
        return await links.find_session(s, secret, rt.clock())


async def end_session(rt: Runtime, session_id: str) -> None:
    async with rt.db.write() as s:
        await links.end_session(s, session_id, rt.clock())


async def domains_with_proofs(rt: Runtime, tenant_id: str) -> list[dict[str, Any]]:
    """The portal's domains page: the tenant's domains, each with the TXT record that proves
    it when it is proved by one."""
    out = []
    async with rt.db.read() as s:
        for view in await domain_store.list_domains(s, tenant_id):
            row: dict[str, Any] = view.as_dict()
            if view.source == "self_service":
                _, challenge = await domain_store.proof_to_check(s, tenant_id, view.domain)
                row |= challenge.as_dict()
            out.append(row)
    return out


async def scim_requests(rt: Runtime, tenant_id: str, directory_id: str) -> list[ScimRequest]:
    """The portal's SCIM directory page: the directory's latest requests, in words."""
    async with rt.db.read() as s:
        return await latest_requests(s, tenant_id, directory_id)
