"""What the console's pages share: the layout (``templates/console/base.html``: the side
navigation, who is signed in and the sign-out button), this browser's CSRF token on every
form (:mod:`propylon.api.csrf`), the POSTed form checked, and the pages that refuse."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from propylon.api.csrf import csrf_of, set_csrf_cookie
from propylon.api.oauth_adapter import runtime_of
from propylon.api.pages import render
from propylon.api.password_forms import checked_form
from propylon.operators.console_sessions import Signed

SECTIONS: list[tuple[str, str, str]] = [
    ("tenants", "/admin", "Tenants"),
    ("audit", "/admin/audit", "Audit trail"),
    ("events", "/admin/events", "Events"),
    ("deliveries", "/admin/deliveries", "Webhook deliveries"),
    ("portal", "/admin/portal-links", "Portal links"),
    ("operators", "/admin/operators", "Operators"),
]


def nav(current: str) -> list[tuple[str, str, bool]]:
    return [(href, text, key == current) for key, href, text in SECTIONS]


def console_page(
    request: Request,
    signed: Signed,
    template: str,
    *,
    title: str,
    current: str,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    rt = runtime_of(request)
    token, fresh = csrf_of(rt.secret_box.subkeys).issue(request)
    response = render(
        template, status, title=title, nav=nav(current), signed=signed, csrf=token, **context
    )
    set_csrf_cookie(response, fresh, rt.settings.public_url)
    response.headers["X-Frame-Options"] = "DENY"
    return response


def console_message(
    request: Request,
    signed: Signed,
    status: int,
    title: str,
    text: str,
    *,
    current: str = "tenants",
    back: tuple[str, str] = ("/admin", "Back to tenants"),
) -> HTMLResponse:
    """A page that says what happened (not found, refused, done) and a way on."""
    kind = "bad" if status >= 400 else "ok"
    return console_page(
        request,
        signed,
        "console/message.html",
        title=title,
        current=current,
        status=status,
        notice={"kind": kind, "text": text},
        back=back,
    )


async def console_form(request: Request) -> dict[str, str] | Response:
    """The POSTed form (bounded, with this browser's CSRF token), or the page refusing it."""
    return await checked_form(request)
