"""The portal's domains page: the tenant's email domains and their status, claiming one (the
DNS TXT record that proves it, with copy fields), and "check now" (a DNS lookup, recorded and
audited by :func:`propylon.admin.domains.verify`). Every domain is looked up within the
portal session's tenant: another tenant's is not found."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from propylon.admin import domains as ops
from propylon.admin import portal_links
from propylon.api.portal_auth import portal_grant, read_portal_form
from propylon.api.portal_pages import portal_page, rt_of
from propylon.errors import AlreadyExists, InvalidInput, NotFound
from propylon.portal.model import PortalGrant
from propylon.runtime import Runtime

router = APIRouter(include_in_schema=False)

OUTCOMES = {
    "verified": ("ok", "Verified: the TXT record was found."),
    "record_missing": (
        "warn",
        "No TXT record was found yet. DNS changes can take a few minutes to an hour to "
        "appear; check again later.",
    ),
    "value_mismatch": (
        "bad",
        "A TXT record was found, but its value is not the one shown here. Copy the value "
        "again, exactly.",
    ),
    "dns_error": ("warn", "The DNS lookup failed. Try again in a minute."),
}


async def _domains(rt: Runtime, grant: PortalGrant) -> list[dict[str, Any]]:
    """The tenant's domains, each with its TXT record when it is proved by one."""
    return await portal_links.domains_with_proofs(rt, grant.tenant_id)


async def _page(
    request: Request,
    grant: PortalGrant,
    *,
    status: int = 200,
    errors: list[tuple[str | None, str]] | None = None,
    notice: dict[str, str] | None = None,
    typed: str = "",
) -> Response:
    rt = rt_of(request)
    return portal_page(
        grant,
        "portal/domains.html",
        "Domains",
        "domains",
        status=status,
        domains=await _domains(rt, grant),
        errors=errors or [],
        notice=notice,
        typed=typed,
    )


@router.get("/portal/domains")
async def domains_page(request: Request) -> Response:
    grant = await portal_grant(request, "domains")
    return await _page(request, grant)


@router.post("/portal/domains")
async def claim(request: Request) -> Response:
    """Claim a domain: it is added unverified (routing no one) with its TXT record."""
    grant = await portal_grant(request, "domains")
    form = await read_portal_form(request, grant)
    domain = form.get("domain", "").strip()
    if not domain:
        return await _page(request, grant, status=400, errors=[("domain", "Enter a domain.")])
    try:
        started = await ops.start_verification(rt_of(request), grant.actor, grant.tenant_id, domain)
    except (InvalidInput, AlreadyExists, NotFound) as exc:
        message = exc.detail if isinstance(exc, InvalidInput) else "This domain cannot be added."
        return await _page(request, grant, status=400, errors=[("domain", message)], typed=domain)
    text = f"Publish the TXT record below for {started['domain']}, then choose Check now."
    return await _page(request, grant, notice={"kind": "ok", "text": text})


@router.post("/portal/domains/check")
async def check(request: Request) -> Response:
    """Look the domain's TXT record up now and record the outcome."""
    grant = await portal_grant(request, "domains")
    form = await read_portal_form(request, grant)
    domain = form.get("domain", "")
    try:
        checked = await ops.verify(rt_of(request), grant.actor, grant.tenant_id, domain)
    except NotFound:
        return await _page(
            request, grant, status=404, errors=[(None, "There is no such domain here.")]
        )
    except InvalidInput as exc:
        return await _page(request, grant, status=400, errors=[(None, exc.detail)])
    kind, text = OUTCOMES.get(str(checked["outcome"]), ("warn", "The check did not finish."))
    return await _page(
        request, grant, notice={"kind": kind, "text": f"{checked['domain']}: {text}"}
    )
