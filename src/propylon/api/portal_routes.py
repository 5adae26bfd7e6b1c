"""The setup portal's entry and overview: ``/portal/start`` redeems a link, ``/portal`` is
the overview, ``/portal/sign-out`` ends the session.

A link is redeemed in two steps so that mail scanners and link previews, which only GET,
never burn it: ``GET /portal/start?token=…`` shows a "Continue" page (a read), whose POST
consumes the link once, opens the session bound to this browser (its cookie) and redirects
to ``/portal``, so the token never stays in the address bar or the history. Both steps are
limited per client address in the accelerator; a refused token writes nothing.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from propylon.admin import portal_links
from propylon.api.client_address import client_key
from propylon.api.csrf import CSRF_FIELD, csrf_of, set_csrf_cookie
from propylon.api.http import FormTooLarge, read_form
from propylon.api.pages import render
from propylon.api.portal_auth import (
    EXPIRED,
    PortalDenied,
    clear_portal_cookie,
    denied_page,
    portal_grant,
    portal_nav,
    read_portal_form,
    set_portal_cookie,
)
from propylon.api.portal_overview import overview_facts
from propylon.portal.links import looks_like
from propylon.runtime import Runtime

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


async def _too_many(rt: Runtime, request: Request) -> Response | None:
    client = client_key(request.scope, rt.settings)
    limit = rt.settings.sign_in_start_rate_limit_per_minute
    decision = await rt.cache.rate_hit(f"portal-start:{client}", limit, 60)
    if decision.allowed:
        return None
    refused = denied_page(
        PortalDenied(
            429,
            "Too many attempts",
            "Too many setup links were opened from your network just now. "
            "Wait a minute, then try again.",
        )
    )
    refused.headers["Retry-After"] = str(decision.retry_after)
    return refused


def _expired() -> Response:
    response = denied_page(PortalDenied(401, "Setup link expired", EXPIRED))
    response.headers.update(NO_STORE)
    return response


@router.get("/portal/start")
async def start(request: Request, token: str = "") -> Response:
    """The "Continue" page of a valid link (nothing consumed yet)."""
    rt = _rt(request)
    if refused := await _too_many(rt, request):
        return refused
    if not looks_like(token, "ptl") or not await portal_links.can_redeem(rt, token):
        return _expired()
    csrf, fresh = csrf_of(rt.secret_box.subkeys).issue(request)
    response = render("portal/start.html", title="Set up single sign-on", token=token, csrf=csrf)
    response.headers.update(NO_STORE)
    set_csrf_cookie(response, fresh, rt.settings.public_url)
    return response


@router.post("/portal/start")
async def redeem(request: Request) -> Response:
    """Consume the link once and open the portal session in this browser."""
    rt = _rt(request)
    if refused := await _too_many(rt, request):
        return refused
    try:
        form = await read_form(request, 4096)
    except (FormTooLarge, ValueError):
        return _expired()
    token = form.get("token", "")
    if not csrf_of(rt.secret_box.subkeys).check(request, form.get(CSRF_FIELD)):
        raise PortalDenied(
            403, "Form expired", "Open the setup link again and choose Continue there."
        )
    if not looks_like(token, "ptl"):
        return _expired()
    done = await portal_links.redeem(rt, token, getattr(request.state, "request_id", None))
    if done is None:
        return _expired()
    _opened, secret = done
    response = RedirectResponse("/portal", status_code=303, headers=NO_STORE)
    set_portal_cookie(response, secret, rt)
    return response


@router.get("/portal")
async def overview(request: Request) -> Response:
    rt = _rt(request)
    grant = await portal_grant(request, None)
    facts = await overview_facts(rt, grant)
    return render(
        "portal/overview.html",
        title=f"Set up {grant.tenant_name}",
        grant=grant,
        nav=portal_nav(grant, "overview"),
        facts=facts,
    )


@router.post("/portal/sign-out")
async def sign_out(request: Request) -> Response:
    rt = _rt(request)
    grant = await portal_grant(request, None)
    await read_portal_form(request, grant)
    await portal_links.end_session(rt, grant.session_id)
    target = grant.return_url or "/portal/signed-out"
    response = RedirectResponse(target, status_code=303, headers=NO_STORE)
    clear_portal_cookie(response, rt)
    return response


@router.get("/portal/signed-out")
async def signed_out() -> Response:
    return render("portal/signed_out.html", title="Setup finished")
