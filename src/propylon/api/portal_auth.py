"""The setup portal's browser session: who may see a portal page, for which tenant and
intents (:class:`~propylon.portal.model.PortalGrant`), its side navigation and its forms'
anti-forgery check.

The session lives in the ``propylon_portal`` cookie (``HttpOnly``, ``SameSite=Lax``,
``Secure`` over https, ``Path=/portal``), set when a link is redeemed
(``api/portal_routes.py``). Every request reads the session with its link and tenant from
the database: a revoked link, an expired session or a deleted tenant is refused at once.
Nothing is written for a refused request. A POST carries a token bound to the session
(``api/csrf.py``'s scheme bound to the session id instead of a cookie: HMAC-SHA256 under a
subkey of the server secret, every configured key accepted), so another site cannot forge one
and a token of one session is worthless in another.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from propylon.admin import portal_links
from propylon.api.csrf import Csrf, csrf_of
from propylon.api.http import FormTooLarge, read_form
from propylon.api.pages import render
from propylon.portal.links import OpenSession, intents_of
from propylon.portal.model import PortalGrant
from propylon.runtime import Runtime

PORTAL_COOKIE = "propylon_portal"
PORTAL_PATH = "/portal"
CSRF_FIELD = "csrf_token"
_CSRF_LABEL = "portal-form-field"

NAV: tuple[tuple[str | None, str, str], ...] = (
    (None, "/portal", "Overview"),
    ("sso", "/portal/sso", "Single sign-on"),
    ("scim", "/portal/scim", "User provisioning (SCIM)"),
    ("domains", "/portal/domains", "Domains"),
    ("roles", "/portal/roles", "Roles"),
)
"""The portal's sections: (the intent it needs, its path, its name)."""


class PortalDenied(Exception):
    """A portal page refused: no session, an expired or revoked one (401), an intent the
    link does not carry or a form without its token (403). Rendered as an HTML page by
    :func:`install_portal_errors`."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


EXPIRED = (
    "This setup link has expired or was already used, or its session has ended. "
    "Ask the person who sent it for a new link."
)


def _runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def portal_csrf(rt: Runtime) -> Csrf:
    """The anti-forgery scheme of portal forms, bound to the portal session's id."""
    return csrf_of(rt.secret_box.subkeys, _CSRF_LABEL)


def csrf_token_for(rt: Runtime, session_id: str) -> str:
    return portal_csrf(rt).field_for(session_id)


def grant_of(rt: Runtime, opened: OpenSession) -> PortalGrant:
    link, session = opened.link, opened.session
    return PortalGrant(
        link_id=link.id,
        session_id=session.id,
        tenant_id=session.tenant_id,
        tenant_slug=opened.tenant_slug,
        tenant_name=opened.tenant_name,
        intents=frozenset(intents_of(link)),
        expires_at=session.expires_at,
        return_url=link.return_url,
        csrf_token=csrf_token_for(rt, session.id),
    )


async def portal_grant(request: Request, intent: str | None) -> PortalGrant:
    """The portal session of this browser, allowed ``intent`` (``None``: any live session).
    Raises :class:`PortalDenied`: 401 without a live session, 403 for another intent."""
    rt = _runtime(request)
    secret = request.cookies.get(PORTAL_COOKIE, "")
    opened = await portal_links.open_session(rt, secret) if secret else None
    if opened is None:
        raise PortalDenied(401, "Setup link expired", EXPIRED)
    grant = grant_of(rt, opened)
    if intent is not None and not grant.allows(intent):
        raise PortalDenied(
            403,
            "Not part of this setup link",
            "This setup link does not cover this section. "
            "Ask the person who sent it for a link that includes it.",
        )
    return grant


def portal_nav(grant: PortalGrant, current: str) -> list[tuple[str, str, bool]]:
    """The side navigation: ``(href, text, is_current)`` of the sections the grant allows;
    ``current`` is a section's path (``/portal/sso``) or intent (``sso``)."""
    items = []
    for intent, href, text in NAV:
        if intent is None or grant.allows(intent):
            here = current in (href, intent) or (intent is None and current == "overview")
            items.append((href, text, here))
    return items


def check_portal_csrf(request: Request, grant: PortalGrant, form: Mapping[str, Any]) -> None:
    """Refuse (403) a POST whose form lacks this session's anti-forgery token."""
    rt = _runtime(request)
    sent = form.get(CSRF_FIELD)
    if isinstance(sent, str) and portal_csrf(rt).check_bound(grant.session_id, sent):
        return
    raise PortalDenied(
        403,
        "Form expired",
        "This form could not be accepted: reload the page and try again.",
    )


def set_portal_cookie(response: Response, secret: str, rt: Runtime) -> None:
    response.set_cookie(
        PORTAL_COOKIE,
        secret,
        max_age=rt.settings.portal_session_seconds,
        path=PORTAL_PATH,
        httponly=True,
        samesite="lax",
        secure=rt.settings.public_url.lower().startswith("https://"),
    )


def clear_portal_cookie(response: Response, rt: Runtime) -> None:
    response.delete_cookie(
        PORTAL_COOKIE,
        path=PORTAL_PATH,
        httponly=True,
        samesite="lax",
        secure=rt.settings.public_url.lower().startswith("https://"),
    )


def denied_page(exc: PortalDenied) -> Response:
    return render("portal/denied.html", exc.status, title=exc.title, message=exc.message)


def install_portal_errors(app: FastAPI) -> None:
    """Render :class:`PortalDenied` as the portal's HTML page, wherever it is raised."""

    async def handle(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PortalDenied)
        return denied_page(exc)

    app.add_exception_handler(PortalDenied, handle)


MAX_FORM_BYTES = 262_144
"""The largest portal form (the roles page sends a rule set)."""


async def read_portal_form(
    request: Request, grant: PortalGrant, max_bytes: int = MAX_FORM_BYTES
) -> dict[str, str]:
    """The POSTed form, bounded, with this session's anti-forgery token checked
    (:class:`PortalDenied` 413, 400 or 403 otherwise)."""
    try:
        form = await read_form(request, max_bytes)
    except FormTooLarge:
        raise PortalDenied(413, "Request too large", "The form sent was too large.") from None
    except ValueError:
        raise PortalDenied(400, "Form not understood", "The form sent could not be read.") from None
    check_portal_csrf(request, grant, form)
    return form
