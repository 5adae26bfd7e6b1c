"""The operator console's setup-portal links (``admin/portal_links.py``): list (of every
tenant or one), create (the URL, which carries the token, is shown once, on the answer to
the POST, never stored), revoke (the link and the portal session it opened end at once)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from propylon import errors
from propylon.admin import portal_links
from propylon.admin import tenants as tenant_ops
from propylon.admin.operators import actor_of
from propylon.api.console_pages import console_form, console_page
from propylon.api.console_routes import Operator
from propylon.api.oauth_adapter import runtime_of
from propylon.ids import plausible
from propylon.operators.console_sessions import Signed
from propylon.portal.model import INTENTS

router = APIRouter(tags=["console"], include_in_schema=False)
PATH = "/admin/portal-links"
EXPIRIES = [("30m", "30 minutes"), ("1h", "1 hour"), ("1d", "1 day"), ("7d", "7 days")]


async def _page(
    request: Request,
    signed: Signed,
    tenant: str,
    *,
    created: dict[str, Any] | None = None,
    problems: list[tuple[str, str]] | None = None,
    form: dict[str, Any] | None = None,
    notice: dict[str, str] | None = None,
) -> Response:
    rt = runtime_of(request)
    tenants = await tenant_ops.list_tenants(rt)
    chosen = tenant if tenant and plausible(tenant) else ""
    try:
        links = await portal_links.list_links(rt, chosen or None)
    except errors.NotFound:
        links, chosen = [], ""
    status = 400 if problems else (201 if created else 200)
    return console_page(
        request,
        signed,
        "console/portal_links.html",
        title="Portal links",
        current="portal",
        status=status,
        tenants=tenants,
        tenant=chosen,
        links=links,
        created=created,
        errors=problems or [],
        form=form or {"intents": ["sso"], "expires": "1h", "return_url": ""},
        intents=INTENTS,
        expiries=EXPIRIES,
        notice=notice,
    )


@router.get(PATH)
async def links_page(request: Request, signed: Operator, tenant: str = "") -> Response:
    notice = None
    if request.query_params.get("revoked"):
        notice = {"kind": "ok", "text": "The link is revoked; a portal session it opened ended."}
    return await _page(request, signed, tenant[:64], notice=notice)


def _intents(form: dict[str, str]) -> list[str]:
    """One checkbox per intent (``intent_sso`` …), so the form stays one value per field."""
    return [i for i in INTENTS if form.get(f"intent_{i}") == "on"]


@router.post(PATH)
async def create(request: Request, signed: Operator) -> Response:
    form = await console_form(request)
    if isinstance(form, Response):
        return form
    intents = _intents(form)
    tenant = form.get("tenant", "")[:64]
    expires = form.get("expires", "1h")[:16]
    back = form.get("return_url", "").strip()[:2000]
    entered = {"intents": intents, "expires": expires, "return_url": back}
    problems: list[tuple[str, str]] = []
    if not tenant or not plausible(tenant):
        problems.append(("tenant", "Choose the tenant the link is for."))
    if not intents:
        problems.append(("intent-sso", "Choose at least one thing the link opens."))
    if problems:
        return await _page(request, signed, tenant, problems=problems, form=entered)
    rt = runtime_of(request)
    try:
        seconds = portal_links.parse_duration(expires)
        created = await portal_links.create_link(
            rt, actor_of(signed), tenant, intents, seconds, back or None
        )
    except errors.NotFound:
        problems.append(("tenant", "There is no tenant by that id."))
    except errors.InvalidInput as exc:
        field = "return_url" if "return_url" in exc.detail else "expires"
        problems.append((field, exc.detail))
    if problems:
        return await _page(request, signed, tenant, problems=problems, form=entered)
    return await _page(request, signed, created["tenant_id"], created=created)


@router.post(PATH + "/{link_id}/revoke")
async def revoke(request: Request, link_id: str, signed: Operator) -> Response:
    form = await console_form(request)
    if isinstance(form, Response):
        return form
    if not plausible(link_id):
        return await _page(request, signed, "", problems=[("", "There is no such link.")])
    try:
        done = await portal_links.revoke_link(runtime_of(request), actor_of(signed), link_id)
    except errors.NotFound:
        return await _page(request, signed, "", problems=[("", "There is no such link.")])
    return RedirectResponse(f"{PATH}?tenant={done['tenant_id']}&revoked=1", status_code=303)
